//! Keeping a grant alive: a token for a script, refreshing it when it is about to expire, and
//! the rotation rules of atlassian-3lo.md. Every refresh is three steps so the agent can run
//! the network part off the store's thread and serialize one grant's refreshes: `begin`
//! (which app, which refresh token), `call` (Atlassian), `record` (the rotated refresh token
//! written and flushed before anyone sees the new access token, and an event either way).

use crate::atlassian::client::{self, AppCredentials, TokenGrant};
use crate::atlassian::errors::ProtocolError;
use crate::domain::{Event, EventKind, Integration, Mode, Principal, Timestamp, TokenSet};
use crate::store::{Store, StoreError};

use super::lookup::NoSuchIntegration;
use super::principal::Mismatch;
use super::suggest::UserFlag;
use super::system_app::SystemApp;
use crate::exit::{Exit, Exits};

/// Why no token could be handed out. Each message is the sentence a human reads.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error(transparent)]
    NoIntegration(#[from] NoSuchIntegration),
    #[error(
        "{integration} is user-authorized: name the end user (--user ID); {}",
        users_sentence(.users)
    )]
    UserNeeded {
        integration: String,
        users: Vec<String>,
    },
    #[error("{integration} is pre-authorized: one token serves everyone, so --user does not apply")]
    UserNotApplicable { integration: String },
    #[error(
        "{integration} is not authorized yet; authorize it once (`jira-auth authorize --integration {integration}`, or a in the console)"
    )]
    NotAuthorized { integration: String },
    #[error("{integration} has no token for user {user:?}; {}", users_sentence(.users))]
    NoUserToken {
        integration: String,
        user: String,
        users: Vec<String>,
    },
    #[error(
        "{integration} ({}) must be authorized again: {reason}. Run `jira-auth authorize --integration {integration}{}` (or t then a in the console){}",
        crate::validate::text::sanitize(.principal, crate::validate::text::NAME_CAP),
        UserFlag::for_key(.principal).flag,
        UserFlag::for_key(.principal).note
    )]
    NeedsReauthorization {
        integration: String,
        principal: String,
        reason: String,
    },
    #[error(transparent)]
    App(#[from] super::app::AppError),
    #[error(transparent)]
    Identifier(#[from] crate::validate::IdentifierError),
    #[error("{sentence}")]
    Protocol {
        sentence: String,
        #[source]
        error: ProtocolError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Atlassian rotated the refresh token and the store could not take the new one: the
    /// caller keeps `tokens` (the only copy of the grant now) until it can write them.
    #[error(
        "Atlassian replaced the refresh token of {integration} ({}), but it could not be written: {error} Until then the new token is kept in the agent's memory and written as soon as there is room; the agent does not exit while it holds it",
        crate::validate::text::sanitize(.principal, crate::validate::text::NAME_CAP)
    )]
    Unsaved {
        integration: String,
        principal: String,
        tokens: Box<TokenSet>,
        /// The refresh token the rotation replaced: the held grant is written only while the
        /// store still holds that one (see [`Store::put_token_set_if`]).
        from: Option<crate::domain::Secret>,
        error: Box<StoreError>,
    },
    /// The grant was deleted or replaced by a new consent while Atlassian answered: the
    /// answer belongs to a grant that is gone, and nothing was written.
    #[error(
        "{integration} ({}) changed while it was being refreshed (deleted, or authorized again); nothing was written. Ask again",
        crate::validate::text::sanitize(.principal, crate::validate::text::NAME_CAP)
    )]
    Superseded {
        integration: String,
        principal: String,
    },
}

impl Exits for RefreshError {
    fn exit(&self) -> Exit {
        match self {
            RefreshError::Unsaved { .. } | RefreshError::Superseded { .. } => Exit::Temporary,
            RefreshError::NeedsReauthorization { .. } | RefreshError::NotAuthorized { .. } => {
                Exit::Reauthorize
            }
            RefreshError::Protocol { error, .. } => error.exit(),
            RefreshError::Store(e) => e.exit(),
            RefreshError::App(e) => e.exit(),
            _ => Exit::Usage,
        }
    }
}

fn users_sentence(users: &[String]) -> String {
    const SHOWN: usize = 5;
    match users.len() {
        0 => "no user has authorized yet".to_owned(),
        n if n <= SHOWN => format!("users with a token: {}", users.join(", ")),
        n => format!(
            "users with a token include {} (and {} more; `jira-auth status --json` lists them)",
            users[..SHOWN].join(", "),
            n - SHOWN
        ),
    }
}

/// An access token's lifetime in seconds, from the token endpoint's `expires_in`. When
/// Atlassian leaves it out (or sends more than fits), the token is taken to last an hour,
/// the lifetime Atlassian documents for its access tokens: assuming less costs at most an
/// early refresh, while assuming more (the `i64::MAX` of an earlier reading) would hand out
/// an expired token as valid and never refresh it.
pub fn access_lifetime(expires_in: Option<u64>) -> i64 {
    expires_in
        .and_then(|secs| i64::try_from(secs).ok())
        .unwrap_or(ASSUMED_LIFETIME_SECS)
}

/// The lifetime of an access token whose `expires_in` is missing: see [`access_lifetime`].
pub const ASSUMED_LIFETIME_SECS: i64 = 3600;

/// Which token set `user` names in `integration`.
pub fn principal_for(
    integration: &Integration,
    user: Option<&str>,
) -> Result<Principal, RefreshError> {
    super::principal::of(integration.mode, user).map_err(|mismatch| match mismatch {
        Mismatch::UserNotApplicable => RefreshError::UserNotApplicable {
            integration: integration.name.clone(),
        },
        Mismatch::UserNeeded => RefreshError::UserNeeded {
            integration: integration.name.clone(),
            users: Vec::new(),
        },
    })
}

/// The token set `user` names, as stored, with the sentence when there is none.
pub fn find(
    store: &dyn Store,
    integration: &str,
    user: Option<&str>,
) -> Result<(Integration, TokenSet), RefreshError> {
    use crate::validate::{IdentifierError, identifier};
    // Nothing with hidden characters can exist: refused with the one identifier rule.
    identifier::integration_name(integration).map_err(IdentifierError::as_lookup)?;
    if let Some(user) = user {
        identifier::user_id(user).map_err(IdentifierError::as_lookup)?;
    }
    let found = super::lookup::integration::<RefreshError>(store, integration)?;
    let users = || -> Result<Vec<String>, RefreshError> {
        let mut users: Vec<String> = store
            .token_summaries()?
            .into_iter()
            .filter(|t| t.integration == found.name)
            .filter_map(|t| match t.principal {
                Principal::User(id) => Some(crate::validate::text::sanitize(
                    &id,
                    crate::validate::text::NAME_CAP,
                )),
                Principal::Admin => None,
            })
            .collect();
        users.sort();
        Ok(users)
    };
    let principal = match principal_for(&found, user) {
        Err(RefreshError::UserNeeded { integration, .. }) => {
            return Err(RefreshError::UserNeeded {
                integration,
                users: users()?,
            });
        }
        other => other?,
    };
    match store.token_set(&found.name, &principal)? {
        Some(tokens) => Ok((found, tokens)),
        None => match principal {
            Principal::Admin => Err(RefreshError::NotAuthorized {
                integration: found.name,
            }),
            Principal::User(user) => Err(RefreshError::NoUserToken {
                integration: found.name.clone(),
                user: crate::validate::text::sanitize(&user, crate::validate::text::NAME_CAP),
                users: users()?,
            }),
        },
    }
}

/// A token set that only a new consent can revive, as the error that says so.
pub fn dead(tokens: &TokenSet, now: Timestamp) -> Option<RefreshError> {
    let reason = if tokens.reauthorization_required {
        tokens
            .last_error
            .clone()
            .unwrap_or_else(|| "Atlassian refused its refresh token".to_owned())
    } else if tokens.refresh_token.is_none() {
        if now < tokens.access_expires_at {
            return None;
        }
        "its access token expired and it has no refresh token (the app lacks offline_access)"
            .to_owned()
    } else if tokens.refresh_deadline().is_some_and(|d| now >= d) {
        "its refresh token passed Atlassian's 90-day inactivity or 365-day limit".to_owned()
    } else {
        return None;
    };
    Some(RefreshError::NeedsReauthorization {
        integration: tokens.integration.clone(),
        principal: tokens.principal.key(),
        reason,
    })
}

/// What a refresh needs once the store is left behind.
#[derive(Clone, Debug)]
pub struct Refreshing {
    pub tokens: TokenSet,
    pub credentials: AppCredentials,
}

/// Where a refresh starts: the grant is fresh enough already, or here is what refreshing it
/// needs.
pub enum Start {
    Fresh(Box<TokenSet>),
    Refresh(Box<Refreshing>),
}

/// Step 1: the grant as stored now (one read of the token set, and one of the integration
/// unless the caller `found` it already), and the check that it can be refreshed at all.
/// With `min_valid`, a token that another refresh made fresh in the meantime is returned as
/// it is. The system app is asked for only when the grant's app is needed.
pub fn begin(
    store: &dyn Store,
    integration: &str,
    principal: &Principal,
    min_valid: Option<i64>,
    found: Option<Integration>,
    system_app: impl FnOnce() -> Result<SystemApp, String>,
    now: Timestamp,
) -> Result<Start, RefreshError> {
    let stored = store.token_set(integration, principal)?;
    if let (Some(min_valid), Some(tokens)) = (min_valid, &stored)
        && !wants_refresh(tokens, now, min_valid)
    {
        return Ok(Start::Fresh(Box::new(tokens.clone())));
    }
    let found = match found {
        Some(found) => found,
        None => super::lookup::integration::<RefreshError>(store, integration)?,
    };
    let tokens = stored.ok_or_else(|| RefreshError::NotAuthorized {
        integration: integration.to_owned(),
    })?;
    if let Some(error) = dead(&tokens, now) {
        return Err(error);
    }
    if tokens.refresh_token.is_none() {
        return Err(RefreshError::NeedsReauthorization {
            integration: tokens.integration.clone(),
            principal: tokens.principal.key(),
            reason:
                "it has no refresh token (the app lacks offline_access), so it cannot be refreshed"
                    .into(),
        });
    }
    let system = system_app();
    let (_, app) = super::app::app_of(store, &found, system.as_ref().map_err(Clone::clone))?;
    Ok(Start::Refresh(Box::new(Refreshing {
        credentials: super::app::credentials(&app)?,
        tokens,
    })))
}

/// Step 2: Atlassian rotates the refresh token and issues a new access token.
pub async fn call(
    http: &reqwest::Client,
    refreshing: &Refreshing,
) -> Result<TokenGrant, ProtocolError> {
    match &refreshing.tokens.refresh_token {
        Some(refresh_token) => client::refresh(http, &refreshing.credentials, refresh_token).await,
        None => Err(ProtocolError::Unexpected {
            status: 0,
            excerpt: "no refresh token".into(),
        }),
    }
}

/// Step 3: the outcome stored (the rotated refresh token flushed first) and recorded.
/// A temporary failure keeps the refresh token; a refused one marks the grant dead.
pub fn record(
    store: &dyn Store,
    refreshing: Refreshing,
    result: Result<TokenGrant, ProtocolError>,
    now: Timestamp,
) -> Result<TokenSet, RefreshError> {
    let mut tokens = refreshing.tokens;
    // Every outcome is written only onto the grant this refresh began from: a consent given
    // or a deletion made while Atlassian answered is not undone by it.
    let from = tokens.refresh_token.clone();
    let superseded = |tokens: &TokenSet| RefreshError::Superseded {
        integration: tokens.integration.clone(),
        principal: tokens.principal.key(),
    };
    let event = |kind, outcome: String| Event {
        at: now,
        integration: tokens.integration.clone(),
        principal: Some(tokens.principal.key()),
        kind,
        outcome,
    };
    match result {
        Ok(grant) => {
            let lifetime = access_lifetime(grant.expires_in);
            tokens.access_token = grant.access_token;
            tokens.access_expires_at = now.plus_secs(lifetime);
            if let Some(rotated) = grant.refresh_token {
                tokens.refresh_token = Some(rotated);
                tokens.rotated_at = now;
            }
            if !grant.scopes.is_empty() {
                tokens.scopes = grant.scopes;
            }
            tokens.last_error = None;
            tokens.reauthorization_required = false;
            // Durable before the new access token is handed to anyone (put flushes).
            match store.put_token_set_if(&tokens, from.as_ref()) {
                Ok(true) => {}
                Ok(false) => return Err(superseded(&tokens)),
                Err(error) => {
                    return Err(RefreshError::Unsaved {
                        integration: tokens.integration.clone(),
                        principal: tokens.principal.key(),
                        tokens: Box::new(tokens),
                        from,
                        error: Box::new(error),
                    });
                }
            }
            // The rotation is kept; an audit line lost to a full disk must not turn it into
            // a failure that the caller would retry with the refresh token just replaced.
            let _ = store.append_event(&event(
                EventKind::Refreshed,
                format!("valid for {}", super::format::duration(lifetime)),
            ));
            Ok(tokens)
        }
        Err(error) => {
            let sentence = error.to_string();
            tokens.last_error = Some(crate::validate::text::sanitize(
                &sentence,
                crate::validate::text::SENTENCE_CAP,
            ));
            if error.needs_reauthorization() {
                tokens.reauthorization_required = true;
            }
            if !store.put_token_set_if(&tokens, from.as_ref())? {
                return Err(superseded(&tokens));
            }
            store.append_event(&event(EventKind::RefreshFailed, sentence.clone()))?;
            if error.needs_reauthorization() {
                return Err(RefreshError::NeedsReauthorization {
                    integration: tokens.integration.clone(),
                    principal: tokens.principal.key(),
                    reason: sentence,
                });
            }
            Err(RefreshError::Protocol { sentence, error })
        }
    }
}

/// Whether a token with `left` seconds of access should be refreshed before handing it out.
pub fn wants_refresh(tokens: &TokenSet, now: Timestamp, min_valid: i64) -> bool {
    now.secs_until(tokens.access_expires_at) < min_valid
}

/// A grant the keep-alive is to refresh, and when.
pub struct Pending {
    pub at: Timestamp,
    pub due: Due,
    pub integration: String,
    pub principal: Principal,
    /// When the grant had last rotated as it was judged due: another agent of a shared store
    /// that rotates it first makes this refresh needless.
    pub rotated_at: Timestamp,
}

/// Every grant the keep-alive is to refresh, soonest first. A refresh the last agent began
/// and never recorded comes first: Atlassian may have rotated the token, and the old one
/// works only within the reuse leeway (one whose grant was deleted since is let go).
pub fn keepalive_due(store: &dyn Store, rotate_after: i64) -> Result<Vec<Pending>, StoreError> {
    let modes: std::collections::HashMap<String, Mode> = store
        .integrations()?
        .into_iter()
        .map(|i| (i.name, i.mode))
        .collect();
    let mut interrupted = Vec::new();
    for (integration, principal, at) in store.refreshes_interrupted()? {
        match store.token_set(&integration, &principal)? {
            // Deleted since: nothing left to claim.
            None => store.refresh_done(&integration, &principal)?,
            Some(tokens) => interrupted.push(Pending {
                at,
                due: Due::AccessExpiring,
                integration,
                principal,
                rotated_at: tokens.rotated_at,
            }),
        }
    }
    let mut pending: Vec<Pending> = store
        .token_summaries()?
        .into_iter()
        .filter_map(|tokens| {
            let mode = *modes.get(&tokens.integration)?;
            let (at, due) = keepalive_at(&tokens, mode, rotate_after)?;
            Some(Pending {
                at,
                due,
                integration: tokens.integration,
                principal: tokens.principal,
                rotated_at: tokens.rotated_at,
            })
        })
        .collect();
    pending.sort_by_key(|p| (p.at, p.due));
    Ok(interrupted.into_iter().chain(pending).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(now: Timestamp) -> TokenSet {
        TokenSet::sample(now)
    }

    #[test]
    fn only_a_new_consent_revives_a_dead_grant() {
        let now = Timestamp(1_000_000_000);
        assert!(dead(&tokens(now), now).is_none());
        let mut refused = tokens(now);
        refused.reauthorization_required = true;
        assert_eq!(dead(&refused, now).unwrap().exit(), Exit::Reauthorize);
        let mut no_refresh = tokens(now);
        no_refresh.refresh_token = None;
        assert!(dead(&no_refresh, now).is_none(), "still valid for an hour");
        assert!(dead(&no_refresh, now.plus_secs(3601)).is_some());
        assert!(dead(&tokens(now), now.plus_secs(91 * 86_400)).is_some());
    }

    fn store(dir: &std::path::Path) -> crate::store::SledStore {
        let paths = crate::store::StorePaths {
            data_dir: dir.join("data"),
            key_file: dir.join("key"),
        };
        crate::store::SledStore::open(&crate::store::OpenOptions::new(paths, "test")).unwrap()
    }

    fn integration(name: &str) -> Integration {
        Integration {
            name: name.into(),
            mode: Mode::UserAuthorized,
            app: crate::domain::AppRef::System,
            enabled: true,
            updated_at: Timestamp(1_000_000_000),
        }
    }

    #[test]
    fn an_access_token_without_a_usable_lifetime_is_taken_to_last_an_hour() {
        assert_eq!(access_lifetime(Some(600)), 600);
        assert_eq!(access_lifetime(None), ASSUMED_LIFETIME_SECS);
        // More than fits is not "forever": such a token would never be refreshed.
        assert_eq!(access_lifetime(Some(u64::MAX)), ASSUMED_LIFETIME_SECS);
    }

    #[test]
    fn a_refresh_of_no_such_integration_names_those_that_exist() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let now = Timestamp(1_000_000_000);
        let begin_nope = || {
            begin(
                &store,
                "nope",
                &Principal::Admin,
                None,
                None,
                || Err("none".into()),
                now,
            )
            .err()
            .unwrap()
        };
        let none = begin_nope();
        assert!(none.to_string().contains("none is set up yet"), "{none}");
        store.put_integration(&integration("jira")).unwrap();
        store.put_integration(&integration("bots")).unwrap();
        let missing = begin_nope();
        assert_eq!(
            missing.to_string(),
            "there is no integration named \"nope\"; the integrations are: bots, jira"
        );
        assert_eq!(missing.exit(), Exit::Usage);
        // `token` finds it the same way, with the same sentence.
        let found = find(&store, "nope", None).err().unwrap();
        assert_eq!(found.to_string(), missing.to_string());
    }

    fn reauthorize(principal: Principal) -> String {
        RefreshError::NeedsReauthorization {
            integration: "bots".into(),
            principal: principal.key(),
            reason: "Atlassian refused its refresh token".into(),
        }
        .to_string()
    }

    #[test]
    fn the_suggested_command_carries_the_whole_user_id_quoted() {
        let id = format!("{}'s account", "a".repeat(120));
        let sentence = reauthorize(Principal::User(id.clone()));
        let command = format!(
            "`jira-auth authorize --integration bots --user '{}'\\''s account'`",
            "a".repeat(120)
        );
        assert!(sentence.contains(&command), "{sentence}");
        assert!(!sentence.contains("take it from"), "{sentence}");
        let plain = reauthorize(Principal::User("alice@example.com".into()));
        assert!(
            plain.contains("`jira-auth authorize --integration bots --user alice@example.com`"),
            "{plain}"
        );
        let admin = reauthorize(Principal::Admin);
        assert!(
            admin.contains("`jira-auth authorize --integration bots`"),
            "{admin}"
        );
    }

    #[test]
    fn an_id_too_long_to_show_is_named_not_cut_in_the_command() {
        let id = "u".repeat(crate::validate::identifier::MAX_USER_ID + 44);
        let sentence = reauthorize(Principal::User(id.clone()));
        assert!(
            sentence.contains("`jira-auth authorize --integration bots --user ID`"),
            "{sentence}"
        );
        assert!(
            sentence.contains("too long to show here: take it from `jira-auth status --json`"),
            "{sentence}"
        );
        // Nothing of the id lands inside the command.
        let command = sentence.split('`').nth(1).unwrap();
        assert!(!command.contains("uuu"), "{command}");
    }

    #[test]
    fn long_user_lists_are_summarized() {
        let users: Vec<String> = (0..8).map(|n| format!("u{n}")).collect();
        let sentence = users_sentence(&users);
        assert!(sentence.contains("u0, u1, u2, u3, u4") && sentence.contains("3 more"));
        assert_eq!(users_sentence(&[]), "no user has authorized yet");
    }
}

/// Why the keep-alive wants to refresh a grant now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Due {
    /// A pre-authorized access token close to expiry: `token` should not wait on Atlassian.
    AccessExpiring,
    /// A refresh token idle long enough that rotating it keeps it from the 90-day limit.
    Rotation,
}

/// When the keep-alive should next look at `tokens` (None: never, it is dead or has no
/// refresh token), and whether it is due at `now`.
pub fn keepalive_at(
    tokens: &crate::domain::TokenSummary,
    mode: Mode,
    rotate_after_secs: i64,
) -> Option<(Timestamp, Due)> {
    if tokens.reauthorization_required || !tokens.has_refresh_token {
        return None;
    }
    let rotation = tokens.rotated_at.plus_secs(rotate_after_secs);
    let access = (mode == Mode::PreAuthorized).then(|| {
        // Refresh when a quarter of the lifetime or 5 minutes remain, whichever is less.
        let lifetime = tokens.rotated_at.secs_until(tokens.access_expires_at);
        let lifetime = if lifetime > 0 {
            lifetime
        } else {
            ASSUMED_LIFETIME_SECS
        };
        tokens.access_expires_at.plus_secs(-(lifetime / 4).min(300))
    });
    match access {
        Some(at) if at <= rotation => Some((at, Due::AccessExpiring)),
        _ => Some((rotation, Due::Rotation)),
    }
}

#[cfg(test)]
mod keepalive_tests {
    use super::*;

    fn tokens(rotated: Timestamp, expires_in: i64) -> TokenSet {
        TokenSet {
            access_expires_at: rotated.plus_secs(expires_in),
            ..TokenSet::sample(rotated)
        }
    }

    const SIXTY_DAYS: i64 = 60 * 86_400;

    #[test]
    fn an_access_token_is_refreshed_a_quarter_or_five_minutes_ahead() {
        let t0 = Timestamp(1_000_000_000);
        assert_eq!(
            keepalive_at(&tokens(t0, 3600).summary(), Mode::PreAuthorized, SIXTY_DAYS),
            Some((t0.plus_secs(3300), Due::AccessExpiring)),
            "an hour's token: 5 minutes ahead"
        );
        assert_eq!(
            keepalive_at(&tokens(t0, 40).summary(), Mode::PreAuthorized, SIXTY_DAYS),
            Some((t0.plus_secs(30), Due::AccessExpiring)),
            "a 40 s token: a quarter ahead"
        );
    }

    #[test]
    fn user_grants_are_only_rotated_and_dead_ones_left_alone() {
        let t0 = Timestamp(1_000_000_000);
        assert_eq!(
            keepalive_at(
                &tokens(t0, 3600).summary(),
                Mode::UserAuthorized,
                SIXTY_DAYS
            ),
            Some((t0.plus_secs(SIXTY_DAYS), Due::Rotation))
        );
        let mut dead = tokens(t0, 3600);
        dead.reauthorization_required = true;
        assert_eq!(
            keepalive_at(&dead.summary(), Mode::PreAuthorized, SIXTY_DAYS),
            None
        );
    }
}
