//! Keeping the audit trail bounded: the agent removes events older than
//! `JIRA_AUTH_EVENTS_KEEP` (default 90 days) and beyond the newest `JIRA_AUTH_EVENTS_MAX`
//! (default 100,000), soon after it starts and then hourly. Each step is a bounded batch on
//! the blocking pool, so no request ever waits behind a trim, however long the trail grew.

use std::sync::Arc;
use std::time::Duration;

use super::state::Agent;
use super::state::blocking;
use crate::agent_log;
use crate::config::Retention;
use crate::domain::Timestamp;

/// After the start-up rush (clients connecting, the keep-alive's first scan).
const FIRST_TRIM: Duration = Duration::from_secs(2);
/// A trail grows by a few thousand events an hour at most (the keep-alive's pace), so
/// trimming hourly keeps it within an hour's growth of its limits.
const EVERY: Duration = Duration::from_secs(3600);
/// Events removed per step. A step also walks the newest `JIRA_AUTH_EVENTS_MAX` keys to find
/// the count's boundary: about 50 ms for 100,000 in a release build, on the blocking pool.
const BATCH: usize = 2_000;

/// Runs until the agent stops.
pub(super) async fn run(agent: Arc<Agent>) {
    let retention = super::settings().retention;
    let mut wait = FIRST_TRIM;
    loop {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = agent.shutdown.cancelled() => return,
        }
        trim(&agent, retention).await;
        wait = EVERY;
    }
}

/// One trim: step after step until a step finds less than a batch to remove.
async fn trim(agent: &Arc<Agent>, retention: Retention) {
    let keep = usize::try_from(retention.max_events).unwrap_or(usize::MAX);
    let age = i64::try_from(retention.keep.as_secs()).unwrap_or(i64::MAX);
    let mut removed = 0;
    let began = std::time::Instant::now();
    loop {
        let before = Timestamp::now().plus_secs(-age);
        let step = blocking(agent, move |store| {
            Ok(store.trim_events(before, keep, BATCH)?)
        })
        .await;
        match step {
            Ok(n) => {
                removed += n;
                if n < BATCH {
                    break;
                }
            }
            Err(error) => {
                agent_log!("the event trail was not trimmed: {}", error.sentence);
                break;
            }
        }
        if agent.shutdown.is_cancelled() {
            break;
        }
        // Between steps, the requests that arrived meanwhile go first.
        tokio::task::yield_now().await;
    }
    if removed > 0 {
        agent_log!(
            "trimmed {removed} event(s) from the trail in {} ms (kept: {retention})",
            began.elapsed().as_millis()
        );
        // An Events screen shows how far back the trail goes.
        agent.changed();
    }
}
