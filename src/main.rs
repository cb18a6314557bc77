//! Entry point: parse the arguments, then run one scripted command or open the console, and
//! turn the outcome into DESIGN.md's exit code.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use jira_auth::atlassian::Endpoints;
use jira_auth::cli::{self, Cli, Failure};
use jira_auth::store::Store;
use jira_auth::tui;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match &cli.command {
        Some(command) => cli::run(&cli, command),
        None => console(&cli),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("jira-auth: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

fn console(cli: &Cli) -> Result<(), Failure> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Failure {
            code: 2,
            message:
                "the console needs a terminal; for scripts use a command (see jira-auth --help)"
                    .into(),
        });
    }
    let store = cli::open_store(cli.data_dir.as_deref(), "jira-auth console")?;
    let data_dir = jira_auth::store::StorePaths::resolve(cli.data_dir.as_deref())?.data_dir;
    let store: Arc<dyn Store> = Arc::new(store);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let endpoints = Endpoints::from_env();
    let options = tui::ConsoleOptions {
        system_app: jira_auth::service::system_app::load_from_env(&endpoints),
        endpoints,
        data_dir: data_dir.display().to_string(),
    };
    runtime
        .block_on(tui::run(store, options))
        .map_err(|e| Failure {
            code: 1,
            message: format!("the console stopped: {e}"),
        })
}
