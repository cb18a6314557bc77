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
use crate::domain::{Principal, Timestamp};
use crate::service::refresh::{self, Due};

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

struct Pending {
    at: Timestamp,
    due: Due,
    integration: String,
    principal: Principal,
}

/// Runs until the agent stops.
pub(super) async fn run(agent: Arc<Agent>, pace: Pace) {
    let rotate_after = i64::try_from(pace.rotate_after.as_secs()).unwrap_or(i64::MAX);
    let gap = pace.gap();
    // Grants whose last try failed for a temporary reason, and when to try again.
    let mut backoff: HashMap<String, (Instant, Duration)> = HashMap::new();
    loop {
        let scan = blocking(&agent, move |store| {
            let modes: HashMap<String, crate::domain::Mode> = store
                .integrations()?
                .into_iter()
                .map(|i| (i.name, i.mode))
                .collect();
            // A refresh the last agent began and never recorded comes first: Atlassian may
            // have rotated the token, and the old one works only within the reuse leeway.
            let mut interrupted = Vec::new();
            for (integration, principal, at) in store.refreshes_interrupted()? {
                if store.token_set(&integration, &principal)?.is_none() {
                    // Deleted since: nothing left to claim.
                    store.refresh_done(&integration, &principal)?;
                } else {
                    interrupted.push((integration, principal, at));
                }
            }
            let interrupted: Vec<Pending> = interrupted
                .into_iter()
                .map(|(integration, principal, at)| Pending {
                    at,
                    due: Due::AccessExpiring,
                    integration,
                    principal,
                })
                .collect();
            let mut pending: Vec<Pending> = store
                .token_summaries()?
                .into_iter()
                .filter_map(|tokens| {
                    let mode = *modes.get(&tokens.integration)?;
                    let (at, due) = refresh::keepalive_at(&tokens, mode, rotate_after)?;
                    Some(Pending {
                        at,
                        due,
                        integration: tokens.integration,
                        principal: tokens.principal,
                    })
                })
                .collect();
            pending.sort_by_key(|p| (p.at, p.due));
            Ok(interrupted.into_iter().chain(pending).collect::<Vec<_>>())
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
            let result = agent
                .refresher
                .refresh(&agent, &item.integration, &item.principal, None)
                .await;
            refreshed = true;
            match result {
                Ok(_) => {
                    backoff.remove(&key);
                }
                Err(e) => {
                    // Temporary trouble is retried soon; anything else (a wrong secret, a
                    // profile gone) waits the longest, so a broken grant never loops.
                    let delay = match backoff.get(&key) {
                        _ if !e.is_temporary() => BACKOFF_MAX,
                        Some((_, previous)) => (*previous * 2).min(BACKOFF_MAX),
                        None => BACKOFF_START,
                    };
                    backoff.insert(key, (Instant::now() + delay, delay));
                    agent_log!(
                        "keep-alive: {} is tried again in {}: {e}",
                        item.integration,
                        humantime::format_duration(delay)
                    );
                }
            }
            // The pace between any two refreshes the keep-alive makes.
            tokio::select! {
                () = tokio::time::sleep(gap) => {}
                () = agent.shutdown.cancelled() => return,
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
