//! LiveKit webhook ingestion in-process, without HTTP: verifying a delivery (JWT + SHA-256 of
//! the body + proto-JSON parse), and verifying and applying it on the embedded store (event id
//! claimed, room read, presence compare-and-set with the seat count).
//! Run: `cargo bench -p bedrud-shared --bench webhook`.

use std::hint::black_box;
use std::sync::Arc;

use base64::Engine;
use bedrud_shared::attendance::Attendance;
use bedrud_shared::config::Config;
use bedrud_shared::domain::{Room, RoomName, UserId, now};
use bedrud_shared::livekit::WebhookVerifier;
use bedrud_shared::recordings::Recordings;
use bedrud_shared::settings::Settings;
use bedrud_shared::store::Stores;
use bedrud_shared::store::sqlite::SqliteStore;
use bedrud_shared::webhooks::Webhooks;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use livekit_api::access_token::AccessToken;
use sha2::Digest;

const KEY: &str = "APIbench";
const SECRET: &str = "bench-livekit-secret-0123456789abcdef";

/// A signed delivery of event `i`: joins and leaves of a stream of guests in `room`.
fn delivery(room: &str, i: u64) -> (String, Vec<u8>) {
    let (user, leaving) = (i / 2, i % 2 == 1);
    let body = serde_json::json!({
        "event": if leaving { "participant_left" } else { "participant_joined" },
        "id": format!("EV_{i}"),
        "createdAt": (1_795_471_200 + i).to_string(),
        "room": {"sid": "RM_bench", "name": room},
        "participant": {"sid": format!("PA_{user}"), "identity": format!("guest-{user:08}"),
                        "state": "ACTIVE"},
    })
    .to_string()
    .into_bytes();
    let sha = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&body));
    let jwt = AccessToken::with_api_key(KEY, SECRET)
        .with_sha256(&sha)
        .to_jwt()
        .unwrap();
    (jwt, body)
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let stores = Stores::from_adapter(SqliteStore::open(&dir.path().join("b.db")).unwrap());
    let mut room = Room::new(
        RoomName::parse("bench-room").unwrap(),
        UserId::new_account(),
        now(),
    );
    room.is_public = true;
    let live_name = room.livekit_name();
    rt.block_on(stores.rooms.create_room(&room, None)).unwrap();
    let mut config = Config::default();
    config.livekit.api_key = Some(KEY.into());
    config.livekit.api_secret = Some(SECRET.into());
    let settings = Arc::new(Settings::new(stores.settings.clone(), &config));
    let recordings = Arc::new(Recordings::new(
        &stores,
        None,
        Default::default(),
        settings,
        &config,
    ));
    let hooks = Arc::new(Webhooks::new(
        &stores,
        Attendance::new(&stores, None),
        recordings,
        &config,
    ));
    let verifier = WebhookVerifier::new(KEY, SECRET);
    let (jwt, body) = delivery(&live_name, 0);
    c.bench_function("webhook_verify", |b| {
        b.iter(|| {
            verifier
                .verify(Some(black_box(&jwt)), black_box(&body))
                .unwrap()
        })
    });
    let mut i = 0;
    c.bench_function("webhook_verify_and_apply_sqlite", |b| {
        b.iter_batched(
            || {
                i += 1;
                delivery(&live_name, i)
            },
            |(jwt, body)| rt.block_on(hooks.receive(Some(&jwt), &body)).unwrap(),
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
