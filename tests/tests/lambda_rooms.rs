//! The `rooms` and `join` Lambdas' services on DynamoDB (moto), fed the `events/` fixtures,
//! with every DynamoDB call counted: a first join costs one read and one conditional write,
//! a re-join one read.

use std::sync::Arc;

use bedrud_shared::AppState;
use bedrud_shared::config::Config;
use bedrud_shared::http::{auth, join, rooms};
use bedrud_shared::lambda;
use bedrud_shared::ratelimit::MemoryRateLimiter;
use bedrud_shared::store::Stores;
use bedrud_shared::store::dynamodb::DynamoStore;
use bedrud_tests::lambda_events::{event, event_as, invoke};
use bedrud_tests::request_log::RequestLog;
use bedrud_tests::{TEST_JWT_SECRET, TEST_LK_KEY, TEST_LK_SECRET, jwt_claims, unique};
use serde_json::{Value, json};

struct Functions {
    auth: axum::Router,
    rooms: axum::Router,
    join: axum::Router,
    log: RequestLog,
}

async fn functions() -> Functions {
    let emulator = std::env::var("AWS_ENDPOINT_URL").expect(
        "AWS_ENDPOINT_URL: run the README's test command (bash .ci/test), which starts moto",
    );
    let log = RequestLog::start(&emulator).await;
    let conf = aws_sdk_dynamodb::config::Builder::from(bedrud_shared::aws::sdk_config().await)
        .endpoint_url(&log.endpoint)
        .build();
    let table = unique("bedrud-lambda");
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(conf), &table);
    store.create_table().await.unwrap();
    let mut config = Config::default();
    config.database.kind = "dynamodb".into();
    config.database.table = table;
    config.auth.jwt_secret = TEST_JWT_SECRET.into();
    config.livekit.api_key = TEST_LK_KEY.into();
    config.livekit.api_secret = TEST_LK_SECRET.into();
    config.livekit.host = "wss://livekit.example.com".into();
    config.validate().unwrap();
    config.require_livekit_keys().unwrap();
    let state = AppState::new(
        config,
        Stores::from_adapter(store),
        Arc::new(MemoryRateLimiter::default()),
    )
    .unwrap();
    log.take();
    Functions {
        auth: lambda::service(auth::routes(), state.clone()),
        rooms: lambda::service(rooms::routes(), state.clone()),
        join: lambda::service(join::routes(), state),
        log,
    }
}

fn at(mut e: Value, room_id: &str) -> Value {
    for ptr in ["/rawPath", "/requestContext/http/path"] {
        let p = e
            .pointer(ptr)
            .unwrap()
            .as_str()
            .unwrap()
            .replace("REPLACE_WITH_ROOM_ID", room_id);
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
    assert_eq!(
        f.log.take(),
        ["TransactWriteItems"],
        "create is one transaction"
    );

    let (status, joined, _) = invoke(&f.join, &event_as("apigw-v2-room-join.json", &token)).await;
    assert_eq!(status, 200, "{joined}");
    assert_eq!(
        jwt_claims(joined["token"].as_str().unwrap())["video"]["room"],
        "lambda-room"
    );
    assert_eq!(
        f.log.take(),
        ["BatchGetItem", "TransactWriteItems"],
        "a first join is one read and one conditional write"
    );
    let (status, _, _) = invoke(&f.join, &event_as("apigw-v2-room-join.json", &token)).await;
    assert_eq!(status, 200);
    assert_eq!(f.log.take(), ["BatchGetItem"], "a re-join only reads");
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
}
