//! Where the environment becomes settings: every jira-auth variable that holds a duration or
//! a number is read here, once, and checked against its range. A value that does not parse or
//! lies outside its range is refused with a sentence naming the variable, the value, the range
//! and an example (exit 2); it is never replaced by the default in silence. Where this
//! process's store, key and Atlassian are ([`Setup`]) is resolved here too, once, from
//! `--data-dir` and the environment: the faces reach the agent through it and import neither
//! `store` nor `atlassian`.

use std::ffi::OsString;
use std::ops::RangeInclusive;
use std::path::Path;
use std::time::Duration;

pub use crate::atlassian::Endpoints;
pub use crate::store::{Backend, STORE_VAR, StorePaths};
/// This user's uid, and files only it may read: for the faces that make files of their own (the
/// proxy's socket and key) and check who is on a socket.
pub use crate::store::{own_uid, private_file};

use crate::exit::{Exit, Exits};
use crate::validate::text::quoted;

pub const AGENT_IDLE: &str = "JIRA_AUTH_AGENT_IDLE";
pub const ROTATE_AFTER: &str = "JIRA_AUTH_ROTATE_AFTER";
pub const KEEPALIVE_RATE: &str = "JIRA_AUTH_KEEPALIVE_RATE";
pub const EVENTS_KEEP: &str = "JIRA_AUTH_EVENTS_KEEP";
pub const EVENTS_MAX: &str = "JIRA_AUTH_EVENTS_MAX";

const DAY: u64 = 86_400;

/// Where this process's store, key file and Atlassian are: resolved once from `--data-dir`
/// (clap already merged `JIRA_AUTH_DATA_DIR` into it) and the environment
/// (`JIRA_AUTH_KEY_FILE`, the Atlassian overrides).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setup {
    /// The data directory and the key file.
    pub paths: StorePaths,
    pub endpoints: Endpoints,
    pub backend: Backend,
}

impl Setup {
    /// Resolves the paths (failing without a home directory to default to), the endpoints
    /// and the store (`JIRA_AUTH_STORE`, which `--store` sets).
    pub fn resolve(data_dir: Option<&Path>) -> Result<Setup, SetupError> {
        Ok(Setup {
            paths: StorePaths::resolve(data_dir)?,
            endpoints: Endpoints::from_env(),
            backend: Backend::from_env()?,
        })
    }

    pub fn data_dir(&self) -> &Path {
        &self.paths.data_dir
    }

    /// Whether there is a store to ask about: one that exists, or one that lived here and is
    /// gone (the agent then refuses it with the sentence, rather than "nothing configured").
    pub fn store_exists(&self) -> bool {
        // A shared store is the database's to answer for: the agent is asked.
        self.backend.is_shared()
            || self.paths.database().exists()
            || crate::store::vanished(&self.paths).is_some()
    }
}

/// Why this process cannot tell where its store is.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Backend(#[from] crate::store::BackendError),
}

impl Exits for SetupError {
    fn exit(&self) -> Exit {
        match self {
            SetupError::Store(e) => e.exit(),
            SetupError::Backend(e) => e.exit(),
        }
    }
}

/// How long an agent started on demand stays without clients before it exits.
pub const DEFAULT_AGENT_IDLE: Duration = Duration::from_secs(10 * 60);
/// Rotating a grant after 60 idle days leaves a month before Atlassian's 90-day limit.
pub const DEFAULT_ROTATE_AFTER: Duration = Duration::from_secs(60 * DAY);
/// Refreshes per second the keep-alive makes at most.
pub const DEFAULT_KEEPALIVE_RATE: f64 = 2.0;
/// How far back the audit trail goes.
pub const DEFAULT_EVENTS_KEEP: Duration = Duration::from_secs(90 * DAY);
/// How many events the audit trail holds at most.
pub const DEFAULT_EVENTS_MAX: u64 = 100_000;

/// Every setting the agent runs with, each within its range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// `JIRA_AUTH_AGENT_IDLE`: 1 second to 7 days.
    pub agent_idle: Duration,
    /// `JIRA_AUTH_ROTATE_AFTER`: from 1 day to under Atlassian's 90-day inactivity limit.
    pub rotate_after: Duration,
    /// `JIRA_AUTH_KEEPALIVE_RATE`: 0.01 to 100 refreshes per second.
    pub keepalive_rate: f64,
    pub retention: Retention,
}

/// What the audit trail keeps: events younger than `keep`, and at most `max_events` of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// `JIRA_AUTH_EVENTS_KEEP`: 1 day to 10 years.
    pub keep: Duration,
    /// `JIRA_AUTH_EVENTS_MAX`: 100 to 10,000,000.
    pub max_events: u64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            agent_idle: DEFAULT_AGENT_IDLE,
            rotate_after: DEFAULT_ROTATE_AFTER,
            keepalive_rate: DEFAULT_KEEPALIVE_RATE,
            retention: Retention::default(),
        }
    }
}

/// "90 days or 100,000 events", for the Events screen and the agent's log.
impl std::fmt::Display for Retention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.keep.as_secs();
        match secs {
            DAY => write!(f, "1 day")?,
            _ if secs.is_multiple_of(DAY) => write!(f, "{} days", secs / DAY)?,
            _ => write!(f, "{}", humantime::format_duration(self.keep))?,
        }
        write!(f, " or {} events", thousands(self.max_events))
    }
}

/// 100000 as "100,000".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

impl Default for Retention {
    fn default() -> Retention {
        Retention {
            keep: DEFAULT_EVENTS_KEEP,
            max_events: DEFAULT_EVENTS_MAX,
        }
    }
}

/// A setting refused: the sentence names the variable, the value as given (sanitized), what
/// it must be, an example, and the default it has when unset.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{name}={} {problem}: it must be {allowed}, e.g. {name}={example} (unset, it is {default})",
    quoted(.value)
)]
pub struct ConfigError {
    pub name: &'static str,
    pub value: String,
    /// Why it was refused ("is out of range", "is not a number").
    pub problem: String,
    pub allowed: &'static str,
    pub example: &'static str,
    pub default: &'static str,
}

impl Exits for ConfigError {
    /// Bad input: DESIGN.md's exit 2.
    fn exit(&self) -> Exit {
        Exit::Usage
    }
}

impl Settings {
    /// This process's environment, checked.
    pub fn from_env() -> Result<Settings, ConfigError> {
        Settings::from_vars(|name| std::env::var_os(name))
    }

    /// The settings `var` gives (a variable's value, or `None` when unset). An empty value
    /// counts as unset, as a shell's `VAR= command` means.
    pub fn from_vars(var: impl Fn(&str) -> Option<OsString>) -> Result<Settings, ConfigError> {
        let defaults = Settings::default();
        let read = |name: &str| {
            var(name)
                .map(|value| value.to_string_lossy().trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        Ok(Settings {
            agent_idle: duration(&IDLE_RULE, read(AGENT_IDLE))?.unwrap_or(defaults.agent_idle),
            rotate_after: duration(&ROTATE_RULE, read(ROTATE_AFTER))?
                .unwrap_or(defaults.rotate_after),
            keepalive_rate: rate(read(KEEPALIVE_RATE))?.unwrap_or(defaults.keepalive_rate),
            retention: Retention {
                keep: duration(&KEEP_RULE, read(EVENTS_KEEP))?.unwrap_or(defaults.retention.keep),
                max_events: count(&MAX_RULE, read(EVENTS_MAX))?
                    .unwrap_or(defaults.retention.max_events),
            },
        })
    }
}

/// One variable's range, and the words that explain it.
struct Rule<T> {
    name: &'static str,
    range: RangeInclusive<T>,
    /// The range for a reader, with its units.
    allowed: &'static str,
    example: &'static str,
    default: &'static str,
}

const IDLE_RULE: Rule<Duration> = Rule {
    name: AGENT_IDLE,
    range: Duration::from_secs(1)..=Duration::from_secs(7 * DAY),
    allowed: "a duration from 1s to 7d",
    example: "30m",
    default: "10m",
};

/// At least a day, so a grant is not rotated over and over; under 90 days, since Atlassian
/// retires a refresh token unused for 90 days, and rotating after that would be too late.
const ROTATE_RULE: Rule<Duration> = Rule {
    name: ROTATE_AFTER,
    range: Duration::from_secs(DAY)..=Duration::from_secs(90 * DAY - 1),
    allowed: "a duration of at least 1d and under 90d (Atlassian's inactivity limit)",
    example: "60d",
    default: "60d",
};

/// The pace is a gap of 1/rate seconds between refreshes: the range keeps it between 10 ms
/// and 100 s, so it can neither overflow a `Duration` nor burst at Atlassian.
const RATE_RULE: Rule<f64> = Rule {
    name: KEEPALIVE_RATE,
    range: 0.01..=100.0,
    allowed: "a number of refreshes per second from 0.01 to 100",
    example: "2",
    default: "2",
};

const KEEP_RULE: Rule<Duration> = Rule {
    name: EVENTS_KEEP,
    range: Duration::from_secs(DAY)..=Duration::from_secs(3650 * DAY),
    allowed: "a duration from 1d to 3650d",
    example: "90d",
    default: "90d",
};

const MAX_RULE: Rule<u64> = Rule {
    name: EVENTS_MAX,
    range: 100..=10_000_000,
    allowed: "a whole number of events from 100 to 10000000",
    example: "100000",
    default: "100000",
};

impl<T> Rule<T> {
    fn refuse(&self, value: &str, problem: impl Into<String>) -> ConfigError {
        ConfigError {
            name: self.name,
            value: value.to_owned(),
            problem: problem.into(),
            allowed: self.allowed,
            example: self.example,
            default: self.default,
        }
    }
}

impl<T: PartialOrd> Rule<T> {
    fn check(&self, text: &str, value: T) -> Result<T, ConfigError> {
        if self.range.contains(&value) {
            Ok(value)
        } else {
            Err(self.refuse(text, "is out of range"))
        }
    }
}

/// A duration as humantime writes it: `30s`, `10m`, `2h 30m`, `60d`.
fn duration(rule: &Rule<Duration>, text: Option<String>) -> Result<Option<Duration>, ConfigError> {
    let Some(text) = text else {
        return Ok(None);
    };
    let value = humantime::parse_duration(&text).map_err(|e| {
        rule.refuse(
            &text,
            format!(
                "is not a duration ({})",
                crate::validate::text::sanitize(&e.to_string(), crate::validate::text::NAME_CAP)
            ),
        )
    })?;
    rule.check(&text, value).map(Some)
}

fn rate(text: Option<String>) -> Result<Option<f64>, ConfigError> {
    let Some(text) = text else {
        return Ok(None);
    };
    let value: f64 = text
        .parse()
        .map_err(|_| RATE_RULE.refuse(&text, "is not a number"))?;
    // NaN is outside every range, since every comparison with it is false.
    RATE_RULE.check(&text, value).map(Some)
}

fn count(rule: &Rule<u64>, text: Option<String>) -> Result<Option<u64>, ConfigError> {
    let Some(text) = text else {
        return Ok(None);
    };
    // Digits only: "1e5" or "100_000" would be guesses at what was meant.
    let value: u64 = text
        .parse()
        .map_err(|_| rule.refuse(&text, "is not a whole number"))?;
    rule.check(&text, value).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::from_vars(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| OsString::from(v))
        })
    }

    #[test]
    fn unset_and_empty_mean_the_documented_defaults() {
        assert_eq!(settings(&[]), Ok(Settings::default()));
        let blank: Vec<(&str, &str)> = [
            AGENT_IDLE,
            ROTATE_AFTER,
            KEEPALIVE_RATE,
            EVENTS_KEEP,
            EVENTS_MAX,
        ]
        .iter()
        .map(|name| (*name, " "))
        .collect();
        assert_eq!(settings(&blank), Ok(Settings::default()));
        let defaults = Settings::default();
        assert_eq!(defaults.agent_idle, Duration::from_secs(600));
        assert_eq!(defaults.rotate_after, Duration::from_secs(60 * DAY));
        assert!((defaults.keepalive_rate - 2.0).abs() < f64::EPSILON);
        assert_eq!(defaults.retention.keep, Duration::from_secs(90 * DAY));
        assert_eq!(defaults.retention.max_events, 100_000);
    }

    #[test]
    fn values_inside_their_ranges_are_taken() {
        type Check = fn(&Settings) -> bool;
        let cases: &[(&str, &str, Check)] = &[
            (AGENT_IDLE, "1s", |s| s.agent_idle == Duration::from_secs(1)),
            (AGENT_IDLE, " 30m ", |s| {
                s.agent_idle == Duration::from_secs(1800)
            }),
            (AGENT_IDLE, "7d", |s| {
                s.agent_idle == Duration::from_secs(7 * DAY)
            }),
            (ROTATE_AFTER, "1d", |s| {
                s.rotate_after == Duration::from_secs(DAY)
            }),
            (ROTATE_AFTER, "89d 23h 59m 59s", |s| {
                s.rotate_after == Duration::from_secs(90 * DAY - 1)
            }),
            (KEEPALIVE_RATE, "0.01", |s| {
                (s.keepalive_rate - 0.01).abs() < 1e-12
            }),
            (KEEPALIVE_RATE, "100", |s| {
                (s.keepalive_rate - 100.0).abs() < 1e-12
            }),
            (KEEPALIVE_RATE, "5", |s| {
                (s.keepalive_rate - 5.0).abs() < 1e-12
            }),
            (EVENTS_KEEP, "1d", |s| {
                s.retention.keep == Duration::from_secs(DAY)
            }),
            (EVENTS_KEEP, "3650d", |s| {
                s.retention.keep == Duration::from_secs(3650 * DAY)
            }),
            (EVENTS_MAX, "100", |s| s.retention.max_events == 100),
            (EVENTS_MAX, "10000000", |s| {
                s.retention.max_events == 10_000_000
            }),
        ];
        for (name, value, check) in cases {
            let got = settings(&[(name, value)]).unwrap_or_else(|e| panic!("{name}={value}: {e}"));
            assert!(check(&got), "{name}={value} gave {got:?}");
        }
    }

    #[test]
    fn a_bad_value_is_refused_with_its_name_range_and_an_example() {
        let cases: &[(&str, &str, &str)] = &[
            (AGENT_IDLE, "0s", "out of range"),
            (AGENT_IDLE, "8d", "out of range"),
            (AGENT_IDLE, "soon", "not a duration"),
            (AGENT_IDLE, "600", "not a duration"),
            (ROTATE_AFTER, "0s", "out of range"),
            (ROTATE_AFTER, "23h", "out of range"),
            (ROTATE_AFTER, "90d", "out of range"),
            (ROTATE_AFTER, "10000000000000000000d", "not a duration"),
            (KEEPALIVE_RATE, "1e-30", "out of range"),
            (KEEPALIVE_RATE, "0", "out of range"),
            (KEEPALIVE_RATE, "-1", "out of range"),
            (KEEPALIVE_RATE, "101", "out of range"),
            (KEEPALIVE_RATE, "inf", "out of range"),
            (KEEPALIVE_RATE, "NaN", "out of range"),
            (KEEPALIVE_RATE, "fast", "not a number"),
            (EVENTS_KEEP, "1h", "out of range"),
            (EVENTS_KEEP, "3651d", "out of range"),
            (EVENTS_KEEP, "forever", "not a duration"),
            (EVENTS_MAX, "99", "out of range"),
            (EVENTS_MAX, "10000001", "out of range"),
            (EVENTS_MAX, "-5", "not a whole number"),
            (EVENTS_MAX, "1e5", "not a whole number"),
            (EVENTS_MAX, "18446744073709551616", "not a whole number"),
        ];
        for (name, value, problem) in cases {
            let error = settings(&[(name, value)]).expect_err(&format!("{name}={value}"));
            assert_eq!(error.exit(), Exit::Usage);
            assert_eq!(error.name, *name);
            let sentence = error.to_string();
            assert!(
                sentence.starts_with(&format!("{name}=\"{}\"", value.trim()))
                    && sentence.contains(problem)
                    && sentence.contains("it must be ")
                    && sentence.contains(&format!("e.g. {name}="))
                    && sentence.contains("unset, it is"),
                "{sentence}"
            );
        }
    }

    #[test]
    fn the_first_bad_variable_is_named_even_beside_good_ones() {
        let error = settings(&[(AGENT_IDLE, "5m"), (EVENTS_MAX, "ten")]).unwrap_err();
        assert_eq!(error.name, EVENTS_MAX);
    }

    #[test]
    fn a_hostile_value_is_echoed_harmlessly() {
        let value = format!("\u{1b}]0;pwned\u{7}{}", "9".repeat(500));
        let error = settings(&[(KEEPALIVE_RATE, &value)]).unwrap_err();
        let sentence = error.to_string();
        assert!(
            crate::validate::text::is_printable(&sentence) && sentence.len() < 600,
            "{sentence:?}"
        );
        // Not UTF-8 at all: still a sentence, not a panic.
        use std::os::unix::ffi::OsStringExt;
        let bytes = Settings::from_vars(|name| {
            (name == EVENTS_KEEP).then(|| OsString::from_vec(vec![0xff, 0xfe, b'd']))
        })
        .unwrap_err();
        assert_eq!(bytes.name, EVENTS_KEEP);
        assert!(crate::validate::text::is_printable(&bytes.to_string()));
    }

    #[test]
    fn a_retention_reads_as_days_and_events() {
        let retention = |days: u64, extra: u64, max_events| Retention {
            keep: Duration::from_secs(days * DAY + extra),
            max_events,
        };
        let cases = [
            (retention(90, 0, 100_000), "90 days or 100,000 events"),
            (retention(1, 0, 100), "1 day or 100 events"),
            (
                retention(1, 12 * 3600, 10_000_000),
                "1day 12h or 10,000,000 events",
            ),
            (retention(7, 0, 1_000), "7 days or 1,000 events"),
            (retention(3650, 0, 999), "3650 days or 999 events"),
        ];
        for (retention, shown) in cases {
            assert_eq!(retention.to_string(), shown);
        }
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn every_accepted_rate_makes_a_gap_a_duration_can_hold() {
        for rate in [RATE_RULE.range.start(), RATE_RULE.range.end()] {
            let gap = Duration::try_from_secs_f64(1.0 / rate).expect("a gap");
            assert!(gap >= Duration::from_millis(10) && gap <= Duration::from_secs(100));
        }
    }
}
