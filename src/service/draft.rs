//! A profile being written: the raw text of every field, as the console's form and
//! `profile add` hold it, and the one check that turns it into a `Profile` or into findings.

use crate::atlassian::Endpoints;
use crate::domain::{Mechanism, Profile, Secret, Timestamp};
use crate::validate::{self, Catalog, Checked, Field, Finding, GeneratedUrl};

/// The fixed loopback port of the default callback URL: fixed, because Atlassian needs the
/// exact callback registered once in the app.
pub const DEFAULT_CALLBACK_PORT: u16 = 8717;

pub fn default_callback_url() -> String {
    format!("http://localhost:{DEFAULT_CALLBACK_PORT}/callback")
}

#[derive(Clone, Debug, PartialEq)]
pub struct ProfileDraft {
    pub name: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub callback_url: String,
    pub authorization_url: String,
    pub token_url: String,
    /// Empty means "the same as the token URL", as the seed's step xi says.
    pub refresh_url: String,
    pub scopes: String,
}

impl ProfileDraft {
    /// A new draft with Atlassian's standard URLs filled in, so the admin confirms rather than
    /// types (they point at the test server while the endpoints are overridden).
    pub fn new(endpoints: &Endpoints) -> Self {
        let mut authorize = endpoints.authorize_url();
        authorize.set_query(Some("audience=api.atlassian.com"));
        ProfileDraft {
            name: String::new(),
            client_id: String::new(),
            client_secret: Secret::new(""),
            callback_url: default_callback_url(),
            authorization_url: authorize.to_string(),
            token_url: endpoints.token_url().to_string(),
            refresh_url: String::new(),
            scopes: String::new(),
        }
    }

    /// The draft of an existing profile, for editing.
    pub fn from_profile(profile: &Profile) -> Self {
        ProfileDraft {
            name: profile.name.clone(),
            client_id: profile.client_id.clone(),
            client_secret: profile.client_secret.clone(),
            callback_url: profile.callback_url.clone(),
            authorization_url: profile.authorization_url.clone(),
            token_url: profile.token_url.clone(),
            refresh_url: if profile.refresh_url == profile.token_url {
                String::new()
            } else {
                profile.refresh_url.clone()
            },
            scopes: profile.scopes.join(" "),
        }
    }

    /// Takes what a pasted generated authorization URL holds: client id, scopes, callback
    /// and authorization URL at once.
    pub fn apply_generated(&mut self, generated: &GeneratedUrl) {
        self.client_id = generated.client_id.clone();
        self.scopes = generated.scopes.join(" ");
        self.callback_url = generated.callback_url.clone();
        self.authorization_url = generated.authorization_url.clone();
    }

    pub fn refresh_or_token_url(&self) -> &str {
        if self.refresh_url.trim().is_empty() {
            &self.token_url
        } else {
            &self.refresh_url
        }
    }

    /// Every field checked; the profile exists only when nothing is an Error.
    pub fn check(&self, endpoints: &Endpoints, catalog: &Catalog, now: Timestamp) -> DraftCheck {
        let name = validate::profile_name(&self.name);
        let client_id = validate::client_id(&self.client_id);
        let client_secret = validate::client_secret(self.client_secret.expose());
        let origins = endpoints.origins();
        let callback_url = validate::callback_url(&self.callback_url);
        let authorization_url = validate::authorization_url(&self.authorization_url, &origins);
        let token_url = validate::token_url(&self.token_url, &origins);
        let refresh_url = validate::refresh_url(self.refresh_or_token_url(), &origins);
        let scopes = scopes_checked(&self.scopes, catalog);

        let mut findings = Vec::new();
        findings.extend(name.findings.iter().cloned());
        findings.extend(client_id.findings.iter().cloned());
        findings.extend(client_secret.findings.iter().cloned());
        findings.extend(callback_url.findings.iter().cloned());
        findings.extend(authorization_url.findings.iter().cloned());
        findings.extend(token_url.findings.iter().cloned());
        findings.extend(refresh_url.findings.iter().cloned());
        findings.extend(scopes.findings.iter().cloned());

        let profile = (|| {
            Some(Profile {
                name: name.value?,
                mechanism: Mechanism::OAuth2,
                client_id: client_id.value?,
                client_secret: client_secret.value?,
                authorization_url: authorization_url.value?,
                token_url: token_url.value?,
                refresh_url: refresh_url.value?,
                scopes: scopes.value?,
                callback_url: callback_url.value?,
                updated_at: now,
            })
        })();
        DraftCheck { profile, findings }
    }
}

/// Scopes may not be empty: a profile without scopes cannot be authorized (step ix).
fn scopes_checked(input: &str, catalog: &Catalog) -> Checked<Vec<String>> {
    if input.trim().is_empty() {
        return Checked::refused(Finding::error(
            Field::Scopes,
            "Scopes is empty.",
            "Pick the Jira scopes your app was given (step ix), or paste the generated authorization URL.",
        ));
    }
    validate::scopes(input, catalog)
}

#[derive(Clone, Debug)]
pub struct DraftCheck {
    pub profile: Option<Profile>,
    pub findings: Vec<Finding>,
}

impl DraftCheck {
    pub fn for_field(&self, field: Field) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.field == field)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == validate::Severity::Error)
    }
}
