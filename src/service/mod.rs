//! Use cases shared by the CLI and the console: each behaviour exists once, here, and both
//! faces call it. Nothing in this layer knows about terminals.

pub mod format;
pub mod profiles;
pub mod status;

use crate::store::StoreError;

/// A use case that did not go through. The message is the sentence a human reads, the same
/// in the CLI and the console.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("there is no authorization profile named {0:?}; `jira-auth profile list` shows them")]
    ProfileNotFound(String),
    #[error(
        "the profile {profile:?} is used by the integration {integration:?}; point that integration at another app first"
    )]
    ProfileInUse {
        profile: String,
        integration: String,
    },
}

impl ServiceError {
    pub fn exit_code(&self) -> u8 {
        match self {
            ServiceError::Store(e) => e.exit_code(),
            ServiceError::ProfileNotFound(_) | ServiceError::ProfileInUse { .. } => 2,
        }
    }
}
