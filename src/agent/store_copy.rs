//! `store copy --to STORE`: the agent that owns the store copies it, because only it may read
//! the store while it runs. This store is marked moved before anything is copied, so no
//! refresh or code exchange starts from it; those already under way are waited for; then
//! every record goes across and is read back (`service::copy`). A copy that fails clears the
//! mark, and the store goes on as it was.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::protocol::{Reply, WireError};
use super::state::{Agent, blocking};
use crate::agent_log;
use crate::exit::Exit;
use crate::service::copy;
use crate::store::{Backend, OpenOptions, SledStore, Store, StorePaths};

/// Where a copy goes.
enum Target {
    Sled(PathBuf),
    Postgres(String),
}

impl Target {
    /// `sled:DIR`, `sled` (this data directory, for a store that is not in it), or a
    /// PostgreSQL connection string.
    fn parse(to: &str, agent: &Agent) -> Result<Target, WireError> {
        if let Some(dir) = to.strip_prefix("sled:") {
            let dir = PathBuf::from(dir);
            if !dir.is_absolute() {
                return Err(WireError::new(
                    Exit::Usage,
                    "--to sled:DIR needs an absolute directory (the agent runs elsewhere)",
                ));
            }
            return Ok(Target::Sled(dir));
        }
        match Backend::parse(to)? {
            Backend::Sled => Ok(Target::Sled(agent.paths.data_dir().to_owned())),
            Backend::Postgres(conninfo) => Ok(Target::Postgres(conninfo)),
        }
    }

    fn describe(&self) -> String {
        match self {
            Target::Sled(dir) => format!("sled:{}", dir.display()),
            Target::Postgres(conninfo) => Backend::Postgres(conninfo.clone()).describe(),
        }
    }

    fn open(&self, agent: &Agent) -> Result<Box<dyn Store>, WireError> {
        match self {
            Target::Sled(dir) => {
                let paths = StorePaths {
                    data_dir: dir.clone(),
                    key_file: agent.paths.store.key_file.clone(),
                };
                Ok(Box::new(SledStore::open(&OpenOptions::new(
                    paths,
                    "jira-auth store copy",
                ))?))
            }
            Target::Postgres(conninfo) => Ok(Box::new(super::open_store::open_postgres(
                conninfo,
                &agent.paths.store.key_file,
            )?)),
        }
    }
}

pub(super) async fn copy(agent: &Arc<Agent>, to: String, force: bool) -> Result<Reply, WireError> {
    let target = Target::parse(&to, agent)?;
    let shown = target.describe();
    if agent.service.store().shared() == matches!(target, Target::Postgres(_))
        && same_place(agent, &target)
    {
        return Err(WireError::new(
            Exit::Usage,
            format!("{shown} is this store; name another store to copy it to"),
        ));
    }
    let marked = shown.clone();
    blocking(agent, move |store| {
        if let Some(to) = store.moved_to()? {
            return Err(WireError::new(
                Exit::Usage,
                format!("this store was already copied to {to} and marked moved; copy from there instead"),
            ));
        }
        Ok(store.set_moved(Some(&marked))?)
    })
    .await?;
    agent.changed();
    let copied = match settle_then_copy(agent, target, force).await {
        Ok(copied) => copied,
        Err(error) => {
            // The store goes on as it was.
            let cleared = blocking(agent, |store| Ok(store.set_moved(None)?)).await;
            if let Err(e) = cleared {
                agent_log!("store copy: the moved mark could not be cleared: {e}");
            }
            agent.changed();
            return Err(error);
        }
    };
    agent_log!(
        "store copy: {} grants and {} other records copied to {shown} and read back; this store is marked moved",
        copied.grants,
        copied.profiles + copied.integrations + copied.links + copied.exchanges + copied.events
    );
    Ok(Reply::StoreCopied {
        copied,
        target: shown,
    })
}

/// Waits for the refreshes and exchanges under way (none starts now) and copies.
async fn settle_then_copy(
    agent: &Arc<Agent>,
    target: Target,
    force: bool,
) -> Result<copy::Copied, WireError> {
    let deadline = Instant::now() + super::fleet::LEASE;
    while agent.refresher.in_flight() > 0 || agent.attempts.exchanging() > 0 {
        if Instant::now() >= deadline {
            return Err(WireError::new(
                Exit::Temporary,
                "refreshes or code exchanges are still under way after a minute; nothing was copied, try again",
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let owner = Arc::clone(agent);
    blocking(agent, move |store| {
        let shown = target.describe();
        let to = target.open(&owner)?;
        Ok(copy::copy(store, to.as_ref(), &shown, force)?)
    })
    .await
}

/// Whether `target` is where this store already is.
fn same_place(agent: &Agent, target: &Target) -> bool {
    match target {
        Target::Sled(dir) => {
            let real = |p: &std::path::Path| p.canonicalize().unwrap_or_else(|_| p.to_owned());
            real(dir) == real(agent.paths.data_dir())
        }
        Target::Postgres(conninfo) => {
            agent.config.store == Backend::Postgres(conninfo.clone()).describe()
        }
    }
}
