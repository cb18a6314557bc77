//! Personal authorization links, the "allow users to authorize" half of the seed: a link per
//! end user whose state is unguessable, bound to that user and integration, single-use and
//! expiring. The store keeps links under a digest of the state, so a copy of the data
//! directory holds no live state; the receiver's callback is judged here before anything
//! reaches Atlassian.

use sha2::{Digest, Sha256};
use url::Url;

use crate::domain::{Account, Integration, Link, LinkOutcome, Mode, Principal, Site, Timestamp};
use crate::store::{Claim, Store, StoreError};
use crate::validate::text::{quoted, sanitize};
use crate::validate::{IdentifierError, identifier};

use super::authorize::{self, Attempt};
use super::system_app::SystemApp;

/// How long a link lives when the caller does not say.
pub const DEFAULT_TTL_SECS: i64 = 30 * 60;
/// Long enough to be read in a chat, short enough that a forgotten link dies.
pub const MIN_TTL_SECS: i64 = 60;
pub const MAX_TTL_SECS: i64 = 7 * 24 * 3600;
/// Expired links are kept this long so that a late click hears "expired", not "unknown".
const KEEP_EXPIRED_SECS: i64 = 24 * 3600;

/// A link handed out: what `link` prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued {
    /// The digest the link is stored under: it names the link without being able to use it.
    pub handle: String,
    pub integration: String,
    pub user: String,
    pub url: Url,
    pub expires_at: Timestamp,
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(
        "there is no integration named {}; set it up first (`jira-auth setup --mode user-authorized`)",
        quoted(.0)
    )]
    NoIntegration(String),
    #[error(
        "{} is pre-authorized: one token serves everyone, so there are no end-user links; set it up with --mode user-authorized to hand each user a link",
        quoted(.0)
    )]
    NotUserAuthorized(String),
    #[error(
        "--ttl must be between 1 minute and 7 days (a link lives 30 minutes when not told); {secs} seconds is outside that"
    )]
    Ttl { secs: i64 },
    #[error("there is no link with this state; hand the user a new one with `jira-auth link`")]
    Unknown,
    #[error(transparent)]
    Identifier(#[from] IdentifierError),
    #[error(transparent)]
    App(#[from] super::app::AppError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl LinkError {
    pub fn exit_code(&self) -> u8 {
        match self {
            LinkError::Store(e) => e.exit_code(),
            LinkError::App(e) => e.exit_code(),
            _ => 2,
        }
    }
}

/// The key a link is stored under: the state never touches the disk.
pub fn digest(state: &str) -> String {
    Sha256::digest(state.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Hands `user` a fresh link to authorize `integration`, valid for `ttl_secs`.
pub fn issue(
    store: &dyn Store,
    integration: &str,
    user: &str,
    ttl_secs: i64,
    system_app: Result<&SystemApp, String>,
    now: Timestamp,
) -> Result<Issued, LinkError> {
    identifier::integration_name(integration).map_err(IdentifierError::as_lookup)?;
    identifier::user_id(user)?;
    if !(MIN_TTL_SECS..=MAX_TTL_SECS).contains(&ttl_secs) {
        return Err(LinkError::Ttl { secs: ttl_secs });
    }
    let found = user_authorized(store, integration)?;
    let (app_label, app) = super::app::app_of(store, &found, system_app)?;
    let principal = Principal::User(user.to_owned());
    let renewing = store.token_set(&found.name, &principal)?.is_some();
    let attempt = authorize::attempt_for(
        found.name.clone(),
        Mode::UserAuthorized,
        principal,
        app_label,
        app,
        renewing,
    );
    store.remove_links_expired(now.plus_secs(-KEEP_EXPIRED_SECS))?;
    let expires_at = now.plus_secs(ttl_secs);
    let handle = digest(&attempt.state);
    store.put_link(
        &handle,
        &Link {
            integration: found.name.clone(),
            user: user.to_owned(),
            created_at: now,
            expires_at,
            outcome: LinkOutcome::Pending,
        },
    )?;
    Ok(Issued {
        handle,
        integration: found.name,
        user: user.to_owned(),
        url: attempt.url,
        expires_at,
    })
}

fn user_authorized(store: &dyn Store, name: &str) -> Result<Integration, LinkError> {
    let found = store
        .integration(name)?
        .ok_or_else(|| LinkError::NoIntegration(name.to_owned()))?;
    if found.mode != Mode::UserAuthorized {
        return Err(LinkError::NotUserAuthorized(found.name));
    }
    Ok(found)
}

/// Why a callback is refused before anything is sent to Atlassian. Each is the sentence the
/// end user's browser shows.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "This link is not one jira-auth handed out (or it was altered). Ask for a new link where you got this one."
    )]
    Unknown,
    #[error(
        "This link has been used already; each link works once. Ask for a new link where you got this one."
    )]
    Used,
    #[error("This link expired. Ask for a new link where you got this one.")]
    Expired,
    #[error(
        "This link belongs to another integration than the one this address serves. Use the link exactly as you received it."
    )]
    OtherIntegration,
    #[error(
        "The integration this link was for is no longer set up for users to authorize. Ask the administrator."
    )]
    Withdrawn,
}

/// A link a callback may complete, with the attempt that rebuilds its authorization.
#[derive(Clone, Debug)]
pub struct Redeemable {
    pub digest: String,
    pub link: Link,
    pub attempt: Attempt,
}

/// The integrations whose callback URL has `path`: the ones a receiver answering `path`
/// completes links for. Empty means the path is nobody's (404).
pub fn integrations_at(
    store: &dyn Store,
    path: &str,
    system_app: Result<&SystemApp, String>,
) -> Result<Vec<String>, StoreError> {
    let mut found = Vec::new();
    for integration in store.integrations()? {
        if integration.mode != Mode::UserAuthorized {
            continue;
        }
        let Ok((_, app)) = super::app::app_of(store, &integration, system_app.clone()) else {
            continue;
        };
        if Url::parse(&app.callback_url).is_ok_and(|url| url.path() == path) {
            found.push(integration.name);
        }
    }
    Ok(found)
}

/// Judges `state` for a callback on a path that serves `served`, and with `spend` claims the
/// link so that no second callback can use it. Nothing reaches Atlassian before this says yes.
pub fn redeem(
    store: &dyn Store,
    state: &str,
    served: &[String],
    system_app: Result<&SystemApp, String>,
    now: Timestamp,
) -> Result<Result<Redeemable, Refusal>, LinkError> {
    let digest = digest(state);
    let Some(link) = store.link(&digest)? else {
        return Ok(Err(Refusal::Unknown));
    };
    if !served.contains(&link.integration) {
        return Ok(Err(Refusal::OtherIntegration));
    }
    if link.outcome != LinkOutcome::Pending {
        return Ok(Err(Refusal::Used));
    }
    if link.is_expired(now) {
        return Ok(Err(Refusal::Expired));
    }
    let Ok(integration) = user_authorized(store, &link.integration) else {
        return Ok(Err(Refusal::Withdrawn));
    };
    let (app_label, app) = super::app::app_of(store, &integration, system_app)?;
    let link = match store.claim_link(&digest, now)? {
        Claim::Won(link) => link,
        Claim::Unknown => return Ok(Err(Refusal::Unknown)),
        Claim::Spent(link) if link.is_expired(now) => return Ok(Err(Refusal::Expired)),
        Claim::Spent(_) => return Ok(Err(Refusal::Used)),
    };
    let principal = Principal::User(link.user.clone());
    let renewing = store.token_set(&integration.name, &principal)?.is_some();
    let url = authorize::authorization_url(&app, state);
    Ok(Ok(Redeemable {
        digest,
        attempt: Attempt {
            integration: integration.name,
            mode: Mode::UserAuthorized,
            principal,
            app_label,
            app,
            state: state.to_owned(),
            url,
            renewing,
        },
        link,
    }))
}

/// Records how a redeemed link ended, for whoever waits on it.
pub fn settle(
    store: &dyn Store,
    redeemed: &Redeemable,
    outcome: LinkOutcome,
) -> Result<(), StoreError> {
    store.put_link(
        &redeemed.digest,
        &Link {
            outcome,
            ..redeemed.link.clone()
        },
    )
}

/// The outcome of a link authorized as `account` on `site`.
pub fn authorized(account: Account, site: &Site) -> LinkOutcome {
    LinkOutcome::Authorized {
        account,
        site_name: site.name.clone(),
        site_url: site.url.clone(),
    }
}

/// The site a user's grant is stored for: the only one it reaches, or, when consent covered
/// several, the one the integration's other users are on. Otherwise the user is asked to
/// consent for one site.
pub fn site_for_user(
    store: &dyn Store,
    integration: &str,
    sites: &[Site],
) -> Result<Result<Site, String>, StoreError> {
    if let [only] = sites {
        return Ok(Ok(only.clone()));
    }
    let mut counts: Vec<(usize, &Site)> = Vec::new();
    let summaries = store.token_summaries()?;
    for site in sites {
        let users = summaries
            .iter()
            .filter(|t| t.integration == integration)
            .filter(|t| t.site.as_ref().is_some_and(|s| s.id == site.id))
            .count();
        counts.push((users, site));
    }
    counts.sort_by_key(|(users, _)| std::cmp::Reverse(*users));
    match counts.as_slice() {
        [(best, site), rest @ ..] if *best > 0 && rest.iter().all(|(n, _)| n < best) => {
            Ok(Ok((*site).clone()))
        }
        _ => Ok(Err(format!(
            "Your consent covers several Jira sites ({}), and jira-auth cannot tell which one this integration is for. Open a new link and choose one site on Atlassian's consent page.",
            sites
                .iter()
                .map(|s| sanitize(&s.url, 100))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// What a caller waiting on a link hears once it is done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Waited {
    Pending,
    Authorized(String),
    Over(String),
}

/// Where the link `handle` names stands at `now`, with its expiry, and a sentence once it
/// is over.
pub fn standing(
    store: &dyn Store,
    handle: &str,
    now: Timestamp,
) -> Result<(Waited, Timestamp), LinkError> {
    let link = store.link(handle)?.ok_or(LinkError::Unknown)?;
    let expires_at = link.expires_at;
    let user = sanitize(&link.user, 128);
    let waited = match link.outcome {
        LinkOutcome::Authorized {
            account,
            site_name,
            site_url,
        } => Waited::Authorized(format!(
            "User {user} authorized {} as {} on {} ({}).",
            link.integration,
            sanitize(&account.name, 128),
            sanitize(&site_name, 128),
            sanitize(&site_url, 200)
        )),
        LinkOutcome::Declined => Waited::Over(format!(
            "User {user} declined the consent on Atlassian's page; nothing was stored. Hand them a new link if they change their mind."
        )),
        LinkOutcome::Failed { sentence } => Waited::Over(format!(
            "The authorization of user {user} failed: {sentence}"
        )),
        LinkOutcome::Pending if link.is_expired(now) => Waited::Over(format!(
            "The link for user {user} expired at {} without being used; hand them a new one (`jira-auth link --user ...`).",
            link.expires_at.rfc3339()
        )),
        LinkOutcome::Pending | LinkOutcome::Claimed { .. } => Waited::Pending,
    };
    Ok((waited, expires_at))
}
