//! Persistence of the last successful sync ([`SyncStateStore`]).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::{Error, Result};

/// Where the connector remembers when it last read the tenant successfully.
///
/// Object-safe: hold it as `Arc<dyn SyncStateStore>`.
#[async_trait]
pub trait SyncStateStore: Send + Sync {
    /// The last successful sync, if one was recorded.
    async fn load(&self) -> Result<Option<DateTime<Utc>>>;
    /// Record a successful sync.
    async fn save(&self, at: DateTime<Utc>) -> Result<()>;
}

/// An in-memory store (tests, one-shot tools).
#[derive(Debug, Default)]
pub struct MemoryStore {
    value: Mutex<Option<DateTime<Utc>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store that already holds `at`.
    pub fn with(at: DateTime<Utc>) -> Self {
        MemoryStore {
            value: Mutex::new(Some(at)),
        }
    }
}

#[async_trait]
impl SyncStateStore for MemoryStore {
    async fn load(&self) -> Result<Option<DateTime<Utc>>> {
        Ok(*self.value.lock().unwrap_or_else(|p| p.into_inner()))
    }
    async fn save(&self, at: DateTime<Utc>) -> Result<()> {
        *self.value.lock().unwrap_or_else(|p| p.into_inner()) = Some(at);
        Ok(())
    }
}

/// The JSON document a [`JsonFileStore`] writes.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct StateFile {
    last_successful_sync: Option<DateTime<Utc>>,
}

/// A store kept in a small JSON file (`{"last_successful_sync": "…"}`). Writes are atomic: the
/// document goes to a temporary file in the same directory, which is then renamed over the
/// old one, so a crash never leaves a half-written file. A missing file means "never synced".
#[derive(Clone, Debug)]
pub struct JsonFileStore {
    path: PathBuf,
}

impl JsonFileStore {
    /// A store at `path` (the file is created on the first save).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        JsonFileStore { path: path.into() }
    }

    /// The default location: `exchange-activesync-sync-state.json` in the system temp dir.
    pub fn default_path() -> PathBuf {
        std::env::temp_dir().join("exchange-activesync-sync-state.json")
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn io_error(action: &str, path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Config(format!(
        "sync state store: could not {action} {}: {e}",
        path.display()
    ))
}

#[async_trait]
impl SyncStateStore for JsonFileStore {
    async fn load(&self) -> Result<Option<DateTime<Utc>>> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice::<StateFile>(&bytes)
                .map(|s| s.last_successful_sync)
                .map_err(|e| io_error("parse", &path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("read", &path, e)),
        })
        .await
        .map_err(|e| Error::Config(format!("sync state store task failed: {e}")))?
    }

    async fn save(&self, at: DateTime<Utc>) -> Result<()> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let body = serde_json::to_vec_pretty(&StateFile {
                last_successful_sync: Some(at),
            })
            .map_err(|e| io_error("encode", &path, e))?;
            let file_name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "sync-state".into());
            let tmp = path.with_file_name(format!(
                ".{file_name}.{}.tmp",
                uuid::Uuid::new_v4().simple()
            ));
            std::fs::write(&tmp, &body).map_err(|e| io_error("write", &tmp, e))?;
            std::fs::rename(&tmp, &path).map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                io_error("replace", &path, e)
            })
        })
        .await
        .map_err(|e| Error::Config(format!("sync state store task failed: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn json_store_round_trips_and_leaves_no_temp_file() {
        let dir = std::env::temp_dir().join(format!("eas-store-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = JsonFileStore::new(dir.join("state.json"));
        assert_eq!(store.load().await.unwrap(), None);
        let t = DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        store.save(t).await.unwrap();
        assert_eq!(store.load().await.unwrap(), Some(t));
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["state.json".to_string()]);
        std::fs::write(store.path(), b"not json").unwrap();
        assert!(store.load().await.is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn memory_store() {
        let s = MemoryStore::new();
        assert_eq!(s.load().await.unwrap(), None);
        let t = Utc::now();
        s.save(t).await.unwrap();
        assert_eq!(s.load().await.unwrap(), Some(t));
    }
}
