//! Connections shared across signals: exporters with the same connection settings (traces,
//! logs and metrics to one collector) use one HTTP connection pool or one gRPC channel.

use std::path::PathBuf;
use std::sync::Mutex;

use crate::runtime;

/// What decides how a connection is made; headers, paths and compression are per request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionKey {
    /// For gRPC the target URI; for HTTP empty, as one pool serves every host.
    pub target: String,
    pub certificate_file: Option<PathBuf>,
    pub client_key_file: Option<PathBuf>,
    pub client_certificate_file: Option<PathBuf>,
    pub connect_timeout_millis: u128,
}

/// Connections of this process by key; after a fork the child's first use makes its own,
/// as the inherited ones belong to the parent's runtime.
pub struct SharedConnections<C: Clone> {
    entries: Mutex<Vec<(u64, ConnectionKey, C)>>,
}

impl<C: Clone> SharedConnections<C> {
    pub const fn new() -> Self {
        Self {
            entries: Mutex::new(Vec::new()),
        }
    }

    pub fn get_or_make(
        &self,
        key: ConnectionKey,
        make: impl FnOnce() -> Result<C, String>,
    ) -> Result<C, String> {
        let generation = runtime::generation();
        if let Some(found) = self.find(generation, &key) {
            return Ok(found);
        }
        // Made without the lock: a fork from another thread must never find it taken.
        let made = make()?;
        let mut entries = self.lock();
        entries.retain(|(made_in, _, _)| *made_in == generation);
        if let Some((_, _, existing)) = entries.iter().find(|(_, known, _)| *known == key) {
            return Ok(existing.clone());
        }
        entries.push((generation, key, made.clone()));
        Ok(made)
    }

    fn find(&self, generation: u64, key: &ConnectionKey) -> Option<C> {
        self.lock()
            .iter()
            .find(|(made_in, known, _)| *made_in == generation && known == key)
            .map(|(_, _, connection)| connection.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(u64, ConnectionKey, C)>> {
        self.entries
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}
