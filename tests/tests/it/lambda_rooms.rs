//! The `rooms`, `join` and `moderation` Lambdas' services on DynamoDB (moto) and the LiveKit
//! double, fed the `events/` fixtures, with every DynamoDB call counted: a first join costs
//! one read and one conditional write, a re-join one read.

use std::sync::Arc;

use bedrud_shared::AppState;
use bedrud_shared::http::{auth, join, moderation, rooms, webhook};
use bedrud_shared::lambda;
use bedrud_shared::ratelimit::MemoryRateLimiter;
use bedrud_shared::store::Stores;
use bedrud_shared::store::dynamodb::DynamoStore;
use bedrud_tests::lambda_events::{event, event_as, invoke};
use bedrud_tests::livekit_double::LiveKitDouble;
use bedrud_tests::request_log::{RequestLog, Roles};
use bedrud_tests::{TEST_LK_KEY, TEST_LK_SECRET, jwt_claims, unique};
use serde_json::{Value, json};

struct Functions {
    auth: axum::Router,
    rooms: axum::Router,
    join: axum::Router,
    moderation: axum::Router,
    webhook: axum::Router,
    state: AppState,
    /// Every DynamoDB operation, in order, whichever function made it.
    log: RequestLog,
    /// Each function's calls, checked against its role.
    roles: Roles,
    lk: LiveKitDouble,
}

async fn functions() -> Functions {
    let mut roles = Roles::new();
    let table = bedrud_tests::fresh_dynamo_table().await.table().to_string();
    let lk = LiveKitDouble::start(TEST_LK_KEY, TEST_LK_SECRET).await;
    let config = bedrud_tests::lambda_config(&table, &lk.url);
    config.validate().unwrap();
    config.require_livekit_keys().unwrap();
    // One proxy, store and state per function, all on one table and one operation log.
    let mut states = Vec::new();
    for binary in ["auth", "rooms", "join", "moderation", "webhook"] {
        let store = DynamoStore::new(roles.client(binary).await, &table);
        let state = AppState::new(
            config.clone(),
            Stores::from_adapter(store),
            Arc::new(MemoryRateLimiter::default()),
        )
        .unwrap();
        states.push(state);
    }
    let log = roles.log().await;
    log.take();
    let service = |i: usize, routes| lambda::service(routes, states[i].clone());
    Functions {
        auth: service(0, auth::routes()),
        rooms: service(1, rooms::routes()),
        join: service(2, join::routes()),
        moderation: service(3, moderation::routes()),
        webhook: service(4, webhook::routes()),
        state: states[2].clone(),
        log,
        roles,
        lk,
    }
}

fn at(e: Value, room_id: &str) -> Value {
    at_with(e, room_id, "")
}

/// The fixture aimed at a real room (and participant identity, where the path has one).
fn at_with(mut e: Value, room_id: &str, identity: &str) -> Value {
    for ptr in ["/rawPath", "/requestContext/http/path"] {
        let p = e
            .pointer(ptr)
            .unwrap()
            .as_str()
            .unwrap()
            .replace("REPLACE_WITH_ROOM_ID", room_id)
            .replace("REPLACE_WITH_IDENTITY", identity);
        *e.pointer_mut(ptr).unwrap() = p.into();
    }
    e
}

#[tokio::test]
async fn rooms_and_join_functions_on_dynamodb_with_request_counts() {
    let f = functions().await;
    let mut register = event("apigw-v2-auth-register.json");
    register["body"] = json!({"email": format!("{}@example.com", unique("lr")),
        "password": "correct horse battery staple", "name": "Lambda Owner"})
    .to_string()
    .into();
    let (status, body, _) = invoke(&f.auth, &register).await;
    assert_eq!(status, 200, "{body}");
    let token = body["tokens"]["accessToken"].as_str().unwrap().to_string();
    f.log.take();

    let (status, created, _) =
        invoke(&f.rooms, &event_as("apigw-v2-room-create.json", &token)).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["livekitHost"], "wss://livekit.example.com");
    let id = created["id"].as_str().unwrap().to_string();
    // Every authenticated request reads its session (here a GetItem; join and refresh fold
    // it into their BatchGetItem): logout, force-logout and deactivation bind at once. The
    // runtime settings (room limits) are read once per cache period per instance.
    assert_eq!(
        f.log.take(),
        ["GetItem", "GetItem", "TransactWriteItems"],
        "create: the session, the settings (cold cache), then one transaction"
    );
    let (status, _, _) = invoke(&f.rooms, &event_as("apigw-v2-room-create.json", &token)).await;
    assert_eq!(status, 409, "the fixture's name is taken now");
    assert_eq!(
        f.log.take(),
        ["GetItem", "TransactWriteItems"],
        "a warm instance reads no settings"
    );

    let (status, joined, _) = invoke(&f.join, &event_as("apigw-v2-room-join.json", &token)).await;
    assert_eq!(status, 200, "{joined}");
    assert_eq!(
        jwt_claims(joined["token"].as_str().unwrap())["video"]["room"],
        json!(bedrud_tests::livekit_room(&created))
    );
    assert_eq!(
        f.log.take(),
        ["BatchGetItem", "TransactWriteItems"],
        "a first join: one read (room, member and session), one conditional write"
    );
    let (status, _, _) = invoke(&f.join, &event_as("apigw-v2-room-join.json", &token)).await;
    assert_eq!(status, 200);
    assert_eq!(f.log.take(), ["BatchGetItem"], "a re-join only reads, once");
    let (status, refreshed, _) = invoke(
        &f.join,
        &event_as("apigw-v2-room-refresh-token.json", &token),
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(f.log.take(), ["BatchGetItem"]);

    let (status, guest, cookies) = invoke(&f.join, &event("apigw-v2-room-guest-join.json")).await;
    assert_eq!(status, 200, "{guest}");
    assert!(cookies.iter().any(|c| c.starts_with("bedrud_guest_id=")));
    f.log.take();

    let (status, list, _) = invoke(&f.rooms, &event_as("apigw-v2-room-list.json", &token)).await;
    assert_eq!((status, list[0]["id"].as_str()), (200, Some(id.as_str())));
    let (status, check, _) = invoke(&f.rooms, &event("apigw-v2-room-check.json")).await;
    assert_eq!((status, &check["exists"]), (200, &json!(true)));
    let (status, count, _) = invoke(&f.rooms, &at(event("apigw-v2-room-presence.json"), &id)).await;
    assert_eq!((status, &count["count"]), (200, &json!(2)));
    let settings = at(event_as("apigw-v2-room-settings.json", &token), &id);
    let (status, updated, _) = invoke(&f.rooms, &settings).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        (&updated["isPublic"], &updated["settings"]["allowVideo"]),
        (&json!(false), &json!(false))
    );
    assert_eq!(updated["settings"]["allowAudio"], true);
    let (status, _, _) = invoke(
        &f.rooms,
        &at(event_as("apigw-v2-room-delete.json", &token), &id),
    )
    .await;
    assert_eq!(status, 200);
    let (status, again, _) = invoke(&f.join, &event_as("apigw-v2-room-join.json", &token)).await;
    assert_eq!((status, &again["status"]), (200, &json!("archived_owned")));
    let (status, _, _) = invoke(&f.rooms, &event("apigw-v2-room-check.json")).await;
    assert_eq!(status, 410);
    f.roles.check();
}

#[tokio::test]
async fn moderation_function_binds_on_dynamodb_through_every_fixture() {
    let f = functions().await;
    let mut tokens = Vec::new();
    for who in ["owner", "participant"] {
        let mut register = event("apigw-v2-auth-register.json");
        register["body"] = json!({"email": format!("{}@example.com", unique(who)),
            "password": "correct horse battery staple", "name": "Lambda Person"})
        .to_string()
        .into();
        let (status, body, _) = invoke(&f.auth, &register).await;
        assert_eq!(status, 200, "{body}");
        tokens.push((
            body["tokens"]["accessToken"].as_str().unwrap().to_string(),
            body["user"]["id"].as_str().unwrap().to_string(),
        ));
    }
    let ((owner, _), (user, user_id)) = (&tokens[0], &tokens[1]);
    let (status, created, _) =
        invoke(&f.rooms, &event_as("apigw-v2-room-create.json", owner)).await;
    assert_eq!(status, 200, "{created}");
    let (id, name) = (
        created["id"].as_str().unwrap(),
        &bedrud_tests::livekit_room(&created),
    );
    let join = event_as("apigw-v2-room-join.json", user);
    assert_eq!(invoke(&f.join, &join).await.0, 200);
    let mic_and_camera = [
        livekit_protocol::TrackSource::Microphone,
        livekit_protocol::TrackSource::Camera,
    ];
    f.lk.connect(name, user_id, &mic_and_camera);
    f.lk.clear_calls();
    f.log.take();

    let mute = at_with(
        event_as("apigw-v2-moderation-mute.json", owner),
        id,
        user_id,
    );
    let (status, body, _) = invoke(&f.moderation, &mute).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        f.lk.methods(),
        ["GetParticipant", "MutePublishedTrack", "UpdateParticipant"]
    );
    let ops = f.log.take();
    println!("DynamoDB requests for one mute: {ops:?}");
    assert_eq!(
        ops.iter().filter(|o| o.contains("Write")).count(),
        1,
        "one write per action: {ops:?}"
    );
    let (_, joined, _) = invoke(&f.join, &join).await;
    let video = &jwt_claims(joined["token"].as_str().unwrap())["video"];
    assert!(
        !video["canPublishSources"]
            .as_array()
            .unwrap()
            .contains(&json!("microphone"))
    );

    // Every moderation fixture works as shipped (end last: it closes the room).
    for fixture in [
        "video-off",
        "screenshare-stop",
        "promote",
        "demote",
        "chat-block",
        "chat-unblock",
        "permissions",
        "kick",
        "ban",
        "unban",
        "mute-all",
        "end",
    ] {
        f.lk.connect(name, user_id, &mic_and_camera);
        let e = at_with(
            event_as(&format!("apigw-v2-moderation-{fixture}.json"), owner),
            id,
            user_id,
        );
        let (status, body, _) = invoke(&f.moderation, &e).await;
        assert_eq!(status, 200, "{fixture}: {body}");
    }
    assert!(!f.lk.has_room(name));
    assert_eq!(invoke(&f.join, &join).await.0, 410);
    f.roles.check();
}

/// The room id `events/make_webhook_events.py` signs its deliveries for.
const FIXTURE_ROOM_ID: &str = "5e1f0c2a-7b3d-4c8e-9f10-2a3b4c5d6e7f";

/// Deliveries made and signed by LiveKit's official Python SDK (`events/make_webhook_events.py`)
/// through the webhook function on DynamoDB.
#[tokio::test]
async fn webhook_function_applies_sdk_made_deliveries_once() {
    let f = functions().await;
    let mut register = event("apigw-v2-auth-register.json");
    register["body"] = json!({"email": format!("{}@example.com", unique("wh")),
        "password": "correct horse battery staple", "name": "Hook Owner"})
    .to_string()
    .into();
    let (_, body, _) = invoke(&f.auth, &register).await;
    let owner = bedrud_shared::domain::UserId::parse(body["user"]["id"].as_str().unwrap()).unwrap();
    // The fixtures' room: LiveKit names it `lambda-room.<id>` (events/make_webhook_events.py),
    // so it is made with that id, public (the fixture's guest joins on its own).
    let mut room = bedrud_shared::domain::Room::new(
        bedrud_shared::domain::RoomName::parse("lambda-room").unwrap(),
        owner,
        bedrud_shared::domain::now(),
    );
    room.id = bedrud_shared::domain::RoomId::parse(FIXTURE_ROOM_ID).unwrap();
    room.is_public = true;
    f.state.stores.rooms.create_room(&room, None).await.unwrap();
    let id = room.id.clone();
    let seats = || async {
        let r = f.state.stores.rooms.room(&id).await.unwrap().unwrap();
        (r.active_count, r.live_sid)
    };
    let deliver = |name: &str| {
        let e = event(&format!("livekit-webhook-{name}.json"));
        let wh = f.webhook.clone();
        async move {
            let (status, body, _) = invoke(&wh, &e).await;
            assert_eq!(status, 200, "{body}");
            body["status"].as_str().unwrap().to_string()
        }
    };
    assert_eq!(deliver("room-started").await, "ok");
    assert_eq!(seats().await, (0, Some("RM_fixture".to_string())));
    f.log.take();
    assert_eq!(deliver("participant-joined").await, "ok");
    let ops = f.log.take();
    assert_eq!(
        ops,
        [
            // The reads first: the claim goes with the writes (one write on SQLite).
            "BatchGetItem",       // room + member (the ban decides)
            "UpdateItem",         // delivery count
            "PutItem",            // event id claim
            "BatchGetItem",       // presence compare-and-set: read
            "TransactWriteItems", // … and write with the seat count
            "TransactWriteItems", // the visit, its join event and its count, once
        ]
    );
    assert_eq!(seats().await.0, 1);
    for _ in 0..4 {
        assert_eq!(deliver("participant-joined").await, "duplicate");
    }
    for name in [
        "track-published",
        "egress-started",
        "egress-updated",
        "egress-ended",
        "egress-ended-legacy-file",
    ] {
        assert_eq!(deliver(name).await, "ok", "{name}");
    }
    assert_eq!(seats().await.0, 1);
    assert_eq!(deliver("participant-left").await, "ok");
    assert_eq!(deliver("participant-connection-aborted").await, "ok");
    assert_eq!(seats().await.0, 0, "one leave, one seat");
    assert_eq!(deliver("room-finished").await, "ok");
    assert_eq!(seats().await, (0, None));
    let stats = f.state.webhooks.stats().await.unwrap();
    assert_eq!(stats.count, 14);

    // A fixture with its body changed by one byte is refused.
    let mut forged = event("livekit-webhook-participant-joined.json");
    let body = forged["body"]
        .as_str()
        .unwrap()
        .replace("Fixture", "Fixturf");
    forged["body"] = body.into();
    let (status, body, _) = invoke(&f.webhook, &forged).await;
    assert_eq!(
        (status, &body["error"]),
        (401, &json!("invalid webhook signature"))
    );
    f.roles.check();
}
