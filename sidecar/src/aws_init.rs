//! `bedrud aws-init`: creates the DynamoDB table, and optionally the recordings queue (with its
//! dead-letter queue) and bucket, as `infra/template.yaml` declares them.

use std::process::ExitCode;

use bedrud_shared::blobs::s3::S3BlobStore;
use bedrud_shared::queue::sqs::SqsQueue;
use bedrud_shared::store::dynamodb::DynamoStore;

pub fn main(table: &str, queue: Option<&str>, bucket: Option<&str>) -> ExitCode {
    // The SDK settings come from the environment alone; a missing region or key fails here.
    if let Err(e) = bedrud_shared::aws::sdk_config(bedrud_shared::aws::Service::DynamoDb) {
        eprintln!("bedrud: {e}");
        return ExitCode::from(2);
    }
    crate::block_on(async {
        let store = DynamoStore::new(DynamoStore::client_from_env().expect("checked"), table);
        if let Err(e) = store.create_table().await {
            eprintln!("bedrud: cannot create table {table}: {e}");
            return ExitCode::from(2);
        }
        println!("table {table} is ready");
        if let Some(name) = queue {
            match SqsQueue::create(&SqsQueue::client_from_env().expect("checked"), name).await {
                Ok(url) => println!("queue ready: QUEUE_URL={url}"),
                Err(e) => {
                    eprintln!("bedrud: cannot create queue {name}: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        if let Some(name) = bucket {
            match S3BlobStore::create_bucket(
                &S3BlobStore::client_from_env().expect("checked"),
                name,
            )
            .await
            {
                Ok(()) => println!("bucket ready: BUCKET_NAME={name}"),
                Err(e) => {
                    eprintln!("bedrud: cannot create bucket {name}: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        ExitCode::SUCCESS
    })
}
