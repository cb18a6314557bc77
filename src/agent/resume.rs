//! Finishing code exchanges that were stored but not verified: the tokens an exchange bought
//! are on disk from the moment the token endpoint answered, and whatever stopped their
//! verification (a kill, a client that left, Atlassian busy) is resumed here, in the
//! background, without ever holding up a request. The same verification serves an end
//! user's callback as it happens.
//!
//! Each exchange ends one of three ways: a token set (event "authorized"), a stated failure
//! (event "authorization failed", record removed), or waiting for a person to choose the
//! site, which `status` and the console say.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::protocol::WireError;
use super::state::Agent;
use super::state::blocking;
use crate::domain::{Timestamp, TokenSet};
use crate::service::authorize::{self, AuthorizeError, Authorized};
use crate::service::links;
use crate::service::resume::{self, Finished, SiteChoice, Standing};
use crate::store::Exchanged;

/// How often the resume looks for exchanges that were left (by a client that went away).
const SWEEP: Duration = Duration::from_secs(60);
/// The first retry after a temporary failure; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);

/// How one verification ended.
#[derive(Debug)]
pub(super) enum Verified {
    /// Stored as the grant's token set (now, or by an agent that died before tidying up).
    Done(Box<TokenSet>),
    /// Several Jira sites and nothing says which: kept until a person chooses.
    Awaiting,
    /// Ended for good; the trail says why.
    Failed(String),
    /// A temporary failure: kept, to be tried again.
    Retry(String),
    /// A newer exchange replaced this one, or someone else finished it.
    Gone,
}

/// The delay before try `tries + 1` after a temporary failure.
pub fn backoff(tries: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(2u32.saturating_pow(tries.min(16)))
        .min(MAX_BACKOFF)
}

/// Verifies a stored exchange and ends it: sites, the choice, `myself`, the account check
/// for an end user, the token set. An end user's link is settled with the outcome.
pub(super) async fn verify_exchange(
    agent: &Arc<Agent>,
    exchanged: Exchanged,
) -> Result<Verified, WireError> {
    let verified = verify_steps(agent, exchanged.clone()).await?;
    if let Some(digest) = &exchanged.link {
        let outcome = match &verified {
            Verified::Done(tokens) => match (&tokens.account, &tokens.site) {
                (Some(account), Some(site)) => Some(links::authorized(account.clone(), site)),
                _ => None,
            },
            Verified::Failed(sentence) => Some(crate::domain::LinkOutcome::Failed {
                sentence: sentence.clone(),
            }),
            Verified::Awaiting | Verified::Retry(_) | Verified::Gone => None,
        };
        if let Some(outcome) = outcome {
            let digest = digest.clone();
            let settled = blocking(agent, move |store| {
                Ok(links::settle_digest(store, &digest, outcome)?)
            })
            .await?;
            if settled {
                let _ = agent
                    .links_settled
                    .send(exchanged.link.clone().unwrap_or_default());
            }
        }
    }
    Ok(verified)
}

async fn verify_steps(agent: &Arc<Agent>, exchanged: Exchanged) -> Result<Verified, WireError> {
    let looked = exchanged.clone();
    match blocking(agent, move |store| Ok(resume::standing(store, &looked)?)).await? {
        Standing::Changed(sentence) => return end(agent, &exchanged, sentence).await,
        Standing::Stored(tokens) => return Ok(Verified::Done(tokens)),
        Standing::Pending => {}
    }
    let mut exchanged = match super::attempts::with_live_token(agent, exchanged.clone()).await {
        Ok(Some(live)) => live,
        Ok(None) => return Ok(Verified::Gone),
        Err(error) => return failed(agent, &exchanged, &error).await,
    };
    let sites = match exchanged.sites.clone() {
        Some(sites) => sites,
        None => {
            match authorize::find_sites(agent.http(), agent.service.endpoints(), &exchanged).await {
                Ok(sites) => {
                    exchanged.sites = Some(sites.clone());
                    if !update(agent, &exchanged).await? {
                        return Ok(Verified::Gone);
                    }
                    sites
                }
                Err(error) => return failed(agent, &exchanged, &error).await,
            }
        }
    };
    let asked = exchanged.clone();
    let choice = blocking(agent, move |store| {
        Ok(resume::site_choice(store, &asked, &sites)?)
    })
    .await?;
    let site = match choice {
        SiteChoice::Site(site) => site,
        SiteChoice::Refuse(sentence) => return end(agent, &exchanged, sentence).await,
        SiteChoice::Await => {
            if !exchanged.awaiting_site {
                exchanged.awaiting_site = true;
                if !update(agent, &exchanged).await? {
                    return Ok(Verified::Gone);
                }
                agent.changed();
            }
            return Ok(Verified::Awaiting);
        }
    };
    // The sites call may have taken long (or the choice waited): the token must still live.
    let exchanged = match super::attempts::with_live_token(agent, exchanged.clone()).await {
        Ok(Some(live)) => live,
        Ok(None) => return Ok(Verified::Gone),
        Err(error) => return failed(agent, &exchanged, &error).await,
    };
    let myself =
        match authorize::verify(agent.http(), agent.service.endpoints(), &exchanged, &site).await {
            Ok(myself) => myself,
            Err(error) => return failed(agent, &exchanged, &error).await,
        };
    let finishing = exchanged.clone();
    let finished = blocking(agent, move |store| {
        Ok(resume::finish(
            store,
            &finishing,
            site,
            myself,
            Timestamp::now(),
        )?)
    })
    .await?;
    match finished {
        Finished::AccountChanged(sentence) => end(agent, &exchanged, sentence).await,
        Finished::Superseded => Ok(Verified::Gone),
        Finished::Done(done) => Ok(authorized(agent, *done)),
    }
}

/// A token set stored: every client hears of it, and the keep-alive looks at it.
fn authorized(agent: &Agent, done: Authorized) -> Verified {
    agent.changed();
    agent.keepalive_wake.notify_one();
    crate::agent_log!(
        "authorized {} for {} on {}",
        done.tokens.integration,
        match done.tokens.principal {
            crate::domain::Principal::Admin => "admin",
            crate::domain::Principal::User(_) => "a user",
        },
        done.site.url
    );
    Verified::Done(Box::new(done.tokens))
}

async fn update(agent: &Arc<Agent>, exchanged: &Exchanged) -> Result<bool, WireError> {
    let noted = exchanged.clone();
    blocking(agent, move |store| Ok(store.update_exchanged(&noted)?)).await
}

/// A failed call: permanent ends the exchange, temporary keeps it with the sentence noted.
async fn failed(
    agent: &Arc<Agent>,
    exchanged: &Exchanged,
    error: &AuthorizeError,
) -> Result<Verified, WireError> {
    if error.ends_the_exchange() {
        return end(agent, exchanged, error.to_string()).await;
    }
    let mut noted = exchanged.clone();
    noted.tries = noted.tries.saturating_add(1);
    noted.last_error = Some(error.to_string());
    if !update(agent, &noted).await? {
        return Ok(Verified::Gone);
    }
    Ok(Verified::Retry(error.to_string()))
}

async fn end(
    agent: &Arc<Agent>,
    exchanged: &Exchanged,
    sentence: String,
) -> Result<Verified, WireError> {
    let ended = exchanged.clone();
    let said = sentence.clone();
    let removed = blocking(agent, move |store| {
        Ok(authorize::fail_exchanged(
            store,
            &ended,
            &said,
            Timestamp::now(),
        )?)
    })
    .await?;
    if !removed {
        return Ok(Verified::Gone);
    }
    agent.changed();
    crate::agent_log!(
        "an authorization of {} ended: {sentence}",
        exchanged.integration
    );
    Ok(Verified::Failed(sentence))
}

/// The background task: at start, then at each due retry or sweep, verifies every stored
/// exchange nobody is working on. Never blocks a request: each store access is one short
/// blocking call, and the network calls run on this task alone.
pub(super) async fn run(agent: Arc<Agent>) {
    // When each exchange (by id) may be tried again, after a temporary failure.
    let mut next_try: HashMap<String, Instant> = HashMap::new();
    loop {
        agent.busy.fetch_add(1, Ordering::SeqCst);
        let pass = sweep(&agent, &mut next_try).await;
        agent.busy.fetch_sub(1, Ordering::SeqCst);
        let wait = match pass {
            Ok(()) => next_try
                .values()
                .map(|at| at.saturating_duration_since(Instant::now()))
                .min()
                .unwrap_or(SWEEP)
                .min(SWEEP),
            Err(error) => {
                crate::agent_log!("resuming stored authorizations failed: {}", error.sentence);
                SWEEP
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait.max(Duration::from_millis(100))) => {}
            () = agent.shutdown.cancelled() => return,
        }
    }
}

async fn sweep(
    agent: &Arc<Agent>,
    next_try: &mut HashMap<String, Instant>,
) -> Result<(), WireError> {
    let stored = blocking(agent, |store| Ok(store.exchanged_all()?)).await?;
    next_try.retain(|id, _| stored.iter().any(|e| &e.id == id));
    for exchanged in stored {
        if exchanged.awaiting_site
            || agent.attempts.holds(&exchanged.id)
            || next_try
                .get(&exchanged.id)
                .is_some_and(|at| *at > Instant::now())
        {
            continue;
        }
        if agent.shutdown.is_cancelled() {
            break;
        }
        let id = exchanged.id.clone();
        let tries = exchanged.tries;
        match verify_exchange(agent, exchanged).await? {
            Verified::Retry(sentence) => {
                let delay = backoff(tries);
                crate::agent_log!(
                    "an authorization could not be verified yet ({sentence}); trying again in {}",
                    humantime::format_duration(delay)
                );
                next_try.insert(id, Instant::now() + delay);
            }
            Verified::Done(_) | Verified::Awaiting | Verified::Failed(_) | Verified::Gone => {
                next_try.remove(&id);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_a_ceiling() {
        assert_eq!(backoff(0), FIRST_BACKOFF);
        assert_eq!(backoff(1), FIRST_BACKOFF * 2);
        assert_eq!(backoff(40), MAX_BACKOFF);
    }
}
