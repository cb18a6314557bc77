//! `jira-auth proxy`: checks the integration with the agent, then serves until stopped.

use std::path::Path;

use super::args::ProxyArgs;
use crate::cli::client::Client;
use crate::cli::failure::Failure;
use crate::exit::{Exit, Exits};
use crate::proxy::{self, Listen, Options, ProxyError};

pub fn run(data_dir: Option<&Path>, args: &ProxyArgs) -> Result<(), Failure> {
    let client = Client::new(data_dir)?;
    if !client.store_exists() {
        return Err(Failure::new(Exit::Usage, client.nothing_configured()));
    }
    // The integration is looked up before listening: a typo fails here, plainly, not as
    // a 404 on every request.
    let report = client.block_on(client.link.status())?;
    let Some(found) = report
        .integrations
        .iter()
        .find(|i| i.name == args.integration)
    else {
        let existing = report.integrations.iter().map(|i| i.name.clone()).collect();
        let missing = crate::service::lookup::NoSuchIntegration {
            name: args.integration.clone(),
            existing,
        };
        return Err(Failure::new(Exit::Usage, missing.to_string()));
    };
    let data = client.setup.data_dir().to_owned();
    let listen = match args.bind {
        Some(address) => Listen::Tcp {
            address,
            key_file: args
                .key_file
                .clone()
                .unwrap_or_else(|| data.join("proxy.key")),
        },
        None => Listen::Unix(
            args.socket
                .clone()
                .unwrap_or_else(|| data.join("proxy.sock")),
        ),
    };
    let options = Options {
        integration: args.integration.clone(),
        mode: found.mode,
        listen,
        retry_429: args.retry_429,
    };
    let integration = args.integration.clone();
    let Client {
        runtime,
        link,
        setup,
    } = client;
    runtime
        .block_on(proxy::run(options, link, setup.endpoints, |ready| {
            match ready.key_file {
                Some(key) => eprintln!(
                    "jira-auth proxy: serving {integration}'s Jira API on {}; every request needs `Authorization: Bearer <key>` with the key in {}",
                    ready.at,
                    key.display()
                ),
                None => eprintln!(
                    "jira-auth proxy: serving {integration}'s Jira API on {} (curl --unix-socket {} http://jira/rest/api/3/myself)",
                    ready.at, ready.at
                ),
            }
        }))
        .map_err(|e| {
            let code = match &e {
                ProxyError::Listen(proxy::ListenError::Bind { .. }) => Exit::Temporary,
                ProxyError::Send(e) => e.exit(),
                _ => Exit::Usage,
            };
            Failure::new(code, e.to_string())
        })
}
