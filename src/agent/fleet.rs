//! One refresh per grant across a fleet. Agents on several hosts share one PostgreSQL store;
//! before one calls Atlassian with a grant's refresh token it takes the grant's lease in the
//! database (a row with a holder and a deadline), and the others wait for it. The lease, not
//! a lock held by a connection, because it must outlive nothing: a holder killed mid-call
//! frees the grant when its deadline passes, within Atlassian's reuse leeway, and the next
//! holder resumes with the refresh token still stored. A store one agent alone opens (sled)
//! hands the lease out at once.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::protocol::WireError;
use super::state::{Agent, blocking};
use crate::domain::Principal;
use crate::exit::Exit;

/// How long a lease holds without its holder: one call to Atlassian and the writes after it.
pub(super) const LEASE: Duration =
    Duration::from_secs(crate::atlassian::client::CALL_TIMEOUT.as_secs() + 15);
/// Atlassian lets an old refresh token be used again for 10 minutes: a dead holder's grant
/// must be free well before that, so the next holder's retry still counts.
const _: () = assert!(LEASE.as_secs() * 4 < 10 * 60);

/// How often a waiting agent looks at a lease another holds (change notices wake it sooner).
const LOOK_AGAIN: Duration = Duration::from_millis(100);

/// A grant taken for one refresh; given back when dropped.
pub(super) struct Lease {
    agent: Arc<Agent>,
    grant: Option<(String, Principal)>,
    /// Another agent held it first: it may have rotated the grant meanwhile.
    pub waited: bool,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some((integration, principal)) = self.grant.take() else {
            return;
        };
        let service = Arc::clone(&self.agent.service);
        // Best effort: a release that fails (or an agent stopping, its runtime gone) leaves
        // the lease to run out by itself.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn_blocking(move || {
                let _ = service
                    .store()
                    .release_grant(&integration, &principal, holder());
            });
        }
    }
}

/// Takes the grant's lease, waiting while another agent holds it, until a lease's length
/// has passed (then the holder is gone or stuck, and the caller hears it as temporary).
pub(super) async fn take(
    agent: &Arc<Agent>,
    integration: &str,
    principal: &Principal,
) -> Result<Lease, WireError> {
    let mut lease = Lease {
        agent: Arc::clone(agent),
        grant: None,
        waited: false,
    };
    if !agent.service.store().shared() {
        return Ok(lease);
    }
    let lease_for = lease_length();
    let deadline = Instant::now() + lease_for + LOOK_AGAIN * 10;
    let mut changes = agent.changes.subscribe();
    loop {
        let (i, p) = (integration.to_owned(), principal.clone());
        let taken = blocking(agent, move |store| {
            Ok(store.take_grant(&i, &p, holder(), lease_for)?)
        })
        .await?;
        if taken {
            lease.grant = Some((integration.to_owned(), principal.clone()));
            return Ok(lease);
        }
        lease.waited = true;
        if Instant::now() >= deadline {
            return Err(WireError::new(
                Exit::Temporary,
                format!(
                    "another agent of the shared store has been refreshing {} ({}) for over {} s; try again shortly",
                    crate::validate::text::quoted(integration),
                    principal.key(),
                    lease_for.as_secs()
                ),
            ));
        }
        tokio::select! {
            _ = changes.recv() => {}
            () = tokio::time::sleep(LOOK_AGAIN) => {}
        }
    }
}

/// For the keep-alive of a shared store: takes the grant's lease without waiting, and only
/// while the grant still rotated last at `judged` (it is still due). `false`: another agent
/// is refreshing it, or has since; this one moves on to the next grant. The refresh that
/// follows renews the lease as its own holder.
pub(super) async fn claim_due(
    agent: &Arc<Agent>,
    integration: &str,
    principal: &Principal,
    judged: crate::domain::Timestamp,
) -> Result<bool, WireError> {
    let (i, p) = (integration.to_owned(), principal.clone());
    let lease_for = lease_length();
    blocking(agent, move |store| {
        if !store.take_grant(&i, &p, holder(), lease_for)? {
            return Ok(false);
        }
        let rotated = store.token_summary(&i, &p)?.map(|t| t.rotated_at);
        if rotated != Some(judged) {
            store.release_grant(&i, &p, holder())?;
            return Ok(false);
        }
        Ok(true)
    })
    .await
}

/// Who holds a lease: this host and process, for an administrator reading the table.
pub(super) fn holder() -> &'static str {
    static HOLDER: OnceLock<String> = OnceLock::new();
    HOLDER.get_or_init(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "localhost".to_owned());
        format!("{host} pid {}", std::process::id())
    })
}

/// [`LEASE`]; debug builds let the fleet tests shorten it, to see a killed holder's grant
/// freed without waiting most of a minute.
fn lease_length() -> Duration {
    #[cfg(debug_assertions)]
    if let Some(secs) = std::env::var("JIRA_AUTH_TEST_LEASE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return Duration::from_secs(secs);
    }
    LEASE
}
