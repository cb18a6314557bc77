//! The effect runner: does what `update` asked for and reports back as `Msg`. Everything that
//! touches the store or Atlassian is a request to the agent on a tokio task; the clipboard
//! stays here, on the loop's thread: one long-lived handle (X11 forgets a copy when its owner
//! goes), and OSC 52 bytes must not interleave with a frame being drawn.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::browser;
use super::message::{
    Effect, EventsPage, IssuedLink, ListenerEnd, Msg, Outcome, Prepared, StepFailure,
};
use crate::agent::tokens_deleted;
use crate::agent::{AgentLink, ClientError, Notice};
use crate::clipboard::{Clipboard, ClipboardEnv, CopyRoute};
use crate::domain::Timestamp;
use crate::exit::{Exit, Exits};

pub struct EffectRunner {
    link: Arc<AgentLink>,
    sender: mpsc::UnboundedSender<Msg>,
    clipboard: Clipboard,
    /// Calls of the current authorization attempt, aborted by Esc.
    calls: Vec<JoinHandle<()>>,
    reconnecting: Option<JoinHandle<()>>,
}

/// The sentence of a failed call, for the screens.
fn sentence(error: &ClientError) -> String {
    error.to_string()
}

/// A call's answer for a screen: the value, or the sentence of why not.
fn said<T>(result: Result<T, ClientError>) -> Result<T, String> {
    result.map_err(|e| sentence(&e))
}

impl EffectRunner {
    pub fn new(link: Arc<AgentLink>, sender: mpsc::UnboundedSender<Msg>) -> Self {
        EffectRunner {
            link,
            sender,
            clipboard: Clipboard::new(ClipboardEnv::from_env()),
            calls: Vec::new(),
            reconnecting: None,
        }
    }

    /// Runs one call on a task; `answer` turns its result into the message to send.
    fn request<T, F>(
        &self,
        call: impl FnOnce(Arc<AgentLink>) -> F,
        answer: impl FnOnce(Result<T, ClientError>) -> Msg + Send + 'static,
    ) -> JoinHandle<()>
    where
        F: Future<Output = Result<T, ClientError>> + Send + 'static,
    {
        let call = call(Arc::clone(&self.link));
        let sender = self.sender.clone();
        tokio::spawn(async move {
            let result = call.await;
            let _ = sender.send(answer(result));
        })
    }

    /// Like `request`, for an authorization call that Esc must be able to abort.
    fn tracked<T, F>(
        &mut self,
        call: impl FnOnce(Arc<AgentLink>) -> F,
        answer: impl FnOnce(Result<T, ClientError>) -> Msg + Send + 'static,
    ) where
        F: Future<Output = Result<T, ClientError>> + Send + 'static,
    {
        self.calls.retain(|h| !h.is_finished());
        let handle = self.request(call, answer);
        self.calls.push(handle);
    }

    pub fn spawn(&mut self, effect: Effect) {
        match effect {
            Effect::LoadStatus => {
                self.request(
                    |link| async move { link.status().await },
                    |result| Msg::StatusLoaded(said(result)),
                );
            }
            Effect::LoadSystemApp => {
                self.request(
                    |link| async move { link.system_app().await },
                    |result| Msg::SystemAppLoaded(said(result).and_then(|app| app)),
                );
            }
            Effect::Reconnect => self.reconnect(),
            Effect::RefreshGrant {
                integration,
                principal,
            } => {
                self.request(
                    |link| async move { link.refresh(Some(integration), Some(principal)).await },
                    |result| {
                        Msg::Done(Outcome::GrantRefreshed(said(result).and_then(|results| {
                            match results.first() {
                                Some(result) => result.sentence(Timestamp::now()),
                                None => Err("that token set is gone".into()),
                            }
                        })))
                    },
                );
            }
            Effect::DeleteTokens {
                integration,
                principal,
            } => {
                let done = tokens_deleted(&integration, &principal);
                self.request(
                    |link| async move { link.delete_tokens(&integration, &principal).await },
                    move |result| Msg::Done(Outcome::TokensDeleted(said(result).map(|()| done))),
                );
            }
            Effect::IssueLink { integration, user } => {
                let ttl_secs = crate::service::links::DEFAULT_TTL_SECS;
                let issued_at = Timestamp::now();
                self.request(
                    |link| async move { link.link(&integration, &user, ttl_secs).await },
                    move |result| {
                        Msg::Done(Outcome::LinkIssued(said(result).map(|view| IssuedLink {
                            integration: view.integration,
                            user: view.user,
                            url: view.url,
                            issued_at,
                            expires_at: view.expires_at,
                        })))
                    },
                );
            }
            Effect::LoadEvents { limit } => {
                self.request(
                    |link| async move { link.events(limit).await },
                    |result| {
                        Msg::Done(Outcome::EventsLoaded(said(result).map(|page| EventsPage {
                            events: page.events,
                            trail: page.trail,
                        })))
                    },
                );
            }
            Effect::Copy { text, what } => {
                let report = self.clipboard.copy(&text, &mut std::io::stdout());
                self.done(Outcome::Copied {
                    what,
                    note: report.note,
                    delivered: report.route != CopyRoute::ScreenOnly,
                });
            }
            Effect::OpenBrowser { url } => self.done(Outcome::BrowserOpened(browser::open(&url))),
            effect @ (Effect::SaveProfile { .. }
            | Effect::RevealSecret { .. }
            | Effect::OpenProfile { .. }
            | Effect::DeleteProfile { .. }
            | Effect::SaveIntegration { .. }) => self.configure(effect),
            effect => self.authorize(effect),
        }
    }

    fn done(&self, outcome: Outcome) {
        let _ = self.sender.send(Msg::Done(outcome));
    }

    /// Profiles and integrations.
    fn configure(&mut self, effect: Effect) {
        match effect {
            Effect::SaveProfile {
                draft,
                original,
                keep_secret,
            } => {
                self.request(
                    |link| async move {
                        match original {
                            Some(original) => {
                                link.replace_profile(&original, &draft, keep_secret).await
                            }
                            None => link.add_profile(&draft).await,
                        }
                    },
                    |result| Msg::Done(Outcome::ProfileSaved(said(result).map(|saved| saved.name))),
                );
            }
            Effect::RevealSecret { name } => {
                self.request(
                    |link| async move { link.reveal_secret(&name).await },
                    |result| Msg::Done(Outcome::SecretRevealed(said(result))),
                );
            }
            Effect::OpenProfile { name, mode } => {
                self.request(
                    |link| async move { link.open_profile(&name).await },
                    move |result| {
                        let (draft, stored_secret) = match result {
                            Ok(stored) => (Ok(Box::new(stored.draft)), stored.has_secret),
                            Err(e) => (Err(sentence(&e)), false),
                        };
                        Msg::Done(Outcome::ProfileOpened {
                            draft,
                            mode,
                            stored_secret,
                        })
                    },
                );
            }
            Effect::DeleteProfile { name } => {
                let deleted = name.clone();
                self.request(
                    |link| async move { link.remove_profile(&name).await },
                    move |result| {
                        Msg::Done(Outcome::ProfileDeleted(said(result).map(|()| deleted)))
                    },
                );
            }
            Effect::SaveIntegration { plan } => {
                self.request(
                    |link| async move { link.setup(plan).await },
                    |result| {
                        Msg::Done(Outcome::IntegrationSaved(
                            said(result).map(|configured| configured.integration.name),
                        ))
                    },
                );
            }
            _ => {}
        }
    }

    /// The authorize screen's calls; the agent holds the attempt.
    fn authorize(&mut self, effect: Effect) {
        match effect {
            Effect::PrepareAuthorize { integration, user } => {
                self.tracked(
                    |link| async move { link.prepare(&integration, user.as_deref(), true).await },
                    |result| {
                        Msg::Done(Outcome::AuthorizePrepared(said(result).map(|attempt| {
                            let ssh_hint = attempt.ssh_hint();
                            Box::new(Prepared { attempt, ssh_hint })
                        })))
                    },
                );
            }
            Effect::AwaitCallback { attempt } => {
                self.tracked(
                    |link| async move { link.await_callback(&attempt).await },
                    |result| {
                        Msg::Done(Outcome::CodeReceived(match result {
                            Ok(()) => ListenerEnd::Code,
                            // 3: the user declined; a new consent is the way on.
                            Err(e) if e.exit() == Exit::Reauthorize => {
                                ListenerEnd::Declined(sentence(&e))
                            }
                            Err(e) => ListenerEnd::Stopped(sentence(&e)),
                        }))
                    },
                );
            }
            Effect::SubmitPaste { attempt, text } => {
                self.tracked(
                    |link| async move { link.redeem(&attempt, text).await },
                    |result| Msg::Done(Outcome::PasteChecked(said(result))),
                );
            }
            Effect::Exchange { attempt } => {
                let retry = Effect::Exchange {
                    attempt: attempt.clone(),
                };
                self.tracked(
                    |link| async move { link.exchange(&attempt).await },
                    move |result| {
                        Msg::Done(Outcome::Exchanged(result.map_err(|e| failure(&e, retry))))
                    },
                );
            }
            Effect::FinishAuthorize { attempt, site } => {
                let retry = Effect::FinishAuthorize {
                    attempt: attempt.clone(),
                    site: site.clone(),
                };
                self.tracked(
                    |link| async move { link.finish(&attempt, &site).await },
                    move |result| {
                        Msg::Done(Outcome::AuthorizeFinished(
                            result.map_err(|e| failure(&e, retry)),
                        ))
                    },
                );
            }
            Effect::CancelAuthorize { attempt } => {
                for call in self.calls.drain(..) {
                    call.abort();
                }
                if let Some(attempt) = attempt {
                    // The agent drops the attempt and frees the listener's port; nobody
                    // waits for the answer.
                    let link = Arc::clone(&self.link);
                    tokio::spawn(async move {
                        let _ = link.cancel(&attempt).await;
                    });
                }
            }
            _ => {}
        }
    }

    /// Connects again (starting an agent) until it works, a little slower each time.
    fn reconnect(&mut self) {
        if self.reconnecting.as_ref().is_some_and(|h| !h.is_finished()) {
            return;
        }
        let link = Arc::clone(&self.link);
        let sender = self.sender.clone();
        self.reconnecting = Some(tokio::spawn(async move {
            let mut pause = Duration::from_millis(100);
            loop {
                match link.connection().await {
                    // The link itself announces `Notice::Reconnected`.
                    Ok(_) => return,
                    Err(e) => {
                        let _ = sender.send(Msg::Agent(Notice::Lost(format!(
                            "cannot reach the agent ({}); trying again",
                            sentence(&e)
                        ))));
                    }
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
        }));
    }
}

/// A failed authorization step, with the effect that retries it when a retry can help.
fn failure(error: &ClientError, retry: Effect) -> StepFailure {
    let temporary = error.exit().is_temporary();
    StepFailure {
        sentence: sentence(error),
        retry: temporary.then(|| Box::new(retry)),
    }
}
