//! Lambda `recording-processor`, fed by SQS: each `process_recording` job streams the egress
//! file to `recordings/{roomId}/{recordingId}.mp4` and marks the recording completed; failures
//! are reported per message (`ReportBatchItemFailures`). Wiring only.

use bedrud_shared::lambda;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // Built once per instance, before the first invocation.
    let state = lambda::state_from_env().await?;
    if state.media.is_none() {
        return Err("recordings need BUCKET_NAME and QUEUE_URL".into());
    }
    lambda::serve_recording_processor(state).await
}
