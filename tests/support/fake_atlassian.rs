//! A fake Atlassian on 127.0.0.1 that follows `atlassian-3lo.md`: the authorize redirect,
//! single-use codes bound to their redirect_uri, rotating refresh tokens whose reuse after the
//! leeway kills the family, accessible-resources, myself, 401 `access_denied` for a bad
//! secret, 403 `invalid_grant` for dead tokens, and faults on demand. It runs its own tokio
//! runtime on a thread, so plain `#[test]`s that spawn the real binary can use it.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

#[path = "fake_jira.rs"]
pub mod jira;

/// An app registered in the fake developer console.
#[derive(Clone, Debug)]
pub struct FakeApp {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
}

#[derive(Clone, Debug)]
pub struct FakeSite {
    pub id: String,
    pub url: String,
    pub name: String,
    pub scopes: Vec<String>,
}

impl FakeSite {
    pub fn jira(id: &str, name: &str) -> FakeSite {
        FakeSite {
            id: id.into(),
            url: format!("https://{name}.atlassian.net"),
            name: name.into(),
            scopes: vec!["read:jira-work".into(), "write:jira-work".into()],
        }
    }
}

/// A fault to inject into the next answers of one endpoint.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// HTTP 500 with an HTML page.
    ServerError,
    /// Sleep this long, then answer normally.
    Slow(Duration),
    /// HTTP 200 with a body that is not JSON.
    Garbage,
    /// An OAuth error whose description carries ANSI escapes and control characters.
    EvilDescription,
    /// HTTP 429 (throttled) with a Retry-After header.
    TooManyRequests,
    /// This status (429 or 503, say) with this `Retry-After` (none when `None`), as Jira
    /// sheds load.
    Throttle {
        status: u16,
        retry_after: Option<String>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Authorize,
    Token,
    Resources,
    Myself,
    /// Every Jira route but `myself` (see [`jira`]).
    Jira,
}

pub const EVIL: &str = "\u{1b}[31mEVIL\u{1b}[0m\u{7}\u{1b}]0;pwned\u{7}";

struct Code {
    /// Who logged in on the consent page (`fake_account=NAME`); `None` is the default user.
    account: Option<String>,
    client_id: String,
    redirect_uri: String,
    scopes: Vec<String>,
    issued: Instant,
    used: bool,
}

struct Refresh {
    family: u64,
    client_id: String,
    /// When it was rotated away; reuse within the leeway is tolerated.
    retired: Option<Instant>,
}

struct Access {
    family: u64,
    expires: Instant,
}

struct Inner {
    apps: Vec<FakeApp>,
    sites: Vec<FakeSite>,
    user: (String, String, String),
    access_ttl: u64,
    leeway: Duration,
    code_ttl: Duration,
    decline: bool,
    /// False plays an app whose console lacks offline_access: no refresh tokens at all.
    grant_offline: bool,
    next: u64,
    codes: HashMap<String, Code>,
    refresh: HashMap<String, Refresh>,
    access: HashMap<String, Access>,
    dead_families: Vec<u64>,
    family_scopes: HashMap<u64, Vec<String>>,
    family_accounts: HashMap<u64, String>,
    faults: HashMap<Endpoint, VecDeque<Fault>>,
    counts: HashMap<Endpoint, usize>,
    /// (grant_type, content type) of every token request, oldest first (faulted ones too).
    token_requests: Vec<(String, String)>,
    /// A delay before every answer of an endpoint (after any fault), until cleared.
    delays: HashMap<Endpoint, Duration>,
    /// Every code exchanged, with what it bought, oldest first.
    exchanges: Vec<Exchange>,
    /// Every refresh answered with new tokens, oldest first.
    refreshed: Vec<Refreshed>,
    jira: jira::Jira,
}

/// A refresh the token endpoint honoured: of which grant (family), and whether with a
/// refresh token already rotated (a reuse within the leeway: two holders raced, or a retry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refreshed {
    pub family: u64,
    pub reused: bool,
}

/// A code the token endpoint exchanged, what it answered, and when.
#[derive(Clone, Debug)]
pub struct Exchange {
    pub code: String,
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub answered: Instant,
}

type Shared = Arc<Mutex<Inner>>;

pub struct FakeAtlassian {
    pub base: String,
    inner: Shared,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

pub const CLIENT_ID: &str = "Fk12Cd34Ef56Gh78Ij90Kl12Mn34Op56";
pub const CLIENT_SECRET: &str =
    "ATOAfake-secret-for-tests-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN";

impl FakeAtlassian {
    /// One app (`CLIENT_ID`/`CLIENT_SECRET`) registered for `redirect_uri`, one Jira site.
    pub fn start(redirect_uri: &str) -> FakeAtlassian {
        let inner = Inner {
            apps: vec![FakeApp {
                client_id: CLIENT_ID.into(),
                client_secret: CLIENT_SECRET.into(),
                redirect_uri: redirect_uri.into(),
            }],
            sites: vec![FakeSite::jira(
                "11111111-aaaa-bbbb-cccc-000000000001",
                "acme",
            )],
            user: (
                "5b10ac8d82e05b22cc7d4ef5".into(),
                "Ada Admin".into(),
                "ada@acme.example".into(),
            ),
            access_ttl: 3600,
            leeway: Duration::from_secs(600),
            code_ttl: Duration::from_secs(600),
            decline: false,
            grant_offline: true,
            next: 1,
            codes: HashMap::new(),
            refresh: HashMap::new(),
            access: HashMap::new(),
            dead_families: Vec::new(),
            family_scopes: HashMap::new(),
            family_accounts: HashMap::new(),
            faults: HashMap::new(),
            counts: HashMap::new(),
            token_requests: Vec::new(),
            delays: HashMap::new(),
            exchanges: Vec::new(),
            refreshed: Vec::new(),
            jira: jira::Jira::default(),
        };
        let inner = Arc::new(Mutex::new(inner));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the fake server");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let app = Router::new()
            .route("/authorize", get(authorize))
            .route("/oauth/token", post(token))
            .route("/oauth/token/accessible-resources", get(resources))
            .route("/ex/jira/{cloud_id}/rest/api/3/myself", get(myself))
            .with_state(Arc::clone(&inner))
            .merge(jira::routes(Arc::clone(&inner)));
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stop.await;
                    })
                    .await;
            });
        });
        FakeAtlassian {
            base,
            inner,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().expect("fake state"))
    }

    /// For `JIRA_AUTH_ATLASSIAN_AUTH_URL` and `JIRA_AUTH_ATLASSIAN_API_URL`: one server is both.
    pub fn auth_url(&self) -> String {
        self.base.clone()
    }

    pub fn api_url(&self) -> String {
        self.base.clone()
    }

    /// `jira-auth profile add` arguments for a profile named `acme` of this fake's app, its
    /// URLs on the fake, registered for `callback`. The secret goes on stdin.
    pub fn profile_add_args(&self, callback: &str, scopes: &str) -> Vec<String> {
        let base = self.auth_url();
        [
            "profile",
            "add",
            "--name",
            "acme",
            "--client-id",
            CLIENT_ID,
            "--client-secret-stdin",
            "--scopes",
            scopes,
            "--callback-url",
            callback,
            "--auth-url",
            &format!("{base}/authorize"),
            "--token-url",
            &format!("{base}/oauth/token"),
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// Registers the app for `redirect_uri` instead: for a callback whose port is known
    /// only once the receiver listens on the port it picked.
    pub fn set_redirect_uri(&self, redirect_uri: &str) {
        self.with(|s| s.apps[0].redirect_uri = redirect_uri.into());
    }

    pub fn set_sites(&self, sites: Vec<FakeSite>) {
        self.with(|s| s.sites = sites);
    }

    pub fn set_decline(&self, decline: bool) {
        self.with(|s| s.decline = decline);
    }

    pub fn set_grant_offline(&self, grant: bool) {
        self.with(|s| s.grant_offline = grant);
    }

    pub fn set_leeway(&self, leeway: Duration) {
        self.with(|s| s.leeway = leeway);
    }

    pub fn set_access_ttl(&self, secs: u64) {
        self.with(|s| s.access_ttl = secs);
    }

    /// The next `times` answers of `endpoint` get `fault`.
    pub fn fail_next(&self, endpoint: Endpoint, fault: Fault, times: usize) {
        self.with(|s| {
            s.faults
                .entry(endpoint)
                .or_default()
                .extend(std::iter::repeat_n(fault, times))
        });
    }

    /// Every answer of `endpoint` waits `delay` first (`None` ends it): a window for a kill.
    pub fn set_delay(&self, endpoint: Endpoint, delay: Option<Duration>) {
        self.with(|s| match delay {
            Some(delay) => s.delays.insert(endpoint, delay),
            None => s.delays.remove(&endpoint),
        });
    }

    /// Every code exchanged so far, oldest first.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.with(|s| s.exchanges.clone())
    }

    pub fn count(&self, endpoint: Endpoint) -> usize {
        self.with(|s| s.counts.get(&endpoint).copied().unwrap_or(0))
    }

    pub fn token_requests(&self) -> Vec<(String, String)> {
        self.with(|s| s.token_requests.clone())
    }

    /// Refresh tokens that would still be honoured.
    pub fn live_refresh_tokens(&self) -> usize {
        self.with(|s| {
            s.refresh
                .values()
                .filter(|r| r.retired.is_none() && !s.dead_families.contains(&r.family))
                .count()
        })
    }

    /// Every refresh honoured so far, oldest first.
    pub fn refreshed(&self) -> Vec<Refreshed> {
        self.with(|s| s.refreshed.clone())
    }

    /// How many refresh grants (`grant_type=refresh_token`) reached the token endpoint,
    /// whatever they were answered.
    pub fn refresh_requests(&self) -> usize {
        self.with(|s| {
            s.token_requests
                .iter()
                .filter(|(grant, _)| grant == "refresh_token")
                .count()
        })
    }

    /// Whether `refresh_token` is a current (not rotated away, not revoked) refresh token.
    pub fn refresh_token_live(&self, refresh_token: &str) -> bool {
        self.with(|s| {
            s.refresh
                .get(refresh_token)
                .is_some_and(|r| r.retired.is_none() && !s.dead_families.contains(&r.family))
        })
    }

    /// Refresh tokens rotated away (honoured again only within the leeway).
    pub fn retired_refresh_tokens(&self) -> usize {
        self.with(|s| s.refresh.values().filter(|r| r.retired.is_some()).count())
    }

    /// Token families killed (by reuse after the leeway, or [`FakeAtlassian::revoke_all`]).
    pub fn dead_families(&self) -> usize {
        self.with(|s| s.dead_families.len())
    }

    /// Every grant revoked, as a password change or an admin would: each refresh token then
    /// answers 403 `invalid_grant`, and no access token of theirs is accepted.
    pub fn revoke_all(&self) {
        self.with(|s| {
            let families: Vec<u64> = s
                .refresh
                .values()
                .map(|r| r.family)
                .chain(s.access.values().map(|a| a.family))
                .collect();
            for family in families {
                if !s.dead_families.contains(&family) {
                    s.dead_families.push(family);
                }
            }
        });
    }

    /// Every access token expires now (refresh tokens live on), as an hour passing would:
    /// the next API call with one gets 401.
    pub fn expire_access_tokens(&self) {
        self.with(|s| {
            let now = Instant::now();
            s.access.values_mut().for_each(|a| a.expires = now);
        });
    }

    /// Whether the Jira API accepts `access_token` right now: a real GET of `myself` on the
    /// site `cloud_id`, with the token as bearer; the HTTP status of the answer.
    pub fn myself_status(&self, cloud_id: &str, access_token: &str) -> u16 {
        let url = url::Url::parse(&self.base).expect("base URL");
        let host = format!(
            "{}:{}",
            url.host_str().expect("host"),
            url.port().expect("port")
        );
        let mut stream = TcpStream::connect(&host).expect("connect to the fake");
        stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .expect("read timeout");
        write!(
            stream,
            "GET /ex/jira/{cloud_id}/rest/api/3/myself HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {access_token}\r\nConnection: close\r\n\r\n"
        )
        .expect("send");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read");
        answer
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer:\n{answer}"))
    }

    /// Plays the browser: GETs the authorize URL without following the redirect and returns
    /// where Atlassian sent the user (the callback URL with code and state, or an error).
    pub fn consent(&self, authorize_url: &str) -> String {
        let url = url::Url::parse(authorize_url).expect("authorize URL");
        let host = format!(
            "{}:{}",
            url.host_str().expect("host"),
            url.port().expect("port")
        );
        let target = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let mut stream = TcpStream::connect(&host).expect("connect to the fake");
        write!(
            stream,
            "GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        .expect("send");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read");
        answer
            .lines()
            .find_map(|line| {
                line.strip_prefix("location: ")
                    .or_else(|| line.strip_prefix("Location: "))
            })
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("the fake did not redirect:\n{answer}"))
    }
}

impl Drop for FakeAtlassian {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"error": error, "error_description": description}).to_string(),
    )
        .into_response()
}

/// Counts the call and applies a pending fault; `Some` answers in place of the endpoint.
async fn fault(inner: &Shared, endpoint: Endpoint) -> Option<Response> {
    let (fault, delay) = {
        let mut s = inner.lock().expect("fake state");
        *s.counts.entry(endpoint).or_default() += 1;
        (
            s.faults.get_mut(&endpoint).and_then(VecDeque::pop_front),
            s.delays.get(&endpoint).copied(),
        )
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    match fault? {
        Fault::ServerError => Some(
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body>Internal error</body></html>",
            )
                .into_response(),
        ),
        Fault::Slow(delay) => {
            tokio::time::sleep(delay).await;
            None
        }
        Fault::Garbage => Some(
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/plain")],
                "this is not json {",
            )
                .into_response(),
        ),
        Fault::EvilDescription => Some(oauth_error(StatusCode::BAD_REQUEST, "server_error", EVIL)),
        Fault::TooManyRequests => Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (header::RETRY_AFTER, "1"),
                ],
                r#"{"message":"Rate limit exceeded"}"#,
            )
                .into_response(),
        ),
        Fault::Throttle {
            status,
            retry_after,
        } => {
            let mut answer = (
                StatusCode::from_u16(status).expect("a status"),
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"message":"Rate limit exceeded"}"#,
            )
                .into_response();
            if let Some(after) = retry_after {
                answer
                    .headers_mut()
                    .insert(header::RETRY_AFTER, after.parse().expect("a header value"));
            }
            answer.headers_mut().insert(
                "x-ratelimit-remaining",
                axum::http::HeaderValue::from_static("0"),
            );
            Some(answer)
        }
    }
}

async fn authorize(
    State(inner): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(answer) = fault(&inner, Endpoint::Authorize).await {
        return answer;
    }
    let mut s = inner.lock().expect("fake state");
    let param = |key: &str| query.get(key).cloned().unwrap_or_default();
    if query.contains_key("resource") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_target",
            "resource is not supported",
        );
    }
    let Some(app) = s
        .apps
        .iter()
        .find(|a| a.client_id == param("client_id"))
        .cloned()
    else {
        return (StatusCode::BAD_REQUEST, "unknown client_id").into_response();
    };
    if param("redirect_uri") != app.redirect_uri {
        return (
            StatusCode::BAD_REQUEST,
            "redirect_uri does not match the app's callback URL",
        )
            .into_response();
    }
    if param("audience") != "api.atlassian.com"
        || param("response_type") != "code"
        || param("state").is_empty()
        || param("scope").is_empty()
    {
        return (
            StatusCode::BAD_REQUEST,
            "missing audience, response_type, state or scope",
        )
            .into_response();
    }
    let state = url::form_urlencoded::byte_serialize(param("state").as_bytes()).collect::<String>();
    let location = if s.decline {
        format!(
            "{}?error=access_denied&error_description=User%20did%20not%20authorize%20the%20request&state={state}",
            app.redirect_uri
        )
    } else {
        let code = format!("code-{}", s.next);
        s.next += 1;
        let scopes = param("scope").split(' ').map(str::to_owned).collect();
        s.codes.insert(
            code.clone(),
            Code {
                account: query.get("fake_account").cloned(),
                client_id: app.client_id.clone(),
                redirect_uri: app.redirect_uri.clone(),
                scopes,
                issued: Instant::now(),
                used: false,
            },
        );
        format!("{}?code={code}&state={state}", app.redirect_uri)
    };
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

async fn token(State(inner): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    // Like the real server, a token call runs to the end once it has arrived, even when the
    // caller hangs up (is killed) while it is slow: the refresh token is rotated regardless.
    tokio::spawn(token_call(inner, headers, body))
        .await
        .unwrap_or_else(|_| (StatusCode::INTERNAL_SERVER_ERROR, "fake panicked").into_response())
}

async fn token_call(inner: Shared, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let params: HashMap<String, String> = if content_type.starts_with("application/json") {
        let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        value
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        url::form_urlencoded::parse(&body).into_owned().collect()
    };
    let param = |key: &str| params.get(key).cloned().unwrap_or_default();
    // Every request that arrives is recorded, the ones a fault answers included.
    inner
        .lock()
        .expect("fake state")
        .token_requests
        .push((param("grant_type"), content_type));
    if let Some(answer) = fault(&inner, Endpoint::Token).await {
        return answer;
    }
    let mut s = inner.lock().expect("fake state");
    let app = s
        .apps
        .iter()
        .find(|a| a.client_id == param("client_id"))
        .cloned();
    let Some(app) = app.filter(|a| a.client_secret == param("client_secret")) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized");
    };
    match param("grant_type").as_str() {
        "authorization_code" => {
            let code_ttl = s.code_ttl;
            let Some(code) = s.codes.get_mut(&param("code")) else {
                return oauth_error(
                    StatusCode::FORBIDDEN,
                    "invalid_grant",
                    "Invalid authorization code",
                );
            };
            if code.used || code.issued.elapsed() > code_ttl || code.client_id != app.client_id {
                return oauth_error(
                    StatusCode::FORBIDDEN,
                    "invalid_grant",
                    "Invalid authorization code",
                );
            }
            if code.redirect_uri != param("redirect_uri") {
                return oauth_error(
                    StatusCode::FORBIDDEN,
                    "invalid_grant",
                    "redirect_uri does not match",
                );
            }
            code.used = true;
            let scopes = code.scopes.clone();
            let account = code.account.clone();
            let family = s.next;
            s.next += 1;
            s.family_scopes.insert(family, scopes);
            if let Some(account) = account {
                s.family_accounts.insert(family, account);
            }
            let answer = issue(&mut s, family, &app.client_id);
            // `issue` numbered the tokens with the counter it then moved on.
            let n = s.next - 1;
            let refresh = format!("refresh-{family}-{n}");
            let exchange = Exchange {
                code: param("code"),
                access_token: format!("access-{family}-{n}"),
                refresh_token: s.refresh.contains_key(&refresh).then_some(refresh),
                answered: Instant::now(),
            };
            s.exchanges.push(exchange);
            answer
        }
        "refresh_token" => {
            let leeway = s.leeway;
            let token = param("refresh_token");
            let Some(entry) = s.refresh.get(&token) else {
                return oauth_error(
                    StatusCode::FORBIDDEN,
                    "invalid_grant",
                    "Unknown or invalid refresh token.",
                );
            };
            let (family, retired) = (entry.family, entry.retired);
            if s.dead_families.contains(&family) || entry.client_id != app.client_id {
                return oauth_error(
                    StatusCode::FORBIDDEN,
                    "invalid_grant",
                    "Unknown or invalid refresh token.",
                );
            }
            if let Some(when) = retired {
                // No leeway at all is no tolerance at all, however soon the reuse comes.
                if leeway.is_zero() || when.elapsed() > leeway {
                    // Reuse after the leeway: the whole family dies.
                    s.dead_families.push(family);
                    return oauth_error(
                        StatusCode::FORBIDDEN,
                        "invalid_grant",
                        "Unknown or invalid refresh token.",
                    );
                }
            } else if let Some(entry) = s.refresh.get_mut(&token) {
                entry.retired = Some(Instant::now());
            }
            s.refreshed.push(Refreshed {
                family,
                reused: retired.is_some(),
            });
            issue(&mut s, family, &app.client_id)
        }
        other => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("{other} is not supported"),
        ),
    }
}

/// New access (and, with offline_access, refresh) token for a family.
fn issue(s: &mut Inner, family: u64, client_id: &str) -> Response {
    let n = s.next;
    s.next += 1;
    let access = format!("access-{family}-{n}");
    let scopes = s.family_scopes.get(&family).cloned().unwrap_or_default();
    s.access.insert(
        access.clone(),
        Access {
            family,
            expires: Instant::now() + Duration::from_secs(s.access_ttl),
        },
    );
    let mut answer = json!({
        "access_token": access,
        "expires_in": s.access_ttl,
        "scope": scopes.join(" "),
        "token_type": "Bearer",
    });
    if s.grant_offline && scopes.iter().any(|scope| scope == "offline_access") {
        let refresh = format!("refresh-{family}-{n}");
        s.refresh.insert(
            refresh.clone(),
            Refresh {
                family,
                client_id: client_id.to_owned(),
                retired: None,
            },
        );
        answer["refresh_token"] = Value::String(refresh);
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        answer.to_string(),
    )
        .into_response()
}

/// The family of the request's (valid) access token.
fn bearer_family(s: &Inner, headers: &HeaderMap) -> Option<u64> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))?;
    s.access.get(token).map(|a| a.family)
}

fn bearer_ok(s: &Inner, headers: &HeaderMap) -> bool {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    s.access
        .get(token)
        .is_some_and(|a| a.expires > Instant::now() && !s.dead_families.contains(&a.family))
}

async fn resources(State(inner): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(answer) = fault(&inner, Endpoint::Resources).await {
        return answer;
    }
    let s = inner.lock().expect("fake state");
    if !bearer_ok(&s, &headers) {
        return (StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
    }
    let sites: Vec<Value> = s
        .sites
        .iter()
        .map(|site| json!({"id": site.id, "name": site.name, "url": site.url, "scopes": site.scopes, "avatarUrl": "https://example.invalid/a.png"}))
        .collect();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        Value::Array(sites).to_string(),
    )
        .into_response()
}

async fn myself(
    State(inner): State<Shared>,
    Path(cloud_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(answer) = fault(&inner, Endpoint::Myself).await {
        return answer;
    }
    let s = inner.lock().expect("fake state");
    if !bearer_ok(&s, &headers) {
        let body = json!({"errorMessages": ["You are not authenticated."], "errors": {}});
        return (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response();
    }
    if !s.sites.iter().any(|site| site.id == cloud_id) {
        return (StatusCode::NOT_FOUND, "no such site").into_response();
    }
    let family = bearer_family(&s, &headers);
    let (account_id, name, email) = match family.and_then(|f| s.family_accounts.get(&f)) {
        Some(account) => (
            format!("acct-{account}"),
            format!("User {account}"),
            format!("{account}@acme.example"),
        ),
        None => s.user.clone(),
    };
    let body = json!({"accountId": account_id, "displayName": name, "emailAddress": email, "active": true});
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}
