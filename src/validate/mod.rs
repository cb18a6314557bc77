//! Pure checks of everything an admin pastes into an authorization profile (names, ids,
//! secrets, URLs, scopes, the developer console's generated authorization URL) and of every
//! identifier that enters (`identifier`). No I/O and no terminal here: the CLI and the console
//! both show the same findings.

pub mod callback;
pub mod catalog;
pub mod credentials;
pub mod generated;
pub mod identifier;
pub mod scopes;
pub mod text;
pub mod urls;

mod finding;
mod origin;
#[cfg(test)]
mod proptests;
mod site;

pub use callback::callback_url;
pub use catalog::{Catalog, ScopeEntry, ScopeGroup};
pub use credentials::{client_id, client_secret, profile_name};
pub use finding::{Checked, Field, Finding, MAX_INPUT, Severity};
pub use generated::GeneratedUrl;
pub use identifier::{Identifier, IdentifierError};
pub use scopes::{OFFLINE_ACCESS, scopes};
pub use site::{AUTH_BASE, AUTH_HOST, AuthServer, Origins};
pub use urls::{authorization_url, refresh_url, token_url};
