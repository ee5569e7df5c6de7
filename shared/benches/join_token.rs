//! The CPU parts of a join, without I/O: verifying the caller's API token, the policy
//! decision, and minting the LiveKit token (budget: minting ≤ 20 µs).
//! Run: `cargo bench -p bedrud-shared --bench join_token`.

use std::hint::black_box;

use bedrud_shared::auth::TokenKeys;
use bedrud_shared::domain::policy::{Caller, admit, rights};
use bedrud_shared::domain::{
    Access, DisplayName, Provider, Room, RoomName, SessionId, User, UserId, now,
};
use bedrud_shared::livekit::JoinTokens;
use criterion::{Criterion, criterion_group, criterion_main};

fn room() -> Room {
    let mut r = Room::new(
        RoomName::parse("bench-room").unwrap(),
        UserId::new_account(),
        0,
    );
    r.is_public = true;
    r
}

fn bench(c: &mut Criterion) {
    let keys = TokenKeys::new(&"k".repeat(40), 900, 3600);
    let user = User {
        id: UserId::new_account(),
        email: None,
        name: DisplayName::parse("Ann Lee", 255).unwrap(),
        provider: Provider::Local,
        accesses: vec![Access::User],
        avatar_url: None,
        is_active: true,
        password_hash: None,
        email_verified_at: Some(1),
        signup_pending: false,
        created_at: 0,
        updated_at: 0,
    };
    let access = keys.issue_access(&user, &SessionId::new(), now()).unwrap();
    let tokens = JoinTokens::new("APIbench", &"s".repeat(40), 900, true);
    let r = room();
    let caller = Caller::from(&user);
    let admitted = admit(&r, None, Some(&caller)).unwrap();
    let granted = rights(&r, admitted.role, &admitted.restrictions);
    let meta = r#"{"role":"participant","accesses":["user"]}"#;

    c.bench_function("verify_access_token", |b| {
        b.iter(|| keys.verify_access(black_box(&access)).unwrap())
    });
    c.bench_function("policy_admit_and_rights", |b| {
        b.iter(|| {
            let a = admit(black_box(&r), None, Some(black_box(&caller))).unwrap();
            rights(&r, a.role, &a.restrictions)
        })
    });
    c.bench_function("mint_join_token", |b| {
        b.iter(|| {
            tokens
                .mint(&caller.id, &caller.name, &r, black_box(&granted), meta, 0)
                .unwrap()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
