//! The loopback listener for the OAuth redirect: when the profile's callback URL points at
//! this machine (`http://localhost:PORT/PATH`), jira-auth waits there for the browser to come
//! back with `code` and `state`, beside the paste box that always works.

mod answer;
mod listener;
mod page;
mod ssh_hint;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use url::{Host, Url};

pub use answer::Parameters;
pub(crate) use answer::target_url;
pub use listener::{CallbackListener, bind};
pub use page::{escape_html, page};
pub use ssh_hint::{ssh_forward_hint, ssh_forward_hint_from_env};

/// What the caller passes to [`CallbackListener::wait`] when it has no better idea: long
/// enough to read Atlassian's consent page and pick a site, short enough not to linger.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// Where the browser's redirect lands when the callback URL is a loopback one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoopbackTarget {
    /// The host as the callback URL spells it: `localhost`, `127.0.0.1` or `[::1]`.
    pub host: String,
    /// The address bound: the literal, or 127.0.0.1 for `localhost`, which also holds ::1
    /// where the machine has IPv6.
    pub ip: IpAddr,
    pub port: u16,
    /// The path the redirect arrives on, percent-encoded as the URL parser normalizes it.
    pub path: String,
}

impl LoopbackTarget {
    pub fn socket_address(&self) -> SocketAddr {
        SocketAddr::new(self.ip, self.port)
    }

    /// Whether the browser resolves the host itself, and so may try ::1 or 127.0.0.1.
    fn is_localhost(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
    }
}

/// What came back on the right path with the right state.
#[derive(Clone, PartialEq, Eq)]
pub enum Callback {
    /// The authorization code, to exchange at the token endpoint.
    Code(String),
    /// The user declined consent (`access_denied`) or Atlassian refused the request; both
    /// texts are sanitized and capped, ready to show.
    Denied {
        error: String,
        description: Option<String>,
    },
}

// The code is a short-lived credential: keep it out of logs and panic messages.
impl std::fmt::Debug for Callback {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Callback::Code(_) => formatter.write_str("Code(***)"),
            Callback::Denied { error, description } => formatter
                .debug_struct("Denied")
                .field("error", error)
                .field("description", description)
                .finish(),
        }
    }
}

/// Why the listener could not start or stopped without an answer. Each message is the
/// sentence a human reads; pasting the redirected URL is the way out of all of them.
#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    #[error(
        "port {port} is taken by another program, so jira-auth cannot listen for the browser's redirect; pasting the redirected URL from the browser's address bar still works (or stop that program and try again)"
    )]
    PortBusy { port: u16 },
    #[error(
        "port {port} needs administrator rights on this machine, so jira-auth cannot listen for the browser's redirect; pasting the redirected URL from the browser's address bar still works (or register a callback URL with a port above 1023)"
    )]
    PortForbidden { port: u16 },
    #[error(
        "cannot listen on {address}: {reason}; pasting the redirected URL from the browser's address bar still works"
    )]
    Unavailable { address: SocketAddr, reason: String },
    #[error(
        "no authorization reached {address} within {}; start the authorization again, or paste the redirected URL from the browser's address bar",
        humantime::format_duration(*waited)
    )]
    TimedOut {
        address: SocketAddr,
        waited: Duration,
    },
}

/// The loopback target of a callback URL: `Some` only for `http`, a loopback host
/// (`localhost`, 127.0.0.0/8, `[::1]`) and an explicit, non-zero port. Anything else is answered by
/// pasting the redirected URL. An explicit `:80` counts as absent, since the URL parser drops
/// default ports and binding it needs administrator rights anyway.
pub fn loopback_target(callback_url: &str) -> Option<LoopbackTarget> {
    let url = Url::parse(callback_url.trim()).ok()?;
    if url.scheme() != "http" {
        return None;
    }
    let ip = match url.host()? {
        // The URL parser lowercases domains, so `LOCALHOST` lands here too.
        Host::Domain("localhost") => IpAddr::V4(Ipv4Addr::LOCALHOST),
        Host::Domain(_) => return None,
        Host::Ipv4(ip) if ip.is_loopback() => IpAddr::V4(ip),
        Host::Ipv6(ip) if ip == Ipv6Addr::LOCALHOST => IpAddr::V6(ip),
        Host::Ipv4(_) | Host::Ipv6(_) => return None,
    };
    Some(LoopbackTarget {
        host: url.host_str()?.to_owned(),
        ip,
        // Port 0 means "any" to a socket and nothing to a browser.
        port: url.port().filter(|&port| port != 0)?,
        path: url.path().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_callbacks_are_recognized() {
        let cases = [
            (
                "http://localhost:8080/callback",
                "127.0.0.1",
                8080,
                "/callback",
            ),
            ("http://LOCALHOST:8080/cb", "127.0.0.1", 8080, "/cb"),
            ("http://127.0.0.1:9000/a/b", "127.0.0.1", 9000, "/a/b"),
            ("http://127.0.0.2:9000/", "127.0.0.2", 9000, "/"),
            ("http://[::1]:7000/cb", "::1", 7000, "/cb"),
            ("http://localhost:8080", "127.0.0.1", 8080, "/"),
            ("  http://localhost:8080/cb?x=1  ", "127.0.0.1", 8080, "/cb"),
        ];
        for (url, ip, port, path) in cases {
            let target = loopback_target(url).unwrap_or_else(|| panic!("{url} is loopback"));
            assert_eq!(target.ip.to_string(), ip, "{url}");
            assert_eq!(target.port, port, "{url}");
            assert_eq!(target.path, path, "{url}");
        }
    }

    #[test]
    fn other_callbacks_are_not() {
        for url in [
            "https://localhost:8080/callback",
            "http://localhost/callback",
            "http://localhost:80/callback",
            "http://localhost:0/callback",
            "http://example.com:8080/callback",
            "http://localhost.example.com:8080/callback",
            "http://10.0.0.1:8080/callback",
            "http://0.0.0.0:8080/callback",
            "http://[::]:8080/callback",
            "http://[::2]:8080/callback",
            "not a url",
            "",
        ] {
            assert_eq!(loopback_target(url), None, "{url}");
        }
    }

    #[test]
    fn host_keeps_its_spelling() {
        let target = loopback_target("http://[::1]:7000/cb").unwrap();
        assert_eq!(target.host, "[::1]");
        assert_eq!(target.socket_address().to_string(), "[::1]:7000");
    }

    #[test]
    fn debug_hides_the_code() {
        let shown = format!("{:?}", Callback::Code("secret-code".into()));
        assert!(!shown.contains("secret-code"), "{shown}");
    }

    #[test]
    fn errors_point_at_the_paste_box() {
        let busy = CallbackError::PortBusy { port: 8080 }.to_string();
        assert!(
            busy.contains("8080") && busy.contains("another program"),
            "{busy}"
        );
        assert!(busy.contains("pasting the redirected URL"), "{busy}");
        let timed_out = CallbackError::TimedOut {
            address: "127.0.0.1:8080".parse().unwrap(),
            waited: Duration::from_secs(600),
        }
        .to_string();
        assert!(timed_out.contains("10m"), "{timed_out}");
    }
}
