//! The answer to each request: the use cases of `service/`, run against the store this agent
//! owns. sled blocks, so store work runs on the blocking pool; every change is announced to
//! the subscribed clients. Clients are not trusted: every identifier a request carries goes
//! through the service, which checks it by the one rule of `validate::identifier`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::protocol::{
    AgentInfo, DraftWire, RefreshResult, Reply, Request, StatusJson, TokenReply, WireError,
};
use super::state::{Agent, blocking};
use crate::agent_log;
use crate::domain::Timestamp;
use crate::service::draft::ProfileDraft;
use crate::service::system_app::{self, SystemAppInfo};
use crate::service::{self, ServiceError};
use crate::store::Store;

pub(super) async fn handle(
    agent: &Arc<Agent>,
    connection: u64,
    request: Request,
) -> Result<Reply, WireError> {
    match request {
        Request::AgentStatus => Ok(Reply::AgentStatus(AgentInfo {
            pid: agent.hello.pid,
            version: agent.hello.build.version.clone(),
            protocol: agent.hello.protocol,
            uptime_secs: agent.started.elapsed().as_secs(),
            clients: agent.clients.load(Ordering::SeqCst),
            data_dir: agent.paths.data_dir().display().to_string(),
            idle_exit_secs: agent.idle_exit.map(|d| d.as_secs()),
        })),
        Request::Status => {
            let mut report = blocking(agent, |store| {
                Ok(service::status::status(store, Timestamp::now())?)
            })
            .await?;
            agent.overlay_status(&mut report);
            Ok(Reply::Status(report))
        }
        Request::StatusJson => {
            let overlaying = Arc::clone(agent);
            // Serializing megabytes is store-side work too: off the connections' threads.
            let status = blocking(agent, move |store| {
                let mut report = service::status::status(store, Timestamp::now())?;
                overlaying.overlay_status(&mut report);
                Ok(StatusJson::of(&report))
            })
            .await?;
            Ok(Reply::StatusJson(status))
        }
        Request::SystemApp => Ok(Reply::SystemApp(
            system_app::load_from_env(&agent.endpoints)
                .map(|app| SystemAppInfo::of(&app))
                .map_err(|e| e.to_string()),
        )),
        Request::AddProfile { draft } => {
            let endpoints = agent.endpoints.clone();
            let reply = blocking(agent, move |store| {
                let (profile, remarks) = service::profiles::add(
                    store,
                    &draft.into_draft(),
                    &endpoints,
                    Timestamp::now(),
                )?;
                Ok(Reply::ProfileSaved {
                    name: profile.name,
                    callback_url: profile.callback_url,
                    remarks: remarks
                        .iter()
                        .map(|f| format!("{}: {f}", f.severity.as_str()))
                        .collect(),
                })
            })
            .await?;
            agent.changed();
            Ok(reply)
        }
        Request::ReplaceProfile {
            original,
            draft,
            keep_secret,
        } => {
            let endpoints = agent.endpoints.clone();
            let reply = blocking(agent, move |store| {
                // The name to replace is checked before it is used to find the secret.
                crate::validate::identifier::profile_name(&original)
                    .map_err(|e| ServiceError::from(e.as_lookup()))?;
                let draft = with_stored_secret(store, &original, draft, keep_secret)?;
                let profile = service::profiles::replace(
                    store,
                    &original,
                    &draft,
                    &endpoints,
                    Timestamp::now(),
                )?;
                Ok(Reply::ProfileSaved {
                    name: profile.name,
                    callback_url: profile.callback_url,
                    remarks: Vec::new(),
                })
            })
            .await?;
            agent.changed();
            Ok(reply)
        }
        Request::OpenProfile { name } => {
            blocking(agent, move |store| {
                let profile = service::profiles::get(store, &name)?;
                let mut draft = DraftWire::of(&ProfileDraft::from_profile(&profile));
                // The form shows that a secret is stored; the value waits for a reveal.
                draft.client_secret.clear();
                Ok(Reply::Profile {
                    draft,
                    has_secret: !profile.client_secret.is_empty(),
                })
            })
            .await
        }
        Request::RevealSecret { name } => {
            let reply = blocking(agent, move |store| {
                let profile = service::profiles::get(store, &name)?;
                Ok(Reply::Secret {
                    value: profile.client_secret.expose().to_owned(),
                })
            })
            .await?;
            agent_log!("connection {connection}: revealed a profile's client secret on request");
            Ok(reply)
        }
        Request::RemoveProfile { name } => {
            blocking(agent, move |store| {
                service::profiles::remove(store, &name)?;
                Ok(Reply::Ok)
            })
            .await?;
            agent.changed();
            Ok(Reply::Ok)
        }
        Request::Setup { plan } => {
            let endpoints = agent.endpoints.clone();
            let reply = blocking(agent, move |store| {
                let system = system_app::load_from_env(&endpoints).map_err(|e| e.to_string());
                let result = service::setup::apply(
                    store,
                    &plan,
                    system.as_ref().map_err(Clone::clone),
                    Timestamp::now(),
                )?;
                Ok(Reply::Configured {
                    integration: result.integration,
                    removed_tokens: result.removed_tokens,
                })
            })
            .await?;
            agent.changed();
            Ok(reply)
        }
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
        Request::Events { limit } => {
            let retention = super::settings().retention;
            blocking(agent, move |store| {
                Ok(Reply::Events {
                    events: store.events(limit.min(10_000))?,
                    trail: Some(super::protocol::EventTrail {
                        keep_secs: retention.keep.as_secs(),
                        max_events: retention.max_events,
                        oldest: store.oldest_event()?,
                    }),
                })
            })
            .await
        }
        Request::DeleteTokens {
            integration,
            principal,
        } => {
            blocking(agent, move |store| {
                let now = Timestamp::now();
                service::tokens::delete(store, &integration, &principal, now)?;
                // A link handed out before the revocation must not grant again.
                if let Some(crate::domain::Principal::User(user)) =
                    crate::domain::Principal::from_key(&principal)
                {
                    crate::service::links::withdraw(store, &integration, &user, now)?;
                }
                Ok(())
            })
            .await?;
            agent.changed();
            Ok(Reply::Ok)
        }
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

async fn token(
    agent: &Arc<Agent>,
    integration: String,
    user: Option<String>,
    min_valid: i64,
) -> Result<Reply, WireError> {
    let (found, tokens) = blocking(agent, move |store| {
        Ok(crate::service::refresh::find(
            store,
            &integration,
            user.as_deref(),
        )?)
    })
    .await?;
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
            .refresh(agent, &found.name, &tokens.principal, Some(min_valid))
            .await?
    } else {
        tokens
    };
    Ok(Reply::Token(TokenReply {
        access_token: tokens.access_token.expose().to_owned(),
        expires_at: tokens.access_expires_at,
        site: tokens.site,
    }))
}

async fn refresh_now(
    agent: &Arc<Agent>,
    integration: Option<String>,
    principal: Option<String>,
) -> Result<Reply, WireError> {
    let wanted = integration.clone();
    let grants = blocking(agent, move |store| {
        if let Some(name) = &wanted
            && store.integration(name)?.is_none()
        {
            return Err(crate::service::refresh::RefreshError::from(
                crate::service::lookup::NoSuchIntegration::in_store(store, name)?,
            )
            .into());
        }
        let mut grants: Vec<_> = store
            .token_summaries()?
            .into_iter()
            .filter(|t| wanted.as_ref().is_none_or(|name| &t.integration == name))
            .filter(|t| {
                principal
                    .as_ref()
                    .is_none_or(|key| &t.principal.key() == key)
            })
            .map(|t| (t.integration, t.principal))
            .collect();
        grants.sort();
        Ok(grants)
    })
    .await?;
    let mut results = Vec::with_capacity(grants.len());
    for (integration, principal) in grants {
        let outcome = agent
            .refresher
            .refresh(agent, &integration, &principal, None)
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

/// An edit that leaves the secret empty keeps the stored one: the form never held it.
fn with_stored_secret(
    store: &dyn Store,
    original: &str,
    draft: DraftWire,
    keep_secret: bool,
) -> Result<ProfileDraft, WireError> {
    let mut draft = draft.into_draft();
    if keep_secret
        && draft.client_secret.is_empty()
        && let Some(stored) = store.profile(original)?
    {
        draft.client_secret = stored.client_secret;
    }
    Ok(draft)
}
