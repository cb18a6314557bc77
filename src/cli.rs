//! The scriptable surface: clap definitions and the non-interactive commands. Each command is
//! a thin shell over `service`; output is for scripts (stable, JSON on request) and errors are
//! one sentence on stderr with DESIGN.md's exit codes.

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::domain::Timestamp;
use crate::service::status::{ProfileStatus, StatusReport};
use crate::service::{self, ServiceError};
use crate::store::{OpenOptions, SledStore, StoreError, StorePaths};

const EXAMPLES: &str = "\
Examples:
  jira-auth                                   open the console
  jira-auth --data-dir /srv/jira-auth         open the console on another store
  printf %s \"$SECRET\" | jira-auth profile add --name acme \\
      --client-id Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56 --client-secret-stdin \\
      --scopes \"read:jira-work write:jira-work offline_access\"
  jira-auth profile list --json
  jira-auth status --json | jq '.integrations[].tokens[].state'

Exit codes: 0 ok, 1 failure, 2 bad usage or input, 3 re-authorization needed,
4 temporary failure (network, server, store busy): retry later.";

#[derive(Debug, Parser)]
#[command(
    name = "jira-auth",
    version,
    about = "Set up and keep alive the OAuth 2.0 authorization of a Jira Cloud integration",
    long_about = "Set up and keep alive the OAuth 2.0 (3LO) authorization of a Jira Cloud integration.\n\nWithout a command, opens the console. The commands below are for scripts.",
    after_help = EXAMPLES
)]
pub struct Cli {
    /// Where the database lives [default: the platform data directory]
    #[arg(long, global = true, env = "JIRA_AUTH_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage authorization profiles (your own Atlassian apps)
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Show every integration, its tokens' health and the profiles (no secrets)
    Status {
        /// Print JSON for scripts
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// List the authorization profiles
    List {
        /// Print JSON for scripts
        #[arg(long)]
        json: bool,
    },
    /// Delete a profile (refused while an integration uses it)
    Rm {
        /// The profile's name
        name: String,
    },
}

/// A command's failure: the sentence for stderr and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: u8,
}

impl From<ServiceError> for Failure {
    fn from(e: ServiceError) -> Self {
        Failure {
            code: e.exit_code(),
            message: e.to_string(),
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure {
            code: e.exit_code(),
            message: e.to_string(),
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        // A closed pipe (`| head`) is not worth a message, but it is not success either.
        Failure {
            code: 1,
            message: format!("cannot write the output: {e}"),
        }
    }
}

pub fn open_store(data_dir: Option<&std::path::Path>, role: &str) -> Result<SledStore, Failure> {
    let paths = StorePaths::resolve(data_dir)?;
    Ok(SledStore::open(&OpenOptions::new(paths, role))?)
}

/// Runs one scripted command; `Ok` means exit 0.
pub fn run(cli: &Cli, command: &Command) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match command {
        Command::Status { json } => {
            let store = open_store(cli.data_dir.as_deref(), "status")?;
            let now = Timestamp::now();
            let report = service::status::status(&store, now)?;
            if *json {
                writeln!(out, "{}", to_json(&report))?;
            } else {
                write_status(&mut out, &report, now)?;
            }
        }
        Command::Profile(ProfileCommand::List { json }) => {
            let store = open_store(cli.data_dir.as_deref(), "profile list")?;
            let report = service::status::status(&store, Timestamp::now())?;
            if *json {
                writeln!(out, "{}", to_json(&report.profiles))?;
            } else {
                write_profiles(&mut out, &report.profiles)?;
            }
        }
        Command::Profile(ProfileCommand::Rm { name }) => {
            let store = open_store(cli.data_dir.as_deref(), "profile rm")?;
            service::profiles::remove(&store, name)?;
            eprintln!("Deleted the profile {name:?}.");
        }
    }
    Ok(())
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Serializing plain data with string keys cannot fail.
    serde_json::to_string_pretty(value).unwrap_or_else(|e| unreachable!("status serializes: {e}"))
}

fn write_status(
    out: &mut impl Write,
    report: &StatusReport,
    now: Timestamp,
) -> std::io::Result<()> {
    if report.integrations.is_empty() {
        writeln!(out, "No integration is set up.")?;
    }
    for integration in &report.integrations {
        let app = integration
            .profile
            .as_deref()
            .map_or("system".to_owned(), |p| format!("custom ({p})"));
        let enabled = if integration.enabled {
            "enabled"
        } else {
            "disabled"
        };
        writeln!(
            out,
            "{}: {}, app {app}, {enabled}",
            integration.name, integration.mode
        )?;
        if integration.tokens.is_empty() {
            writeln!(out, "  not authorized")?;
        }
        for token in &integration.tokens {
            let left = service::format::duration(now.secs_until(token.access_expires_at));
            let site = token
                .site
                .as_ref()
                .map_or(String::new(), |s| format!(" on {}", s.url));
            writeln!(
                out,
                "  {}: {} (access {left} left){site}",
                token.principal,
                token.state.as_str()
            )?;
            if let Some(error) = &token.last_error {
                writeln!(out, "    last error: {error}")?;
            }
        }
    }
    for alert in report.alerts(now) {
        writeln!(out, "! {}", alert.sentence)?;
    }
    writeln!(out)?;
    write_profiles(out, &report.profiles)
}

fn write_profiles(out: &mut impl Write, profiles: &[ProfileStatus]) -> std::io::Result<()> {
    if profiles.is_empty() {
        return writeln!(out, "No authorization profile.");
    }
    writeln!(
        out,
        "{:<16} {:<34} {:>6}  USED BY",
        "PROFILE", "CLIENT ID", "SCOPES"
    )?;
    for profile in profiles {
        let used_by = if profile.used_by.is_empty() {
            "-".to_owned()
        } else {
            profile.used_by.join(",")
        };
        writeln!(
            out,
            "{:<16} {:<34} {:>6}  {used_by}",
            profile.name,
            profile.client_id,
            profile.scopes.len()
        )?;
    }
    Ok(())
}
