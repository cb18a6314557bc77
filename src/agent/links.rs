//! End-user links in the agent: handing them out, waiting on them, and completing them from
//! the receiver's callbacks. The receiver forwards a request's path and query and renders
//! the page it is told; the judging, the exchange with the integration's app (whose secret
//! never leaves the agent) and the store all happen here.

use std::sync::Arc;
use std::time::Duration;

use super::protocol::{LinkView, ReceiverPage, Reply, WireError};
use super::state::Agent;
use super::state::{blocking, serving};
use crate::callback::{Callback, Parameters};
use crate::domain::{LinkOutcome, Timestamp};
use crate::exit::Exit;
use crate::service::links::{self, Redeemable, Refusal, Waited};
use crate::validate::text::sanitize;

/// How often handing out links also sweeps out the long-expired ones.
const PRUNE_EVERY_SECS: i64 = 300;
/// A waiter re-reads its link at least this often, so a missed wake-up costs little.
const WAIT_RECHECK: Duration = Duration::from_secs(30);
/// Exchange, sites, `myself` and the store together, inside the claim's budget and well
/// inside the receiver's own limit, so the page never says "failed" for a grant stored later.
const COMPLETE_DEADLINE: Duration =
    Duration::from_secs(crate::service::links::COMPLETE_DEADLINE_SECS);

pub(super) async fn issue(
    agent: &Arc<Agent>,
    integration: String,
    user: String,
    ttl_secs: i64,
) -> Result<Reply, WireError> {
    // Old links are swept at most every few minutes: a sweep reads every link, and a bot may
    // hand out thousands in a burst.
    let now = Timestamp::now();
    let last = agent.links_pruned.load(std::sync::atomic::Ordering::SeqCst);
    let sweep = now.0 - last >= PRUNE_EVERY_SECS
        && agent
            .links_pruned
            .compare_exchange(
                last,
                now.0,
                std::sync::atomic::Ordering::SeqCst,
                std::sync::atomic::Ordering::SeqCst,
            )
            .is_ok();
    let issued = serving(agent, move |service| {
        Ok(service.issue_link(&integration, &user, ttl_secs, sweep, now)?)
    })
    .await?;
    crate::agent_log!(
        "link for a user of {} until {}",
        issued.integration,
        issued.expires_at.rfc3339()
    );
    Ok(Reply::Link(LinkView {
        integration: issued.integration,
        user: issued.user,
        url: issued.url.to_string(),
        expires_at: issued.expires_at,
        handle: issued.handle,
    }))
}

/// Sent on `links_settled` to wake every waiter: a link may have settled on another host.
pub(super) const EVERY_LINK: &str = "";

/// Blocks until the link is over: authorized (the reply), or declined, failed or expired
/// (exit 3 with the sentence). Each settle wakes only a store read for its own link.
pub(super) async fn wait(agent: &Arc<Agent>, handle: String) -> Result<Reply, WireError> {
    // Subscribed before the first read, so a settle in between is not missed.
    let mut settled = agent.links_settled.subscribe();
    loop {
        let wanted = handle.clone();
        let (waited, recheck) = blocking(agent, move |store| {
            Ok(links::standing(store, &wanted, Timestamp::now())?)
        })
        .await?;
        match waited {
            Waited::Authorized(sentence) => return Ok(Reply::LinkDone { sentence }),
            Waited::Over(sentence) => return Err(WireError::new(Exit::Reauthorize, sentence)),
            Waited::Pending => {}
        }
        let until = Timestamp::now().secs_until(recheck).max(0) + 1;
        let nap = tokio::time::sleep(
            Duration::from_secs(u64::try_from(until).unwrap_or(1)).min(WAIT_RECHECK),
        );
        tokio::pin!(nap);
        loop {
            tokio::select! {
                got = settled.recv() => match got {
                    Ok(other) if other != handle && other != EVERY_LINK => {}
                    // Ours, or missed ones (lagging): read again.
                    _ => break,
                },
                () = &mut nap => break,
                () = agent.shutdown.cancelled() => {
                    return Err(WireError::new(Exit::Temporary, "the agent stopped while waiting; the link is kept, so wait again"));
                }
            }
        }
    }
}

/// The receiver's routes: from the cache, or worked out from the store.
async fn routes(agent: &Arc<Agent>) -> Result<Arc<links::Routes>, WireError> {
    let cached = agent
        .routes
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    if let Some(routes) = cached {
        return Ok(routes);
    }
    let routes = Arc::new(serving(agent, move |service| Ok(service.callback_routes()?)).await?);
    *agent
        .routes
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::clone(&routes));
    Ok(routes)
}

/// The receiver's request: which page the browser gets.
pub(super) async fn callback(
    agent: &Arc<Agent>,
    path: String,
    query: String,
) -> Result<Reply, WireError> {
    let served = links::integrations_at(&routes(agent).await?, &path);
    if served.is_empty() {
        return Ok(Reply::Page(ReceiverPage::NotFound));
    }
    let judged = judge(agent, served, query).await?;
    let (redeemed, answer) = match judged {
        Ok(found) => found,
        Err(page) => return Ok(Reply::Page(page)),
    };
    let (outcome, page) = match answer {
        Callback::Denied { error, description } if error == "access_denied" => (
            LinkOutcome::Declined,
            ReceiverPage::Declined {
                detail: description,
            },
        ),
        Callback::Denied { error, description } => {
            let sentence = format!(
                "Atlassian answered {error}{}. Ask for a new link and try again.",
                description.map(|d| format!(": {d}")).unwrap_or_default()
            );
            failed(sentence, false)
        }
        Callback::Code(code) => return Ok(Reply::Page(exchange(agent, redeemed, code).await)),
    };
    let settled = redeemed.clone();
    blocking(agent, move |store| {
        Ok(links::settle(store, &settled, outcome)?)
    })
    .await?;
    let _ = agent.links_settled.send(redeemed.digest.clone());
    Ok(Reply::Page(page))
}

/// The receiver's request judged before anything is spent: the link it redeems and the
/// browser's answer, or the page that refuses it.
async fn judge(
    agent: &Arc<Agent>,
    served: Vec<String>,
    query: String,
) -> Result<Result<(Redeemable, Callback), ReceiverPage>, WireError> {
    let serving_since = Timestamp::now()
        .plus_secs(-i64::try_from(agent.started.elapsed().as_secs()).unwrap_or(i64::MAX));
    serving(agent, move |service| {
        let store = service.store();
        let parameters = match Parameters::read(&query) {
            Ok(parameters) => parameters,
            Err(parameter) => return Ok(Err(refused(altered(parameter)))),
        };
        let Some(state) = parameters.state.clone() else {
            return Ok(Err(refused(Refusal::Unknown.to_string())));
        };
        // Judged before the link is spent: a request with nothing in it spends nothing.
        let Some(answer) = parameters.callback() else {
            return Ok(Err(refused(
                "This address carries neither an authorization code nor an error. Use the link exactly as Atlassian sent you back."
                    .to_owned(),
            )));
        };
        match service.redeem_link(&state, &served, Timestamp::now())? {
            Ok(redeemed) => Ok(Ok((redeemed, answer))),
            // A second visit (a reload after an interruption) hears how the first ended.
            Err(Refusal::Used) => Ok(Err(after_use(links::after_use(
                store,
                &state,
                Timestamp::now(),
                serving_since,
            )?))),
            Err(refusal) => Ok(Err(refused(refusal.to_string()))),
        }
    })
    .await
}

/// A code for a redeemed link, exchanged: the page says how far it got by the deadline.
async fn exchange(agent: &Arc<Agent>, redeemed: Redeemable, code: String) -> ReceiverPage {
    // Its own task: a deadline (or the receiver hanging up) must not cut the
    // exchange between Atlassian's answer and the store; it settles the link itself.
    let completing = tokio::spawn(complete(Arc::clone(agent), redeemed.clone(), code));
    match tokio::time::timeout(COMPLETE_DEADLINE, completing).await {
        Ok(Ok(page)) => page,
        Ok(Err(e)) => {
            failed(
                format!("jira-auth could not complete the authorization: {e}"),
                true,
            )
            .1
        }
        Err(_) => {
            let digest = redeemed.digest.clone();
            let link = redeemed.link.clone();
            ReceiverPage::Completing {
                integration: redeemed.attempt.integration.clone(),
                user: sanitize(&redeemed.link.user, 256),
                // Either way the task goes on; this only says how far it got.
                stored: blocking(agent, move |store| {
                    Ok(links::exchange_stored_for(store, &digest, &link)?)
                })
                .await
                .unwrap_or(false),
            }
        }
    }
}

/// The page for a spent link, from what its first visit left.
fn after_use(found: links::AfterUse) -> ReceiverPage {
    match found {
        links::AfterUse::Authorized { integration, user } => {
            ReceiverPage::AlreadyConnected { integration, user }
        }
        links::AfterUse::Completing { integration, user } => ReceiverPage::Completing {
            integration,
            user,
            stored: true,
        },
        links::AfterUse::Interrupted => ReceiverPage::Failed {
            sentence: links::INTERRUPTED.to_owned(),
            temporary: false,
        },
        links::AfterUse::Used => refused(Refusal::Used.to_string()),
    }
}

fn refused(sentence: String) -> ReceiverPage {
    ReceiverPage::Refused { sentence }
}

fn altered(parameter: &str) -> String {
    format!(
        "This address carries {parameter} more than once, which Atlassian never sends: it was altered. Nothing was done; use the link exactly as you received it."
    )
}

fn failed(sentence: String, temporary: bool) -> (LinkOutcome, ReceiverPage) {
    (
        LinkOutcome::Failed {
            sentence: sentence.clone(),
        },
        ReceiverPage::Failed {
            sentence,
            temporary,
        },
    )
}

/// Exchange (stored at once), then verify and store the token set: the steps of
/// `authorize`, for an end user. The link is settled here: as failed when the exchange
/// itself fails, by the verification otherwise, and not at all while the stored exchange
/// waits for a retry (the resume settles it then).
async fn complete(agent: Arc<Agent>, redeemed: Redeemable, code: String) -> ReceiverPage {
    let attempt = &redeemed.attempt;
    let exchanged = match super::attempts::exchange_and_store(
        &agent,
        attempt,
        &code,
        Some(redeemed.digest.clone()),
    )
    .await
    {
        Ok(exchanged) => exchanged,
        Err(error) => {
            let temporary = error.is_temporary();
            let sentence = error.to_string();
            crate::agent_log!(
                "a user's authorization of {} failed: {sentence}",
                attempt.integration
            );
            let (outcome, page) = failed(
                format!("jira-auth could not complete the authorization: {sentence}"),
                temporary,
            );
            return settle_now(&agent, &redeemed, outcome, page).await;
        }
    };
    let completing = ReceiverPage::Completing {
        integration: attempt.integration.clone(),
        user: sanitize(&redeemed.link.user, 256),
        stored: true,
    };
    let id = exchanged.id.clone();
    let verified = super::resume::verify_exchange(&agent, exchanged).await;
    agent.attempts.end_completing(&id);
    match verified {
        Ok(super::resume::Verified::Done(tokens)) => match (&tokens.account, &tokens.site) {
            (Some(account), Some(site)) => ReceiverPage::Authorized {
                integration: tokens.integration.clone(),
                user: sanitize(&redeemed.link.user, 256),
                account: sanitize(&account.name, crate::validate::text::ACCOUNT_CAP),
                site_name: sanitize(&site.name, crate::validate::text::ACCOUNT_CAP),
                site_url: sanitize(&site.url, crate::validate::text::URL_CAP),
            },
            _ => completing,
        },
        Ok(super::resume::Verified::Failed(sentence)) => failed(sentence, false).1,
        Ok(_) => completing,
        Err(error) => {
            crate::agent_log!(
                "a user's stored authorization of {} waits: {}",
                attempt.integration,
                error.sentence
            );
            completing
        }
    }
}

async fn settle_now(
    agent: &Arc<Agent>,
    redeemed: &Redeemable,
    outcome: LinkOutcome,
    page: ReceiverPage,
) -> ReceiverPage {
    let settled = redeemed.clone();
    let stored = blocking(agent, move |store| {
        Ok(links::settle(store, &settled, outcome)?)
    })
    .await;
    if let Err(error) = stored {
        crate::agent_log!("a link could not be settled: {}", error.sentence);
    }
    let _ = agent.links_settled.send(redeemed.digest.clone());
    page
}
