//! A command's way to the agent: a small runtime and the link to this store's agent, started
//! on demand. Every command is one or a few requests; nothing here opens the store.

use std::path::Path;

use crate::agent::protocol::{Reply, Request};
use crate::agent::{self, AgentLink, AgentPaths};
use crate::atlassian::Endpoints;
use crate::store::StorePaths;

use super::Failure;
use crate::exit::Exit;

pub struct Client {
    pub runtime: tokio::runtime::Runtime,
    pub link: AgentLink,
}

impl Client {
    pub fn new(data_dir: Option<&Path>) -> Result<Client, Failure> {
        Ok(Client::with_link(link(data_dir)?)?)
    }

    pub fn with_link(link: AgentLink) -> std::io::Result<Client> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Client { runtime, link })
    }

    /// Whether a store exists at all: read-only commands on a store that does not exist say
    /// so and create nothing (no directory, no agent).
    /// Whether there is a store to ask about: one that exists, or one that lived here and is
    /// gone (the agent then refuses it with the sentence, rather than "nothing configured").
    pub fn store_exists(&self) -> bool {
        let paths = &self.link.paths().store;
        paths.database().exists() || crate::store::vanished(paths).is_some()
    }

    /// The sentence for a store that does not exist yet.
    pub fn nothing_configured(&self) -> String {
        format!(
            "nothing is configured at {} yet; set it up in the console (`jira-auth`) or with `jira-auth profile add` and `jira-auth setup`",
            self.link.paths().data_dir().display()
        )
    }

    /// One request, answered.
    pub fn call(&self, request: Request) -> Result<Reply, Failure> {
        Ok(self.runtime.block_on(self.link.call(request))?)
    }
}

/// The link to the agent of the store `--data-dir` names, configured from this process's
/// environment (the agent must agree with it).
pub fn link(data_dir: Option<&Path>) -> Result<AgentLink, Failure> {
    let paths = StorePaths::resolve(data_dir)?;
    let config = agent::config_from_env(&paths, &Endpoints::from_env());
    Ok(AgentLink::new(AgentPaths::new(paths), config))
}

/// A reply of another kind than the request asks for: a bug, said plainly (and shortly: the
/// reply may be large, and is not this command's to print whole).
pub fn unexpected(reply: &Reply) -> Failure {
    Failure::new(
        Exit::Failed,
        format!(
            "the agent answered with an unexpected {}; stop it (`jira-auth agent stop`) and try again",
            crate::validate::text::quoted(&format!("{reply:?}"))
        ),
    )
}
