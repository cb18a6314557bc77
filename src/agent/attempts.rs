//! Authorization attempts, held by the agent from the URL to the stored token set: the state
//! the redirect must carry back, the loopback listener, the code, and the tokens it bought
//! (which never leave the agent). An attempt belongs to the connection that began it and
//! ends with it, so a client that dies frees its port and forgets its code. The tokens do
//! not go with it: they are stored the moment the token endpoint answers, and an exchange
//! no attempt holds any more is finished by the resume (`resume.rs`).

use std::collections::HashMap;
use std::sync::{Arc, MutexGuard};

use tokio_util::sync::CancellationToken;

use super::protocol::{AttemptView, ListenerView, Reply, WireError};
use super::state::{Agent, Attempts, Entry};
use super::state::{blocking, serving};
use crate::callback::{self, Callback, CallbackError, CallbackListener};
use crate::domain::{Principal, Timestamp};
use crate::exit::Exit;
use crate::service::authorize::{self, Attempt, AuthorizeError, Grant};
use crate::store::Exchanged;

/// Counts one exchange in flight for as long as it lives.
struct Exchanging<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> Exchanging<'a> {
    fn begin(count: &'a std::sync::atomic::AtomicUsize) -> Self {
        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Exchanging(count)
    }
}

impl Drop for Exchanging<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

fn gone() -> WireError {
    WireError::new(
        Exit::Usage,
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

    /// Code exchanges whose answer is not stored yet.
    pub fn exchanging(&self) -> usize {
        self.exchanging.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Whether a live attempt or callback is working on the stored exchange `id` (the
    /// resume leaves it alone).
    pub fn holds(&self, id: &str) -> bool {
        self.completing_set().contains(id)
            || self
                .lock()
                .values()
                .any(|entry| entry.exchanged.as_ref().is_some_and(|e| e.id == id))
    }

    fn completing_set(&self) -> MutexGuard<'_, std::collections::HashSet<String>> {
        // Each access is one insert, remove or lookup: a poisoned set is still sound.
        self.completing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A callback begins verifying the stored exchange `id`.
    pub fn begin_completing(&self, id: &str) {
        self.completing_set().insert(id.to_owned());
    }

    pub fn end_completing(&self, id: &str) {
        self.completing_set().remove(id);
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
    let attempt = serving(agent, move |service| {
        Ok(service.prepare_attempt(&integration, user.as_deref())?)
    })
    .await?;
    let (listener, view) = match listen.then(|| bind(&attempt)) {
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
            exchanged: None,
            grant: None,
            cancel: CancellationToken::new(),
            listening: CancellationToken::new(),
        },
    );
    Ok(Reply::Prepared(reply))
}

/// The loopback listener for the attempt's callback URL, when that URL is on this machine.
async fn bind(attempt: &Attempt) -> Option<Result<CallbackListener, AuthorizeError>> {
    let target = callback::loopback_target(&attempt.app.callback_url)?;
    Some(
        callback::bind(&target, attempt.state.clone())
            .await
            .map_err(listener_failed),
    )
}

/// Step 2 of an authorization, by the loopback listener: waits for the browser's redirect
/// (bounded by [`callback::DEFAULT_TIMEOUT`]); an error answer means what it means in a
/// paste.
async fn code_from_listener(listener: CallbackListener) -> Result<String, AuthorizeError> {
    match listener
        .wait(callback::DEFAULT_TIMEOUT)
        .await
        .map_err(listener_failed)?
    {
        Callback::Code(code) => Ok(code),
        Callback::Denied { error, description } => {
            Err(authorize::denied(error, description).into())
        }
    }
}

fn listener_failed(error: CallbackError) -> AuthorizeError {
    AuthorizeError::Listener(error.to_string())
}

pub(super) async fn await_callback(agent: &Arc<Agent>, id: &str) -> Result<Reply, WireError> {
    let (listener, cancel, listening) = agent.attempts.with(id, |entry| {
        let listener = entry.listener.take().ok_or_else(|| {
            WireError::new(Exit::Usage,
                "this attempt has no loopback listener (its callback URL is not on this machine, or it is already waiting); paste the redirected URL instead",
            )
        })?;
        Ok((listener, entry.cancel.clone(), entry.listening.clone()))
    })?;
    let code = tokio::select! {
        code = code_from_listener(listener) => code?,
        () = cancel.cancelled() => return Err(gone()),
        () = listening.cancelled() => {
            return Err(WireError::new(Exit::Usage, "the code arrived another way; the listener has stopped"));
        }
    };
    agent.attempts.with(id, |entry| {
        entry.code = Some(code);
        Ok(Reply::CodeArrived)
    })
}

fn exchanged_already() -> WireError {
    WireError::new(
        Exit::Usage,
        "this attempt's code has been exchanged already; choose the site to finish",
    )
}

impl Attempts {
    /// A pasted redirect becomes the attempt's code once its state is this attempt's.
    pub fn redeem(&self, id: &str, pasted: &str) -> Result<Reply, WireError> {
        self.with(id, |entry| {
            if entry.exchanged.is_some() {
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

/// Trades the attempt's code for tokens, stores them at once (unverified), then asks which
/// Jira sites they reach. A retry after a temporary failure of the sites call asks again
/// with the stored tokens: the code is spent.
pub(super) async fn exchange(agent: &Arc<Agent>, id: &str) -> Result<Reply, WireError> {
    let (attempt, code, stored, cancel) = agent.attempts.with(id, |entry| {
        if entry.grant.is_some() {
            return Err(exchanged_already());
        }
        let code = match (&entry.exchanged, &entry.code) {
            (Some(_), _) => None,
            (None, Some(code)) => Some(code.clone()),
            (None, None) => {
                return Err(WireError::new(Exit::Usage,
                    "no code has come back for this attempt yet; consent in the browser, then paste the address it was sent to",
                ));
            }
        };
        Ok((
            entry.attempt.clone(),
            code,
            entry.exchanged.clone(),
            entry.cancel.clone(),
        ))
    })?;
    let exchanged = match (stored, code) {
        (Some(exchanged), _) => exchanged,
        (None, Some(code)) => {
            // Not cancellable: once the code is sent, Atlassian spends it whatever we do, so
            // the answer is written before Esc or a departed client is heard.
            let result = exchange_and_store(agent, &attempt, &code, None).await;
            let held = agent.attempts.with(id, |entry| {
                // Only a temporary failure before the answer leaves the code worth a retry.
                if !result.as_ref().is_err_and(AuthorizeError::is_temporary) {
                    entry.code = None;
                }
                if let Ok(exchanged) = &result {
                    entry.exchanged = Some(exchanged.clone());
                }
                Ok(())
            });
            // The entry holds it now (or the attempt is over and the resume may take it).
            if let Ok(exchanged) = &result {
                agent.attempts.end_completing(&exchanged.id);
            }
            held?;
            result?
        }
        // `with` above returned one of the two.
        (None, None) => return Err(gone()),
    };
    let exchanged = match with_live_token(agent, exchanged.clone()).await {
        Ok(Some(live)) => live,
        Ok(None) => return Err(gone()),
        Err(error) => return Err(end_on_permanent(agent, &exchanged, error).await),
    };
    let sites = tokio::select! {
        sites = authorize::find_sites(agent.http(), agent.service.endpoints(), &exchanged) => sites,
        () = cancel.cancelled() => return Err(gone()),
    };
    let sites = match sites {
        Ok(sites) => sites,
        Err(error) => return Err(end_on_permanent(agent, &exchanged, error).await),
    };
    let mut with_sites = exchanged.clone();
    with_sites.sites = Some(sites.clone());
    let noted = with_sites.clone();
    // The sites are kept with the exchange so that a resume (or `status`) knows them.
    blocking(agent, move |store| Ok(store.update_exchanged(&noted)?)).await?;
    agent.attempts.with(id, |entry| {
        entry.exchanged = Some(with_sites.clone());
        entry.grant = Some(Grant {
            exchanged: with_sites,
            sites: sites.clone(),
        });
        Ok(Reply::Sites { sites })
    })
}

/// The token call, then the store, with nothing in between: shared with end users' callbacks.
/// The exchange is marked as in hand from before the call, so that the resume never takes
/// it up while its caller still works on it; the caller ends the mark
/// ([`Attempts::end_completing`]) once it holds the exchange otherwise, or is done with it.
pub(super) async fn exchange_and_store(
    agent: &Arc<Agent>,
    attempt: &Attempt,
    code: &str,
    link: Option<String>,
) -> Result<Exchanged, AuthorizeError> {
    let id = authorize::new_exchange_id();
    agent.attempts.begin_completing(&id);
    let stored = exchange_then_store(agent, attempt, code, link, id.clone()).await;
    if stored.is_err() {
        agent.attempts.end_completing(&id);
    }
    stored
}

async fn exchange_then_store(
    agent: &Arc<Agent>,
    attempt: &Attempt,
    code: &str,
    link: Option<String>,
    id: String,
) -> Result<Exchanged, AuthorizeError> {
    // Atlassian spends the code the moment it answers: it is exchanged only when the answer
    // can be written (room on the disk, or the ballast to free for it). One statvfs.
    agent.room_for_outcome()?;
    let _in_flight = Exchanging::begin(&agent.attempts.exchanging);
    let tokens = authorize::exchange_code(agent.http(), attempt, code).await?;
    let attempt = attempt.clone();
    let stored = blocking(agent, move |store| {
        authorize::store_exchanged(store, &attempt, tokens, link, id, Timestamp::now())
            .map_err(WireError::from)
    })
    .await;
    match stored {
        Ok(exchanged) => {
            agent.changed();
            Ok(exchanged)
        }
        Err(error) => {
            crate::agent_log!("an exchanged code could not be stored: {}", error.sentence);
            Err(AuthorizeError::Unstored(error.sentence))
        }
    }
}

/// An exchange's access token lasts about an hour. A verification resumed later (an agent
/// started long after, a site chosen after a long pause, Atlassian's API down a while) first
/// renews it with the exchange's own refresh token, and writes the rotated pair into the
/// stored exchange before using it: a 401 from an expired token must never end a consent.
/// `None` when a newer exchange replaced this one meanwhile (it is not ours to renew).
pub(super) async fn with_live_token(
    agent: &Arc<Agent>,
    exchanged: Exchanged,
) -> Result<Option<Exchanged>, AuthorizeError> {
    let now = Timestamp::now();
    let lifetime = crate::service::refresh::access_lifetime(exchanged.expires_in);
    let expires = exchanged.exchanged_at.plus_secs(lifetime);
    let Some(refresh_token) = exchanged.refresh_token.clone() else {
        return Ok(Some(exchanged));
    };
    // A quarter of a short lifetime at most: a token that lives seconds is used as it is.
    if now.secs_until(expires) > RENEW_BEFORE_SECS.min(lifetime / 4) {
        return Ok(Some(exchanged));
    }
    let (service, name) = (Arc::clone(&agent.service), exchanged.integration.clone());
    let credentials = tokio::task::spawn_blocking(move || service.credentials_of(&name))
        .await
        .map_err(|e| AuthorizeError::Unstored(format!("the agent's store worker failed: {e}")))??;
    agent.room_for_outcome()?;
    // Atlassian rotates the refresh token as it answers: counted like an exchange in flight.
    let _in_flight = Exchanging::begin(&agent.attempts.exchanging);
    let grant =
        crate::atlassian::client::refresh(agent.http(), &credentials, &refresh_token).await?;
    let mut renewed = exchanged;
    // The record's times count from the consent: the new token's life is told from there.
    let since = renewed.exchanged_at.secs_until(now).max(0);
    let life = crate::service::refresh::access_lifetime(grant.expires_in);
    renewed.expires_in = u64::try_from(since.saturating_add(life)).ok();
    renewed.access_token = grant.access_token;
    if let Some(rotated) = grant.refresh_token {
        renewed.refresh_token = Some(rotated);
    }
    let (store, writing) = (Arc::clone(agent.service.shared_store()), renewed.clone());
    let kept = tokio::task::spawn_blocking(move || store.update_exchanged(&writing))
        .await
        .map_err(|e| AuthorizeError::Unstored(format!("the agent's store worker failed: {e}")))??;
    crate::agent_log!(
        "renewed the access token of an authorization still being verified ({})",
        crate::validate::text::sanitize(&renewed.integration, crate::validate::text::ID_CAP)
    );
    Ok(kept.then_some(renewed))
}

/// How close to its expiry an exchange's access token is renewed before a verification call.
const RENEW_BEFORE_SECS: i64 = 120;

/// A failure after the exchange was stored: a permanent one ends the exchange (the trail
/// says why); a temporary one leaves it stored for a retry or the resume.
pub(super) async fn end_on_permanent(
    agent: &Arc<Agent>,
    exchanged: &Exchanged,
    error: AuthorizeError,
) -> WireError {
    if error.ends_the_exchange() {
        let ended = exchanged.clone();
        let sentence = error.to_string();
        let _ = blocking(agent, move |store| {
            Ok(authorize::fail_exchanged(
                store,
                &ended,
                &sentence,
                Timestamp::now(),
            )?)
        })
        .await;
        agent.changed();
    }
    error.into()
}

pub(super) async fn finish(
    agent: &Arc<Agent>,
    id: &str,
    site_id: &str,
) -> Result<Reply, WireError> {
    let (grant, cancel) = agent.attempts.with(id, |entry| {
        let grant = entry.grant.clone().ok_or_else(|| {
            WireError::new(
                Exit::Usage,
                "this attempt has no tokens yet: exchange its code first",
            )
        })?;
        Ok((grant, entry.cancel.clone()))
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
    let exchanged = match with_live_token(agent, grant.exchanged.clone()).await {
        Ok(Some(live)) => live,
        Ok(None) => return Err(gone()),
        Err(error) => return Err(end_on_permanent(agent, &grant.exchanged, error).await),
    };
    if exchanged != grant.exchanged {
        // A retry of this step (a failed verification) uses the renewed token too.
        let renewed = exchanged.clone();
        agent.attempts.with(id, |entry| {
            if let Some(grant) = entry.grant.as_mut() {
                grant.exchanged = renewed;
            }
            Ok(())
        })?;
    }
    let myself = tokio::select! {
        myself = authorize::verify(agent.http(), agent.service.endpoints(), &exchanged, &site) => myself,
        () = cancel.cancelled() => return Err(gone()),
    };
    let myself = match myself {
        Ok(myself) => myself,
        Err(error) => return Err(end_on_permanent(agent, &exchanged, error).await),
    };
    let done = blocking(agent, move |store| {
        Ok(authorize::finish(
            store,
            &exchanged,
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
