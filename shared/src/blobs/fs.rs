//! Filesystem adapter: objects are files under a root directory. Writes go to a temporary
//! file beside the target, are flushed to disk, then renamed over it (atomic on POSIX).

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tokio::io::AsyncWriteExt;

use super::{BlobKey, BlobReader, BlobStore};
use crate::error::{StoreError, StoreResult};

#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
}

impl FsBlobStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// `BlobKey` admits only plain relative segments, so this stays under `root`.
    fn path(&self, key: &BlobKey) -> PathBuf {
        self.root.join(key.as_str())
    }
}

fn io(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Other(format!("{what} {}: {e}", path.display()))
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn put(
        &self,
        key: &BlobKey,
        mut body: BlobReader,
        _content_type: &str,
    ) -> StoreResult<u64> {
        let path = self.path(key);
        let dir = path.parent().expect("a key has a file name").to_path_buf();
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| io("create", &dir, e))?;
        let tmp = dir.join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
        let result = async {
            let mut file = tokio::fs::File::create(&tmp)
                .await
                .map_err(|e| io("create", &tmp, e))?;
            let size = tokio::io::copy(&mut body, &mut file)
                .await
                .map_err(|e| io("write", &tmp, e))?;
            file.flush().await.map_err(|e| io("flush", &tmp, e))?;
            file.sync_all().await.map_err(|e| io("sync", &tmp, e))?;
            tokio::fs::rename(&tmp, &path)
                .await
                .map_err(|e| io("rename", &path, e))?;
            Ok(size)
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result
    }

    async fn get(&self, key: &BlobKey) -> StoreResult<Option<BlobReader>> {
        let path = self.path(key);
        match tokio::fs::File::open(&path).await {
            Ok(f) => Ok(Some(Box::pin(f))),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("open", &path, e)),
        }
    }

    async fn delete(&self, key: &BlobKey) -> StoreResult<()> {
        let path = self.path(key);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io("delete", &path, e)),
        }
    }
}
