//! The client side of the agent: finds the agent of a data directory (starting one when there
//! is none, replacing one of an older build), says hello, and matches replies to requests so
//! one connection carries any number of calls at once, plus change notices for the console.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::{Framed, LengthDelimitedCodec};

use super::deadlines::{self, Patience};
use super::protocol::{
    self, AgentConfig, AgentFrame, AgentHello, Build, ClientFrame, ClientHello, Reply, Request,
    WireError,
};
use super::spawn::{self, Started};
use super::{AgentPaths, START_TIMEOUT};
use crate::store::Holder;

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
    /// The agent's process lives and holds the store, but let a deadline pass: frozen
    /// (SIGSTOP, a debugger) or hung. Temporary (exit 4): it may resume.
    #[error(
        "an agent holds the store at {data_dir} but does not answer (pid {pid}): waited {waited_secs} s for {what}. It may be finishing a refresh before it exits (try again in a minute); if it was stopped (SIGSTOP, a debugger), resume it with `kill -CONT {pid}`; if it hangs, end it with `kill {pid}` and try again (a new one starts on demand)"
    )]
    NotAnswering {
        data_dir: String,
        pid: u32,
        what: String,
        waited_secs: u64,
    },
    /// The socket is served by a process of another user: nothing was sent to it. Not
    /// temporary (exit 2): someone must remove the impostor.
    #[error(
        "the agent socket {socket} is served by uid {uid}, not by this user (uid {own}): another user may be posing as jira-auth's agent, so nothing was sent to it. Check who made it (`ls -l {socket}`), remove it, and try again"
    )]
    Impostor { socket: String, uid: u32, own: u32 },
}

impl ClientError {
    pub fn exit_code(&self) -> u8 {
        match self {
            ClientError::Agent(e) => e.code,
            ClientError::Unavailable(_) | ClientError::NotAnswering { .. } => 4,
            ClientError::NotRunning(_) => 1,
            ClientError::Impostor { .. } => 2,
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
                None => eprintln!("jira-auth: note: {note}"),
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

fn not_answering(paths: &AgentPaths, pid: u32, what: &str) -> ClientError {
    ClientError::NotAnswering {
        data_dir: paths.data_dir().display().to_string(),
        pid,
        what: what.to_owned(),
        waited_secs: deadlines::GREETING.as_secs(),
    }
}

/// How opening a socket went.
enum Opening {
    /// No socket, a stale one, or an agent on its way out.
    NoAgent,
    /// The agent turned this process away (another uid, out of descriptors).
    Refused(String),
    /// A process of another uid serves the socket; nothing was sent.
    Impostor { uid: u32 },
    /// The connection was taken but no greeting came in time: frozen, hung, or (with no
    /// holder alive) not an agent at all.
    Silent,
}

impl Opening {
    /// The error for what cannot be waited or started away.
    fn into_error(self, paths: &AgentPaths) -> ClientError {
        match self {
            Opening::Refused(sentence) => ClientError::Unavailable(sentence),
            Opening::Impostor { uid } => ClientError::Impostor {
                socket: paths.socket().display().to_string(),
                uid,
                own: crate::store::own_uid(),
            },
            Opening::NoAgent | Opening::Silent => {
                ClientError::NotRunning(paths.data_dir().display().to_string())
            }
        }
    }
}

type Wire = Framed<UnixStream, LengthDelimitedCodec>;

/// Only an agent of this process's own user is spoken to: checked before any byte is sent.
fn check_peer(fd: RawFd, socket: &Path) -> Result<(), Opening> {
    match super::peer::uid(fd) {
        Ok(uid) if uid == crate::store::own_uid() => Ok(()),
        Ok(uid) => Err(Opening::Impostor { uid }),
        Err(e) => Err(Opening::Refused(format!(
            "cannot tell who serves {} ({e}), so nothing was sent to it",
            socket.display()
        ))),
    }
}

/// Connects, checks who serves the socket, and reads the agent's hello.
async fn open(socket: &Path) -> Result<(Wire, AgentHello), Opening> {
    let stream = UnixStream::connect(socket).await.map_err(|e| {
        // A listener whose backlog is full (its process frozen) refuses with EAGAIN.
        if e.kind() == std::io::ErrorKind::WouldBlock {
            Opening::Silent
        } else {
            Opening::NoAgent
        }
    })?;
    check_peer(stream.as_raw_fd(), socket)?;
    let mut framed = Framed::new(stream, protocol::codec());
    let first = tokio::time::timeout(deadlines::GREETING, framed.next())
        .await
        .map_err(|_| Opening::Silent)?;
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

/// Sends the frozen `stop`, waits for its acknowledgement, then for the agent to close the
/// connection, which it does only by exiting.
async fn stop_and_wait(
    (mut framed, hello): (Wire, AgentHello),
    paths: &AgentPaths,
) -> Result<(), ClientError> {
    let stop = encode(&ClientFrame {
        id: 0,
        request: Request::Stop,
    });
    if framed.send(stop).await.is_err() {
        // Gone between the greeting and the request: stopped all the same.
        return Ok(());
    }
    match tokio::time::timeout(deadlines::QUICK, framed.next()).await {
        Err(_) => {
            return Err(ClientError::NotAnswering {
                data_dir: paths.data_dir().display().to_string(),
                pid: hello.pid,
                what: "the stop request".to_owned(),
                waited_secs: deadlines::QUICK.as_secs(),
            });
        }
        Ok(None | Some(Err(_))) => return Ok(()),
        Ok(Some(Ok(_))) => {}
    }
    // An agent finishes a refresh in flight before it exits (at most an HTTP timeout).
    let closed = tokio::time::timeout(deadlines::STOP, async {
        while let Some(Ok(_)) = framed.next().await {}
    })
    .await;
    closed.map_err(|_| {
        ClientError::Unavailable(format!(
            "the agent of {} (pid {}) took the stop request but has not exited within {} s; its log {} says why, or end it with `kill {}`",
            paths.data_dir().display(),
            hello.pid,
            deadlines::STOP.as_secs(),
            paths.log().display(),
            hello.pid
        ))
    })
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
        data_dir: paths.data_dir().display().to_string(),
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
    // Another user's listener is no agent of this store, whatever it says.
    if check_peer(stream.as_raw_fd(), socket).is_err() {
        return false;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_of_this_user_passes_the_peer_check() {
        let (ours, _theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        assert!(check_peer(ours.as_raw_fd(), Path::new("/x/agent.sock")).is_ok());
    }

    #[test]
    fn an_impostor_is_not_temporary_and_a_silent_agent_is() {
        let impostor = ClientError::Impostor {
            socket: "/d/agent.sock".into(),
            uid: 65534,
            own: 0,
        };
        assert_eq!(impostor.exit_code(), 2);
        assert!(impostor.to_string().contains("served by uid 65534"));
        let silent = ClientError::NotAnswering {
            data_dir: "/d".into(),
            pid: 42,
            what: "the status".into(),
            waited_secs: 10,
        };
        assert_eq!(silent.exit_code(), 4);
        assert!(silent.to_string().contains("does not answer (pid 42)"));
        assert!(silent.to_string().contains("kill -CONT 42"));
    }
}
