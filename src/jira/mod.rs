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
