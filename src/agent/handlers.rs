//! The answer to each request: the request's strings parsed once, the use case of
//! `service::Context` run on the blocking pool (sled blocks), the answer shaped for the wire,
//! and every change announced to the subscribed clients. The rules live in the service;
//! clients are not trusted, and every identifier a request carries goes through it.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::protocol::{
    AgentInfo, DraftWire, EventTrail, RefreshResult, Reply, Request, StatusJson, TokenReply,
    WireError,
};
use super::state::{Agent, serving};
use crate::agent_log;
use crate::domain::{Principal, Timestamp};
use crate::service::setup::SetupPlan;
use crate::service::system_app::SystemAppInfo;

pub(super) async fn handle(
    agent: &Arc<Agent>,
    connection: u64,
    request: Request,
) -> Result<Reply, WireError> {
    match request {
        Request::AgentStatus => Ok(Reply::AgentStatus(agent_info(agent))),
        Request::Status => {
            let mut report =
                serving(agent, |service| Ok(service.status(Timestamp::now())?)).await?;
            agent.overlay_status(&mut report);
            Ok(Reply::Status(report))
        }
        Request::StatusJson => status_json(agent).await,
        Request::CopyStore { to, force } => super::store_copy::copy(agent, to, force).await,
        Request::SystemApp => Ok(Reply::SystemApp(
            agent
                .service
                .system_app()
                .map(|app| SystemAppInfo::of(&app))
                .map_err(|e| e.to_string()),
        )),
        Request::AddProfile { draft } => changing(agent, add_profile(agent, draft)).await,
        Request::ReplaceProfile {
            original,
            draft,
            keep_secret,
        } => changing(agent, replace_profile(agent, original, draft, keep_secret)).await,
        Request::OpenProfile { name } => open_profile(agent, name).await,
        Request::RevealSecret { name } => {
            let value = serving(agent, move |service| Ok(service.reveal_secret(&name)?)).await?;
            agent_log!("connection {connection}: revealed a profile's client secret on request");
            Ok(Reply::Secret { value })
        }
        Request::RemoveProfile { name } => changing(agent, remove_profile(agent, name)).await,
        Request::Setup { plan } => changing(agent, setup(agent, plan)).await,
        Request::Prepare {
            integration,
            user,
            listen,
        } => super::attempts::prepare(agent, connection, integration, user, listen).await,
        Request::AwaitCallback { attempt } => {
            super::attempts::await_callback(agent, &attempt).await
        }
        Request::Redeem { attempt, pasted } => agent.attempts.redeem(&attempt, &pasted),
        Request::Exchange { attempt } => super::attempts::exchange(agent, &attempt).await,
        Request::Finish { attempt, site } => super::attempts::finish(agent, &attempt, &site).await,
        Request::Cancel { attempt } => {
            agent.attempts.cancel(&attempt);
            Ok(Reply::Ok)
        }
        Request::Token {
            integration,
            user,
            min_valid,
        } => token(agent, integration, user, min_valid).await,
        Request::Refresh {
            integration,
            principal,
        } => refresh_now(agent, integration, principal).await,
        Request::Events { limit } => events(agent, limit).await,
        Request::DeleteTokens {
            integration,
            principal,
        } => changing(agent, delete_tokens(agent, integration, principal)).await,
        Request::Link {
            integration,
            user,
            ttl_secs,
        } => super::links::issue(agent, integration, user, ttl_secs).await,
        Request::AwaitLink { handle } => super::links::wait(agent, handle).await,
        Request::Callback { path, query } => super::links::callback(agent, path, query).await,
        // Answered by the connection itself.
        Request::Hello(_) | Request::Stop | Request::Subscribe => Ok(Reply::Ok),
    }
}

/// A use case that changes the store: once it went through, every subscriber hears of it.
async fn changing(
    agent: &Agent,
    work: impl Future<Output = Result<Reply, WireError>>,
) -> Result<Reply, WireError> {
    let reply = work.await?;
    agent.changed();
    Ok(reply)
}

fn agent_info(agent: &Agent) -> AgentInfo {
    AgentInfo {
        pid: agent.hello.pid,
        version: agent.hello.build.version.clone(),
        protocol: agent.hello.protocol,
        uptime_secs: agent.started.elapsed().as_secs(),
        clients: agent.clients.load(Ordering::SeqCst),
        data_dir: agent.paths.data_dir().display().to_string(),
        idle_exit_secs: agent.idle_exit.map(|d| d.as_secs()),
    }
}

async fn status_json(agent: &Arc<Agent>) -> Result<Reply, WireError> {
    let overlaying = Arc::clone(agent);
    // Serializing megabytes is store-side work too: off the connections' threads.
    let status = serving(agent, move |service| {
        let now = Timestamp::now();
        let store = service.store();
        // A full disk or a grant held unsaved is said on top of what the store holds: the
        // kept text is only for when there is nothing to add.
        let plain = store.disk_full().is_none() && overlaying.unsaved_count() == 0;
        let before = store.version();
        if plain && let Some(kept) = overlaying.status_text.get(before, now) {
            return Ok(kept);
        }
        let (mut report, until) = service.status_until(now)?;
        overlaying.overlay_status(&mut report);
        let json = StatusJson::of(&report);
        if plain && !json.needs_room {
            overlaying
                .status_text
                .keep(before, store.version(), until, &json);
        }
        Ok(json)
    })
    .await?;
    Ok(Reply::StatusJson(status))
}

async fn add_profile(agent: &Arc<Agent>, draft: DraftWire) -> Result<Reply, WireError> {
    serving(agent, move |service| {
        let (profile, remarks) = service.add_profile(&draft.into_draft(), Timestamp::now())?;
        Ok(Reply::ProfileSaved {
            name: profile.name,
            callback_url: profile.callback_url,
            remarks: remarks
                .iter()
                .map(|f| format!("{}: {f}", f.severity.as_str()))
                .collect(),
        })
    })
    .await
}

async fn replace_profile(
    agent: &Arc<Agent>,
    original: String,
    draft: DraftWire,
    keep_secret: bool,
) -> Result<Reply, WireError> {
    serving(agent, move |service| {
        let profile = service.replace_profile(
            &original,
            draft.into_draft(),
            keep_secret,
            Timestamp::now(),
        )?;
        Ok(Reply::ProfileSaved {
            name: profile.name,
            callback_url: profile.callback_url,
            remarks: Vec::new(),
        })
    })
    .await
}

async fn remove_profile(agent: &Arc<Agent>, name: String) -> Result<Reply, WireError> {
    serving(agent, move |service| {
        service.remove_profile(&name)?;
        Ok(Reply::Ok)
    })
    .await
}

async fn setup(agent: &Arc<Agent>, plan: SetupPlan) -> Result<Reply, WireError> {
    serving(agent, move |service| {
        let result = service.setup(&plan, Timestamp::now())?;
        Ok(Reply::Configured {
            integration: result.integration,
            removed_tokens: result.removed_tokens,
        })
    })
    .await
}

async fn delete_tokens(
    agent: &Arc<Agent>,
    integration: String,
    principal: String,
) -> Result<Reply, WireError> {
    serving(agent, move |service| {
        let principal = crate::service::tokens::principal(&principal)?;
        service.delete_tokens(&integration, &principal, Timestamp::now())?;
        Ok(Reply::Ok)
    })
    .await
}

async fn open_profile(agent: &Arc<Agent>, name: String) -> Result<Reply, WireError> {
    serving(agent, move |service| {
        let opened = service.open_profile(&name)?;
        Ok(Reply::Profile {
            draft: DraftWire::of(&opened.draft),
            has_secret: opened.has_secret,
        })
    })
    .await
}

async fn events(agent: &Arc<Agent>, limit: usize) -> Result<Reply, WireError> {
    let retention = super::settings().retention;
    serving(agent, move |service| {
        let found = service.events(limit)?;
        Ok(Reply::Events {
            events: found.events,
            trail: Some(EventTrail {
                keep_secs: retention.keep.as_secs(),
                max_events: retention.max_events,
                oldest: found.oldest,
            }),
        })
    })
    .await
}

async fn token(
    agent: &Arc<Agent>,
    integration: String,
    user: Option<String>,
    min_valid: i64,
) -> Result<Reply, WireError> {
    let version = agent.service.store().version();
    let (found, tokens) = match agent.tokens.current(&integration, user.as_deref(), version) {
        Some(kept) => kept,
        None => {
            let (name, asked) = (integration.clone(), user.clone());
            let read = serving(agent, move |service| {
                Ok(service.find_token(&name, asked.as_deref())?)
            })
            .await;
            match read {
                Ok(found) => found,
                Err(error) if error.is_temporary() => {
                    return from_memory(agent, &integration, user.as_deref(), min_valid, error);
                }
                Err(error) => return Err(error),
            }
        }
    };
    let now = Timestamp::now();
    if let Some(dead) = crate::service::refresh::dead(&tokens, now) {
        return Err(dead.into());
    }
    // A grant held in memory (the disk was full) goes through the refresher, which writes
    // it before anything of it is handed out. A token without a refresh token cannot be
    // renewed: hand it out while it lasts.
    let held = agent
        .unsaved(&crate::store::token_key(&found.name, &tokens.principal))
        .is_some();
    let tokens = if held
        || (crate::service::refresh::wants_refresh(&tokens, now, min_valid)
            && tokens.refresh_token.is_some())
    {
        agent
            .refresher
            .refresh(
                agent,
                &found.name,
                &tokens.principal,
                Some(min_valid),
                Some(found.clone()),
                None,
            )
            .await?
    } else {
        tokens
    };
    agent
        .tokens
        .keep(&integration, user.as_deref(), version, &found, &tokens);
    Ok(Reply::Token(TokenReply {
        access_token: tokens.access_token.expose().to_owned(),
        expires_at: tokens.access_expires_at,
        site: tokens.site,
        note: None,
    }))
}

/// The store cannot be reached (`error`, temporary): the access token last handed out for
/// this question, while it has `min_valid` seconds left; else the store's error.
fn from_memory(
    agent: &Agent,
    integration: &str,
    user: Option<&str>,
    min_valid: i64,
    error: WireError,
) -> Result<Reply, WireError> {
    let Some(tokens) = agent.tokens.last(integration, user) else {
        return Err(error);
    };
    let left = Timestamp::now().secs_until(tokens.access_expires_at);
    if left < min_valid.max(1) {
        return Err(error);
    }
    Ok(Reply::Token(TokenReply {
        access_token: tokens.access_token.expose().to_owned(),
        expires_at: tokens.access_expires_at,
        site: tokens.site,
        note: Some(format!(
            "served from the agent's memory, valid {} more: {}",
            crate::service::format::duration(left),
            error.sentence
        )),
    }))
}

async fn refresh_now(
    agent: &Arc<Agent>,
    integration: Option<String>,
    principal: Option<String>,
) -> Result<Reply, WireError> {
    // A key that names no grant matches none (it is not refused: the answer is empty).
    let principal = principal.map(|key| Principal::from_key(&key));
    let grants = serving(agent, move |service| {
        Ok(service.refresh_targets(
            integration.as_deref(),
            principal.as_ref().map(Option::as_ref),
        )?)
    })
    .await?;
    let mut results = Vec::with_capacity(grants.len());
    for (integration, principal) in grants {
        let outcome = agent
            .refresher
            .refresh(agent, &integration, &principal, None, None, None)
            .await
            .map(|tokens| tokens.access_expires_at);
        results.push(RefreshResult {
            integration,
            principal: principal.key(),
            outcome,
        });
    }
    Ok(Reply::Refreshed { results })
}
