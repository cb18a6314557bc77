//! The store's owner. One agent per data directory opens sled and the sealing key, runs the
//! use cases and answers every other jira-auth process over a Unix socket beside the
//! database; the console, the commands and the receiver are its clients.

mod attempts;
pub mod client;
mod client_error;
mod connection;
mod deadlines;
mod exhaustion;
mod handlers;
mod keepalive;
mod links;
pub mod log;
mod notify;
mod opening;
mod peer;
pub mod protocol;
mod refresher;
mod server;
mod spawn;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::atlassian::Endpoints;
use crate::store::StorePaths;

pub use client::{AgentLink, ClientError, Notice};
pub use protocol::{AgentConfig, WireError};
pub(crate) use server::stop_on_signal;
pub use server::{AgentOptions, run};

/// The socket, inside the data directory (0700), so only its owner can reach it.
pub const SOCKET_NAME: &str = "agent.sock";
/// The log of an agent started on demand (one started by hand logs to stderr).
pub const LOG_NAME: &str = "agent.log";
/// How long an agent started on demand stays without clients before it exits.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(10 * 60);
pub const IDLE_VAR: &str = "JIRA_AUTH_AGENT_IDLE";
/// How long a client waits for an agent it started before it gives up.
pub const START_TIMEOUT: Duration = Duration::from_secs(5);

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

/// The descriptor a starting client hands the start-up pipe over at.
pub fn protocol_notify_fd() -> i32 {
    notify::NOTIFY_FD
}

/// This process's view of what an agent must run with.
pub fn config_from_env(paths: &StorePaths, endpoints: &Endpoints) -> AgentConfig {
    AgentConfig {
        key_file: paths.key_file.display().to_string(),
        auth_base: endpoints.auth_base.to_string(),
        api_base: endpoints.api_base.to_string(),
        system_app: crate::service::system_app::path_from_env()
            .display()
            .to_string(),
    }
}

/// `JIRA_AUTH_AGENT_IDLE` as a duration ("10m", "30s", "1h"); unset or unreadable: the default.
pub fn idle_from_env() -> Duration {
    std::env::var(IDLE_VAR)
        .ok()
        .and_then(|text| humantime::parse_duration(text.trim()).ok())
        .unwrap_or(DEFAULT_IDLE)
}
