//! The blob port on both adapters: a directory, and S3 on the emulator the test command starts.

use std::io::Cursor;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bedrud_shared::blobs::fs::FsBlobStore;
use bedrud_shared::blobs::s3::{PART_SIZE, S3BlobStore};
use bedrud_shared::blobs::s3_links::S3Links;
use bedrud_shared::blobs::{BlobKey, BlobLinks, BlobReader, BlobStore};
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

fn body(bytes: Vec<u8>) -> BlobReader {
    Box::pin(Cursor::new(bytes))
}

/// Yields `prefix`, then fails: an upload whose source breaks half-way.
struct Broken(Cursor<Vec<u8>>);

impl AsyncRead for Broken {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.0).poll_read(cx, buf) {
            Poll::Ready(Ok(())) if buf.filled().len() == before => {
                Poll::Ready(Err(std::io::Error::other("source broke")))
            }
            other => other,
        }
    }
}

async fn read_all(store: &dyn BlobStore, key: &BlobKey) -> Option<Vec<u8>> {
    let mut r = store.get(key).await.unwrap()?;
    let mut out = Vec::new();
    r.read_to_end(&mut out).await.unwrap();
    Some(out)
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

async fn conformance(store: Arc<dyn BlobStore>) {
    let key = BlobKey::parse("recordings/EG_1/room.mp4").unwrap();
    assert_eq!(read_all(&*store, &key).await, None);
    store.delete(&key).await.expect("deleting nothing is fine");

    assert_eq!(
        store
            .put(&key, body(b"small".to_vec()), "video/mp4")
            .await
            .unwrap(),
        5
    );
    assert_eq!(read_all(&*store, &key).await.unwrap(), b"small");

    // Larger than one part: S3 goes multipart (and the last part is short).
    let big = pattern(2 * PART_SIZE + 12345);
    assert_eq!(
        store
            .put(&key, body(big.clone()), "video/mp4")
            .await
            .unwrap(),
        big.len() as u64
    );
    assert!(
        read_all(&*store, &key).await.unwrap() == big,
        "large object round-trips byte for byte"
    );

    // A broken upload changes nothing: the previous object stays whole.
    let broken: BlobReader = Box::pin(Broken(Cursor::new(pattern(PART_SIZE + 10))));
    assert!(store.put(&key, broken, "video/mp4").await.is_err());
    assert!(
        read_all(&*store, &key).await.unwrap() == big,
        "old object intact after a failed put"
    );

    store.delete(&key).await.unwrap();
    assert_eq!(read_all(&*store, &key).await, None);
}

#[tokio::test]
async fn filesystem_adapter() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::new(dir.path().join("blobs"));
    conformance(Arc::new(store.clone())).await;
    // No temporary files are left behind by the failed upload.
    let leftovers: Vec<_> = walk(&dir.path().join("blobs"))
        .into_iter()
        .filter(|p| p.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.display().to_string());
        }
    }
    out
}

async fn bucket() -> (aws_sdk_s3::Client, String) {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "needs the emulator the test command starts (bash .ci/test)"
    );
    let client = S3BlobStore::client_from_env().unwrap();
    let name = bedrud_tests::unique("bedrud-blobs");
    client.create_bucket().bucket(&name).send().await.unwrap();
    (client, name)
}

#[tokio::test]
async fn s3_adapter() {
    let (client, name) = bucket().await;
    conformance(Arc::new(S3BlobStore::new(client.clone(), &name))).await;
    let uploads = client
        .list_multipart_uploads()
        .bucket(&name)
        .send()
        .await
        .unwrap();
    assert!(
        uploads.uploads().is_empty(),
        "the failed multipart upload was aborted"
    );
}

#[tokio::test]
async fn s3_presigned_get_downloads_the_object() {
    let (client, name) = bucket().await;
    let store = S3BlobStore::new(client, &name);
    let key = BlobKey::parse("recordings/EG_2/room.mp4").unwrap();
    store
        .put(&key, body(b"presigned bytes".to_vec()), "video/mp4")
        .await
        .unwrap();
    let links = S3Links::from_env(&name).unwrap();
    let url = links.presigned_get(&key, Duration::from_secs(300)).unwrap();
    assert!(url.contains("X-Amz-Signature="), "{url}");
    let res = reqwest::get(&url).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap().as_ref(), b"presigned bytes");
}

/// The link is byte for byte what botocore (the AWS SDK for Python) presigns for the same
/// credentials, key, expiry and instant, with and without a session token.
#[test]
fn s3_links_match_the_official_sdk() {
    let python = std::env::var("BEDRUD_TEST_PYTHON")
        .expect("BEDRUD_TEST_PYTHON: run the README's test command (bash .ci/test)");
    let at = std::time::UNIX_EPOCH + Duration::from_secs(1_795_500_000);
    let key = BlobKey::parse("recordings/RM_1/rec-2.mp4").unwrap();
    for (token, endpoint) in [
        (None, None),
        (Some("session/token+=="), Some("http://127.0.0.1:5000")),
    ] {
        let creds = aws_credential_types::Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            token.map(String::from),
            None,
            "test",
        );
        let ours = S3Links::new("bedrud-rec", "eu-west-1", endpoint, creds)
            .url_at(&key, Duration::from_secs(3600), at)
            .unwrap();
        let script = r#"
import sys, datetime, botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
token, url = sys.argv[1] or None, sys.argv[2]
botocore.auth.get_current_datetime = lambda: datetime.datetime(2026, 11, 24, 6, 0, 0)
creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
req = AWSRequest(method="GET", url=url)
botocore.auth.S3SigV4QueryAuth(creds, "s3", "eu-west-1", expires=3600).add_auth(req)
print(req.url)
"#;
        let base = ours.split('?').next().unwrap();
        let out = std::process::Command::new(&python)
            .args(["-c", script, token.unwrap_or(""), base])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs = String::from_utf8(out.stdout).unwrap();
        let sorted = |u: &str| {
            let (b, q) = u.trim().split_once('?').unwrap();
            let mut q: Vec<&str> = q.split('&').collect();
            q.sort();
            format!("{b}?{}", q.join("&"))
        };
        assert_eq!(sorted(&ours), sorted(&theirs));
    }
}
