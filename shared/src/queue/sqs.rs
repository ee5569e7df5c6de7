//! SQS adapter: one message per job, body = [`JobEnvelope`] JSON. FIFO queues (URL ending in
//! `.fifo`) also get content-independent deduplication on the job id.

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::MessageAttributeValue;

use super::{JobEnvelope, JobQueue, QueueDepth, QueueWatch};
use crate::domain::UnixTime;
use crate::error::{StoreError, StoreResult};

#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
}

impl SqsQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }

    /// Creates the recordings queue as `infra/template.yaml` declares it (FIFO, visibility
    /// 960 s, a FIFO dead-letter queue after 5 receives) and returns its URL; existing queues
    /// are reused. For emulators, tests and `bedrud aws-init`.
    pub async fn create(client: &Client, name: &str) -> StoreResult<String> {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let base = name.trim_end_matches(".fifo");
        let dlq = client
            .create_queue()
            .queue_name(format!("{base}-dlq.fifo"))
            .attributes(A::FifoQueue, "true")
            .send()
            .await
            .map_err(map_sdk)?
            .queue_url
            .unwrap_or_default();
        let dlq_arn = client
            .get_queue_attributes()
            .queue_url(&dlq)
            .attribute_names(A::QueueArn)
            .send()
            .await
            .map_err(map_sdk)?
            .attributes
            .and_then(|a| a.get(&A::QueueArn).cloned())
            .unwrap_or_default();
        let redrive = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5});
        let url = client
            .create_queue()
            .queue_name(format!("{base}.fifo"))
            .attributes(A::FifoQueue, "true")
            .attributes(A::VisibilityTimeout, "960")
            .attributes(A::RedrivePolicy, redrive.to_string())
            .send()
            .await
            .map_err(map_sdk)?
            .queue_url
            .unwrap_or_default();
        Ok(url)
    }

    /// A client on the process's shared SDK configuration (see `crate::aws`).
    pub fn client_from_env() -> Result<Client, crate::config::ConfigError> {
        Ok(Client::new(&crate::aws::sdk_config(
            crate::aws::Service::Sqs,
        )?))
    }
}

/// The queue's approximate counts and its dead-letter queue's (found by its redrive policy).
#[async_trait]
impl QueueWatch for SqsQueue {
    async fn depth(&self, _now: UnixTime) -> StoreResult<QueueDepth> {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let attrs = self
            .client
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesDelayed)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(A::RedrivePolicy)
            .send()
            .await
            .map_err(map_sdk)?
            .attributes
            .unwrap_or_default();
        let num = |a: &std::collections::HashMap<A, String>, k: A| {
            a.get(&k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        };
        let mut depth = QueueDepth {
            pending: num(&attrs, A::ApproximateNumberOfMessages)
                + num(&attrs, A::ApproximateNumberOfMessagesDelayed),
            active: num(&attrs, A::ApproximateNumberOfMessagesNotVisible),
            ..Default::default()
        };
        let dlq = attrs
            .get(&A::RedrivePolicy)
            .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
            .and_then(|p| p["deadLetterTargetArn"].as_str().map(str::to_string));
        // The queue's name is the ARN's last part.
        if let Some(name) = dlq.as_deref().and_then(|arn| arn.rsplit(':').next()) {
            let url = self
                .client
                .get_queue_url()
                .queue_name(name)
                .send()
                .await
                .map_err(map_sdk)?
                .queue_url
                .unwrap_or_default();
            let dead = self
                .client
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(A::ApproximateNumberOfMessages)
                .send()
                .await
                .map_err(map_sdk)?
                .attributes
                .unwrap_or_default();
            depth.dead = num(&dead, A::ApproximateNumberOfMessages);
        }
        Ok(depth)
    }
}

fn map_sdk<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    e: SdkError<E, R>,
) -> StoreError {
    crate::aws::map_sdk("sqs", e)
}

#[async_trait]
impl JobQueue for SqsQueue {
    async fn enqueue(&self, job: &JobEnvelope) -> StoreResult<()> {
        let body = serde_json::to_string(job).map_err(|e| StoreError::Other(e.to_string()))?;
        let kind = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(&job.kind)
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        let mut send = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .message_attributes("kind", kind);
        if self.queue_url.ends_with(".fifo") {
            // One group per job: jobs run in parallel, and a poison message blocks only
            // itself until it is dead-lettered.
            send = send
                .message_group_id(&job.id)
                .message_deduplication_id(&job.id);
        }
        send.send().await.map(|_| ()).map_err(map_sdk)
    }
}
