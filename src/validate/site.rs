//! Whether a URL leads to Atlassian's authorization server, and if not, why not in words:
//! userinfo before an `@`, lookalike letters (raw non-ASCII or punycode), IP literals, explicit
//! ports, other hosts, plain http. The test override base counts only while it is active.

use url::{Host, Url};

use super::origin::raw_authority;
use super::text::quote;

/// Atlassian's authorization server: the origin of `/authorize` and `/oauth/token`.
pub const AUTH_BASE: &str = "https://auth.atlassian.com";
/// Its host, the only production host an authorization profile's URLs may name.
pub const AUTH_HOST: &str = AUTH_BASE.split_at("https://".len()).1;

/// The two URLs of an authorization server that a profile names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthServer {
    /// Where consent starts (`.../authorize`), without a query.
    pub authorize: Url,
    /// Where codes and refresh tokens are exchanged (`.../oauth/token`).
    pub token: Url,
}

/// The authorization servers a profile's URLs may lead to. The caller hands them in (the
/// protocol layer knows where Atlassian is), so these checks stay pure data in, findings out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origins {
    /// Atlassian's own, always accepted (and still held to https, its exact host, no port).
    pub production: AuthServer,
    /// The test override's, accepted as well while the override is on.
    pub test_override: Option<AuthServer>,
}

#[cfg(test)]
impl Origins {
    /// Atlassian's production server, spelled out as the protocol layer produces it
    /// (`atlassian::endpoints` checks that it does).
    pub(crate) fn atlassian() -> Origins {
        Origins {
            production: AuthServer::under("https://auth.atlassian.com"),
            test_override: None,
        }
    }

    /// Production plus a test override at `base` (which may carry a path prefix).
    pub(crate) fn overridden(base: &str) -> Origins {
        Origins {
            test_override: Some(AuthServer::under(base)),
            ..Origins::atlassian()
        }
    }
}

#[cfg(test)]
impl AuthServer {
    fn under(base: &str) -> AuthServer {
        let parse = |path: &str| Url::parse(&format!("{base}/{path}")).expect("a test base");
        AuthServer {
            authorize: parse("authorize"),
            token: parse("oauth/token"),
        }
    }
}

/// The server a parsed URL belongs to (production, or the override while it is active), or
/// the sentence saying why it leads somewhere else. `text` is the URL as typed, for what the
/// parser normalizes away; `label` names the field in the sentence.
pub(crate) fn site<'a>(
    label: &str,
    url: &Url,
    text: &str,
    origins: &'a Origins,
) -> Result<&'a AuthServer, String> {
    if let Some(test_override) = &origins.test_override
        && same_origin(url, &test_override.authorize)
    {
        return Ok(test_override);
    }
    let authority = raw_authority(text);
    if let Some(userinfo) = authority
        .and_then(|a| a.userinfo)
        .or((!url.username().is_empty()).then(|| url.username()))
    {
        return Err(format!(
            "{label} has {} before an @, so it leads to {}, not to {AUTH_HOST}: a classic \
             phishing trick.",
            quote(userinfo),
            url.host_str()
                .map(quote)
                .unwrap_or_else(|| "no host".into()),
        ));
    }
    let raw_host = authority.map_or("", |a| a.host);
    if !raw_host.is_ascii() {
        return Err(format!(
            "{label}'s host {} has non-ASCII letters; lookalike letters are a phishing trick \
             and Atlassian's host is plain {AUTH_HOST}.",
            quote(raw_host)
        ));
    }
    let host = match url.host() {
        None => return Err(format!("{label} has no host.")),
        Some(Host::Ipv4(_) | Host::Ipv6(_)) => {
            return Err(format!(
                "{label} names the IP address {}; Atlassian is reached by the name {AUTH_HOST}.",
                quote(raw_host)
            ));
        }
        Some(Host::Domain(host)) => host,
    };
    if host.split('.').any(|part| part.starts_with("xn--")) {
        return Err(format!(
            "{label}'s host {} is punycode (xn--), the encoded form of lookalike letters; \
             Atlassian's host is plain {AUTH_HOST}.",
            quote(host)
        ));
    }
    if host != AUTH_HOST {
        return Err(wrong_host(label, host));
    }
    if let Some(port) = authority.and_then(|a| a.port).or(url.port().map(|_| "")) {
        return Err(format!(
            "{label} names a port ({}); Atlassian's URL has none.",
            quote(&format!(":{port}"))
        ));
    }
    if url.scheme() != "https" {
        return Err(format!(
            "{label} uses {}; Atlassian answers only on https://.",
            quote(&format!("{}://", url.scheme()))
        ));
    }
    Ok(&origins.production)
}

fn wrong_host(label: &str, host: &str) -> String {
    let shown = quote(host);
    if host == "api.atlassian.com" {
        format!(
            "{label} goes to {shown}, Atlassian's API host; authorization and tokens live at \
             {AUTH_HOST}."
        )
    } else if host.trim_end_matches('.') == AUTH_HOST {
        format!("{label}'s host {shown} ends with a dot; Atlassian's host is {AUTH_HOST}.")
    } else if host.starts_with("auth.atlassian.com.") {
        format!(
            "{label} goes to {shown}, a different site whose name only begins with {AUTH_HOST}."
        )
    } else if host.ends_with(".atlassian.com") {
        format!("{label} goes to {shown}; Atlassian's authorization server is {AUTH_HOST} exactly.")
    } else {
        format!("{label} goes to {shown}, which is not Atlassian's {AUTH_HOST}.")
    }
}

fn same_origin(url: &Url, base: &Url) -> bool {
    url.scheme() == base.scheme()
        && url.host() == base.host()
        && url.port_or_known_default() == base.port_or_known_default()
        && url.username().is_empty()
        && url.password().is_none()
}

#[cfg(test)]
mod tests {
    use crate::validate::{Checked, Origins, authorization_url, token_url};

    fn production() -> Origins {
        Origins::atlassian()
    }

    fn error_of(checked: &Checked<String>) -> String {
        checked
            .errors()
            .next()
            .map(|f| f.message.clone())
            .unwrap_or_default()
    }

    #[test]
    fn lookalikes_are_refused_with_the_reason() {
        let cases = [
            (
                "https://auth.atlassian.com.evil.example/authorize",
                "only begins with auth.atlassian.com",
            ),
            (
                "https://atlassian.com@evil.example/authorize",
                "before an @",
            ),
            (
                "https://auth.atlassian.com@evil.example/authorize",
                "leads to “evil.example”",
            ),
            (
                "https://user:pw@auth.atlassian.com/authorize",
                "before an @",
            ),
            (
                "https://auth-atlassian.com/authorize",
                "not Atlassian's auth.atlassian.com",
            ),
            ("https://xn--uth-8cd.atlassian.com/authorize", "punycode"),
            ("https://\u{430}uth.atlassian.com/authorize", "non-ASCII"),
            ("https://\u{ff41}uth.atlassian.com/authorize", "non-ASCII"),
            ("https://104.192.142.1/authorize", "IP address"),
            ("https://[2401:1d80::1]/authorize", "IP address"),
            ("https://0x7f000001/authorize", "IP address"),
            ("https://auth.atlassian.com:443/authorize", "port"),
            ("https://auth.atlassian.com:8443/authorize", "port"),
            ("http://auth.atlassian.com/authorize", "only on https://"),
            ("ftp://auth.atlassian.com/authorize", "only on https://"),
            ("https://api.atlassian.com/authorize", "API host"),
            ("https://evil.atlassian.com/authorize", "exactly"),
            ("https://auth.atlassian.com./authorize", "ends with a dot"),
            (
                "https://auth.atlassian.com/oauth/token",
                "which is the Token request URL",
            ),
            ("https://auth.atlassian.com/", "no path"),
            (
                "https://auth.atlassian.com/authorize/",
                "must be exactly /authorize",
            ),
            (
                "https://auth.atlassian.com/authorize?audience=evil.example",
                "audience",
            ),
            ("https://", "not a valid URL"),
            ("", "is empty"),
            ("\"  \"", "is empty"),
        ];
        for (input, reason) in cases {
            let checked = authorization_url(input, &production());
            assert!(!checked.is_ok(), "input {input} was accepted");
            assert!(
                error_of(&checked).contains(reason),
                "input {input}: {:?}",
                checked.findings
            );
        }
        let authorize = "https://auth.atlassian.com/authorize?audience=api.atlassian.com";
        let wrong = token_url(authorize, &production());
        assert!(error_of(&wrong).contains("which is the Authorization URL"));
    }
}
