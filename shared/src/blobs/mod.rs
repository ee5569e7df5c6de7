//! Files (recordings, later uploads): a directory in the sidecar, S3 on AWS. Bodies stream in
//! and out as `AsyncRead`, so a multi-gigabyte recording never sits in memory.

pub mod fs;
#[cfg(feature = "aws")]
pub mod s3;
#[cfg(feature = "aws")]
pub mod s3_links;

use std::fmt;
use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::AsyncRead;

use crate::error::Error;
use crate::error::StoreResult;

pub type BlobReader = Pin<Box<dyn AsyncRead + Send>>;

/// An object key: relative, `/`-separated segments of `[A-Za-z0-9._-]`, no `.` or `..`
/// segment, at most 1024 bytes. Valid keys are safe file paths under any root by
/// construction, so the filesystem adapter cannot be walked out of its directory.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobKey(String);

impl BlobKey {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let ok_segment = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        };
        if raw.is_empty() || raw.len() > 1024 || !raw.split('/').all(ok_segment) {
            return Err(Error::bad_request("invalid object key"));
        }
        Ok(Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores everything `body` yields under `key`, replacing any object there. Readers see
    /// the old object or the whole new one, never a part. Returns the size in bytes.
    async fn put(&self, key: &BlobKey, body: BlobReader, content_type: &str) -> StoreResult<u64>;
    /// The object's bytes, or `None` if there is none.
    async fn get(&self, key: &BlobKey) -> StoreResult<Option<BlobReader>>;
    /// Removes the object; removing a missing object is not an error.
    async fn delete(&self, key: &BlobKey) -> StoreResult<()>;
}

/// Time-limited download URLs, where the backend can mint them (S3). Without one, the API
/// serves the bytes itself.
pub trait BlobLinks: Send + Sync {
    fn presigned_get(&self, key: &BlobKey, ttl: Duration) -> StoreResult<String>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape() {
        for ok in ["recordings/EG_abc/room.mp4", "a", "a.b-c_d/e"] {
            assert!(BlobKey::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a/./b",
            "a//b",
            "a/",
            "a\\b",
            "a b",
            "ü",
            &"a".repeat(1025),
        ] {
            assert!(BlobKey::parse(bad).is_err(), "{bad:?}");
        }
    }
}
