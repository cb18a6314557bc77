//! Jira's REST API reached with a grant's token, for `jira-auth api` and `jira-auth proxy`:
//! the agent hands out the access token (refresh tokens never leave it), and this layer,
//! above the agent client and below the faces, sends requests under the grant's own API base
//! and nowhere else.

pub mod grant;
pub mod paging;
pub mod payload;
pub mod refusal;
pub mod retry_after;
pub mod send;
pub mod target;

pub use grant::{Bearer, Grant, GrantError, GrantToken};
pub use payload::Payload;
pub use send::{Answer, Call, SendError, Upstream, Waits};

/// A reqwest error as a sentence: its chain of causes, never its URL (a query may carry
/// what a log should not).
pub fn reason(error: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut text = if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "the connection failed".to_owned()
    } else {
        "the request failed".to_owned()
    };
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    crate::validate::text::sanitize(&text, crate::validate::text::SENTENCE_CAP)
}
