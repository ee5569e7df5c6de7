//! `bedrud aws-init`: creates the DynamoDB table exactly as `infra/template.yaml` declares it.

use std::process::ExitCode;

use bedrud_shared::store::dynamodb::DynamoStore;

pub fn main(table: &str) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bedrud: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
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
