//! The agent process: wins the store (sled's own lock decides between rivals), binds the
//! socket, then serves every connection until it is stopped, signalled, or (when started on
//! demand) idle for long enough.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::net::UnixListener;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::notify::{Notifier, StartNotice};
use super::paths::AgentPaths;
use super::protocol::{self, AgentHello, Build, WireError};
use super::state::{Agent, Attempts, Refresher};
use crate::agent_log;
use crate::atlassian::Endpoints;
use crate::exit::Exit;
use crate::store::StorePaths;

/// How `jira-auth agent` was started.
#[derive(Clone, Debug)]
pub struct AgentOptions {
    pub paths: StorePaths,
    /// sled in the data directory, or a database a fleet shares.
    pub backend: crate::store::Backend,
    /// Started by a client: exit after `idle` without clients or work.
    pub idle_exit: Option<Duration>,
    /// A start-up pipe waits at descriptor 3.
    pub notify: bool,
    /// Open a rolled-back store after all (`--accept-rollback`).
    pub accept_rollback: bool,
}

/// Runs the agent to the end. `Err` carries the exit code and the sentence for the log.
pub fn run(options: AgentOptions) -> Result<(), WireError> {
    let mut notifier = Notifier::from_inherited(options.notify);
    let outcome = start(&options);
    let (opened, listener) = match outcome {
        Ok(Some(started)) => started,
        Ok(None) => {
            notifier.send(&StartNotice::Lost);
            return Ok(());
        }
        Err(error) => {
            notifier.send(&StartNotice::Failed {
                code: error.code,
                sentence: error.sentence.clone(),
            });
            return Err(error);
        }
    };
    let paths = AgentPaths::new(options.paths.clone());
    let endpoints = Endpoints::from_env();
    let super::open_store::Opened {
        store,
        notes,
        lock: _held_while_serving,
    } = opened;
    for note in &notes {
        agent_log!("{note}");
    }
    let agent = Arc::new(Agent {
        config: super::config_from_env(&options.paths, &endpoints, &options.backend),
        service: Arc::new(crate::service::Context::new(store, endpoints)),
        hello: AgentHello {
            protocol: advertised_protocol(),
            build: Build::current(),
            pid: std::process::id(),
        },
        paths,
        started: Instant::now(),
        idle_exit: options.idle_exit,
        clients: AtomicUsize::new(0),
        busy: AtomicUsize::new(0),
        changes: broadcast::channel(16).0,
        attempts: Attempts::default(),
        refresher: Refresher::default(),
        keepalive_wake: tokio::sync::Notify::new(),
        links_settled: broadcast::channel(1024).0,
        routes: std::sync::Mutex::new(None),
        links_pruned: std::sync::atomic::AtomicI64::new(0),
        shutdown: CancellationToken::new(),
        notes: std::sync::Mutex::new(notes),
        next_connection: AtomicU64::new(1),
        unsaved: std::sync::Mutex::new(std::collections::HashMap::new()),
        disk_wake: tokio::sync::Notify::new(),
        status_text: Default::default(),
        tokens: Default::default(),
        http: OnceLock::new(),
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            WireError::new(
                Exit::Temporary,
                format!("the agent cannot start its runtime: {e}"),
            )
        })?;
    agent_log!(
        "serving {} (protocol {}, version {}){}",
        agent.paths.socket().display(),
        agent.hello.protocol,
        agent.hello.build.version,
        agent
            .idle_exit
            .map(|d| format!(", exits after {} idle", humantime::format_duration(d)))
            .unwrap_or_default()
    );
    notifier.send(&StartNotice::Ready);
    runtime.block_on(serve(Arc::clone(&agent), listener));
    // Only the store's holder ever binds the socket, so the file is still ours to remove.
    let _ = std::fs::remove_file(agent.paths.socket());
    agent_log!("stopped");
    Ok(())
}

/// Opens the store and binds the socket; `None` when a live agent already serves it.
fn start(
    options: &AgentOptions,
) -> Result<Option<(super::open_store::Opened, std::os::unix::net::UnixListener)>, WireError> {
    // Everything the agent creates (sled's files, the socket) is private to its user.
    // SAFETY: umask only sets this process's file-creation mask.
    unsafe {
        libc::umask(0o077);
    }
    // A file size limit (ulimit -f) must fail a write, which the store answers by keeping
    // the grant in memory, not kill the agent holding it (SIGXFSZ's default action).
    // SAFETY: ignoring a signal changes only this process's disposition for it.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    // Every client holds a descriptor: the soft limit inherited from a shell (often 1,024)
    // would run out long before the hard limit the administrator allows.
    if let Err(e) = crate::limits::raise_open_files() {
        agent_log!("the open-files limit stays as inherited: {e}");
    }
    let paths = AgentPaths::new(options.paths.clone());
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(paths.data_dir())
        .map_err(|e| {
            WireError::new(
                Exit::Failed,
                format!(
                    "cannot create the data directory {}: {e}",
                    paths.data_dir().display()
                ),
            )
        })?;
    super::spawn::check_data_dir(&paths).map_err(|e| WireError::new(Exit::Usage, e.to_string()))?;
    let Some(store) = super::open_store::win(&paths, &options.backend, options.accept_rollback)?
    else {
        return Ok(None);
    };
    let socket = paths.socket();
    // We hold the store, so any socket file left here is a dead agent's (kill -9).
    let _ = std::fs::remove_file(&socket);
    let listener = std::os::unix::net::UnixListener::bind(&socket).map_err(|e| {
        WireError::new(
            Exit::Temporary,
            format!("the agent cannot listen on {}: {e}", socket.display()),
        )
    })?;
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))
        .and_then(|()| listener.set_nonblocking(true))
        .map_err(|e| {
            WireError::new(
                Exit::Temporary,
                format!("the agent cannot secure {}: {e}", socket.display()),
            )
        })?;
    Ok(Some((store, listener)))
}

/// The protocol this agent speaks. Debug builds let tests pose as another version, to prove
/// that clients replace an agent they cannot talk to; release builds carry no such switch.
fn advertised_protocol() -> u32 {
    #[cfg(debug_assertions)]
    if let Some(version) = std::env::var("JIRA_AUTH_TEST_AGENT_PROTOCOL")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return version;
    }
    protocol::PROTOCOL_VERSION
}

async fn serve(agent: Arc<Agent>, listener: std::os::unix::net::UnixListener) {
    let listener = match UnixListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            agent_log!("cannot serve the socket: {e}");
            return;
        }
    };
    tokio::spawn(super::keepalive::run(
        Arc::clone(&agent),
        super::keepalive::Pace::from_env(),
    ));
    tokio::spawn(super::disk::watch(Arc::clone(&agent)));
    tokio::spawn(super::resume::run(Arc::clone(&agent)));
    tokio::spawn(super::retention::run(Arc::clone(&agent)));
    tokio::spawn(super::store_notices::run(Arc::clone(&agent)));
    let stop = Arc::clone(&agent);
    tokio::spawn(async move {
        stop_on_signal().await;
        agent_log!("stopping on a signal");
        stop.shutdown.cancel();
    });
    let mut stopping = false;
    let mut holding_said: Option<Instant> = None;
    let mut spare = super::exhaustion::Spare::reserve();
    let mut failing = false;
    loop {
        if stopping {
            if agent.refresher.in_flight() == 0
                && agent.attempts.exchanging() == 0
                && agent.unsaved_count() == 0
            {
                break;
            }
            say_why_not_stopping(&agent, &mut holding_said);
        }
        tokio::select! {
            () = agent.shutdown.cancelled(), if !stopping => stopping = true,
            () = idle(&agent), if !stopping => {
                agent_log!("idle, exiting");
                stopping = true;
            }
            // While stopping, the loop looks again often: the agent leaves as soon as what it
            // holds is safe, and keeps serving until then (clients can see why).
            () = tokio::time::sleep(Duration::from_millis(20)), if stopping => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    if std::mem::take(&mut failing) {
                        agent_log!("accepting connections again");
                    }
                    tokio::spawn(super::connection::serve(Arc::clone(&agent), stream));
                }
                Err(e) => {
                    // Said once per streak: a full descriptor table fails every 50 ms.
                    if !std::mem::replace(&mut failing, true) {
                        agent_log!("accept failed: {e}; new clients are told so until it passes");
                    }
                    let (data_dir, pid) = (agent.paths.data_dir(), agent.hello.pid);
                    if !spare.turn_away(&listener, &e, data_dir, pid).await {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            },
        }
    }
}

/// A refresh under way when the agent is asked to stop finishes first (Atlassian disabled the
/// old refresh token the moment it answered, and the new one must be stored; the HTTP
/// timeouts bound the wait), and a rotation held in memory is written first: the log says
/// what the agent waits for, once a minute.
fn say_why_not_stopping(agent: &Agent, said: &mut Option<Instant>) {
    if said.is_some_and(|at| at.elapsed() < Duration::from_secs(60)) {
        return;
    }
    *said = Some(Instant::now());
    if agent.unsaved_count() > 0 {
        agent_log!("not stopping yet: {}", agent.holding_sentence());
    } else {
        agent_log!(
            "waiting for {} refresh(es) and {} code exchange(s) to finish",
            agent.refresher.in_flight(),
            agent.attempts.exchanging()
        );
    }
}

pub(crate) async fn stop_on_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => std::future::pending().await,
    }
}

/// Resolves once the agent has had no client and no work for its idle limit.
async fn idle(agent: &Agent) {
    let Some(limit) = agent.idle_exit else {
        return std::future::pending().await;
    };
    let check = (limit / 4).clamp(Duration::from_millis(50), Duration::from_secs(5));
    let mut idle_since = Instant::now();
    loop {
        tokio::time::sleep(check).await;
        let quiet = agent.clients.load(Ordering::SeqCst) == 0
            && agent.busy.load(Ordering::SeqCst) == 0
            && agent.attempts.is_empty()
            && agent.refresher.in_flight() == 0
            && agent.attempts.exchanging() == 0
            && agent.unsaved_count() == 0;
        if !quiet {
            idle_since = Instant::now();
        } else if idle_since.elapsed() >= limit {
            return;
        }
    }
}
