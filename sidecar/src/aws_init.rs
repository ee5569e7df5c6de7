//! `bedrud aws-init`: creates the DynamoDB table exactly as `infra/template.yaml` declares it.

use std::process::ExitCode;

use bedrud_shared::store::dynamodb::DynamoStore;

pub fn main(table: &str) -> ExitCode {
    crate::block_on(async {
        let store = DynamoStore::new(DynamoStore::client_from_env().await, table);
        match store.create_table().await {
            Ok(()) => {
                println!("table {table} is ready");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("bedrud: cannot create table {table}: {e}");
                ExitCode::from(2)
            }
        }
    })
}
