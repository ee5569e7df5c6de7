//! What the DynamoDB adapter leaves in the table, read back raw from the emulator: every
//! expiring item carries the table's TTL attribute (`ttl`, Unix seconds) at the right time,
//! and the table has TTL switched on, so DynamoDB itself removes what has expired.

use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveStatus};
use bedrud_shared::domain::{Session, SessionId, UserId, now};
use bedrud_shared::store::{CounterStore, SessionStore, UserStore, WebhookLog};
use bedrud_tests::{fresh_dynamo_table, unique};

async fn ttl_of(client: &aws_sdk_dynamodb::Client, table: &str, pk: &str, sk: &str) -> i64 {
    let item = client
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk.into()))
        .key("sk", AttributeValue::S(sk.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap_or_else(|| panic!("no item {pk}/{sk}"));
    item["ttl"].as_n().unwrap().parse().unwrap()
}

#[tokio::test]
async fn expiring_items_carry_the_ttl_attribute() {
    let store = fresh_dynamo_table().await;
    let client = bedrud_shared::store::dynamodb::DynamoStore::client_from_env().unwrap();
    let table = store.table().to_string();
    let ttl = client
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .time_to_live_description
        .unwrap();
    assert_eq!(ttl.attribute_name(), Some("ttl"));
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));

    let t = now();
    let user = bedrud_tests::conformance::account(&format!("{}@example.com", unique("ttl")));
    store.insert_user(&user).await.unwrap();
    let session = Session {
        id: SessionId::new(),
        user_id: user.id.clone(),
        generation: 0,
        created_at: t,
        expires_at: t + 3600,
        revoked: false,
        rotated_at: None,
    };
    store.insert_session(&session, None).await.unwrap();
    let got = ttl_of(
        &client,
        &table,
        &format!("USER#{}", session.user_id),
        &format!("SESSION#{}", session.id.as_str()),
    )
    .await;
    assert_eq!(
        got,
        t + 3600 + 24 * 3600,
        "session: expiry plus a day of grace"
    );

    store
        .increment("login#203.0.113.7#60", t + 60, t)
        .await
        .unwrap();
    let got = ttl_of(&client, &table, "COUNTER#login#203.0.113.7#60", "COUNTER").await;
    assert_eq!(got, t + 60, "rate-limit window: its end");

    assert!(store.claim_event("EV_ttl", t, t + 86_400).await.unwrap());
    let got = ttl_of(&client, &table, "EVENT#EV_ttl", "EVENT").await;
    assert_eq!(got, t + 86_400, "webhook event id: remembered a day");
}

/// DynamoDB errors as the API shows them: throttling (after the SDK's own retries) and an
/// unreachable endpoint are a retryable 503; anything else is a logged 500, never a leak.
#[tokio::test]
async fn dynamodb_errors_map_to_retryable_or_internal() {
    use bedrud_shared::store::dynamodb::DynamoStore;
    use bedrud_shared::store::{StoreError, UserStore};
    let emulator = bedrud_shared::aws::endpoint(bedrud_shared::aws::Service::DynamoDb)
        .unwrap()
        .expect("emulator (bash .ci/test)");
    let table = fresh_dynamo_table().await.table().to_string();
    let proxy = bedrud_tests::request_log::RequestLog::start(&emulator).await;
    let conf = aws_sdk_dynamodb::config::Builder::from(
        &bedrud_shared::aws::sdk_config(bedrud_shared::aws::Service::DynamoDb).unwrap(),
    )
    .endpoint_url(&proxy.endpoint)
    .build();
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(conf), &table);
    let someone = UserId::new_account();
    assert!(store.user_by_id(&someone).await.unwrap().is_none());

    proxy.fail(400, "ProvisionedThroughputExceededException");
    let err = store.user_by_id(&someone).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(proxy.take().len() > 2, "the SDK retried before giving up");
    let http: bedrud_shared::Error = err.into();
    assert_eq!(http.status().as_u16(), 503);

    proxy.fail(400, "ValidationException");
    let err = store.user_by_id(&someone).await.unwrap_err();
    assert!(matches!(err, StoreError::Other(_)), "{err:?}");
    let http: bedrud_shared::Error = err.into();
    assert_eq!(http.status().as_u16(), 500);
    assert_eq!(http.to_string(), "internal server error", "no detail leaks");
    proxy.heal();

    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let conf = aws_sdk_dynamodb::config::Builder::from(
        &bedrud_shared::aws::sdk_config(bedrud_shared::aws::Service::DynamoDb).unwrap(),
    )
    .endpoint_url(&closed)
    .build();
    let gone = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(conf), &table);
    let err = gone.user_by_id(&someone).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}
