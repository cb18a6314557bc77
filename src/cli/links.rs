//! `jira-auth link` and `jira-auth serve`: the end-user half of a user-authorized
//! integration, a personal link handed out by a script or bot, and the receiver its callback
//! lands on.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use crate::agent::ClientError;
use crate::agent::protocol::LinkView;
use crate::domain::Timestamp;
use crate::receiver::{self, HEALTH_PATH};
use crate::validate::text::sanitize;

use super::client::Client;
use super::failure::Failure;
use super::output::to_json;
use crate::exit::{Exit, Exits};

pub struct LinkArgs<'a> {
    pub integration: &'a str,
    pub user: &'a str,
    pub ttl: Duration,
    pub json: bool,
    pub wait: bool,
}

pub fn link(client: &Client, args: &LinkArgs<'_>) -> Result<(), Failure> {
    if !client.store_exists() {
        return Err(Failure::new(Exit::Usage, client.nothing_configured()));
    }
    let ttl_secs = i64::try_from(args.ttl.as_secs()).unwrap_or(i64::MAX);
    let view = client.block_on(client.link.link(args.integration, args.user, ttl_secs))?;
    {
        let mut out = std::io::stdout().lock();
        if args.json {
            let body = serde_json::json!({
                "url": view.url,
                "user": view.user,
                "expires_at": view.expires_at.rfc3339(),
            });
            writeln!(out, "{}", to_json(&body))?;
        } else {
            writeln!(out, "{}", view.url)?;
        }
        // The bot reads the URL before the wait starts.
        out.flush()?;
    }
    if !args.wait {
        eprintln!(
            "jira-auth: the link works once, for user {}, until {}",
            sanitize(&view.user, crate::validate::text::ACCOUNT_CAP),
            view.expires_at.rfc3339()
        );
        return Ok(());
    }
    eprintln!(
        "jira-auth: waiting for user {} to authorize (the link expires at {})",
        sanitize(&view.user, crate::validate::text::ACCOUNT_CAP),
        view.expires_at.rfc3339()
    );
    let sentence = wait(client, &view)?;
    eprintln!("jira-auth: {}", super::output::for_terminal(&sentence));
    Ok(())
}

/// Waits on the agent; the link is stored, so an agent that restarts meanwhile (an upgrade,
/// a crash) is simply asked again until the link's own expiry.
fn wait(client: &Client, view: &LinkView) -> Result<String, Failure> {
    loop {
        match client
            .runtime
            .block_on(client.link.await_link(&view.handle))
        {
            Ok(sentence) => return Ok(sentence),
            // A refusal, or a reply of another kind: asking again changes nothing.
            Err(error @ (ClientError::Agent(_) | ClientError::Unexpected { .. }))
                if !error.exit().is_temporary() =>
            {
                return Err(error.into());
            }
            Err(error) if Timestamp::now() < view.expires_at.plus_secs(5) => {
                eprintln!(
                    "jira-auth: {}; waiting on",
                    super::output::for_terminal(&error.to_string())
                );
                std::thread::sleep(Duration::from_secs(1));
            }
            Err(error) => return Err(error.into()),
        }
    }
}

pub struct ServeArgs {
    pub bind: SocketAddr,
    pub trust_proxy: Vec<IpAddr>,
    pub rate_limit: NonZeroU32,
}

pub fn serve(client: Client, args: ServeArgs) -> Result<(), Failure> {
    if !client.store_exists() {
        return Err(Failure::new(Exit::Usage, client.nothing_configured()));
    }
    // Reach the agent before listening: a store that does not open fails here, plainly.
    client.block_on(client.link.agent_status())?;
    let Client { runtime, link, .. } = client;
    let options = receiver::Options {
        bind: args.bind,
        trust_proxy: args.trust_proxy,
        per_minute: args.rate_limit,
    };
    runtime
        .block_on(receiver::run(options, link, |address| {
            eprintln!(
                "jira-auth serve: listening on {address}; callbacks on each user-authorized integration's callback path, health on {HEALTH_PATH}"
            );
        }))
        .map_err(|e| Failure::new(Exit::Temporary, e.to_string()))
}
