//! Keeping grants alive while no one asks: a pre-authorized access token is refreshed ahead of
//! its expiry (so `token` rarely waits on Atlassian), and every grant is rotated after
//! `JIRA_AUTH_ROTATE_AFTER` idle days (default 60) so it never meets the 90-day limit.
//! Rotations are paced (`JIRA_AUTH_KEEPALIVE_RATE` per second, default 2) so ten thousand
//! grants coming due together never burst at Atlassian; failures back off.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::state::Agent;
use super::state::blocking;
use crate::agent_log;
use crate::domain::Timestamp;
use crate::service::refresh;

/// The longest the keep-alive sleeps without looking again.
const LOOK_AGAIN: Duration = Duration::from_secs(60);
const BACKOFF_START: Duration = Duration::from_secs(30);
const BACKOFF_MAX: Duration = Duration::from_secs(30 * 60);

/// How the keep-alive is paced.
#[derive(Clone, Copy, Debug)]
pub struct Pace {
    pub rotate_after: Duration,
    /// Refreshes per second at most.
    pub rate: f64,
}

impl Pace {
    /// `JIRA_AUTH_ROTATE_AFTER` and `JIRA_AUTH_KEEPALIVE_RATE`, as `config` checked them when
    /// the agent started (a value out of range stops the agent there, never here).
    pub fn from_env() -> Pace {
        let settings = super::settings();
        Pace {
            rotate_after: settings.rotate_after,
            rate: settings.keepalive_rate,
        }
    }

    /// The pause between two refreshes. The rate's range makes it 10 ms to 100 s; the
    /// fallback only keeps a rate that never passed `config` from panicking.
    fn gap(self) -> Duration {
        Duration::try_from_secs_f64(1.0 / self.rate).unwrap_or(Duration::from_millis(500))
    }
}

/// How long a grant whose refresh failed waits. Temporary trouble is retried soon, then
/// less often; anything else (a wrong secret, a profile gone) waits the longest, so a broken
/// grant never loops.
fn retry_delay(error: &super::protocol::WireError, previous: Option<Duration>) -> Duration {
    match previous {
        _ if !error.is_temporary() => BACKOFF_MAX,
        Some(previous) => (previous * 2).min(BACKOFF_MAX),
        None => BACKOFF_START,
    }
}

/// Runs until the agent stops.
pub(super) async fn run(agent: Arc<Agent>, pace: Pace) {
    let rotate_after = i64::try_from(pace.rotate_after.as_secs()).unwrap_or(i64::MAX);
    let gap = pace.gap();
    // Grants whose last try failed for a temporary reason, and when to try again.
    let mut backoff: HashMap<String, (Instant, Duration)> = HashMap::new();
    loop {
        let scan = blocking(&agent, move |store| {
            Ok(refresh::keepalive_due(store, rotate_after)?)
        })
        .await;
        let pending = match scan {
            Ok(pending) => pending,
            Err(e) => {
                agent_log!("keep-alive cannot read the store: {e}");
                Vec::new()
            }
        };
        let now = Timestamp::now();
        let mut next = Instant::now() + LOOK_AGAIN;
        let mut refreshed = false;
        for item in pending {
            if agent.shutdown.is_cancelled() {
                return;
            }
            let key = crate::store::token_key(&item.integration, &item.principal);
            if item.at > now {
                let wait = Duration::from_secs(u64::try_from(now.secs_until(item.at)).unwrap_or(0));
                next = next.min(Instant::now() + wait);
                break;
            }
            if let Some((retry_at, _)) = backoff.get(&key)
                && *retry_at > Instant::now()
            {
                next = next.min(*retry_at);
                continue;
            }
            // A shared store's agents split the due grants (each takes those no other has
            // taken, and only while still due) and pace the fleet as one: a slot each.
            if agent.service.store().shared() {
                match super::fleet::claim_due(
                    &agent,
                    &item.integration,
                    &item.principal,
                    item.rotated_at,
                )
                .await
                {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => {
                        agent_log!(
                            "keep-alive cannot take {} from the fleet: {e}",
                            item.integration
                        );
                        continue;
                    }
                }
            }
            let slot = blocking(&agent, move |store| Ok(store.keepalive_slot(gap)?)).await;
            let fleet_paced = match slot {
                Ok(Some(wait)) => {
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = agent.shutdown.cancelled() => return,
                    }
                    true
                }
                Ok(None) => false,
                Err(e) => {
                    agent_log!("keep-alive cannot reach the store's pace: {e}");
                    false
                }
            };
            let result = agent
                .refresher
                .refresh(
                    &agent,
                    &item.integration,
                    &item.principal,
                    None,
                    None,
                    Some(item.rotated_at),
                )
                .await;
            refreshed = true;
            match result {
                Ok(_) => {
                    backoff.remove(&key);
                }
                Err(e) => {
                    let delay = retry_delay(&e, backoff.get(&key).map(|(_, previous)| *previous));
                    backoff.insert(key, (Instant::now() + delay, delay));
                    agent_log!(
                        "keep-alive: {} is tried again in {}: {e}",
                        item.integration,
                        humantime::format_duration(delay)
                    );
                }
            }
            // The pace between any two refreshes the keep-alive makes (the fleet's slots
            // keep it for a shared store).
            if !fleet_paced {
                tokio::select! {
                    () = tokio::time::sleep(gap) => {}
                    () = agent.shutdown.cancelled() => return,
                }
            }
        }
        if refreshed {
            // What was just refreshed has a new due time: look again before sleeping.
            continue;
        }
        tokio::select! {
            () = tokio::time::sleep_until(next.into()) => {}
            () = agent.keepalive_wake.notified() => {}
            () = agent.shutdown.cancelled() => return,
        }
    }
}
