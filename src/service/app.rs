//! Which Atlassian app an integration authorizes through, and its credentials for the token
//! endpoint: one answer for authorizing and refreshing alike.

use url::Url;

use crate::atlassian::client::AppCredentials;
use crate::domain::{AppRef, Integration, Profile};
use crate::store::{Store, StoreError};
use crate::validate::text::quoted;

use super::system_app::SystemApp;
use crate::exit::{Exit, Exits};

/// Why an integration's app cannot be used. Each message is the sentence a human reads.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("the integration uses the system app, but {0}")]
    SystemUnavailable(String),
    #[error(
        "the integration uses the profile {}, which no longer exists; choose another app in the set-up screens",
        quoted(.0)
    )]
    ProfileGone(String),
    #[error("the stored URL {} does not parse; edit the profile", quoted(.0))]
    BadUrl(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Exits for AppError {
    fn exit(&self) -> Exit {
        match self {
            AppError::Store(e) => e.exit(),
            _ => Exit::Usage,
        }
    }
}

/// The app `integration` uses, with a label for sentences ("the profile \"acme\"").
pub fn app_of(
    store: &dyn Store,
    integration: &Integration,
    system_app: Result<&SystemApp, String>,
) -> Result<(String, Profile), AppError> {
    match &integration.app {
        AppRef::System => {
            let system = system_app.map_err(AppError::SystemUnavailable)?;
            Ok((
                format!("the system app {}", quoted(&system.name)),
                system.profile.clone(),
            ))
        }
        AppRef::Custom(name) => {
            let profile = store
                .profile(name)?
                .ok_or_else(|| AppError::ProfileGone(name.clone()))?;
            Ok((format!("the profile {}", quoted(name)), profile))
        }
    }
}

/// What the token endpoint needs of `app`.
pub fn credentials(app: &Profile) -> Result<AppCredentials, AppError> {
    let parse = |text: &str| Url::parse(text).map_err(|_| AppError::BadUrl(text.to_owned()));
    Ok(AppCredentials {
        client_id: app.client_id.clone(),
        client_secret: app.client_secret.clone(),
        token_url: parse(&app.token_url)?,
        refresh_url: parse(&app.refresh_url)?,
    })
}
