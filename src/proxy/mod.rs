//! `jira-auth proxy`: a local reverse proxy to one grant's Jira API, so any program calls
//! `http://jira/rest/api/3/...` and never holds a token. It listens on a Unix socket private
//! to this user (the caller's uid checked) or on loopback TCP behind a proxy key; each
//! request goes out through [`crate::jira::Upstream`] under the grant's API base, its token
//! renewed once on a 401; Jira's answer comes back untouched, streamed.

mod forward;
mod grants;
mod key;
mod listen;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};

pub use forward::{EXIT_HEADER, USER_HEADER};
pub use listen::ListenError;

use crate::agent::AgentLink;
use crate::config::Endpoints;
use crate::domain::Mode;
use crate::domain::Timestamp;
use crate::validate::text::sanitize;
use forward::{Caller, Proxy};
use grants::Grants;
use key::ProxyKey;
use listen::Listener;

/// How long a connection may take to send a request's head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// How long requests in flight may finish once the proxy is told to stop.
const DRAIN: Duration = Duration::from_secs(10);

/// Where to listen.
pub enum Listen {
    Unix(PathBuf),
    /// Loopback TCP; the key is written to `key_file`.
    Tcp {
        address: SocketAddr,
        key_file: PathBuf,
    },
}

pub struct Options {
    pub integration: String,
    pub mode: Mode,
    pub listen: Listen,
    pub retry_429: Option<Duration>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error(transparent)]
    Listen(#[from] ListenError),
    #[error("cannot write the proxy key to {path}: {reason}")]
    Key { path: PathBuf, reason: String },
    #[error(transparent)]
    Send(#[from] crate::jira::SendError),
}

/// Where the proxy serves, once it does: for the line a person reads.
pub struct Ready<'a> {
    pub at: String,
    pub key_file: Option<&'a std::path::Path>,
}

/// Serves until SIGTERM or SIGINT; `ready` hears where once it listens.
pub async fn run(
    options: Options,
    link: AgentLink,
    endpoints: Endpoints,
    ready: impl FnOnce(Ready<'_>),
) -> Result<(), ProxyError> {
    let (listener, key) = match &options.listen {
        Listen::Unix(path) => (Listener::unix(path)?, None),
        Listen::Tcp { address, key_file } => {
            let listener = Listener::tcp(*address).await?;
            let key = ProxyKey::create(key_file).map_err(|e| ProxyError::Key {
                path: key_file.clone(),
                reason: e.to_string(),
            })?;
            (listener, Some(key))
        }
    };
    let proxy = Arc::new(Proxy {
        upstream: crate::jira::Upstream::new()?,
        grants: Grants::new(link, endpoints, options.integration, options.mode),
        key,
        retry_429: options.retry_429,
    });
    ready(Ready {
        at: listener.shown(),
        key_file: proxy.key.as_ref().map(|k| k.file.as_path()),
    });
    let stop = crate::agent::stop_on_signal();
    tokio::pin!(stop);
    let in_flight = Arc::new(());
    loop {
        let accepted = tokio::select! {
            () = &mut stop => break,
            accepted = accept(&listener) => accepted,
        };
        match accepted {
            Ok(connection) => {
                let proxy = Arc::clone(&proxy);
                let held = Arc::clone(&in_flight);
                tokio::spawn(async move {
                    connection.serve(proxy).await;
                    drop(held);
                });
            }
            Err(e) => {
                log(format_args!("cannot accept a connection: {e}"));
                // Out of descriptors, most likely: a moment for connections to close.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    drop(listener);
    if let Some(key) = &proxy.key {
        key.remove();
    }
    log(format_args!("stopping; finishing requests in flight"));
    let started = Instant::now();
    while Arc::strong_count(&in_flight) > 1 && started.elapsed() < DRAIN {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// An accepted connection and who is on it.
enum Connection {
    Unix(tokio::net::UnixStream, Caller),
    Tcp(tokio::net::TcpStream),
}

async fn accept(listener: &Listener) -> std::io::Result<Connection> {
    match listener {
        Listener::Unix { listener, .. } => {
            let (stream, _) = listener.accept().await?;
            let own = crate::config::own_uid();
            // The socket's mode keeps others out; the kernel's word on the peer is checked
            // too, for root and for a socket someone loosened.
            let caller = match stream.peer_cred() {
                Ok(peer) if peer.uid() == own => Caller::Owner,
                Ok(peer) => Caller::Stranger { uid: peer.uid() },
                Err(_) => Caller::Stranger { uid: u32::MAX },
            };
            Ok(Connection::Unix(stream, caller))
        }
        Listener::Tcp(listener) => {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            Ok(Connection::Tcp(stream))
        }
    }
}

impl Connection {
    async fn serve(self, proxy: Arc<Proxy>) {
        match self {
            Connection::Unix(stream, caller) => serve_on(TokioIo::new(stream), caller, proxy).await,
            Connection::Tcp(stream) => {
                serve_on(TokioIo::new(stream), Caller::Loopback, proxy).await;
            }
        }
    }
}

async fn serve_on<IO>(io: IO, caller: Caller, proxy: Arc<Proxy>)
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = service_fn(move |request| {
        let proxy = Arc::clone(&proxy);
        async move {
            let started = Instant::now();
            let method = request.method().clone();
            let path = sanitize(request.uri().path(), 200);
            let response = proxy.answer(request, caller).await;
            log(format_args!(
                "{method} {path} {} {}ms",
                response.status().as_u16(),
                started.elapsed().as_millis()
            ));
            Ok::<_, Infallible>(response)
        }
    });
    let _ = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .serve_connection(io, service)
        .await;
}

/// One line on stderr: never a header, a query or a token.
fn log(message: std::fmt::Arguments<'_>) {
    eprintln!(
        "{} jira-auth proxy[{}]: {message}",
        Timestamp::now().rfc3339(),
        std::process::id()
    );
}
