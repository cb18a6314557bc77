//! The agent's store, won at start: the one process per data directory that opens it. A sled
//! store's own file lock decides between agents started at once; a PostgreSQL store has no
//! files here, so the data directory's lock decides ([`DirLock`]). Either way a loser that
//! finds the winner answering steps aside, and one that finds nobody answering keeps trying a
//! little (the holder may be an agent on its way out), then says who holds the store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::paths::AgentPaths;
use super::protocol::WireError;
use crate::agent_log;
use crate::exit::Exit;
use crate::store::postgres::{PgOptions, PgStore};
use crate::store::{Backend, DirLock, OpenOptions, SledStore, Store, StoreError};

/// The store this agent serves, what opening it fixed, and the lock that keeps it ours.
pub(super) struct Opened {
    pub store: Arc<dyn Store>,
    pub notes: Vec<String>,
    /// The data directory's lock, for a store that lives elsewhere.
    pub lock: Option<DirLock>,
}

pub(super) fn win(
    paths: &AgentPaths,
    backend: &Backend,
    accept_rollback: bool,
) -> Result<Option<Opened>, WireError> {
    // Shorter than the client's wait, so the client hears the reason rather than a timeout.
    let deadline = Instant::now() + super::deadlines::START_TIMEOUT * 3 / 5;
    loop {
        match open_once(paths, backend, accept_rollback) {
            Ok(opened) => return Ok(Some(opened)),
            Err(error @ StoreError::Busy { .. }) => {
                if super::client::answers(&paths.socket()) {
                    return Ok(None);
                }
                if Instant::now() >= deadline {
                    return Err(WireError::new(Exit::Temporary, error.to_string()));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(error) => {
                if let StoreError::Damaged { reason, .. } = &error {
                    agent_log!("the store is damaged: {reason}");
                }
                return Err(WireError::from(error));
            }
        }
    }
}

fn open_once(
    paths: &AgentPaths,
    backend: &Backend,
    accept_rollback: bool,
) -> Result<Opened, StoreError> {
    match backend {
        Backend::Sled => {
            let mut options = OpenOptions::new(paths.store.clone(), "jira-auth agent");
            options.busy_wait = Duration::ZERO;
            options.accept_rollback = accept_rollback;
            let mut store = SledStore::open(&options)?;
            let notes = store.take_notes();
            Ok(Opened {
                store: Arc::new(store),
                notes,
                lock: None,
            })
        }
        Backend::Postgres(conninfo) => {
            let lock = DirLock::take(paths.data_dir(), "jira-auth agent")?;
            let store = open_postgres(conninfo, &paths.store.key_file)?;
            let notes = vec![format!("serving the PostgreSQL store at {}", store.shown())];
            Ok(Opened {
                store: Arc::new(store),
                notes,
                lock: Some(lock),
            })
        }
    }
}

/// A PostgreSQL store sealed with `key_file` (also a `store copy` target).
pub(super) fn open_postgres(
    conninfo: &str,
    key_file: &std::path::Path,
) -> Result<PgStore, StoreError> {
    PgStore::open(&PgOptions {
        conninfo: conninfo.to_owned(),
        key_file: key_file.to_owned(),
    })
}
