//! The socket side: bind the loopback address only, hand every connection to hyper as a task
//! of its own, so silent or slow ones hold up nothing, and stop at the first request with the
//! right path and state, or at the deadline.

use std::convert::Infallible;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::{sleep, timeout};

use super::answer::{Answer, judge};
use super::page;
use super::{Callback, CallbackError, LoopbackTarget};

/// A browser sends its head at once; this is how long a client that never does is kept.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Browsers send a few hundred bytes; hyper answers a longer head with 431.
const HEAD_LIMIT: usize = 8 * 1024;
/// The most one connection may live, head included: past its head it only needs one short
/// write, so this bounds a client that sends a body nobody reads or never reads the page.
const CONNECTION_LIMIT: Duration = Duration::from_secs(20);
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
        // No cap on connections: each is a small task that hyper drops after HEAD_TIMEOUT
        // unless it sent a head, so however many a local process opens, the browser's is
        // accepted and served at once. Dropping the set aborts them all.
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                () = &mut deadline => {
                    return Err(CallbackError::TimedOut {
                        address: self.local_address,
                        waited: timeout,
                    });
                }
                accepted = self.listener.accept() => {
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
                    // A panicked connection task is one lost request, not the end.
                    if let Ok(Some(callback)) = joined {
                        return Ok(callback);
                    }
                }
            }
        }
    }
}

/// Answers the one request of a connection; `Some` when it carried the redirect we wait
/// for, returned only once the page is written, so ending the wait does not cut it off.
async fn serve(stream: TcpStream, path: Arc<str>, expected_state: Arc<str>) -> Option<Callback> {
    let received = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&received);
    let service = service_fn(move |request: Request<Incoming>| {
        let answer = judge(request.method(), request.uri(), &path, &expected_state);
        let response: Response<String> = page::response(&answer);
        if let Answer::Received(callback) = answer {
            *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(callback);
        }
        std::future::ready(Ok::<_, Infallible>(response))
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .max_header_size(HEAD_LIMIT)
        // One request per connection (hyper adds `Connection: close`): a connection
        // left open for a next request would be one more idle connection to keep.
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service);
    // Silent, cut, refused by hyper (400, 431) or too slow: it ends with nothing received.
    // A failed write loses only the page: a code that arrived is in the slot all the same.
    let _ = timeout(CONNECTION_LIMIT, connection).await;
    received
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
}
