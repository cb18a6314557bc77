//! A command's way to the agent: a small runtime and the link to this store's agent, started
//! on demand. Every command is one or a few requests; nothing here opens the store.

use std::future::Future;
use std::path::Path;

use crate::agent::{AgentLink, ClientError};
use crate::config::Setup;

use super::failure::Failure;

pub struct Client {
    pub runtime: tokio::runtime::Runtime,
    pub link: AgentLink,
    /// Where the store, the key and Atlassian are, as this process resolved them.
    pub setup: Setup,
}

impl Client {
    pub fn new(data_dir: Option<&Path>) -> Result<Client, Failure> {
        let setup = Setup::resolve(data_dir)?;
        Ok(Client::with_link(AgentLink::for_setup(&setup), setup)?)
    }

    /// A client that never starts an agent: for `agent status` and `agent stop`.
    pub fn without_start(data_dir: Option<&Path>) -> Result<Client, Failure> {
        let setup = Setup::resolve(data_dir)?;
        Ok(Client::with_link(
            AgentLink::for_setup(&setup).without_start(),
            setup,
        )?)
    }

    fn with_link(link: AgentLink, setup: Setup) -> std::io::Result<Client> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Client {
            runtime,
            link,
            setup,
        })
    }

    /// Whether a store exists at all: read-only commands on a store that does not exist say
    /// so and create nothing (no directory, no agent).
    pub fn store_exists(&self) -> bool {
        self.setup.store_exists()
    }

    /// The sentence for a store that does not exist yet.
    pub fn nothing_configured(&self) -> String {
        format!(
            "nothing is configured at {} yet; set it up in the console (`jira-auth`) or with `jira-auth profile add` and `jira-auth setup`",
            self.setup.data_dir().display()
        )
    }

    /// One typed call, answered: `client.block_on(client.link.status())`.
    pub fn block_on<T>(
        &self,
        call: impl Future<Output = Result<T, ClientError>>,
    ) -> Result<T, Failure> {
        Ok(self.runtime.block_on(call)?)
    }
}
