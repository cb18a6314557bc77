//! Entry point: parse the arguments, then run one scripted command or open the console, and
//! turn the outcome into DESIGN.md's exit code.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use jira_auth::agent::AgentLink;
use jira_auth::cli::{self, Cli, Failure};
use jira_auth::config::Setup;
use jira_auth::exit::Exit;
use jira_auth::tui;

fn main() -> ExitCode {
    let cli = cli::parse();
    let outcome = match &cli.command {
        Some(command) => cli::run(&cli, command),
        None => console(&cli),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if !failure.message.is_empty() {
                eprintln!("jira-auth: {}", failure.shown());
            }
            ExitCode::from(failure.code)
        }
    }
}

fn console(cli: &Cli) -> Result<(), Failure> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Failure::new(
            Exit::Usage,
            "the console needs a terminal; for scripts use a command (see jira-auth --help)",
        ));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (notices, heard) = tokio::sync::mpsc::unbounded_channel();
    let setup = Setup::resolve(cli.data_dir.as_deref())?;
    let link = Arc::new(AgentLink::for_setup(&setup).subscribed(notices));
    // Connect before taking over the terminal: a wrong key or an agent that cannot start
    // is a sentence and an exit code on a normal screen.
    runtime.block_on(link.connection())?;
    let options = tui::ConsoleOptions {
        // Drawn in the help overlay: a path may hold bytes a terminal acts on.
        data_dir: jira_auth::validate::text::sanitize(
            &setup.data_dir().display().to_string(),
            jira_auth::validate::text::BLOCK_CAP,
        ),
        endpoints: setup.endpoints,
    };
    runtime
        .block_on(tui::run(link, heard, options))
        .map_err(|e| Failure::new(Exit::Failed, format!("the console stopped: {e}")))
}
