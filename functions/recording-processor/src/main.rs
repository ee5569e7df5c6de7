//! Lambda `recording-processor`, fed by SQS: each `process_recording` job streams the egress
//! file to `recordings/{roomId}/{recordingId}.mp4` and marks the recording completed; failures
//! are reported per message (`ReportBatchItemFailures`). Wiring only.

use bedrud_shared::lambda;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // Built once per instance, before the first invocation.
    // No secrets and no LiveKit: it copies and removes files, and moves recordings on.
    let recordings = lambda::Init::from_env()?.bucket()?.recordings()?;
    lambda::serve_jobs(recordings).await
}
