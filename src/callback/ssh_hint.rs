//! The `ssh -L` line that carries the laptop browser's redirect to a listener on a server
//! reached over SSH: built from `$SSH_CONNECTION` and `$USER`, so it can be run as shown.

/// The command to run on the laptop when this session came in over SSH, or `None` when it
/// did not (`ssh_connection` unset or blank). `ssh_connection` is `$SSH_CONNECTION`
/// (`CLIENT_IP CLIENT_PORT SERVER_IP SERVER_PORT`); `host` replaces its server address when
/// the caller knows a better name; `user` is `$USER`. Values that a shell would not take as
/// one plain word are left out rather than shown wrong.
pub fn ssh_forward_hint(
    port: u16,
    ssh_connection: Option<&str>,
    user: Option<&str>,
    host: Option<&str>,
) -> Option<String> {
    let fields: Vec<&str> = ssh_connection?.split_whitespace().collect();
    if fields.is_empty() || port == 0 {
        return None;
    }
    let server_address = fields
        .get(2)
        .copied()
        .filter(|address| is_plain_host(address));
    let host = host.filter(|host| is_plain_host(host)).or(server_address)?;
    let destination = match user.filter(|user| is_plain_user(user)) {
        Some(user) => format!("{user}@{host}"),
        None => host.to_owned(),
    };
    // The server's sshd may not listen on 22: the line must reach the same port this
    // session did.
    let ssh_port = match fields.get(3).and_then(|field| field.parse::<u16>().ok()) {
        Some(ssh_port) if ssh_port != 22 => format!(" -p {ssh_port}"),
        _ => String::new(),
    };
    Some(format!(
        "ssh -L {port}:localhost:{port}{ssh_port} {destination}"
    ))
}

/// [`ssh_forward_hint`] with `$SSH_CONNECTION` and `$USER` of this process.
pub fn ssh_forward_hint_from_env(port: u16) -> Option<String> {
    let ssh_connection = std::env::var("SSH_CONNECTION").ok();
    let user = std::env::var("USER").ok();
    ssh_forward_hint(port, ssh_connection.as_deref(), user.as_deref(), None)
}

fn is_plain_user(user: &str) -> bool {
    is_plain_word(user, |c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// Names and addresses, IPv6 included (ssh takes `user@fe80::1` unbracketed).
fn is_plain_host(host: &str) -> bool {
    is_plain_word(host, |c| c.is_ascii_alphanumeric() || ".-:%".contains(c))
}

/// Non-empty, made of `allowed`, and not starting with `-` (ssh would read an option).
fn is_plain_word(word: &str, allowed: impl Fn(char) -> bool) -> bool {
    !word.is_empty() && !word.starts_with('-') && word.chars().all(allowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONNECTION: &str = "192.0.2.7 51234 203.0.113.5 22";

    /// port, SSH_CONNECTION, USER, better host name, expected line.
    type Case = (
        u16,
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
    );

    #[test]
    fn hint_cases() {
        let cases: [Case; 12] = [
            (8080, None, Some("admin"), None, None),
            (8080, Some("  "), Some("admin"), None, None),
            (
                8080,
                Some(CONNECTION),
                Some("admin"),
                None,
                Some("ssh -L 8080:localhost:8080 admin@203.0.113.5"),
            ),
            (
                8080,
                Some(CONNECTION),
                Some("admin"),
                Some("jira-box.example.com"),
                Some("ssh -L 8080:localhost:8080 admin@jira-box.example.com"),
            ),
            (
                8080,
                Some(CONNECTION),
                None,
                None,
                Some("ssh -L 8080:localhost:8080 203.0.113.5"),
            ),
            (
                8080,
                Some(CONNECTION),
                Some(""),
                None,
                Some("ssh -L 8080:localhost:8080 203.0.113.5"),
            ),
            (
                9000,
                Some("192.0.2.7 51234 203.0.113.5 2222"),
                Some("ops"),
                None,
                Some("ssh -L 9000:localhost:9000 -p 2222 ops@203.0.113.5"),
            ),
            (
                8080,
                Some("2001:db8::7 51234 2001:db8::5 22"),
                Some("admin"),
                None,
                Some("ssh -L 8080:localhost:8080 admin@2001:db8::5"),
            ),
            // A user name a shell would split or expand is dropped, not shown wrong.
            (
                8080,
                Some(CONNECTION),
                Some("ad min;rm"),
                None,
                Some("ssh -L 8080:localhost:8080 203.0.113.5"),
            ),
            // A host that looks like an option falls back to the server address.
            (
                8080,
                Some(CONNECTION),
                Some("admin"),
                Some("-oProxyCommand=x"),
                Some("ssh -L 8080:localhost:8080 admin@203.0.113.5"),
            ),
            // SSH_CONNECTION without a server field: only a given name can help.
            (8080, Some("192.0.2.7"), Some("admin"), None, None),
            (0, Some(CONNECTION), Some("admin"), None, None),
        ];
        for (port, connection, user, host, expected) in cases {
            assert_eq!(
                ssh_forward_hint(port, connection, user, host).as_deref(),
                expected,
                "{port} {connection:?} {user:?} {host:?}"
            );
        }
    }

    #[test]
    fn a_given_host_rescues_a_short_ssh_connection() {
        assert_eq!(
            ssh_forward_hint(8080, Some("192.0.2.7"), Some("admin"), Some("jira-box")).as_deref(),
            Some("ssh -L 8080:localhost:8080 admin@jira-box")
        );
    }
}
