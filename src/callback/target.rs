//! Where a loopback callback lands and what arrives there: the vocabulary the listener, the
//! answer and the page share. A leaf, so they import it rather than the module above them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use url::{Host, Url};

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
    pub(super) fn is_localhost(&self) -> bool {
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
