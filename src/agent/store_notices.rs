//! Changes other agents of a shared store make reach this one: each notice tells the
//! consoles and `--wait`ers to look again (the store's version moved with it, so nothing kept
//! in memory is served stale). While the notices are lost, the store's version says it cannot
//! tell, so the agent reads the store for every answer; the consoles are told it is back.

use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;

use super::state::Agent;
use crate::agent_log;
use crate::store::StoreNotice;

/// Runs until the agent stops; returns at once for a store without notices.
pub(super) async fn run(agent: Arc<Agent>) {
    let Some(mut notices) = agent.service.store().notices() else {
        return;
    };
    loop {
        let notice = tokio::select! {
            notice = notices.recv() => notice,
            () = agent.shutdown.cancelled() => return,
        };
        match notice {
            Ok(StoreNotice::Changed(_)) => changed(&agent),
            Ok(StoreNotice::Lost(why)) => {
                agent_log!(
                    "change notices from the shared store are lost ({why}); every answer reads the store until they are back"
                );
                changed(&agent);
            }
            Ok(StoreNotice::Back) => {
                agent_log!("change notices from the shared store are back");
                changed(&agent);
            }
            // Notices came faster than they were read: some were missed, so look again.
            Err(RecvError::Lagged(_)) => changed(&agent),
            Err(RecvError::Closed) => return,
        }
    }
}

fn changed(agent: &Agent) {
    agent.changed();
    // A link settled on another host: its waiters here look at the store again.
    let _ = agent
        .links_settled
        .send(super::links::EVERY_LINK.to_owned());
}
