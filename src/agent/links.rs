//! End-user links in the agent: handing them out, waiting on them, and completing them from
//! the receiver's callbacks. The receiver forwards a request's path and query and renders
//! the page it is told; the judging, the exchange with the integration's app (whose secret
//! never leaves the agent) and the store all happen here.

use std::sync::Arc;
use std::time::Duration;

use super::handlers::blocking;
use super::protocol::{LinkView, ReceiverPage, Reply, WireError};
use super::server::Agent;
use crate::callback::{Callback, Parameters};
use crate::domain::{Account, LinkOutcome, Timestamp};
use crate::service::authorize;
use crate::service::links::{self, LinkError, Redeemable, Refusal, Waited};
use crate::service::system_app;
use crate::validate::text::sanitize;

/// How often handing out links also sweeps out the long-expired ones.
const PRUNE_EVERY_SECS: i64 = 300;
/// A waiter re-reads its link at least this often, so a missed wake-up costs little.
const WAIT_RECHECK: Duration = Duration::from_secs(30);
/// Exchange, sites, `myself` and the store together, inside the claim's budget and well
/// inside the receiver's own limit, so the page never says "failed" for a grant stored later.
const COMPLETE_DEADLINE: Duration = Duration::from_secs(20);

impl From<LinkError> for WireError {
    fn from(e: LinkError) -> Self {
        WireError::new(e.exit_code(), e.to_string())
    }
}

pub(super) async fn issue(
    agent: &Arc<Agent>,
    integration: String,
    user: String,
    ttl_secs: i64,
) -> Result<Reply, WireError> {
    let endpoints = agent.endpoints.clone();
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
    let issued = blocking(agent, move |store| {
        if sweep {
            links::prune(store, now)?;
        }
        let system = system_app::load_from_env(&endpoints).map_err(|e| e.to_string());
        Ok(links::issue(
            store,
            &integration,
            &user,
            ttl_secs,
            system.as_ref().map_err(Clone::clone),
            Timestamp::now(),
        )?)
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
            Waited::Over(sentence) => return Err(WireError::new(3, sentence)),
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
                    Ok(other) if other != handle => {}
                    // Ours, or missed ones (lagging): read again.
                    _ => break,
                },
                () = &mut nap => break,
                () = agent.shutdown.cancelled() => {
                    return Err(WireError::new(4, "the agent stopped while waiting; the link is kept, so wait again"));
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
    let endpoints = agent.endpoints.clone();
    let routes = Arc::new(
        blocking(agent, move |store| {
            let system = system_app::load_from_env(&endpoints).map_err(|e| e.to_string());
            Ok(links::callback_routes(
                store,
                system.as_ref().map_err(Clone::clone),
            )?)
        })
        .await?,
    );
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
    let endpoints = agent.endpoints.clone();
    let judged = blocking(agent, move |store| {
        let system = system_app::load_from_env(&endpoints).map_err(|e| e.to_string());
        let system = system.as_ref().map_err(Clone::clone);
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
        match links::redeem(store, &state, &served, system, Timestamp::now())? {
            Ok(redeemed) => Ok(Ok((redeemed, answer))),
            Err(refusal) => Ok(Err(refused(refusal.to_string()))),
        }
    })
    .await?;
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
        Callback::Code(code) => {
            match tokio::time::timeout(COMPLETE_DEADLINE, complete(agent, &redeemed, &code))
                .await
                .unwrap_or_else(|_| {
                    Err(WireError::new(
                        4,
                        "Atlassian did not answer in time; nothing was stored",
                    ))
                }) {
                Ok((outcome, page)) => (outcome, page),
                Err(error) => {
                    let temporary = error.is_temporary();
                    let sentence = error.sentence;
                    crate::agent_log!(
                        "a user's authorization of {} failed: {sentence}",
                        redeemed.attempt.integration
                    );
                    failed(
                        format!("jira-auth could not complete the authorization: {sentence}"),
                        temporary,
                    )
                }
            }
        }
    };
    let settled = redeemed.clone();
    blocking(agent, move |store| {
        Ok(links::settle(store, &settled, outcome)?)
    })
    .await?;
    let _ = agent.links_settled.send(redeemed.digest.clone());
    Ok(Reply::Page(page))
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

/// Exchange, choose the site, verify, store: the steps of `authorize`, for an end user.
async fn complete(
    agent: &Arc<Agent>,
    redeemed: &Redeemable,
    code: &str,
) -> Result<(LinkOutcome, ReceiverPage), WireError> {
    let attempt = &redeemed.attempt;
    let grant = authorize::exchange(agent.http(), &agent.endpoints, attempt, code).await?;
    let integration = attempt.integration.clone();
    let sites = grant.sites.clone();
    let site = blocking(agent, move |store| {
        Ok(links::site_for_user(store, &integration, &sites)?)
    })
    .await?;
    let site = match site {
        Ok(site) => site,
        Err(sentence) => return Ok(failed(sentence, false)),
    };
    let myself = authorize::verify(agent.http(), &agent.endpoints, &grant, &site).await?;
    let finishing = attempt.clone();
    let done = blocking(agent, move |store| {
        // A user id keeps the Atlassian account it was first granted by: a link forwarded
        // to someone else must not swap whose Jira the bot acts as.
        if let Some(sentence) = links::account_changed(store, &finishing, &myself.account_id)? {
            return Ok(Err(sentence));
        }
        Ok(Ok(authorize::finish(
            store,
            &finishing,
            grant,
            site,
            myself,
            Timestamp::now(),
        )?))
    })
    .await?;
    let done = match done {
        Ok(done) => done,
        Err(sentence) => return Ok(failed(sentence, false)),
    };
    agent.changed();
    agent.keepalive_wake.notify_one();
    crate::agent_log!(
        "authorized {} for a user on {}",
        done.tokens.integration,
        done.site.url
    );
    let account = Account {
        id: done.myself.account_id.clone(),
        name: done.myself.display_name.clone(),
    };
    let page = ReceiverPage::Authorized {
        integration: done.tokens.integration.clone(),
        user: sanitize(&redeemed.link.user, 256),
        account: sanitize(&account.name, 128),
        site_name: sanitize(&done.site.name, 128),
        site_url: sanitize(&done.site.url, 200),
    };
    Ok((links::authorized(account, &done.site), page))
}
