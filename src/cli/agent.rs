//! `jira-auth agent`: run the store's agent here, or ask the running one how it is, or to stop.

use std::io::Write;
use std::path::Path;

use crate::agent::{self, AgentOptions, ClientError};
use crate::config::Setup;

use super::args::AgentCommand;
use super::client::Client;
use super::failure::Failure;
use super::output::to_json;
use crate::exit::Exit;

pub fn run(
    data_dir: Option<&Path>,
    command: Option<&AgentCommand>,
    on_demand: bool,
    notify_fd: Option<i32>,
    accept_rollback: bool,
) -> Result<(), Failure> {
    match command {
        None => serve(data_dir, on_demand, notify_fd, accept_rollback),
        Some(AgentCommand::Status { json }) => status(data_dir, *json),
        Some(AgentCommand::Stop) => stop(data_dir),
    }
}

fn serve(
    data_dir: Option<&Path>,
    on_demand: bool,
    notify_fd: Option<i32>,
    accept_rollback: bool,
) -> Result<(), Failure> {
    if notify_fd.is_some_and(|fd| fd != agent::protocol_notify_fd()) {
        return Err(Failure::new(
            Exit::Usage,
            "--notify-fd is for jira-auth's own start-up of the agent; leave it out",
        ));
    }
    let setup = Setup::resolve(data_dir)?;
    let options = AgentOptions {
        paths: setup.paths,
        backend: setup.backend,
        // How long comes from JIRA_AUTH_AGENT_IDLE, checked with the agent's other settings.
        idle_exit: on_demand.then_some(agent::DEFAULT_IDLE),
        notify: notify_fd.is_some(),
        accept_rollback,
    };
    agent::run(options).map_err(|e| Failure::new(e.code, e.sentence))
}

fn status(data_dir: Option<&Path>, json: bool) -> Result<(), Failure> {
    let client = Client::without_start(data_dir)?;
    let info = match client.runtime.block_on(client.link.agent_status()) {
        Ok(info) => info,
        Err(ClientError::NotRunning(dir)) => {
            return Err(Failure::new(
                Exit::Failed,
                format!("no agent is running for {dir}"),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", to_json(&info))?;
    } else {
        let lifetime = info.idle_exit_secs.map_or_else(
            || "stays until stopped".to_owned(),
            |secs| format!("started on demand, exits after {secs}s without clients"),
        );
        writeln!(
            out,
            "agent pid {} · jira-auth {} (protocol {}) · up {} · {} client(s) · {lifetime}\nstore {}",
            info.pid,
            info.version,
            info.protocol,
            crate::service::format::duration(i64::try_from(info.uptime_secs).unwrap_or(i64::MAX)),
            info.clients,
            super::output::for_terminal(&info.data_dir)
        )?;
    }
    Ok(())
}

fn stop(data_dir: Option<&Path>) -> Result<(), Failure> {
    let client = Client::without_start(data_dir)?;
    let stopped = client.block_on(client.link.stop_agent())?;
    eprintln!(
        "{}",
        if stopped {
            "Stopped the agent."
        } else {
            "No agent was running."
        }
    );
    Ok(())
}
