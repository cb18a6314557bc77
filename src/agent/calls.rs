//! The agent client's typed calls: one method per request a face makes, each returning the
//! answer its request has, or a [`ClientError`]. A reply of another kind is
//! [`ClientError::Unexpected`], built here once; no face sees a raw [`Reply`]. Adding a
//! request is a protocol variant, a service method, a method here and a test.

use crate::agent::client::AgentLink;
use crate::agent::client_error::ClientError;
use crate::agent::protocol::{
    AgentInfo, AttemptView, DraftWire, EventTrail, LinkView, ListenerView, ReceiverPage,
    RefreshResult, Reply, Request, StatusJson, TokenReply,
};
use crate::domain::{Event, Integration, Site, Timestamp};
use crate::service::draft::ProfileDraft;
use crate::service::setup::SetupPlan;
use crate::service::status::StatusReport;
use crate::service::system_app::SystemAppInfo;

/// A profile the agent checked and saved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedProfile {
    pub name: String,
    pub callback_url: String,
    /// Warnings and notices that did not stop the save, one sentence each.
    pub remarks: Vec<String>,
}

/// A stored profile for the edit form: its draft without the secret, and whether one is kept.
#[derive(Debug)]
pub struct StoredProfile {
    pub draft: ProfileDraft,
    pub has_secret: bool,
}

/// An integration configured, and how many token sets of its previous app or mode went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Configured {
    pub integration: Integration,
    pub removed_tokens: usize,
}

/// The newest audit events, and how far back the trail goes (unknown to an older agent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Events {
    pub events: Vec<Event>,
    pub trail: Option<EventTrail>,
}

/// A reply of another kind than `asked` wants: a bug in one of the two processes.
fn unexpected(asked: &'static str, reply: &Reply) -> ClientError {
    ClientError::Unexpected {
        asked,
        reply: crate::validate::text::quoted(&format!("{reply:?}")),
    }
}

/// Sends `$request` and takes the reply `$pattern` names, as `$value`; any other kind is
/// [`unexpected`].
macro_rules! ask {
    ($link:expr, $asked:literal, $request:expr, $pattern:pat => $value:expr) => {
        match $link.call($request).await? {
            $pattern => Ok($value),
            other => Err(unexpected($asked, &other)),
        }
    };
}

impl AgentLink {
    /// Copies every record to `to`, checks each, marks this store moved; what was copied,
    /// and what may be shown of the target.
    pub async fn copy_store(
        &self,
        to: &str,
        force: bool,
    ) -> Result<(crate::service::copy::Copied, String), ClientError> {
        ask!(self, "store copy", Request::CopyStore { to: to.to_owned(), force },
            Reply::StoreCopied { copied, target } => (copied, target))
    }

    /// Pid, build, uptime and clients of the agent.
    pub async fn agent_status(&self) -> Result<AgentInfo, ClientError> {
        ask!(self, "agent status", Request::AgentStatus, Reply::AgentStatus(info) => info)
    }

    /// Every integration, token health and profile (no secret).
    pub async fn status(&self) -> Result<StatusReport, ClientError> {
        ask!(self, "status", Request::Status, Reply::Status(report) => report)
    }

    /// The status report as the exact text `status --json` prints, to pass through as it is.
    pub async fn status_json(&self) -> Result<StatusJson, ClientError> {
        ask!(self, "status json", Request::StatusJson, Reply::StatusJson(status) => status)
    }

    /// What may be shown of this host's system app, or the sentence saying why there is none.
    pub async fn system_app(&self) -> Result<Result<SystemAppInfo, String>, ClientError> {
        ask!(self, "system app", Request::SystemApp, Reply::SystemApp(app) => app)
    }

    /// Check and save a new profile.
    pub async fn add_profile(&self, draft: &ProfileDraft) -> Result<SavedProfile, ClientError> {
        let request = Request::AddProfile {
            draft: DraftWire::of(draft),
        };
        self.save_profile("add profile", request).await
    }

    /// Check and save an edited profile over `original`; an empty secret with `keep_secret`
    /// keeps the stored one.
    pub async fn replace_profile(
        &self,
        original: &str,
        draft: &ProfileDraft,
        keep_secret: bool,
    ) -> Result<SavedProfile, ClientError> {
        let request = Request::ReplaceProfile {
            original: original.to_owned(),
            draft: DraftWire::of(draft),
            keep_secret,
        };
        self.save_profile("replace profile", request).await
    }

    async fn save_profile(
        &self,
        asked: &'static str,
        request: Request,
    ) -> Result<SavedProfile, ClientError> {
        match self.call(request).await? {
            Reply::ProfileSaved {
                name,
                callback_url,
                remarks,
            } => Ok(SavedProfile {
                name,
                callback_url,
                remarks,
            }),
            other => Err(unexpected(asked, &other)),
        }
    }

    /// A stored profile for the edit form, without its secret.
    pub async fn open_profile(&self, name: &str) -> Result<StoredProfile, ClientError> {
        let request = Request::OpenProfile {
            name: name.to_owned(),
        };
        ask!(self, "open profile", request, Reply::Profile { draft, has_secret } => StoredProfile {
            draft: draft.into_draft(),
            has_secret,
        })
    }

    /// The client secret of a profile: only for the form's explicit reveal key.
    pub async fn reveal_secret(&self, name: &str) -> Result<String, ClientError> {
        let request = Request::RevealSecret {
            name: name.to_owned(),
        };
        ask!(self, "reveal secret", request, Reply::Secret { value } => value)
    }

    /// Delete a profile unless an integration uses it.
    pub async fn remove_profile(&self, name: &str) -> Result<(), ClientError> {
        let request = Request::RemoveProfile {
            name: name.to_owned(),
        };
        ask!(self, "remove profile", request, Reply::Ok => ())
    }

    /// Configure an integration.
    pub async fn setup(&self, plan: SetupPlan) -> Result<Configured, ClientError> {
        ask!(self, "setup", Request::Setup { plan }, Reply::Configured {
            integration,
            removed_tokens,
        } => Configured {
            integration,
            removed_tokens,
        })
    }

    /// Begin an authorization attempt; with `listen`, bind the loopback listener too.
    pub async fn prepare(
        &self,
        integration: &str,
        user: Option<&str>,
        listen: bool,
    ) -> Result<AttemptView, ClientError> {
        let request = Request::Prepare {
            integration: integration.to_owned(),
            user: user.map(str::to_owned),
            listen,
        };
        ask!(self, "prepare", request, Reply::Prepared(attempt) => attempt)
    }

    /// Wait until the loopback listener brings the attempt's code back.
    pub async fn await_callback(&self, attempt: &str) -> Result<(), ClientError> {
        let request = Request::AwaitCallback {
            attempt: attempt.to_owned(),
        };
        ask!(self, "await callback", request, Reply::CodeArrived => ())
    }

    /// Take the pasted redirect (or bare code) as the attempt's code.
    pub async fn redeem(&self, attempt: &str, pasted: String) -> Result<(), ClientError> {
        let request = Request::Redeem {
            attempt: attempt.to_owned(),
            pasted,
        };
        ask!(self, "redeem", request, Reply::Ok => ())
    }

    /// Trade the attempt's code for tokens: the sites they reach.
    pub async fn exchange(&self, attempt: &str) -> Result<Vec<Site>, ClientError> {
        let request = Request::Exchange {
            attempt: attempt.to_owned(),
        };
        ask!(self, "exchange", request, Reply::Sites { sites } => sites)
    }

    /// Verify on the chosen site (cloud id), store the token set and enable: the sentence
    /// that says so.
    pub async fn finish(&self, attempt: &str, site: &str) -> Result<String, ClientError> {
        let request = Request::Finish {
            attempt: attempt.to_owned(),
            site: site.to_owned(),
        };
        ask!(self, "finish", request, Reply::Authorized { sentence } => sentence)
    }

    /// Drop the attempt: stop its listener and any call in flight.
    pub async fn cancel(&self, attempt: &str) -> Result<(), ClientError> {
        let request = Request::Cancel {
            attempt: attempt.to_owned(),
        };
        ask!(self, "cancel", request, Reply::Ok => ())
    }

    /// An access token with at least `min_valid` seconds left, refreshed first if needed.
    pub async fn token(
        &self,
        integration: &str,
        user: Option<&str>,
        min_valid: i64,
    ) -> Result<TokenReply, ClientError> {
        let request = Request::Token {
            integration: integration.to_owned(),
            user: user.map(str::to_owned),
            min_valid,
        };
        ask!(self, "token", request, Reply::Token(token) => token)
    }

    /// Refresh now: one grant (`principal` given), one integration's grants, or every grant
    /// with `integration` `None`.
    pub async fn refresh(
        &self,
        integration: Option<String>,
        principal: Option<String>,
    ) -> Result<Vec<RefreshResult>, ClientError> {
        let request = Request::Refresh {
            integration,
            principal,
        };
        ask!(self, "refresh", request, Reply::Refreshed { results } => results)
    }

    /// The newest `limit` audit events, newest first.
    pub async fn events(&self, limit: usize) -> Result<Events, ClientError> {
        ask!(self, "events", Request::Events { limit }, Reply::Events { events, trail } => {
            Events { events, trail }
        })
    }

    /// Delete one token set (the user revokes the grant on Atlassian's side).
    pub async fn delete_tokens(
        &self,
        integration: &str,
        principal: &str,
    ) -> Result<(), ClientError> {
        let request = Request::DeleteTokens {
            integration: integration.to_owned(),
            principal: principal.to_owned(),
        };
        ask!(self, "delete tokens", request, Reply::Ok => ())
    }

    /// Hand an end user a personal authorization link, valid for `ttl_secs`.
    pub async fn link(
        &self,
        integration: &str,
        user: &str,
        ttl_secs: i64,
    ) -> Result<LinkView, ClientError> {
        let request = Request::Link {
            integration: integration.to_owned(),
            user: user.to_owned(),
            ttl_secs,
        };
        ask!(self, "link", request, Reply::Link(view) => view)
    }

    /// Wait until the link `handle` names is authorized: the sentence that says as whom.
    pub async fn await_link(&self, handle: &str) -> Result<String, ClientError> {
        let request = Request::AwaitLink {
            handle: handle.to_owned(),
        };
        ask!(self, "await link", request, Reply::LinkDone { sentence } => sentence)
    }

    /// The page a callback the receiver got is answered with; the agent judges it all.
    pub async fn callback(&self, path: &str, query: &str) -> Result<ReceiverPage, ClientError> {
        let request = Request::Callback {
            path: path.to_owned(),
            query: query.to_owned(),
        };
        ask!(self, "callback", request, Reply::Page(page) => page)
    }
}

// What both faces say of an answer, worded here once.

impl RefreshResult {
    /// One grant's refresh as the CLI and the console say it: "jira admin: refreshed; the
    /// access token is good for 1h 0m", or "jira admin: " and why it failed.
    pub fn sentence(&self, now: Timestamp) -> Result<String, String> {
        let who = format!("{} {}", self.integration, self.principal);
        match &self.outcome {
            Ok(expires_at) => Ok(format!(
                "{who}: refreshed; the access token is good for {}",
                crate::service::format::duration(now.secs_until(*expires_at))
            )),
            Err(e) => Err(format!("{who}: {}", e.sentence)),
        }
    }
}

/// What comes before the `ssh -L` command of [`AttemptView::ssh_hint`], in both faces.
pub const SSH_HINT_LEAD: &str = "Over SSH, first run on your laptop: ";

impl AttemptView {
    /// The `ssh -L` command that brings the browser's callback to this attempt's listener,
    /// when this process runs over SSH and the listener is up.
    pub fn ssh_hint(&self) -> Option<String> {
        match self.listener {
            ListenerView::Listening { port } => crate::callback::ssh_forward_hint_from_env(port),
            _ => None,
        }
    }
}

/// What the console says once a grant's tokens are deleted: the grant itself lives on at
/// Atlassian until the user revokes it there.
pub fn tokens_deleted(integration: &str, principal: &str) -> String {
    format!(
        "Deleted the token of {integration} for {principal}. Revoke the grant on Atlassian's side too (the user's account settings, Connected apps)."
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::{Exit, Exits};

    #[test]
    fn a_reply_of_another_kind_is_one_error_with_exit_1() {
        let error = unexpected("status", &Reply::Ok);
        assert_eq!(error.exit(), Exit::Failed);
        assert_eq!(
            error.to_string(),
            "the agent answered with an unexpected \"Ok\"; stop it (`jira-auth agent stop`) and try again"
        );
    }

    #[test]
    fn a_refresh_is_worded_with_its_grant_either_way() {
        let now = Timestamp::now();
        let mut result = RefreshResult {
            integration: "jira".into(),
            principal: "admin".into(),
            outcome: Ok(now.plus_secs(3600)),
        };
        assert_eq!(
            result.sentence(now),
            Ok("jira admin: refreshed; the access token is good for 1h 0m".into())
        );
        result.outcome = Err(crate::agent::protocol::WireError::new(
            Exit::Reauthorize,
            "Atlassian refused the refresh token",
        ));
        assert_eq!(
            result.sentence(now),
            Err("jira admin: Atlassian refused the refresh token".into())
        );
    }
}
