//! The store conformance suite: one set of cases over the ports, run against every adapter
//! (`tests/tests/it/conformance.rs` instantiates it for SQLite and for DynamoDB on moto). Each
//! invariant is exercised under concurrency, because that is where read-then-write breaks.

use std::collections::BTreeSet;

use bedrud_shared::domain::{
    Access, DisplayName, Email, Provider, REFRESH_GRACE_SECS, Session, SessionId, User, UserId, now,
};
use bedrud_shared::store::{Rotation, StoreError, Stores};

use crate::unique;

pub use crate::conformance_accounts::*;
pub use crate::conformance_admin::*;
pub use crate::conformance_rooms::*;
pub use crate::reconcile::*;

pub fn account(email: &str) -> User {
    let t = now();
    User {
        id: UserId::new_account(),
        email: Some(Email::parse(email).unwrap()),
        name: DisplayName::parse("Ann Lee", 255).unwrap(),
        provider: Provider::Local,
        accesses: vec![Access::User],
        avatar_url: None,
        is_active: true,
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g".into()),
        email_verified_at: Some(1),
        signup_pending: false,
        created_at: t,
        updated_at: t,
    }
}

pub fn guest() -> User {
    User {
        id: UserId::new_guest(),
        email: None,
        provider: Provider::Guest,
        accesses: vec![Access::Guest],
        password_hash: None,
        email_verified_at: None,
        signup_pending: false,
        ..account("unused@example.com")
    }
}

fn email() -> String {
    format!("{}@example.com", unique("u"))
}

fn session(user: &UserId, expires_in: i64) -> Session {
    let t = now();
    Session {
        id: SessionId::new(),
        user_id: user.clone(),
        generation: 0,
        created_at: t,
        expires_at: t + expires_in,
        revoked: false,
        rotated_at: None,
    }
}

pub async fn users_round_trip(s: &Stores) {
    let a = account(&email());
    s.users.insert_user(&a).await.unwrap();
    let by_id = s.users.user_by_id(&a.id).await.unwrap().expect("by id");
    assert_eq!(
        (by_id.email.clone(), by_id.name.clone(), by_id.provider),
        (a.email.clone(), a.name.clone(), a.provider)
    );
    assert_eq!(by_id.accesses, vec![Access::User]);
    assert_eq!(by_id.password_hash, a.password_hash);
    assert!(by_id.is_active);
    assert_eq!(by_id.created_at, a.created_at);
    let by_email = s
        .users
        .user_by_email(a.email.as_ref().unwrap())
        .await
        .unwrap()
        .expect("by email");
    assert_eq!(by_email.id, a.id);
    // Guests have no email, so any number of them coexist.
    for _ in 0..3 {
        let g = guest();
        s.users.insert_user(&g).await.unwrap();
        let back = s.users.user_by_id(&g.id).await.unwrap().unwrap();
        assert!(back.email.is_none() && back.is_guest() && back.password_hash.is_none());
    }
    assert!(
        s.users
            .user_by_id(&UserId::new_account())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.users
            .user_by_email(&Email::parse(&email()).unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn unique_email_under_concurrency(s: &Stores) {
    let shared = email();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (s, u) = (s.clone(), account(&shared));
            tokio::spawn(async move { s.users.insert_user(&u).await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::Conflict(what)) => assert_eq!(what, "email already registered"),
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(ok, 1);
}

/// A failed insert changes nothing: the losing write claims no email.
pub async fn duplicate_id_is_atomic(s: &Stores) {
    let a = account(&email());
    s.users.insert_user(&a).await.unwrap();
    let second_email = email();
    let mut clash = account(&second_email);
    clash.id = a.id.clone();
    match s.users.insert_user(&clash).await {
        Err(StoreError::Conflict(what)) => assert_eq!(what, "user id taken"),
        other => panic!("expected conflict, got {other:?}"),
    }
    let e = Email::parse(&second_email).unwrap();
    assert!(s.users.user_by_email(&e).await.unwrap().is_none());
    s.users
        .insert_user(&account(&second_email))
        .await
        .expect("the address is still free");
}

pub async fn profile_updates_move_the_email_claim(s: &Stores) {
    let (e1, e2, e3) = (email(), email(), email());
    let a = account(&e1);
    s.users.insert_user(&a).await.unwrap();
    s.users.insert_user(&account(&e2)).await.unwrap();
    let renamed = DisplayName::parse("Ann Renamed", 255).unwrap();
    let t = now() + 5;

    let taken = Email::parse(&e2).unwrap();
    assert!(matches!(
        s.users
            .update_profile(&a.id, &renamed, Some(&taken), t)
            .await,
        Err(StoreError::Conflict(_))
    ));
    let unchanged = s.users.user_by_id(&a.id).await.unwrap().unwrap();
    assert_eq!(
        (
            unchanged.name.as_str(),
            unchanged.email.as_ref().unwrap().as_str()
        ),
        ("Ann Lee", e1.as_str())
    );

    let only_name = s
        .users
        .update_profile(&a.id, &renamed, None, t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(only_name.name, renamed);
    assert_eq!(only_name.updated_at, t);

    let moved_to = Email::parse(&e3).unwrap();
    let moved = s
        .users
        .update_profile(&a.id, &renamed, Some(&moved_to), t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(moved.email.as_ref(), Some(&moved_to));
    assert_eq!(
        s.users.user_by_email(&moved_to).await.unwrap().unwrap().id,
        a.id
    );
    assert!(
        s.users
            .user_by_email(&Email::parse(&e1).unwrap())
            .await
            .unwrap()
            .is_none(),
        "old address released"
    );
    s.users
        .insert_user(&account(&e1))
        .await
        .expect("old address can be registered again");

    let missing = UserId::new_account();
    assert!(
        s.users
            .update_profile(&missing, &renamed, None, t)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.users
            .update_profile(
                &missing,
                &renamed,
                Some(&Email::parse(&email()).unwrap()),
                t
            )
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn password_and_preferences(s: &Stores) {
    let a = account(&email());
    s.users.insert_user(&a).await.unwrap();
    assert!(
        s.users
            .set_password_hash(&a.id, "$argon2id$new", now())
            .await
            .unwrap()
    );
    assert_eq!(
        s.users
            .user_by_id(&a.id)
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .as_deref(),
        Some("$argon2id$new")
    );
    assert!(
        !s.users
            .set_password_hash(&UserId::new_account(), "x", now())
            .await
            .unwrap()
    );
    assert_eq!(s.users.preferences(&a.id).await.unwrap(), None);
    s.users
        .set_preferences(&a.id, r#"{"theme":"dark"}"#, now())
        .await
        .unwrap();
    assert_eq!(
        s.users.preferences(&a.id).await.unwrap().as_deref(),
        Some(r#"{"theme":"dark"}"#)
    );
    assert!(
        s.users
            .set_preferences(&UserId::new_account(), "{}", now())
            .await
            .is_err()
    );
}

pub async fn rotation_is_compare_and_swap(s: &Stores) {
    let a = account(&email());
    s.users.insert_user(&a).await.unwrap();
    let sess = session(&a.id, 3600);
    s.sessions.insert_session(&sess, None).await.unwrap();
    let exp = now() + 7200;
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (s, u, id) = (s.clone(), a.id.clone(), sess.id.clone());
            tokio::spawn(async move {
                s.sessions
                    .rotate_session(&u, &id, 0, exp, now())
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    let rotated: Vec<_> = outcomes
        .iter()
        .filter(|o| matches!(o, Rotation::Rotated(_)))
        .collect();
    assert_eq!(rotated.len(), 1, "{outcomes:?}");
    // The losers presented the generation just rotated out: they get the winner's, and
    // nothing is revoked (two tabs refreshing at once must not sign the user out).
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, Rotation::Current(x) if x.generation == 1))
            .count(),
        9,
        "{outcomes:?}"
    );
    let Rotation::Rotated(after) = rotated[0] else {
        unreachable!()
    };
    assert_eq!((after.generation, after.expires_at), (1, exp));
    // Past the grace period the same token is a replay.
    let late = now() + REFRESH_GRACE_SECS + 1;
    assert_eq!(
        s.sessions
            .rotate_session(&a.id, &sess.id, 0, exp, late)
            .await
            .unwrap(),
        Rotation::Reused
    );

    assert!(
        matches!(s.sessions.rotate_session(&a.id, &sess.id, 1, exp, now()).await.unwrap(), Rotation::Rotated(x) if x.generation == 2)
    );
    // Two generations back is a replay at once.
    assert_eq!(
        s.sessions
            .rotate_session(&a.id, &sess.id, 0, exp, now())
            .await
            .unwrap(),
        Rotation::Reused
    );
    s.sessions
        .revoke_session(&a.id, &sess.id, now())
        .await
        .unwrap();
    s.sessions
        .revoke_session(&a.id, &sess.id, now())
        .await
        .unwrap(); // idempotent
    assert!(
        s.sessions
            .session(&a.id, &sess.id)
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
    assert_eq!(
        s.sessions
            .rotate_session(&a.id, &sess.id, 2, exp, now())
            .await
            .unwrap(),
        Rotation::Invalid
    );
    assert_eq!(
        s.sessions
            .rotate_session(&a.id, &sess.id, 0, exp, now())
            .await
            .unwrap(),
        Rotation::Invalid,
        "revoked beats reuse"
    );

    let unknown = SessionId::new();
    assert_eq!(
        s.sessions
            .rotate_session(&a.id, &unknown, 0, exp, now())
            .await
            .unwrap(),
        Rotation::Invalid
    );
    let other_user = UserId::new_account();
    let fresh = session(&a.id, 3600);
    s.sessions.insert_session(&fresh, None).await.unwrap();
    assert_eq!(
        s.sessions
            .rotate_session(&other_user, &fresh.id, 0, exp, now())
            .await
            .unwrap(),
        Rotation::Invalid,
        "a session belongs to its user"
    );
    let expired = session(&a.id, -10);
    s.sessions.insert_session(&expired, None).await.unwrap();
    assert_eq!(
        s.sessions
            .rotate_session(&a.id, &expired.id, 0, exp, now())
            .await
            .unwrap(),
        Rotation::Invalid
    );
}

pub async fn revoking_a_users_other_sessions(s: &Stores) {
    let (a, b) = (account(&email()), account(&email()));
    s.users.insert_user(&a).await.unwrap();
    s.users.insert_user(&b).await.unwrap();
    let mine: Vec<_> = (0..3).map(|_| session(&a.id, 3600)).collect();
    for x in &mine {
        s.sessions.insert_session(x, None).await.unwrap();
    }
    let theirs = session(&b.id, 3600);
    s.sessions.insert_session(&theirs, None).await.unwrap();
    assert_eq!(
        s.sessions
            .revoke_user_sessions(&a.id, Some(&mine[1].id), now())
            .await
            .unwrap(),
        2
    );
    let revoked: Vec<bool> = {
        let mut v = Vec::new();
        for x in &mine {
            v.push(
                s.sessions
                    .session(&a.id, &x.id)
                    .await
                    .unwrap()
                    .unwrap()
                    .revoked,
            );
        }
        v
    };
    assert_eq!(revoked, vec![true, false, true]);
    assert!(
        !s.sessions
            .session(&b.id, &theirs.id)
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
    assert_eq!(
        s.sessions
            .revoke_user_sessions(&a.id, Some(&mine[1].id), now())
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        s.sessions
            .revoke_user_sessions(&a.id, None, now())
            .await
            .unwrap(),
        1
    );
}

pub async fn counters_are_atomic(s: &Stores) {
    let key = unique("counter");
    let t = now();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (s, key) = (s.clone(), key.clone());
            tokio::spawn(async move { s.counters.increment(&key, t + 60, t).await.unwrap() })
        })
        .collect();
    let mut seen = BTreeSet::new();
    for task in tasks {
        seen.insert(task.await.unwrap());
    }
    assert_eq!(
        seen,
        (1..=20).collect::<BTreeSet<u64>>(),
        "every increment saw a distinct count"
    );
    assert_eq!(
        s.counters
            .increment(&unique("other"), t + 60, t)
            .await
            .unwrap(),
        1
    );
}

pub async fn health_answers(s: &Stores) {
    s.health.ping().await.unwrap();
}

/// One of a test's users: `accesses`, created at `at`, named after the test's tag.
fn tagged(tag: &str, n: u32, accesses: Vec<Access>, at: i64) -> User {
    let mut u = account(&format!("{tag}-{n}@example.com"));
    u.name = DisplayName::parse(&format!("{tag} person {n}"), 255).unwrap();
    u.accesses = accesses;
    u.created_at = at;
    u.updated_at = at;
    u
}

/// The last active admin can be neither deactivated nor demoted, even when two admins try
/// it on each other at once; the admins' user list pages and filters.
pub async fn the_last_admin_stays_and_users_list(s: &Stores) {
    use bedrud_shared::store::{UserChange, UserChangeOutcome as O, UserFilter};
    let tag = unique("last").replace('-', "");
    let t = now();
    let admin = vec![Access::User, Access::Admin];
    // A fresh table or database: these two are its only admins.
    let a = tagged(&tag, 0, admin.clone(), t);
    let b = tagged(&tag, 1, admin.clone(), t + 1);
    for u in [&a, &b] {
        s.users.insert_user(u).await.unwrap();
    }
    for i in 2..5 {
        s.users
            .insert_user(&tagged(&tag, i, vec![Access::User], t + i64::from(i)))
            .await
            .unwrap();
    }
    let off = UserChange::Active(false);
    assert!(matches!(
        s.admin()
            .unwrap()
            .change_user(&a.id, &off, t)
            .await
            .unwrap(),
        O::Done(_)
    ));
    assert!(matches!(
        s.admin()
            .unwrap()
            .change_user(&b.id, &off, t)
            .await
            .unwrap(),
        O::LastAdmin
    ));
    let on = UserChange::Active(true);
    assert!(matches!(
        s.admin().unwrap().change_user(&a.id, &on, t).await.unwrap(),
        O::Done(_)
    ));
    // Both demote each other at once: one wins, one admin remains.
    let demote = UserChange::Accesses(vec![Access::User]);
    let (x, y) = tokio::join!(
        s.admin().unwrap().change_user(&a.id, &demote, t),
        s.admin().unwrap().change_user(&b.id, &demote, t)
    );
    let wins = [x.unwrap(), y.unwrap()]
        .iter()
        .filter(|o| matches!(o, O::Done(_)))
        .count();
    assert_eq!(wins, 1, "exactly one demotion");
    let admins = s
        .admin()
        .unwrap()
        .list_users(
            &UserFilter {
                text: Some(tag.clone()),
                access: Some(Access::Admin),
                active: Some(true),
            },
            100,
            None,
        )
        .await
        .unwrap();
    assert_eq!(admins.items.len(), 1);
    assert!(matches!(
        s.admin()
            .unwrap()
            .change_user(&UserId::new_account(), &off, t)
            .await
            .unwrap(),
        O::NotFound
    ));
    // Pages of two partition this test's five users, newest first.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let filter = UserFilter {
            text: Some(tag.clone()),
            ..Default::default()
        };
        let page = s
            .admin()
            .unwrap()
            .list_users(&filter, 2, cursor.as_deref())
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.into_iter().map(|u| u.created_at));
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, (0..5).rev().map(|i| t + i).collect::<Vec<_>>());
    let by_email = UserFilter {
        text: Some(format!("{tag}-3@")),
        ..Default::default()
    };
    assert_eq!(
        s.admin()
            .unwrap()
            .list_users(&by_email, 10, None)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

/// Runtime settings: one document, each write a compare-and-set on its revision, so of two
/// admins writing from the same read exactly one wins (the other reads again).
pub async fn settings_are_compare_and_set(s: &Stores) {
    use bedrud_shared::domain::{Incoming, StoredSettings};
    let empty = s.settings.settings().await.unwrap();
    assert_eq!(empty, StoredSettings::default());
    let a = empty
        .merged(&[("serverName".into(), Incoming::Text("A".into()))])
        .unwrap();
    let b = empty
        .merged(&[("guestLoginEnabled".into(), Incoming::Bool(false))])
        .unwrap();
    let tasks: Vec<_> = [a, b]
        .into_iter()
        .map(|next| {
            let st = s.settings.clone();
            tokio::spawn(async move { st.put_settings(&next, 0).await.unwrap() })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1, "one of two writes from the same revision wins");
    let stored = s.settings.settings().await.unwrap();
    assert_eq!((stored.rev, stored.values.len()), (1, 1));
    let next = stored
        .merged(&[("maxRoomsPerUser".into(), Incoming::Int(7))])
        .unwrap();
    assert!(s.settings.put_settings(&next, stored.rev).await.unwrap());
    let again = s.settings.settings().await.unwrap();
    assert_eq!(again.rev, 2);
    assert_eq!(again.values.len(), 2, "the first write's value is kept");
    assert!(
        !s.settings.put_settings(&next, 1).await.unwrap(),
        "stale revision"
    );
}

/// Invites: consumed in the same write that creates the account, once, only by their address.
pub async fn invites_are_used_once(s: &Stores) {
    use bedrud_shared::domain::{InviteRefusal, InviteToken};
    let admin = account(&email());
    s.users.insert_user(&admin).await.unwrap();
    let bound_to = Email::parse(&email()).unwrap();
    let invite = InviteToken::new(admin.id.clone(), Some(bound_to.clone()), 24, now());
    s.admin().unwrap().insert_invite(&invite).await.unwrap();
    let stranger = account(&email());
    assert_eq!(
        s.users
            .insert_user_with_invite(&stranger, &invite.token, now())
            .await
            .unwrap(),
        Err(InviteRefusal::Invalid),
        "another address"
    );
    assert!(s.users.user_by_id(&stranger.id).await.unwrap().is_none());
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (st, token) = (s.clone(), invite.token.clone());
            let who = account(bound_to.as_str());
            tokio::spawn(async move { st.users.insert_user_with_invite(&who, &token, now()).await })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(Ok(())) => created += 1,
            Ok(Err(InviteRefusal::Used)) | Err(StoreError::Conflict(_)) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(created, 1);
    let listed = s.admin().unwrap().invites().await.unwrap();
    let used = listed.iter().find(|t| t.id == invite.id).unwrap();
    assert!(used.used_at.is_some() && used.used_by.is_some());
    let late = account(&email());
    let old = InviteToken::new(admin.id.clone(), None, 1, now() - 7200);
    s.admin().unwrap().insert_invite(&old).await.unwrap();
    assert_eq!(
        s.users
            .insert_user_with_invite(&late, &old.token, now())
            .await
            .unwrap(),
        Err(InviteRefusal::Invalid),
        "expired"
    );
    s.admin().unwrap().delete_invite(&old.id).await.unwrap();
    s.admin().unwrap().delete_invite(&old.id).await.unwrap();
    assert!(
        s.admin()
            .unwrap()
            .invites()
            .await
            .unwrap()
            .iter()
            .all(|t| t.id != old.id)
    );
}
