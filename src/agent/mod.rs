//! The store's owner. One agent per data directory opens sled and the sealing key, runs the
//! use cases and answers every other jira-auth process over a Unix socket beside the
//! database; the console, the commands and the receiver are its clients.

mod attempts;
mod calls;
pub mod client;
mod client_error;
mod connection;
mod deadlines;
mod disk;
mod exhaustion;
mod fleet;
mod handlers;
mod keepalive;
mod links;
pub mod log;
mod notify;
mod open_store;
mod opening;
mod paths;
mod peer;
pub mod protocol;
mod refresher;
mod resume;
mod retention;
mod server;
mod spawn;
mod state;
mod status_text;
mod store_copy;
mod store_notices;
mod token_cache;

use std::sync::OnceLock;
use std::time::Duration;

use crate::atlassian::Endpoints;
use crate::config::Settings;
use crate::store::StorePaths;

pub use calls::{Configured, Events, SSH_HINT_LEAD, SavedProfile, StoredProfile, tokens_deleted};
pub use client::{AgentLink, ClientError, Notice};
pub use paths::{AgentPaths, LOG_NAME, SOCKET_NAME};
pub use protocol::{AgentConfig, WireError};
pub use server::AgentOptions;
pub(crate) use server::stop_on_signal;

/// How long an agent started on demand stays without clients before it exits.
pub const DEFAULT_IDLE: Duration = crate::config::DEFAULT_AGENT_IDLE;
pub const IDLE_VAR: &str = crate::config::AGENT_IDLE;
pub use deadlines::START_TIMEOUT;

/// The descriptor a starting client hands the start-up pipe over at.
pub fn protocol_notify_fd() -> i32 {
    notify::NOTIFY_FD
}

/// This process's view of what an agent must run with.
pub fn config_from_env(
    paths: &StorePaths,
    endpoints: &Endpoints,
    backend: &crate::store::Backend,
) -> AgentConfig {
    AgentConfig {
        store: backend.describe(),
        key_file: paths.key_file.display().to_string(),
        auth_base: endpoints.auth_base.to_string(),
        api_base: endpoints.api_base.to_string(),
        system_app: crate::service::system_app::path_from_env()
            .display()
            .to_string(),
    }
}

/// The settings this agent checked at start ([`run`]).
static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Runs the agent to the end. Its settings come first: a value out of range is refused (exit
/// 2) before the store is touched, and a client that started this agent hears the sentence
/// through the start-up notice. An on-demand agent's idle limit is `JIRA_AUTH_AGENT_IDLE`.
/// `Err` carries the exit code and the sentence for the log.
pub fn run(mut options: AgentOptions) -> Result<(), WireError> {
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            let refused = WireError::from(error);
            notify::Notifier::from_inherited(options.notify).send(&notify::StartNotice::Failed {
                code: refused.code,
                sentence: refused.sentence.clone(),
            });
            return Err(refused);
        }
    };
    if options.idle_exit.is_some() {
        options.idle_exit = Some(settings.agent_idle);
    }
    // Set once per process: an agent runs once, and a second run would read the same
    // environment.
    let _ = SETTINGS.set(settings);
    server::run(options)
}

/// What this agent runs with: the checked settings once [`run`] has begun (always, in the
/// agent's own tasks), the documented defaults before.
pub(crate) fn settings() -> &'static Settings {
    SETTINGS.get_or_init(Settings::default)
}
