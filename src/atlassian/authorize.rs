//! The authorization URL, exactly as Atlassian documents it: audience, client_id, scope,
//! redirect_uri, state, response_type=code, prompt=consent, and nothing else (an RFC 8707
//! `resource` breaks the exchange; PKCE alone is not offered).

use url::Url;

use super::Endpoints;

pub const AUDIENCE: &str = "api.atlassian.com";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizeRequest {
    pub client_id: String,
    pub scopes: Vec<String>,
    /// Must equal the callback URL registered in the app, character for character.
    pub redirect_uri: String,
    pub state: String,
}

/// The URL to open in a browser. Spaces are `%20`, as in the developer console's generator.
pub fn authorization_url(endpoints: &Endpoints, request: &AuthorizeRequest) -> Url {
    let mut url = endpoints.authorize_url();
    let pairs = [
        ("audience", AUDIENCE.to_owned()),
        ("client_id", request.client_id.clone()),
        ("scope", request.scopes.join(" ")),
        ("redirect_uri", request.redirect_uri.clone()),
        ("state", request.state.clone()),
        ("response_type", "code".to_owned()),
        ("prompt", "consent".to_owned()),
    ];
    let query: Vec<String> = pairs
        .iter()
        .map(|(key, value)| format!("{key}={}", encode(value)))
        .collect();
    url.set_query(Some(&query.join("&")));
    url
}

/// Form encoding with `%20` for spaces (a literal `+` is already `%2B`, so nothing is lost).
fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// A fresh, unguessable state for one attempt: 256 random bits, URL-safe.
pub fn new_state() -> String {
    let mut bytes = [0u8; 32];
    // The OS random source failing is not recoverable in any useful way; a state made of a
    // timestamp would be guessable, so there is no weaker fallback.
    getrandom::fill(&mut bytes)
        .unwrap_or_else(|e| panic!("the operating system's random source failed: {e}"));
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> AuthorizeRequest {
        AuthorizeRequest {
            client_id: "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56".into(),
            scopes: vec!["read:jira-work".into(), "offline_access".into()],
            redirect_uri: "http://localhost:8717/callback".into(),
            state: "s1".into(),
        }
    }

    #[test]
    fn the_url_has_exactly_the_documented_parameters_in_order() {
        let url = authorization_url(&Endpoints::default(), &request());
        assert_eq!(
            url.as_str(),
            "https://auth.atlassian.com/authorize?audience=api.atlassian.com&client_id=Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56&scope=read%3Ajira-work%20offline_access&redirect_uri=http%3A%2F%2Flocalhost%3A8717%2Fcallback&state=s1&response_type=code&prompt=consent"
        );
        let keys: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
        assert_eq!(
            keys,
            [
                "audience",
                "client_id",
                "scope",
                "redirect_uri",
                "state",
                "response_type",
                "prompt"
            ]
        );
        let scope = url
            .query_pairs()
            .find(|(k, _)| k == "scope")
            .unwrap()
            .1
            .into_owned();
        assert_eq!(scope, "read:jira-work offline_access");
    }

    #[test]
    fn the_override_base_is_used() {
        let endpoints = Endpoints::from_overrides(Some("http://127.0.0.1:9000/fake"), None);
        let url = authorization_url(&endpoints, &request());
        assert!(
            url.as_str()
                .starts_with("http://127.0.0.1:9000/fake/authorize?audience=")
        );
    }

    #[test]
    fn states_are_long_and_fresh() {
        let (a, b) = (new_state(), new_state());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
