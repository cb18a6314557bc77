//! From what an admin writes (`JIRA_AUTH_STORE`: a libpq connection string or a
//! `postgres://` URL) to a connection, the way `psql` reads it: every key the string leaves
//! out comes from the standard `PG*` variables, then libpq's defaults; a missing password is
//! looked up in `~/.pgpass` (or `PGPASSFILE`, or `passfile=`), which is ignored unless only
//! its owner may read it; `sslmode` keeps libpq's meaning, verify-ca and verify-full included.
//! Pure: the environment and the password file come in as arguments, so all of it is tested
//! without touching the process.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The keys jira-auth reads (libpq has more; one it does not know is refused, not ignored).
const KEYS: [&str; 13] = [
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "sslmode",
    "sslrootcert",
    "application_name",
    "connect_timeout",
    "options",
    "target_session_attrs",
];

/// Each key's variable, as libpq reads them.
const VARIABLES: [(&str, &str); 13] = [
    ("host", "PGHOST"),
    ("hostaddr", "PGHOSTADDR"),
    ("port", "PGPORT"),
    ("dbname", "PGDATABASE"),
    ("user", "PGUSER"),
    ("password", "PGPASSWORD"),
    ("passfile", "PGPASSFILE"),
    ("sslmode", "PGSSLMODE"),
    ("sslrootcert", "PGSSLROOTCERT"),
    ("application_name", "PGAPPNAME"),
    ("connect_timeout", "PGCONNECT_TIMEOUT"),
    ("options", "PGOPTIONS"),
    ("target_session_attrs", "PGTARGETSESSIONATTRS"),
];

/// Where Debian's server puts its socket, libpq's default host there.
const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConninfoError {
    #[error(
        "the PostgreSQL connection string has {0:?}, which is not a key=value pair; write it as \"host=db.example.com dbname=jira_auth\" or as a postgres:// URL"
    )]
    NotAPair(String),
    #[error(
        "the PostgreSQL connection string has an unterminated quoted value; close the quote after the value"
    )]
    Unterminated,
    #[error(
        "the PostgreSQL connection string has the key {0:?}, which jira-auth does not read; the keys it reads are {list}",
        list = KEYS.join(", ")
    )]
    UnknownKey(String),
    #[error("the PostgreSQL URL does not parse: {0}")]
    Url(String),
    #[error("the PostgreSQL {key} {value:?} is not {expected}")]
    Invalid {
        key: &'static str,
        value: String,
        expected: &'static str,
    },
}

/// How the connection is to be protected (libpq's `sslmode`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tls {
    Disable,
    /// `allow` and `prefer`: TLS when the server offers it, unverified (as libpq does).
    Prefer,
    /// `require`: always TLS, unverified; with a root certificate, verified as verify-ca.
    Require,
    /// The server's chain checked against `roots` (None: the system's and Mozilla's roots);
    /// with `hostname`, its name too (verify-full).
    Verify {
        roots: Option<PathBuf>,
        hostname: bool,
    },
}

/// A connection worked out: what the driver needs, and what may be shown of it.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub config: tokio_postgres::Config,
    pub tls: Tls,
    /// `host=... port=... dbname=... user=...`: never the password.
    pub shown: String,
}

/// The keys a connection string or URL sets, as given.
pub fn parse(text: &str) -> Result<BTreeMap<String, String>, ConninfoError> {
    let trimmed = text.trim();
    let pairs = if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
        parse_url(trimmed)?
    } else {
        parse_pairs(trimmed)?
    };
    if let Some(key) = pairs.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(ConninfoError::UnknownKey(key.clone()));
    }
    Ok(pairs)
}

fn parse_pairs(text: &str) -> Result<BTreeMap<String, String>, ConninfoError> {
    let mut pairs = BTreeMap::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else {
            return Err(ConninfoError::NotAPair(rest.chars().take(40).collect()));
        };
        let key = rest[..eq].trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(ConninfoError::NotAPair(rest.chars().take(40).collect()));
        }
        rest = rest[eq + 1..].trim_start();
        let mut value = String::new();
        if let Some(quoted) = rest.strip_prefix('\'') {
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, next)) = chars.next() {
                            value.push(next);
                        }
                    }
                    '\'' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => value.push(c),
                }
            }
            let end = end.ok_or(ConninfoError::Unterminated)?;
            rest = &quoted[end..];
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let mut chars = rest[..end].chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    c => value.push(c),
                }
            }
            rest = &rest[end..];
        }
        pairs.insert(key.to_owned(), value);
        rest = rest.trim_start();
    }
    Ok(pairs)
}

fn parse_url(text: &str) -> Result<BTreeMap<String, String>, ConninfoError> {
    let url = url::Url::parse(text).map_err(|e| ConninfoError::Url(e.to_string()))?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let mut pairs = BTreeMap::new();
    if !url.username().is_empty() {
        pairs.insert("user".to_owned(), decode(url.username()));
    }
    if let Some(password) = url.password() {
        pairs.insert("password".to_owned(), decode(password));
    }
    if let Some(host) = url.host_str().filter(|h| !h.is_empty()) {
        // A socket directory is written percent-encoded: postgresql://%2Frun%2Fpg/db.
        pairs.insert(
            "host".to_owned(),
            decode(host.trim_start_matches('[').trim_end_matches(']')),
        );
    }
    if let Some(port) = url.port() {
        pairs.insert("port".to_owned(), port.to_string());
    }
    let path = url.path().trim_start_matches('/');
    if !path.is_empty() {
        pairs.insert("dbname".to_owned(), decode(path));
    }
    for (key, value) in url.query_pairs() {
        pairs.insert(key.into_owned(), value.into_owned());
    }
    Ok(pairs)
}

/// The connection `text` names, completed from `env` (the `PG*` variables) and the password
/// file, as libpq would. `user` is the operating-system user, libpq's default.
pub fn resolve(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    home: Option<&Path>,
    os_user: &str,
) -> Result<Resolved, ConninfoError> {
    let mut keys = parse(text)?;
    for (key, variable) in VARIABLES {
        if !keys.contains_key(key)
            && let Some(value) = env(variable).filter(|v| !v.is_empty())
        {
            keys.insert(key.to_owned(), value);
        }
    }
    let host = keys
        .get("host")
        .cloned()
        .unwrap_or_else(|| DEFAULT_SOCKET_DIR.to_owned());
    let port: u16 = match keys.get("port") {
        Some(port) => port.parse().map_err(|_| ConninfoError::Invalid {
            key: "port",
            value: port.clone(),
            expected: "a port number (1-65535)",
        })?,
        None => 5432,
    };
    let user = keys
        .get("user")
        .cloned()
        .unwrap_or_else(|| os_user.to_owned());
    let dbname = keys.get("dbname").cloned().unwrap_or_else(|| user.clone());
    let password = match keys.get("password") {
        Some(password) => Some(password.clone()),
        None => {
            let file = keys
                .get("passfile")
                .map(PathBuf::from)
                .or_else(|| home.map(|h| h.join(".pgpass")));
            file.and_then(|file| {
                let text = read_private(&file)?;
                pgpass_lookup(&text, &host, port, &dbname, &user)
            })
        }
    };
    let tls = tls_of(&keys, &host)?;
    let connect_timeout = match keys.get("connect_timeout") {
        Some(secs) => {
            let secs: u64 = secs.parse().map_err(|_| ConninfoError::Invalid {
                key: "connect_timeout",
                value: secs.clone(),
                expected: "a number of seconds",
            })?;
            Duration::from_secs(secs.max(2))
        }
        None => DEFAULT_CONNECT_TIMEOUT,
    };

    let mut config = tokio_postgres::Config::new();
    for one in host.split(',') {
        if one.starts_with('/') {
            config.host_path(one);
        } else {
            config.host(one);
        }
    }
    config
        .port(port)
        .user(&user)
        .dbname(&dbname)
        .connect_timeout(connect_timeout)
        .application_name(
            keys.get("application_name")
                .map_or("jira-auth", String::as_str),
        );
    if let Some(password) = &password {
        config.password(password.as_bytes());
    }
    if let Some(options) = keys.get("options") {
        config.options(options);
    }
    if let Some(attrs) = keys.get("target_session_attrs") {
        config.target_session_attrs(match attrs.as_str() {
            "any" => tokio_postgres::config::TargetSessionAttrs::Any,
            "read-write" => tokio_postgres::config::TargetSessionAttrs::ReadWrite,
            _ => {
                return Err(ConninfoError::Invalid {
                    key: "target_session_attrs",
                    value: attrs.clone(),
                    expected: "any or read-write",
                });
            }
        });
    }
    config.ssl_mode(match tls {
        Tls::Disable => tokio_postgres::config::SslMode::Disable,
        Tls::Prefer => tokio_postgres::config::SslMode::Prefer,
        Tls::Require | Tls::Verify { .. } => tokio_postgres::config::SslMode::Require,
    });
    let shown = format!("host={host} port={port} dbname={dbname} user={user}");
    Ok(Resolved { config, tls, shown })
}

fn tls_of(keys: &BTreeMap<String, String>, host: &str) -> Result<Tls, ConninfoError> {
    // libpq 16: `sslrootcert=system` means the system's roots, makes verify-full the default
    // mode and refuses any weaker one (a `require` would otherwise check nothing).
    let system = keys.get("sslrootcert").is_some_and(|r| r == "system");
    let mode = keys.get("sslmode").map_or(
        if system { "verify-full" } else { "prefer" },
        String::as_str,
    );
    if system && mode != "verify-full" {
        return Err(ConninfoError::Invalid {
            key: "sslmode",
            value: mode.to_owned(),
            expected: "verify-full, the one mode libpq allows with sslrootcert=system",
        });
    }
    let roots = keys
        .get("sslrootcert")
        .filter(|_| !system)
        .map(PathBuf::from);
    // A Unix socket is local: libpq never negotiates TLS on one.
    if host.split(',').all(|h| h.starts_with('/')) {
        return Ok(Tls::Disable);
    }
    Ok(match mode {
        "disable" => Tls::Disable,
        "allow" | "prefer" => Tls::Prefer,
        // libpq: a root certificate given makes `require` check the chain.
        "require" if roots.is_some() => Tls::Verify {
            roots,
            hostname: false,
        },
        "require" => Tls::Require,
        "verify-ca" => Tls::Verify {
            roots,
            hostname: false,
        },
        "verify-full" => Tls::Verify {
            roots,
            hostname: true,
        },
        other => {
            return Err(ConninfoError::Invalid {
                key: "sslmode",
                value: other.to_owned(),
                expected: "disable, allow, prefer, require, verify-ca or verify-full",
            });
        }
    })
}

/// A password file's text, when only its owner may read it (libpq ignores it otherwise).
fn read_private(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let metadata = std::fs::metadata(path).ok()?;
    if !metadata.is_file() || metadata.permissions().mode() & 0o077 != 0 {
        return None;
    }
    std::fs::read_to_string(path).ok()
}

/// The password of the first line of a `.pgpass` text that matches, as libpq's
/// `passwordFromFile` reads it: `hostname:port:database:username:password`, `*` matching
/// anything, `\:` and `\\` escaped, the password ending at the next unescaped colon,
/// `localhost` matching the default socket directory (any other socket directory is matched
/// by its path), lines starting with `#` ignored.
pub fn pgpass_lookup(
    text: &str,
    host: &str,
    port: u16,
    dbname: &str,
    user: &str,
) -> Option<String> {
    let port = port.to_string();
    let host_here = if host.is_empty() || host == DEFAULT_SOCKET_DIR {
        "localhost"
    } else {
        host
    };
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .find_map(|line| {
            let mut fields = split_pgpass(line);
            fields.truncate(5);
            let [h, p, d, u, password] = <[String; 5]>::try_from(fields).ok()?;
            let matches = |field: &str, value: &str| field == "*" || field == value;
            (matches(&h, host_here)
                && matches(&p, &port)
                && matches(&d, dbname)
                && matches(&u, user))
            .then_some(password)
        })
}

fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(field)) = (chars.next(), fields.last_mut()) {
                    field.push(next);
                }
            }
            ':' => fields.push(String::new()),
            c => {
                if let Some(field) = fields.last_mut() {
                    field.push(c);
                }
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn a_string_and_a_url_say_the_same() {
        let pairs = parse("host=db.example.com port=5433 dbname='jira auth' user=bot").unwrap();
        let url = parse("postgres://bot@db.example.com:5433/jira%20auth").unwrap();
        assert_eq!(pairs, url);
        let socket = parse("postgresql://%2Frun%2Fpg/jira?user=bot&sslmode=disable").unwrap();
        assert_eq!(socket["host"], "/run/pg");
        assert_eq!(socket["sslmode"], "disable");
        assert_eq!(parse("password='it\\'s'").unwrap()["password"], "it's");
    }

    #[test]
    fn bad_strings_get_a_sentence() {
        assert!(matches!(parse("host"), Err(ConninfoError::NotAPair(_))));
        assert_eq!(parse("password='open"), Err(ConninfoError::Unterminated));
        let unknown = parse("host=db sslcompression=1").unwrap_err();
        assert_eq!(unknown, ConninfoError::UnknownKey("sslcompression".into()));
        assert!(unknown.to_string().contains("sslmode"), "{unknown}");
        let port = resolve("host=db port=x", &no_env, None, "me").unwrap_err();
        assert!(port.to_string().contains("port"), "{port}");
        let mode = resolve("host=db sslmode=maybe", &no_env, None, "me").unwrap_err();
        assert!(mode.to_string().contains("verify-full"), "{mode}");
    }

    #[test]
    fn the_environment_fills_what_the_string_leaves_out() {
        let env = |name: &str| match name {
            "PGHOST" => Some("env.example.com".to_owned()),
            "PGPORT" => Some("6432".to_owned()),
            "PGUSER" => Some("envuser".to_owned()),
            "PGSSLMODE" => Some("verify-full".to_owned()),
            "PGOPTIONS" => Some("-c search_path=fleet".to_owned()),
            "PGTARGETSESSIONATTRS" => Some("read-write".to_owned()),
            _ => None,
        };
        let resolved = resolve("dbname=jira", &env, None, "me").unwrap();
        assert_eq!(
            resolved.shown,
            "host=env.example.com port=6432 dbname=jira user=envuser"
        );
        assert_eq!(
            resolved.tls,
            Tls::Verify {
                roots: None,
                hostname: true
            }
        );
        assert_eq!(resolved.config.get_options(), Some("-c search_path=fleet"));
        assert_eq!(
            resolved.config.get_target_session_attrs(),
            tokio_postgres::config::TargetSessionAttrs::ReadWrite
        );
        // What the string says wins over the variables.
        let resolved = resolve("host=db user=bot sslmode=disable", &env, None, "me").unwrap();
        assert_eq!(resolved.shown, "host=db port=6432 dbname=bot user=bot");
        assert_eq!(resolved.tls, Tls::Disable);
        // libpq's defaults: the Debian socket, 5432, the OS user and a database of its name.
        let resolved = resolve("", &no_env, None, "me").unwrap();
        assert_eq!(
            resolved.shown,
            "host=/var/run/postgresql port=5432 dbname=me user=me"
        );
        assert_eq!(resolved.tls, Tls::Disable, "no TLS on a Unix socket");
    }

    #[test]
    fn require_with_a_root_certificate_checks_the_chain() {
        let resolved = resolve(
            "host=db sslmode=require sslrootcert=/etc/ca.pem",
            &no_env,
            None,
            "me",
        )
        .unwrap();
        assert_eq!(
            resolved.tls,
            Tls::Verify {
                roots: Some("/etc/ca.pem".into()),
                hostname: false
            }
        );
        assert_eq!(
            resolve("host=db", &no_env, None, "me").unwrap().tls,
            Tls::Prefer
        );
    }

    #[test]
    fn sslrootcert_system_means_verify_full_and_nothing_weaker() {
        let tls = |text: &str| resolve(text, &no_env, None, "me").map(|r| r.tls);
        let full = Ok(Tls::Verify {
            roots: None,
            hostname: true,
        });
        assert_eq!(tls("host=db sslrootcert=system"), full, "its default mode");
        assert_eq!(tls("host=db sslrootcert=system sslmode=verify-full"), full);
        for weaker in ["disable", "prefer", "require", "verify-ca"] {
            let refused = tls(&format!("host=db sslrootcert=system sslmode={weaker}"))
                .expect_err(weaker)
                .to_string();
            assert!(refused.contains("verify-full"), "{refused}");
        }
    }

    #[test]
    fn pgpass_is_read_as_libpq_reads_it() {
        let text = "# comment\n\
                    other:*:*:*:nope\n\
                    db.example.com:5432:jira:bot:s3cr\\:et:cut\\\\off:here\n\
                    localhost:*:*:bot:local\n\
                    /run/pg:*:*:bot:socket\n\
                    *:*:*:*:fallback\n";
        assert_eq!(
            pgpass_lookup(text, "db.example.com", 5432, "jira", "bot").as_deref(),
            Some("s3cr:et"),
            "an escaped colon is kept; the next one ends the password"
        );
        assert_eq!(
            pgpass_lookup(text, "/var/run/postgresql", 5433, "x", "bot").as_deref(),
            Some("local"),
            "localhost matches the default socket directory"
        );
        assert_eq!(
            pgpass_lookup(text, "/run/pg", 5433, "x", "bot").as_deref(),
            Some("socket"),
            "another socket directory is matched by its path"
        );
        assert_eq!(
            pgpass_lookup(text, "/tmp/elsewhere", 5433, "x", "bot").as_deref(),
            Some("fallback"),
            "and not by localhost"
        );
        assert_eq!(
            pgpass_lookup(
                "  # not a comment:*:*:*:pw\n",
                "  # not a comment",
                1,
                "d",
                "u"
            )
            .as_deref(),
            Some("pw"),
            "only a line that starts with # is a comment"
        );
        assert_eq!(
            pgpass_lookup(text, "elsewhere", 1, "x", "y").as_deref(),
            Some("fallback")
        );
        assert_eq!(
            pgpass_lookup("a:b:c\n", "a", 1, "c", "d"),
            None,
            "short line"
        );
    }

    #[test]
    fn a_password_file_others_may_read_is_ignored() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".pgpass");
        std::fs::write(&file, "*:*:*:*:from-file\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let open = resolve("host=db", &no_env, Some(dir.path()), "me").unwrap();
        assert_eq!(open.config.get_password(), None);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let private = resolve("host=db", &no_env, Some(dir.path()), "me").unwrap();
        assert_eq!(private.config.get_password(), Some(&b"from-file"[..]));
        assert!(!private.shown.contains("from-file"));
    }

    proptest::proptest! {
        /// Whatever is pasted, parsing answers (a map or a sentence) and never panics.
        #[test]
        fn parsing_never_panics(text in "\\PC{0,80}") {
            let _ = parse(&text);
            let _ = resolve(&text, &no_env, None, "me");
        }
    }
}
