//! Opening a connection to an agent: connect, check who serves the socket before sending a
//! byte, and wait a bounded time for its greeting; also the plain stop request and the short
//! probe a rival agent makes.

use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::net::UnixStream;
use tokio_util::codec::{Framed, LengthDelimitedCodec};

use super::client_error::ClientError;
use super::deadlines;
use super::paths::AgentPaths;
use super::protocol::{self, AgentFrame, AgentHello, ClientFrame, Request};

/// An agent that took the connection but let its greeting wait: the holder file named `pid`.
pub(super) fn not_answering(paths: &AgentPaths, pid: u32, what: &str) -> ClientError {
    ClientError::NotAnswering {
        data_dir: paths.data_dir().display().to_string(),
        pid,
        what: what.to_owned(),
        waited_secs: deadlines::GREETING.as_secs(),
    }
}

/// How opening a socket went.
pub(super) enum Opening {
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
    pub(super) fn into_error(self, paths: &AgentPaths) -> ClientError {
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

pub(super) type Wire = Framed<UnixStream, LengthDelimitedCodec>;

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
pub(super) async fn open(socket: &Path) -> Result<(Wire, AgentHello), Opening> {
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
            crate::validate::text::sanitize(&sentence, 600)
        ))),
        _ => Err(Opening::NoAgent),
    }
}

/// Sends the frozen `stop`, waits for its acknowledgement, then for the agent to close the
/// connection, which it does only by exiting.
pub(super) async fn stop_and_wait(
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
        // An agent that will not exit yet (it holds grants a full disk kept it from
        // writing) says why, and that sentence is the answer. Replies are not frozen: an
        // agent of another build may answer in a shape this one does not read.
        Ok(Some(Ok(bytes))) => {
            if let Ok(AgentFrame::Reply {
                result: Err(refusal),
                ..
            }) = serde_json::from_slice::<AgentFrame>(&bytes)
            {
                return Err(refusal.into());
            }
        }
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

/// A client frame as the bytes of one frame body.
pub(super) fn encode(frame: &ClientFrame) -> Bytes {
    // Plain data with string keys: serializing cannot fail.
    Bytes::from(serde_json::to_vec(frame).unwrap_or_else(|e| unreachable!("frames serialize: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_of_this_user_passes_the_peer_check() {
        let (ours, _theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        assert!(check_peer(ours.as_raw_fd(), Path::new("/x/agent.sock")).is_ok());
    }
}
