//! One refresh per grant at a time, whoever asks: concurrent callers share the one in flight,
//! and it runs on its own task to the end even when every caller has gone, because Atlassian
//! disables the old refresh token the moment it answers and the new one must reach the store.

use std::sync::Arc;

use futures_util::FutureExt;

use super::protocol::WireError;
use super::state::blocking;
use super::state::{Agent, Flight, Refresher, serving};
use crate::agent_log;
use crate::domain::{Integration, Principal, Timestamp, TokenSet};
use crate::exit::Exit;
use crate::service::refresh::{self, RefreshError};
use crate::store::token_key;

impl Refresher {
    /// Refreshes the grant, or joins the refresh already under way. With `min_valid`, a
    /// token that another refresh made fresh in the meantime is returned as it is. `found`
    /// is the integration when the caller has just read it (a new flight does not read it
    /// again); the token set is always read again inside the flight, the one place where no
    /// other refresh of the grant can be under way. `judged` is when the grant had last
    /// rotated as the caller judged it due: a grant rotated since is returned as it is.
    pub fn refresh(
        &self,
        agent: &Arc<Agent>,
        integration: &str,
        principal: &Principal,
        min_valid: Option<i64>,
        found: Option<Integration>,
        judged: Option<Timestamp>,
    ) -> Flight {
        let key = token_key(integration, principal);
        let mut flights = self.lock();
        if let Some(flight) = flights.get(&key) {
            return flight.clone();
        }
        let task = tokio::spawn(run(
            Arc::clone(agent),
            integration.to_owned(),
            principal.clone(),
            Asked {
                min_valid,
                found,
                judged,
            },
            key.clone(),
        ));
        let flight = async move {
            task.await.unwrap_or_else(|e| {
                Err(WireError::new(
                    Exit::Failed,
                    format!("the refresh task failed: {e}"),
                ))
            })
        }
        .boxed()
        .shared();
        flights.insert(key, flight.clone());
        flight
    }

    pub fn in_flight(&self) -> usize {
        self.lock().len()
    }
}

/// What the caller that started a flight asked of it.
struct Asked {
    min_valid: Option<i64>,
    found: Option<Integration>,
    judged: Option<Timestamp>,
}

async fn run(
    agent: Arc<Agent>,
    integration: String,
    principal: Principal,
    asked: Asked,
    key: String,
) -> Result<TokenSet, WireError> {
    let outcome = refresh_once(&agent, integration, principal, asked).await;
    agent.refresher.lock().remove(&key);
    outcome
}

async fn refresh_once(
    agent: &Arc<Agent>,
    integration: String,
    principal: Principal,
    asked: Asked,
) -> Result<TokenSet, WireError> {
    let Asked {
        min_valid,
        found,
        judged,
    } = asked;
    let key = token_key(&integration, &principal);
    // A rotation held in memory (the disk was full) holds the only live refresh token: it is
    // written before anything else, and no refresh starts until it is.
    if let Some(held) = agent.unsaved(&key) {
        let writing = held.clone();
        blocking(agent, move |store| Ok(writing.write(store)?))
            .await
            .map_err(|_| WireError::new(Exit::Temporary, agent.holding_sentence()))?;
        agent.forget_unsaved(&key, &held);
        agent.changed();
    }
    // Across a fleet, another agent may be rotating this grant: its lease is waited for,
    // and a rotation it made since this refresh was asked for is the answer.
    let seen = match judged {
        Some(at) => Some(at),
        None if agent.service.store().shared() => {
            rotated_at(agent, &integration, &principal).await?
        }
        None => None,
    };
    let lease = super::fleet::take(agent, &integration, &principal).await?;
    let start = serving(agent, move |service| {
        Ok(service.begin_refresh(&integration, &principal, min_valid, found, Timestamp::now())?)
    })
    .await?;
    let refreshing = match start {
        refresh::Start::Fresh(tokens) => return Ok(*tokens),
        refresh::Start::Refresh(refreshing)
            if seen.is_some_and(|at| refreshing.tokens.rotated_at != at) =>
        {
            return Ok(refreshing.tokens);
        }
        refresh::Start::Refresh(refreshing) => *refreshing,
    };
    let (integration, principal) = (
        refreshing.tokens.integration.clone(),
        refreshing.tokens.principal.clone(),
    );
    let (marked_integration, marked_principal) = (integration.clone(), principal.clone());
    blocking(agent, move |store| {
        Ok(store.refresh_started(&marked_integration, &marked_principal, Timestamp::now())?)
    })
    .await?;
    let result = refresh::call(agent.http(), &refreshing).await;
    let outcome = blocking(agent, move |store| {
        let recorded = refresh::record(store, refreshing, result, Timestamp::now());
        // Recorded: the rotation is claimed. When the store itself failed, or the answer
        // never arrived (Atlassian may have rotated), the mark stays so that the keep-alive
        // (or the next agent) tries again with the held token within the leeway.
        let unknown = matches!(
            &recorded,
            Err(RefreshError::Protocol { error, .. }) if error.outcome_unknown()
        );
        if !matches!(
            recorded,
            Err(RefreshError::Store(_) | RefreshError::Unsaved { .. })
        ) && !unknown
        {
            store.refresh_done(&integration, &principal)?;
        }
        Ok(recorded)
    })
    .await
    .and_then(|recorded| match recorded {
        Ok(tokens) => Ok(tokens),
        Err(RefreshError::Unsaved {
            tokens,
            from,
            error,
            ..
        }) => {
            agent_log!("a rotated refresh token could not be written: {error}");
            agent.hold_unsaved(super::state::Held {
                tokens: *tokens,
                from,
            });
            Err(WireError::new(Exit::Temporary, agent.holding_sentence()))
        }
        Err(error) => Err(error.into()),
    });
    // Written (or held): the next holder reads what this one stored.
    drop(lease);
    // Success or failure, the stored state changed (tokens, or last_error and an event).
    agent.changed();
    outcome
}

/// When the grant last rotated, as the store says now (`None`: no such grant).
async fn rotated_at(
    agent: &Arc<Agent>,
    integration: &str,
    principal: &Principal,
) -> Result<Option<Timestamp>, WireError> {
    let (integration, principal) = (integration.to_owned(), principal.clone());
    blocking(agent, move |store| {
        Ok(store
            .token_summary(&integration, &principal)?
            .map(|t| t.rotated_at))
    })
    .await
}
