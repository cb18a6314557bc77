//! The client side of the agent: finds the agent of a data directory (starting one when there
//! is none, replacing one of an older build), says hello, and matches replies to requests so
//! one connection carries any number of calls at once, plus change notices for the console.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot};

pub use super::client_error::ClientError;
use super::deadlines::START_TIMEOUT;
use super::deadlines::{self, Patience};
pub use super::opening::answers;
use super::opening::{Opening, Wire, encode, not_answering, open, stop_and_wait};
use super::paths::AgentPaths;
use super::protocol::{
    self, AgentConfig, AgentFrame, AgentHello, Build, ClientFrame, ClientHello, Reply, Request,
    WireError,
};
use super::spawn::{self, Started};
use crate::store::Holder;

/// What a subscribed client hears besides replies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// Something in the store changed.
    Changed,
    /// The agent went away (killed, stopped, upgraded); the sentence says so.
    Lost(String),
    /// Connected again after a loss.
    Reconnected,
    /// Something the agent fixed on the way (a loosened permission), to say once.
    Note(String),
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Reply, WireError>>>>>;

/// One live connection to an agent.
pub struct Connection {
    out: mpsc::UnboundedSender<Bytes>,
    pending: Pending,
    next_id: AtomicU64,
    closed: Arc<AtomicBool>,
    /// For the sentence when the agent stops answering.
    data_dir: String,
    pub hello: AgentHello,
    /// What the agent had to fix when it opened the store, for a human to hear once.
    pub notes: Vec<String>,
}

impl Connection {
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// One request, answered within the deadline its kind has ([`deadlines::patience`]).
    pub async fn call(&self, request: Request) -> Result<Reply, ClientError> {
        let what = deadlines::waiting_for(&request);
        match deadlines::patience(&request) {
            Patience::Within(limit) => self.ask(request, what.to_owned(), limit).await,
            Patience::WhileAlive => {
                let (id, mut answer) = self.send(request)?;
                loop {
                    tokio::select! {
                        answered = &mut answer => return answered_with(answered),
                        () = tokio::time::sleep(deadlines::LIVENESS_EVERY) => {
                            // A frozen agent answers nothing: the status check tells.
                            let check = format!("a status check while waiting for {what}");
                            if let Err(error) = self
                                .ask(Request::AgentStatus, check, deadlines::QUICK)
                                .await
                            {
                                lock(&self.pending).remove(&id);
                                return Err(error);
                            }
                        }
                    }
                }
            }
        }
    }

    async fn ask(
        &self,
        request: Request,
        what: String,
        limit: Duration,
    ) -> Result<Reply, ClientError> {
        let (id, answer) = self.send(request)?;
        if let Ok(answered) = tokio::time::timeout(limit, answer).await {
            return answered_with(answered);
        }
        lock(&self.pending).remove(&id);
        Err(ClientError::NotAnswering {
            data_dir: self.data_dir.clone(),
            pid: self.hello.pid,
            what,
            waited_secs: limit.as_secs(),
        })
    }

    fn send(&self, request: Request) -> Result<(u64, Answer), ClientError> {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let (sender, receiver) = oneshot::channel();
        lock(&self.pending).insert(id, sender);
        let frame = encode(&ClientFrame { id, request });
        if self.is_closed() || self.out.send(frame).is_err() {
            lock(&self.pending).remove(&id);
            return Err(lost());
        }
        Ok((id, receiver))
    }
}

type Answer = oneshot::Receiver<Result<Reply, WireError>>;

fn answered_with(
    answered: Result<Result<Reply, WireError>, oneshot::error::RecvError>,
) -> Result<Reply, ClientError> {
    match answered {
        Ok(result) => Ok(result?),
        Err(_) => Err(lost()),
    }
}

fn lost() -> ClientError {
    ClientError::Unavailable(
        "the agent stopped before it answered; try again (a new agent starts on demand)".into(),
    )
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Each critical section is one map insert or remove: a poisoned lock holds a sound map.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The way to one store's agent, connecting (and starting it) on first use and again after
/// it went away.
pub struct AgentLink {
    paths: AgentPaths,
    config: AgentConfig,
    start: bool,
    notices: Option<mpsc::UnboundedSender<Notice>>,
    current: tokio::sync::Mutex<Option<Arc<Connection>>>,
    had_connection: AtomicBool,
}

impl AgentLink {
    pub fn new(paths: AgentPaths, config: AgentConfig) -> AgentLink {
        AgentLink {
            paths,
            config,
            start: true,
            notices: None,
            current: tokio::sync::Mutex::new(None),
            had_connection: AtomicBool::new(false),
        }
    }

    /// The link to the agent of the store `setup` names, configured as this process is (the
    /// agent must agree with it).
    pub fn for_setup(setup: &crate::config::Setup) -> AgentLink {
        let config = super::config_from_env(&setup.paths, &setup.endpoints, &setup.backend);
        AgentLink::new(AgentPaths::new(setup.paths.clone()), config)
    }

    /// Never start an agent: for `agent status` and `agent stop`.
    pub fn without_start(mut self) -> AgentLink {
        self.start = false;
        self
    }

    /// Subscribe to changes on every connection; notices arrive on `notices`.
    pub fn subscribed(mut self, notices: mpsc::UnboundedSender<Notice>) -> AgentLink {
        self.notices = Some(notices);
        self
    }

    pub fn paths(&self) -> &AgentPaths {
        &self.paths
    }

    pub async fn call(&self, request: Request) -> Result<Reply, ClientError> {
        self.connection().await?.call(request).await
    }

    /// The live connection, made anew when there is none or it closed.
    pub async fn connection(&self) -> Result<Arc<Connection>, ClientError> {
        let mut current = self.current.lock().await;
        if let Some(connection) = current.as_ref()
            && !connection.is_closed()
        {
            return Ok(Arc::clone(connection));
        }
        let connection =
            Arc::new(connect(&self.paths, &self.config, self.start, self.notices.clone()).await?);
        for note in &connection.notes {
            match &self.notices {
                Some(notices) => {
                    let _ = notices.send(Notice::Note(note.clone()));
                }
                // A command has no screen to show it on: stderr, like any other remark.
                None => eprintln!(
                    "jira-auth: note: {}",
                    crate::validate::text::sanitize(note, crate::validate::text::BLOCK_CAP)
                ),
            }
        }
        if let Some(notices) = &self.notices {
            connection.call(Request::Subscribe).await?;
            if self.had_connection.swap(true, Ordering::SeqCst) {
                let _ = notices.send(Notice::Reconnected);
            }
        }
        *current = Some(Arc::clone(&connection));
        Ok(connection)
    }

    /// Asks the agent to exit and waits until it has; `false` when none was running. An
    /// agent that holds the store but does not answer is an error, not "none".
    pub async fn stop_agent(&self) -> Result<bool, ClientError> {
        match open(&self.paths.socket()).await {
            Ok(framed) => {
                stop_and_wait(framed, &self.paths).await?;
                Ok(true)
            }
            Err(Opening::Silent) => match Holder::pid(self.paths.data_dir()) {
                Some(pid) => Err(not_answering(
                    &self.paths,
                    pid,
                    "the greeting (it was not asked to stop)",
                )),
                None => Ok(false),
            },
            Err(Opening::NoAgent) => Ok(false),
            Err(opening) => Err(opening.into_error(&self.paths)),
        }
    }
}

/// What a client does with an agent of another build.
fn must_replace(agent: &AgentHello, ours: &Build) -> Result<bool, ClientError> {
    if agent.protocol == protocol::PROTOCOL_VERSION && &agent.build == ours {
        return Ok(false);
    }
    if ours.stamp >= agent.build.stamp {
        // This binary is the newer one (or the same one posing as another protocol in
        // tests): the old agent makes way.
        return Ok(true);
    }
    if agent.protocol == protocol::PROTOCOL_VERSION {
        // A newer agent that still speaks our protocol serves us fine.
        return Ok(false);
    }
    Err(ClientError::Unavailable(format!(
        "a newer jira-auth ({}, protocol {}) runs the agent of this store; use that jira-auth (restart this console), or stop the agent (`jira-auth agent stop`)",
        crate::validate::text::sanitize(&agent.build.version, 40),
        agent.protocol
    )))
}

async fn connect(
    paths: &AgentPaths,
    config: &AgentConfig,
    start: bool,
    notices: Option<mpsc::UnboundedSender<Notice>>,
) -> Result<Connection, ClientError> {
    let deadline = Instant::now() + START_TIMEOUT;
    let ours = Build::current();
    let mut started = false;
    let mut replaced = false;
    loop {
        let opened = match open(&paths.socket()).await {
            // The holder file names the agent that let the greeting wait: a live one that
            // holds the store is frozen or hung, and starting another would only queue behind
            // its lock. With no live holder, whatever took the connection is no agent.
            Err(Opening::Silent) => match Holder::pid(paths.data_dir()) {
                Some(pid) => return Err(not_answering(paths, pid, "the greeting")),
                None => Err(Opening::NoAgent),
            },
            other => other,
        };
        match opened {
            Ok((framed, hello)) => {
                if !replaced && must_replace(&hello, &ours)? {
                    replaced = true;
                    // One that holds grants it could not write yet says so: that is the answer.
                    stop_and_wait((framed, hello), paths).await?;
                    continue;
                }
                return greet(framed, hello, &ours, config, paths, notices).await;
            }
            Err(opening @ (Opening::Refused(_) | Opening::Impostor { .. })) => {
                return Err(opening.into_error(paths));
            }
            Err(Opening::NoAgent | Opening::Silent) if !start => {
                return Err(ClientError::NotRunning(
                    paths.data_dir().display().to_string(),
                ));
            }
            Err(Opening::NoAgent | Opening::Silent) if !started => {
                started = true;
                let starting = paths.clone();
                let outcome =
                    tokio::task::spawn_blocking(move || spawn::start(&starting, deadline))
                        .await
                        .map_err(|e| {
                            ClientError::Unavailable(format!("starting the agent failed: {e}"))
                        })?;
                match outcome {
                    Ok(Started::Serving) => {}
                    Ok(Started::Failed { code, sentence }) => {
                        return Err(WireError::new(code, sentence).into());
                    }
                    Ok(Started::Silent) => return Err(did_not_start(paths, "it said nothing")),
                    Err(e) => {
                        return Err(ClientError::Unavailable(format!(
                            "cannot start the agent for {}: {e}",
                            paths.data_dir().display()
                        )));
                    }
                }
            }
            Err(Opening::NoAgent | Opening::Silent) => {
                if Instant::now() >= deadline {
                    return Err(did_not_start(paths, "its socket never answered"));
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

fn did_not_start(paths: &AgentPaths, what: &str) -> ClientError {
    let tail = log_tail(&paths.log(), 3);
    ClientError::Unavailable(format!(
        "the agent for {} did not start within {} s ({what}){}",
        paths.data_dir().display(),
        START_TIMEOUT.as_secs(),
        if tail.is_empty() {
            String::new()
        } else {
            format!("; its log {} ends:\n{tail}", paths.log().display())
        }
    ))
}

fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..]
        .iter()
        .map(|line| {
            format!(
                "  {}",
                crate::validate::text::sanitize(line, crate::validate::text::SENTENCE_CAP)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Says hello, then hands the connection to a reader task that routes replies and notices.
async fn greet(
    mut framed: Wire,
    hello: AgentHello,
    ours: &Build,
    config: &AgentConfig,
    paths: &AgentPaths,
    notices: Option<mpsc::UnboundedSender<Notice>>,
) -> Result<Connection, ClientError> {
    let greeting = encode(&ClientFrame {
        id: 0,
        request: Request::Hello(ClientHello {
            protocol: protocol::PROTOCOL_VERSION,
            build: ours.clone(),
            config: config.clone(),
        }),
    });
    framed.send(greeting).await.map_err(|_| lost())?;
    let welcome = tokio::time::timeout(deadlines::QUICK, framed.next())
        .await
        .map_err(|_| ClientError::NotAnswering {
            data_dir: paths.data_dir().display().to_string(),
            pid: hello.pid,
            what: "the greeting".to_owned(),
            waited_secs: deadlines::QUICK.as_secs(),
        })?;
    let notes = match welcome {
        Some(Ok(bytes)) => match serde_json::from_slice::<AgentFrame>(&bytes) {
            Ok(AgentFrame::Reply { result, .. }) => match result? {
                Reply::Welcome { notes } => notes,
                _ => Vec::new(),
            },
            _ => return Err(lost()),
        },
        _ => return Err(lost()),
    };
    let (mut sink, mut stream) = framed.split();
    let (out, mut outgoing) = mpsc::unbounded_channel::<Bytes>();
    tokio::spawn(async move {
        while let Some(frame) = outgoing.recv().await {
            if sink.send(frame).await.is_err() {
                break;
            }
        }
    });
    let pending: Pending = Arc::default();
    let closed = Arc::new(AtomicBool::new(false));
    let reader_pending = Arc::clone(&pending);
    let reader_closed = Arc::clone(&closed);
    tokio::spawn(async move {
        while let Some(Ok(bytes)) = stream.next().await {
            match protocol::decode_agent_frame(&bytes.freeze()) {
                Ok(AgentFrame::Reply { id, result }) => {
                    if let Some(waiting) = lock(&reader_pending).remove(&id) {
                        let _ = waiting.send(result);
                    }
                }
                Ok(AgentFrame::Changed) => {
                    if let Some(notices) = &notices {
                        let _ = notices.send(Notice::Changed);
                    }
                }
                _ => {}
            }
        }
        reader_closed.store(true, Ordering::SeqCst);
        // Dropping the senders wakes every waiting call with "the agent stopped".
        lock(&reader_pending).clear();
        if let Some(notices) = &notices {
            let _ = notices.send(Notice::Lost(
                "the agent stopped; reconnecting (a new one starts on demand)".into(),
            ));
        }
    });
    Ok(Connection {
        out,
        pending,
        next_id: AtomicU64::new(1),
        closed,
        data_dir: paths.data_dir().display().to_string(),
        hello,
        notes,
    })
}
