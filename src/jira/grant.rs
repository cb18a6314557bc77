//! One grant's access token, from the agent, kept while it lasts. Refresh tokens never leave
//! the agent; an access token does (as `jira-auth token` prints it), and a process that calls
//! Jira many times (the proxy) keeps it rather than asking for each request.

use std::sync::Arc;

use url::Url;

use crate::agent::{AgentLink, ClientError};
use crate::atlassian::endpoints::Endpoints;
use crate::domain::Timestamp;
use crate::exit::{Exit, Exits};

/// A token kept is handed out while it has this long left; the agent refreshes it when
/// asked for one with less.
const MIN_VALID: i64 = 60;

/// Which grant: an integration, and the end user for a user-authorized one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Grant {
    pub integration: String,
    pub user: Option<String>,
}

/// An access token and where it works.
#[derive(Clone, Debug)]
pub struct Bearer {
    pub token: Arc<str>,
    pub expires_at: Timestamp,
    /// `https://api.atlassian.com/ex/jira/{cloud id}`: the only base the token goes to.
    pub api_base: Url,
}

#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error(transparent)]
    Agent(#[from] ClientError),
    #[error(
        "{integration}'s grant names no Jira site, so there is no API to call; authorize it again (`jira-auth authorize --integration {integration}`)"
    )]
    NoSite { integration: String },
}

impl Exits for GrantError {
    fn exit(&self) -> Exit {
        match self {
            GrantError::Agent(e) => e.exit(),
            GrantError::NoSite { .. } => Exit::Reauthorize,
        }
    }
}

/// One grant's token, asked of the agent when there is none or it runs out.
pub struct GrantToken {
    link: Arc<AgentLink>,
    endpoints: Endpoints,
    pub grant: Grant,
    held: tokio::sync::Mutex<Option<Bearer>>,
}

impl GrantToken {
    pub fn new(link: Arc<AgentLink>, endpoints: Endpoints, grant: Grant) -> GrantToken {
        GrantToken {
            link,
            endpoints,
            grant,
            held: tokio::sync::Mutex::new(None),
        }
    }

    /// A token with at least a minute left: the one kept, or a new one from the agent.
    pub async fn bearer(&self) -> Result<Bearer, GrantError> {
        let mut held = self.held.lock().await;
        if let Some(bearer) = held
            .as_ref()
            .filter(|b| Timestamp::now().secs_until(b.expires_at) > MIN_VALID)
        {
            return Ok(bearer.clone());
        }
        let bearer = self.ask(MIN_VALID).await?;
        *held = Some(bearer.clone());
        Ok(bearer)
    }

    /// A token other than `refused`, which Jira answered 401: another caller's renewal if
    /// one came meanwhile, else a refresh. The agent is asked for a token lasting a second
    /// longer than the refused one, so it refreshes unless a newer token is stored already,
    /// and concurrent renewals here wait for one another instead of each refreshing.
    pub async fn renew(&self, refused: &Bearer) -> Result<Bearer, GrantError> {
        let mut held = self.held.lock().await;
        if let Some(bearer) = held.as_ref().filter(|b| b.token != refused.token) {
            return Ok(bearer.clone());
        }
        let left = Timestamp::now().secs_until(refused.expires_at).max(0);
        let bearer = self.ask(left.saturating_add(1).max(MIN_VALID)).await?;
        *held = Some(bearer.clone());
        Ok(bearer)
    }

    async fn ask(&self, min_valid: i64) -> Result<Bearer, GrantError> {
        let Grant { integration, user } = &self.grant;
        let reply = self
            .link
            .token(integration, user.as_deref(), min_valid)
            .await?;
        let site = reply.site.ok_or_else(|| GrantError::NoSite {
            integration: integration.clone(),
        })?;
        Ok(Bearer {
            token: Arc::from(reply.access_token),
            expires_at: reply.expires_at,
            api_base: self.endpoints.jira_api_base(&site.id),
        })
    }
}
