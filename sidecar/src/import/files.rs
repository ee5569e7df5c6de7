//! Where Bedrud's recording files are read from: its recordings directory (`--recordings-dir`)
//! or its bucket (`--recordings-bucket`), both through the blob port, so a file name Bedrud
//! kept can never reach outside the place given. And which object a recording's `file_url`
//! names: Bedrud kept a URL, not a key (`/recordings/<key>` on disk, `<endpoint>/<bucket>/<key>`
//! or `<publicUrl>/<key>` in S3, the bare egress file name in older rows).

use std::path::Path;

use bedrud_shared::aws::Service;
use bedrud_shared::blobs::fs::FsBlobStore;
use bedrud_shared::blobs::s3::S3BlobStore;
use bedrud_shared::blobs::{BlobKey, BlobReader, BlobStore};

use super::fields::field;
use super::source::Row;

pub struct Files {
    store: Box<dyn BlobStore>,
    /// The place, for messages: the directory, or `s3://bucket`.
    pub place: String,
    /// The bucket, when it is one, and whether it is on the S3 this server uses.
    bucket: Option<(String, bool)>,
}

impl Files {
    pub fn dir(dir: &Path) -> Result<Self, String> {
        if !dir.is_dir() {
            return Err(format!(
                "--recordings-dir {}: no such directory",
                dir.display()
            ));
        }
        Ok(Self {
            store: Box::new(FsBlobStore::new(dir)),
            place: dir.display().to_string(),
            bucket: None,
        })
    }

    /// Bedrud's bucket, read with Bedrud's own S3 settings when they name this bucket (the
    /// endpoint, region and key pair in its `system_settings`), else with the standard AWS
    /// environment.
    pub fn bucket(bucket: &str, settings: Option<&Row>) -> Result<Self, String> {
        let theirs = settings.filter(|row| {
            field(row, "chat_upload_s3_bucket").text().as_deref() == Some(bucket)
                && field(row, "chat_upload_s3_access_key").text().is_some()
        });
        let ours = bedrud_shared::aws::endpoint(Service::S3).map_err(|e| e.to_string())?;
        let (client, service) = match theirs {
            Some(row) => {
                let text = |name| field(row, name).text().unwrap_or_default();
                let endpoint = field(row, "chat_upload_s3_endpoint").text().map(|e| {
                    if e.contains("://") {
                        e
                    } else {
                        format!("https://{e}")
                    }
                });
                let region = field(row, "chat_upload_s3_region")
                    .text()
                    .unwrap_or_else(|| "us-east-1".into());
                let client = S3BlobStore::client(&bedrud_shared::aws::config_for(
                    &region,
                    &text("chat_upload_s3_access_key"),
                    &text("chat_upload_s3_secret_key"),
                    endpoint.clone(),
                ));
                (client, endpoint)
            }
            None => (
                S3BlobStore::client_from_env().map_err(|e| e.to_string())?,
                ours.clone(),
            ),
        };
        Ok(Self {
            store: Box::new(S3BlobStore::new(client, bucket)),
            place: format!("s3://{bucket}"),
            bucket: Some((
                bucket.to_string(),
                same_service(service.as_deref(), ours.as_deref()),
            )),
        })
    }

    /// Whether the files are in `target` already, the recordings bucket here on the S3 this
    /// server uses: then each recording refers to its object where it is, not to a copy.
    pub fn in_bucket(&self, target: &str) -> bool {
        self.bucket
            .as_ref()
            .is_some_and(|(bucket, ours)| *ours && bucket == target)
    }

    /// The key under which `file_url`'s object is here, if it is.
    pub async fn find(&self, file_url: &str) -> Result<Option<BlobKey>, String> {
        for key in candidates(file_url) {
            if self
                .store
                .get(&key)
                .await
                .map_err(|e| self.fail(e))?
                .is_some()
            {
                return Ok(Some(key));
            }
        }
        Ok(None)
    }

    pub async fn open(&self, key: &BlobKey) -> Result<BlobReader, String> {
        self.store
            .get(key)
            .await
            .map_err(|e| self.fail(e))?
            .ok_or_else(|| format!("{key} is gone from {}", self.place))
    }

    fn fail(&self, e: impl std::fmt::Display) -> String {
        format!("{}: {e}", self.place)
    }
}

/// Whether two S3 endpoints (`None`: AWS's own) are one service: both AWS (a bucket name is
/// global there), or the same URL.
fn same_service(a: Option<&str>, b: Option<&str>) -> bool {
    let host = |e: &str| {
        let rest = e.split_once("://").map_or(e, |(_, r)| r);
        rest.split(['/', ':'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    let aws = |e: Option<&str>| e.is_none_or(|e| host(e).ends_with(".amazonaws.com"));
    let same = |a: &str, b: &str| {
        a.trim_end_matches('/')
            .eq_ignore_ascii_case(b.trim_end_matches('/'))
    };
    (aws(a) && aws(b)) || a.zip(b).is_some_and(|(a, b)| same(a, b))
}

/// The keys `file_url` may be stored under, longest first: its path (without scheme, host
/// and query), then the same path with its leading segments dropped one by one. So a
/// directory given at any level of Bedrud's tree, and a bucket behind any URL prefix, find
/// the file. A `..` segment makes a candidate invalid, never a way out.
fn candidates(file_url: &str) -> Vec<BlobKey> {
    let path = match file_url.split_once("://") {
        Some((_, rest)) => rest.split_once('/').map_or("", |(_, path)| path),
        None => file_url,
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    (0..segments.len())
        .filter_map(|i| BlobKey::parse(&segments[i..].join("/")).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(url: &str) -> Vec<String> {
        candidates(url)
            .iter()
            .map(|k| k.as_str().to_string())
            .collect()
    }

    #[test]
    fn every_form_bedrud_wrote_names_its_key() {
        assert_eq!(
            keys("/recordings/recordings/u1/r1/x-20260501T100000Z.mp4"),
            [
                "recordings/recordings/u1/r1/x-20260501T100000Z.mp4",
                "recordings/u1/r1/x-20260501T100000Z.mp4",
                "u1/r1/x-20260501T100000Z.mp4",
                "r1/x-20260501T100000Z.mp4",
                "x-20260501T100000Z.mp4",
            ]
        );
        assert_eq!(
            keys("https://s3.example.com/media/recordings/u1/x.mp4?X-Amz-Date=1")[..2],
            ["media/recordings/u1/x.mp4", "recordings/u1/x.mp4"]
        );
        assert_eq!(keys("room-1714557600.mp4"), ["room-1714557600.mp4"]);
    }

    #[test]
    fn one_service_whatever_its_endpoint_is_called() {
        let aws = "https://s3.eu-west-1.amazonaws.com";
        assert!(same_service(None, None));
        assert!(same_service(Some(aws), None));
        assert!(same_service(
            Some("http://127.0.0.1:5000/"),
            Some("http://127.0.0.1:5000")
        ));
        assert!(!same_service(Some("https://minio.example.com"), None));
        assert!(!same_service(
            Some("http://127.0.0.1:5000"),
            Some("http://127.0.0.1:5001")
        ));
    }

    #[test]
    fn no_candidate_leaves_the_place() {
        assert_eq!(
            keys("/recordings/../../etc/passwd"),
            ["etc/passwd", "passwd"]
        );
        assert!(keys("https://host").is_empty());
        assert!(keys("").is_empty());
    }
}
