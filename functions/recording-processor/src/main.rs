//! Lambda `recording-processor`, fed by SQS: each `process_recording` job streams the egress
//! file to `recordings/{roomId}/{recordingId}.mp4` and marks the recording completed; failures
//! are reported per message (`ReportBatchItemFailures`). Wiring only.

use bedrud_shared::lambda;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // Built once per instance, before the first invocation.
    let state = lambda::Init::from_env().await?.bucket()?.build()?;
    if state.media.blobs.is_none() {
        return Err("the recording processor needs BUCKET_NAME".into());
    }
    lambda::serve_recording_processor(state).await
}
