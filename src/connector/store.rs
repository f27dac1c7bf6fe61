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
    /// The tenant the state belongs to (keyed stores only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tenant: Option<String>,
    /// The endpoint the state belongs to (keyed stores only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    endpoint: Option<String>,
}

/// Which tenant, at which endpoint, a keyed store belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
struct StateKey {
    tenant: String,
    endpoint: String,
}

impl StateKey {
    fn new(tenant: &str, endpoint: &str) -> Self {
        StateKey {
            tenant: tenant.trim().to_ascii_lowercase(),
            endpoint: endpoint.trim().trim_end_matches('/').to_ascii_lowercase(),
        }
    }

    /// `exchange-activesync-sync-state-<tenant>-<hash of tenant and endpoint>.json`, the
    /// tenant part cut to safe characters.
    fn file_name(&self) -> String {
        use sha1::{Digest, Sha1};
        let readable: String = self
            .tenant
            .chars()
            .take(48)
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let digest = Sha1::digest(format!("{}\n{}", self.tenant, self.endpoint).as_bytes());
        let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("exchange-activesync-sync-state-{readable}-{hash}.json")
    }
}

/// A store kept in a small JSON file (`{"last_successful_sync": "…"}`). Writes are atomic: the
/// document goes to a temporary file (with a unique name) in the same directory, which is
/// then renamed over the old one, so a crash never leaves a half-written file. A missing file
/// means "never synced".
///
/// **One file per tenant and endpoint**: [`for_tenant`](Self::for_tenant) names the file
/// after both, so checks of different tenants (or of one tenant at different endpoints)
/// never see or overwrite each other's state, and concurrent runs need no lock: each saves
/// its own file, and two saves of the same file each replace it whole (the last one wins).
/// A keyed store also records its tenant and endpoint in the file and refuses a file that
/// belongs to another ([`with_key`](Self::with_key) keys a file at a path of your choice).
#[derive(Clone, Debug)]
pub struct JsonFileStore {
    path: PathBuf,
    key: Option<StateKey>,
}

impl JsonFileStore {
    /// A store at `path` (the file is created on the first save), not keyed: use it for one
    /// tenant only, or see [`for_tenant`](Self::for_tenant).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        JsonFileStore {
            path: path.into(),
            key: None,
        }
    }

    /// The store of `tenant` at `endpoint` (the service's base URL) in `dir`: its own file,
    /// named after both (compared case-insensitively, a trailing `/` ignored).
    pub fn for_tenant(dir: impl AsRef<Path>, tenant: &str, endpoint: &str) -> Self {
        let key = StateKey::new(tenant, endpoint);
        JsonFileStore {
            path: dir.as_ref().join(key.file_name()),
            key: Some(key),
        }
    }

    /// Key this store to `tenant` at `endpoint`: saves record them, and loading a file that
    /// records another tenant or endpoint fails instead of reporting its state.
    pub fn with_key(mut self, tenant: &str, endpoint: &str) -> Self {
        self.key = Some(StateKey::new(tenant, endpoint));
        self
    }

    /// The default location of an unkeyed store: `exchange-activesync-sync-state.json` in the
    /// system temp dir (keyed stores: [`for_tenant`](Self::for_tenant) with
    /// [`std::env::temp_dir`]).
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
        let key = self.key.clone();
        tokio::task::spawn_blocking(move || match std::fs::read(&path) {
            Ok(bytes) => {
                let state = serde_json::from_slice::<StateFile>(&bytes)
                    .map_err(|e| io_error("parse", &path, e))?;
                if let Some(key) = &key {
                    let other = |found: &Option<String>, want: &str| {
                        found.as_deref().is_some_and(|f| f != want)
                    };
                    if other(&state.tenant, &key.tenant) || other(&state.endpoint, &key.endpoint)
                    {
                        return Err(io_error(
                            "use",
                            &path,
                            format!(
                                "it holds the state of tenant {:?} at {:?}, not of tenant {:?} at {:?}",
                                state.tenant.as_deref().unwrap_or_default(),
                                state.endpoint.as_deref().unwrap_or_default(),
                                key.tenant,
                                key.endpoint
                            ),
                        ));
                    }
                }
                Ok(state.last_successful_sync)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("read", &path, e)),
        })
        .await
        .map_err(|e| Error::Config(format!("sync state store task failed: {e}")))?
    }

    async fn save(&self, at: DateTime<Utc>) -> Result<()> {
        let path = self.path.clone();
        let key = self.key.clone();
        tokio::task::spawn_blocking(move || {
            let (tenant, endpoint) = key.map(|k| (k.tenant, k.endpoint)).unzip();
            let body = serde_json::to_vec_pretty(&StateFile {
                last_successful_sync: Some(at),
                tenant,
                endpoint,
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
