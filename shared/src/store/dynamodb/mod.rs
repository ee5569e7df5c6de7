//! DynamoDB adapter: one table, string keys `pk`/`sk`, TTL attribute `ttl`, GSIs `gsi1`..`gsi4`.
//! Every request is a GetItem, a Query, or a conditional/transactional write; no Scan.
//! The layout is documented in `docs/data.md`.

mod accounts;
mod activity;
mod admin;
mod counters;
mod invites;
mod item;
mod keys;
mod links;
mod pages;
mod passkeys;
mod recordings;
pub(crate) mod rooms;
pub(crate) mod sessions;
mod settings;
mod tallies;
mod users;
mod webhooks;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};

use super::{Health, StoreError, StoreResult};
use item::s;

/// The adapter: a client built once per process and the table name.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// A client on its own connections, configured from the environment (see `crate::aws`).
    pub fn client_from_env() -> Result<Client, crate::config::ConfigError> {
        Ok(Client::new(&crate::aws::sdk_config(
            crate::aws::Service::DynamoDb,
        )?))
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// One item by key, strongly consistent.
    async fn get(&self, pk: AttributeValue, sk: AttributeValue) -> StoreResult<Option<item::Item>> {
        Ok(self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", pk)
            .key("sk", sk)
            .consistent_read(true)
            .send()
            .await
            .map_err(map_sdk)?
            .item)
    }

    /// Creates the table exactly as `infra/template.yaml` declares it (local emulators, tests,
    /// `bedrud aws-init`). An existing table is left as it is.
    pub async fn create_table(&self) -> StoreResult<()> {
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("complete attribute definition")
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .expect("complete key element")
        };
        let index = |n: u8, projection: ProjectionType| {
            GlobalSecondaryIndex::builder()
                .index_name(format!("gsi{n}"))
                .key_schema(key(&format!("gsi{n}pk"), KeyType::Hash))
                .key_schema(key(&format!("gsi{n}sk"), KeyType::Range))
                .projection(Projection::builder().projection_type(projection).build())
                .build()
                .expect("complete index")
        };
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("pk"))
            .attribute_definitions(attr("sk"))
            .attribute_definitions(attr("gsi1pk"))
            .attribute_definitions(attr("gsi1sk"))
            .attribute_definitions(attr("gsi2pk"))
            .attribute_definitions(attr("gsi2sk"))
            .attribute_definitions(attr("gsi3pk"))
            .attribute_definitions(attr("gsi3sk"))
            .attribute_definitions(attr("gsi4pk"))
            .attribute_definitions(attr("gsi4sk"))
            .key_schema(key("pk", KeyType::Hash))
            .key_schema(key("sk", KeyType::Range))
            // gsi1: per-owner and per-user lists (docs/data.md).
            .global_secondary_indexes(index(1, ProjectionType::All))
            // gsi2, sparse: only rooms marked busy carry `gsi2pk` (the reconciler's walk).
            .global_secondary_indexes(index(2, ProjectionType::All))
            // gsi3: every user and every room, newest first (the admins' lists).
            .global_secondary_indexes(index(3, ProjectionType::All))
            // gsi4, keys only: active rooms by last activity (the stale count).
            .global_secondary_indexes(index(4, ProjectionType::KeysOnly))
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e) if e.code() == Some("ResourceInUseException") => return Ok(()),
            Err(e) => return Err(map_sdk(e)),
        }
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name("ttl")
                    .enabled(true)
                    .build()
                    .expect("complete TTL spec"),
            )
            .send()
            .await
            .map_err(map_sdk)?;
        Ok(())
    }
}

/// True if the call failed only because its condition did not hold.
fn is_condition_failed<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.code() == Some("ConditionalCheckFailedException")
}

/// Ok(true) if a conditional write happened, Ok(false) if only its condition failed.
fn applied<T, E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    result: Result<T, SdkError<E, R>>,
) -> StoreResult<bool> {
    match result {
        Ok(_) => Ok(true),
        Err(e) if is_condition_failed(&e) => Ok(false),
        Err(e) => Err(map_sdk(e)),
    }
}

/// For a cancelled transaction, the indexes of the items whose condition failed.
fn failed_conditions<R>(e: &SdkError<TransactWriteItemsError, R>) -> Option<Vec<usize>> {
    let TransactWriteItemsError::TransactionCanceledException(cancelled) = e.as_service_error()?
    else {
        return None;
    };
    let failed: Vec<usize> = cancelled
        .cancellation_reasons()
        .iter()
        .enumerate()
        .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
        .map(|(i, _)| i)
        .collect();
    // Some emulators omit the reasons; the message still names them in order.
    if failed.is_empty() {
        let msg = cancelled.message().unwrap_or_default();
        let list = msg.rsplit_once('[').map(|(_, l)| l).unwrap_or_default();
        return Some(
            list.split(',')
                .enumerate()
                .filter(|(_, r)| r.contains("ConditionalCheckFailed"))
                .map(|(i, _)| i)
                .collect(),
        );
    }
    Some(failed)
}

/// SDK failures as store errors; a failed condition that reaches here is a conflict.
fn map_sdk<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    e: SdkError<E, R>,
) -> StoreError {
    if is_condition_failed(&e) {
        return StoreError::Conflict("conditional check failed");
    }
    crate::aws::map_sdk("dynamodb", e)
}

#[async_trait]
impl Health for DynamoStore {
    /// One cheap data-plane read: proves the table, the credentials and the network.
    async fn ping(&self) -> StoreResult<()> {
        self.client
            .get_item()
            .table_name(&self.table)
            .key("pk", s("HEALTH"))
            .key("sk", s("HEALTH"))
            .send()
            .await
            .map(|_| ())
            .map_err(map_sdk)
    }
}
