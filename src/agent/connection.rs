//! One client's connection: the peer check, the hello (protocol and configuration must
//! agree), then frames in and replies out. A malformed, oversized or unknown frame gets an
//! error reply and the connection closes; the agent carries on serving everyone else.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::net::UnixStream;
use tokio::sync::{broadcast, mpsc};
use tokio_util::codec::Framed;

use super::handlers;
use super::protocol::{self, AgentFrame, ClientFrame, ClientHello, Request, WireError};
use super::state::Agent;
use crate::agent_log;
use crate::exit::Exit;

/// Counts a connection for as long as it lives.
struct Counted<'a>(&'a AtomicUsize);

impl<'a> Counted<'a> {
    fn new(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Counted(counter)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn encode(frame: &AgentFrame) -> Bytes {
    protocol::encode_agent_frame(frame)
}

/// What the connection sends its client through: the writer task drains it in order.
type Out = mpsc::UnboundedSender<AgentFrame>;

/// Serves one client until it leaves (or is sent away): hello, then requests, each answered
/// on its own task so a slow one never holds up the rest.
pub(super) async fn serve(agent: Arc<Agent>, stream: UnixStream) {
    let id = agent.next_connection.fetch_add(1, Ordering::SeqCst);
    let mut framed = Framed::new(stream, protocol::codec());
    if let Err(sentence) = check_peer(framed.get_ref()) {
        agent_log!("refused connection {id}: {sentence}");
        let _ = framed.send(encode(&AgentFrame::Refused { sentence })).await;
        return;
    }
    let _counted = Counted::new(&agent.clients);
    let (mut sink, mut frames) = framed.split();
    let (out, mut outgoing) = mpsc::unbounded_channel::<AgentFrame>();
    let writer = tokio::spawn(async move {
        while let Some(frame) = outgoing.recv().await {
            if sink.send(encode(&frame)).await.is_err() {
                break;
            }
        }
    });
    let _ = out.send(AgentFrame::Hello(agent.hello.clone()));
    let mut greeted = false;
    let mut subscription: Option<tokio::task::JoinHandle<()>> = None;
    // Cancelled when the client leaves: a wait on a link (pure waiting) ends with it, while
    // work that changes something finishes whatever happens to the client.
    let gone = tokio_util::sync::CancellationToken::new();
    let hello_by = tokio::time::Instant::now() + HELLO_WAIT;
    while let Some(ClientFrame {
        id: request_id,
        request,
    }) = next_request(&mut frames, (!greeted).then_some(hello_by), id, &out).await
    {
        let reply = |result| {
            let _ = out.send(AgentFrame::Reply {
                id: request_id,
                result,
            });
        };
        match request {
            Request::Hello(hello) => {
                let result = check_hello(&agent, &hello);
                greeted = result.is_ok();
                reply(result.map(|()| welcome(&agent)));
            }
            // Frozen and allowed before hello: a client of another protocol must be able to
            // ask this agent to make way.
            Request::Stop => reply(stop(&agent, id)),
            _ if !greeted => {
                refuse(&out, "say hello first");
                break;
            }
            Request::Subscribe => {
                let changes = agent.changes.subscribe();
                if let Some(old) = subscription.take() {
                    old.abort();
                }
                subscription = Some(tokio::spawn(forward_changes(changes, out.clone())));
                reply(Ok(protocol::Reply::Ok));
            }
            request => answer(&agent, id, request_id, request, out.clone(), &gone),
        }
    }
    // The client is gone (or was sent away): whatever it was authorizing or waiting on goes
    // with it (before the writer is awaited: a waiting task holds a sender).
    gone.cancel();
    agent.attempts.drop_owner(id);
    if let Some(subscription) = subscription {
        subscription.abort();
    }
    drop(out);
    let _ = writer.await;
}

/// The client's next request; `None` when the connection closes: the client left, its frame
/// could not be read or understood (it is told why), or it said no hello by `hello_by`
/// (`None` once it has).
async fn next_request(
    frames: &mut (impl futures_util::Stream<Item = std::io::Result<bytes::BytesMut>> + Unpin),
    hello_by: Option<tokio::time::Instant>,
    id: u64,
    out: &Out,
) -> Option<ClientFrame> {
    // A connection that never says hello would hold a descriptor and keep an agent started
    // on demand from its idle exit, for as long as its peer pleased.
    let next = match hello_by {
        None => frames.next().await,
        Some(hello_by) => {
            if let Ok(next) = tokio::time::timeout_at(hello_by, frames.next()).await {
                next
            } else {
                agent_log!(
                    "connection {id}: no hello within {} s, closing it",
                    HELLO_WAIT.as_secs()
                );
                return None;
            }
        }
    };
    let bytes = match next? {
        Ok(bytes) => bytes,
        Err(e) => {
            agent_log!("connection {id}: unreadable frame ({e}), closing it");
            refuse(
                out,
                &format!(
                    "the frame could not be read ({e}); frames are at most {} bytes",
                    protocol::MAX_FRAME
                ),
            );
            return None;
        }
    };
    let Ok(frame) = serde_json::from_slice(&bytes) else {
        agent_log!("connection {id}: malformed or unknown request, closing it");
        refuse(
            out,
            "malformed or unknown request: this agent speaks another protocol, or the client is not jira-auth",
        );
        return None;
    };
    Some(frame)
}

/// An error reply to no request in particular, before the connection closes.
fn refuse(out: &Out, sentence: &str) {
    let _ = out.send(AgentFrame::Reply {
        id: 0,
        result: Err(WireError::new(Exit::Usage, sentence)),
    });
}

/// The answer to a hello that agreed: what opening the store fixed, for the first client.
fn welcome(agent: &Agent) -> protocol::Reply {
    protocol::Reply::Welcome {
        notes: std::mem::take(
            &mut *agent
                .notes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        ),
    }
}

/// A stop asked for. Stopping now would lose the grants held in memory: the agent says so
/// and exits only once they are written.
fn stop(agent: &Agent, id: u64) -> Result<protocol::Reply, WireError> {
    agent_log!("stop requested by connection {id}");
    let answer = if agent.unsaved_count() > 0 {
        Err(WireError::new(Exit::Temporary, agent.holding_sentence()))
    } else {
        Ok(protocol::Reply::Ok)
    };
    agent.shutdown.cancel();
    answer
}

/// Answers one request on its own task. A wait on a link ends when its client leaves.
fn answer(
    agent: &Arc<Agent>,
    id: u64,
    request_id: u64,
    request: Request,
    out: Out,
    gone: &tokio_util::sync::CancellationToken,
) {
    let agent = Arc::clone(agent);
    let abandoned = matches!(request, Request::AwaitLink { .. }).then(|| gone.clone());
    agent.busy.fetch_add(1, Ordering::SeqCst);
    tokio::spawn(async move {
        let handled = handlers::handle(&agent, id, request);
        let result = match abandoned {
            Some(gone) => tokio::select! {
                result = handled => Some(result),
                () = gone.cancelled() => None,
            },
            None => Some(handled.await),
        };
        agent.busy.fetch_sub(1, Ordering::SeqCst);
        let Some(result) = result else { return };
        let _ = out.send(AgentFrame::Reply {
            id: request_id,
            result,
        });
    });
}

/// How long a new connection may take to say hello (a client sends it at once).
const HELLO_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// How long the notices after a first one are gathered into one: a lone change is told at
/// once, a burst (the keep-alive rotating thousands of grants) at most this often.
const CHANGE_QUIET: std::time::Duration = std::time::Duration::from_millis(500);

/// Tells a subscribed client about changes: the first at once, then what follows within
/// [`CHANGE_QUIET`] as one more notice (a lagging receiver missed some; one reload covers all).
async fn forward_changes(
    mut changes: broadcast::Receiver<()>,
    out: mpsc::UnboundedSender<AgentFrame>,
) {
    let alive = |result: &Result<(), broadcast::error::RecvError>| {
        !matches!(result, Err(broadcast::error::RecvError::Closed))
    };
    while alive(&changes.recv().await) {
        if out.send(AgentFrame::Changed).is_err() {
            return;
        }
        let window = tokio::time::sleep(CHANGE_QUIET);
        tokio::pin!(window);
        let mut more = false;
        loop {
            tokio::select! {
                () = &mut window => break,
                result = changes.recv() => {
                    if !alive(&result) {
                        return;
                    }
                    more = true;
                }
            }
        }
        if more && out.send(AgentFrame::Changed).is_err() {
            return;
        }
    }
}

/// Only processes of the agent's own user may talk to it.
fn check_peer(stream: &UnixStream) -> Result<(), String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let own = unsafe { libc::geteuid() };
    match stream.peer_cred() {
        Ok(peer) if peer.uid() == own => Ok(()),
        Ok(peer) => Err(format!(
            "uid {} is not the agent's uid {own}; only the user who owns the store may use its agent",
            peer.uid()
        )),
        Err(e) => Err(format!("cannot tell who is connecting ({e})")),
    }
}

/// The client must run with the same key and the same Atlassian as this agent.
fn check_hello(agent: &Agent, hello: &ClientHello) -> Result<(), WireError> {
    let mine = &agent.config;
    let theirs = &hello.config;
    let differs = [
        (
            "JIRA_AUTH_KEY_FILE (the sealing key)",
            &mine.key_file,
            &theirs.key_file,
        ),
        (
            "JIRA_AUTH_ATLASSIAN_AUTH_URL",
            &mine.auth_base,
            &theirs.auth_base,
        ),
        (
            "JIRA_AUTH_ATLASSIAN_API_URL",
            &mine.api_base,
            &theirs.api_base,
        ),
        ("JIRA_AUTH_SYSTEM_APP", &mine.system_app, &theirs.system_app),
        ("JIRA_AUTH_STORE (the store)", &mine.store, &theirs.store),
    ];
    for (what, agent_value, client_value) in differs {
        if agent_value != client_value {
            return Err(WireError::new(
                Exit::Usage,
                format!(
                    "the agent serving {} runs with {what} = {}, but this command has {}; use the same setting, or stop the agent first (`jira-auth agent stop`)",
                    agent.paths.data_dir().display(),
                    crate::validate::text::sanitize(agent_value, crate::validate::text::URL_CAP),
                    crate::validate::text::sanitize(client_value, crate::validate::text::URL_CAP),
                ),
            ));
        }
    }
    Ok(())
}
