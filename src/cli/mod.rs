//! The scriptable surface: clap definitions and the non-interactive commands. Each command is
//! a thin shell over `service`; output is for scripts (stable, JSON on request) and errors are
//! one sentence on stderr with DESIGN.md's exit codes.

mod agent;
mod api;
pub mod args;
mod authorize;
pub mod client;
mod commands;
pub mod docs;
pub mod failure;
mod links;
mod output;
mod profile_input;
mod proxy;
mod tty;

pub use args::{
    AgentCommand, Cli, Command, ModeArg, ProfileAddArgs, ProfileCommand, StoreCommand, parse,
};
pub use client::Client;
pub use failure::Failure;
use profile_input::profile_draft;

/// Runs one scripted command; `Ok` means exit 0.
pub fn run(cli: &Cli, command: &Command) -> Result<(), Failure> {
    let data_dir = cli.data_dir.as_deref();
    match command {
        Command::Agent {
            command,
            on_demand,
            notify_fd,
            accept_rollback,
        } => agent::run(
            data_dir,
            command.as_ref(),
            *on_demand,
            *notify_fd,
            *accept_rollback,
        ),
        Command::Api(args) => api::run(data_dir, args),
        Command::Proxy(args) => proxy::run(data_dir, args),
        Command::Store(StoreCommand::Copy { to, force }) => {
            commands::copy_store(&Client::new(data_dir)?, to, *force)
        }
        Command::Completions { shell } => docs::completions(*shell),
        Command::Manpages { dir } => docs::print_man_pages(dir),
        Command::Status { json } => commands::status(&Client::new(data_dir)?, *json),
        Command::Setup {
            integration,
            mode,
            system,
            profile,
        } => commands::setup(
            &Client::new(data_dir)?,
            integration,
            (*mode).into(),
            profile.as_deref().filter(|_| !system),
        ),
        Command::Authorize {
            integration,
            user,
            paste,
            listen,
            site,
        } => {
            let args = authorize::AuthorizeArgs {
                integration,
                user: user.as_deref(),
                how: authorize::Return::of(*paste, *listen),
                site: site.as_deref(),
            };
            authorize::run(&Client::new(data_dir)?, &args)
        }
        Command::Token {
            integration,
            user,
            min_valid,
            json,
        } => commands::token(
            &Client::new(data_dir)?,
            integration,
            user.as_deref(),
            i64::from(*min_valid),
            *json,
        ),
        Command::Refresh { integration, all } => {
            let which = match (integration, all) {
                (_, true) => None,
                (Some(name), false) => Some(name.clone()),
                (None, false) => Some(crate::domain::DEFAULT_INTEGRATION.to_owned()),
            };
            commands::refresh(&Client::new(data_dir)?, which)
        }
        Command::Link {
            integration,
            user,
            ttl,
            json,
            wait,
        } => links::link(
            &Client::new(data_dir)?,
            &links::LinkArgs {
                integration,
                user,
                ttl: *ttl,
                json: *json,
                wait: *wait,
            },
        ),
        Command::Serve {
            bind,
            trust_proxy,
            rate_limit,
        } => links::serve(
            Client::new(data_dir)?,
            links::ServeArgs {
                bind: *bind,
                trust_proxy: trust_proxy.clone(),
                rate_limit: *rate_limit,
            },
        ),
        Command::Profile(ProfileCommand::List { json }) => {
            commands::profile_list(&Client::new(data_dir)?, *json)
        }
        Command::Profile(ProfileCommand::Add(args)) => {
            // Read the secret before any agent work, so a bad stdin fails fast.
            let draft = profile_draft(args, &crate::config::Endpoints::from_env())?;
            commands::profile_add(&Client::new(data_dir)?, &draft)
        }
        Command::Profile(ProfileCommand::Rm { name }) => {
            commands::profile_rm(&Client::new(data_dir)?, name)
        }
    }
}
