//! What can go wrong below the services: one error type for both backends, each variant's
//! message the sentence a human reads, each mapped to its exit code once. A leaf, so every
//! part of the store names it without importing the module that declares them all.

use std::path::PathBuf;

use crate::exit::{Exit, Exits};

use super::private::NotPrivate;

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
    #[error(
        "the PostgreSQL store at {database} does not let this host in: {reason}; check the user and its password (PGPASSWORD or ~/.pgpass), the database's name, the role's grants and the server's pg_hba.conf"
    )]
    DatabaseDenied { database: String, reason: String },
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
            | StoreError::DatabaseDenied { .. }
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
