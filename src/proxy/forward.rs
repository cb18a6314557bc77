//! One request through the proxy: who may send it, what of it goes to Jira (never the
//! caller's credentials, never a path off the grant's base), and Jira's answer handed back
//! as Jira gave it, its body streamed. What the proxy itself refuses comes back as JSON in
//! Jira's own error shape, so a client that prints `errorMessages` prints our sentence.

use std::time::Duration;

use bytes::Bytes;
use futures_util::TryStreamExt;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyDataStream, BodyExt, Full};
use hyper::body::{Body, Incoming};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::grants::Grants;
use super::key::ProxyKey;
use crate::domain::Mode;
use crate::exit::{Exit, Exits};
use crate::jira::send::NEVER_FORWARDED;
use crate::jira::{Call, Payload, SendError, Upstream, Waits};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;

/// The header that names a user-authorized integration's end user.
pub const USER_HEADER: &str = "x-jira-auth-user";
/// On every answer the proxy makes itself (not Jira's): the exit code `jira-auth api` would
/// give, so a script tells our refusals from Jira's.
pub const EXIT_HEADER: &str = "x-jira-auth-exit";

/// Who is on the other end of a connection, as its transport tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// On the Unix socket, with this user's uid.
    Owner,
    /// On the Unix socket, with another uid (root, or a socket whose mode was loosened).
    Stranger { uid: u32 },
    /// On loopback TCP: anyone on the host, until the request shows the key.
    Loopback,
}

pub struct Proxy {
    pub upstream: Upstream,
    pub grants: Grants,
    /// The key TCP callers show; `None` on the Unix socket.
    pub key: Option<ProxyKey>,
    pub retry_429: Option<Duration>,
}

impl Proxy {
    /// Jira's answer to `request`, or the proxy's refusal.
    pub async fn answer(&self, request: Request<Incoming>, caller: Caller) -> Response<ProxyBody> {
        match self.forward(request, caller).await {
            Ok(response) => response,
            Err(refusal) => refusal.response(),
        }
    }

    async fn forward(
        &self,
        request: Request<Incoming>,
        caller: Caller,
    ) -> Result<Response<ProxyBody>, Refusal> {
        if let Caller::Stranger { uid } = caller {
            return Err(Refusal::new(
                StatusCode::FORBIDDEN,
                Exit::Usage,
                format!(
                    "this proxy serves uid {} only, and this connection is uid {uid}'s",
                    crate::config::own_uid()
                ),
            ));
        }
        let uri = request.uri();
        if request.method() == Method::CONNECT {
            return Err(Refusal::new(
                StatusCode::METHOD_NOT_ALLOWED,
                Exit::Usage,
                "CONNECT is refused: this is a reverse proxy to the grant's Jira API, not a tunnel",
            ));
        }
        if uri.scheme().is_some() || uri.authority().is_some() || !uri.path().starts_with('/') {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                Exit::Usage,
                "the request names a host (absolute-form); send a path such as /rest/api/3/myself, and the proxy adds Jira's host",
            ));
        }
        if caller == Caller::Loopback
            && let Some(key) = &self.key
            && !key.admits(
                request
                    .headers()
                    .get(header::AUTHORIZATION)
                    .map(HeaderValue::as_bytes),
            )
        {
            return Err(Refusal::new(
                StatusCode::UNAUTHORIZED,
                Exit::Usage,
                format!(
                    "the proxy key is missing or wrong; send `Authorization: Bearer <key>` with the key in {}",
                    key.file.display()
                ),
            ));
        }
        let user = self.user(request.headers())?;
        let path = uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
        let method = request.method().clone();
        let headers = forwarded(request.headers());
        let payload = payload(request.into_body()).await?;
        let grant = self.grants.of(user.as_deref());
        let call = Call {
            method,
            path,
            headers,
            payload,
        };
        let tell = |wait: Duration, status: reqwest::StatusCode| {
            super::log(format_args!(
                "Jira answered {status}; waiting {} s as it asks",
                wait.as_secs_f64().ceil()
            ));
        };
        let waits = self.retry_429.map(|cap| Waits {
            statuses: &[reqwest::StatusCode::TOO_MANY_REQUESTS],
            cap,
            tell: &tell,
        });
        let answer = self
            .upstream
            .send(&grant, call, waits.as_ref())
            .await
            .map_err(|e| Refusal::of_send(&e))?;
        let mut response: Response<reqwest::Body> = answer.response.into();
        strip_hop_by_hop(response.headers_mut());
        Ok(response.map(|body| body.map_err(BoxError::from).boxed_unsync()))
    }

    /// The end user the request names, checked against the integration's mode.
    fn user(&self, headers: &HeaderMap) -> Result<Option<String>, Refusal> {
        let integration = &self.grants.integration;
        let given = match headers.get(USER_HEADER) {
            None => None,
            Some(value) => {
                let text = value.to_str().map(str::trim).unwrap_or_default();
                if text.is_empty()
                    || text.len() > 256
                    || text.chars().any(|c| c.is_control() || c == ' ')
                {
                    return Err(Refusal::new(
                        StatusCode::BAD_REQUEST,
                        Exit::Usage,
                        "X-Jira-Auth-User must be an end user's id: printable, no spaces, at most 256 characters",
                    ));
                }
                Some(text.to_owned())
            }
        };
        match (self.grants.mode, given) {
            (Mode::UserAuthorized, None) => Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                Exit::Usage,
                format!(
                    "{integration} is user-authorized: name the end user with the X-Jira-Auth-User header"
                ),
            )),
            (Mode::PreAuthorized, Some(_)) => Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                Exit::Usage,
                format!(
                    "{integration} is pre-authorized: one token serves everyone, so X-Jira-Auth-User does not apply; leave it out"
                ),
            )),
            (_, given) => Ok(given),
        }
    }
}

/// The caller's headers that go on to Jira: not its credentials or cookies, not the
/// connection's own (hop-by-hop, and any the `Connection` header names), not ours.
fn forwarded(headers: &HeaderMap) -> HeaderMap {
    let mut out = headers.clone();
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in NEVER_FORWARDED.iter().chain(&named) {
        out.remove(name);
    }
    for name in [USER_HEADER, "keep-alive", "proxy-connection", "expect"] {
        out.remove(name);
    }
    out
}

/// Hop-by-hop headers of Jira's answer: they belong to that connection, not this one.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        header::TRAILER,
        header::PROXY_AUTHENTICATE,
    ] {
        headers.remove(name);
    }
    headers.remove("keep-alive");
}

/// The request body, kept in memory when small (so a 401 or a 429 can be answered by
/// sending it again) and streamed once when large.
async fn payload(body: Incoming) -> Result<Payload, Refusal> {
    if body.is_end_stream() {
        return Ok(Payload::Empty);
    }
    let len = body.size_hint().exact();
    let stream = BodyDataStream::new(body).map_err(BoxError::from);
    Payload::read_ahead(Box::pin(stream), len)
        .await
        .map_err(|e| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                Exit::Usage,
                format!("the request body could not be read: {e}"),
            )
        })
}

/// An answer the proxy makes itself.
#[derive(Debug)]
pub struct Refusal {
    status: StatusCode,
    exit: Exit,
    sentence: String,
}

impl Refusal {
    fn new(status: StatusCode, exit: Exit, sentence: impl Into<String>) -> Refusal {
        Refusal {
            status,
            exit,
            sentence: sentence.into(),
        }
    }

    fn of_send(error: &SendError) -> Refusal {
        let exit = error.exit();
        let status = match error {
            SendError::Target(_) | SendError::Body(_) => StatusCode::BAD_REQUEST,
            SendError::Network { .. } => StatusCode::BAD_GATEWAY,
            SendError::Grant(_) => match exit {
                // No such integration or user: the sentence says which exist.
                Exit::Usage => StatusCode::NOT_FOUND,
                Exit::Temporary => StatusCode::SERVICE_UNAVAILABLE,
                // Re-authorization needed, or the agent failed: Jira was never asked.
                _ => StatusCode::BAD_GATEWAY,
            },
        };
        Refusal::new(status, exit, error.to_string())
    }

    fn response(self) -> Response<ProxyBody> {
        let body = serde_json::json!({
            "errorMessages": [self.sentence],
            "errors": {},
            "exit": self.exit.code(),
        });
        let mut response = Response::new(
            Full::new(Bytes::from(body.to_string()))
                .map_err(|never| match never {})
                .boxed_unsync(),
        );
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(EXIT_HEADER, HeaderValue::from(u16::from(self.exit.code())));
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"jira-auth proxy\""),
            );
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_cookies_and_the_connections_headers_stay_behind() {
        let mut given = HeaderMap::new();
        for (name, value) in [
            ("authorization", "Bearer proxy-key"),
            ("cookie", "session=1"),
            ("host", "jira"),
            ("connection", "keep-alive, x-hop"),
            ("x-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("x-jira-auth-user", "U1"),
            ("proxy-authorization", "Basic x"),
            ("accept", "application/json"),
            ("x-atlassian-token", "no-check"),
        ] {
            given.append(name, HeaderValue::from_static(value));
        }
        let out = forwarded(&given);
        let mut names: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["accept", "x-atlassian-token"]);
    }

    #[test]
    fn refusals_speak_jiras_error_shape() {
        let response = Refusal::new(StatusCode::NOT_FOUND, Exit::Usage, "no such user").response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()[EXIT_HEADER], "2");
    }
}
