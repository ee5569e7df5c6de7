//! The cast of authorization tests: anonymous, guest, user, room owner, platform admin, each
//! signed in through the real API (admins are promoted in the store: no admin API yet).

use bedrud_shared::AppState;
use bedrud_shared::auth::PasswordHasher;
use bedrud_shared::domain::{Access, DisplayName, Email, Password, Provider, User, UserId, now};
use serde_json::{Value, json};

use crate::Api;
use crate::scenarios::{PASSWORD, login, register, unique_email};

/// Someone holding an API access token.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: String,
    pub token: String,
}

impl Person {
    pub fn bearer(&self) -> Option<&str> {
        Some(&self.token)
    }
}

pub async fn user(api: &Api) -> Person {
    let body = register(api, &unique_email("user")).await;
    from_session(&body)
}

pub async fn guest(api: &Api, name: &str) -> Person {
    let r = api
        .post("/api/auth/guest-login", None, &json!({ "name": name }))
        .await
        .expect(200);
    from_session(&r.body)
}

/// A platform admin: written to the store with the admin role, then signed in over HTTP.
pub async fn admin(api: &Api, state: &AppState) -> Person {
    let email = unique_email("admin");
    let t = now();
    let hash = PasswordHasher::new()
        .hash(&Password::new_password(PASSWORD).unwrap())
        .await
        .unwrap();
    let user = User {
        id: UserId::new_account(),
        email: Some(Email::parse(&email).unwrap()),
        name: DisplayName::parse("Ada Admin", 255).unwrap(),
        provider: Provider::Local,
        accesses: vec![Access::User, Access::Admin],
        avatar_url: None,
        is_active: true,
        password_hash: Some(hash),
        email_verified_at: Some(1),
        signup_pending: false,
        created_at: t,
        updated_at: t,
    };
    state.stores.users.insert_user(&user).await.unwrap();
    let (token, _) = login(api, &email).await;
    Person {
        id: user.id.to_string(),
        token,
    }
}

fn from_session(body: &Value) -> Person {
    Person {
        id: body["user"]["id"].as_str().expect("user.id").to_string(),
        token: body["tokens"]["accessToken"]
            .as_str()
            .expect("tokens.accessToken")
            .to_string(),
    }
}

/// Creates a room as `owner` and returns the create answer.
pub async fn room(api: &Api, owner: &Person, body: Value) -> Value {
    api.post("/api/room/create", owner.bearer(), &body)
        .await
        .expect(200)
        .body
}
