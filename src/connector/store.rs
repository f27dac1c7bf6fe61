//! Persistence of the last successful sync ([`SyncStateStore`]).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::{Error, Result};

/// Which mark a [`SyncStateStore`] keeps. The two are separate: a connection check never
/// moves the mark an incremental inventory reads as "changed since".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StateMark {
    /// When a connection check ([`ConnectionValidator`](super::ConnectionValidator)) last
    /// found the tenant healthy (it read the whole device list).
    LastChecked,
    /// When the last complete inventory ([`InventorySync`](super::InventorySync)) started:
    /// every device changed after it is delivered by the next incremental sync.
    SyncedThrough,
}

impl StateMark {
    /// `last_checked` or `synced_through` (the key in a [`JsonFileStore`]'s file).
    pub fn as_str(self) -> &'static str {
        match self {
            StateMark::LastChecked => "last_checked",
            StateMark::SyncedThrough => "synced_through",
        }
    }
}

/// Where the connector remembers when it last checked the tenant and how far its inventory
/// has synced ([`StateMark`]).
///
/// Object-safe: hold it as `Arc<dyn SyncStateStore>`.
#[async_trait]
pub trait SyncStateStore: Send + Sync {
    /// The time recorded for `mark`, if one was.
    async fn load(&self, mark: StateMark) -> Result<Option<DateTime<Utc>>>;
    /// Record `at` for `mark` (the other mark is kept).
    async fn save(&self, mark: StateMark, at: DateTime<Utc>) -> Result<()>;
}

/// An in-memory store (tests, one-shot tools).
#[derive(Debug, Default)]
pub struct MemoryStore {
    last_checked: Mutex<Option<DateTime<Utc>>>,
    synced_through: Mutex<Option<DateTime<Utc>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store that already holds `at` for both marks.
    pub fn with(at: DateTime<Utc>) -> Self {
        MemoryStore {
            last_checked: Mutex::new(Some(at)),
            synced_through: Mutex::new(Some(at)),
        }
    }

    fn slot(&self, mark: StateMark) -> &Mutex<Option<DateTime<Utc>>> {
        match mark {
            StateMark::LastChecked => &self.last_checked,
            StateMark::SyncedThrough => &self.synced_through,
        }
    }
}

#[async_trait]
impl SyncStateStore for MemoryStore {
    async fn load(&self, mark: StateMark) -> Result<Option<DateTime<Utc>>> {
        Ok(*self.slot(mark).lock().unwrap_or_else(|p| p.into_inner()))
    }
    async fn save(&self, mark: StateMark, at: DateTime<Utc>) -> Result<()> {
        *self.slot(mark).lock().unwrap_or_else(|p| p.into_inner()) = Some(at);
        Ok(())
    }
}

/// The JSON document a [`JsonFileStore`] writes.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct StateFile {
    /// The one mark of files written before the marks were separated: read as
    /// `last_checked` (it may have been a connection check's), never as `synced_through`
    /// (the next incremental sync is then a full one, which loses nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_successful_sync: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_checked: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    synced_through: Option<DateTime<Utc>>,
    /// The tenant the state belongs to (keyed stores only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tenant: Option<String>,
    /// The endpoint the state belongs to (keyed stores only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    endpoint: Option<String>,
}

impl StateFile {
    fn get(&self, mark: StateMark) -> Option<DateTime<Utc>> {
        match mark {
            StateMark::LastChecked => self.last_checked.or(self.last_successful_sync),
            StateMark::SyncedThrough => self.synced_through,
        }
    }
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

/// A store kept in a small JSON file (`{"last_checked": "…", "synced_through": "…"}`; a file
/// written before the marks were separated, `{"last_successful_sync": "…"}`, still loads: its
/// time is read as `last_checked` only). Writes are atomic: the
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

impl JsonFileStore {
    /// Read and check the file (`None` when there is none).
    fn read_file(path: &Path, key: Option<&StateKey>) -> Result<Option<StateFile>> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let state = serde_json::from_slice::<StateFile>(&bytes)
                    .map_err(|e| io_error("parse", path, e))?;
                if let Some(key) = key {
                    let other = |found: &Option<String>, want: &str| {
                        found.as_deref().is_some_and(|f| f != want)
                    };
                    if other(&state.tenant, &key.tenant) || other(&state.endpoint, &key.endpoint) {
                        return Err(io_error(
                            "use",
                            path,
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
                Ok(Some(state))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("read", path, e)),
        }
    }
}

#[async_trait]
impl SyncStateStore for JsonFileStore {
    async fn load(&self, mark: StateMark) -> Result<Option<DateTime<Utc>>> {
        let path = self.path.clone();
        let key = self.key.clone();
        tokio::task::spawn_blocking(move || {
            Ok(Self::read_file(&path, key.as_ref())?.and_then(|s| s.get(mark)))
        })
        .await
        .map_err(|e| Error::Config(format!("sync state store task failed: {e}")))?
    }

    async fn save(&self, mark: StateMark, at: DateTime<Utc>) -> Result<()> {
        let path = self.path.clone();
        let key = self.key.clone();
        tokio::task::spawn_blocking(move || {
            // Keep the other mark: read, change one field, replace the file whole.
            let mut state = Self::read_file(&path, key.as_ref())?.unwrap_or_default();
            state.last_checked = state.get(StateMark::LastChecked);
            state.last_successful_sync = None;
            match mark {
                StateMark::LastChecked => state.last_checked = Some(at),
                StateMark::SyncedThrough => state.synced_through = Some(at),
            }
            let (tenant, endpoint) = key.map(|k| (k.tenant, k.endpoint)).unzip();
            state.tenant = tenant;
            state.endpoint = endpoint;
            let body =
                serde_json::to_vec_pretty(&state).map_err(|e| io_error("encode", &path, e))?;
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
        assert_eq!(store.load(StateMark::SyncedThrough).await.unwrap(), None);
        let t = DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        store.save(StateMark::SyncedThrough, t).await.unwrap();
        assert_eq!(store.load(StateMark::SyncedThrough).await.unwrap(), Some(t));
        // The other mark is separate, and saving it keeps this one.
        assert_eq!(store.load(StateMark::LastChecked).await.unwrap(), None);
        let later = t + chrono::Duration::hours(1);
        store.save(StateMark::LastChecked, later).await.unwrap();
        assert_eq!(store.load(StateMark::SyncedThrough).await.unwrap(), Some(t));
        assert_eq!(
            store.load(StateMark::LastChecked).await.unwrap(),
            Some(later)
        );
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["state.json".to_string()]);
        std::fs::write(store.path(), b"not json").unwrap();
        assert!(store.load(StateMark::LastChecked).await.is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_file_from_before_the_split_is_read_as_last_checked_only() {
        let dir = std::env::temp_dir().join(format!("eas-store-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = JsonFileStore::new(dir.join("state.json"));
        std::fs::write(
            store.path(),
            br#"{"last_successful_sync":"2024-05-01T10:00:00Z"}"#,
        )
        .unwrap();
        let t = DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(store.load(StateMark::LastChecked).await.unwrap(), Some(t));
        assert_eq!(store.load(StateMark::SyncedThrough).await.unwrap(), None);
        // Saving the other mark keeps the old one, under its new name.
        store.save(StateMark::SyncedThrough, t).await.unwrap();
        let text = std::fs::read_to_string(store.path()).unwrap();
        assert!(
            text.contains("last_checked") && !text.contains("last_successful_sync"),
            "{text}"
        );
        assert_eq!(store.load(StateMark::LastChecked).await.unwrap(), Some(t));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn memory_store() {
        let s = MemoryStore::new();
        assert_eq!(s.load(StateMark::LastChecked).await.unwrap(), None);
        let t = Utc::now();
        s.save(StateMark::LastChecked, t).await.unwrap();
        assert_eq!(s.load(StateMark::LastChecked).await.unwrap(), Some(t));
        assert_eq!(s.load(StateMark::SyncedThrough).await.unwrap(), None);
    }
}
