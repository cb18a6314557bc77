//! The socket side: bind loopback only (both addresses for `localhost`), hand every
//! connection to hyper as a task of its own, so silent or slow ones hold up nothing, and stop
//! at the first request with the right path and state, or at the deadline.

use std::convert::Infallible;
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
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
use super::target::{Callback, CallbackError, LoopbackTarget};

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
/// Ports the system may pick (for port 0) before one is also free on ::1.
const PORT_PICKS: usize = 8;

/// Bound loopback sockets waiting for one redirect. Dropping it, or the future of
/// [`CallbackListener::wait`], closes the sockets and cancels every connection task.
pub struct CallbackListener {
    /// The target's address.
    first: TcpListener,
    /// ::1 beside 127.0.0.1, for a `localhost` target on a machine with IPv6.
    second: Option<TcpListener>,
    local_address: SocketAddr,
    path: Arc<str>,
    expected_state: Arc<str>,
}

/// Listens on the target's loopback address, and for `localhost` on ::1 as well; never on a
/// wildcard one. `expected_state` is the `state` sent in this attempt's authorization URL.
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
    let (first, second) = if target.is_localhost() && address.is_ipv4() {
        bind_localhost(address).await?
    } else {
        (bind_one(address).await?, None)
    };
    let local_address = first
        .local_addr()
        .map_err(|error| bind_error(address, &error))?;
    Ok(CallbackListener {
        first,
        second,
        local_address,
        path: target.path.as_str().into(),
        expected_state: expected_state.into(),
    })
}

/// `localhost` may resolve to 127.0.0.1 or ::1 and the browser picks which it tries first,
/// so the port is held on both: otherwise another local program could listen on the one left
/// free and receive the code (RFC 8252 §8.3). Without IPv6 there is only 127.0.0.1 to hold.
async fn bind_localhost(
    v4: SocketAddr,
) -> Result<(TcpListener, Option<TcpListener>), CallbackError> {
    let mut picks = 1;
    loop {
        let first = bind_one(v4).await?;
        let port = first
            .local_addr()
            .map_err(|error| bind_error(v4, &error))?
            .port();
        let v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port);
        match TcpListener::bind(v6).await {
            Ok(second) => return Ok((first, Some(second))),
            Err(error) if lacks_ipv6(&error) => return Ok((first, None)),
            // The system chose a port that is free on 127.0.0.1 only: let it choose again.
            Err(error)
                if error.kind() == ErrorKind::AddrInUse && v4.port() == 0 && picks < PORT_PICKS =>
            {
                picks += 1;
            }
            Err(error) => return Err(bind_error(v6, &error)),
        }
    }
}

/// ::1 is not configured (IPv6 turned off on the interface) or the kernel has no IPv6.
fn lacks_ipv6(error: &std::io::Error) -> bool {
    error.kind() == ErrorKind::AddrNotAvailable || error.raw_os_error() == Some(libc::EAFNOSUPPORT)
}

async fn bind_one(address: SocketAddr) -> Result<TcpListener, CallbackError> {
    TcpListener::bind(address)
        .await
        .map_err(|error| bind_error(address, &error))
}

// The state is what makes a redirect ours: keep it out of logs like a credential.
impl std::fmt::Debug for CallbackListener {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let second = self
            .second
            .as_ref()
            .and_then(|second| second.local_addr().ok());
        formatter
            .debug_struct("CallbackListener")
            .field("local_address", &self.local_address)
            .field("second_address", &second)
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

    /// The target's address as bound; a `localhost` target listens on ::1 at the same port too.
    pub fn local_address(&self) -> SocketAddr {
        self.local_address
    }

    /// Serves until one request has the right path and state, answers it, and closes the
    /// sockets; wrong paths, wrong states and broken requests are answered and ignored.
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
                accepted = accept(&self.first, self.second.as_ref()) => {
                    match accepted {
                        Ok(stream) => {
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

/// The next connection on either socket; `select!` picks at random among ready branches,
/// so a flood on one address does not starve the other.
async fn accept(first: &TcpListener, second: Option<&TcpListener>) -> std::io::Result<TcpStream> {
    let accepted = match second {
        None => first.accept().await,
        Some(second) => tokio::select! {
            accepted = first.accept() => accepted,
            accepted = second.accept() => accepted,
        },
    };
    accepted.map(|(stream, _peer)| stream)
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
