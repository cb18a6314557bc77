//! The socket side: bind the loopback address only, accept connections concurrently (a
//! silent or slow one must not block the real redirect), answer each, and stop at the first
//! request with the right path and state, or at the deadline.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::{sleep, timeout};

use super::page;
use super::request::{Answer, HEAD_LIMIT, HeadError, judge, read_head};
use super::{Callback, CallbackError, LoopbackTarget};

/// A browser sends its head at once; this bounds what a client that never does can hold.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Reading what a rejected client still sends, so closing does not reset the connection and
/// destroy the error page before the client has read it.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);
const DRAIN_LIMIT: usize = 64 * 1024;
/// Connections handled at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 32;
/// Pause after a failed accept (out of file descriptors, aborted handshake) so the loop
/// does not spin while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// A bound loopback socket waiting for one redirect. Dropping it, or the future of
/// [`CallbackListener::wait`], closes the socket and cancels every connection task.
pub struct CallbackListener {
    listener: TcpListener,
    local_address: SocketAddr,
    path: Arc<str>,
    expected_state: Arc<str>,
}

/// Listens on the target's loopback address, never on a wildcard one. `expected_state` is
/// the `state` sent in this attempt's authorization URL.
pub async fn bind(
    target: &LoopbackTarget,
    expected_state: String,
) -> Result<CallbackListener, CallbackError> {
    let address = target.socket_address();
    // The fields are public, so a hand-built target could name any address: refuse rather
    // than expose the code to the network.
    if !address.ip().is_loopback() {
        return Err(CallbackError::Unavailable {
            address,
            reason: "it is not a loopback address, and jira-auth listens only on this machine's loopback".into(),
        });
    }
    let listener = TcpListener::bind(address)
        .await
        .map_err(|error| bind_error(address, &error))?;
    let local_address = listener
        .local_addr()
        .map_err(|error| bind_error(address, &error))?;
    Ok(CallbackListener {
        listener,
        local_address,
        path: target.path.as_str().into(),
        expected_state: expected_state.into(),
    })
}

// The state is what makes a redirect ours: keep it out of logs like a credential.
impl std::fmt::Debug for CallbackListener {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("CallbackListener")
            .field("local_address", &self.local_address)
            .field("path", &self.path)
            .field("expected_state", &"***")
            .finish_non_exhaustive()
    }
}

fn bind_error(address: SocketAddr, error: &std::io::Error) -> CallbackError {
    match error.kind() {
        ErrorKind::AddrInUse => CallbackError::PortBusy {
            port: address.port(),
        },
        ErrorKind::PermissionDenied => CallbackError::PortForbidden {
            port: address.port(),
        },
        ErrorKind::AddrNotAvailable => CallbackError::Unavailable {
            address,
            reason: "this machine does not have that loopback address (is IPv6 turned off?)".into(),
        },
        _ => CallbackError::Unavailable {
            address,
            reason: error.to_string(),
        },
    }
}

impl CallbackListener {
    /// The port actually bound (the target's, or the one the system chose for port 0).
    pub fn port(&self) -> u16 {
        self.local_address.port()
    }

    pub fn local_address(&self) -> SocketAddr {
        self.local_address
    }

    /// Serves until one request has the right path and state, answers it, and closes the
    /// socket; wrong paths, wrong states and broken requests are answered and ignored.
    pub async fn wait(self, timeout: Duration) -> Result<Callback, CallbackError> {
        let deadline = sleep(timeout);
        tokio::pin!(deadline);
        // Dropping the set aborts its tasks, so no connection outlives the wait.
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                () = &mut deadline => {
                    return Err(CallbackError::TimedOut {
                        address: self.local_address,
                        waited: timeout,
                    });
                }
                accepted = self.listener.accept(), if connections.len() < MAX_CONNECTIONS => {
                    match accepted {
                        Ok((stream, _peer)) => {
                            connections.spawn(serve(
                                stream,
                                Arc::clone(&self.path),
                                Arc::clone(&self.expected_state),
                            ));
                        }
                        Err(_) => sleep(ACCEPT_BACKOFF).await,
                    }
                }
                Some(joined) = connections.join_next(), if !connections.is_empty() => {
                    // A panicked or aborted connection task is one lost request, not the end.
                    if let Ok(Some(callback)) = joined {
                        return Ok(callback);
                    }
                }
            }
        }
    }
}

/// Answers one connection; `Some` when it carried the redirect we wait for.
async fn serve(
    mut stream: TcpStream,
    path: Arc<str>,
    expected_state: Arc<str>,
) -> Option<Callback> {
    let answer = match timeout(HEAD_TIMEOUT, read_head(&mut stream, HEAD_LIMIT)).await {
        Ok(Ok(head)) => judge(&head, &path, &expected_state),
        Ok(Err(HeadError::TooLarge)) => Answer::TooLarge,
        // Silent, closed early or broken: nobody is there to read an answer.
        Ok(Err(HeadError::Closed | HeadError::Broken)) | Err(_) => return None,
    };
    let response = page::response(&answer);
    // A failed write loses only the page: the code or the refusal has already arrived.
    let _ = timeout(WRITE_TIMEOUT, async {
        stream.write_all(&response).await?;
        stream.shutdown().await
    })
    .await;
    match answer {
        Answer::Received(callback) => Some(callback),
        _ => {
            drain(&mut stream).await;
            None
        }
    }
}

async fn drain(stream: &mut TcpStream) {
    let _ = timeout(DRAIN_TIMEOUT, async {
        let mut buffer = [0u8; 4096];
        let mut drained = 0;
        while drained < DRAIN_LIMIT {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => drained += read,
            }
        }
    })
    .await;
}
