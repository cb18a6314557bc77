//! Where one store's agent lives: its socket and its log, inside the data directory. A leaf,
//! so the agent's files and its clients name it without going through `agent`.

use std::path::{Path, PathBuf};

use crate::store::StorePaths;

/// The socket, inside the data directory (0700), so only its owner can reach it.
pub const SOCKET_NAME: &str = "agent.sock";
/// The log of an agent started on demand (one started by hand logs to stderr).
pub const LOG_NAME: &str = "agent.log";
/// Where one store's agent lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentPaths {
    pub store: StorePaths,
}

impl AgentPaths {
    pub fn new(store: StorePaths) -> AgentPaths {
        AgentPaths { store }
    }

    pub fn data_dir(&self) -> &Path {
        &self.store.data_dir
    }

    pub fn socket(&self) -> PathBuf {
        self.store.data_dir.join(SOCKET_NAME)
    }

    pub fn log(&self) -> PathBuf {
        self.store.data_dir.join(LOG_NAME)
    }
}
