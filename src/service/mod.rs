//! Use cases shared by the CLI and the console: each behaviour exists once, here, and both
//! faces call it. Nothing in this layer knows about terminals.

pub mod app;
pub mod authorize;
pub mod context;
pub mod copy;
pub mod draft;
pub mod format;
pub mod links;
pub mod lookup;
pub mod principal;
pub mod profiles;
pub mod refresh;
pub mod resume;
pub mod setup;
pub mod status;
pub mod suggest;
pub mod system_app;
pub mod tokens;

pub use context::Context;

use crate::exit::{Exit, Exits};
use crate::store::StoreError;
use crate::validate::text::quoted;
use crate::validate::{Finding, IdentifierError};

/// A use case that did not go through. The message is the sentence a human reads, the same
/// in the CLI and the console.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{}", invalid_sentence(.0))]
    Invalid(Vec<Finding>),
    #[error(
        "a profile named {} exists already; choose another name, or remove it first (`jira-auth profile rm {}`)",
        quoted(.0),
        quoted(.0)
    )]
    ProfileExists(String),
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Identifier(#[from] IdentifierError),
    #[error("System cannot be used: {0}")]
    SystemAppUnavailable(String),
    #[error(
        "there is no authorization profile named {}; `jira-auth profile list` shows them",
        quoted(.0)
    )]
    ProfileNotFound(String),
    #[error(
        "the profile {} is used by the integration {}; point that integration at another app first",
        quoted(profile),
        quoted(integration)
    )]
    ProfileInUse {
        profile: String,
        integration: String,
    },
}

impl Exits for ServiceError {
    fn exit(&self) -> Exit {
        match self {
            ServiceError::Store(e) => e.exit(),
            ServiceError::Invalid(_)
            | ServiceError::Refused(_)
            | ServiceError::Identifier(_)
            | ServiceError::SystemAppUnavailable(_)
            | ServiceError::ProfileExists(_)
            | ServiceError::ProfileNotFound(_)
            | ServiceError::ProfileInUse { .. } => Exit::Usage,
        }
    }
}

/// Every error finding on its own line (each names its field): what a script's log shows.
fn invalid_sentence(findings: &[Finding]) -> String {
    let lines: Vec<String> = findings
        .iter()
        .filter(|f| f.severity == crate::validate::Severity::Error)
        .map(ToString::to_string)
        .collect();
    match lines.as_slice() {
        [one] => one.clone(),
        _ => format!(
            "{} fields need fixing:\n  {}",
            lines.len(),
            lines.join("\n  ")
        ),
    }
}
