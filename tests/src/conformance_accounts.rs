//! Conformance cases for one-time account links (verification, reset) and pending sign-ups:
//! a link acts once even when used twice at the same moment, never after it expired, was
//! superseded, or once the account's address changed; the sweep removes only what is still
//! pending.

use bedrud_shared::domain::{
    AccountToken, DisplayName, Email, TokenPurpose, User, now, presented_token,
};
use bedrud_shared::domain::{Session, SessionId};
use bedrud_shared::store::{DEACTIVATED, HashUpgrade, StoreError, Stores};

use crate::conformance::account;
use crate::unique;

fn pending(email: &str, created_at: i64) -> User {
    User {
        email_verified_at: None,
        signup_pending: true,
        created_at,
        updated_at: created_at,
        ..account(email)
    }
}

fn address() -> String {
    format!("{}@example.com", unique("link"))
}

pub async fn account_links_act_once(s: &Stores) {
    let links = s.accounts().unwrap().clone();
    let t = now();
    let user = pending(&address(), t);
    s.users.insert_user(&user).await.unwrap();
    let email = user.email.clone().unwrap();
    let got = s.users.user_by_id(&user.id).await.unwrap().unwrap();
    assert_eq!((got.email_verified_at, got.signup_pending), (None, true));

    // A link for another purpose, a superseded one and a tampered one do nothing.
    let (reset, reset_rec) =
        AccountToken::issue(&user.id, TokenPurpose::ResetPassword, &email, 600, t);
    links.put_token(&reset_rec).await.unwrap();
    let (old, old_rec) = AccountToken::issue(&user.id, TokenPurpose::VerifyEmail, &email, 600, t);
    links.put_token(&old_rec).await.unwrap();
    let (token, rec) = AccountToken::issue(&user.id, TokenPurpose::VerifyEmail, &email, 600, t);
    links.put_token(&rec).await.unwrap();
    let hash = |tok: &str| presented_token(tok).unwrap().1;
    for wrong in [hash(&reset), hash(&old), "0".repeat(64)] {
        assert!(
            links
                .use_verify_token(&user.id, &wrong, t)
                .await
                .unwrap()
                .is_none(),
            "{wrong}"
        );
    }
    // Expired at the moment of use.
    assert!(
        links
            .use_verify_token(&user.id, &rec.hash, rec.expires_at)
            .await
            .unwrap()
            .is_none()
    );
    // Two uses at once: exactly one acts.
    let h = hash(&token);
    let (a, b) = tokio::join!(
        links.use_verify_token(&user.id, &h, t),
        links.use_verify_token(&user.id, &h, t)
    );
    let used: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
    assert_eq!(used.len(), 1, "a link acts once");
    assert_eq!(used[0].email_verified_at, Some(t));
    assert!(!used[0].signup_pending);
    let stored = s.users.user_by_id(&user.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.email_verified_at, stored.signup_pending),
        (Some(t), false)
    );
    // No longer pending: the sweep leaves it.
    assert!(!links.remove_pending_signup(&user.id, t + 10).await.unwrap());

    // Reset: once, sets the hash; a link sent to the old address dies with an address change.
    assert!(
        links
            .use_reset_token(&user.id, &hash(&reset), "$argon2id$new", t)
            .await
            .unwrap()
            .is_some()
    );
    let after = s.users.user_by_id(&user.id).await.unwrap().unwrap();
    assert_eq!(after.password_hash.as_deref(), Some("$argon2id$new"));
    assert!(
        links
            .use_reset_token(&user.id, &hash(&reset), "$argon2id$again", t)
            .await
            .unwrap()
            .is_none()
    );
    let (stale, stale_rec) =
        AccountToken::issue(&user.id, TokenPurpose::ResetPassword, &email, 600, t);
    links.put_token(&stale_rec).await.unwrap();
    let moved = Email::parse(&address()).unwrap();
    let name = DisplayName::parse("Ann Lee", 255).unwrap();
    let changed = s
        .users
        .update_profile(&user.id, &name, Some(&moved), t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        changed.email_verified_at, None,
        "a new address is unconfirmed"
    );
    assert!(
        links
            .use_reset_token(&user.id, &hash(&stale), "$argon2id$x", t)
            .await
            .unwrap()
            .is_none()
    );
    // An admin confirms the new address.
    let marked = links.mark_verified(&user.id, t + 1).await.unwrap().unwrap();
    assert_eq!(marked.email_verified_at, Some(t + 1));
    let stored = s.users.user_by_id(&user.id).await.unwrap().unwrap();
    assert_eq!(stored.email_verified_at, Some(t + 1));
}

pub async fn pending_signups_are_swept_only_while_pending(s: &Stores) {
    let links = s.accounts().unwrap().clone();
    let t = now();
    let old = pending(&address(), t - 7200);
    let confirmed_meanwhile = pending(&address(), t - 7100);
    let young = pending(&address(), t - 60);
    let established = User {
        email_verified_at: None,
        created_at: t - 9000,
        ..account(&address())
    };
    for u in [&old, &confirmed_meanwhile, &young, &established] {
        s.users.insert_user(u).await.unwrap();
    }
    links
        .mark_verified(&confirmed_meanwhile.id, t)
        .await
        .unwrap()
        .unwrap();
    let cutoff = t - 3600;
    let listed = links.pending_signups(cutoff, 100).await.unwrap();
    assert!(listed.contains(&old.id), "{listed:?}");
    for kept in [&confirmed_meanwhile.id, &young.id, &established.id] {
        assert!(!listed.contains(kept), "{kept} listed");
    }
    assert!(links.remove_pending_signup(&old.id, cutoff).await.unwrap());
    assert!(!links.remove_pending_signup(&old.id, cutoff).await.unwrap());
    assert!(
        !links
            .remove_pending_signup(&young.id, cutoff)
            .await
            .unwrap()
    );
    assert!(s.users.user_by_id(&old.id).await.unwrap().is_none());
    // Its address is free again.
    let again = pending(old.email.as_ref().unwrap().as_str(), t);
    s.users.insert_user(&again).await.unwrap();
    assert!(
        !links
            .pending_signups(cutoff, 100)
            .await
            .unwrap()
            .contains(&old.id)
    );
    assert!(s.users.user_by_id(&young.id).await.unwrap().is_some());
}

/// Bedrud's bcrypt hash, replaced by argon2id in the write that opens the first session:
/// two sign-ins at once both get their session, and the hash changes once.
pub async fn imported_hashes_upgrade_once(s: &Stores) {
    let t = now();
    let bcrypt = "$2a$10$061BWsCndeGXvmNB6kXLWOZC95pXiDq0h.jkQ6SPW9Ld1N9Tjxohm".to_string();
    let user = User {
        password_hash: Some(bcrypt.clone()),
        ..account(&address())
    };
    s.users.insert_user(&user).await.unwrap();
    let session = || Session {
        id: SessionId::new(),
        user_id: user.id.clone(),
        generation: 0,
        created_at: t,
        expires_at: t + 3600,
        revoked: false,
        rotated_at: None,
    };
    let (a, b) = (session(), session());
    let (up_a, up_b) = (
        HashUpgrade {
            from: bcrypt.clone(),
            to: "$argon2id$first".into(),
        },
        HashUpgrade {
            from: bcrypt.clone(),
            to: "$argon2id$second".into(),
        },
    );
    let (ra, rb) = tokio::join!(
        s.sessions.insert_session(&a, Some(&up_a)),
        s.sessions.insert_session(&b, Some(&up_b))
    );
    ra.unwrap();
    rb.unwrap();
    for id in [&a.id, &b.id] {
        assert!(s.sessions.session(&user.id, id).await.unwrap().is_some());
    }
    let stored = s.users.user_by_id(&user.id).await.unwrap().unwrap();
    let hash = stored.password_hash.unwrap();
    assert!(
        hash == "$argon2id$first" || hash == "$argon2id$second",
        "{hash}"
    );
    // An upgrade never writes over a hash that changed since it was read.
    let late = HashUpgrade {
        from: bcrypt,
        to: "$argon2id$late".into(),
    };
    s.sessions
        .insert_session(&session(), Some(&late))
        .await
        .unwrap();
    let again = s.users.user_by_id(&user.id).await.unwrap().unwrap();
    assert_eq!(again.password_hash.as_deref(), Some(hash.as_str()));
    // A deactivated account gets no session, upgrade or not.
    let inactive = User {
        is_active: false,
        password_hash: Some("$2a$10$x".into()),
        ..account(&address())
    };
    s.users.insert_user(&inactive).await.unwrap();
    let mut lone = session();
    lone.user_id = inactive.id.clone();
    let up = HashUpgrade {
        from: "$2a$10$x".into(),
        to: "$argon2id$y".into(),
    };
    assert!(matches!(
        s.sessions.insert_session(&lone, Some(&up)).await,
        Err(StoreError::Conflict(DEACTIVATED))
    ));
}

/// A provider identity names at most one account: created with it in one write, linked once
/// even when raced, never to an account that does not exist, and freed with its account.
pub async fn provider_identities_link_once(s: &Stores) {
    use bedrud_shared::domain::{Provider, ProviderAccount, UserId};
    use bedrud_shared::store::LINKED;
    use futures_util::future::join_all;

    let links = s.links().unwrap();
    let identity = |provider, tag: &str| ProviderAccount {
        provider,
        subject: unique(tag),
    };
    let google = identity(Provider::Google, "sub");
    let ann = User {
        provider: Provider::Google,
        password_hash: None,
        ..account(&address())
    };
    links.insert_linked_user(&ann, &google).await.unwrap();
    let found = links.user_by_link(&google).await.unwrap().unwrap();
    assert_eq!(found.id, ann.id);
    assert!(found.password_hash.is_none());

    // The identity taken: nothing of the second account is written.
    let bob = account(&address());
    assert!(matches!(
        links.insert_linked_user(&bob, &google).await,
        Err(StoreError::Conflict(LINKED))
    ));
    assert!(s.users.user_by_id(&bob.id).await.unwrap().is_none());
    assert!(
        s.users
            .user_by_email(bob.email.as_ref().unwrap())
            .await
            .unwrap()
            .is_none()
    );
    // The address taken: the new identity stays free.
    let github = identity(Provider::Github, "gh");
    let twin = account(ann.email.as_ref().unwrap().as_str());
    assert!(matches!(
        links.insert_linked_user(&twin, &github).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(links.user_by_link(&github).await.unwrap().is_none());

    // Linking to an existing account, raced: one wins; a second account cannot take it.
    s.users.insert_user(&bob).await.unwrap();
    let raced = join_all((0..6).map(|_| links.link_account(&github, &ann.id, now()))).await;
    let won = raced.iter().filter(|r| matches!(r, Ok(true))).count();
    let lost = raced
        .iter()
        .filter(|r| matches!(r, Err(StoreError::Conflict(LINKED))))
        .count();
    assert_eq!((won, lost), (1, 5), "{raced:?}");
    assert!(matches!(
        links.link_account(&github, &bob.id, now()).await,
        Err(StoreError::Conflict(LINKED))
    ));
    assert_eq!(
        links.user_by_link(&github).await.unwrap().unwrap().id,
        ann.id
    );
    // No such account: not linked.
    let twitter = identity(Provider::Twitter, "x");
    let nobody = UserId::new_account();
    assert!(!links.link_account(&twitter, &nobody, now()).await.unwrap());
    assert!(links.user_by_link(&twitter).await.unwrap().is_none());

    // Deleting the account frees both of its identities for another.
    s.admin().unwrap().delete_user(&ann.id).await.unwrap();
    assert!(links.user_by_link(&google).await.unwrap().is_none());
    assert!(links.user_by_link(&github).await.unwrap().is_none());
    assert!(links.link_account(&google, &bob.id, now()).await.unwrap());
    assert!(links.link_account(&github, &bob.id, now()).await.unwrap());
    assert_eq!(
        links.user_by_link(&google).await.unwrap().unwrap().id,
        bob.id
    );
}

/// Passkeys: a credential id registers once (also inside a sign-up), only to an existing
/// account; the counter moves by compare-and-set; only the owner removes one; a ceremony is
/// taken once and never after it expired; an account's passkeys go with it.
pub async fn passkeys_and_ceremonies_are_store_enforced(s: &Stores) {
    use bedrud_shared::domain::{Ceremony, Passkey, PendingCeremony, UserId};
    use bedrud_shared::store::PASSKEY_TAKEN;
    use futures_util::future::join_all;

    let store = s.passkeys().unwrap();
    let t = now();
    let key = |user: &User, tag: &str, at: i64| Passkey {
        id: unique(tag),
        user_id: user.id.clone(),
        credential_id: unique(tag).into_bytes(),
        public_key: vec![0x30, 0x59, 1, 2, 3],
        algorithm: -7,
        sign_count: 0,
        name: "Passkey".into(),
        created_at: at,
        last_used_at: None,
    };
    let ann = account(&address());
    let bob = account(&address());
    s.users.insert_user(&ann).await.unwrap();
    s.users.insert_user(&bob).await.unwrap();
    let first = key(&ann, "cred", t);
    let second = key(&ann, "cred", t + 1);
    assert!(store.insert_passkey(&first).await.unwrap());
    assert!(store.insert_passkey(&second).await.unwrap());
    let stolen = Passkey {
        id: unique("other"),
        user_id: bob.id.clone(),
        ..first.clone()
    };
    assert!(matches!(
        store.insert_passkey(&stolen).await,
        Err(StoreError::Conflict(PASSKEY_TAKEN))
    ));
    let orphan = Passkey {
        user_id: UserId::new_account(),
        ..key(&ann, "orphan", t)
    };
    assert!(!store.insert_passkey(&orphan).await.unwrap());
    assert!(
        store
            .passkey_by_credential(&orphan.credential_id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .passkey_by_credential(&first.credential_id)
            .await
            .unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.user_passkeys(&ann.id).await.unwrap(),
        vec![first.clone(), second.clone()]
    );

    // The counter: compare-and-set, once under a race, never from a stale value.
    assert!(
        store
            .passkey_used(&first.credential_id, 0, 5, t)
            .await
            .unwrap()
    );
    assert!(
        !store
            .passkey_used(&first.credential_id, 0, 6, t)
            .await
            .unwrap()
    );
    let raced =
        join_all((0..6).map(|_| store.passkey_used(&first.credential_id, 5, 6, t + 2))).await;
    assert_eq!(
        raced.iter().filter(|r| matches!(r, Ok(true))).count(),
        1,
        "{raced:?}"
    );
    let used = store
        .passkey_by_credential(&first.credential_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((used.sign_count, used.last_used_at), (6, Some(t + 2)));

    // Only the owner removes one.
    assert!(!store.delete_passkey(&bob.id, &first.id).await.unwrap());
    assert!(store.delete_passkey(&ann.id, &first.id).await.unwrap());
    assert!(!store.delete_passkey(&ann.id, &first.id).await.unwrap());
    assert!(
        store
            .passkey_by_credential(&first.credential_id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.user_passkeys(&ann.id).await.unwrap(),
        vec![second.clone()]
    );

    // A sign-up with a passkey is one write: either conflict leaves nothing.
    let carol = User {
        password_hash: None,
        ..account(&address())
    };
    let carols = key(&carol, "signup", t);
    store
        .insert_user_with_passkey(&carol, &carols)
        .await
        .unwrap();
    assert_eq!(
        store.user_passkeys(&carol.id).await.unwrap(),
        vec![carols.clone()]
    );
    let twin = account(carol.email.as_ref().unwrap().as_str());
    let twins = key(&twin, "twin", t);
    assert!(matches!(
        store.insert_user_with_passkey(&twin, &twins).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        store
            .passkey_by_credential(&twins.credential_id)
            .await
            .unwrap()
            .is_none()
    );
    let dave = account(&address());
    let taken = Passkey {
        credential_id: second.credential_id.clone(),
        ..key(&dave, "dup", t)
    };
    assert!(matches!(
        store.insert_user_with_passkey(&dave, &taken).await,
        Err(StoreError::Conflict(PASSKEY_TAKEN))
    ));
    assert!(s.users.user_by_id(&dave.id).await.unwrap().is_none());

    // Ceremonies: taken once, never once expired.
    let ceremony = |expires_at| PendingCeremony {
        id: unique("ceremony"),
        ceremony: Ceremony::Register,
        user_id: Some(ann.id.clone()),
        state: r#"{"challenge":"abc"}"#.into(),
        expires_at,
    };
    let live = ceremony(t + 300);
    store.put_ceremony(&live).await.unwrap();
    assert_eq!(
        store.take_ceremony(&live.id, t).await.unwrap(),
        Some(live.clone())
    );
    assert_eq!(store.take_ceremony(&live.id, t).await.unwrap(), None);
    let late = ceremony(t + 10);
    store.put_ceremony(&late).await.unwrap();
    assert_eq!(store.take_ceremony(&late.id, t + 10).await.unwrap(), None);
    let raced = ceremony(t + 300);
    store.put_ceremony(&raced).await.unwrap();
    let takes = join_all((0..6).map(|_| store.take_ceremony(&raced.id, t))).await;
    let won = takes.iter().filter(|r| matches!(r, Ok(Some(_)))).count();
    assert_eq!(won, 1, "{takes:?}");

    // Deleting an account deletes its passkeys, the one it signed up with and one added
    // since (their credential ids are free again); another account's stay.
    let carols_second = key(&carol, "added", t + 1);
    assert!(store.insert_passkey(&carols_second).await.unwrap());
    s.admin().unwrap().delete_user(&carol.id).await.unwrap();
    for gone in [&carols, &carols_second] {
        assert!(
            store
                .passkey_by_credential(&gone.credential_id)
                .await
                .unwrap()
                .is_none()
        );
    }
    assert!(store.user_passkeys(&carol.id).await.unwrap().is_empty());
    let reused = Passkey {
        credential_id: carols.credential_id.clone(),
        ..key(&bob, "reused", t)
    };
    assert!(store.insert_passkey(&reused).await.unwrap());
    assert_eq!(
        store.user_passkeys(&ann.id).await.unwrap(),
        vec![second.clone()]
    );
}
