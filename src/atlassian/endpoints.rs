//! Where Atlassian is. Production answers at two fixed origins; tests point the binary at a
//! fake server through `JIRA_AUTH_ATLASSIAN_AUTH_URL` and `JIRA_AUTH_ATLASSIAN_API_URL`, and
//! while either is set, validation accepts that base and the console warns on every screen.

use url::Url;

use crate::validate::{AuthServer, Origins};

pub use crate::validate::AUTH_BASE;
pub const API_BASE: &str = "https://api.atlassian.com";
pub const AUTH_OVERRIDE_VAR: &str = "JIRA_AUTH_ATLASSIAN_AUTH_URL";
pub const API_OVERRIDE_VAR: &str = "JIRA_AUTH_ATLASSIAN_API_URL";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    /// Origin of `/authorize` and `/oauth/token`, without a trailing slash.
    pub auth_base: Url,
    /// Origin of `accessible-resources` and the Jira REST API, without a trailing slash.
    pub api_base: Url,
    /// True when either base came from an override variable.
    pub overridden: bool,
}

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints {
            auth_base: parse_base(AUTH_BASE)
                .unwrap_or_else(|| unreachable!("constant is a valid URL")),
            api_base: parse_base(API_BASE)
                .unwrap_or_else(|| unreachable!("constant is a valid URL")),
            overridden: false,
        }
    }
}

impl Endpoints {
    /// The production endpoints, replaced by whichever override variable is set and parses.
    pub fn from_env() -> Self {
        Self::from_overrides(
            std::env::var(AUTH_OVERRIDE_VAR).ok().as_deref(),
            std::env::var(API_OVERRIDE_VAR).ok().as_deref(),
        )
    }

    pub fn from_overrides(auth: Option<&str>, api: Option<&str>) -> Self {
        let mut endpoints = Endpoints::default();
        if let Some(base) = auth.filter(|s| !s.trim().is_empty()).and_then(parse_base) {
            endpoints.auth_base = base;
            endpoints.overridden = true;
        }
        if let Some(base) = api.filter(|s| !s.trim().is_empty()).and_then(parse_base) {
            endpoints.api_base = base;
            endpoints.overridden = true;
        }
        endpoints
    }

    pub fn authorize_url(&self) -> Url {
        self.auth_join("authorize")
    }

    pub fn token_url(&self) -> Url {
        self.auth_join("oauth/token")
    }

    pub fn accessible_resources_url(&self) -> Url {
        self.api_join("oauth/token/accessible-resources")
    }

    /// `https://api.atlassian.com/ex/jira/{cloudid}`: where a script calls Jira with a 3LO token.
    pub fn jira_api_base(&self, cloud_id: &str) -> Url {
        let mut url = self.api_join("ex/jira");
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.push(cloud_id);
        }
        url
    }

    /// `GET /ex/jira/{cloudid}/rest/api/3/myself`: the verification call after consent.
    pub fn myself_url(&self, cloud_id: &str) -> Url {
        let mut url = self.api_join("ex/jira");
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.extend([cloud_id, "rest", "api", "3", "myself"]);
        }
        url
    }

    /// Where a profile's URLs may lead, as the validators take it: Atlassian's authorization
    /// server, and this one's as well while an override is active.
    pub fn origins(&self) -> Origins {
        Origins {
            production: Endpoints::default().auth_server(),
            test_override: self.overridden.then(|| self.auth_server()),
        }
    }

    fn auth_server(&self) -> AuthServer {
        AuthServer {
            authorize: self.authorize_url(),
            token: self.token_url(),
        }
    }

    /// The banner text shown while an override is active.
    pub fn override_banner(&self) -> Option<String> {
        self.overridden.then(|| {
            format!(
                "TEST ENDPOINTS: Atlassian is overridden ({} / {})",
                self.auth_base.as_str().trim_end_matches('/'),
                self.api_base.as_str().trim_end_matches('/')
            )
        })
    }

    fn auth_join(&self, path: &str) -> Url {
        join(&self.auth_base, path)
    }

    fn api_join(&self, path: &str) -> Url {
        join(&self.api_base, path)
    }
}

impl From<&Endpoints> for Origins {
    fn from(endpoints: &Endpoints) -> Origins {
        endpoints.origins()
    }
}

/// A base keeps any path prefix it was given (a fake server may live under `/atlassian`).
fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let prefix = base.path().trim_end_matches('/');
    url.set_path(&format!("{prefix}/{path}"));
    url.set_query(None);
    url
}

fn parse_base(text: &str) -> Option<Url> {
    let url = Url::parse(text.trim()).ok()?;
    matches!(url.scheme(), "http" | "https")
        .then_some(url)
        .filter(|u| u.host().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_endpoints_are_atlassians() {
        let e = Endpoints::default();
        assert_eq!(
            e.authorize_url().as_str(),
            "https://auth.atlassian.com/authorize"
        );
        assert_eq!(
            e.token_url().as_str(),
            "https://auth.atlassian.com/oauth/token"
        );
        assert_eq!(
            e.accessible_resources_url().as_str(),
            "https://api.atlassian.com/oauth/token/accessible-resources"
        );
        assert_eq!(
            e.myself_url("abc-123").as_str(),
            "https://api.atlassian.com/ex/jira/abc-123/rest/api/3/myself"
        );
        assert_eq!(e.override_banner(), None);
    }

    #[test]
    fn overrides_replace_the_bases_and_raise_the_banner() {
        let e = Endpoints::from_overrides(Some("http://127.0.0.1:4000/fake/"), None);
        assert_eq!(
            e.token_url().as_str(),
            "http://127.0.0.1:4000/fake/oauth/token"
        );
        assert_eq!(e.api_base.as_str(), "https://api.atlassian.com/");
        assert!(e.override_banner().is_some());
        assert_eq!(
            Endpoints::from_overrides(Some("  "), Some("not a url")),
            Endpoints::default()
        );
    }

    #[test]
    fn validators_get_atlassian_and_the_override_only_while_it_is_on() {
        assert_eq!(Endpoints::default().origins(), Origins::atlassian());
        assert_eq!(
            Endpoints::from_overrides(Some("http://127.0.0.1:4000/fake"), None).origins(),
            Origins::overridden("http://127.0.0.1:4000/fake")
        );
    }
}
