//! Persistence: profiles, integrations, token sets and the audit trail in an embedded sled
//! database, secrets sealed, one process at a time. [`Store`] is the interface the services
//! use, so that a second backend (the agent, serving other processes) can slot in beside
//! [`SledStore`].

mod backend;
mod contract;
mod dir_lock;
mod error;
mod generation;
mod holder;
mod integrity;
mod paths;
pub mod postgres;
mod preserve;
mod private;
mod records;
pub mod seal;
mod sled_store;
pub mod space;

pub use backend::{Backend, BackendError, STORE_VAR};
pub use contract::{Claim, Store, StoreNotice};
pub use dir_lock::DirLock;
pub use error::StoreError;
pub use holder::Holder;
pub use paths::StorePaths;
pub use private::{Expected, NotPrivate, check_data_dir, own_uid, private_file};
pub use records::{Exchanged, token_key};

/// Whether a store of this key lived at this data directory and its database is gone: the
/// refusal to open it then as a new, empty store.
pub fn vanished(paths: &StorePaths) -> Option<StoreError> {
    if paths.database().join("conf").exists() {
        return None;
    }
    let (generation_file, expected) =
        generation::last_written_at(&paths.key_file, &paths.data_dir)?;
    Some(StoreError::Vanished {
        data_dir: paths.data_dir.clone(),
        expected,
        generation_file,
    })
}
pub use sled_store::{OpenOptions, SCHEMA_VERSION, SledStore};
