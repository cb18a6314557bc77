//! One request to Jira with a grant's token: the path confined to the grant's API base, a
//! 401 answered once by a renewed token, `Retry-After` honoured within a cap, redirects never
//! followed (the token must not go where Jira points), and the answer handed back unread so
//! its body streams.

use std::time::{Duration, SystemTime};

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use url::Url;

use super::grant::{Bearer, GrantError, GrantToken};
use super::payload::Payload;
use super::target::{self, TargetError};
use crate::exit::{Exit, Exits};

/// How long a connection to Jira may take to open, and one read may wait.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(120);
/// The wait for a 429 or 503 that names none: then doubled on each try.
const FIRST_WAIT: Duration = Duration::from_secs(1);

/// The HTTP client every call to Jira goes through.
#[derive(Clone)]
pub struct Upstream {
    http: reqwest::Client,
}

impl Upstream {
    pub fn new() -> Result<Upstream, SendError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .pool_max_idle_per_host(128)
            .user_agent(concat!("jira-auth/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SendError::Network {
                host: String::new(),
                reason: e.to_string(),
            })?;
        Ok(Upstream { http })
    }
}

/// What to send.
pub struct Call {
    pub method: Method,
    /// A path under the API base, or a full URL under it (see [`target::resolve`]).
    pub path: String,
    /// The caller's headers; `Authorization` and cookies are never taken from here.
    pub headers: HeaderMap,
    pub payload: Payload,
}

/// Which answers to wait out, and for how long in all.
pub struct Waits<'a> {
    pub statuses: &'a [StatusCode],
    pub cap: Duration,
    /// Told each wait before it starts (the CLI says it on stderr).
    pub tell: &'a (dyn Fn(Duration, StatusCode) + Sync),
}

/// Jira's answer, its body unread.
pub struct Answer {
    pub response: reqwest::Response,
    pub url: Url,
    /// A wait Jira asked for that was not taken: past the cap, or the body could not be
    /// sent again.
    pub declined_wait: Option<Duration>,
    /// How long was waited before this answer, in all.
    pub waited: Duration,
    /// Whether a 401 was answered by a renewed token before this answer.
    pub renewed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    Grant(#[from] GrantError),
    #[error("cannot reach Jira at {host}: {reason}")]
    Network { host: String, reason: String },
    #[error("cannot read the request body: {0}")]
    Body(std::io::Error),
}

impl Exits for SendError {
    fn exit(&self) -> Exit {
        match self {
            SendError::Target(e) => e.exit(),
            SendError::Grant(e) => e.exit(),
            SendError::Network { .. } => Exit::Temporary,
            SendError::Body(_) => Exit::Usage,
        }
    }
}

/// Headers a caller may never set: the token is the grant's, and cookies or hop-by-hop
/// headers of the caller's connection mean nothing to Jira.
pub const NEVER_FORWARDED: [header::HeaderName; 11] = [
    header::AUTHORIZATION,
    header::PROXY_AUTHORIZATION,
    header::COOKIE,
    header::HOST,
    header::CONNECTION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::PROXY_AUTHENTICATE,
    header::CONTENT_LENGTH,
];

impl Upstream {
    /// Sends `call`, renewing the token once on a 401 and waiting out `waits` when the
    /// body can be sent again.
    pub async fn send(
        &self,
        grant: &GrantToken,
        mut call: Call,
        waits: Option<&Waits<'_>>,
    ) -> Result<Answer, SendError> {
        let mut bearer = grant.bearer().await?;
        let mut renewed = false;
        let mut waited = Duration::ZERO;
        let mut next_wait = FIRST_WAIT;
        loop {
            let url = target::resolve(&bearer.api_base, &call.path)?;
            let response = self.once(&bearer, &url, &mut call).await?;
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && !renewed && call.payload.replayable() {
                renewed = true;
                drop(response);
                bearer = grant.renew(&bearer).await?;
                continue;
            }
            let Some(waits) = waits.filter(|w| w.statuses.contains(&status)) else {
                return Ok(Answer {
                    response,
                    url,
                    declined_wait: None,
                    waited,
                    renewed,
                });
            };
            let asked = super::retry_after::parse(
                response
                    .headers()
                    .get(header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok()),
                SystemTime::now(),
            );
            let wait = asked.unwrap_or(next_wait);
            next_wait = (next_wait * 2).min(waits.cap.max(FIRST_WAIT));
            if waited + wait > waits.cap || !call.payload.replayable() {
                return Ok(Answer {
                    response,
                    url,
                    declined_wait: Some(wait),
                    waited,
                    renewed,
                });
            }
            drop(response);
            (waits.tell)(wait, status);
            tokio::time::sleep(wait).await;
            waited += wait;
        }
    }

    async fn once(
        &self,
        bearer: &Bearer,
        url: &Url,
        call: &mut Call,
    ) -> Result<reqwest::Response, SendError> {
        let mut headers = call.headers.clone();
        for name in &NEVER_FORWARDED {
            headers.remove(name);
        }
        let mut value =
            HeaderValue::try_from(format!("Bearer {}", bearer.token)).map_err(|_| {
                SendError::Body(std::io::Error::other("the token is not a header value"))
            })?;
        value.set_sensitive(true);
        headers.insert(header::AUTHORIZATION, value);
        let mut request = self
            .http
            .request(call.method.clone(), url.clone())
            .headers(headers);
        if let Some((body, len)) = call.payload.body().await.map_err(SendError::Body)? {
            // A stream's length is sent when known, so Jira sees a sized body, not chunks.
            if let Some(len) = len {
                request = request.header(header::CONTENT_LENGTH, len);
            }
            request = request.body(body);
        }
        request.send().await.map_err(|e| SendError::Network {
            host: url.host_str().unwrap_or_default().to_owned(),
            reason: reason(&e),
        })
    }
}

/// A reqwest error as a sentence: its chain of causes, never its URL (a query may carry
/// what a log should not).
pub fn reason(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "the connection failed".to_owned()
    } else {
        "the request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    crate::validate::text::sanitize(&text, crate::validate::text::SENTENCE_CAP)
}
