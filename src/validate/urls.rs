//! The three Atlassian URLs of a profile: authorization, token request and refresh token.
//! Each must lead to Atlassian itself (or to the test override base while it is active):
//! lookalike hosts are refused with the reason, and the value is normalized.

use url::Url;

use super::finding::{Checked, Field, Finding, oversized, step_hint};
use super::origin::decode_if_wholly_encoded;
use super::site::site;
use super::site::{AUTH_HOST, AuthServer, Origins};
use super::text::{clean_paste, percent_decode, quote};

/// The audience Jira's API needs on the authorization URL.
pub const AUDIENCE: &str = "api.atlassian.com";

/// The Authorization URL (step x): `https://auth.atlassian.com/authorize`, keeping only
/// `audience=api.atlassian.com` (added with a Notice when missing).
pub fn authorization_url(input: &str, origins: &Origins) -> Checked<String> {
    check(Field::AuthorizationUrl, Endpoint::Authorize, input, origins)
}

/// The Token request URL (step xi): `https://auth.atlassian.com/oauth/token`.
pub fn token_url(input: &str, origins: &Origins) -> Checked<String> {
    check(Field::TokenUrl, Endpoint::Token, input, origins)
}

/// The Refresh token URL (step xi): the same endpoint as the token request.
pub fn refresh_url(input: &str, origins: &Origins) -> Checked<String> {
    check(Field::RefreshUrl, Endpoint::Token, input, origins)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Authorize,
    Token,
}

impl Endpoint {
    fn url(self, server: &AuthServer) -> &Url {
        match self {
            Endpoint::Authorize => &server.authorize,
            Endpoint::Token => &server.token,
        }
    }

    fn other(self) -> Endpoint {
        match self {
            Endpoint::Authorize => Endpoint::Token,
            Endpoint::Token => Endpoint::Authorize,
        }
    }

    fn normalized(self, server: &AuthServer) -> String {
        match self {
            Endpoint::Authorize => format!("{}?audience={AUDIENCE}", self.url(server)),
            Endpoint::Token => self.url(server).to_string(),
        }
    }
}

fn check(field: Field, endpoint: Endpoint, input: &str, origins: &Origins) -> Checked<String> {
    if let Some(finding) = oversized(field, input) {
        return Checked::refused(finding);
    }
    let fix = fix(field, endpoint, origins);
    let refuse = |message: String| Checked::refused(Finding::error(field, message, fix.clone()));
    let label = field.label();

    let cleaned = clean_paste(input);
    if cleaned.is_empty() {
        return refuse(format!("{label} is empty."));
    }
    let mut text = decode_if_wholly_encoded(&cleaned).into_owned();
    let mut findings = Vec::new();
    let url = match Url::parse(&text) {
        Ok(url) => url,
        // `auth.atlassian.com/oauth/token` copied without its scheme: the intent is plain.
        Err(url::ParseError::RelativeUrlWithoutBase) if !text.contains("://") => {
            text = format!("https://{text}");
            match Url::parse(&text) {
                Ok(url) => {
                    findings.push(Finding::notice(
                        field,
                        format!("{label} had no https:// in front; it was added."),
                        "",
                    ));
                    url
                }
                Err(_) => return refuse(format!("{label} is not a URL.")),
            }
        }
        Err(error) => return refuse(format!("{label} is not a valid URL ({error}).")),
    };

    let chosen = match site(field.label(), &url, &text, origins) {
        Ok(chosen) => chosen,
        Err(reason) => return refuse(reason),
    };
    let path = percent_decode(url.path());
    if path != endpoint.url(chosen).path() {
        return refuse(wrong_path(field, endpoint, &path, chosen));
    }

    match endpoint {
        Endpoint::Authorize => {
            if let Some(finding) = authorize_query(field, &url) {
                findings.push(finding);
            }
        }
        Endpoint::Token => {
            if url.query().is_some_and(|q| !q.is_empty()) || url.fragment().is_some() {
                findings.push(Finding::notice(
                    field,
                    format!("{label} had a query or #fragment; it was dropped."),
                    "The token endpoint takes its parameters in the request body.",
                ));
            }
        }
    }
    Checked::new(endpoint.normalized(chosen), findings)
}

fn wrong_path(field: Field, endpoint: Endpoint, path: &str, chosen: &AuthServer) -> String {
    let label = field.label();
    let expected = endpoint.url(chosen).path();
    if path == endpoint.other().url(chosen).path() {
        let what = match endpoint.other() {
            Endpoint::Authorize => "the Authorization URL",
            Endpoint::Token => "the Token request URL",
        };
        format!(
            "{label} ends in {}, which is {what}; this field wants {expected}.",
            quote(path)
        )
    } else if path == "/" || path.is_empty() {
        format!("{label} has no path; it must end in {expected}.")
    } else {
        format!(
            "{label} has the path {}; it must be exactly {expected}.",
            quote(path)
        )
    }
}

/// The authorize URL keeps only the audience; everything else (client id, scopes, state...)
/// jira-auth adds itself when it builds the request, so a pasted value of those would go stale.
fn authorize_query(field: Field, url: &Url) -> Option<Finding> {
    let label = field.label();
    let mut audiences = Vec::new();
    let mut dropped: Vec<String> = Vec::new();
    for (key, value) in url.query_pairs() {
        if key == "audience" {
            audiences.push(value);
        } else if !dropped.iter().any(|d| *d == *key) && dropped.len() < 8 {
            dropped.push(key.into_owned());
        }
    }
    if let Some(wrong) = audiences.iter().find(|a| *a != AUDIENCE) {
        return Some(Finding::error(
            field,
            format!(
                "{label} asks for the audience {}; Jira's API needs audience={AUDIENCE}.",
                quote(wrong)
            ),
            format!(
                "Use https://{AUTH_HOST}/authorize?audience={AUDIENCE}{}.",
                step_hint(field)
            ),
        ));
    }
    if audiences.is_empty() {
        return Some(Finding::notice(
            field,
            format!("{label} had no audience; audience={AUDIENCE} was added."),
            "Atlassian issues Jira tokens only for that audience.",
        ));
    }
    if dropped.is_empty() && url.fragment().is_none() {
        return None;
    }
    let names = dropped
        .iter()
        .map(|d| quote(d))
        .collect::<Vec<_>>()
        .join(", ");
    let names = if names.is_empty() {
        "#fragment".to_owned()
    } else {
        names
    };
    Some(Finding::notice(
        field,
        format!("{label} kept only the audience; {names} dropped."),
        "jira-auth adds the client id, scopes, callback and a fresh state itself.",
    ))
}

fn fix(field: Field, endpoint: Endpoint, origins: &Origins) -> String {
    let production = endpoint.normalized(&origins.production);
    let same_as = if field == Field::RefreshUrl {
        ", the same as the Token request URL"
    } else {
        ""
    };
    let mut fix = format!("Paste {production}{same_as}{}.", step_hint(field));
    if let Some(test_override) = &origins.test_override {
        fix.push_str(&format!(
            " While the test override is on, {} works too.",
            endpoint.normalized(test_override)
        ));
    }
    fix
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUTHORIZE: &str = "https://auth.atlassian.com/authorize?audience=api.atlassian.com";
    const TOKEN: &str = "https://auth.atlassian.com/oauth/token";

    fn production() -> Origins {
        Origins::atlassian()
    }

    fn overridden() -> Origins {
        Origins::overridden("http://127.0.0.1:4000/fake")
    }

    fn error_of(checked: &Checked<String>) -> String {
        checked
            .errors()
            .next()
            .map(|f| f.message.clone())
            .unwrap_or_default()
    }

    #[test]
    fn atlassians_own_urls_are_accepted_and_normalized() {
        let cases = [
            (AUTHORIZE, AUTHORIZE),
            ("https://auth.atlassian.com/authorize", AUTHORIZE),
            (
                "  \"https://AUTH.atlassian.com/authorize?audience=api.atlassian.com\" ",
                AUTHORIZE,
            ),
            (
                "https://auth.atlassian.com/authorize?audience=api%2Eatlassian%2Ecom",
                AUTHORIZE,
            ),
            (
                "https%3A%2F%2Fauth.atlassian.com%2Fauthorize%3Faudience%3Dapi.atlassian.com",
                AUTHORIZE,
            ),
            (
                "https://auth.atlassian.com/author\nize?audience=api.atlassian.com",
                AUTHORIZE,
            ),
            ("auth.atlassian.com/authorize", AUTHORIZE),
            (
                "<https://auth.atlassian.com/authorize?audience=api.atlassian.com&client_id=x&state=y>",
                AUTHORIZE,
            ),
        ];
        for (input, expected) in cases {
            let checked = authorization_url(input, &production());
            assert_eq!(
                checked.value.as_deref(),
                Some(expected),
                "input {input}: {checked:?}"
            );
        }
        for input in [
            TOKEN,
            "https://auth.atlassian.com/oauth%2Ftoken",
            "'https://auth.atlassian.com/oauth/token?x=1'",
        ] {
            for check in [token_url, refresh_url] {
                let checked = check(input, &production());
                assert_eq!(
                    checked.value.as_deref(),
                    Some(TOKEN),
                    "input {input}: {checked:?}"
                );
            }
        }
    }

    #[test]
    fn adjustments_are_reported_as_notices() {
        let added = authorization_url("https://auth.atlassian.com/authorize", &production());
        assert!(
            added
                .notices()
                .any(|f| f.message.contains("audience=api.atlassian.com was added"))
        );
        let dropped = authorization_url(
            &format!("{AUTHORIZE}&client_id=abc&scope=read%3Ajira-work"),
            &production(),
        );
        assert!(
            dropped
                .notices()
                .any(|f| f.message.contains("“client_id”, “scope” dropped"))
        );
        let schemeless = token_url("auth.atlassian.com/oauth/token", &production());
        assert!(
            schemeless
                .notices()
                .any(|f| f.message.contains("https:// in front"))
        );
        assert!(
            authorization_url(AUTHORIZE, &production())
                .findings
                .is_empty()
        );
        assert!(token_url(TOKEN, &production()).findings.is_empty());
    }

    #[test]
    fn refusals_name_the_field_and_the_step() {
        let checked = refresh_url("https://evil.example/oauth/token", &production());
        let finding = &checked.findings[0];
        assert!(finding.message.starts_with("Refresh token URL"));
        assert!(
            finding
                .fix
                .contains("https://auth.atlassian.com/oauth/token")
        );
        assert!(finding.fix.contains("step xi"));
        assert!(
            authorization_url("x", &production()).findings[0]
                .fix
                .contains("step x)")
        );
    }

    #[test]
    fn the_override_base_is_accepted_only_while_overridden() {
        let fake_authorize = "http://127.0.0.1:4000/fake/authorize";
        let fake_token = "http://127.0.0.1:4000/fake/oauth/token";
        assert!(!authorization_url(fake_authorize, &production()).is_ok());
        assert!(!token_url(fake_token, &production()).is_ok());

        let checked = authorization_url(fake_authorize, &overridden());
        assert_eq!(
            checked.value.as_deref(),
            Some("http://127.0.0.1:4000/fake/authorize?audience=api.atlassian.com")
        );
        assert_eq!(
            token_url(fake_token, &overridden()).value.as_deref(),
            Some(fake_token)
        );
        assert!(!token_url("http://127.0.0.1:4001/fake/oauth/token", &overridden()).is_ok());
        assert!(!token_url("http://127.0.0.1:4000/oauth/token", &overridden()).is_ok());
        assert_eq!(
            token_url(TOKEN, &overridden()).value.as_deref(),
            Some(TOKEN)
        );
        let refused = token_url("https://evil.example/oauth/token", &overridden());
        assert!(refused.findings[0].fix.contains("test override"));
    }

    #[test]
    fn oversized_input_is_refused() {
        let long = format!("{TOKEN}?{}", "a".repeat(5000));
        assert!(error_of(&token_url(&long, &production())).contains("4 KiB"));
    }
}
