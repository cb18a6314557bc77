//! Which kind of store holds the data: sled in the data directory (the default, one host), or
//! a PostgreSQL database several hosts share (`JIRA_AUTH_STORE`, or `--store`, which sets it
//! for the process and the agent it starts). The connection string is kept as given, for the
//! driver; what is shown of it anywhere never carries its password.

use std::fmt;

/// The variable (and, through clap, the `--store` flag) that chooses the store.
pub const STORE_VAR: &str = "JIRA_AUTH_STORE";

#[derive(Clone, Default, PartialEq, Eq)]
pub enum Backend {
    /// sled, in the data directory.
    #[default]
    Sled,
    /// PostgreSQL: a libpq connection string (`host=... dbname=...`) or URL (`postgres://`).
    Postgres(String),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BackendError {
    #[error(
        "{STORE_VAR} (or --store) is {given}, which names no store; use `sled` (the default: the data directory), a URL such as postgres://jira-auth@db.example.com/jira_auth, or a connection string such as \"host=db.example.com dbname=jira_auth\""
    )]
    Unknown { given: String },
}

impl crate::exit::Exits for BackendError {
    fn exit(&self) -> crate::exit::Exit {
        crate::exit::Exit::Usage
    }
}

impl Backend {
    pub fn parse(text: &str) -> Result<Backend, BackendError> {
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed == "sled" {
            return Ok(Backend::Sled);
        }
        let url = ["postgres://", "postgresql://"].iter().any(|scheme| {
            trimmed.len() > scheme.len() && trimmed[..scheme.len()].eq_ignore_ascii_case(scheme)
        });
        if url || looks_like_conninfo(trimmed) {
            return Ok(Backend::Postgres(trimmed.to_owned()));
        }
        // Only its start is echoed: whatever follows may hold a password.
        let start = match trimmed.find("://") {
            Some(end) => format!("{}…", &trimmed[..end + 3]),
            None => trimmed
                .split(|c: char| c.is_whitespace() || c == '=')
                .next()
                .unwrap_or_default()
                .to_owned(),
        };
        Err(BackendError::Unknown {
            given: crate::validate::text::quoted(&start),
        })
    }

    /// The store this process was told to use; unset is sled.
    pub fn from_env() -> Result<Backend, BackendError> {
        match std::env::var(STORE_VAR) {
            Ok(text) => Backend::parse(&text),
            Err(_) => Ok(Backend::Sled),
        }
    }

    /// What may be shown of it: `sled`, or the connection string without its password.
    pub fn describe(&self) -> String {
        match self {
            Backend::Sled => "sled".to_owned(),
            Backend::Postgres(conninfo) => redact(conninfo),
        }
    }

    pub fn is_shared(&self) -> bool {
        matches!(self, Backend::Postgres(_))
    }
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// `key=value` pairs, as libpq takes them: the first word has an `=` after a keyword.
fn looks_like_conninfo(text: &str) -> bool {
    text.split_whitespace().next().is_some_and(|word| {
        word.split_once('=').is_some_and(|(key, _)| {
            !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        })
    })
}

/// The connection string with any password replaced by `***`: in a URL's user part or its
/// `password=` query, and in a `password=` pair (quoted or not).
pub fn redact(conninfo: &str) -> String {
    // Any URL: one of another scheme is refused with what was given, minus its password.
    if conninfo.contains("://")
        && let Ok(mut url) = url::Url::parse(conninfo)
    {
        if url.password().is_some() {
            let _ = url.set_password(Some("***"));
        }
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == "password" {
                    "***".into()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        if !pairs.is_empty() {
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        return url.to_string();
    }
    let mut out = String::with_capacity(conninfo.len());
    let mut rest = conninfo;
    while let Some(start) = rest.find("password") {
        let (before, from) = rest.split_at(start);
        out.push_str(before);
        let after_key = from["password".len()..].trim_start();
        let word_start = start == 0 || before.ends_with(char::is_whitespace);
        let Some(value) = after_key.strip_prefix('=').filter(|_| word_start) else {
            out.push_str("password");
            rest = &from["password".len()..];
            continue;
        };
        let value = value.trim_start();
        out.push_str("password=***");
        rest = skip_value(value);
    }
    out.push_str(rest);
    out
}

/// What follows a conninfo value: after its closing quote (with `\'` escapes), or its word.
fn skip_value(value: &str) -> &str {
    if let Some(quoted) = value.strip_prefix('\'') {
        let mut escaped = false;
        for (i, c) in quoted.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '\'' => return &quoted[i + 1..],
                _ => {}
            }
        }
        return "";
    }
    value
        .find(char::is_whitespace)
        .map_or("", |end| &value[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sled_is_the_default_and_postgres_is_a_url_or_a_conninfo() {
        assert_eq!(Backend::parse("").unwrap(), Backend::Sled);
        assert_eq!(Backend::parse(" sled ").unwrap(), Backend::Sled);
        for text in [
            "postgres://db/jira",
            "postgresql://u@db:5433/jira?sslmode=require",
            "host=/tmp/pg dbname=jira",
            "dbname=jira",
        ] {
            assert_eq!(
                Backend::parse(text).unwrap(),
                Backend::Postgres(text.into())
            );
        }
        let refused = Backend::parse("mysql://db/jira password=hunter2").unwrap_err();
        let sentence = refused.to_string();
        assert!(sentence.contains("JIRA_AUTH_STORE"), "{sentence}");
        assert!(!sentence.contains("hunter2"), "{sentence}");
        let refused = Backend::parse("mysql://u:hunter2@db/jira")
            .unwrap_err()
            .to_string();
        assert!(!refused.contains("hunter2"), "{refused}");
    }

    #[test]
    fn no_password_is_ever_shown() {
        for (given, shown) in [
            (
                "postgres://bot:hunter2@db/jira",
                "postgres://bot:***@db/jira",
            ),
            (
                "postgres://db/jira?password=hunter2&sslmode=require",
                "postgres://db/jira?password=***&sslmode=require",
            ),
            (
                "host=db password=hunter2 dbname=jira",
                "host=db password=*** dbname=jira",
            ),
            (
                "host=db password = 'hun ter\\'2' dbname=jira",
                "host=db password=*** dbname=jira",
            ),
            ("password=hunter2", "password=***"),
            ("host=db passwordless=1", "host=db passwordless=1"),
        ] {
            assert_eq!(redact(given), shown, "{given}");
            assert!(
                !Backend::Postgres(given.into())
                    .describe()
                    .contains("hunter2")
            );
        }
    }

    proptest::proptest! {
        /// Whatever follows `password=`, its value never survives the redaction.
        #[test]
        fn a_password_pair_never_survives(secret in "[A-Za-z0-9]{6,20}", before in "[a-z =]{0,20}") {
            let conninfo = format!("{before} password={secret}Q host=db");
            let kept = format!("{}Q", secret);
            proptest::prop_assert!(!redact(&conninfo).contains(&kept));
        }
    }
}
