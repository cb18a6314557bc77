//! The callback URL: where Atlassian sends the browser back with the code. It must equal the
//! URL registered in the app (step vi) character for character, so it is checked but kept as
//! typed, never re-serialized.

use url::{Host, Url};

use super::finding::{Checked, Field, Finding, oversized};
use super::origin::{decode_if_wholly_encoded, raw_authority};
use super::text::{clean_paste, quote};

const FIELD: Field = Field::CallbackUrl;

/// `https://` on any host, or `http://` on a loopback host (`localhost`, `127.0.0.1`, `[::1]`)
/// with an explicit port; no userinfo, no fragment. The callback does not depend on where
/// Atlassian is, so unlike the other URL checks it takes no origins.
pub fn callback_url(input: &str) -> Checked<String> {
    if let Some(finding) = oversized(FIELD, input) {
        return Checked::refused(finding);
    }
    let cleaned = clean_paste(input);
    let text = decode_if_wholly_encoded(&cleaned).into_owned();
    match problem(&text) {
        Some((message, fix)) => Checked::refused(Finding::error(FIELD, message, fix)),
        None => Checked::new(text, Vec::new()),
    }
}

const GENERAL_FIX: &str = "Paste the callback URL registered in your app's Authorization \
                           settings (step vi), e.g. http://localhost:8765/callback.";

/// The message and fix of the first thing wrong with the callback URL, if any.
fn problem(text: &str) -> Option<(String, String)> {
    let general = |message: String| Some((message, GENERAL_FIX.to_owned()));
    if text.is_empty() {
        return general("Callback URL is empty.".into());
    }
    if text.chars().any(char::is_whitespace) {
        return Some((
            "Callback URL contains a space, so it was cut or joined while copying.".into(),
            "Copy the callback URL again in one piece (step vi).".into(),
        ));
    }
    if !text.contains("://") {
        return general(format!(
            "Callback URL {} has no https:// (or http://) in front.",
            quote(text)
        ));
    }
    let url = match Url::parse(text) {
        Ok(url) => url,
        Err(error) => return general(format!("Callback URL is not a valid URL ({error}).")),
    };
    let authority = raw_authority(text);
    if authority.and_then(|a| a.userinfo).is_some() || !url.username().is_empty() {
        return general(
            "Callback URL has a user name before an @; Atlassian would send the code to \
             the host after it."
                .into(),
        );
    }
    if url.fragment().is_some() {
        return Some((
            "Callback URL has a #fragment; a redirect URI may not have one.".into(),
            "Remove the # and what follows it, here and in the app's settings (step vi).".into(),
        ));
    }
    let Some(host) = url.host() else {
        return general("Callback URL has no host.".into());
    };
    match url.scheme() {
        "https" => None,
        "http" if !is_loopback(&host) => Some((
            format!(
                "Callback URL uses http:// on {}; Atlassian allows http:// only on localhost, \
                 127.0.0.1 or [::1].",
                quote(&host.to_string())
            ),
            "Use an https:// callback URL, or a loopback one with a port, and register the \
             same in your app (step vi)."
                .into(),
        )),
        "http" if authority.and_then(|a| a.port).is_none_or(str::is_empty) => Some((
            "Callback URL on a loopback host has no port.".into(),
            "Add the port the listener uses, e.g. http://localhost:8765/callback, and register \
             the same in your app (step vi)."
                .into(),
        )),
        "http" => None,
        scheme => general(format!(
            "Callback URL uses {}; it must be https:// (or http:// on a loopback host).",
            quote(&format!("{scheme}://"))
        )),
    }
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => *name == "localhost",
        Host::Ipv4(address) => *address == std::net::Ipv4Addr::LOCALHOST,
        Host::Ipv6(address) => *address == std::net::Ipv6Addr::LOCALHOST,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str) -> Checked<String> {
        callback_url(input)
    }

    #[test]
    fn good_callbacks_are_kept_exactly_as_typed() {
        let cases = [
            (
                "https://example.com/callback",
                "https://example.com/callback",
            ),
            ("https://example.com", "https://example.com"),
            (
                "https://Example.com:8443/cb?x=1",
                "https://Example.com:8443/cb?x=1",
            ),
            (
                "http://localhost:8765/callback",
                "http://localhost:8765/callback",
            ),
            ("http://127.0.0.1:8765/", "http://127.0.0.1:8765/"),
            ("http://[::1]:8765/cb", "http://[::1]:8765/cb"),
            ("http://localhost:80/cb", "http://localhost:80/cb"),
            (
                " 'http://localhost:8765/callback' ",
                "http://localhost:8765/callback",
            ),
            (
                "http%3A%2F%2Flocalhost%3A8765%2Fcallback",
                "http://localhost:8765/callback",
            ),
            (
                "https://example.com/long/\npath",
                "https://example.com/long/path",
            ),
        ];
        for (input, expected) in cases {
            let checked = check(input);
            assert_eq!(
                checked.value.as_deref(),
                Some(expected),
                "input {input}: {checked:?}"
            );
            assert!(checked.findings.is_empty());
        }
    }

    #[test]
    fn bad_callbacks_are_refused_with_the_reason() {
        let cases = [
            ("", "is empty"),
            ("http://example.com:8765/cb", "only on localhost"),
            ("http://127.0.0.2:8765/cb", "only on localhost"),
            ("http://localhost/callback", "has no port"),
            ("http://localhost:/callback", "has no port"),
            ("http://[::1]/cb", "has no port"),
            ("https://example.com/cb#top", "#fragment"),
            ("https://user@example.com/cb", "user name"),
            ("https://localhost@evil.example/cb", "user name"),
            ("localhost:8765/callback", "no https://"),
            ("ftp://example.com/cb", "must be https://"),
            ("https://exa mple.com/cb", "contains a space"),
            ("https://", "not a valid URL"),
        ];
        for (input, reason) in cases {
            let checked = check(input);
            assert!(!checked.is_ok(), "input {input} was accepted");
            let message = &checked.findings[0].message;
            assert!(message.contains(reason), "input {input}: {message}");
            assert!(checked.findings[0].fix.contains("step vi"), "input {input}");
        }
    }
}
