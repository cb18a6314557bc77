//! Persistence: profiles, integrations, token sets and the audit trail in an embedded sled
//! database, secrets sealed, one process at a time. [`Store`] is the interface the services
//! use, so that a second backend (the agent, serving other processes) can slot in beside
//! [`SledStore`].

mod backend;
mod dir_lock;
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

use std::path::PathBuf;

use crate::domain::{
    Event, Integration, Link, Principal, Profile, Timestamp, TokenSet, TokenSummary,
};
use crate::exit::{Exit, Exits};

pub use backend::{Backend, BackendError, STORE_VAR};
pub use dir_lock::DirLock;
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
pub use sled_store::{OpenOptions, SledStore};

/// The schema this build reads and writes. Bump it with a migration in `sled_store::migrate`.
/// Version 2 added the integrity record; a store of version 1 is measured into one on open.
pub const SCHEMA_VERSION: u32 = 2;

/// What can go wrong below the services. Each variant's message is the sentence a human reads.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the store at {data_dir} is in use by {holder}; wait for it to finish or close it, then try again"
    )]
    Busy { data_dir: PathBuf, holder: String },
    #[error("cannot open the store at {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error(
        "the store at {data_dir} was sealed with a different key than {key_file}; restore the key file that was used (nothing was changed), or point JIRA_AUTH_KEY_FILE at it"
    )]
    WrongKey {
        data_dir: PathBuf,
        key_file: PathBuf,
    },
    #[error(
        "the store at {data_dir} holds sealed secrets but the key file {key_file} is missing; restore it (nothing was changed), or point JIRA_AUTH_KEY_FILE at it"
    )]
    KeyMissing {
        data_dir: PathBuf,
        key_file: PathBuf,
    },
    #[error(
        "the key file {path} is not a jira-auth key (a file of 64 hex digits expected); restore the right file, or point JIRA_AUTH_KEY_FILE at it"
    )]
    KeyMalformed { path: PathBuf },
    #[error(
        "the key file {path} can be read by others (mode {mode:03o}), so it protects nothing; make it private with `chmod 600 {path}` and try again"
    )]
    KeyExposed { path: PathBuf, mode: u32 },
    #[error(
        "the key file {key_file} is inside the data directory {data_dir}, so a copy of the data directory would carry the key to its secrets; move the key out (e.g. to ~/.config/jira-auth/store.key) and point JIRA_AUTH_KEY_FILE at it"
    )]
    KeyInsideDataDir {
        key_file: PathBuf,
        data_dir: PathBuf,
    },
    /// `reason` is sled's own text, for the agent's log; people read the sentence.
    #[error(
        "the store at {data_dir} is damaged: its database files do not read back, and nothing was changed. Restore the data directory from a backup (the key file stays as it is), or move it aside to start afresh"
    )]
    Damaged { data_dir: PathBuf, reason: String },
    #[error(
        "the store at {data_dir} is older than the last one written: its generation is {found}, and {expected} was recorded in {generation_file}. It was rolled back (a log cut short, or an old backup put in place) and may hold refresh tokens Atlassian has already replaced. Nothing was changed. Put the newest copy back; or, to use this copy after all, run `jira-auth agent --accept-rollback` once (grants rotated since the copy was made will need re-authorization)"
    )]
    RolledBack {
        data_dir: PathBuf,
        found: u64,
        expected: u64,
        generation_file: PathBuf,
    },
    #[error(
        "the store at {data_dir} is gone: no database is there, but {generation_file} says a store sealed with this key lived there (generation {expected}). Nothing was created. Put the data directory back from its backup; or, to start afresh on purpose, run `jira-auth agent --accept-rollback` once (every grant will need authorizing again)"
    )]
    Vanished {
        data_dir: PathBuf,
        expected: u64,
        generation_file: PathBuf,
    },
    #[error(
        "the disk holding {data_dir} is full, so nothing more can be written there; free space on it (`df -h {data_dir}`): jira-auth carries on by itself once there is room, and no grant it holds is lost meanwhile"
    )]
    DiskFull { data_dir: PathBuf },
    #[error("cannot read or create the key file {path}: {reason}")]
    KeyUnreadable { path: PathBuf, reason: String },
    #[error(
        "the store at {data_dir} has schema version {found}, newer than this jira-auth understands ({supported}); use a newer jira-auth"
    )]
    SchemaTooNew {
        data_dir: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error(
        "a secret in {record} does not open with this key; the record was altered or sealed with another key"
    )]
    Unsealable { record: String },
    #[error("the stored record {record} is damaged")]
    Corrupt { record: String },
    #[error("cannot draw random bytes from the operating system: {0}")]
    Random(String),
    #[error("sealing a secret failed")]
    Seal,
    #[error(
        "this store was copied to {to} and marked moved, so it refreshes and authorizes nothing more; point JIRA_AUTH_STORE (or --store) at {to} on every host"
    )]
    Moved { to: String },
    #[error(
        "the PostgreSQL store at {database} cannot be reached ({reason}); check that the database is up and reachable from this host: jira-auth carries on by itself once it is"
    )]
    DatabaseUnreachable { database: String, reason: String },
    #[error("the PostgreSQL store at {database} refused a request: {reason}")]
    DatabaseRefused { database: String, reason: String },
    #[error("{0}")]
    DatabaseSetting(String),
    #[error(
        "the PostgreSQL store at {database} is sealed with the key {expected}, but this host has {found} in {key_file}; install the fleet's key file here (the same file on every host) and try again. Nothing was written"
    )]
    DatabaseKey {
        database: String,
        expected: String,
        found: String,
        key_file: PathBuf,
    },
    #[error(
        "the PostgreSQL store at {database} has schema version {found}, newer than this jira-auth understands ({supported}); use a newer jira-auth on this host"
    )]
    DatabaseSchemaTooNew {
        database: String,
        found: i32,
        supported: i32,
    },
    #[error("the store failed: {0}")]
    Backend(String),
    /// A path another user owns or may write, or a link where a file belongs.
    #[error(transparent)]
    NotPrivate(#[from] NotPrivate),
}

impl Exits for StoreError {
    /// DESIGN.md's exit codes: a busy store is temporary (4); a key or schema that does not
    /// fit is the caller's to fix (2); anything else is a plain failure (1).
    fn exit(&self) -> Exit {
        match self {
            StoreError::Busy { .. }
            | StoreError::DiskFull { .. }
            | StoreError::DatabaseUnreachable { .. } => Exit::Temporary,
            StoreError::WrongKey { .. }
            | StoreError::KeyMissing { .. }
            | StoreError::KeyMalformed { .. }
            | StoreError::KeyExposed { .. }
            | StoreError::KeyInsideDataDir { .. }
            | StoreError::NotPrivate(_)
            | StoreError::SchemaTooNew { .. }
            | StoreError::Moved { .. }
            | StoreError::DatabaseSetting(_)
            | StoreError::DatabaseKey { .. }
            | StoreError::DatabaseSchemaTooNew { .. } => Exit::Usage,
            _ => Exit::Failed,
        }
    }
}

impl StoreError {
    /// A refusal that must leave the database files exactly as they were found.
    pub fn leaves_files_alone(&self) -> bool {
        matches!(
            self,
            StoreError::Damaged { .. }
                | StoreError::RolledBack { .. }
                | StoreError::Vanished { .. }
        )
    }
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

/// The repository the services work against. Writes return only after the data is durable.
pub trait Store: Send + Sync {
    fn profiles(&self) -> Result<Vec<Profile>, StoreError>;
    fn profile(&self, name: &str) -> Result<Option<Profile>, StoreError>;
    fn put_profile(&self, profile: &Profile) -> Result<(), StoreError>;
    /// `true` when there was such a profile.
    fn remove_profile(&self, name: &str) -> Result<bool, StoreError>;

    fn integrations(&self) -> Result<Vec<Integration>, StoreError>;
    fn integration(&self, name: &str) -> Result<Option<Integration>, StoreError>;
    fn put_integration(&self, integration: &Integration) -> Result<(), StoreError>;
    fn remove_integration(&self, name: &str) -> Result<bool, StoreError>;

    fn token_sets(&self) -> Result<Vec<TokenSet>, StoreError>;
    /// Every token set without its secrets: nothing is unsealed.
    fn token_summaries(&self) -> Result<Vec<TokenSummary>, StoreError>;
    /// The first token set of `integration`, without its secrets, that `wanted` accepts;
    /// reading stops there, so a question one grant answers costs one grant's read.
    fn find_token_summary(
        &self,
        integration: &str,
        wanted: &mut dyn FnMut(&TokenSummary) -> bool,
    ) -> Result<Option<TokenSummary>, StoreError>;
    fn token_set(
        &self,
        integration: &str,
        principal: &Principal,
    ) -> Result<Option<TokenSet>, StoreError>;
    fn put_token_set(&self, tokens: &TokenSet) -> Result<(), StoreError>;
    /// Writes the outcome of a refresh only while the store still holds the grant that
    /// refresh began from (its refresh token was `from`), in one transaction; `false` when the
    /// grant was deleted or replaced (a new consent) meanwhile, and nothing is written.
    fn put_token_set_if(
        &self,
        tokens: &TokenSet,
        from: Option<&crate::domain::Secret>,
    ) -> Result<bool, StoreError>;
    fn remove_token_set(
        &self,
        integration: &str,
        principal: &Principal,
    ) -> Result<bool, StoreError>;

    fn append_event(&self, event: &Event) -> Result<(), StoreError>;
    /// The newest `limit` events, newest first.
    fn events(&self, limit: usize) -> Result<Vec<Event>, StoreError>;
    /// Removes events oldest first: those before `before`, and those beyond the newest
    /// `keep`, at most `at_most` in one call so a caller can bound each step. Returns how
    /// many went; fewer than `at_most` means nothing more is due.
    fn trim_events(
        &self,
        before: Timestamp,
        keep: usize,
        at_most: usize,
    ) -> Result<usize, StoreError>;
    /// When the oldest kept event happened; `None` while the trail is empty.
    fn oldest_event(&self) -> Result<Option<Timestamp>, StoreError>;

    /// Notes, durably, that a refresh of this grant is about to reach Atlassian: if the
    /// process dies before [`Store::refresh_done`], the next one retries within Atlassian's
    /// reuse leeway instead of leaving the rotation unclaimed.
    fn refresh_started(
        &self,
        integration: &str,
        principal: &Principal,
        at: crate::domain::Timestamp,
    ) -> Result<(), StoreError>;
    fn refresh_done(&self, integration: &str, principal: &Principal) -> Result<(), StoreError>;
    /// Refreshes that started and never finished (the process died in between).
    fn refreshes_interrupted(
        &self,
    ) -> Result<Vec<(String, Principal, crate::domain::Timestamp)>, StoreError>;

    /// Saves a link under `digest` (of its state), replacing what was there.
    fn put_link(&self, digest: &str, link: &Link) -> Result<(), StoreError>;
    fn link(&self, digest: &str) -> Result<Option<Link>, StoreError>;
    /// Every stored link with its digest.
    fn links(&self) -> Result<Vec<(String, Link)>, StoreError>;
    /// Spends a pending link atomically: of two callbacks carrying one state, one wins.
    fn claim_link(&self, digest: &str, now: Timestamp) -> Result<Claim, StoreError>;
    /// Forgets links that expired before `before`; returns how many.
    fn remove_links_expired(&self, before: Timestamp) -> Result<usize, StoreError>;

    /// Before asking Atlassian for what it rotates or spends (a refresh, a code exchange):
    /// `Ok` when the outcome can be written, because the disk has room or a ballast to free.
    fn room_for_outcome(&self) -> Result<(), StoreError>;
    /// The sentence for a full disk, while the disk is full.
    fn disk_full(&self) -> Option<String>;
    /// Looks for room again (and makes the ballast again); `true` when the disk is not full.
    fn recover_space(&self) -> bool;
    /// Writes (sealed, flushed) what a code exchange bought, before anything else is asked
    /// of Atlassian; replaces an older exchange of the same grant and returns it.
    fn put_exchanged(&self, exchanged: &Exchanged) -> Result<Option<Exchanged>, StoreError>;
    /// Rewrites an exchange (its sites, tries, state) only while it is still the one stored
    /// for its grant; `false` when a newer exchange replaced it or it was ended.
    fn update_exchanged(&self, exchanged: &Exchanged) -> Result<bool, StoreError>;
    /// Removes the exchange `id` of this grant, and only that one; `true` when it was there.
    fn remove_exchanged(
        &self,
        integration: &str,
        principal: &Principal,
        id: &str,
    ) -> Result<bool, StoreError>;
    /// The exchange stored for this grant, if any.
    fn exchanged(
        &self,
        integration: &str,
        principal: &Principal,
    ) -> Result<Option<Exchanged>, StoreError>;
    /// Every stored exchange, oldest first.
    fn exchanged_all(&self) -> Result<Vec<Exchanged>, StoreError>;

    /// Where this store's records were copied to (`store copy`), once they were: a store
    /// that moved takes no new outcome (no refresh starts, no code is exchanged), so two
    /// stores never rotate one grant.
    fn moved_to(&self) -> Result<Option<String>, StoreError>;
    /// Marks the store moved to `to` (what may be shown of the target), or not (`None`),
    /// durably.
    fn set_moved(&self, to: Option<&str>) -> Result<(), StoreError>;

    /// Takes this grant for one refresh across every agent that shares the store, for at most
    /// `lease` (a holder that dies frees it then): `false` while another holder has it. A
    /// store one agent alone opens has nobody to share with, and always gives it.
    fn take_grant(
        &self,
        _integration: &str,
        _principal: &Principal,
        _holder: &str,
        _lease: std::time::Duration,
    ) -> Result<bool, StoreError> {
        Ok(true)
    }

    /// Gives the grant back, if `holder` still has it.
    fn release_grant(
        &self,
        _integration: &str,
        _principal: &Principal,
        _holder: &str,
    ) -> Result<(), StoreError> {
        Ok(())
    }

    /// Whether other agents (on other hosts) write this store too.
    fn shared(&self) -> bool {
        false
    }

    /// What other agents of a shared store change, as it happens; `None` for a store only
    /// this process writes.
    fn notices(&self) -> Option<tokio::sync::broadcast::Receiver<StoreNotice>> {
        None
    }

    /// A number that moves on before and after every write, so a caller may keep what it
    /// derived from a read while two readings, one before its read and one after, agree
    /// with the current one. `None`: this store cannot tell (others write it too).
    fn version(&self) -> Option<u64> {
        None
    }
}

/// A change another agent of a shared store made, or the news that changes may be missed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreNotice {
    /// Something was written: what (`tokens`, `links`, `profiles`, ...), for the log.
    Changed(String),
    /// The channel that carries changes was lost (the sentence says why): until it is back,
    /// what was read may be stale.
    Lost(String),
    /// The channel is back: read everything again.
    Back,
}

/// What claiming a link found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// No link has this state.
    Unknown,
    /// It was pending and is now this caller's to complete.
    Won(Link),
    /// It was spent, finished or expired already: as it is.
    Spent(Link),
}
