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
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::{Framed, LengthDelimitedCodec};

use super::protocol::{
    self, AgentConfig, AgentFrame, AgentHello, Build, ClientFrame, ClientHello, Reply, Request,
    WireError,
};
use super::spawn::{self, Started};
use super::{AgentPaths, START_TIMEOUT};

/// Why a client got no answer. The sentence is what a human reads.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The agent answered, with a refusal: its code and sentence.
    #[error(transparent)]
    Agent(#[from] WireError),
    /// No agent could be reached or started: temporary (exit 4).
    #[error("{0}")]
    Unavailable(String),
    /// Nothing serves this store, and this call does not start an agent.
    #[error("no agent is running for {0}")]
    NotRunning(String),
}

impl ClientError {
    pub fn exit_code(&self) -> u8 {
        match self {
            ClientError::Agent(e) => e.code,
            ClientError::Unavailable(_) => 4,
            ClientError::NotRunning(_) => 1,
        }
    }
}

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
    pub hello: AgentHello,
    /// What the agent had to fix when it opened the store, for a human to hear once.
    pub notes: Vec<String>,
}

impl Connection {
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    pub async fn call(&self, request: Request) -> Result<Reply, ClientError> {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let (sender, receiver) = oneshot::channel();
        lock(&self.pending).insert(id, sender);
        let frame = encode(&ClientFrame { id, request });
        if self.is_closed() || self.out.send(frame).is_err() {
            lock(&self.pending).remove(&id);
            return Err(lost());
        }
        match receiver.await {
            Ok(result) => Ok(result?),
            Err(_) => Err(lost()),
        }
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

fn encode(frame: &ClientFrame) -> Bytes {
    // Plain data with string keys: serializing cannot fail.
    Bytes::from(serde_json::to_vec(frame).unwrap_or_else(|e| unreachable!("frames serialize: {e}")))
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
                    crate::validate::text::sanitize(note, 4000)
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

    /// Asks the agent to exit and waits until it has; `false` when none was running.
    pub async fn stop_agent(&self) -> Result<bool, ClientError> {
        match open(&self.paths.socket()).await {
            Ok(framed) => {
                stop_and_wait(framed).await?;
                Ok(true)
            }
            Err(Opening::NoAgent) => Ok(false),
            Err(Opening::Refused(sentence)) => Err(ClientError::Unavailable(sentence)),
        }
    }
}

/// How opening a socket went.
enum Opening {
    /// No socket, a stale one, or an agent on its way out.
    NoAgent,
    /// The agent turned this process away (another uid).
    Refused(String),
}

type Wire = Framed<UnixStream, LengthDelimitedCodec>;

/// Connects and reads the agent's hello.
async fn open(socket: &Path) -> Result<(Wire, AgentHello), Opening> {
    let stream = UnixStream::connect(socket)
        .await
        .map_err(|_| Opening::NoAgent)?;
    let mut framed = Framed::new(stream, protocol::codec());
    let first = tokio::time::timeout(Duration::from_secs(2), framed.next())
        .await
        .map_err(|_| Opening::NoAgent)?;
    let Some(Ok(bytes)) = first else {
        return Err(Opening::NoAgent);
    };
    match serde_json::from_slice::<AgentFrame>(&bytes) {
        Ok(AgentFrame::Hello(hello)) => Ok((framed, hello)),
        Ok(AgentFrame::Refused { sentence }) => Err(Opening::Refused(format!(
            "the agent at {} refused this process: {}",
            socket.display(),
            crate::validate::text::sanitize(&sentence, 300)
        ))),
        _ => Err(Opening::NoAgent),
    }
}

/// Sends the frozen `stop` and waits for the agent to close the connection, which it does
/// only by exiting. An agent that will not exit yet (it holds grants a full disk kept it
/// from writing) says why, and that sentence is the answer.
async fn stop_and_wait((mut framed, _): (Wire, AgentHello)) -> Result<(), WireError> {
    let stop = encode(&ClientFrame {
        id: 0,
        request: Request::Stop,
    });
    if framed.send(stop).await.is_err() {
        return Ok(());
    }
    // An agent finishes a refresh in flight before it exits (at most an HTTP timeout).
    let waited = tokio::time::timeout(Duration::from_secs(45), async {
        while let Some(Ok(bytes)) = framed.next().await {
            // Replies are not frozen: an agent of another build may answer in a shape this
            // one does not read, and its exit is what counts.
            if let Ok(AgentFrame::Reply {
                result: Err(refusal),
                ..
            }) = serde_json::from_slice::<AgentFrame>(&bytes)
            {
                return Err(refusal);
            }
        }
        Ok(())
    })
    .await;
    waited.unwrap_or(Ok(()))
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
        match open(&paths.socket()).await {
            Ok((framed, hello)) => {
                if !replaced && must_replace(&hello, &ours)? {
                    replaced = true;
                    // One that holds grants it could not write yet says so, and that is the answer.
                    stop_and_wait((framed, hello)).await?;
                    continue;
                }
                return greet(framed, hello, &ours, config, notices).await;
            }
            Err(Opening::Refused(sentence)) => return Err(ClientError::Unavailable(sentence)),
            Err(Opening::NoAgent) if !start => {
                return Err(ClientError::NotRunning(
                    paths.data_dir().display().to_string(),
                ));
            }
            Err(Opening::NoAgent) if !started => {
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
            Err(Opening::NoAgent) => {
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
        .map(|line| format!("  {}", crate::validate::text::sanitize(line, 300)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Says hello, then hands the connection to a reader task that routes replies and notices.
async fn greet(
    mut framed: Wire,
    hello: AgentHello,
    ours: &Build,
    config: &AgentConfig,
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
    let notes = match framed.next().await {
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
            match serde_json::from_slice::<AgentFrame>(&bytes) {
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
        hello,
        notes,
    })
}

/// Whether an agent answers on `socket` right now (a rival agent asks this before it steps
/// aside). Blocking, with a short bound: it runs before any runtime exists.
pub fn answers(socket: &Path) -> bool {
    use std::io::Read;
    let Ok(mut stream) = std::os::unix::net::UnixStream::connect(socket) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut length = [0u8; 4];
    if stream.read_exact(&mut length).is_err() {
        return false;
    }
    let length = u32::from_be_bytes(length) as usize;
    if length > 64 * 1024 {
        return false;
    }
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).is_ok()
        && matches!(
            serde_json::from_slice::<AgentFrame>(&body),
            Ok(AgentFrame::Hello(_))
        )
}
