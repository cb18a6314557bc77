//! `jira-auth serve`: the callback receiver end users reach through the organisation's
//! HTTPS reverse proxy. It answers the callback path and a health path and nothing else;
//! every callback goes to the agent, which judges the state, exchanges the code and stores
//! the user's token. Built to sit on the internet behind a proxy: heads are small and must
//! arrive in time, bodies are refused, each client address is rate limited and may hold only
//! its share of the connections, and the log never holds a query string (it carries the code
//! and the state).

mod accept;
mod admission;
mod client_ip;
mod pages;

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use governor::{Quota, RateLimiter};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::time::timeout;

use crate::agent::{AgentLink, ClientError};
use crate::callback::target_url;
use crate::domain::Timestamp;
use crate::validate::text::sanitize;

use accept::AcceptTrouble;
use admission::{Admission, Limits, Ticket};
pub use admission::{HEAD_TIMEOUT, PER_ADDRESS_HALF_SENT, PER_ADDRESS_OPEN, PRESSED_HEAD_TIMEOUT};
pub use client_ip::{client_address, rate_key};

/// Answered with 200 while the agent answers: for the proxy's and the service manager's checks.
pub const HEALTH_PATH: &str = "/healthz";
/// hyper's smallest read buffer; a longer head gets 431.
const HEAD_LIMIT: usize = 8 * 1024;
/// A callback URL with code and state is a few hundred bytes.
const TARGET_LIMIT: usize = 4 * 1024;
/// The agent's exchange with Atlassian included.
const ANSWER_LIMIT: Duration = Duration::from_secs(crate::service::links::RECEIVER_ANSWER_SECS);
/// A proxy keeps connections open for its next requests; none lives longer than this.
const CONNECTION_LIMIT: Duration = Duration::from_secs(60);
/// Client allowances kept at most; past this (a flood from many addresses), new addresses
/// share one allowance until the next pruning.
const MAX_TRACKED: usize = 100_000;
/// The kernel's queue of connections not yet accepted (capped by `net.core.somaxconn`): deep
/// enough that a burst from one greedy address, accepted and closed at once, does not push a
/// browser's connection out.
const LISTEN_BACKLOG: u32 = 4096;
/// The open-files limit assumed when it cannot be read: the usual default soft limit.
const ASSUMED_OPEN_FILES: u64 = 1024;
/// In-flight requests get this long to finish when the receiver is stopped.
const DRAIN: Duration = Duration::from_secs(10);

#[derive(Clone, Debug)]
pub struct Options {
    pub bind: SocketAddr,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trust_proxy: Vec<IpAddr>,
    /// Requests per minute one client address may make.
    pub per_minute: NonZeroU32,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "cannot listen on {address}: {reason}; choose another --bind address or stop what holds it"
    )]
    Bind { address: SocketAddr, reason: String },
}

type Limiter = RateLimiter<
    IpAddr,
    governor::state::keyed::HashMapStateStore<IpAddr>,
    governor::clock::DefaultClock,
>;

struct Shared {
    agent: AgentLink,
    trust_proxy: Vec<IpAddr>,
    limiter: Limiter,
    /// The one allowance of every address beyond [`MAX_TRACKED`].
    overflow: governor::DefaultDirectRateLimiter,
    retry_after_secs: u64,
}

impl Shared {
    fn allows(&self, client: IpAddr) -> bool {
        let key = rate_key(client);
        if self.limiter.len() >= MAX_TRACKED {
            return self.overflow.check().is_ok();
        }
        self.limiter.check_key(&key).is_ok()
    }
}

/// Binds `options.bind` and serves until SIGTERM or SIGINT. `ready` hears the bound address.
pub async fn run(
    options: Options,
    agent: AgentLink,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let open_files = match crate::limits::raise_open_files() {
        Ok(limit) => limit,
        Err(error) => {
            log(format_args!(
                "cannot raise the open-files limit ({error}); counting on {ASSUMED_OPEN_FILES}"
            ));
            ASSUMED_OPEN_FILES
        }
    };
    let listener = listen(options.bind).map_err(|e| ServeError::Bind {
        address: options.bind,
        reason: e.to_string(),
    })?;
    let local = listener.local_addr().map_err(|e| ServeError::Bind {
        address: options.bind,
        reason: e.to_string(),
    })?;
    let shared = Arc::new(Shared {
        agent,
        trust_proxy: options
            .trust_proxy
            .into_iter()
            .map(client_ip::canonical)
            .collect(),
        limiter: RateLimiter::hashmap(Quota::per_minute(options.per_minute)),
        overflow: RateLimiter::direct(Quota::per_minute(options.per_minute)),
        retry_after_secs: 60u64.div_ceil(u64::from(options.per_minute.get())).max(1),
    });
    let admission = Admission::new(Limits::for_open_files(open_files));
    let limits = admission.limits();
    log(format_args!(
        "open-files limit {open_files}: up to {} connections, the last {} kept for addresses holding at most one; each address but a trusted proxy holds at most {PER_ADDRESS_OPEN}, {PER_ADDRESS_HALF_SENT} of them before their request arrives",
        limits.budget, limits.reserve
    ));
    ready(local);
    let stop = crate::agent::stop_on_signal();
    tokio::pin!(stop);
    let mut prune = tokio::time::interval(Duration::from_secs(60));
    let mut trouble = AcceptTrouble::default();
    loop {
        tokio::select! {
            () = &mut stop => break,
            _ = prune.tick() => {
                // Forget clients whose allowance is full again, so the map stays small.
                shared.limiter.retain_recent();
                shared.limiter.shrink_to_fit();
                let refused = admission.refusals_this_minute();
                if refused > 0 {
                    log(format_args!(
                        "closed {refused} connections at once in the last minute, over an address's share or the budget"
                    ));
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if let Some(line) = trouble.accepted() {
                        log(format_args!("{line}"));
                    }
                    admit(&admission, &shared, stream, peer);
                }
                Err(error) => {
                    let response = trouble.failed(&error, open_files);
                    if let Some(line) = response.log {
                        log(format_args!("{line}"));
                    }
                    if !response.pause.is_zero() {
                        // Still stoppable while paused.
                        tokio::select! {
                            () = &mut stop => break,
                            () = tokio::time::sleep(response.pause) => {}
                        }
                    }
                }
            }
        }
    }
    drop(listener);
    log(format_args!("stopping; finishing requests in flight"));
    let _ = timeout(DRAIN, admission.drained()).await;
    Ok(())
}

/// Serves `stream` on a task of its own if its address has room, else closes it at once:
/// a refused connection is not held, so it costs no slot and no time.
fn admit(admission: &Arc<Admission>, shared: &Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
    let address = client_ip::canonical(peer.ip());
    let trusted = shared.trust_proxy.contains(&address);
    match admission.admit(rate_key(address), trusted) {
        Ok(ticket) => {
            let shared = Arc::clone(shared);
            tokio::spawn(async move {
                let _ = timeout(CONNECTION_LIMIT, connection(stream, peer, ticket, shared)).await;
            });
        }
        Err(first) => {
            if let Some(refusal) = first {
                log(format_args!("{refusal}"));
            }
            drop(stream);
        }
    }
}

/// The listening socket, with a deeper queue than tokio's default of 1,024.
fn listen(bind: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if bind.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // A restarted receiver rebinds while the old one's connections linger in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(bind)?;
    socket.listen(LISTEN_BACKLOG)
}

async fn connection(stream: TcpStream, peer: SocketAddr, ticket: Ticket, shared: Arc<Shared>) {
    let head_deadline = ticket.head_deadline();
    let ticket = Arc::new(ticket);
    let service = service_fn(move |request: Request<Incoming>| {
        ticket.head_arrived();
        let shared = Arc::clone(&shared);
        async move { Ok::<_, Infallible>(answer(&request, peer, &shared).await) }
    });
    let _ = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(head_deadline)
        .max_buf_size(HEAD_LIMIT)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

async fn answer(
    request: &Request<Incoming>,
    peer: SocketAddr,
    shared: &Shared,
) -> Response<String> {
    let started = Instant::now();
    let client = client_address(peer.ip(), request.headers(), &shared.trust_proxy);
    let (path, response) = route(request, client, shared).await;
    log(format_args!(
        "{client} {} {} {} {}ms",
        request.method(),
        sanitize(&path, 120),
        response.status().as_u16(),
        started.elapsed().as_millis()
    ));
    response
}

/// The page for one request, and the path to log (never the query).
async fn route(
    request: &Request<Incoming>,
    client: IpAddr,
    shared: &Shared,
) -> (String, Response<String>) {
    if !shared.allows(client) {
        return (String::new(), pages::too_many(shared.retry_after_secs));
    }
    let Some(target) = target_url(request.uri()) else {
        return (
            String::new(),
            pages::plain(
                StatusCode::BAD_REQUEST,
                "Bad request",
                "This request cannot be read.",
            ),
        );
    };
    let path = target.path().to_owned();
    if request.uri().to_string().len() > TARGET_LIMIT {
        return (
            path,
            pages::plain(
                StatusCode::URI_TOO_LONG,
                "Address too long",
                "This address is longer than any link jira-auth hands out.",
            ),
        );
    }
    // HEAD only for the health path: a HEAD of a callback must not spend its link.
    let allowed = *request.method() == Method::GET
        || (*request.method() == Method::HEAD && path == HEALTH_PATH);
    if !allowed {
        let mut response = pages::plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method not allowed",
            "Only GET is answered here.",
        );
        response.headers_mut().insert(
            hyper::header::ALLOW,
            hyper::header::HeaderValue::from_static("GET"),
        );
        return (path, response);
    }
    if has_body(request) {
        return (
            path,
            pages::plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Body not accepted",
                "Requests here carry no body.",
            ),
        );
    }
    if path == HEALTH_PATH {
        return (path, health(shared).await);
    }
    let query = target.query().unwrap_or_default().to_owned();
    let call = shared.agent.callback(&path, &query);
    let response = match timeout(ANSWER_LIMIT, call).await {
        Ok(Ok(page)) => pages::of(&page),
        Ok(Err(ClientError::Unexpected { .. })) => {
            unavailable("the agent gave an unexpected answer")
        }
        Ok(Err(ClientError::Agent(error))) => {
            log(format_args!(
                "the agent could not complete a callback: {error}"
            ));
            unavailable("jira-auth could not complete this request")
        }
        Ok(Err(error)) => {
            log(format_args!("the agent is not reachable: {error}"));
            // It may have spent the link before it went: the reload tells which.
            pages::agent_lost()
        }
        Err(_) => pages::plain(
            StatusCode::GATEWAY_TIMEOUT,
            "Taking too long",
            "jira-auth did not finish in time. Ask for a new link and try again.",
        ),
    };
    (path, response)
}

fn has_body(request: &Request<Incoming>) -> bool {
    let headers = request.headers();
    headers.contains_key(hyper::header::TRANSFER_ENCODING)
        || headers
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|length| length.trim() != "0")
}

async fn health(shared: &Shared) -> Response<String> {
    match timeout(Duration::from_secs(5), shared.agent.agent_status()).await {
        Ok(Ok(_)) => {
            let mut response = Response::new("ok\n".to_owned());
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            response
        }
        _ => unavailable("the agent is not answering"),
    }
}

fn unavailable(reason: &str) -> Response<String> {
    pages::plain(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again shortly",
        &format!("{reason}; try the link again in a minute."),
    )
}

/// One line on stderr (the journal under systemd): never a query, a code or a state.
fn log(message: std::fmt::Arguments<'_>) {
    eprintln!(
        "{} jira-auth serve[{}]: {message}",
        Timestamp::now().rfc3339(),
        std::process::id()
    );
}
