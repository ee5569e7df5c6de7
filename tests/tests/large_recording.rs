//! Processing a large recording keeps memory bounded: the processor streams the egress file
//! to its stable key, so this process's peak RSS grows by a few part buffers, not by the
//! file. One test per binary, so nothing else moves the peak.
//!
//! Size and store come from the environment (`BEDRUD_LARGE_MIB`, default 256;
//! `BEDRUD_LARGE_BACKEND` = `fs` (default) or `s3` on the emulator). The 1 GiB figures in
//! `docs/benchmarks.md` come from `benches/large_recording.sh`, which runs this with 1024.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use bedrud_shared::blobs::fs::FsBlobStore;
use bedrud_shared::blobs::s3::S3BlobStore;
use bedrud_shared::blobs::{BlobKey, BlobStore};
use bedrud_shared::domain::{
    Recording, RecordingId, RecordingMove, RecordingStatus, RoomId, UserId, now,
};
use bedrud_shared::queue::JobEnvelope;
use bedrud_shared::recordings::{Media, PROCESS_RECORDING, Processed, Recordings};
use bedrud_shared::store::Stores;
use bedrud_shared::store::sqlite::SqliteStore;
use serde_json::json;

/// Peak resident set size of this process so far, in bytes (Linux `VmHWM`).
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_recording_is_copied_with_bounded_memory() {
    let mib: u64 = std::env::var("BEDRUD_LARGE_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let backend = std::env::var("BEDRUD_LARGE_BACKEND").unwrap_or_else(|_| "fs".into());
    let dir = tempfile::tempdir().unwrap();
    let blobs: Arc<dyn BlobStore> = match backend.as_str() {
        "s3" => {
            let client = S3BlobStore::client_from_env().unwrap();
            let bucket = bedrud_tests::unique("bedrud-large");
            S3BlobStore::create_bucket(&client, &bucket).await.unwrap();
            Arc::new(S3BlobStore::new(client, bucket))
        }
        _ => Arc::new(FsBlobStore::new(dir.path().join("files"))),
    };
    let store = Arc::new(SqliteStore::open(&dir.path().join("b.db")).unwrap());
    let stores = Stores::from_shared(store.clone());
    let media = Media {
        queue: Some(store.clone()),
        blobs: Some(blobs.clone()),
        links: None,
        jobs: None,
        watch: None,
    };
    let mut config = bedrud_shared::config::Config::default();
    config.recordings.enabled = true;
    let settings = Arc::new(bedrud_shared::settings::Settings::new(
        stores.settings.clone(),
        &config,
    ));
    let recordings = Recordings::new(&stores, None, media, settings, &config);

    // The "egress output": generated on disk in 1 MiB steps, never whole in memory.
    let room = RoomId::new();
    let id = RecordingId::new();
    let egress_key = format!("egress/{room}/{id}.mp4");
    let source = dir.path().join("source.mp4");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&source).unwrap());
        let chunk: Vec<u8> = (0..1024 * 1024).map(|i| (i % 249) as u8).collect();
        for _ in 0..mib {
            f.write_all(&chunk).unwrap();
        }
    }
    let size = mib * 1024 * 1024;
    let reader = tokio::fs::File::open(&source).await.unwrap();
    let key = BlobKey::parse(&egress_key).unwrap();
    blobs
        .put(&key, Box::pin(reader), "video/mp4")
        .await
        .unwrap();
    std::fs::remove_file(&source).unwrap();

    let t = now();
    let rec = Recording {
        id: id.clone(),
        room_id: room.clone(),
        room_name: "large".into(),
        started_by: UserId::new_account(),
        status: RecordingStatus::Pending,
        egress_id: Some("EG_large".into()),
        egress_key,
        key: None,
        size: None,
        duration_ms: None,
        error: None,
        created_at: t,
        started_at: None,
        ended_at: None,
        updated_at: t,
    };
    assert!(stores.recordings.insert_recording(&rec).await.unwrap());
    let mut ended = RecordingMove::to(RecordingStatus::Processing);
    ended.size = Some(size as i64);
    stores
        .recordings
        .move_recording(&rec, &ended, t)
        .await
        .unwrap()
        .unwrap();

    let before = peak_rss();
    let started = Instant::now();
    let job = JobEnvelope {
        id: "EG_large".into(),
        kind: PROCESS_RECORDING.into(),
        payload: json!({"roomId": room.as_str(), "recordingId": id.as_str()}),
    };
    let done = recordings.process(&job).await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    let grew = peak_rss().saturating_sub(before);
    assert_eq!(done, Processed::Stored { size });
    let stored = stores
        .recordings
        .recording(&room, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, RecordingStatus::Completed);
    assert_eq!(stored.size, Some(size as i64));
    println!(
        "large recording: {mib} MiB via {backend}: peak RSS +{:.1} MiB (peak {:.1} MiB), {:.0} MiB/s",
        grew as f64 / 1048576.0,
        peak_rss() as f64 / 1048576.0,
        mib as f64 / secs
    );
    // Memory, not time: bounded by a few part buffers whatever the file's size.
    assert!(
        grew < 64 * 1024 * 1024,
        "peak RSS grew by {} MiB copying {mib} MiB",
        grew / 1048576
    );
}
