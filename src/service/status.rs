//! The health of everything configured, without a secret in it: the source of `status
//! --json` and of the console's home screen, so both always tell the same story.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::domain::{
    Account, Integration, LIMIT_WARNING_SECS, Principal, Profile, Site, Timestamp, TokenState,
    TokenSummary,
};
use crate::store::{Store, StoreError};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    pub integrations: Vec<IntegrationStatus>,
    pub profiles: Vec<ProfileStatus>,
    /// While the store's disk is full: the sentence that says so and what to do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_full: Option<String>,
    /// While a shared store's change notices are lost: the sentence that says other hosts'
    /// changes may show late.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notices_lost: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntegrationStatus {
    pub name: String,
    pub mode: crate::domain::Mode,
    pub app: String,
    pub profile: Option<String>,
    pub enabled: bool,
    pub tokens: Vec<TokenStatus>,
    /// Code exchanges stored but not yet verified (absent when there are none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unverified: Vec<UnverifiedStatus>,
}

/// An authorization whose tokens are stored but not yet verified: the agent is finishing
/// it (after an interruption, or while Atlassian is busy), or a person must choose a site.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnverifiedStatus {
    pub principal: Principal,
    #[serde(serialize_with = "rfc3339", deserialize_with = "from_rfc3339")]
    pub exchanged_at: Timestamp,
    /// `verifying` or `awaiting_site`.
    pub state: String,
    /// The Jira sites the tokens reach, once known (for the choice).
    pub sites: Vec<Site>,
    pub last_error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenStatus {
    pub principal: Principal,
    pub state: TokenState,
    #[serde(serialize_with = "rfc3339", deserialize_with = "from_rfc3339")]
    pub access_expires_at: Timestamp,
    pub refresh_token: RefreshTokenStatus,
    pub site: Option<Site>,
    pub scopes: Vec<String>,
    pub last_error: Option<String>,
    /// The Atlassian account that consented, when known.
    #[serde(default)]
    pub account: Option<Account>,
}

/// What is known about a refresh token without revealing it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RefreshTokenStatus {
    pub present: bool,
    #[serde(serialize_with = "rfc3339", deserialize_with = "from_rfc3339")]
    pub consented_at: Timestamp,
    #[serde(serialize_with = "rfc3339", deserialize_with = "from_rfc3339")]
    pub rotated_at: Timestamp,
    /// The 90-day inactivity limit, moved on by every rotation.
    #[serde(serialize_with = "rfc3339", deserialize_with = "from_rfc3339")]
    pub inactivity_expires_at: Timestamp,
    /// The 365-day limit from the original consent.
    #[serde(serialize_with = "rfc3339", deserialize_with = "from_rfc3339")]
    pub absolute_expires_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProfileStatus {
    pub name: String,
    pub mechanism: String,
    pub client_id: String,
    pub callback_url: String,
    pub authorization_url: String,
    pub token_url: String,
    pub refresh_url: String,
    pub scopes: Vec<String>,
    /// Integrations that use this profile (a profile in use cannot be deleted).
    pub used_by: Vec<String>,
}

/// Something on the home screen's alert line: a token that needs a hand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    pub integration: String,
    pub principal: String,
    pub sentence: String,
}

fn rfc3339<S: Serializer>(at: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
    // Written straight into the output: a report of 10,000 users holds 40,000 times.
    serializer.collect_str(&at.rfc3339_display())
}

/// The agent sends reports in the same JSON `status --json` prints, so clients read the
/// times back from RFC 3339.
fn from_rfc3339<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
    let text = String::deserialize(deserializer)?;
    Timestamp::parse_rfc3339(&text).ok_or_else(|| serde::de::Error::custom("not an RFC 3339 time"))
}

/// Reads the store once and derives every state at `now`.
pub fn status(store: &dyn Store, now: Timestamp) -> Result<StatusReport, StoreError> {
    Ok(status_until(store, now)?.0)
}

/// [`status`], and the first instant after `now` at which a clock alone may change it (a
/// token's state; `None`: no clock will): until then, without a write, it reads the same.
pub fn status_until(
    store: &dyn Store,
    now: Timestamp,
) -> Result<(StatusReport, Option<Timestamp>), StoreError> {
    let integrations = store.integrations()?;
    let tokens = store.token_summaries()?;
    let profiles = store.profiles()?;
    let until = tokens.iter().filter_map(|t| t.next_change(now)).min();
    let mut report = build_owned(&integrations, tokens, &profiles, now);
    for exchanged in store.exchanged_all()? {
        if let Some(integration) = report
            .integrations
            .iter_mut()
            .find(|i| i.name == exchanged.integration)
        {
            integration.unverified.push(UnverifiedStatus {
                principal: exchanged.principal,
                exchanged_at: exchanged.exchanged_at,
                state: if exchanged.awaiting_site {
                    "awaiting_site"
                } else {
                    "verifying"
                }
                .to_owned(),
                sites: exchanged.sites.unwrap_or_default(),
                last_error: exchanged.last_error,
            });
        }
    }
    Ok((report, until))
}

pub fn build(
    integrations: &[Integration],
    tokens: &[TokenSummary],
    profiles: &[Profile],
    now: Timestamp,
) -> StatusReport {
    build_owned(integrations, tokens.to_vec(), profiles, now)
}

/// [`build`] from summaries it may take apart: each one's text moves into the report
/// instead of being copied (10,000 users are 70,000 strings). Integration names are unique,
/// as the store's keys are.
fn build_owned(
    integrations: &[Integration],
    tokens: Vec<TokenSummary>,
    profiles: &[Profile],
    now: Timestamp,
) -> StatusReport {
    let mut by_integration: std::collections::HashMap<String, Vec<TokenSummary>> =
        std::collections::HashMap::new();
    for summary in tokens {
        by_integration
            .entry(summary.integration.clone())
            .or_default()
            .push(summary);
    }
    let mut report = StatusReport {
        integrations: integrations
            .iter()
            .map(|integration| IntegrationStatus {
                name: integration.name.clone(),
                mode: integration.mode,
                app: integration.app.kind().to_owned(),
                profile: integration.app.profile().map(str::to_owned),
                enabled: integration.enabled,
                tokens: {
                    let mut own = by_integration.remove(&integration.name).unwrap_or_default();
                    // The admin's token first, then end users by id.
                    own.sort_by(|a, b| a.principal.cmp(&b.principal));
                    own.into_iter().map(|t| token_status(t, now)).collect()
                },
                unverified: Vec::new(),
            })
            .collect(),
        profiles: profiles
            .iter()
            .map(|profile| ProfileStatus {
                name: profile.name.clone(),
                mechanism: "oauth2".to_owned(),
                client_id: profile.client_id.clone(),
                callback_url: profile.callback_url.clone(),
                authorization_url: profile.authorization_url.clone(),
                token_url: profile.token_url.clone(),
                refresh_url: profile.refresh_url.clone(),
                scopes: profile.scopes.clone(),
                used_by: integrations
                    .iter()
                    .filter(|i| i.app.profile() == Some(profile.name.as_str()))
                    .map(|i| i.name.clone())
                    .collect(),
            })
            .collect(),
        disk_full: None,
        notices_lost: None,
    };
    report.integrations.sort_by(|a, b| a.name.cmp(&b.name));
    report.profiles.sort_by(|a, b| a.name.cmp(&b.name));
    report
}

fn token_status(tokens: TokenSummary, now: Timestamp) -> TokenStatus {
    TokenStatus {
        state: tokens.state(now),
        access_expires_at: tokens.access_expires_at,
        refresh_token: RefreshTokenStatus {
            present: tokens.has_refresh_token,
            consented_at: tokens.consented_at,
            rotated_at: tokens.rotated_at,
            inactivity_expires_at: tokens.inactivity_deadline(),
            absolute_expires_at: tokens.absolute_deadline(),
        },
        site: tokens.site,
        scopes: tokens.scopes,
        last_error: tokens.last_error,
        account: tokens.account,
        principal: tokens.principal,
    }
}

impl StatusReport {
    /// The report as `status --json` prints it, pretty, final newline included. Scripts
    /// read this text: it is written here only, for the agent to send as it is.
    pub fn json_text(&self) -> Vec<u8> {
        // About 750 bytes a token: room for all of it at once, not grown by copies.
        let tokens: usize = self.integrations.iter().map(|i| i.tokens.len()).sum();
        let mut text = Vec::with_capacity(4096 + 1024 * tokens);
        // Plain data with string keys, into memory: serializing cannot fail.
        serde_json::to_writer_pretty(&mut text, self)
            .unwrap_or_else(|e| unreachable!("status serializes: {e}"));
        text.push(b'\n');
        text
    }

    /// True while the store's disk is full or a grant's newest refresh token is not durable.
    pub fn needs_room(&self) -> bool {
        self.disk_full.is_some()
            || self
                .integrations
                .iter()
                .flat_map(|i| &i.tokens)
                .any(|t| t.state == TokenState::Unsaved)
    }

    /// True when some grant can only be revived by a new consent.
    pub fn needs_reauthorization(&self) -> bool {
        self.integrations
            .iter()
            .flat_map(|i| &i.tokens)
            .any(|t| t.state == TokenState::NeedsReauthorization)
    }

    /// Everything that needs attention at `now`, worst first: dead tokens, failing refreshes,
    /// then refresh tokens close to one of Atlassian's limits.
    pub fn alerts(&self, now: Timestamp) -> Vec<Alert> {
        let mut alerts = Vec::new();
        if let Some(sentence) = &self.notices_lost {
            alerts.push(Alert {
                integration: String::new(),
                principal: String::new(),
                sentence: sentence.clone(),
            });
        }
        if let Some(sentence) = &self.disk_full {
            alerts.push(Alert {
                integration: String::new(),
                principal: String::new(),
                sentence: sentence.clone(),
            });
        }
        for integration in &self.integrations {
            for waiting in &integration.unverified {
                alerts.push(Alert {
                    integration: integration.name.clone(),
                    principal: waiting.principal.key(),
                    sentence: unverified_sentence(&integration.name, waiting),
                });
            }
            if integration.tokens.is_empty()
                && integration.unverified.is_empty()
                && integration.mode == crate::domain::Mode::PreAuthorized
            {
                alerts.push(Alert {
                    integration: integration.name.clone(),
                    principal: "admin".into(),
                    sentence: format!(
                        "{}: not authorized yet; authorize it once to enable it (jira-auth authorize, or a in the console)",
                        integration.name
                    ),
                });
            }
            for token in &integration.tokens {
                let alert = |sentence: String| Alert {
                    integration: integration.name.clone(),
                    principal: token.principal.key(),
                    sentence,
                };
                let who = describe_principal(&token.principal);
                match token.state {
                    TokenState::Unsaved => alerts.push(alert(format!(
                        "{}: the newest refresh token for {who} is only in the agent's memory: {}",
                        integration.name,
                        token.last_error.as_deref().unwrap_or_default()
                    ))),
                    TokenState::NeedsReauthorization => alerts.push(alert(format!(
                        "{}: {who} must be authorized again{}",
                        integration.name,
                        token
                            .last_error
                            .as_deref()
                            .map(|e| format!(" ({e})"))
                            .unwrap_or_default()
                    ))),
                    _ if token.last_error.is_some() => alerts.push(alert(format!(
                        "{}: the last refresh for {who} failed: {}",
                        integration.name,
                        token.last_error.as_deref().unwrap_or_default()
                    ))),
                    _ if token.refresh_token.present => {
                        let deadline = token
                            .refresh_token
                            .inactivity_expires_at
                            .min(token.refresh_token.absolute_expires_at);
                        let left = now.secs_until(deadline);
                        if left < LIMIT_WARNING_SECS {
                            alerts.push(alert(format!(
                                "{}: the refresh token for {who} reaches Atlassian's limit in {}",
                                integration.name,
                                crate::service::format::duration(left)
                            )));
                        }
                    }
                    _ => {}
                }
            }
        }
        alerts
    }
}

/// What `status` and the console say about an exchange stored but not verified.
fn unverified_sentence(integration: &str, waiting: &UnverifiedStatus) -> String {
    let who = describe_principal(&waiting.principal);
    // The id goes into the suggested command whole, or a note says where to find it.
    let user = crate::service::suggest::UserFlag::for_principal(&waiting.principal);
    if waiting.state == "awaiting_site" {
        let sites = waiting
            .sites
            .iter()
            .map(|s| s.url.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "{integration}: an authorization of {who} awaits its site choice (its consent reaches {sites}); run jira-auth authorize --integration {integration}{} --site URL to authorize again on one of them{}",
            user.flag, user.note
        )
    } else {
        format!(
            "{integration}: an authorization of {who} is stored and being verified by the agent{}",
            waiting
                .last_error
                .as_deref()
                .map(|e| format!(" (last try: {e})"))
                .unwrap_or_default()
        )
    }
}

fn describe_principal(principal: &Principal) -> String {
    match principal {
        Principal::Admin => "the integration".to_owned(),
        Principal::User(id) => format!("user {id}"),
    }
}
