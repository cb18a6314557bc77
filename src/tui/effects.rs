//! The effect runner: does what `update` asked for and reports back as `Msg`. Store calls go
//! through `spawn_blocking` since sled blocks. The clipboard stays here, on the loop's
//! thread: one long-lived handle (X11 forgets a copy when its owner goes), and OSC 52 bytes
//! must not interleave with a frame being drawn.

use std::sync::Arc;

use tokio::sync::mpsc;

use tokio::task::JoinHandle;

use super::app::{Effect, ListenerEnd, Msg, Outcome, StepFailure};
use super::browser;
use crate::atlassian::Endpoints;
use crate::atlassian::client;
use crate::atlassian::redirect::RedirectError;
use crate::callback::{self, Callback};
use crate::clipboard::{Clipboard, ClipboardEnv, CopyRoute};
use crate::domain::Site;
use crate::domain::Timestamp;
use crate::service;
use crate::service::authorize::{self, Attempt, AuthorizeError, Grant};
use crate::service::draft::ProfileDraft;
use crate::service::system_app::SystemApp;
use crate::store::Store;

pub struct EffectRunner {
    store: Arc<dyn Store>,
    sender: mpsc::UnboundedSender<Msg>,
    endpoints: Endpoints,
    system_app: Option<Arc<SystemApp>>,
    clipboard: Clipboard,
    http: reqwest::Client,
    /// The loopback listener of the current attempt; aborting it closes the socket.
    listener: Option<JoinHandle<()>>,
    /// Network calls of the current attempt, aborted by Esc.
    calls: Vec<JoinHandle<()>>,
}

impl EffectRunner {
    pub fn new(
        store: Arc<dyn Store>,
        sender: mpsc::UnboundedSender<Msg>,
        endpoints: Endpoints,
        system_app: Option<SystemApp>,
    ) -> Self {
        EffectRunner {
            store,
            sender,
            endpoints,
            system_app: system_app.map(Arc::new),
            clipboard: Clipboard::new(ClipboardEnv::from_env()),
            http: client::http_client(),
            listener: None,
            calls: Vec::new(),
        }
    }

    fn stop_listener(&mut self) {
        if let Some(handle) = self.listener.take() {
            handle.abort();
        }
    }

    fn track(&mut self, handle: JoinHandle<()>) {
        self.calls.retain(|h| !h.is_finished());
        self.calls.push(handle);
    }

    pub fn spawn(&mut self, effect: Effect) {
        let store = Arc::clone(&self.store);
        let sender = self.sender.clone();
        let endpoints = self.endpoints.clone();
        let done = move |outcome| {
            let _ = sender.send(Msg::Done(outcome));
        };
        match effect {
            Effect::LoadStatus => {
                let sender = self.sender.clone();
                tokio::task::spawn_blocking(move || {
                    let result = service::status::status(store.as_ref(), Timestamp::now())
                        .map_err(|e| e.to_string());
                    let _ = sender.send(Msg::StatusLoaded(result));
                });
            }
            Effect::SaveProfile { draft, original } => {
                tokio::task::spawn_blocking(move || {
                    let now = Timestamp::now();
                    let store = store.as_ref();
                    let result = match original {
                        Some(original) => {
                            service::profiles::replace(store, &original, &draft, &endpoints, now)
                        }
                        None => service::profiles::add(store, &draft, &endpoints, now)
                            .map(|(profile, _)| profile),
                    };
                    let result = result.map(|p| p.name).map_err(|e| e.to_string());
                    done(Outcome::ProfileSaved(result));
                });
            }
            Effect::OpenProfile { name, mode } => {
                tokio::task::spawn_blocking(move || {
                    let draft = match store.profile(&name) {
                        Ok(Some(profile)) => Ok(Box::new(ProfileDraft::from_profile(&profile))),
                        Ok(None) => Err(format!("the profile {name:?} is gone from the store")),
                        Err(e) => Err(e.to_string()),
                    };
                    done(Outcome::ProfileOpened { draft, mode });
                });
            }
            Effect::DeleteProfile { name } => {
                tokio::task::spawn_blocking(move || {
                    let result = service::profiles::remove(store.as_ref(), &name)
                        .map(|()| name)
                        .map_err(|e| e.to_string());
                    done(Outcome::ProfileDeleted(result));
                });
            }
            Effect::SaveIntegration { plan } => {
                let system_app = self.system_app.clone();
                tokio::task::spawn_blocking(move || {
                    let system = system_app
                        .as_deref()
                        .ok_or_else(|| "no system app is configured on this host".to_owned());
                    let result =
                        service::setup::apply(store.as_ref(), &plan, system, Timestamp::now())
                            .map(|r| r.integration.name)
                            .map_err(|e| e.to_string());
                    done(Outcome::IntegrationSaved(result));
                });
            }
            Effect::PrepareAuthorize { integration, user } => {
                let system_app = self.system_app.clone();
                tokio::task::spawn_blocking(move || {
                    let system = system_app
                        .as_deref()
                        .ok_or_else(|| "no system app is configured on this host".to_owned());
                    let result =
                        authorize::prepare(store.as_ref(), &integration, user.as_deref(), system)
                            .map(Box::new)
                            .map_err(|e| e.to_string());
                    done(Outcome::AuthorizePrepared(result));
                });
            }
            Effect::Listen {
                callback_url,
                state,
            } => {
                self.stop_listener();
                self.listener = Some(tokio::spawn(listen(callback_url, state, done)));
            }
            Effect::StopListener => self.stop_listener(),
            Effect::Exchange { attempt, code } => {
                let http = self.http.clone();
                self.track(tokio::spawn(async move {
                    let result = authorize::exchange(&http, &endpoints, &attempt, &code).await;
                    done(Outcome::Exchanged(result.map(Box::new).map_err(|e| {
                        let retry = e
                            .is_temporary()
                            .then(|| Box::new(Effect::Exchange { attempt, code }));
                        StepFailure {
                            sentence: e.to_string(),
                            retry,
                        }
                    })));
                }));
            }
            Effect::FinishAuthorize {
                attempt,
                grant,
                site,
            } => {
                let http = self.http.clone();
                self.track(tokio::spawn(async move {
                    let result = finish(&http, &endpoints, store, &attempt, &grant, &site).await;
                    done(Outcome::AuthorizeFinished(result.map_err(|e| {
                        let retry = e.is_temporary().then(|| {
                            Box::new(Effect::FinishAuthorize {
                                attempt,
                                grant,
                                site,
                            })
                        });
                        StepFailure {
                            sentence: e.to_string(),
                            retry,
                        }
                    })));
                }));
            }
            Effect::CancelAuthorize => {
                self.stop_listener();
                for call in self.calls.drain(..) {
                    call.abort();
                }
            }
            Effect::OpenBrowser { url } => done(Outcome::BrowserOpened(browser::open(&url))),
            Effect::Copy { text, what } => {
                let report = self.clipboard.copy(&text, &mut std::io::stdout());
                done(Outcome::Copied {
                    what,
                    note: report.note,
                    delivered: report.route != CopyRoute::ScreenOnly,
                });
            }
        }
    }
}

/// Binds the loopback listener and waits for the one right redirect.
async fn listen(callback_url: String, state: String, done: impl Fn(Outcome)) {
    let Some(target) = callback::loopback_target(&callback_url) else {
        done(Outcome::ListenerStarted(Err(
            "the callback URL is not on this machine".into(),
        )));
        return;
    };
    let listener = match callback::bind(&target, state).await {
        Ok(listener) => listener,
        Err(e) => {
            done(Outcome::ListenerStarted(Err(e.to_string())));
            return;
        }
    };
    let port = listener.port();
    done(Outcome::ListenerStarted(Ok((
        port,
        callback::ssh_forward_hint_from_env(port),
    ))));
    let end = match listener.wait(callback::DEFAULT_TIMEOUT).await {
        Ok(Callback::Code(code)) => ListenerEnd::Code(code),
        Ok(Callback::Denied { error, description }) => {
            ListenerEnd::Declined(RedirectError::Declined { error, description }.to_string())
        }
        Err(e) => ListenerEnd::Stopped(e.to_string()),
    };
    done(Outcome::CodeReceived(end));
}

/// Verify on the site (network), then store (sled, on the blocking pool).
async fn finish(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    store: Arc<dyn Store>,
    attempt: &Attempt,
    grant: &Grant,
    site: &Site,
) -> Result<String, AuthorizeError> {
    let myself = authorize::verify(http, endpoints, grant, site).await?;
    let (attempt, grant, site) = (attempt.clone(), grant.clone(), site.clone());
    let done = tokio::task::spawn_blocking(move || {
        authorize::finish(
            store.as_ref(),
            &attempt,
            grant,
            site,
            myself,
            Timestamp::now(),
        )
    })
    .await
    .map_err(|e| AuthorizeError::Store(crate::store::StoreError::Backend(e.to_string())))??;
    Ok(format!(
        "Authorized as {} on {} ({}); {} is enabled.",
        done.myself.display_name, done.site.name, done.site.url, done.tokens.integration
    ))
}
