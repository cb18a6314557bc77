//! The token calls: code exchange and refresh, made by the `oauth2` crate over our own
//! reqwest client (rustls, timeouts, no redirects), client credentials in a form-encoded
//! body as working integrations send them. The crate's errors drop the HTTP status, so every
//! answer is also recorded and a failure is classified from the status and body themselves.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use oauth2::basic::BasicClient;
use oauth2::{
    AsyncHttpClient, AuthType, AuthorizationCode, ClientId, ClientSecret, HttpClientError,
    HttpRequest, HttpResponse, RedirectUrl, RefreshToken, RequestTokenError, TokenResponse,
    TokenUrl,
};
use serde::Deserialize;
use url::Url;

use super::errors::{During, ProtocolError, classify};
use crate::domain::Secret;

/// What the token endpoint needs to know about an app.
#[derive(Clone, Debug, PartialEq)]
pub struct AppCredentials {
    pub client_id: String,
    pub client_secret: Secret,
    pub token_url: Url,
    /// Usually the token URL; a profile may name another (the seed's step xi).
    pub refresh_url: Url,
}

/// What a successful token call returned.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenGrant {
    pub access_token: Secret,
    pub expires_in: Option<u64>,
    /// Present only when offline_access was granted (exchange) and on every refresh.
    pub refresh_token: Option<Secret>,
    pub scopes: Vec<String>,
}

/// How long one call to Atlassian may take in all; the agent's clients wait this plus a margin.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The one HTTP client: 10 s to connect, 30 s per call, never follows redirects (a token
/// endpoint that redirects is misconfigured, and following would leak the form elsewhere).
pub fn http_client() -> reqwest::Client {
    http_client_with(Duration::from_secs(10), CALL_TIMEOUT)
}

pub fn http_client_with(connect: Duration, total: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(connect)
        .timeout(total)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("jira-auth/", env!("CARGO_PKG_VERSION")))
        .build()
        // Building fails only when the TLS backend cannot initialise, which rustls with its
        // bundled roots does not do; there is no client to fall back to anyway.
        .unwrap_or_else(|e| panic!("the HTTP client cannot be built: {e}"))
}

/// Trades an authorization code for tokens.
pub async fn exchange_code(
    http: &reqwest::Client,
    app: &AppCredentials,
    code: &str,
    redirect_uri: &str,
) -> Result<TokenGrant, ProtocolError> {
    let redirect =
        RedirectUrl::new(redirect_uri.to_owned()).map_err(|e| ProtocolError::Unexpected {
            status: 0,
            excerpt: format!("the callback URL does not parse: {e}"),
        })?;
    let client = oauth_client(app, &app.token_url).set_redirect_uri(redirect);
    let recorder = Recorder::new(http);
    let result = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .request_async(&recorder)
        .await;
    finish(result, &recorder, During::Exchange)
}

/// Trades a refresh token for a new access token and a new (rotated) refresh token.
pub async fn refresh(
    http: &reqwest::Client,
    app: &AppCredentials,
    refresh_token: &Secret,
) -> Result<TokenGrant, ProtocolError> {
    let client = oauth_client(app, &app.refresh_url);
    let recorder = Recorder::new(http);
    let token = RefreshToken::new(refresh_token.expose().to_owned());
    let result = client
        .exchange_refresh_token(&token)
        .request_async(&recorder)
        .await;
    finish(result, &recorder, During::Refresh)
}

fn oauth_client(
    app: &AppCredentials,
    token_url: &Url,
) -> BasicClient<
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
> {
    BasicClient::new(ClientId::new(app.client_id.clone()))
        .set_client_secret(ClientSecret::new(app.client_secret.expose().to_owned()))
        // 3LO apps are confidential clients; Atlassian documents the credentials in the body.
        .set_auth_type(AuthType::RequestBody)
        .set_token_uri(TokenUrl::from_url(token_url.clone()))
}

type OAuthResult<T> = Result<
    T,
    RequestTokenError<HttpClientError<reqwest::Error>, oauth2::basic::BasicErrorResponse>,
>;

fn finish(
    result: OAuthResult<oauth2::basic::BasicTokenResponse>,
    recorder: &Recorder<'_>,
    during: During,
) -> Result<TokenGrant, ProtocolError> {
    match result {
        Ok(response) => Ok(TokenGrant {
            access_token: Secret::new(response.access_token().secret().clone()),
            expires_in: response.expires_in().map(|d| d.as_secs()),
            refresh_token: response
                .refresh_token()
                .map(|t| Secret::new(t.secret().clone())),
            scopes: response
                .scopes()
                .map(|s| s.iter().map(|s| s.to_string()).collect())
                .unwrap_or_default(),
        }),
        Err(RequestTokenError::Request(e)) => Err(unanswered(&e, during)),
        Err(_) => match recorder.last() {
            // oauth2 insists on `token_type` and a JSON Content-Type. When Atlassian answers
            // 200 it has already disabled the refresh token just used, so any grant we can
            // read at all is kept: refusing it would lose the rotated token.
            Some((status, body)) if (200..300).contains(&status) => {
                liberal_grant(&body).ok_or_else(|| classify(status, &body, during))
            }
            Some((status, body)) => Err(classify(status, &body, during)),
            None => Err(ProtocolError::Unexpected {
                status: 0,
                excerpt: "no answer was recorded".into(),
            }),
        },
    }
}

/// A token answer read with only `access_token` required.
#[derive(Deserialize)]
struct LiberalGrant {
    access_token: String,
    /// A number as the RFC says, or a number in a string as some proxies re-encode it.
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

fn liberal_grant(body: &[u8]) -> Option<TokenGrant> {
    let parsed: LiberalGrant = serde_json::from_slice(body).ok()?;
    if parsed.access_token.is_empty() {
        return None;
    }
    Some(TokenGrant {
        access_token: Secret::new(parsed.access_token),
        expires_in: parsed
            .expires_in
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.trim().parse().ok())),
        refresh_token: parsed
            .refresh_token
            .filter(|t| !t.is_empty())
            .map(Secret::new),
        scopes: parsed
            .scope
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default(),
    })
}

/// A call that got no answer, sorted by whether Atlassian can have seen it: one that never
/// connected (refused, no route, a connect timeout) or never left this process was not
/// received, and nothing was lost; once connected, the form may have arrived and been acted
/// on (a rotation, a spent code) before the answer was lost, so the outcome is unknown.
fn unanswered(error: &HttpClientError<reqwest::Error>, during: During) -> ProtocolError {
    let unsent = match error {
        HttpClientError::Reqwest(e) => e.is_connect() || e.is_builder(),
        // Building the answer, or reading its body, failed: the call was made.
        _ => false,
    };
    let reason = network_reason(error);
    if unsent {
        ProtocolError::Network(reason)
    } else {
        ProtocolError::NoAnswer { during, reason }
    }
}

/// The reason a request never got an answer, without reqwest's URL (which has no secret,
/// but is noise) and without a chain of "error sending request" wrappers.
fn network_reason(error: &HttpClientError<reqwest::Error>) -> String {
    match error {
        // A connect timeout is both: it never connected.
        HttpClientError::Reqwest(e) if e.is_connect() => "the connection failed".to_owned(),
        HttpClientError::Reqwest(e) if e.is_timeout() => "the call timed out".to_owned(),
        HttpClientError::Reqwest(e) => {
            let mut reason = e.to_string();
            let mut source = std::error::Error::source(e.as_ref());
            while let Some(inner) = source {
                reason = inner.to_string();
                source = inner.source();
            }
            crate::validate::text::sanitize(&reason, crate::validate::text::URL_CAP)
        }
        other => {
            crate::validate::text::sanitize(&other.to_string(), crate::validate::text::URL_CAP)
        }
    }
}

/// Our reqwest client, remembering the status and body of the last answer.
struct Recorder<'a> {
    http: &'a reqwest::Client,
    last: Mutex<Option<(u16, Vec<u8>)>>,
}

impl<'a> Recorder<'a> {
    fn new(http: &'a reqwest::Client) -> Self {
        Recorder {
            http,
            last: Mutex::new(None),
        }
    }

    fn last(&self) -> Option<(u16, Vec<u8>)> {
        self.last.lock().ok().and_then(|last| last.clone())
    }
}

impl<'c> AsyncHttpClient<'c> for Recorder<'_> {
    type Error = HttpClientError<reqwest::Error>;
    type Future =
        Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + Sync + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let response = self.http.call(request).await?;
            if let Ok(mut last) = self.last.lock() {
                *last = Some((response.status().as_u16(), response.body().clone()));
            }
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_is_read_with_only_the_access_token_required() {
        let grant = liberal_grant(
            br#"{"access_token":"AT","expires_in":" 3600 ","refresh_token":"RT","scope":"a  b"}"#,
        )
        .expect("a grant");
        assert_eq!(grant.access_token.expose(), "AT");
        assert_eq!(grant.expires_in, Some(3600));
        assert_eq!(grant.refresh_token.as_ref().map(Secret::expose), Some("RT"));
        assert_eq!(grant.scopes, ["a", "b"]);
        let bare = liberal_grant(br#"{"access_token":"AT","refresh_token":"","scope":null}"#)
            .expect("a grant");
        assert_eq!((bare.expires_in, bare.refresh_token), (None, None));
        for unreadable in [
            &br#"{"access_token":""}"#[..],
            br#"{"access_token":42}"#,
            br#"{"error":"invalid_grant"}"#,
            b"<html>",
        ] {
            assert!(liberal_grant(unreadable).is_none());
        }
    }
}
