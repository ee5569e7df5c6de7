//! Accounts carried over from Bedrud keep their passwords: both of Bedrud's bcrypt forms
//! sign in over HTTP, and the first sign-in replaces the hash with argon2id.

use bedrud_shared::domain::{Access, DisplayName, Email, Provider, User, UserId, now};
use bedrud_tests::TestServer;
use bedrud_tests::scenarios::unique_email;
use serde_json::json;

/// The reference's two fixture users: bcrypt of the SHA-256 digest (Bedrud's newer
/// releases) and bcrypt of the password itself (older ones); both for this password.
const PASSWORD: &str = "correct horse battery";
const DIGEST_FORM: &str = "$2a$10$8BKqf6m42cw7I52TSb8TZeZB.jZhKCtw24xgOzdvvZ1UvFZhw79ia";
const PLAIN_FORM: &str = "$2a$10$061BWsCndeGXvmNB6kXLWOZC95pXiDq0h.jkQ6SPW9Ld1N9Tjxohm";

async fn imported(s: &TestServer, hash: &str) -> (User, String) {
    let email = unique_email("imported");
    let t = now() - 86_400;
    let user = User {
        id: UserId::new_account(),
        email: Some(Email::parse(&email).unwrap()),
        name: DisplayName::parse("Old Timer", 255).unwrap(),
        provider: Provider::Local,
        accesses: vec![Access::User],
        avatar_url: None,
        is_active: true,
        password_hash: Some(hash.into()),
        email_verified_at: Some(t),
        signup_pending: false,
        created_at: t,
        updated_at: t,
    };
    s.state.stores.users.insert_user(&user).await.unwrap();
    (user, email)
}

#[tokio::test]
async fn bcrypt_accounts_sign_in_and_are_upgraded() {
    let s = TestServer::start().await;
    for hash in [DIGEST_FORM, PLAIN_FORM] {
        let (user, email) = imported(&s, hash).await;
        let login = |password: &str| {
            let body = json!({"email": email, "password": password});
            let api = &s.api;
            async move { api.post("/api/auth/login", None, &body).await }
        };
        login("correct horse batterie").await.expect(401);
        let stored = |s: &TestServer| {
            let users = s.state.stores.users.clone();
            let id = user.id.clone();
            async move { users.user_by_id(&id).await.unwrap().unwrap().password_hash }
        };
        assert_eq!(
            stored(&s).await.as_deref(),
            Some(hash),
            "a wrong password changes nothing"
        );
        let ok = login(PASSWORD).await.expect(200);
        assert_eq!(ok.body["user"]["id"], user.id.as_str());
        let upgraded = stored(&s).await.unwrap();
        assert!(upgraded.starts_with("$argon2id$"), "{upgraded}");
        login(PASSWORD).await.expect(200);
        login("correct horse batterie").await.expect(401);
        assert_eq!(stored(&s).await.unwrap(), upgraded, "upgraded once");
    }
}
