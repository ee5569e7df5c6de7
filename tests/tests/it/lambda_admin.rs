//! The `admin` and `reconciler` Lambdas on DynamoDB (moto) and the LiveKit double, each
//! behind its own recording proxy: every route of the admin function through its `events/`
//! fixture, a reconciler pass that seats who LiveKit has, and every DynamoDB action both
//! needed allowed by their roles in the template.

use bedrud_shared::domain::{Access, UserId, now};
use bedrud_shared::http::{admin, auth, rooms};
use bedrud_shared::lambda;
use bedrud_shared::store::UserChange;
use bedrud_tests::lambda_events::{event, event_as, invoke};
use bedrud_tests::livekit_double::LiveKitDouble;
use bedrud_tests::request_log::Roles;
use bedrud_tests::{TEST_LK_KEY, TEST_LK_SECRET, unique};
use serde_json::{Value, json};

fn at(mut e: Value, room: &str, user: &str) -> Value {
    if let Some(body) = e["body"].as_str() {
        e["body"] = body.replace("REPLACE_WITH_USER_ID", user).into();
    }
    for ptr in ["/rawPath", "/requestContext/http/path"] {
        let p = e.pointer(ptr).unwrap().as_str().unwrap();
        let p = p
            .replace("REPLACE_WITH_ROOM_ID", room)
            .replace("REPLACE_WITH_USER_ID", user);
        *e.pointer_mut(ptr).unwrap() = p.into();
    }
    e
}

#[tokio::test]
async fn admin_and_reconciler_functions_on_dynamodb_within_their_roles() {
    let setup = bedrud_tests::fresh_dynamo_table().await;
    let table = setup.table().to_string();
    let lk = LiveKitDouble::start(TEST_LK_KEY, TEST_LK_SECRET).await;
    let config = bedrud_tests::lambda_config(&table, &lk.url);
    let mut roles = Roles::new();
    let mut init = async |binary: &str| roles.init(binary, &config).await;
    let auth_fn = lambda::service(auth::routes(), init("auth").await.build().unwrap());
    let rooms_fn = lambda::service(
        rooms::routes(),
        init("rooms").await.livekit().unwrap().build().unwrap(),
    );
    let admin_fn = lambda::service(
        admin::routes(),
        init("admin")
            .await
            .admin_store()
            .livekit()
            .unwrap()
            .build()
            .unwrap(),
    );
    let reconciler = init("reconciler")
        .await
        .livekit()
        .unwrap()
        .queue()
        .unwrap()
        .build()
        .unwrap()
        .reconciler()
        .unwrap();

    // Two accounts; the first made admin in the store (as `bedrud admin promote` does).
    let mut ids = Vec::new();
    let mut tokens = Vec::new();
    let mut emails = Vec::new();
    for who in ["boss", "member"] {
        let email = format!("{}@example.com", unique(who));
        let mut register = event("apigw-v2-auth-register.json");
        register["body"] = json!({"email": email,
            "password": "correct horse battery staple", "name": who})
        .to_string()
        .into();
        emails.push(email);
        let (status, body, _) = invoke(&auth_fn, &register).await;
        assert_eq!(status, 200, "{body}");
        ids.push(body["user"]["id"].as_str().unwrap().to_string());
        tokens.push(body["tokens"]["accessToken"].as_str().unwrap().to_string());
    }
    use bedrud_shared::store::AdminStore;
    setup
        .change_user(
            &UserId::parse(&ids[0]).unwrap(),
            &UserChange::Accesses(vec![Access::User, Access::Admin]),
            now(),
        )
        .await
        .unwrap();
    // Signed in again, the token carries the admin access.
    let mut login = event("apigw-v2-auth-login.json");
    login["body"] = json!({"email": emails[0], "password": "correct horse battery staple"})
        .to_string()
        .into();
    let (status, body, _) = invoke(&auth_fn, &login).await;
    assert_eq!(status, 200, "{body}");
    let boss = body["tokens"]["accessToken"].as_str().unwrap().to_string();

    // A room in use: created by the member, someone in LiveKit's meeting.
    let (status, room, _) = invoke(
        &rooms_fn,
        &event_as("apigw-v2-room-create.json", &tokens[1]),
    )
    .await;
    assert_eq!(status, 200, "{room}");
    let room_id = room["id"].as_str().unwrap().to_string();
    lk.connect(&bedrud_tests::livekit_room(&room), &ids[1], &[]);
    let schedule = serde_json::from_value(event("eventbridge-reconciler-schedule.json")).unwrap();
    let report = lambda::reconcile(&reconciler, schedule).await.unwrap();
    assert_eq!(report["joined"], 1, "{report}");

    // Every admin route through its fixture.
    let member = &ids[1];
    for (fixture, want) in [
        ("apigw-v2-admin-livekit-status.json", 200),
        ("apigw-v2-admin-livekit-stats.json", 200),
        ("apigw-v2-admin-rooms.json", 200),
        ("apigw-v2-admin-room-participants.json", 200),
        ("apigw-v2-admin-room-update.json", 200),
        ("apigw-v2-admin-users.json", 200),
        ("apigw-v2-admin-user.json", 200),
        ("apigw-v2-admin-user-accesses.json", 200),
        ("apigw-v2-admin-user-force-logout.json", 200),
        ("apigw-v2-admin-user-status.json", 200),
        ("apigw-v2-admin-users-web.json", 200),
        ("apigw-v2-admin-rooms-web.json", 200),
        ("apigw-v2-admin-users-recent.json", 200),
        ("apigw-v2-admin-user-sessions.json", 200),
        ("apigw-v2-admin-room-events.json", 200),
        ("apigw-v2-admin-overview.json", 200),
        ("apigw-v2-admin-online-count.json", 200),
        ("apigw-v2-admin-cert-info.json", 200),
        ("apigw-v2-admin-room-suspend.json", 202),
        ("apigw-v2-admin-room-reactivate.json", 200),
        ("apigw-v2-admin-users-bulk-ban.json", 200),
        ("apigw-v2-admin-room-close.json", 200),
        ("apigw-v2-admin-user-delete.json", 202),
    ] {
        let e = at(event_as(fixture, &boss), &room_id, member);
        let (status, body, _) = invoke(&admin_fn, &e).await;
        assert_eq!(status, want, "{fixture}: {body}");
        // The numbered lists count exactly (maintained totals on DynamoDB).
        let total = |key: &str| (body["total"].as_u64(), body[key].as_array().map(Vec::len));
        match fixture {
            "apigw-v2-admin-users-web.json" => assert_eq!(total("users"), (Some(2), Some(2))),
            "apigw-v2-admin-rooms-web.json" => assert_eq!(total("rooms"), (Some(1), Some(1))),
            "apigw-v2-admin-users-recent.json" => assert_eq!(total("users"), (Some(2), Some(2))),
            "apigw-v2-admin-room-events.json" => assert_eq!(total("events"), (Some(1), Some(1))),
            // The reconciler's pass seated and recorded the member's connection.
            "apigw-v2-admin-user-sessions.json" => {
                assert_eq!(total("sessions"), (Some(1), Some(1)))
            }
            _ => {}
        }
    }
    // The queue page, its own function: the depth from SQS and its dead-letter queue.
    let queue_fn = lambda::service(
        admin::queue_routes(),
        init("queue")
            .await
            .admin_store()
            .queue_watch()
            .unwrap()
            .build()
            .unwrap(),
    );
    let e = event_as("apigw-v2-admin-queue.json", &boss);
    let (status, body, _) = invoke(&queue_fn, &e).await;
    assert_eq!(status, 200, "{body}");
    for key in ["pending", "active", "dead", "done24h", "failed24h"] {
        assert!(body[key].is_number(), "{key}: {body}");
    }
    roles.check();
}
