//! The on-disk form of each record: the domain types with every secret replaced by its
//! sealed bytes. Records are JSON so that a schema migration can read them without the code
//! that wrote them.

use serde::{Deserialize, Serialize};

use crate::domain::{
    Account, Mechanism, Mode, Principal, Profile, Secret, Site, Timestamp, TokenSet, TokenSummary,
};

use super::error::StoreError;
use super::seal::Sealer;

#[derive(Serialize, Deserialize)]
pub struct ProfileRecord {
    pub name: String,
    pub mechanism: Mechanism,
    pub client_id: String,
    pub client_secret: Vec<u8>,
    pub authorization_url: String,
    pub token_url: String,
    pub refresh_url: String,
    pub scopes: Vec<String>,
    pub callback_url: String,
    pub updated_at: Timestamp,
}

#[derive(Serialize, Deserialize)]
pub struct TokenRecord {
    pub integration: String,
    pub principal: String,
    pub access_token: Vec<u8>,
    pub access_expires_at: Timestamp,
    pub refresh_token: Option<Vec<u8>>,
    pub consented_at: Timestamp,
    pub rotated_at: Timestamp,
    pub site: Option<Site>,
    pub scopes: Vec<String>,
    pub last_error: Option<String>,
    pub reauthorization_required: bool,
    /// Absent in records written before accounts were kept.
    #[serde(default)]
    pub account: Option<Account>,
}

/// The associated data that binds a sealed field to its record.
fn context(kind: &str, key: &str, field: &str) -> String {
    format!("{kind}/{key}/{field}")
}

fn open(
    sealer: &Sealer,
    kind: &str,
    key: &str,
    field: &str,
    sealed: &[u8],
) -> Result<Secret, StoreError> {
    sealer
        .open(&context(kind, key, field), sealed)
        .map(Secret::new)
        .ok_or_else(|| StoreError::Unsealable {
            record: format!("{kind} {key}"),
        })
}

impl ProfileRecord {
    pub fn seal(profile: &Profile, sealer: &Sealer) -> Result<Self, StoreError> {
        Ok(ProfileRecord {
            name: profile.name.clone(),
            mechanism: profile.mechanism,
            client_id: profile.client_id.clone(),
            client_secret: sealer.seal(
                &context("profile", &profile.name, "client_secret"),
                profile.client_secret.expose(),
            )?,
            authorization_url: profile.authorization_url.clone(),
            token_url: profile.token_url.clone(),
            refresh_url: profile.refresh_url.clone(),
            scopes: profile.scopes.clone(),
            callback_url: profile.callback_url.clone(),
            updated_at: profile.updated_at,
        })
    }

    pub fn open(self, sealer: &Sealer) -> Result<Profile, StoreError> {
        let client_secret = open(
            sealer,
            "profile",
            &self.name,
            "client_secret",
            &self.client_secret,
        )?;
        Ok(Profile {
            name: self.name,
            mechanism: self.mechanism,
            client_id: self.client_id,
            client_secret,
            authorization_url: self.authorization_url,
            token_url: self.token_url,
            refresh_url: self.refresh_url,
            scopes: self.scopes,
            callback_url: self.callback_url,
            updated_at: self.updated_at,
        })
    }
}

impl TokenRecord {
    pub fn seal(tokens: &TokenSet, sealer: &Sealer) -> Result<Self, StoreError> {
        let key = token_key(&tokens.integration, &tokens.principal);
        Ok(TokenRecord {
            integration: tokens.integration.clone(),
            principal: tokens.principal.key(),
            access_token: sealer.seal(
                &context("token", &key, "access_token"),
                tokens.access_token.expose(),
            )?,
            access_expires_at: tokens.access_expires_at,
            refresh_token: tokens
                .refresh_token
                .as_ref()
                .map(|rt| sealer.seal(&context("token", &key, "refresh_token"), rt.expose()))
                .transpose()?,
            consented_at: tokens.consented_at,
            rotated_at: tokens.rotated_at,
            site: tokens.site.clone(),
            scopes: tokens.scopes.clone(),
            last_error: tokens.last_error.clone(),
            reauthorization_required: tokens.reauthorization_required,
            account: tokens.account.clone(),
        })
    }

    fn principal(&self) -> Result<Principal, StoreError> {
        Principal::from_key(&self.principal).ok_or_else(|| StoreError::Corrupt {
            record: format!("token principal {:?}", self.principal),
        })
    }

    /// Everything but the secrets, which stay sealed.
    pub fn summary(self) -> Result<TokenSummary, StoreError> {
        Ok(TokenSummary {
            principal: self.principal()?,
            integration: self.integration,
            access_expires_at: self.access_expires_at,
            has_refresh_token: self.refresh_token.is_some(),
            consented_at: self.consented_at,
            rotated_at: self.rotated_at,
            site: self.site,
            scopes: self.scopes,
            last_error: self.last_error,
            reauthorization_required: self.reauthorization_required,
            account: self.account,
        })
    }

    pub fn open(self, sealer: &Sealer) -> Result<TokenSet, StoreError> {
        let principal = self.principal()?;
        let key = token_key(&self.integration, &principal);
        let access_token = open(sealer, "token", &key, "access_token", &self.access_token)?;
        let refresh_token = self
            .refresh_token
            .map(|rt| open(sealer, "token", &key, "refresh_token", &rt))
            .transpose()?;
        Ok(TokenSet {
            integration: self.integration,
            principal,
            access_token,
            access_expires_at: self.access_expires_at,
            refresh_token,
            consented_at: self.consented_at,
            rotated_at: self.rotated_at,
            site: self.site,
            scopes: self.scopes,
            last_error: self.last_error,
            reauthorization_required: self.reauthorization_required,
            account: self.account,
        })
    }
}

/// What a code exchange bought, written the moment the token endpoint answered and kept
/// until its verification (the Jira sites, `myself`) turns it into a token set or ends it
/// with a stated failure. It lives beside the token sets, not in them: a re-authorization
/// must not replace the grant that still works before the new one is verified.
#[derive(Clone, Debug, PartialEq)]
pub struct Exchanged {
    /// Names this exchange: a newer exchange of the same grant replaces the record, and
    /// whoever finishes or ends one removes only its own.
    pub id: String,
    pub integration: String,
    pub principal: Principal,
    pub mode: Mode,
    /// The principal had a token set when the attempt began ("re-authorized").
    pub renewing: bool,
    /// "the profile \"acme\"": for sentences.
    pub app_label: String,
    /// The app's scopes, stored when Atlassian's answer names none.
    pub app_scopes: Vec<String>,
    pub access_token: Secret,
    pub expires_in: Option<u64>,
    pub refresh_token: Option<Secret>,
    /// The scopes Atlassian's answer granted (often empty).
    pub granted_scopes: Vec<String>,
    pub exchanged_at: Timestamp,
    /// The digest of the end user's link whose callback made the exchange.
    pub link: Option<String>,
    /// The Jira sites the token reaches, once accessible-resources has answered.
    pub sites: Option<Vec<Site>>,
    /// Verification tries that failed for a reason that may pass, and the last sentence.
    pub tries: u32,
    pub last_error: Option<String>,
    /// The token reaches several sites and nothing says which: a person must choose.
    pub awaiting_site: bool,
}

#[derive(Serialize, Deserialize)]
pub struct ExchangedRecord {
    pub id: String,
    pub integration: String,
    pub principal: String,
    pub mode: Mode,
    pub renewing: bool,
    pub app_label: String,
    pub app_scopes: Vec<String>,
    pub access_token: Vec<u8>,
    pub expires_in: Option<u64>,
    pub refresh_token: Option<Vec<u8>>,
    pub granted_scopes: Vec<String>,
    pub exchanged_at: Timestamp,
    pub link: Option<String>,
    pub sites: Option<Vec<Site>>,
    pub tries: u32,
    pub last_error: Option<String>,
    pub awaiting_site: bool,
}

/// Binds an exchanged record's secrets to its grant and to the exchange itself, so that
/// sealed bytes moved to another record (or another exchange) do not open.
fn exchanged_context(integration: &str, principal: &Principal, id: &str) -> String {
    format!("{}\0{id}", token_key(integration, principal))
}

impl ExchangedRecord {
    pub fn seal(exchanged: &Exchanged, sealer: &Sealer) -> Result<Self, StoreError> {
        let key = exchanged_context(&exchanged.integration, &exchanged.principal, &exchanged.id);
        Ok(ExchangedRecord {
            id: exchanged.id.clone(),
            integration: exchanged.integration.clone(),
            principal: exchanged.principal.key(),
            mode: exchanged.mode,
            renewing: exchanged.renewing,
            app_label: exchanged.app_label.clone(),
            app_scopes: exchanged.app_scopes.clone(),
            access_token: sealer.seal(
                &context("exchanged", &key, "access_token"),
                exchanged.access_token.expose(),
            )?,
            expires_in: exchanged.expires_in,
            refresh_token: exchanged
                .refresh_token
                .as_ref()
                .map(|rt| sealer.seal(&context("exchanged", &key, "refresh_token"), rt.expose()))
                .transpose()?,
            granted_scopes: exchanged.granted_scopes.clone(),
            exchanged_at: exchanged.exchanged_at,
            link: exchanged.link.clone(),
            sites: exchanged.sites.clone(),
            tries: exchanged.tries,
            last_error: exchanged.last_error.clone(),
            awaiting_site: exchanged.awaiting_site,
        })
    }

    pub fn open(self, sealer: &Sealer) -> Result<Exchanged, StoreError> {
        let principal =
            Principal::from_key(&self.principal).ok_or_else(|| StoreError::Corrupt {
                record: format!("exchanged principal {:?}", self.principal),
            })?;
        let key = exchanged_context(&self.integration, &principal, &self.id);
        let access_token = open(
            sealer,
            "exchanged",
            &key,
            "access_token",
            &self.access_token,
        )?;
        let refresh_token = self
            .refresh_token
            .map(|rt| open(sealer, "exchanged", &key, "refresh_token", &rt))
            .transpose()?;
        Ok(Exchanged {
            id: self.id,
            integration: self.integration,
            principal,
            mode: self.mode,
            renewing: self.renewing,
            app_label: self.app_label,
            app_scopes: self.app_scopes,
            access_token,
            expires_in: self.expires_in,
            refresh_token,
            granted_scopes: self.granted_scopes,
            exchanged_at: self.exchanged_at,
            link: self.link,
            sites: self.sites,
            tries: self.tries,
            last_error: self.last_error,
            awaiting_site: self.awaiting_site,
        })
    }
}

/// The sled key of a token set. The NUL separator cannot occur in a name or principal
/// (names are validated), so keys never collide and a prefix scan finds one integration.
pub fn token_key(integration: &str, principal: &Principal) -> String {
    format!("{integration}\0{}", principal.key())
}
