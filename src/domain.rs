//! The plain data of jira-auth, in the seed's words: integrations, authorization profiles,
//! token sets, sites and audit events. No I/O here; every other layer builds on these types.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// The integration configured when none is named.
pub const DEFAULT_INTEGRATION: &str = "jira";

/// Atlassian's inactivity limit for a refresh token: every rotation resets it.
pub const REFRESH_INACTIVITY_LIMIT_SECS: i64 = 90 * 24 * 3600;
/// Atlassian's absolute limit for a grant, counted from the original consent.
pub const REFRESH_ABSOLUTE_LIMIT_SECS: i64 = 365 * 24 * 3600;
/// An access token with less than this left is shown as expiring.
pub const EXPIRING_WITHIN_SECS: i64 = 5 * 60;
/// A refresh token this close to either limit raises an alert on the home screen.
pub const LIMIT_WARNING_SECS: i64 = 14 * 24 * 3600;

/// A point in time as whole seconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The current wall-clock time. The only clock read in the domain; callers pass it down
    /// so that derivations stay pure and testable.
    pub fn now() -> Self {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        Timestamp(secs)
    }

    pub fn plus_secs(self, secs: i64) -> Self {
        Timestamp(self.0.saturating_add(secs))
    }

    /// Seconds from `self` until `later` (negative when `later` is in the past).
    pub fn secs_until(self, later: Timestamp) -> i64 {
        later.0.saturating_sub(self.0)
    }

    /// The inverse of [`Timestamp::rfc3339`].
    pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
        let at = humantime::parse_rfc3339(text).ok()?;
        let secs = match at.duration_since(std::time::UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_secs()).ok()?,
            Err(before) => -i64::try_from(before.duration().as_secs()).ok()?,
        };
        Some(Timestamp(secs))
    }

    /// RFC 3339 in UTC, the form used in JSON output and the audit trail.
    pub fn rfc3339(self) -> String {
        self.rfc3339_display().to_string()
    }

    /// [`Timestamp::rfc3339`] without the `String`, for writing many of them.
    pub fn rfc3339_display(self) -> humantime::Rfc3339Timestamp {
        let secs = u64::try_from(self.0).unwrap_or(0);
        humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs),
        )
    }
}

/// A secret value: client secret, access token or refresh token. It never prints: `Debug` and
/// `Display` both show `***`; the value is reached only through [`Secret::expose`].
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(SecretString::from(value.into()))
    }

    /// The clear text, for sealing, for the wire, or for an explicit reveal.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

/// How Jira is authorized for an integration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// The admin authorizes now; one token serves every user.
    PreAuthorized,
    /// Each end user authorizes at run time through a link; one token per user.
    UserAuthorized,
}

impl Mode {
    pub const ALL: [Mode; 2] = [Mode::PreAuthorized, Mode::UserAuthorized];

    /// The stable word used on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::PreAuthorized => "pre-authorized",
            Mode::UserAuthorized => "user-authorized",
        }
    }

    /// The seed's words for the choice.
    pub fn title(self) -> &'static str {
        match self {
            Mode::PreAuthorized => "Pre-authorize the integration",
            Mode::UserAuthorized => "Allow users to authorize",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which Atlassian app an integration authorizes through.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "profile")]
pub enum AppRef {
    /// The preconfigured app of this installation (the system app file).
    System,
    /// An authorization profile, by name.
    Custom(String),
}

impl AppRef {
    pub fn kind(&self) -> &'static str {
        match self {
            AppRef::System => "system",
            AppRef::Custom(_) => "custom",
        }
    }

    pub fn profile(&self) -> Option<&str> {
        match self {
            AppRef::System => None,
            AppRef::Custom(name) => Some(name),
        }
    }
}

impl fmt::Display for AppRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppRef::System => f.write_str("System"),
            AppRef::Custom(name) => write!(f, "Custom ({name})"),
        }
    }
}

/// The Jira connection being configured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integration {
    pub name: String,
    pub mode: Mode,
    pub app: AppRef,
    pub enabled: bool,
    pub updated_at: Timestamp,
}

/// The authorization mechanism of a profile. OAuth 2.0 is the only one the seed offers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mechanism {
    #[default]
    OAuth2,
}

impl Mechanism {
    pub fn title(self) -> &'static str {
        match self {
            Mechanism::OAuth2 => "OAuth v2",
        }
    }
}

/// An authorization profile: the admin's own Atlassian app.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    pub name: String,
    pub mechanism: Mechanism,
    pub client_id: String,
    pub client_secret: Secret,
    pub authorization_url: String,
    pub token_url: String,
    pub refresh_url: String,
    pub scopes: Vec<String>,
    pub callback_url: String,
    pub updated_at: Timestamp,
}

/// Whose token a token set is.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Principal {
    /// The admin who pre-authorized the integration; the token serves everyone.
    Admin,
    /// One end user of a user-authorized integration, by the id the caller gives.
    User(String),
}

impl Principal {
    /// The stable key and display form: `admin`, or `user:ID`.
    pub fn key(&self) -> String {
        match self {
            Principal::Admin => "admin".to_owned(),
            Principal::User(id) => format!("user:{id}"),
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        match key {
            "admin" => Some(Principal::Admin),
            _ => key
                .strip_prefix("user:")
                .filter(|id| !id.is_empty())
                .map(|id| Principal::User(id.to_owned())),
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// Written as its key (`admin`, `user:ID`), as `status --json` has always shown it; read back
/// through [`Principal::from_key`], once, wherever it arrives.
impl Serialize for Principal {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Principal {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let key = String::deserialize(deserializer)?;
        Principal::from_key(&key)
            .ok_or_else(|| serde::de::Error::custom("not a principal (admin, or user:ID)"))
    }
}

/// A Jira Cloud site the token can reach (one entry of `accessible-resources`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    /// The cloud id, used in `https://api.atlassian.com/ex/jira/{id}/...`.
    pub id: String,
    pub url: String,
    pub name: String,
}

/// The Atlassian account a grant acts as, from the `myself` check when it was authorized.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub name: String,
}

/// The tokens of one (integration, principal), with what is needed to judge their health.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenSet {
    pub integration: String,
    pub principal: Principal,
    pub access_token: Secret,
    pub access_expires_at: Timestamp,
    pub refresh_token: Option<Secret>,
    /// When the user first consented: the 365-day absolute limit counts from here.
    pub consented_at: Timestamp,
    /// When the refresh token last rotated (or was first issued): the 90-day limit counts from here.
    pub rotated_at: Timestamp,
    pub site: Option<Site>,
    pub scopes: Vec<String>,
    /// The last failure, as the sentence shown to a human (never a secret).
    pub last_error: Option<String>,
    /// Set when Atlassian refused the refresh token: only a new consent helps.
    pub reauthorization_required: bool,
    /// Who consented (absent for grants stored before accounts were recorded).
    pub account: Option<Account>,
}

/// A token set without its secrets: all that lists and `status --json` need, read without
/// unsealing anything, so ten thousand of them cost a scan and no cryptography.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenSummary {
    pub integration: String,
    pub principal: Principal,
    pub access_expires_at: Timestamp,
    pub has_refresh_token: bool,
    pub consented_at: Timestamp,
    pub rotated_at: Timestamp,
    pub site: Option<Site>,
    pub scopes: Vec<String>,
    pub last_error: Option<String>,
    pub reauthorization_required: bool,
    pub account: Option<Account>,
}

/// The health of a token set, as shown in lists and `status --json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenState {
    Valid,
    Expiring,
    Expired,
    NeedsReauthorization,
    /// Its newest refresh token is only in the agent's memory: the disk was full when
    /// Atlassian rotated it. The agent writes it by itself once there is room.
    Unsaved,
}

impl TokenState {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenState::Valid => "valid",
            TokenState::Expiring => "expiring",
            TokenState::Expired => "expired",
            TokenState::NeedsReauthorization => "needs_reauthorization",
            TokenState::Unsaved => "unsaved",
        }
    }

    /// The state's word in a table cell: the scriptable word, except that a dead grant says
    /// what to do about it.
    pub fn word(self) -> &'static str {
        match self {
            TokenState::NeedsReauthorization => "re-authorize",
            other => other.as_str(),
        }
    }

    /// How bad the state is, from Valid (0) to Unsaved (4): the order "the worst" is taken in.
    pub fn severity(self) -> u8 {
        match self {
            TokenState::Valid => 0,
            TokenState::Expiring => 1,
            TokenState::Expired => 2,
            TokenState::NeedsReauthorization => 3,
            TokenState::Unsaved => 4,
        }
    }

    /// Refreshing cannot help: the grant needs the person, or the disk needs room.
    pub fn is_dead(self) -> bool {
        self.severity() >= TokenState::NeedsReauthorization.severity()
    }
}

/// What a grant's health is judged from; [`TokenSet`] and [`TokenSummary`] both have it.
#[derive(Clone, Copy, Debug)]
struct Health {
    access_expires_at: Timestamp,
    has_refresh_token: bool,
    consented_at: Timestamp,
    rotated_at: Timestamp,
    reauthorization_required: bool,
}

impl Health {
    fn inactivity_deadline(self) -> Timestamp {
        self.rotated_at.plus_secs(REFRESH_INACTIVITY_LIMIT_SECS)
    }

    fn absolute_deadline(self) -> Timestamp {
        self.consented_at.plus_secs(REFRESH_ABSOLUTE_LIMIT_SECS)
    }

    fn refresh_deadline(self) -> Option<Timestamp> {
        self.has_refresh_token
            .then(|| self.inactivity_deadline().min(self.absolute_deadline()))
    }

    fn state(self, now: Timestamp) -> TokenState {
        let refreshable = self
            .refresh_deadline()
            .is_some_and(|deadline| now < deadline);
        let access_left = now.secs_until(self.access_expires_at);
        if self.reauthorization_required || (access_left <= 0 && !refreshable) {
            TokenState::NeedsReauthorization
        } else if access_left <= 0 {
            TokenState::Expired
        } else if access_left <= EXPIRING_WITHIN_SECS {
            TokenState::Expiring
        } else {
            TokenState::Valid
        }
    }

    /// The first instant after `now` at which [`Health::state`] may say something else:
    /// the access token entering its last minutes or running out, or the refresh token's
    /// limit. `None` when no clock can change it any more.
    fn next_change(self, now: Timestamp) -> Option<Timestamp> {
        let expiring = self.access_expires_at.plus_secs(-EXPIRING_WITHIN_SECS);
        [
            Some(expiring),
            Some(self.access_expires_at),
            self.refresh_deadline(),
        ]
        .into_iter()
        .flatten()
        .filter(|at| *at > now)
        .min()
    }
}

/// The deadlines and state of a grant, the same for a token set and its summary.
macro_rules! health_methods {
    () => {
        /// When the refresh token dies of inactivity unless it rotates first.
        pub fn inactivity_deadline(&self) -> Timestamp {
            self.health().inactivity_deadline()
        }

        /// When the grant dies whatever happens: 365 days after consent.
        pub fn absolute_deadline(&self) -> Timestamp {
            self.health().absolute_deadline()
        }

        /// The earlier of the two refresh-token limits, if there is a refresh token.
        pub fn refresh_deadline(&self) -> Option<Timestamp> {
            self.health().refresh_deadline()
        }

        pub fn state(&self, now: Timestamp) -> TokenState {
            self.health().state(now)
        }

        /// When [`Self::state`] may next change, after `now`; `None` when it never will.
        pub fn next_change(&self, now: Timestamp) -> Option<Timestamp> {
            self.health().next_change(now)
        }
    };
}

impl TokenSet {
    fn health(&self) -> Health {
        Health {
            access_expires_at: self.access_expires_at,
            has_refresh_token: self.refresh_token.is_some(),
            consented_at: self.consented_at,
            rotated_at: self.rotated_at,
            reauthorization_required: self.reauthorization_required,
        }
    }

    health_methods!();

    pub fn summary(&self) -> TokenSummary {
        TokenSummary {
            integration: self.integration.clone(),
            principal: self.principal.clone(),
            access_expires_at: self.access_expires_at,
            has_refresh_token: self.refresh_token.is_some(),
            consented_at: self.consented_at,
            rotated_at: self.rotated_at,
            site: self.site.clone(),
            scopes: self.scopes.clone(),
            last_error: self.last_error.clone(),
            reauthorization_required: self.reauthorization_required,
            account: self.account.clone(),
        }
    }
}

impl TokenSummary {
    fn health(&self) -> Health {
        Health {
            access_expires_at: self.access_expires_at,
            has_refresh_token: self.has_refresh_token,
            consented_at: self.consented_at,
            rotated_at: self.rotated_at,
            reauthorization_required: self.reauthorization_required,
        }
    }

    health_methods!();
}

/// A personal authorization link handed to one end user of a user-authorized integration.
/// The store keeps it under a digest of its state: the state itself, which completes the
/// grant, is known only to whoever holds the URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub integration: String,
    pub user: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub outcome: LinkOutcome,
}

/// Where a link is in its one life: handed out, spent by a callback, then done one way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum LinkOutcome {
    Pending,
    /// A callback carried its state; it cannot be spent again, whatever comes next.
    Claimed {
        at: Timestamp,
    },
    Authorized {
        account: Account,
        site_name: String,
        site_url: String,
    },
    Declined,
    Failed {
        sentence: String,
    },
}

impl Link {
    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires_at
    }
}

/// What an audit event records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Authorized,
    Refreshed,
    RefreshFailed,
    Reauthorized,
    Deleted,
    Configured,
    /// A code was exchanged but its verification ended without a token set (stated why).
    AuthorizationFailed,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Authorized => "authorized",
            EventKind::Refreshed => "refreshed",
            EventKind::RefreshFailed => "refresh failed",
            EventKind::Reauthorized => "re-authorized",
            EventKind::Deleted => "deleted",
            EventKind::Configured => "configured",
            EventKind::AuthorizationFailed => "authorization failed",
        }
    }
}

/// One append-only line of the audit trail. Never holds a secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub at: Timestamp,
    pub integration: String,
    pub principal: Option<String>,
    pub kind: EventKind,
    pub outcome: String,
}

/// The grant unit tests start from: the admin's, consented at `now`, its access token good
/// for an hour.
#[cfg(test)]
impl TokenSet {
    pub(crate) fn sample(now: Timestamp) -> TokenSet {
        TokenSet {
            integration: "jira".into(),
            principal: Principal::Admin,
            access_token: Secret::new("at"),
            access_expires_at: now.plus_secs(3600),
            refresh_token: Some(Secret::new("rt")),
            consented_at: now,
            rotated_at: now,
            site: None,
            scopes: vec![],
            last_error: None,
            reauthorization_required: false,
            account: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(now: Timestamp) -> TokenSet {
        TokenSet::sample(now)
    }

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?} {secret}"), "*** ***");
        let t = token(Timestamp(0));
        assert!(!format!("{t:?}").contains("rt\""));
        assert!(!format!("{t:?}").contains("\"at\""));
    }

    #[test]
    fn principal_keys_round_trip() {
        for p in [
            Principal::Admin,
            Principal::User("alice@example.com".into()),
        ] {
            assert_eq!(Principal::from_key(&p.key()), Some(p));
        }
        assert_eq!(Principal::from_key("user:"), None);
        assert_eq!(Principal::from_key("root"), None);
    }

    proptest::proptest! {
        /// Whatever the grant's times, its state holds from `now` until the instant
        /// `next_change` names, and never changes after `None`: what the agent keeps of a
        /// status is good until then.
        #[test]
        fn the_state_holds_until_its_next_change(
            access in -400_000i64..400_000,
            consented in -40_000_000i64..0,
            rotated in -10_000_000i64..0,
            refreshable: bool,
            revoked: bool,
            later in 0i64..40_000_000,
        ) {
            let now = Timestamp(1_000_000_000);
            let mut t = token(now);
            t.access_expires_at = now.plus_secs(access);
            t.consented_at = now.plus_secs(consented);
            t.rotated_at = now.plus_secs(rotated.max(consented));
            t.reauthorization_required = revoked;
            if !refreshable {
                t.refresh_token = None;
            }
            let state = t.state(now);
            match t.next_change(now) {
                Some(change) => {
                    proptest::prop_assert!(change > now);
                    let before = now.plus_secs(later % (change.0 - now.0));
                    proptest::prop_assert_eq!(t.state(before), state);
                    proptest::prop_assert_eq!(t.state(change.plus_secs(-1)), state);
                }
                None => proptest::prop_assert_eq!(t.state(now.plus_secs(later)), state),
            }
        }
    }

    #[test]
    fn token_state_follows_the_clock_and_the_limits() {
        let now = Timestamp(1_000_000_000);
        let t = token(now);
        assert_eq!(t.state(now), TokenState::Valid);
        assert_eq!(t.state(now.plus_secs(3600 - 60)), TokenState::Expiring);
        assert_eq!(t.state(now.plus_secs(3601)), TokenState::Expired);
        assert_eq!(
            t.state(now.plus_secs(REFRESH_INACTIVITY_LIMIT_SECS)),
            TokenState::NeedsReauthorization
        );
        let mut rotated = t.clone();
        rotated.rotated_at = now.plus_secs(REFRESH_ABSOLUTE_LIMIT_SECS - 10);
        assert_eq!(
            rotated.state(now.plus_secs(REFRESH_ABSOLUTE_LIMIT_SECS)),
            TokenState::NeedsReauthorization,
            "the absolute limit holds even after a recent rotation"
        );
        let mut no_refresh = t.clone();
        no_refresh.refresh_token = None;
        assert_eq!(
            no_refresh.state(now.plus_secs(3601)),
            TokenState::NeedsReauthorization
        );
        let mut refused = t;
        refused.reauthorization_required = true;
        assert_eq!(refused.state(now), TokenState::NeedsReauthorization);
    }

    #[test]
    fn timestamps_format_as_rfc3339() {
        assert_eq!(Timestamp(0).rfc3339(), "1970-01-01T00:00:00Z");
        let at = Timestamp(1_700_000_123);
        assert_eq!(Timestamp::parse_rfc3339(&at.rfc3339()), Some(at));
        assert_eq!(Timestamp::parse_rfc3339("yesterday"), None);
    }
}
