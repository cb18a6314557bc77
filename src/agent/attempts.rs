//! Authorization attempts, held by the agent from the URL to the stored token set: the state
//! the redirect must carry back, the loopback listener, the code, and the tokens it bought
//! (which never leave the agent). An attempt belongs to the connection that began it and
//! ends with it, so a client that dies frees its port and forgets its code.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio_util::sync::CancellationToken;

use super::handlers::blocking;
use super::protocol::{AttemptView, ListenerView, Reply, WireError};
use super::server::Agent;
use crate::callback::CallbackListener;
use crate::domain::{Principal, Timestamp};
use crate::service::authorize::{self, Attempt, AuthorizeError, Grant};
use crate::service::system_app;

#[derive(Default)]
pub(super) struct Attempts {
    entries: Mutex<HashMap<String, Entry>>,
}

struct Entry {
    owner: u64,
    attempt: Attempt,
    listener: Option<CallbackListener>,
    /// The code from the listener or a paste, until an exchange spends it. Kept after a
    /// temporary failure so that a retry can use it again.
    code: Option<String>,
    grant: Option<Grant>,
    /// Cancels everything of the attempt (Esc, the client leaving).
    cancel: CancellationToken,
    /// Cancels only the listener's wait: the code came back another way.
    listening: CancellationToken,
}

fn gone() -> WireError {
    WireError::new(
        2,
        "this authorization attempt is over (cancelled, finished, or its client left); start again",
    )
}

impl Attempts {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding this lock cannot leave an entry half-written (each access
        // is one insert, take or remove), so a poisoned map is still sound.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn with<T>(
        &self,
        id: &str,
        f: impl FnOnce(&mut Entry) -> Result<T, WireError>,
    ) -> Result<T, WireError> {
        let mut entries = self.lock();
        let entry = entries.get_mut(id).ok_or_else(gone)?;
        f(entry)
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    pub fn cancel(&self, id: &str) {
        if let Some(entry) = self.lock().remove(id) {
            entry.cancel.cancel();
        }
    }

    pub fn drop_owner(&self, owner: u64) {
        self.lock().retain(|_, entry| {
            let keep = entry.owner != owner;
            if !keep {
                entry.cancel.cancel();
            }
            keep
        });
    }
}

pub(super) async fn prepare(
    agent: &Arc<Agent>,
    owner: u64,
    integration: String,
    user: Option<String>,
    listen: bool,
) -> Result<Reply, WireError> {
    let endpoints = agent.endpoints.clone();
    let attempt = blocking(agent, move |store| {
        let system = system_app::load_from_env(&endpoints).map_err(|e| e.to_string());
        Ok(authorize::prepare(
            store,
            &integration,
            user.as_deref(),
            system.as_ref().map_err(Clone::clone),
        )?)
    })
    .await?;
    let (listener, view) = match listen.then(|| authorize::listen(&attempt)) {
        Some(binding) => match binding.await {
            Some(Ok(listener)) => {
                let port = listener.port();
                (Some(listener), ListenerView::Listening { port })
            }
            Some(Err(e)) => (
                None,
                ListenerView::Failed {
                    sentence: e.to_string(),
                },
            ),
            None => (None, ListenerView::NotApplicable),
        },
        None => (None, ListenerView::NotApplicable),
    };
    let id = crate::atlassian::authorize::new_state();
    let reply = AttemptView {
        id: id.clone(),
        integration: attempt.integration.clone(),
        mode: attempt.mode,
        principal: attempt.principal.key(),
        app_label: attempt.app_label.clone(),
        url: attempt.url.to_string(),
        callback_url: attempt.app.callback_url.clone(),
        renewing: attempt.renewing,
        listener: view,
    };
    agent.attempts.lock().insert(
        id,
        Entry {
            owner,
            attempt,
            listener,
            code: None,
            grant: None,
            cancel: CancellationToken::new(),
            listening: CancellationToken::new(),
        },
    );
    Ok(Reply::Prepared(reply))
}

pub(super) async fn await_callback(agent: &Arc<Agent>, id: &str) -> Result<Reply, WireError> {
    let (listener, cancel, listening) = agent.attempts.with(id, |entry| {
        let listener = entry.listener.take().ok_or_else(|| {
            WireError::new(
                2,
                "this attempt has no loopback listener (its callback URL is not on this machine, or it is already waiting); paste the redirected URL instead",
            )
        })?;
        Ok((listener, entry.cancel.clone(), entry.listening.clone()))
    })?;
    let code = tokio::select! {
        code = authorize::code_from_listener(listener) => code?,
        () = cancel.cancelled() => return Err(gone()),
        () = listening.cancelled() => {
            return Err(WireError::new(2, "the code arrived another way; the listener has stopped"));
        }
    };
    agent.attempts.with(id, |entry| {
        entry.code = Some(code);
        Ok(Reply::CodeArrived)
    })
}

fn exchanged_already() -> WireError {
    WireError::new(
        2,
        "this attempt's code has been exchanged already; choose the site to finish",
    )
}

impl Attempts {
    /// A pasted redirect becomes the attempt's code once its state is this attempt's.
    pub fn redeem(&self, id: &str, pasted: &str) -> Result<Reply, WireError> {
        self.with(id, |entry| {
            if entry.grant.is_some() {
                return Err(exchanged_already());
            }
            entry.code = Some(authorize::code_from_paste(pasted, &entry.attempt)?);
            // The code is in hand: the listener has nothing left to wait for.
            entry.listening.cancel();
            entry.listener = None;
            Ok(Reply::Ok)
        })
    }
}

pub(super) async fn exchange(agent: &Arc<Agent>, id: &str) -> Result<Reply, WireError> {
    let (attempt, code, cancel) = agent.attempts.with(id, |entry| {
        if entry.grant.is_some() {
            return Err(exchanged_already());
        }
        let code = entry.code.clone().ok_or_else(|| {
            WireError::new(
                2,
                "no code has come back for this attempt yet; consent in the browser, then paste the address it was sent to",
            )
        })?;
        Ok((entry.attempt.clone(), code, entry.cancel.clone()))
    })?;
    let result = tokio::select! {
        result = authorize::exchange(agent.http(), &agent.endpoints, &attempt, &code) => result,
        () = cancel.cancelled() => return Err(gone()),
    };
    agent.attempts.with(id, |entry| match result {
        Ok(grant) => {
            entry.code = None;
            let sites = grant.sites.clone();
            entry.grant = Some(grant);
            Ok(Reply::Sites { sites })
        }
        Err(error) => {
            // Only a temporary failure leaves the code worth trying again.
            if !error.is_temporary() {
                entry.code = None;
            }
            Err(error.into())
        }
    })
}

pub(super) async fn finish(
    agent: &Arc<Agent>,
    id: &str,
    site_id: &str,
) -> Result<Reply, WireError> {
    let (attempt, grant, cancel) = agent.attempts.with(id, |entry| {
        let grant = entry.grant.clone().ok_or_else(|| {
            WireError::new(2, "this attempt has no tokens yet: exchange its code first")
        })?;
        Ok((entry.attempt.clone(), grant, entry.cancel.clone()))
    })?;
    let site = grant
        .sites
        .iter()
        .find(|s| s.id == site_id)
        .cloned()
        .ok_or_else(|| AuthorizeError::UnknownSite {
            wanted: site_id.to_owned(),
            sites: grant.sites.clone(),
        })?;
    let myself = tokio::select! {
        myself = authorize::verify(agent.http(), &agent.endpoints, &grant, &site) => myself?,
        () = cancel.cancelled() => return Err(gone()),
    };
    let done = blocking(agent, move |store| {
        Ok(authorize::finish(
            store,
            &attempt,
            grant,
            site,
            myself,
            Timestamp::now(),
        )?)
    })
    .await?;
    agent.attempts.cancel(id);
    agent.changed();
    agent.keepalive_wake.notify_one();
    let whose = match &done.tokens.principal {
        Principal::Admin => "admin".to_owned(),
        Principal::User(_) => "a user".to_owned(),
    };
    crate::agent_log!(
        "authorized {} for {whose} on {}",
        done.tokens.integration,
        done.site.url
    );
    Ok(Reply::Authorized {
        sentence: authorize::authorized_sentence(&done),
    })
}
