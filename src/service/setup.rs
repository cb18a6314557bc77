//! Configuring an integration: which way Jira is authorized and through which app. The
//! wizard and `jira-auth setup` both end here, with the same rules: the app must exist, a
//! pre-authorized integration needs `offline_access`, and a change of app or mode drops the
//! tokens issued under the old one.

use crate::domain::{AppRef, Event, EventKind, Integration, Mode, Profile, Timestamp};
use crate::store::Store;
use crate::validate::text::quoted;
use crate::validate::{IdentifierError, OFFLINE_ACCESS, identifier};

use super::ServiceError;
use super::system_app::SystemApp;

/// What the admin decided.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SetupPlan {
    pub integration: String,
    pub mode: Mode,
    pub app: AppRef,
}

/// What applying a plan did.
#[derive(Clone, Debug, PartialEq)]
pub struct SetupResult {
    pub integration: Integration,
    /// Token sets removed because they were issued for the old app or mode.
    pub removed_tokens: usize,
}

/// Whether moving an integration that now runs in `mode` through `app` to `plan` makes its
/// tokens useless: tokens belong to one app (client id) and one mode (one shared token, or
/// one per user).
pub fn invalidates_tokens(mode: Mode, app: &AppRef, plan: &SetupPlan) -> bool {
    *app != plan.app || mode != plan.mode
}

/// Whether `mode` requires `offline_access`: a pre-authorized integration lives on its
/// refresh token, and Atlassian issues one only with that scope. User-authorized
/// integrations only recommend it (each user can consent again).
pub fn needs_offline_access(mode: Mode) -> bool {
    mode == Mode::PreAuthorized
}

/// Whether an app with `scopes` cannot serve `mode` for want of `offline_access`.
pub fn lacks_offline_access(mode: Mode, scopes: &[String]) -> bool {
    needs_offline_access(mode) && !scopes.iter().any(|s| s == OFFLINE_ACCESS)
}

/// The reason a pre-authorized plan cannot use `scopes`, if any.
pub fn offline_access_problem(mode: Mode, app_label: &str, scopes: &[String]) -> Option<String> {
    lacks_offline_access(mode, scopes).then(|| {
        format!(
            "{app_label} lacks the offline_access scope, and a pre-authorized integration needs it: without it Atlassian issues no refresh token and the token dies within an hour. Add offline_access to the app's scopes (step ix) and to the profile, or choose \"Allow users to authorize\""
        )
    })
}

pub fn apply(
    store: &dyn Store,
    plan: &SetupPlan,
    system_app: Result<&SystemApp, String>,
    now: Timestamp,
) -> Result<SetupResult, ServiceError> {
    identifier::integration_name(&plan.integration)?;
    let (label, scopes) = match &plan.app {
        AppRef::System => {
            let app = system_app.map_err(ServiceError::SystemAppUnavailable)?;
            (
                format!("the system app {}", quoted(&app.name)),
                app.profile.scopes.clone(),
            )
        }
        AppRef::Custom(name) => {
            identifier::profile_name(name).map_err(IdentifierError::as_lookup)?;
            let profile: Profile = store
                .profile(name)?
                .ok_or_else(|| ServiceError::ProfileNotFound(name.clone()))?;
            (format!("the profile {}", quoted(name)), profile.scopes)
        }
    };
    if let Some(problem) = offline_access_problem(plan.mode, &label, &scopes) {
        return Err(ServiceError::Refused(problem));
    }
    let existing = store.integration(&plan.integration)?;
    let mut removed_tokens = 0;
    let keep_enabled = match &existing {
        Some(old) if invalidates_tokens(old.mode, &old.app, plan) => {
            for tokens in store
                .token_summaries()?
                .iter()
                .filter(|t| t.integration == plan.integration)
            {
                if store.remove_token_set(&tokens.integration, &tokens.principal)? {
                    removed_tokens += 1;
                    store.append_event(&Event {
                        at: now,
                        integration: plan.integration.clone(),
                        principal: Some(tokens.principal.key()),
                        kind: EventKind::Deleted,
                        outcome: format!(
                            "issued for {}, which the integration no longer uses",
                            old.app
                        ),
                    })?;
                }
            }
            false
        }
        Some(old) => old.enabled,
        None => false,
    };
    // User-authorized integrations are enabled by the wizard's final step (the seed's
    // "Enable"); pre-authorized ones once a token has been obtained.
    let integration = Integration {
        name: plan.integration.clone(),
        mode: plan.mode,
        app: plan.app.clone(),
        enabled: plan.mode == Mode::UserAuthorized || keep_enabled,
        updated_at: now,
    };
    store.put_integration(&integration)?;
    store.append_event(&Event {
        at: now,
        integration: integration.name.clone(),
        principal: None,
        kind: EventKind::Configured,
        outcome: format!("{} through {}", integration.mode, integration.app),
    })?;
    Ok(SetupResult {
        integration,
        removed_tokens,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|&s| s.to_owned()).collect()
    }

    #[test]
    fn only_pre_authorized_needs_offline_access() {
        let with = scopes(&["read:jira-work", "offline_access"]);
        let without = scopes(&["read:jira-work"]);
        assert!(lacks_offline_access(Mode::PreAuthorized, &without));
        assert!(!lacks_offline_access(Mode::PreAuthorized, &with));
        assert!(!lacks_offline_access(Mode::UserAuthorized, &without));
        let problem = offline_access_problem(Mode::PreAuthorized, "It", &without);
        assert!(problem.is_some_and(|p| p.starts_with("It lacks the offline_access scope")));
        assert_eq!(
            offline_access_problem(Mode::PreAuthorized, "It", &with),
            None
        );
    }

    #[test]
    fn a_new_app_or_mode_drops_the_tokens() {
        let plan = SetupPlan {
            integration: "jira".into(),
            mode: Mode::PreAuthorized,
            app: AppRef::Custom("acme".into()),
        };
        let acme = AppRef::Custom("acme".into());
        assert!(!invalidates_tokens(Mode::PreAuthorized, &acme, &plan));
        assert!(invalidates_tokens(Mode::UserAuthorized, &acme, &plan));
        assert!(invalidates_tokens(
            Mode::PreAuthorized,
            &AppRef::System,
            &plan
        ));
    }
}
