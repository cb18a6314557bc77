//! The scriptable surface: clap definitions and the non-interactive commands. Each command is
//! a thin shell over `service`; output is for scripts (stable, JSON on request) and errors are
//! one sentence on stderr with DESIGN.md's exit codes.

mod authorize;
mod output;
mod profile_input;
mod tty;

use output::{to_json, write_profiles, write_status};
use profile_input::profile_draft;

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::atlassian::Endpoints;
use crate::domain::{AppRef, Mode, Timestamp};
use crate::service::setup::SetupPlan;
use crate::service::system_app;
use crate::service::{self, ServiceError};
use crate::store::{OpenOptions, SledStore, StoreError, StorePaths};

const EXAMPLES: &str = "\
Examples:
  jira-auth                                   open the console
  jira-auth --data-dir /srv/jira-auth         open the console on another store
  printf %s \"$SECRET\" | jira-auth profile add --name acme \\
      --client-id Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56 --client-secret-stdin \\
      --scopes \"read:jira-work write:jira-work offline_access\"
  jira-auth setup --mode pre-authorized --profile acme
  jira-auth authorize                         URL on stderr; paste the redirect or let the
                                              loopback listener catch it
  jira-auth authorize --integration support --user alice@example.com --paste
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
    /// Configure an integration: how Jira is authorized and through which app
    #[command(group(clap::ArgGroup::new("app").required(true).args(["system", "profile"])))]
    Setup {
        /// The integration to configure
        #[arg(long, default_value = crate::domain::DEFAULT_INTEGRATION, value_name = "NAME")]
        integration: String,
        /// pre-authorized: one token for everyone, authorized now; user-authorized: a token per end user
        #[arg(long, value_enum)]
        mode: ModeArg,
        /// Use this installation's preconfigured app (the system app file)
        #[arg(long)]
        system: bool,
        /// Use an authorization profile (your own Atlassian app)
        #[arg(long, value_name = "NAME")]
        profile: Option<String>,
    },
    /// Authorize an integration: prints the URL to open, takes the code back, stores the token
    #[command(group(clap::ArgGroup::new("return").args(["paste", "listen"])))]
    Authorize {
        /// The integration to authorize
        #[arg(long, default_value = crate::domain::DEFAULT_INTEGRATION, value_name = "NAME")]
        integration: String,
        /// The end user to authorize for (user-authorized integrations)
        #[arg(long, value_name = "ID")]
        user: Option<String>,
        /// Read the redirected URL (or the bare code) from stdin only
        #[arg(long)]
        paste: bool,
        /// Wait only on the loopback callback listener
        #[arg(long)]
        listen: bool,
        /// The Jira site to keep when the token reaches several (URL, host, name or cloud id)
        #[arg(long, value_name = "URL_OR_ID")]
        site: Option<String>,
    },
    /// Show every integration, its tokens' health and the profiles (no secrets)
    Status {
        /// Print JSON for scripts
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ModeArg {
    PreAuthorized,
    UserAuthorized,
}

impl From<ModeArg> for Mode {
    fn from(mode: ModeArg) -> Mode {
        match mode {
            ModeArg::PreAuthorized => Mode::PreAuthorized,
            ModeArg::UserAuthorized => Mode::UserAuthorized,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Create a profile from your Atlassian app; the secret is read from stdin, never argv
    #[command(
        after_help = "Atlassian's standard URLs are the defaults. --from-url takes the developer console's \
generated authorization URL and fills client id, scopes and callback URL from it; explicit flags win."
    )]
    Add(ProfileAddArgs),
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

#[derive(Debug, clap::Args)]
pub struct ProfileAddArgs {
    /// A short name for the profile (letters, digits, - _ .)
    #[arg(long)]
    pub name: String,
    /// The app's Client ID (Settings page of your app, step iv)
    #[arg(long, required_unless_present = "from_url")]
    pub client_id: Option<String>,
    /// Read the client secret from standard input (step v); it never appears in argv
    #[arg(long, required = true)]
    pub client_secret_stdin: bool,
    /// Authorization URL [default: https://auth.atlassian.com/authorize?audience=api.atlassian.com]
    #[arg(long, value_name = "URL")]
    pub auth_url: Option<String>,
    /// Token request URL [default: https://auth.atlassian.com/oauth/token]
    #[arg(long, value_name = "URL")]
    pub token_url: Option<String>,
    /// Refresh token URL [default: the token URL]
    #[arg(long, value_name = "URL")]
    pub refresh_url: Option<String>,
    /// Scopes, separated by spaces or commas (step ix)
    #[arg(
        long,
        value_name = "\"S1 S2 ...\"",
        required_unless_present = "from_url"
    )]
    pub scopes: Option<String>,
    /// The callback URL registered in your app (step vi) [default: http://localhost:8717/callback]
    #[arg(long, value_name = "URL")]
    pub callback_url: Option<String>,
    /// The authorization URL generated by Atlassian's developer console (step vii-x)
    #[arg(long, value_name = "GENERATED_URL")]
    pub from_url: Option<String>,
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
        Command::Setup {
            integration,
            mode,
            system,
            profile,
        } => {
            let plan = SetupPlan {
                integration: integration.clone(),
                mode: (*mode).into(),
                app: match (system, profile) {
                    (true, _) | (_, None) => AppRef::System,
                    (false, Some(name)) => AppRef::Custom(name.clone()),
                },
            };
            let endpoints = Endpoints::from_env();
            let system_app = if plan.app == AppRef::System {
                system_app::load_from_env(&endpoints).map_err(|e| e.to_string())
            } else {
                Err("not used".into())
            };
            let store = open_store(cli.data_dir.as_deref(), "setup")?;
            let result = service::setup::apply(
                &store,
                &plan,
                system_app.as_ref().map_err(Clone::clone),
                Timestamp::now(),
            )?;
            if result.removed_tokens > 0 {
                eprintln!(
                    "Removed {} token set(s) issued for the previous app or mode; they must authorize again.",
                    result.removed_tokens
                );
            }
            let integration = result.integration;
            let next = match integration.mode {
                Mode::PreAuthorized => {
                    "next, `jira-auth authorize` (or a in the console) to enable it"
                }
                Mode::UserAuthorized => "enabled; each end user authorizes through their own link",
            };
            eprintln!(
                "Configured {}: {} through {}; {next}.",
                integration.name, integration.mode, integration.app
            );
        }
        Command::Authorize {
            integration,
            user,
            paste,
            listen,
            site,
        } => {
            let how = match (paste, listen) {
                (true, _) => authorize::Return::Paste,
                (_, true) => authorize::Return::Listen,
                _ => authorize::Return::Both,
            };
            let args = authorize::AuthorizeArgs {
                integration,
                user: user.as_deref(),
                how,
                site: site.as_deref(),
            };
            authorize::run(cli.data_dir.as_deref(), &args)?;
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
        Command::Profile(ProfileCommand::Add(args)) => {
            let endpoints = Endpoints::from_env();
            let draft = profile_draft(args, &endpoints)?;
            let store = open_store(cli.data_dir.as_deref(), "profile add")?;
            let (profile, remarks) =
                service::profiles::add(&store, &draft, &endpoints, Timestamp::now())?;
            for remark in remarks {
                eprintln!("{}: {remark}", remark.severity.as_str());
            }
            eprintln!(
                "Saved the profile {:?}. Register this callback URL in your app (step vi): {}",
                profile.name, profile.callback_url
            );
        }
        Command::Profile(ProfileCommand::Rm { name }) => {
            let store = open_store(cli.data_dir.as_deref(), "profile rm")?;
            service::profiles::remove(&store, name)?;
            eprintln!("Deleted the profile {name:?}.");
        }
    }
    Ok(())
}
