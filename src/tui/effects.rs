//! The effect runner: does what `update` asked for and reports back as `Msg`. Everything that
//! touches the store or Atlassian is a request to the agent on a tokio task; the clipboard
//! stays here, on the loop's thread: one long-lived handle (X11 forgets a copy when its owner
//! goes), and OSC 52 bytes must not interleave with a frame being drawn.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::browser;
use super::message::{
    Effect, EventsPage, IssuedLink, ListenerEnd, Msg, Outcome, Prepared, StepFailure,
};
use crate::agent::protocol::{DraftWire, ListenerView, Reply, Request};
use crate::agent::{AgentLink, ClientError, Notice};
use crate::clipboard::{Clipboard, ClipboardEnv, CopyRoute};
use crate::exit::{Exit, Exits};
use crate::service::authorize::ssh_forward_hint;

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

fn unexpected(reply: &Reply) -> String {
    format!(
        "the agent answered with an unexpected {}",
        crate::validate::text::quoted(&format!("{reply:?}"))
    )
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

    /// Runs one request on a task; `answer` turns its result into the message to send.
    fn request(
        &self,
        request: Request,
        answer: impl FnOnce(Result<Reply, ClientError>) -> Msg + Send + 'static,
    ) -> JoinHandle<()> {
        let link = Arc::clone(&self.link);
        let sender = self.sender.clone();
        tokio::spawn(async move {
            let result = link.call(request).await;
            let _ = sender.send(answer(result));
        })
    }

    /// Like `request`, for an authorization call that Esc must be able to abort.
    fn tracked(
        &mut self,
        request: Request,
        answer: impl FnOnce(Result<Reply, ClientError>) -> Msg + Send + 'static,
    ) {
        self.calls.retain(|h| !h.is_finished());
        let handle = self.request(request, answer);
        self.calls.push(handle);
    }

    /// A request whose answer nobody waits for.
    fn tell(&self, request: Request) {
        let link = Arc::clone(&self.link);
        tokio::spawn(async move {
            let _ = link.call(request).await;
        });
    }

    pub fn spawn(&mut self, effect: Effect) {
        match effect {
            Effect::LoadStatus => {
                self.request(Request::Status, |result| {
                    Msg::StatusLoaded(match result {
                        Ok(Reply::Status(report)) => Ok(report),
                        Ok(other) => Err(unexpected(&other)),
                        Err(e) => Err(sentence(&e)),
                    })
                });
            }
            Effect::LoadSystemApp => {
                self.request(Request::SystemApp, |result| {
                    Msg::SystemAppLoaded(match result {
                        Ok(Reply::SystemApp(app)) => app,
                        Ok(other) => Err(unexpected(&other)),
                        Err(e) => Err(sentence(&e)),
                    })
                });
            }
            Effect::Reconnect => self.reconnect(),
            Effect::RefreshGrant {
                integration,
                principal,
            } => {
                let request = Request::Refresh {
                    integration: Some(integration),
                    principal: Some(principal),
                };
                self.request(request, |result| {
                    Msg::Done(Outcome::GrantRefreshed(match result {
                        Ok(Reply::Refreshed { results }) => match results.into_iter().next() {
                            Some(result) => match result.outcome {
                                Ok(expires_at) => Ok(format!(
                                    "Refreshed {} {}; the access token expires at {}.",
                                    result.integration,
                                    result.principal,
                                    expires_at.rfc3339()
                                )),
                                Err(e) => Err(e.sentence),
                            },
                            None => Err("that token set is gone".into()),
                        },
                        Ok(other) => Err(unexpected(&other)),
                        Err(e) => Err(sentence(&e)),
                    }))
                });
            }
            Effect::DeleteTokens {
                integration,
                principal,
            } => {
                let said = format!(
                    "Deleted the token of {integration} for {principal}. Revoke the grant on Atlassian's side too (the user's account settings, Connected apps)."
                );
                let request = Request::DeleteTokens {
                    integration,
                    principal,
                };
                self.request(request, move |result| {
                    Msg::Done(Outcome::TokensDeleted(match result {
                        Ok(Reply::Ok) => Ok(said),
                        Ok(other) => Err(unexpected(&other)),
                        Err(e) => Err(sentence(&e)),
                    }))
                });
            }
            Effect::IssueLink { integration, user } => {
                let request = Request::Link {
                    integration,
                    user,
                    ttl_secs: crate::service::links::DEFAULT_TTL_SECS,
                };
                let issued_at = crate::domain::Timestamp::now();
                self.request(request, move |result| {
                    Msg::Done(Outcome::LinkIssued(match result {
                        Ok(Reply::Link(view)) => Ok(IssuedLink {
                            integration: view.integration,
                            user: view.user,
                            url: view.url,
                            issued_at,
                            expires_at: view.expires_at,
                        }),
                        Ok(other) => Err(unexpected(&other)),
                        Err(e) => Err(sentence(&e)),
                    }))
                });
            }
            Effect::LoadEvents { limit } => {
                self.request(Request::Events { limit }, |result| {
                    Msg::Done(Outcome::EventsLoaded(match result {
                        Ok(Reply::Events { events, trail }) => Ok(EventsPage { events, trail }),
                        Ok(other) => Err(unexpected(&other)),
                        Err(e) => Err(sentence(&e)),
                    }))
                });
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
        let saved = |result: Result<Reply, ClientError>| match result {
            Ok(Reply::ProfileSaved { name, .. }) => Ok(name),
            Ok(other) => Err(unexpected(&other)),
            Err(e) => Err(sentence(&e)),
        };
        match effect {
            Effect::SaveProfile {
                draft,
                original,
                keep_secret,
            } => {
                let draft = DraftWire::of(&draft);
                let request = match original {
                    Some(original) => Request::ReplaceProfile {
                        original,
                        draft,
                        keep_secret,
                    },
                    None => Request::AddProfile { draft },
                };
                self.request(request, move |r| Msg::Done(Outcome::ProfileSaved(saved(r))));
            }
            Effect::RevealSecret { name } => {
                self.request(Request::RevealSecret { name }, |result| {
                    Msg::Done(Outcome::SecretRevealed(match result {
                        Ok(Reply::Secret { value }) => Ok(value),
                        Ok(other) => Err(unexpected(&other)),
                        Err(e) => Err(sentence(&e)),
                    }))
                });
            }
            Effect::OpenProfile { name, mode } => {
                self.request(Request::OpenProfile { name }, move |result| {
                    let (draft, stored_secret) = match result {
                        Ok(Reply::Profile { draft, has_secret }) => {
                            (Ok(Box::new(draft.into_draft())), has_secret)
                        }
                        Ok(other) => (Err(unexpected(&other)), false),
                        Err(e) => (Err(sentence(&e)), false),
                    };
                    Msg::Done(Outcome::ProfileOpened {
                        draft,
                        mode,
                        stored_secret,
                    })
                });
            }
            Effect::DeleteProfile { name } => {
                let deleted = name.clone();
                self.request(Request::RemoveProfile { name }, move |result| {
                    Msg::Done(Outcome::ProfileDeleted(match result {
                        Ok(Reply::Ok) => Ok(deleted),
                        Ok(other) => Err(unexpected(&other)),
                        Err(e) => Err(sentence(&e)),
                    }))
                });
            }
            Effect::SaveIntegration { plan } => {
                self.request(Request::Setup { plan }, |result| {
                    Msg::Done(Outcome::IntegrationSaved(match result {
                        Ok(Reply::Configured { integration, .. }) => Ok(integration.name),
                        Ok(other) => Err(unexpected(&other)),
                        Err(e) => Err(sentence(&e)),
                    }))
                });
            }
            _ => {}
        }
    }

    /// The authorize screen's calls; the agent holds the attempt.
    fn authorize(&mut self, effect: Effect) {
        match effect {
            Effect::PrepareAuthorize { integration, user } => {
                let request = Request::Prepare {
                    integration,
                    user,
                    listen: true,
                };
                self.tracked(request, |result| {
                    Msg::Done(Outcome::AuthorizePrepared(match result {
                        Ok(Reply::Prepared(attempt)) => {
                            let ssh_hint = match attempt.listener {
                                ListenerView::Listening { port } => ssh_forward_hint(port),
                                _ => None,
                            };
                            Ok(Box::new(Prepared { attempt, ssh_hint }))
                        }
                        Ok(other) => Err(unexpected(&other)),
                        Err(e) => Err(sentence(&e)),
                    }))
                });
            }
            Effect::AwaitCallback { attempt } => {
                self.tracked(Request::AwaitCallback { attempt }, |result| {
                    Msg::Done(Outcome::CodeReceived(match result {
                        Ok(Reply::CodeArrived) => ListenerEnd::Code,
                        Ok(other) => ListenerEnd::Stopped(unexpected(&other)),
                        // 3: the user declined; a new consent is the way on.
                        Err(e) if e.exit() == Exit::Reauthorize => {
                            ListenerEnd::Declined(sentence(&e))
                        }
                        Err(e) => ListenerEnd::Stopped(sentence(&e)),
                    }))
                });
            }
            Effect::SubmitPaste { attempt, text } => {
                let request = Request::Redeem {
                    attempt,
                    pasted: text,
                };
                self.tracked(request, |result| {
                    Msg::Done(Outcome::PasteChecked(match result {
                        Ok(Reply::Ok) => Ok(()),
                        Ok(other) => Err(unexpected(&other)),
                        Err(e) => Err(sentence(&e)),
                    }))
                });
            }
            Effect::Exchange { attempt } => {
                let retry = Effect::Exchange {
                    attempt: attempt.clone(),
                };
                self.tracked(Request::Exchange { attempt }, move |result| {
                    Msg::Done(Outcome::Exchanged(match result {
                        Ok(Reply::Sites { sites }) => Ok(sites),
                        Ok(other) => Err(StepFailure {
                            sentence: unexpected(&other),
                            retry: None,
                        }),
                        Err(e) => Err(failure(&e, retry)),
                    }))
                });
            }
            Effect::FinishAuthorize { attempt, site } => {
                let retry = Effect::FinishAuthorize {
                    attempt: attempt.clone(),
                    site: site.clone(),
                };
                self.tracked(Request::Finish { attempt, site }, move |result| {
                    Msg::Done(Outcome::AuthorizeFinished(match result {
                        Ok(Reply::Authorized { sentence }) => Ok(sentence),
                        Ok(other) => Err(StepFailure {
                            sentence: unexpected(&other),
                            retry: None,
                        }),
                        Err(e) => Err(failure(&e, retry)),
                    }))
                });
            }
            Effect::CancelAuthorize { attempt } => {
                for call in self.calls.drain(..) {
                    call.abort();
                }
                if let Some(attempt) = attempt {
                    // The agent drops the attempt and frees the listener's port.
                    self.tell(Request::Cancel { attempt });
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
