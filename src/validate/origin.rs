//! What the `url` crate normalizes away but a lookalike check must see: the authority exactly as
//! typed (an explicit `:443` port, raw non-ASCII letters before IDNA turns them into `xn--`),
//! and URLs that arrive wholly percent-encoded (copied out of another URL's query).

use std::borrow::Cow;

use super::text::percent_decode;

/// The authority of a URL as typed: `userinfo@host:port`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Authority<'a> {
    pub userinfo: Option<&'a str>,
    pub host: &'a str,
    pub port: Option<&'a str>,
}

/// The authority of `text`, or `None` when there is no `scheme://`. Like browsers (and the
/// `url` crate) for http and https, a backslash ends the authority just as a slash does.
pub(crate) fn raw_authority(text: &str) -> Option<Authority<'_>> {
    let (_, rest) = text.split_once("://")?;
    let end = rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let (userinfo, host_port) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    let (host, port) = if host_port.starts_with('[') {
        match host_port.find(']') {
            Some(close) => {
                let (host, after) = host_port.split_at(close + 1);
                (host, after.strip_prefix(':'))
            }
            None => (host_port, None),
        }
    } else {
        match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    Some(Authority {
        userinfo,
        host,
        port,
    })
}

/// A URL copied out of another URL's query (`https%3A%2F%2F...`) is decoded once; anything
/// else is returned as it is.
pub(crate) fn decode_if_wholly_encoded(text: &str) -> Cow<'_, str> {
    let lower = text.get(..14).unwrap_or(text).to_ascii_lowercase();
    if lower.starts_with("https%3a%2f%2f") || lower.starts_with("http%3a%2f%2f") {
        Cow::Owned(percent_decode(text))
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authority(text: &str) -> Option<(Option<&str>, &str, Option<&str>)> {
        raw_authority(text).map(|a| (a.userinfo, a.host, a.port))
    }

    #[test]
    fn the_authority_is_read_as_typed() {
        let cases = [
            (
                "https://auth.atlassian.com/authorize",
                Some((None, "auth.atlassian.com", None)),
            ),
            (
                "https://auth.atlassian.com:443/x",
                Some((None, "auth.atlassian.com", Some("443"))),
            ),
            (
                "https://atlassian.com@evil.example/",
                Some((Some("atlassian.com"), "evil.example", None)),
            ),
            ("https://a:b@c:1?q", Some((Some("a:b"), "c", Some("1")))),
            ("http://[::1]:8765/cb", Some((None, "[::1]", Some("8765")))),
            ("http://[::1]/cb", Some((None, "[::1]", None))),
            (
                "https://auth.atlassian.com\\@evil.example",
                Some((None, "auth.atlassian.com", None)),
            ),
            ("https://host", Some((None, "host", None))),
            ("https://host:", Some((None, "host", Some("")))),
            ("auth.atlassian.com/authorize", None),
        ];
        for (text, expected) in cases {
            assert_eq!(authority(text), expected, "text {text}");
        }
    }

    #[test]
    fn only_wholly_encoded_urls_are_decoded() {
        assert_eq!(
            decode_if_wholly_encoded("http%3A%2F%2Flocalhost%3A8765%2Fcallback"),
            "http://localhost:8765/callback"
        );
        assert_eq!(
            decode_if_wholly_encoded("HTTPS%3a%2f%2fauth.atlassian.com%2Foauth%2Ftoken"),
            "HTTPS://auth.atlassian.com/oauth/token"
        );
        let plain = "https://x.example/a%20b";
        assert_eq!(decode_if_wholly_encoded(plain), plain);
        assert_eq!(decode_if_wholly_encoded("é"), "é");
    }
}
