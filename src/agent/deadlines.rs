//! How long a client waits for each kind of request before it says the agent does not
//! answer: a few seconds for what the store or memory answers, Atlassian's call timeout plus
//! a margin for what may reach Atlassian, and open-ended waits (a callback, a link) for as
//! long as the agent keeps answering a status check beside them.

use std::time::Duration;

use super::protocol::Request;
use crate::atlassian::client::CALL_TIMEOUT;

/// How long a client waits for an agent it started before it gives up.
pub const START_TIMEOUT: Duration = Duration::from_secs(5);
/// The agent's greeting on a fresh connection (it is sent before anything is read).
pub const GREETING: Duration = Duration::from_secs(3);
/// A request the agent answers from its store or memory.
pub const QUICK: Duration = Duration::from_secs(10);
/// A request that may refresh one grant: one Atlassian call, and a margin for the store
/// write and for a refresh of the same grant already under way when it arrived.
pub const REFRESH: Duration = CALL_TIMEOUT.saturating_add(Duration::from_secs(15));
/// Two Atlassian calls in a row (the exchange and the sites; `myself` and the store).
pub const EXCHANGE: Duration = CALL_TIMEOUT
    .saturating_mul(2)
    .saturating_add(Duration::from_secs(10));
/// How often an open-ended wait checks that the agent still answers.
pub const LIVENESS_EVERY: Duration = Duration::from_secs(10);
/// How long an agent that acknowledged a stop may take to exit: it finishes a refresh in
/// flight first.
pub const STOP: Duration = REFRESH;

/// How long a client waits for one request's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Patience {
    /// At most this long.
    Within(Duration),
    /// As long as the agent answers a status check every [`LIVENESS_EVERY`]: the wait has
    /// its own life (a link's, an attempt's), which the agent ends.
    WhileAlive,
}

pub fn patience(request: &Request) -> Patience {
    match request {
        Request::Token { .. }
        | Request::Refresh {
            integration: Some(_),
            principal: Some(_),
        }
        | Request::Callback { .. } => Patience::Within(REFRESH),
        Request::Exchange { .. } | Request::Finish { .. } => Patience::Within(EXCHANGE),
        // Every grant of an integration or of the store, one Atlassian call each.
        // Every grant of an integration or of the store, one Atlassian call each; every
        // record of the store, written and read back.
        Request::Refresh { .. }
        | Request::AwaitCallback { .. }
        | Request::AwaitLink { .. }
        | Request::CopyStore { .. } => Patience::WhileAlive,
        _ => Patience::Within(QUICK),
    }
}

/// What the client was waiting for, for the sentence "waited N s for ...".
pub fn waiting_for(request: &Request) -> &'static str {
    match request {
        Request::Hello(_) => "the greeting",
        Request::Stop => "the stop request",
        Request::CopyStore { .. } => "the store to be copied",
        Request::AgentStatus => "the agent's status",
        Request::Subscribe => "the subscription to changes",
        Request::Status | Request::StatusJson => "the status",
        Request::SystemApp => "the system app",
        Request::AddProfile { .. } | Request::ReplaceProfile { .. } => "the profile to be saved",
        Request::OpenProfile { .. } | Request::RevealSecret { .. } => "the profile",
        Request::RemoveProfile { .. } => "the profile's removal",
        Request::Setup { .. } => "the integration to be saved",
        Request::Prepare { .. } => "the authorization to be prepared",
        Request::AwaitCallback { .. } => "the browser's callback",
        Request::Redeem { .. } => "the pasted code to be checked",
        Request::Exchange { .. } => "the code exchange",
        Request::Finish { .. } => "the grant's verification",
        Request::Cancel { .. } => "the authorization to be cancelled",
        Request::Token { .. } => "the access token",
        Request::Refresh { .. } => "the refresh",
        Request::Events { .. } => "the events",
        Request::DeleteTokens { .. } => "the tokens to be deleted",
        Request::Link { .. } => "the link",
        Request::AwaitLink { .. } => "the end user's authorization",
        Request::Callback { .. } => "the callback to be completed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_request_waits_what_fits_it() {
        let token = Request::Token {
            integration: "jira".into(),
            user: None,
            min_valid: 60,
        };
        assert_eq!(patience(&token), Patience::Within(REFRESH));
        assert!(
            REFRESH > CALL_TIMEOUT,
            "a refresh gets its whole HTTP timeout and more"
        );
        assert_eq!(patience(&Request::Status), Patience::Within(QUICK));
        let all = Request::Refresh {
            integration: None,
            principal: None,
        };
        assert_eq!(patience(&all), Patience::WhileAlive);
        let link = Request::AwaitLink { handle: "h".into() };
        assert_eq!(patience(&link), Patience::WhileAlive);
        assert_eq!(waiting_for(&token), "the access token");
    }
}
