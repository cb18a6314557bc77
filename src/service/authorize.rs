//! Authorizing an integration: from the authorization URL to a verified, stored token set.
//! The CLI and the console walk the same four steps: `prepare` (which app, which principal,
//! a fresh state), the code coming back (listener or paste: the caller's business), `exchange`
//! (tokens and the Jira sites they reach), and `finish` (verify on the chosen site, store,
//! enable). Each step is separate so that no step holds the store while a human is away.

use url::Url;

use crate::atlassian::Endpoints;
use crate::atlassian::authorize::{self as authorize_url, AuthorizeRequest};
use crate::atlassian::client::{self, TokenGrant};
use crate::atlassian::errors::ProtocolError;
use crate::atlassian::redirect::{self, RedirectError};
use crate::atlassian::resources::{self, Myself};
use crate::domain::{Event, EventKind, Mode, Principal, Profile, Site, Timestamp, TokenSet};
use crate::store::{Exchanged, Store, StoreError};
use crate::validate::text::quoted;
use crate::validate::{IdentifierError, identifier};

use super::principal::Mismatch;
use super::system_app::SystemApp;
use crate::exit::{Exit, Exits};

/// Everything about one authorization attempt that must survive until the code is back.
#[derive(Clone, Debug, PartialEq)]
pub struct Attempt {
    pub integration: String,
    pub mode: Mode,
    pub principal: Principal,
    /// "the system app \"Acme\"" or "the profile \"acme\"": for sentences.
    pub app_label: String,
    pub app: Profile,
    /// Unguessable and fresh: the redirect must carry it back (CSRF protection).
    pub state: String,
    pub url: Url,
    /// True when the integration already had a token for this principal.
    pub renewing: bool,
}

/// The tokens a code bought (as stored, unverified), and the Jira sites they reach.
#[derive(Clone, Debug, PartialEq)]
pub struct Grant {
    pub exchanged: Exchanged,
    pub sites: Vec<Site>,
}

/// What a finished authorization reports.
#[derive(Clone, Debug)]
pub struct Authorized {
    pub tokens: TokenSet,
    pub myself: Myself,
    pub site: Site,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthorizeError {
    #[error(transparent)]
    NoIntegration(#[from] super::lookup::NoSuchIntegration),
    #[error(
        "{} is user-authorized: name the end user to authorize for (--user ID, or the console's authorize-for-a-user action)",
        quoted(integration)
    )]
    UserNeeded { integration: String },
    #[error(
        "{} is pre-authorized: one token serves everyone, so --user does not apply",
        quoted(integration)
    )]
    UserNotApplicable { integration: String },
    #[error(transparent)]
    App(#[from] super::app::AppError),
    #[error(
        "Atlassian sent no refresh token, so {app} lacks the offline_access scope: a pre-authorized integration would stop working within an hour. Add offline_access in the app's scopes (step ix) and to the profile, then authorize again"
    )]
    NoRefreshToken { app: String },
    #[error(
        "the token reaches no Jira site: the app is not installed on any site this account can use, or consent was given for another site only. Authorize again and pick the Jira site on Atlassian's consent page"
    )]
    NoSites,
    #[error("the token reaches several Jira sites; choose one with --site:\n{}", list_sites(.0))]
    SeveralSites(Vec<Site>),
    #[error("no Jira site matches {}; the token reaches:\n{}", quoted(wanted), list_sites(.sites))]
    UnknownSite { wanted: String, sites: Vec<Site> },
    #[error(transparent)]
    Identifier(#[from] IdentifierError),
    #[error(transparent)]
    Redirect(#[from] RedirectError),
    /// The loopback listener could not listen, or heard nothing in time (the agent's
    /// sentence: it owns the listener).
    #[error("{0}")]
    Listener(String),
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The token endpoint answered but the answer could not be written: the consent is spent.
    #[error(
        "Atlassian exchanged the code, but jira-auth could not store the tokens ({0}); that consent is spent, so authorize again once the store is fixed"
    )]
    Unstored(String),
}

impl AuthorizeError {
    /// Network trouble, a 5xx or a busy store: trying again later may work, nothing is lost.
    pub fn is_temporary(&self) -> bool {
        match self {
            AuthorizeError::Protocol(e) => e.is_temporary(),
            AuthorizeError::Store(e) => e.exit().is_temporary(),
            AuthorizeError::Listener(_) => true,
            AuthorizeError::Redirect(e) => e.is_temporary(),
            _ => false,
        }
    }

    /// Whether this failure, met after the exchange was stored, ends it for good: Atlassian
    /// refused the tokens or the sites say no. Network trouble and a failing store do not:
    /// the stored exchange waits for a retry.
    pub fn ends_the_exchange(&self) -> bool {
        !self.is_temporary()
            && !matches!(self, AuthorizeError::Store(_) | AuthorizeError::Unstored(_))
    }
}

impl Exits for AuthorizeError {
    /// DESIGN.md's exit codes.
    fn exit(&self) -> Exit {
        match self {
            AuthorizeError::Protocol(e) => e.exit(),
            AuthorizeError::Store(e) => e.exit(),
            AuthorizeError::Redirect(e) => e.exit(),
            AuthorizeError::App(e) => e.exit(),
            AuthorizeError::Listener(_) => Exit::Temporary,
            AuthorizeError::Unstored(_) => Exit::Failed,
            AuthorizeError::NoRefreshToken { .. } | AuthorizeError::NoSites => Exit::Reauthorize,
            _ => Exit::Usage,
        }
    }
}

fn list_sites(sites: &[Site]) -> String {
    sites
        .iter()
        .map(|s| format!("  {}  {}  (id {})", s.url, s.name, s.id))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Step 1: the attempt for `integration` (and `user`, when each user authorizes). Both go
/// through the identifier rule before the store is touched: the user id becomes a store key
/// and is shown on every status screen, exactly as given.
pub fn prepare(
    store: &dyn Store,
    integration: &str,
    user: Option<&str>,
    system_app: Result<&SystemApp, String>,
) -> Result<Attempt, AuthorizeError> {
    identifier::integration_name(integration).map_err(IdentifierError::as_lookup)?;
    if let Some(user) = user {
        identifier::user_id(user)?;
    }
    let found = super::lookup::integration::<AuthorizeError>(store, integration)?;
    let principal = super::principal::of(found.mode, user).map_err(|mismatch| {
        let integration = found.name.clone();
        match mismatch {
            Mismatch::UserNotApplicable => AuthorizeError::UserNotApplicable { integration },
            Mismatch::UserNeeded => AuthorizeError::UserNeeded { integration },
        }
    })?;
    let (app_label, app) = super::app::app_of(store, &found, system_app)?;
    let renewing = store.token_set(&found.name, &principal)?.is_some();
    Ok(attempt_for(
        found.name, found.mode, principal, app_label, app, renewing,
    ))
}

/// The attempt for an app already in hand (also the end-user link preview).
pub fn attempt_for(
    integration: String,
    mode: Mode,
    principal: Principal,
    app_label: String,
    app: Profile,
    renewing: bool,
) -> Attempt {
    let state = authorize_url::new_state();
    let url = authorization_url(&app, &state);
    Attempt {
        integration,
        mode,
        principal,
        app_label,
        app,
        state,
        url,
        renewing,
    }
}

/// The authorize URL for `app`: its own (validated) authorization endpoint, so a profile
/// and the override base agree, with exactly the parameters Atlassian documents.
pub fn authorization_url(app: &Profile, state: &str) -> Url {
    authorization_url_for(&PublicApp::of(app), state)
}

/// What the authorization URL is built from: nothing secret, so the console can preview
/// an end user's link from what it shows anyway.
#[derive(Clone, Copy, Debug)]
pub struct PublicApp<'a> {
    pub authorization_url: &'a str,
    pub client_id: &'a str,
    pub scopes: &'a [String],
    pub callback_url: &'a str,
}

impl<'a> PublicApp<'a> {
    pub fn of(app: &'a Profile) -> Self {
        PublicApp {
            authorization_url: &app.authorization_url,
            client_id: &app.client_id,
            scopes: &app.scopes,
            callback_url: &app.callback_url,
        }
    }
}

pub fn authorization_url_for(app: &PublicApp<'_>, state: &str) -> Url {
    authorize_url::authorization_url(
        &authorize_endpoints(app.authorization_url),
        &AuthorizeRequest {
            client_id: app.client_id.to_owned(),
            scopes: app.scopes.to_vec(),
            redirect_uri: app.callback_url.to_owned(),
            state: state.to_owned(),
        },
    )
}

/// The state shown in a preview: every real link gets its own.
pub const PREVIEW_STATE: &str = "FRESH-FOR-EACH-USER";

/// Endpoints whose authorize URL is the profile's (minus its query).
fn authorize_endpoints(authorization_url: &str) -> Endpoints {
    let mut endpoints = Endpoints::default();
    if let Ok(mut url) = Url::parse(authorization_url) {
        url.set_query(None);
        let path = url.path().trim_end_matches("/authorize").to_owned();
        url.set_path(&path);
        endpoints.auth_base = url;
    }
    endpoints
}

/// Step 3a: trade the code for tokens. From the moment this returns, Atlassian has spent
/// the consent: the caller writes the answer ([`store_exchanged`]) before anything else.
pub async fn exchange_code(
    http: &reqwest::Client,
    attempt: &Attempt,
    code: &str,
) -> Result<TokenGrant, AuthorizeError> {
    let credentials = super::app::credentials(&attempt.app)?;
    let tokens = client::exchange_code(http, &credentials, code, &attempt.app.callback_url).await?;
    // Refused before it is stored: without a refresh token the grant dies within the hour.
    if attempt.mode == Mode::PreAuthorized && tokens.refresh_token.is_none() {
        return Err(AuthorizeError::NoRefreshToken {
            app: attempt.app_label.clone(),
        });
    }
    Ok(tokens)
}

/// Step 3b: writes (sealed, flushed) what the code bought, marked unverified, beside the
/// grant the principal may still have: that one keeps working until this one is verified.
/// `link` is the digest of the end user's link whose callback made the exchange. An older
/// unfinished exchange of the same grant is replaced, and the trail says so. `id` names the
/// exchange (see [`new_exchange_id`]).
pub fn store_exchanged(
    store: &dyn Store,
    attempt: &Attempt,
    tokens: TokenGrant,
    link: Option<String>,
    id: String,
    now: Timestamp,
) -> Result<Exchanged, AuthorizeError> {
    let exchanged = Exchanged {
        id,
        integration: attempt.integration.clone(),
        principal: attempt.principal.clone(),
        mode: attempt.mode,
        renewing: attempt.renewing,
        app_label: attempt.app_label.clone(),
        app_scopes: attempt.app.scopes.clone(),
        access_token: tokens.access_token,
        expires_in: tokens.expires_in,
        refresh_token: tokens.refresh_token,
        granted_scopes: tokens.scopes,
        exchanged_at: now,
        link,
        sites: None,
        tries: 0,
        last_error: None,
        awaiting_site: false,
    };
    if let Some(older) = store.put_exchanged(&exchanged)? {
        store.append_event(&failure_event(
            &older,
            format!(
                "the unfinished authorization exchanged at {} was replaced by a newer one",
                older.exchanged_at.rfc3339()
            ),
            now,
        ))?;
    }
    Ok(exchanged)
}

/// A fresh name for an exchange, known before the token call so that whoever makes the
/// call can claim the exchange before it is stored.
pub fn new_exchange_id() -> String {
    authorize_url::new_state()
}

/// Step 3c: the Jira sites the stored tokens reach. None is a permanent failure.
pub async fn find_sites(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    exchanged: &Exchanged,
) -> Result<Vec<Site>, AuthorizeError> {
    let found = resources::accessible_resources(http, endpoints, &exchanged.access_token).await?;
    let sites = resources::jira_sites(&found);
    if sites.is_empty() {
        return Err(AuthorizeError::NoSites);
    }
    Ok(sites)
}

/// Picks the site: the only one, or the one `wanted` names by URL, host, name or cloud id.
pub fn choose_site(sites: &[Site], wanted: Option<&str>) -> Result<Site, AuthorizeError> {
    match (sites, wanted) {
        ([], _) => Err(AuthorizeError::NoSites),
        ([only], None) => Ok(only.clone()),
        (_, None) => Err(AuthorizeError::SeveralSites(sites.to_vec())),
        (_, Some(wanted)) => {
            let key = normalize_site(wanted);
            sites
                .iter()
                .find(|s| {
                    s.id == wanted.trim()
                        || normalize_site(&s.url) == key
                        || s.name.eq_ignore_ascii_case(wanted.trim())
                })
                .cloned()
                .ok_or_else(|| AuthorizeError::UnknownSite {
                    wanted: wanted.to_owned(),
                    sites: sites.to_vec(),
                })
        }
    }
}

/// `https://Acme.atlassian.net/` and `acme.atlassian.net` name the same site.
fn normalize_site(text: &str) -> String {
    let text = text.trim().to_ascii_lowercase();
    let text = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .unwrap_or(&text);
    text.trim_end_matches('/').to_owned()
}

/// Step 4a: the verification call on the chosen site.
pub async fn verify(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    exchanged: &Exchanged,
    site: &Site,
) -> Result<Myself, AuthorizeError> {
    Ok(resources::myself(http, endpoints, &exchanged.access_token, &site.id).await?)
}

/// Step 4b: moves the verified exchange into the token set (flushed before anyone uses it),
/// records the event, enables the integration, then removes the exchange. A crash between
/// the token set and the removal is harmless: the next agent finds the token set already
/// holding this exchange's refresh token and only removes the record.
pub fn finish(
    store: &dyn Store,
    exchanged: &Exchanged,
    site: Site,
    myself: Myself,
    now: Timestamp,
) -> Result<Authorized, AuthorizeError> {
    let tokens = token_set_of(exchanged, &site, &myself);
    store.put_token_set(&tokens)?;
    if let Some(mut integration) = store.integration(&exchanged.integration)?
        && !integration.enabled
    {
        integration.enabled = true;
        integration.updated_at = now;
        store.put_integration(&integration)?;
    }
    store.append_event(&Event {
        at: now,
        integration: exchanged.integration.clone(),
        principal: Some(exchanged.principal.key()),
        kind: if exchanged.renewing {
            EventKind::Reauthorized
        } else {
            EventKind::Authorized
        },
        outcome: format!("as {} on {}", myself.display_name, site.url),
    })?;
    store.remove_exchanged(&exchanged.integration, &exchanged.principal, &exchanged.id)?;
    Ok(Authorized {
        tokens,
        myself,
        site,
    })
}

/// The token set a verified exchange becomes. Its times count from the exchange: that is
/// when Atlassian issued the tokens and the consent's 365 days began.
fn token_set_of(exchanged: &Exchanged, site: &Site, myself: &Myself) -> TokenSet {
    let at = exchanged.exchanged_at;
    TokenSet {
        integration: exchanged.integration.clone(),
        principal: exchanged.principal.clone(),
        access_token: exchanged.access_token.clone(),
        access_expires_at: at.plus_secs(super::refresh::access_lifetime(exchanged.expires_in)),
        refresh_token: exchanged.refresh_token.clone(),
        consented_at: at,
        rotated_at: at,
        site: Some(site.clone()),
        scopes: if exchanged.granted_scopes.is_empty() {
            exchanged.app_scopes.clone()
        } else {
            exchanged.granted_scopes.clone()
        },
        last_error: None,
        reauthorization_required: false,
        account: Some(crate::domain::Account {
            id: myself.account_id.clone(),
            name: myself.display_name.clone(),
        }),
    }
}

/// Ends an exchange that cannot be verified: the trail states why, the record goes. The
/// grant the principal had before (if any) is untouched.
pub fn fail_exchanged(
    store: &dyn Store,
    exchanged: &Exchanged,
    sentence: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let removed =
        store.remove_exchanged(&exchanged.integration, &exchanged.principal, &exchanged.id)?;
    if removed {
        store.append_event(&failure_event(exchanged, sentence.to_owned(), now))?;
    }
    Ok(removed)
}

fn failure_event(exchanged: &Exchanged, outcome: String, now: Timestamp) -> Event {
    Event {
        at: now,
        integration: exchanged.integration.clone(),
        principal: Some(exchanged.principal.key()),
        kind: EventKind::AuthorizationFailed,
        outcome,
    }
}

/// Step 2, by paste: the redirected URL from the browser's address bar (or the bare code),
/// checked against the attempt's state.
pub fn code_from_paste(pasted: &str, attempt: &Attempt) -> Result<String, AuthorizeError> {
    Ok(redirect::parse_redirect(pasted, &attempt.state)?)
}

/// An `error=` answer from the browser: `access_denied` is a declined consent (RFC 6749
/// 4.1.2.1); anything else is Atlassian's to explain, `server_error` and
/// `temporarily_unavailable` being temporary.
pub fn denied(error: String, description: Option<String>) -> RedirectError {
    if error == "access_denied" {
        RedirectError::Declined { error, description }
    } else {
        RedirectError::Other { error, description }
    }
}

/// What both faces say when an authorization is done.
pub fn authorized_sentence(done: &Authorized) -> String {
    let whose = match &done.tokens.principal {
        Principal::Admin => format!("{} is enabled", done.tokens.integration),
        Principal::User(id) => format!(
            "{} holds a token for user {}",
            done.tokens.integration,
            crate::validate::text::sanitize(id, crate::validate::text::ACCOUNT_CAP)
        ),
    };
    format!(
        "Authorized as {} on {} ({}); {whose}.",
        done.myself.display_name, done.site.name, done.site.url
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_answer_from_the_listener_means_what_it_means_in_a_paste() {
        let declined = AuthorizeError::from(denied("access_denied".into(), None));
        assert_eq!(declined.exit(), Exit::Reauthorize);
        assert!(!declined.is_temporary());
        for error in ["server_error", "temporarily_unavailable"] {
            let busy = AuthorizeError::from(denied(error.into(), Some("busy".into())));
            assert_eq!(busy.exit(), Exit::Temporary, "{error}");
            assert!(busy.is_temporary(), "{error}");
            let sentence = busy.to_string();
            assert!(
                sentence.contains(error) && sentence.contains("try again"),
                "{sentence}"
            );
        }
        let refused = AuthorizeError::from(denied("invalid_scope".into(), None));
        assert_eq!(refused.exit(), Exit::Usage);
        assert!(!refused.is_temporary());
    }

    fn site(id: &str, url: &str, name: &str) -> Site {
        Site {
            id: id.into(),
            url: url.into(),
            name: name.into(),
        }
    }

    #[test]
    fn one_site_is_taken_several_need_a_choice() {
        let acme = site("1", "https://acme.atlassian.net", "acme");
        let beta = site("2", "https://beta.atlassian.net", "Beta Corp");
        assert_eq!(
            choose_site(std::slice::from_ref(&acme), None).unwrap(),
            acme
        );
        let both = [acme.clone(), beta.clone()];
        assert!(matches!(
            choose_site(&both, None),
            Err(AuthorizeError::SeveralSites(_))
        ));
        for wanted in [
            "2",
            "beta.atlassian.net",
            "https://Beta.atlassian.net/",
            "beta corp",
        ] {
            assert_eq!(choose_site(&both, Some(wanted)).unwrap(), beta, "{wanted}");
        }
        let error = choose_site(&both, Some("gamma")).unwrap_err().to_string();
        assert!(
            error.contains("https://acme.atlassian.net")
                && error.contains("https://beta.atlassian.net")
        );
        assert!(matches!(
            choose_site(&[], None),
            Err(AuthorizeError::NoSites)
        ));
    }
}
