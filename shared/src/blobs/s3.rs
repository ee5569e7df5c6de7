//! S3 adapter. Small bodies are one PutObject; from 8 MiB on, a multipart upload (8 MiB
//! parts, aborted on any failure so no orphaned parts are billed). Reads stream.

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use tokio::io::AsyncReadExt;

use super::{BlobKey, BlobReader, BlobStore};
use crate::config::ConfigError;
use crate::error::{StoreError, StoreResult};

/// Part size for multipart uploads (S3's minimum is 5 MiB for all but the last part).
pub const PART_SIZE: usize = 8 * 1024 * 1024;

#[derive(Clone)]
pub struct S3BlobStore {
    client: Client,
    bucket: String,
}

impl S3BlobStore {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    /// A client from the standard AWS environment. With an explicit endpoint (emulators) it
    /// uses path-style addressing, which needs no wildcard DNS.
    /// Creates the bucket if it does not exist (emulators, tests, `bedrud aws-init`); the
    /// template adds encryption, the public-access block and the multipart lifecycle rule.
    pub async fn create_bucket(client: &Client, name: &str) -> StoreResult<()> {
        use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
        let mut create = client.create_bucket().bucket(name);
        // Outside us-east-1, S3 wants the region named again.
        if let Some(region) = client.config().region().map(|r| r.as_ref().to_string())
            && region != "us-east-1"
        {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region.as_str()))
                    .build(),
            );
        }
        match create.send().await {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.code(),
                    Some("BucketAlreadyOwnedByYou" | "BucketAlreadyExists")
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(map_sdk(e)),
        }
    }

    /// A client on its own connections, configured from the environment (see `crate::aws`);
    /// path-style addressing when an emulator's endpoint is set (no virtual-host DNS there).
    pub fn client_from_env() -> Result<Client, ConfigError> {
        Ok(Self::client(&crate::aws::sdk_config(
            crate::aws::Service::S3,
        )?))
    }

    /// A client for `conf` (from `crate::aws`); path-style addressing when it names an
    /// endpoint (emulators and S3-compatible services need no virtual-host DNS then).
    pub fn client(conf: &aws_types::SdkConfig) -> Client {
        Client::from_conf(
            aws_sdk_s3::config::Builder::from(conf)
                .force_path_style(conf.endpoint_url().is_some())
                .build(),
        )
    }

    async fn multipart(
        &self,
        key: &BlobKey,
        first: Vec<u8>,
        body: &mut BlobReader,
        content_type: &str,
    ) -> StoreResult<u64> {
        let upload = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type(content_type)
            .send()
            .await
            .map_err(map_sdk)?;
        let id = upload
            .upload_id()
            .ok_or_else(|| StoreError::Other("no upload id".into()))?
            .to_string();
        let result = self.upload_parts(key, &id, first, body).await;
        if result.is_err() {
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key.as_str())
                .upload_id(&id)
                .send()
                .await;
        }
        result
    }

    async fn upload_parts(
        &self,
        key: &BlobKey,
        id: &str,
        mut chunk: Vec<u8>,
        body: &mut BlobReader,
    ) -> StoreResult<u64> {
        let mut parts = Vec::new();
        let mut total = 0u64;
        loop {
            let number = parts.len() as i32 + 1;
            total += chunk.len() as u64;
            let out = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(key.as_str())
                .upload_id(id)
                .part_number(number)
                .body(ByteStream::from(chunk))
                .send()
                .await
                .map_err(map_sdk)?;
            parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(out.e_tag)
                    .build(),
            );
            chunk = read_chunk(body).await?;
            if chunk.is_empty() {
                break;
            }
        }
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key.as_str())
            .upload_id(id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(map_sdk)?;
        Ok(total)
    }
}

/// Up to [`PART_SIZE`] bytes; fewer only at the end of the body.
async fn read_chunk(body: &mut BlobReader) -> StoreResult<Vec<u8>> {
    let mut buf = Vec::with_capacity(PART_SIZE);
    let mut limited = body.take(PART_SIZE as u64);
    limited
        .read_to_end(&mut buf)
        .await
        .map_err(|e| StoreError::Other(format!("reading upload body: {e}")))?;
    Ok(buf)
}

fn map_sdk<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    e: SdkError<E, R>,
) -> StoreError {
    crate::aws::map_sdk("s3", e)
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn put(
        &self,
        key: &BlobKey,
        mut body: BlobReader,
        content_type: &str,
    ) -> StoreResult<u64> {
        let first = read_chunk(&mut body).await?;
        if first.len() == PART_SIZE {
            return self.multipart(key, first, &mut body, content_type).await;
        }
        let size = first.len() as u64;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type(content_type)
            .body(ByteStream::from(first))
            .send()
            .await
            .map_err(map_sdk)?;
        Ok(size)
    }

    async fn get(&self, key: &BlobKey) -> StoreResult<Option<BlobReader>> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
        {
            Ok(out) => Ok(Some(Box::pin(out.body.into_async_read()))),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(map_sdk(e)),
        }
    }

    async fn delete(&self, key: &BlobKey) -> StoreResult<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map(|_| ())
            .map_err(map_sdk)
    }
}
