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
use crate::exit::{Exit, Exits};

/// How long a link lives when the caller does not say.
pub const DEFAULT_TTL_SECS: i64 = 30 * 60;

/// [`DEFAULT_TTL_SECS`] in words, as a literal so that key help can `concat!` it; the
/// assertion below keeps the two the same.
#[macro_export]
macro_rules! default_link_ttl_words {
    () => {
        "30 minutes"
    };
}
pub const DEFAULT_TTL_WORDS: &str = default_link_ttl_words!();
const _: () = assert!(minutes_said(DEFAULT_TTL_WORDS) * 60 == DEFAULT_TTL_SECS);

/// The number of "N minutes", at compile time (0 for anything else).
const fn minutes_said(words: &str) -> i64 {
    let bytes = words.as_bytes();
    let mut i = 0;
    let mut n = 0;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        n = n * 10 + (bytes[i] - b'0') as i64;
        i += 1;
    }
    let unit = b" minutes";
    if bytes.len() - i != unit.len() {
        return 0;
    }
    let mut j = 0;
    while j < unit.len() {
        if bytes[i + j] != unit[j] {
            return 0;
        }
        j += 1;
    }
    n
}
/// Long enough to be read in a chat, short enough that a forgotten link dies.
pub const MIN_TTL_SECS: i64 = 60;
pub const MAX_TTL_SECS: i64 = 7 * 24 * 3600;
/// How long the receiver waits for the agent's answer to one callback (the exchange with
/// Atlassian included) before its page says the agent did not answer.
pub const RECEIVER_ANSWER_SECS: u64 = 30;
/// The most a callback may take from claiming its link to settling it (the exchange, the
/// sites, `myself` and the store); past it, a claim that never settled was interrupted. Inside
/// the receiver's wait, so no page gives up on a claim that is still live.
pub const COMPLETE_BUDGET_SECS: i64 = RECEIVER_ANSWER_SECS as i64 - 5;
/// The agent's own limit on completing a callback: inside the claim's budget, so the page
/// never says "failed" for a grant stored later.
pub const COMPLETE_DEADLINE_SECS: u64 = COMPLETE_BUDGET_SECS as u64 - 5;
// The order is the rule; the numbers only serve it.
const _: () = assert!(
    COMPLETE_DEADLINE_SECS < COMPLETE_BUDGET_SECS as u64
        && (COMPLETE_BUDGET_SECS as u64) < RECEIVER_ANSWER_SECS
);
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
    #[error(transparent)]
    NoIntegration(#[from] super::lookup::NoSuchIntegration),
    #[error(
        "{} is pre-authorized: one token serves everyone, so there are no end-user links; set it up with --mode user-authorized to hand each user a link",
        quoted(.0)
    )]
    NotUserAuthorized(String),
    #[error(
        "--ttl must be between 1 minute and 7 days (a link lives {} minutes when not told); {secs} seconds is outside that",
        DEFAULT_TTL_SECS / 60
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

impl Exits for LinkError {
    fn exit(&self) -> Exit {
        match self {
            LinkError::Store(e) => e.exit(),
            LinkError::App(e) => e.exit(),
            _ => Exit::Usage,
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

/// Forgets links that expired a day ago or more (so a late click still hears "expired").
pub fn prune(store: &dyn Store, now: Timestamp) -> Result<usize, StoreError> {
    store.remove_links_expired(now.plus_secs(-KEEP_EXPIRED_SECS))
}

fn user_authorized(store: &dyn Store, name: &str) -> Result<Integration, LinkError> {
    let found = super::lookup::integration::<LinkError>(store, name)?;
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

/// (callback path, integration) pairs: where a receiver completes whose links.
pub type Routes = Vec<(String, String)>;

/// The routes of every user-authorized integration whose app can be used.
pub fn callback_routes(
    store: &dyn Store,
    system_app: Result<&SystemApp, String>,
) -> Result<Routes, StoreError> {
    let mut routes = Vec::new();
    for integration in store.integrations()? {
        if integration.mode != Mode::UserAuthorized {
            continue;
        }
        let Ok((_, app)) = super::app::app_of(store, &integration, system_app.clone()) else {
            continue;
        };
        if let Ok(url) = Url::parse(&app.callback_url) {
            routes.push((url.path().to_owned(), integration.name));
        }
    }
    Ok(routes)
}

/// The integrations served on `path`. Empty means the path is nobody's (404).
pub fn integrations_at(routes: &[(String, String)], path: &str) -> Vec<String> {
    routes
        .iter()
        .filter(|(at, _)| at == path)
        .map(|(_, integration)| integration.clone())
        .collect()
}

/// Ends the pending links of `user` (their grant was revoked): a link handed out before
/// must not grant again. Returns how many.
pub fn withdraw(
    store: &dyn Store,
    integration: &str,
    user: &str,
    now: Timestamp,
) -> Result<usize, StoreError> {
    let mut ended = 0;
    for (handle, link) in store.links()? {
        if link.integration == integration
            && link.user == user
            && link.outcome == LinkOutcome::Pending
            && !link.is_expired(now)
        {
            store.put_link(
                &handle,
                &Link {
                    outcome: LinkOutcome::Failed {
                        sentence: "the user's grant was revoked before the link was used".into(),
                    },
                    ..link
                },
            )?;
            ended += 1;
        }
    }
    Ok(ended)
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

/// Records how a link ended when only its digest is known (the resume of an interrupted
/// callback): only a link still claimed is settled, so a later outcome is never overwritten.
pub fn settle_digest(
    store: &dyn Store,
    digest: &str,
    outcome: LinkOutcome,
) -> Result<bool, StoreError> {
    match store.link(digest)? {
        Some(link) if matches!(link.outcome, LinkOutcome::Claimed { .. }) => {
            store.put_link(digest, &Link { outcome, ..link })?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Whether the exchange stored for `link`'s user was made by that link's callback: the
/// consent arrived and is stored, and the agent is completing it.
pub fn exchange_stored_for(
    store: &dyn Store,
    digest: &str,
    link: &Link,
) -> Result<bool, StoreError> {
    Ok(store
        .exchanged(&link.integration, &Principal::User(link.user.clone()))?
        .is_some_and(|e| e.link.as_deref() == Some(digest)))
}

/// What a second visit to a spent link's callback learns: the truth about the first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AfterUse {
    /// The first visit's authorization was stored and verified.
    Authorized { integration: String, user: String },
    /// Its tokens are stored and being verified.
    Completing { integration: String, user: String },
    /// A callback claimed it and then stopped before anything was stored: the link is spent.
    Interrupted,
    /// Declined, failed or withdrawn: "used" says it.
    Used,
}

/// Looks at a spent link by its state (see [`AfterUse`]) at `now`. A claim from before
/// `serving_since` (when this agent started) or past its budget was interrupted; a younger
/// one is a callback still under way.
pub fn after_use(
    store: &dyn Store,
    state: &str,
    now: Timestamp,
    serving_since: Timestamp,
) -> Result<AfterUse, StoreError> {
    let digest = digest(state);
    let Some(link) = store.link(&digest)? else {
        return Ok(AfterUse::Used);
    };
    let user = sanitize(&link.user, 256);
    Ok(match &link.outcome {
        // Whose Jira and which site stay unsaid: whoever replays the address learns no more.
        LinkOutcome::Authorized { .. } => AfterUse::Authorized {
            integration: link.integration.clone(),
            user,
        },
        LinkOutcome::Claimed { .. } if exchange_stored_for(store, &digest, &link)? => {
            AfterUse::Completing {
                integration: link.integration.clone(),
                user,
            }
        }
        LinkOutcome::Claimed { at }
            if *at < serving_since || now > at.plus_secs(COMPLETE_BUDGET_SECS) =>
        {
            AfterUse::Interrupted
        }
        _ => AfterUse::Used,
    })
}

/// The sentence of a link spent by a callback that stopped before its tokens were stored.
pub const INTERRUPTED: &str = "This link is spent: jira-auth stopped while completing the authorization it started, before anything was stored. Ask for a new link where you got this one; each link works once.";

/// The outcome of a link authorized as `account` on `site`.
pub fn authorized(account: Account, site: &Site) -> LinkOutcome {
    LinkOutcome::Authorized {
        account,
        site_name: site.name.clone(),
        site_url: site.url.clone(),
    }
}

/// The site a user's grant is stored for. Once the integration has users, it works on
/// their sites: a consent that reaches one of them is stored for the one most users are on,
/// and one that reaches none is refused. The first user's consent must name one site.
pub fn site_for_user(
    store: &dyn Store,
    integration: &str,
    sites: &[Site],
) -> Result<Result<Site, String>, StoreError> {
    // The usual consent names one site: one grant on it, or none on any, settles it without
    // reading every user's grant (a receiver completing thousands of users calls this each).
    if let [only] = sites {
        let on_it =
            |t: &crate::domain::TokenSummary| t.site.as_ref().is_some_and(|s| s.id == only.id);
        if store
            .find_token_summary(integration, &mut |t| on_it(t))?
            .is_some()
            || store
                .find_token_summary(integration, &mut |t| t.site.is_some())?
                .is_none()
        {
            return Ok(Ok(only.clone()));
        }
    }
    let mut used: Vec<(usize, Site)> = Vec::new();
    for summary in store.token_summaries()? {
        if summary.integration != integration {
            continue;
        }
        let Some(site) = summary.site else { continue };
        match used.iter_mut().find(|(_, s)| s.id == site.id) {
            Some((users, _)) => *users += 1,
            None => used.push((1, site)),
        }
    }
    used.sort_by_key(|(users, _)| std::cmp::Reverse(*users));
    let urls = |sites: &mut dyn Iterator<Item = &Site>| {
        sites
            .map(|s| sanitize(&s.url, 100))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if used.is_empty() {
        return Ok(match sites {
            [only] => Ok(only.clone()),
            _ => Err(format!(
                "Your consent covers several Jira sites ({}), and jira-auth cannot tell which one this integration is for. Open a new link and choose one site on Atlassian's consent page.",
                urls(&mut sites.iter())
            )),
        });
    }
    Ok(used
        .iter()
        .find_map(|(_, site)| sites.iter().find(|s| s.id == site.id).cloned())
        .ok_or_else(|| {
            format!(
                "Your consent is for {}, but this integration works on {}. Open a new link and choose that site on Atlassian's consent page.",
                urls(&mut sites.iter()),
                urls(&mut used.iter().map(|(_, s)| s))
            )
        }))
}

/// Why the grant `attempt` would store must not replace the one its user has: it acts as
/// another Atlassian account. `None` when there is no grant yet, or the account is the same.
pub fn account_changed(
    store: &dyn Store,
    attempt: &Attempt,
    account_id: &str,
) -> Result<Option<String>, StoreError> {
    account_changed_for(store, &attempt.integration, &attempt.principal, account_id)
}

/// [`account_changed`] for a grant named by integration and principal.
pub fn account_changed_for(
    store: &dyn Store,
    integration: &str,
    principal: &Principal,
    account_id: &str,
) -> Result<Option<String>, StoreError> {
    let existing = store.token_set(integration, principal)?;
    let Some(Account { id, .. }) = existing.and_then(|t| t.account) else {
        return Ok(None);
    };
    if id == account_id {
        return Ok(None);
    }
    let user = match principal {
        Principal::User(id) => sanitize(id, crate::validate::text::ACCOUNT_CAP),
        Principal::Admin => "admin".to_owned(),
    };
    Ok(Some(format!(
        "This link was for user {user}, who is connected through another Atlassian account; nothing was changed. If that should change, the administrator revokes the old grant first (the Users screen's d) and hands out a new link."
    )))
}

/// What a caller waiting on a link hears once it is done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Waited {
    Pending,
    Authorized(String),
    Over(String),
}

/// Where the link `handle` names stands at `now`, with a sentence once it is over, and when
/// it should be looked at again if nothing settles it (its expiry, or a claim's budget).
pub fn standing(
    store: &dyn Store,
    handle: &str,
    now: Timestamp,
) -> Result<(Waited, Timestamp), LinkError> {
    let link = store.link(handle)?.ok_or(LinkError::Unknown)?;
    let expires_at = link.expires_at;
    let user = sanitize(&link.user, crate::validate::text::ACCOUNT_CAP);
    let stored = matches!(link.outcome, LinkOutcome::Claimed { .. })
        && exchange_stored_for(store, handle, &link)?;
    // A waiter looks again when this can next change by itself.
    let recheck = match &link.outcome {
        // The settle wakes the waiter; this is only the fallback.
        LinkOutcome::Claimed { .. } if stored => now.plus_secs(30),
        LinkOutcome::Claimed { at } => at.plus_secs(COMPLETE_BUDGET_SECS + 1),
        _ => expires_at,
    };
    let waited = match link.outcome {
        LinkOutcome::Authorized {
            account,
            site_name,
            site_url,
        } => Waited::Authorized(format!(
            "User {user} authorized {} as {} on {} ({}).",
            link.integration,
            sanitize(&account.name, crate::validate::text::ACCOUNT_CAP),
            sanitize(&site_name, crate::validate::text::ACCOUNT_CAP),
            sanitize(&site_url, crate::validate::text::URL_CAP)
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
        // Stored and being verified (by the callback or the next agent's resume): wait on.
        LinkOutcome::Claimed { .. } if stored => Waited::Pending,
        // Spent by a callback that never settled it: the agent stopped mid-exchange.
        LinkOutcome::Claimed { at } if now > at.plus_secs(COMPLETE_BUDGET_SECS) => {
            Waited::Over(format!(
                "The authorization of user {user} was interrupted (jira-auth stopped while completing it), and its link is spent; hand them a new one (`jira-auth link --user ...`)."
            ))
        }
        LinkOutcome::Pending | LinkOutcome::Claimed { .. } => Waited::Pending,
    };
    Ok((waited, recheck))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AppRef, Secret, TokenSet};
    use crate::store::{OpenOptions, SledStore, StorePaths};

    const NOW: Timestamp = Timestamp(1_700_000_000);

    fn store(dir: &std::path::Path) -> SledStore {
        let paths = StorePaths {
            data_dir: dir.join("data"),
            key_file: dir.join("key"),
        };
        let store = SledStore::open(&OpenOptions::new(paths, "test")).unwrap();
        store
            .put_profile(&crate::domain::Profile {
                name: "acme".into(),
                mechanism: crate::domain::Mechanism::OAuth2,
                client_id: "Fk12Cd34Ef56Gh78Ij90Kl12Mn34Op56".into(),
                client_secret: Secret::new("secret"),
                authorization_url: "https://auth.atlassian.com/authorize".into(),
                token_url: "https://auth.atlassian.com/oauth/token".into(),
                refresh_url: "https://auth.atlassian.com/oauth/token".into(),
                scopes: vec!["read:jira-work".into(), "offline_access".into()],
                callback_url: "https://jira-auth.example.com/callback".into(),
                updated_at: NOW,
            })
            .unwrap();
        store
            .put_integration(&Integration {
                name: "support".into(),
                mode: Mode::UserAuthorized,
                app: AppRef::Custom("acme".into()),
                enabled: true,
                updated_at: NOW,
            })
            .unwrap();
        store
    }

    fn site(id: &str) -> Site {
        Site {
            id: id.into(),
            url: format!("https://{id}.atlassian.net"),
            name: id.into(),
        }
    }

    fn grant(store: &SledStore, user: &str, site_id: &str, account: &str) {
        store
            .put_token_set(&TokenSet {
                integration: "support".into(),
                principal: Principal::User(user.into()),
                access_token: Secret::new("at"),
                access_expires_at: NOW.plus_secs(3600),
                refresh_token: Some(Secret::new("rt")),
                consented_at: NOW,
                rotated_at: NOW,
                site: Some(site(site_id)),
                scopes: vec![],
                last_error: None,
                reauthorization_required: false,
                account: Some(Account {
                    id: account.into(),
                    name: account.into(),
                }),
            })
            .unwrap();
    }

    fn state_of(issued: &Issued) -> String {
        issued
            .url
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
            .unwrap()
    }

    #[test]
    fn a_link_works_once_within_its_time_and_only_on_its_integrations_path() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let issued = issue(&store, "support", "alice", 600, Err("none".into()), NOW).unwrap();
        let state = state_of(&issued);
        assert_eq!(issued.handle, digest(&state));
        assert!(
            store.link(&state).unwrap().is_none(),
            "the state itself is not a key"
        );
        let routes = callback_routes(&store, Err("none".into())).unwrap();
        assert_eq!(routes, [("/callback".to_owned(), "support".to_owned())]);
        let served = integrations_at(&routes, "/callback");
        let other = ["ops".to_owned()];
        let redeem_at = |served: &[String], now| {
            redeem(&store, &state, served, Err("none".into()), now)
                .unwrap()
                .map(|r| r.link.user)
        };
        assert_eq!(redeem_at(&other, NOW), Err(Refusal::OtherIntegration));
        assert_eq!(
            redeem_at(&served, NOW.plus_secs(600)),
            Err(Refusal::Expired)
        );
        assert_eq!(redeem_at(&served, NOW), Ok("alice".into()));
        assert_eq!(redeem_at(&served, NOW), Err(Refusal::Used));
        assert_eq!(
            redeem(&store, "forged", &served, Err("none".into()), NOW)
                .unwrap()
                .map(|r| r.link.user),
            Err(Refusal::Unknown)
        );
        assert!(matches!(
            issue(&store, "support", "alice", 10, Err("none".into()), NOW),
            Err(LinkError::Ttl { secs: 10 })
        ));
    }

    #[test]
    fn links_a_day_past_their_expiry_are_swept_and_later_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let old = issue(&store, "support", "old", 60, Err("none".into()), NOW).unwrap();
        let recent = issue(
            &store,
            "support",
            "new",
            60,
            Err("none".into()),
            NOW.plus_secs(3600),
        )
        .unwrap();
        let later = NOW.plus_secs(60 + KEEP_EXPIRED_SECS + 1);
        assert_eq!(prune(&store, later).unwrap(), 1);
        assert!(store.link(&old.handle).unwrap().is_none());
        let (waited, _) = standing(&store, &recent.handle, later).unwrap();
        assert!(
            matches!(&waited, Waited::Over(s) if s.contains("expired")),
            "{waited:?}"
        );
    }

    #[test]
    fn a_claim_that_never_settles_ends_the_wait_after_its_budget() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let issued = issue(&store, "support", "bob", 600, Err("none".into()), NOW).unwrap();
        let served = ["support".to_owned()];
        let claimed_at = NOW.plus_secs(5);
        redeem(
            &store,
            &state_of(&issued),
            &served,
            Err("none".into()),
            claimed_at,
        )
        .unwrap()
        .unwrap();
        let (waited, recheck) = standing(&store, &issued.handle, claimed_at).unwrap();
        assert_eq!(waited, Waited::Pending, "the exchange is under way");
        assert_eq!(recheck, claimed_at.plus_secs(COMPLETE_BUDGET_SECS + 1));
        let (waited, _) = standing(&store, &issued.handle, recheck).unwrap();
        assert!(
            matches!(&waited, Waited::Over(s) if s.contains("interrupted")),
            "{waited:?}"
        );
    }

    #[test]
    fn revoking_a_user_withdraws_their_pending_links_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let alice = issue(&store, "support", "alice", 600, Err("none".into()), NOW).unwrap();
        let bob = issue(&store, "support", "bob", 600, Err("none".into()), NOW).unwrap();
        assert_eq!(withdraw(&store, "support", "alice", NOW).unwrap(), 1);
        let served = ["support".to_owned()];
        let refusal = |issued: &Issued| {
            redeem(&store, &state_of(issued), &served, Err("none".into()), NOW)
                .unwrap()
                .err()
        };
        assert_eq!(refusal(&alice), Some(Refusal::Used));
        assert_eq!(refusal(&bob), None);
    }

    #[test]
    fn the_first_user_names_one_site_and_later_ones_must_be_on_the_integrations_sites() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let (a, b) = (site("acme"), site("beta"));
        assert_eq!(
            site_for_user(&store, "support", std::slice::from_ref(&a)).unwrap(),
            Ok(a.clone())
        );
        assert!(
            site_for_user(&store, "support", &[a.clone(), b.clone()])
                .unwrap()
                .is_err()
        );
        grant(&store, "alice", "acme", "acct-a");
        assert_eq!(
            site_for_user(&store, "support", &[b.clone(), a.clone()]).unwrap(),
            Ok(a.clone())
        );
        let refused = site_for_user(&store, "support", &[b]).unwrap().unwrap_err();
        assert!(refused.contains("https://acme.atlassian.net"), "{refused}");
    }

    #[test]
    fn a_users_grant_keeps_its_atlassian_account() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        grant(&store, "alice", "acme", "acct-a");
        let issued = issue(&store, "support", "alice", 600, Err("none".into()), NOW).unwrap();
        let redeemed = redeem(
            &store,
            &state_of(&issued),
            &["support".to_owned()],
            Err("none".into()),
            NOW,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            account_changed(&store, &redeemed.attempt, "acct-a").unwrap(),
            None
        );
        let refused = account_changed(&store, &redeemed.attempt, "acct-x")
            .unwrap()
            .expect("another account is refused");
        assert!(refused.contains("revokes the old grant"), "{refused}");
    }
}
