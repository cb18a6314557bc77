//! The agent's side of a full disk: the rotated grants it holds in memory because the store
//! could not take them, written as soon as there is room; the ballast made again; and every
//! client told when the disk fills or has room again (a change notice: status carries it).

use std::sync::Arc;
use std::time::Duration;

use super::state::blocking;
use super::state::{Agent, Held};
use crate::agent_log;
use crate::service::status::StatusReport;
use crate::store::token_key;

/// How often a full disk is looked at again.
const LOOK_AGAIN: Duration = Duration::from_secs(2);

impl Agent {
    fn held(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Held>> {
        // Each critical section is one map operation: a poisoned lock holds a sound map.
        self.unsaved
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps a rotated grant the store could not take; it is the only copy now.
    pub fn hold_unsaved(&self, held: Held) {
        let key = token_key(&held.tokens.integration, &held.tokens.principal);
        agent_log!(
            "holding the rotated refresh token of {} in memory: the store could not take it; not exiting until it is written",
            crate::validate::text::sanitize(
                &held.tokens.integration,
                crate::validate::text::ID_CAP
            )
        );
        self.held().insert(key, held);
        self.disk_wake.notify_one();
    }

    /// [`crate::store::Store::room_for_outcome`], waking the watcher when there is none.
    pub fn room_for_outcome(&self) -> Result<(), crate::store::StoreError> {
        let room = self.service.store().room_for_outcome();
        if room.is_err() {
            self.disk_wake.notify_one();
        }
        room
    }

    pub fn unsaved_count(&self) -> usize {
        self.held().len()
    }

    pub fn unsaved(&self, key: &str) -> Option<Held> {
        self.held().get(key).cloned()
    }

    /// Forgets the held grant of `key` once `written` is safe, unless a newer rotation of it
    /// was held meanwhile (that one is still the only copy of its token).
    pub fn forget_unsaved(&self, key: &str, written: &Held) {
        let mut held = self.held();
        if held.get(key).is_some_and(|now| now.same_rotation(written)) {
            held.remove(key);
        }
    }

    /// What a client is told while grants are held unsaved.
    pub fn holding_sentence(&self) -> String {
        if self.service.store().shared() {
            return format!(
                "the agent holds {} rotated refresh token(s) in memory that the shared store did not take (the database is unreachable or refused the write); the agent writes them by itself as soon as the database answers and stays running until it has (stopping it now would lose them)",
                self.unsaved_count()
            );
        }
        format!(
            "the agent holds {} rotated refresh token(s) in memory that it could not write, because the disk holding {} is full; free space there: the agent writes them by itself and stays running until it has (stopping it now would lose them)",
            self.unsaved_count(),
            crate::validate::text::sanitize(
                &self.paths.data_dir().display().to_string(),
                crate::validate::text::URL_CAP
            )
        )
    }

    /// Status as the store tells it, with what only the agent knows: grants held unsaved
    /// (never "valid": their newest refresh token is not durable) and a full disk.
    pub fn overlay_status(&self, report: &mut StatusReport) {
        let store = self.service.store();
        if store.shared() && store.version().is_none() {
            report.notices_lost = Some(
                "changes made on other hosts are not reaching this agent (its notice connection to the shared store is down); jira-auth reconnects by itself, and each screen reads the store afresh meanwhile".to_owned(),
            );
        }
        report.disk_full = store.disk_full();
        if report.disk_full.is_some() {
            // Whoever found the disk full, the watcher looks for room until there is some.
            self.disk_wake.notify_one();
        }
        let held = self.held();
        if held.is_empty() {
            return;
        }
        let sentence = if store.shared() {
            "the shared store did not take this grant's rotated refresh token (the database is unreachable or refused the write); the agent holds it in memory and writes it as soon as the database answers".to_owned()
        } else {
            format!(
                "the disk holding {} is full; free space there and jira-auth writes it by itself",
                crate::validate::text::sanitize(
                    &self.paths.data_dir().display().to_string(),
                    crate::validate::text::URL_CAP
                )
            )
        };
        for integration in &mut report.integrations {
            for token in &mut integration.tokens {
                if held.contains_key(&token_key(&integration.name, &token.principal)) {
                    token.state = crate::domain::TokenState::Unsaved;
                    token.last_error = Some(sentence.clone());
                }
            }
        }
    }
}

/// Runs until the agent stops: sleeps while all is well, and while the disk is full or a
/// grant is held, looks again every [`LOOK_AGAIN`].
pub(super) async fn watch(agent: Arc<Agent>) {
    let mut was_full = false;
    loop {
        let full = agent.service.store().disk_full().is_some();
        if full != was_full {
            // Consoles reload the status, which says the disk is full (or no longer).
            agent.changed();
            was_full = full;
        }
        if !full && agent.unsaved_count() == 0 {
            agent.disk_wake.notified().await;
            continue;
        }
        tokio::time::sleep(LOOK_AGAIN).await;
        let recovered = blocking(&agent, |store| Ok(store.recover_space())).await;
        if recovered.is_ok_and(|room| room) || agent.unsaved_count() > 0 {
            write_held(&agent).await;
        }
    }
}

/// Writes every held grant the store now takes.
async fn write_held(agent: &Arc<Agent>) {
    let keys: Vec<String> = agent.held().keys().cloned().collect();
    for key in keys {
        // Read again right before the write: a refresh may have moved the grant on since.
        let Some(held) = agent.unsaved(&key) else {
            continue;
        };
        let writing = held.clone();
        let Ok(written) = blocking(agent, move |store| Ok(writing.write(store)?)).await else {
            continue;
        };
        agent.forget_unsaved(&key, &held);
        if written {
            agent_log!("wrote a rotated refresh token held in memory; it is durable now");
        } else {
            agent_log!(
                "dropped a rotated refresh token held in memory: its grant was deleted or authorized again meanwhile"
            );
        }
        agent.changed();
    }
}
