//! What every part of the agent shares: the [`Agent`] its connections and background tasks
//! hold, the tables inside it (attempts, refreshes in flight, grants held unsaved) and the
//! one way to run store work ([`blocking`]). A leaf: it imports none of the agent's other
//! files but the protocol, so each of them can import it without a circle; the behaviour of
//! each table lives beside its use (`attempts.rs`, `refresher.rs`, `disk.rs`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures_util::future::{BoxFuture, Shared};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::paths::AgentPaths;
use super::protocol::{AgentConfig, AgentHello, WireError};
use crate::callback::CallbackListener;
use crate::domain::TokenSet;
use crate::exit::Exit;
use crate::service::Context;
use crate::service::authorize::{Attempt, Grant};
use crate::store::{Exchanged, Store};

/// Everything the agent's connections share.
pub(super) struct Agent {
    /// The store, the endpoints and the system app: what every use case runs against.
    pub service: Arc<Context>,
    pub paths: AgentPaths,
    pub config: AgentConfig,
    pub hello: AgentHello,
    pub started: Instant,
    pub idle_exit: Option<Duration>,
    pub clients: AtomicUsize,
    /// Requests being answered: an agent with work in hand is not idle.
    pub busy: AtomicUsize,
    pub changes: broadcast::Sender<()>,
    pub attempts: Attempts,
    pub refresher: Refresher,
    /// Wakes the keep-alive when a grant was added (it sleeps until the next one is due).
    pub keepalive_wake: tokio::sync::Notify,
    /// The handle of each link as it is settled, for the callers waiting on one.
    pub links_settled: broadcast::Sender<String>,
    /// Which integration each callback path serves, worked out once per store change:
    /// every stray request to the receiver would otherwise unseal every profile.
    pub routes: std::sync::Mutex<Option<Arc<crate::service::links::Routes>>>,
    /// When old links were last swept out (seconds since the epoch).
    pub links_pruned: std::sync::atomic::AtomicI64,
    pub shutdown: CancellationToken,
    /// What opening the store fixed, for the first client that says hello.
    pub notes: std::sync::Mutex<Vec<String>>,
    pub next_connection: AtomicU64,
    /// Rotated grants the store could not take (a full disk), by grant key: the only copy of
    /// each until `disk::watch` writes it. The agent does not exit while one is held.
    pub unsaved: std::sync::Mutex<std::collections::HashMap<String, Held>>,
    /// Wakes `disk::watch` when the disk may have filled or a grant is held unsaved.
    pub disk_wake: tokio::sync::Notify,
    pub http: OnceLock<reqwest::Client>,
    /// `status --json`'s text as last built, while it still holds.
    pub status_text: super::status_text::KeptStatus,
    /// The grants `token` last handed out (see `token_cache`).
    pub tokens: super::token_cache::TokenCache,
}

impl Agent {
    /// The HTTP client, built on first use: most requests never go to Atlassian, and
    /// building it (TLS roots) is the slowest part of a cold start.
    pub fn http(&self) -> &reqwest::Client {
        self.http.get_or_init(crate::atlassian::client::http_client)
    }

    /// Tells every subscribed client that the store changed.
    pub fn changed(&self) {
        // A profile's callback URL or an integration's mode may have moved.
        *self
            .routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        let _ = self.changes.send(());
    }
}

/// Runs a use case on the blocking pool (sled blocks).
pub(super) async fn serving<T: Send + 'static>(
    agent: &Arc<Agent>,
    work: impl FnOnce(&Context) -> Result<T, WireError> + Send + 'static,
) -> Result<T, WireError> {
    let service = Arc::clone(&agent.service);
    let outcome = tokio::task::spawn_blocking(move || work(&service))
        .await
        .map_err(|e| {
            WireError::new(
                Exit::Failed,
                format!("the agent's store worker failed: {e}"),
            )
        })?;
    // A write may have found the disk full: the watcher tells the clients and looks for room.
    if outcome.is_err() && agent.service.store().disk_full().is_some() {
        agent.disk_wake.notify_one();
    }
    outcome
}

/// Runs store work on the blocking pool: what the background tasks do below the use cases.
pub(super) async fn blocking<T: Send + 'static>(
    agent: &Arc<Agent>,
    work: impl FnOnce(&dyn Store) -> Result<T, WireError> + Send + 'static,
) -> Result<T, WireError> {
    serving(agent, move |service| work(service.store())).await
}

/// A rotated grant the store could not take: the only copy of its refresh token, and the
/// refresh token it replaced (it is written only onto that grant, never over a newer one).
#[derive(Clone, Debug)]
pub(crate) struct Held {
    pub tokens: TokenSet,
    pub from: Option<crate::domain::Secret>,
}

impl Held {
    /// Writes the held grant where it still belongs; `false` when the grant was deleted or
    /// replaced meanwhile (nothing written: the held rotation is no longer anyone's).
    pub fn write(&self, store: &dyn crate::store::Store) -> Result<bool, crate::store::StoreError> {
        let written = store.put_token_set_if(&self.tokens, self.from.as_ref())?;
        store.refresh_done(&self.tokens.integration, &self.tokens.principal)?;
        Ok(written)
    }

    pub(super) fn same_rotation(&self, other: &Held) -> bool {
        self.tokens
            .refresh_token
            .as_ref()
            .map(crate::domain::Secret::expose)
            == other
                .tokens
                .refresh_token
                .as_ref()
                .map(crate::domain::Secret::expose)
    }
}

pub(super) type Flight = Shared<BoxFuture<'static, Result<TokenSet, WireError>>>;

#[derive(Default)]
pub(super) struct Refresher {
    pub(super) flights: Mutex<HashMap<String, Flight>>,
}

impl Refresher {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Flight>> {
        // Each critical section is one map insert or remove: a poisoned lock holds a sound map.
        self.flights
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[derive(Default)]
pub(super) struct Attempts {
    pub(super) entries: Mutex<HashMap<String, Entry>>,
    /// Stored exchanges an end user's callback is verifying right now (by id).
    pub(super) completing: Mutex<std::collections::HashSet<String>>,
    /// Code exchanges between the token call and their stored answer: the agent does not
    /// stop while one is (the code is spent the moment Atlassian answers).
    pub(super) exchanging: std::sync::atomic::AtomicUsize,
}

pub(super) struct Entry {
    pub(super) owner: u64,
    pub(super) attempt: Attempt,
    pub(super) listener: Option<CallbackListener>,
    /// The code from the listener or a paste, until an exchange spends it. Kept after a
    /// temporary failure so that a retry can use it again.
    pub(super) code: Option<String>,
    /// What the code bought, as stored (unverified); then with the sites it reaches.
    pub(super) exchanged: Option<Exchanged>,
    pub(super) grant: Option<Grant>,
    /// Cancels everything of the attempt (Esc, the client leaving).
    pub(super) cancel: CancellationToken,
    /// Cancels only the listener's wait: the code came back another way.
    pub(super) listening: CancellationToken,
}
