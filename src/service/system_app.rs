//! The system app: the preconfigured Atlassian app of this installation, read from a file
//! that whoever deployed jira-auth wrote. Missing or invalid, it is simply unavailable, with
//! the reason and the path to fix shown where System would be chosen.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::atlassian::Endpoints;
use crate::domain::{Mechanism, Profile, Secret, Timestamp};
use crate::service::draft::ProfileDraft;
use crate::validate::Catalog;

pub const DEFAULT_PATH: &str = "/etc/jira-auth/system-app.toml";
pub const PATH_VAR: &str = "JIRA_AUTH_SYSTEM_APP";

/// The system app, checked. Its secret never leaves this struct but for the token endpoint.
#[derive(Clone, Debug)]
pub struct SystemApp {
    pub name: String,
    pub path: PathBuf,
    pub profile: Profile,
}

/// What the console may show of the system app: never its secret.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct SystemAppInfo {
    pub name: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub callback_url: String,
    pub authorization_url: String,
}

impl SystemAppInfo {
    pub fn of(app: &SystemApp) -> Self {
        SystemAppInfo {
            name: app.name.clone(),
            client_id: app.profile.client_id.clone(),
            scopes: app.profile.scopes.clone(),
            callback_url: app.profile.callback_url.clone(),
            authorization_url: app.profile.authorization_url.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SystemAppError {
    #[error(
        "no system app on this host: {path} does not exist; create it from assets/system-app.example.toml, or set JIRA_AUTH_SYSTEM_APP"
    )]
    Missing { path: PathBuf },
    #[error("the system app file {path} cannot be read: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("the system app file {path} is invalid: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SystemAppFile {
    name: String,
    client_id: String,
    client_secret: String,
    callback_url: String,
    scopes: Vec<String>,
    authorization_url: Option<String>,
    token_url: Option<String>,
    refresh_url: Option<String>,
}

pub fn path_from_env() -> PathBuf {
    std::env::var_os(PATH_VAR)
        .filter(|p| !p.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_PATH), PathBuf::from)
}

/// Reads the file named by `JIRA_AUTH_SYSTEM_APP` (or the default path).
pub fn load_from_env(endpoints: &Endpoints) -> Result<SystemApp, SystemAppError> {
    load(&path_from_env(), endpoints)
}

pub fn load(path: &Path, endpoints: &Endpoints) -> Result<SystemApp, SystemAppError> {
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => SystemAppError::Missing {
            path: path.to_owned(),
        },
        _ => SystemAppError::Unreadable {
            path: path.to_owned(),
            reason: e.to_string(),
        },
    })?;
    let invalid = |reason: String| SystemAppError::Invalid {
        path: path.to_owned(),
        reason,
    };
    let file: SystemAppFile = toml::from_str(&text).map_err(|e| invalid(e.message().to_owned()))?;
    let mut draft = ProfileDraft::new(endpoints);
    draft.name = "system".into();
    draft.client_id = file.client_id;
    draft.client_secret = Secret::new(file.client_secret);
    draft.callback_url = file.callback_url;
    draft.scopes = file.scopes.join(" ");
    if let Some(url) = file.authorization_url {
        draft.authorization_url = url;
    }
    if let Some(url) = file.token_url {
        draft.token_url = url;
    }
    draft.refresh_url = file.refresh_url.unwrap_or_default();
    let check = draft.check(endpoints, Catalog::builtin(), Timestamp(0));
    let errors: Vec<String> = check.errors().map(|f| f.message.clone()).collect();
    let profile = check.profile.ok_or_else(|| invalid(errors.join(" ")))?;
    let name = crate::validate::text::sanitize(file.name.trim(), crate::validate::text::NAME_CAP);
    Ok(SystemApp {
        name: if name.is_empty() {
            "System app".into()
        } else {
            name
        },
        path: path.to_owned(),
        profile: Profile {
            mechanism: Mechanism::OAuth2,
            ..profile
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "Acme Jira connector"
client_id = "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56"
client_secret = "s3cret-s3cret"
callback_url = "https://jira-auth.acme.example/callback"
scopes = ["read:jira-work", "offline_access"]
"#;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("system-app.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn a_good_file_loads_with_atlassians_endpoints() {
        let (_dir, path) = write(GOOD);
        let app = load(&path, &Endpoints::default()).unwrap();
        assert_eq!(app.name, "Acme Jira connector");
        assert_eq!(
            app.profile.token_url,
            "https://auth.atlassian.com/oauth/token"
        );
        assert_eq!(app.profile.refresh_url, app.profile.token_url);
        assert!(!crate::service::setup::lacks_offline_access(
            crate::domain::Mode::PreAuthorized,
            &app.profile.scopes
        ));
        assert!(!format!("{app:?}").contains("s3cret"));
    }

    #[test]
    fn the_example_asset_is_a_valid_file() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/system-app.example.toml");
        load(&path, &Endpoints::default()).unwrap();
    }

    #[test]
    fn problems_name_the_path_and_the_fix() {
        let missing = load(
            Path::new("/nonexistent/system-app.toml"),
            &Endpoints::default(),
        )
        .unwrap_err();
        assert!(
            missing
                .to_string()
                .contains("/nonexistent/system-app.toml does not exist")
        );
        let (_dir, path) = write("name = 1");
        assert!(matches!(
            load(&path, &Endpoints::default()),
            Err(SystemAppError::Invalid { .. })
        ));
        let (_dir, path) = write(&GOOD.replace("https://jira-auth", "ftp://jira-auth"));
        let error = load(&path, &Endpoints::default()).unwrap_err().to_string();
        assert!(error.contains("Callback URL"), "{error}");
    }
}
