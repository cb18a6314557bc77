//! The loopback listener for the OAuth redirect: when the profile's callback URL points at
//! this machine (`http://localhost:PORT/PATH`), jira-auth waits there for the browser to come
//! back with `code` and `state`, beside the paste box that always works.

mod answer;
mod listener;
mod page;
mod ssh_hint;
mod target;

use std::time::Duration;

pub use answer::Parameters;
pub(crate) use answer::target_url;
pub use listener::{CallbackListener, bind};
pub use page::{escape_html, page};
pub use ssh_hint::{ssh_forward_hint, ssh_forward_hint_from_env};
pub use target::{Callback, CallbackError, LoopbackTarget, loopback_target};

/// What the caller passes to [`CallbackListener::wait`] when it has no better idea: long
/// enough to read Atlassian's consent page and pick a site, short enough not to linger.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10 * 60);

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
