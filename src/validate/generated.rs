//! The developer console's "Authorization URL generator" output. Pasted into any URL field, it
//! gives the client id, the scopes and the callback URL at once; each goes through its own
//! check, and the `state` placeholder is dropped (jira-auth makes a fresh state per attempt).

use url::Url;
use url::form_urlencoded::Serializer;

use super::callback::callback_url;
use super::catalog::Catalog;
use super::credentials::client_id;
use super::finding::{Checked, Field, Finding, MAX_INPUT, Severity};
use super::origin::decode_if_wholly_encoded;
use super::scopes::{scopes, split};
use super::site::Origins;
use super::text::{clean_paste, percent_decode};
use super::urls::authorization_url;

/// What a generated authorization URL holds. Each value is its check's normalized value when
/// the check passed, or the cleaned pasted text otherwise (so a form can show it for fixing);
/// `findings` has every check's findings.
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratedUrl {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub callback_url: String,
    /// The base with only `audience=api.atlassian.com`, as the Authorization URL field keeps it.
    pub authorization_url: String,
    pub findings: Vec<Finding>,
}

impl GeneratedUrl {
    /// True when no check found an Error: every value can be used as it is.
    pub fn is_ok(&self) -> bool {
        self.findings.iter().all(|f| f.severity != Severity::Error)
    }
}

/// Recognizes a generated authorization URL: a `.../authorize` URL with `client_id` and
/// `redirect_uri` in its query. Anything else is `None`, and the paste is then an ordinary
/// value of the field it was pasted into. `origins` is anything that says where the
/// authorization server may be, so a caller holding `atlassian::Endpoints` passes them as
/// they are.
pub fn parse(input: &str, origins: impl Into<Origins>) -> Option<GeneratedUrl> {
    parse_with(input, &origins.into(), Catalog::builtin())
}

/// [`parse`] with a given scopes catalog.
pub fn parse_with(input: &str, origins: &Origins, catalog: &Catalog) -> Option<GeneratedUrl> {
    if input.len() > MAX_INPUT {
        return None;
    }
    let cleaned = clean_paste(input);
    let text = decode_if_wholly_encoded(&cleaned);
    let url = Url::parse(&text).ok()?;
    if !percent_decode(url.path()).ends_with("/authorize") {
        return None;
    }
    let first = |key: &str| {
        url.query_pairs()
            .find(|(k, _)| k == key)
            .map(|(_, value)| value.into_owned())
    };
    let pasted_client_id = first("client_id")?;
    let pasted_callback = first("redirect_uri")?;
    let pasted_scopes = first("scope");

    let mut findings = Vec::new();
    let authorization = authorization_url(&base_with_audience(&text, &url), origins);
    let id = client_id(&pasted_client_id);
    let callback = callback_url(&pasted_callback);
    let scopes = match &pasted_scopes {
        Some(list) => scopes(list, catalog),
        None => Checked::refused(Finding::warning(
            Field::Scopes,
            "The generated URL has no scope.",
            "Add scopes on the Permissions page (steps viii-ix) and generate the URL again, \
             or type them in the Scopes field.",
        )),
    };
    findings.extend(authorization.findings);
    findings.extend(id.findings);
    findings.extend(callback.findings);
    findings.extend(scopes.findings);

    Some(GeneratedUrl {
        client_id: id.value.unwrap_or_else(|| clean_paste(&pasted_client_id)),
        scopes: scopes
            .value
            .unwrap_or_else(|| pasted_scopes.as_deref().map(split).unwrap_or_default()),
        callback_url: callback
            .value
            .unwrap_or_else(|| clean_paste(&pasted_callback)),
        authorization_url: authorization
            .value
            .unwrap_or_else(|| base_of(&text).to_owned()),
        findings,
    })
}

/// The pasted text up to its query, plus the audience it carried. Cut from the text rather
/// than re-serialized from `url`, which would hide an explicit `:443` from the lookalike check.
fn base_with_audience(text: &str, url: &Url) -> String {
    let base = base_of(text);
    let mut query = Serializer::new(String::new());
    for (_, audience) in url.query_pairs().filter(|(k, _)| k == "audience") {
        query.append_pair("audience", &audience);
    }
    let query = query.finish();
    if query.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{query}")
    }
}

/// The URL before its query or fragment.
fn base_of(text: &str) -> &str {
    text.split(['?', '#']).next().unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56";
    const AUTHORIZE: &str = "https://auth.atlassian.com/authorize?audience=api.atlassian.com";

    fn atlassian_example() -> String {
        format!(
            "https://auth.atlassian.com/authorize?audience=api.atlassian.com&client_id={ID}\
             &scope=read%3Ajira-work%20write%3Ajira-work\
             &redirect_uri=http%3A%2F%2Flocalhost%3A8765%2Fcallback\
             &state=${{YOUR_USER_BOUND_VALUE}}&response_type=code&prompt=consent"
        )
    }

    fn expect_example(parsed: Option<GeneratedUrl>, input: &str) {
        let Some(parsed) = parsed else {
            panic!("not recognized: {input:?}");
        };
        assert_eq!(parsed.client_id, ID, "input {input:?}");
        assert_eq!(
            parsed.scopes,
            ["read:jira-work", "write:jira-work"],
            "input {input:?}"
        );
        assert_eq!(
            parsed.callback_url, "http://localhost:8765/callback",
            "input {input:?}"
        );
        assert_eq!(parsed.authorization_url, AUTHORIZE, "input {input:?}");
        assert!(
            parsed.findings.is_empty(),
            "input {input:?}: {:?}",
            parsed.findings
        );
        assert!(parsed.is_ok());
    }

    #[test]
    fn atlassians_example_is_understood_in_every_pasted_form() {
        let example = atlassian_example();
        let wrapped: String = example
            .chars()
            .collect::<Vec<_>>()
            .chunks(80)
            .map(|line| line.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join("\n");
        let unencoded = format!(
            "https://auth.atlassian.com/authorize?audience=api.atlassian.com&client_id={ID}\
             &scope=read:jira-work write:jira-work&redirect_uri=http://localhost:8765/callback\
             &state=${{YOUR_USER_BOUND_VALUE}}&response_type=code&prompt=consent"
        );
        let plus = example.replace("%20", "+");
        let wholly_encoded = example
            .replace('%', "%25")
            .replace(':', "%3A")
            .replace('/', "%2F")
            .replace('?', "%3F")
            .replace('&', "%26")
            .replace('=', "%3D");
        for input in [
            example.clone(),
            wrapped.clone(),
            format!("\"{example}\""),
            format!("'{wrapped}'\n"),
            format!("<{example}>"),
            unencoded,
            plus,
            wholly_encoded,
            format!("\r\n  {}\r\n{}  ", &example[..100], &example[100..]),
        ] {
            expect_example(parse(&input, Origins::atlassian()), &input);
        }
    }

    #[test]
    fn other_pastes_are_not_generated_urls() {
        for input in [
            "",
            AUTHORIZE,
            "https://auth.atlassian.com/oauth/token?client_id=x&redirect_uri=y",
            &format!("https://auth.atlassian.com/authorize?client_id={ID}&scope=read%3Ajira-work"),
            "read:jira-work write:jira-work",
            ID,
            &format!("{}&x={}", atlassian_example(), "a".repeat(MAX_INPUT)),
        ] {
            assert_eq!(parse(input, Origins::atlassian()), None, "input {input:?}");
        }
    }

    #[test]
    fn each_value_goes_through_its_own_check() {
        let lookalike =
            atlassian_example().replace("auth.atlassian.com", "auth.atlassian.com.evil.example");
        let parsed = parse(&lookalike, Origins::atlassian());
        let parsed =
            parsed.unwrap_or_else(|| panic!("a lookalike generated URL is still recognized"));
        assert!(!parsed.is_ok());
        assert!(
            parsed
                .findings
                .iter()
                .any(|f| f.field == Field::AuthorizationUrl
                    && f.severity == Severity::Error
                    && f.message.contains("only begins with"))
        );
        assert_eq!(parsed.client_id, ID, "the other values are still usable");

        let bad_callback = atlassian_example()
            .replace("http%3A%2F%2Flocalhost%3A8765", "http%3A%2F%2Fexample.com");
        let parsed = parse(&bad_callback, Origins::atlassian());
        assert!(
            parsed.is_some_and(|p| p.findings.iter().any(|f| f.field == Field::CallbackUrl
                && f.severity == Severity::Error
                && p.callback_url == "http://example.com/callback"))
        );

        let odd = atlassian_example()
            .replace(ID, "short")
            .replace("write%3Ajira-work", "write%3Ajira-wrok%20BAD");
        let parsed = parse(&odd, Origins::atlassian());
        let parsed = parsed.unwrap_or_else(|| panic!("still recognized"));
        assert_eq!(parsed.client_id, "short");
        assert_eq!(parsed.scopes, ["read:jira-work", "write:jira-wrok", "BAD"]);
        assert!(
            parsed
                .findings
                .iter()
                .any(|f| f.field == Field::ClientId && f.severity == Severity::Warning)
        );
        assert!(
            parsed
                .findings
                .iter()
                .any(|f| f.field == Field::Scopes && f.severity == Severity::Error)
        );

        let no_scope =
            atlassian_example().replace("&scope=read%3Ajira-work%20write%3Ajira-work", "");
        let parsed = parse(&no_scope, Origins::atlassian());
        assert!(parsed.is_some_and(|p| {
            p.scopes.is_empty()
                && p.findings
                    .iter()
                    .any(|f| f.field == Field::Scopes && f.severity == Severity::Warning)
        }));
    }

    #[test]
    fn the_override_base_is_recognized_only_while_overridden() {
        let fake =
            atlassian_example().replace("https://auth.atlassian.com", "http://127.0.0.1:4000");
        let parsed = parse(&fake, Origins::overridden("http://127.0.0.1:4000"));
        assert!(
            parsed.as_ref().is_some_and(GeneratedUrl::is_ok),
            "{parsed:?}"
        );
        assert_eq!(
            parsed.map(|p| p.authorization_url).as_deref(),
            Some("http://127.0.0.1:4000/authorize?audience=api.atlassian.com")
        );
        let parsed = parse(&fake, Origins::atlassian());
        assert!(parsed.is_some_and(|p| !p.is_ok()));
    }
}
