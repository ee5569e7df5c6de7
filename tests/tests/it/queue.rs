//! The job queue: the embedded table's delivery guarantees, and the SQS adapter on moto.

use bedrud_shared::domain::now;
use bedrud_shared::queue::sqs::SqsQueue;
use bedrud_shared::queue::{JobEnvelope, JobQueue};
use bedrud_shared::store::sqlite::SqliteStore;
use bedrud_shared::store::sqlite::jobs::{JobState, MAX_ATTEMPTS};
use serde_json::json;

fn job(id: &str) -> JobEnvelope {
    JobEnvelope {
        id: id.into(),
        kind: "process_recording".into(),
        payload: json!({"egressId": id, "roomId": "r1"}),
    }
}

fn store() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (
        SqliteStore::open(&dir.path().join("bedrud.db")).unwrap(),
        dir,
    )
}

#[tokio::test]
async fn enqueue_is_idempotent_and_claim_complete_removes() {
    let (q, _d) = store();
    q.enqueue(&job("EG_a")).await.unwrap();
    q.enqueue(&job("EG_a")).await.unwrap();
    let t = now();
    let claim = q.claim_job(t, 60).await.unwrap().expect("one job");
    assert_eq!(claim.job, job("EG_a"));
    assert_eq!(claim.attempts, 1);
    assert!(
        q.claim_job(t, 60).await.unwrap().is_none(),
        "the duplicate was not a second job"
    );
    assert!(q.complete_job(&claim).await.unwrap());
    assert_eq!(q.job_state("EG_a").await.unwrap(), None);
}

#[tokio::test]
async fn failures_back_off_then_dead_letter() {
    let (q, _d) = store();
    q.enqueue(&job("EG_b")).await.unwrap();
    let mut t = now();
    for attempt in 1..=MAX_ATTEMPTS {
        let claim = q.claim_job(t, 60).await.unwrap().expect("due");
        assert_eq!(claim.attempts, attempt);
        let state = q
            .fail_job(&claim, "download failed", t)
            .await
            .unwrap()
            .unwrap();
        if attempt < MAX_ATTEMPTS {
            let JobState::Pending { run_at } = state else {
                panic!("{state:?}")
            };
            assert!(run_at > t, "retry waits");
            assert!(
                q.claim_job(run_at - 1, 60).await.unwrap().is_none(),
                "not before its backoff"
            );
            t = run_at;
        } else {
            assert_eq!(state, JobState::Dead);
        }
    }
    assert!(
        q.claim_job(t + 86_400, 60).await.unwrap().is_none(),
        "dead jobs are not delivered"
    );
    assert_eq!(q.job_state("EG_b").await.unwrap(), Some(JobState::Dead));
}

#[tokio::test]
async fn an_expired_lock_redelivers_and_the_stale_claim_loses() {
    let (q, _d) = store();
    q.enqueue(&job("EG_c")).await.unwrap();
    let t = now();
    let first = q.claim_job(t, 30).await.unwrap().unwrap();
    assert!(q.claim_job(t + 29, 30).await.unwrap().is_none(), "locked");
    let second = q
        .claim_job(t + 30, 30)
        .await
        .unwrap()
        .expect("the lock expired: redelivered");
    assert_eq!(second.attempts, 2);
    assert!(
        !q.complete_job(&first).await.unwrap(),
        "a stale claim cannot complete"
    );
    assert_eq!(q.fail_job(&first, "late", t + 31).await.unwrap(), None);
    assert!(q.complete_job(&second).await.unwrap());
}

#[tokio::test]
async fn jobs_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bedrud.db");
    {
        let q = SqliteStore::open(&path).unwrap();
        q.enqueue(&job("EG_d")).await.unwrap();
        q.claim_job(now(), 30).await.unwrap().unwrap(); // the worker then "crashes"
    }
    let q = SqliteStore::open(&path).unwrap();
    let again = q
        .claim_job(now() + 30, 30)
        .await
        .unwrap()
        .expect("redelivered after restart");
    assert_eq!(again.job.id, "EG_d");
}

#[tokio::test]
async fn concurrent_workers_never_share_a_job() {
    let (q, _d) = store();
    for i in 0..20 {
        q.enqueue(&job(&format!("EG_{i}"))).await.unwrap();
    }
    let t = now();
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let q = q.clone();
            tokio::spawn(async move { q.claim_job(t, 60).await.unwrap().map(|c| c.job.id) })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.extend(task.await.unwrap());
    }
    ids.sort();
    let before = ids.len();
    ids.dedup();
    assert_eq!((before, ids.len()), (20, 20));
}

/// SQS on the emulator: the message body is exactly the envelope, and the kind travels as a
/// message attribute.
#[tokio::test]
async fn sqs_adapter_sends_the_envelope() {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "needs the emulator the test command starts (bash .ci/test)"
    );
    let client = SqsQueue::client_from_env().unwrap();
    let name = bedrud_tests::unique("bedrud-jobs");
    let url = client
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let q = SqsQueue::new(client.clone(), &url);
    q.enqueue(&job("EG_sqs")).await.unwrap();
    let got = client
        .receive_message()
        .queue_url(&url)
        .message_attribute_names("All")
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let msg = &got.messages()[0];
    let body: JobEnvelope = serde_json::from_str(msg.body().unwrap()).unwrap();
    assert_eq!(body, job("EG_sqs"));
    let kind = msg.message_attributes().unwrap()["kind"]
        .string_value()
        .unwrap();
    assert_eq!(kind, "process_recording");
}

#[tokio::test]
async fn sqs_fifo_dedupes_on_the_job_id() {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "needs the emulator the test command starts (bash .ci/test)"
    );
    let client = SqsQueue::client_from_env().unwrap();
    let name = format!("{}.fifo", bedrud_tests::unique("bedrud-jobs"));
    let url = client
        .create_queue()
        .queue_name(&name)
        .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let q = SqsQueue::new(client.clone(), &url);
    q.enqueue(&job("EG_once")).await.unwrap();
    q.enqueue(&job("EG_once")).await.unwrap();
    let got = client
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    assert_eq!(got.messages().len(), 1);
}

/// The queue page's depth on the embedded table: waiting, claimed and dead jobs, the oldest
/// waiting, and the latest failures with their errors.
#[tokio::test]
async fn the_embedded_queue_reports_its_depth() {
    use bedrud_shared::queue::QueueWatch;
    let (q, _d) = store();
    assert_eq!(q.depth(now()).await.unwrap(), Default::default());
    for id in ["EG_1", "EG_2", "EG_3"] {
        q.enqueue(&job(id)).await.unwrap();
    }
    let t = now();
    let claim = q.claim_job(t, 60).await.unwrap().unwrap();
    let mut dead = q.claim_job(t, 60).await.unwrap().unwrap();
    let d = q.depth(t).await.unwrap();
    assert_eq!((d.pending, d.active, d.dead), (1, 2, 0));
    assert!(d.oldest_pending.is_some_and(|at| at <= t));
    q.complete_job(&claim).await.unwrap();
    let mut at = t;
    loop {
        match q.fail_job(&dead, "bucket gone", at).await.unwrap().unwrap() {
            JobState::Dead => break,
            JobState::Pending { run_at } => at = run_at,
            other => panic!("{other:?}"),
        }
        dead = q.claim_job(at, 60).await.unwrap().unwrap();
    }
    let d = q.depth(at).await.unwrap();
    assert_eq!((d.pending, d.active, d.dead), (1, 0, 1));
    let f = &d.recent_failures[0];
    assert_eq!(
        (f.id.as_str(), f.error.as_str(), f.attempts),
        (dead.job.id.as_str(), "bucket gone", MAX_ATTEMPTS)
    );
}

/// SQS: visible and in-flight messages, and the dead-letter queue found by the redrive
/// policy (the queue as the template declares it).
#[tokio::test]
async fn sqs_reports_its_depth_and_dead_letters() {
    use bedrud_shared::queue::QueueWatch;
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "needs the emulator the test command starts (bash .ci/test)"
    );
    let client = SqsQueue::client_from_env().unwrap();
    let name = bedrud_tests::unique("bedrud-depth");
    let url = SqsQueue::create(&client, &name).await.unwrap();
    let q = SqsQueue::new(client.clone(), &url);
    q.enqueue(&job("EG_a")).await.unwrap();
    q.enqueue(&job("EG_b")).await.unwrap();
    let d = q.depth(now()).await.unwrap();
    assert_eq!((d.pending, d.active, d.dead), (2, 0, 0));
    let got = client
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(1)
        .send()
        .await
        .unwrap();
    assert_eq!(got.messages().len(), 1);
    let d = q.depth(now()).await.unwrap();
    assert_eq!((d.pending, d.active), (1, 1));
    let dlq = client
        .get_queue_url()
        .queue_name(format!("{name}-dlq.fifo"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    client
        .send_message()
        .queue_url(&dlq)
        .message_body("{}")
        .message_group_id("g")
        .message_deduplication_id("d")
        .send()
        .await
        .unwrap();
    assert_eq!(q.depth(now()).await.unwrap().dead, 1);
}
