//! The protocol client's wire format and error classes against a tiny scripted stub on
//! 127.0.0.1: each test queues the answers it wants and then reads back exactly what the
//! client sent. (The stateful fake Atlassian in `tests/support/` proves the flows; this stub
//! proves the bytes.)

use jira_auth::exit::{Exit, Exits};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use jira_auth::atlassian::client::{self, AppCredentials};
use jira_auth::atlassian::errors::ProtocolError;
use jira_auth::atlassian::{Endpoints, resources};
use jira_auth::domain::Secret;

const CLIENT_ID: &str = "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56";
/// Characters that break a hand-made form body if they are not encoded.
const CLIENT_SECRET: &str = "ATOA+s3cr&t=/x%20y";
const CALLBACK: &str = "http://localhost:8717/callback?team=a&b=c";
const TOKEN_JSON: &str = r#"{"access_token":"AT-1","expires_in":3600,"token_type":"Bearer","refresh_token":"RT-2","scope":"read:jira-work offline_access"}"#;

/// One answer the stub gives, in queue order.
#[derive(Clone)]
struct Canned {
    status: u16,
    content_type: &'static str,
    body: String,
    location: Option<&'static str>,
    delay: Duration,
}

fn answer(status: u16, body: &str) -> Canned {
    Canned {
        status,
        content_type: "application/json",
        body: body.to_owned(),
        location: None,
        delay: Duration::ZERO,
    }
}

/// What the client sent.
#[derive(Clone, Debug)]
struct Seen {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Seen {
    fn form(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }

    fn header(&self, name: header::HeaderName) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

#[derive(Default)]
struct Script {
    answers: VecDeque<Canned>,
    seen: Vec<Seen>,
}

type Shared = Arc<Mutex<Script>>;

struct Stub {
    base: String,
    script: Shared,
}

impl Stub {
    async fn start() -> Stub {
        let script = Shared::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = Router::new().fallback(respond).with_state(script.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Stub { base, script }
    }

    fn queue(&self, canned: Canned) {
        self.script.lock().unwrap().answers.push_back(canned);
    }

    fn seen(&self) -> Vec<Seen> {
        self.script.lock().unwrap().seen.clone()
    }

    fn endpoints(&self) -> Endpoints {
        Endpoints::from_overrides(Some(&self.base), Some(&self.base))
    }

    fn app(&self) -> AppCredentials {
        let endpoints = self.endpoints();
        AppCredentials {
            client_id: CLIENT_ID.into(),
            client_secret: Secret::new(CLIENT_SECRET),
            token_url: endpoints.token_url(),
            refresh_url: endpoints.token_url(),
        }
    }
}

async fn respond(
    State(script): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let canned = {
        let mut script = script.lock().unwrap();
        script.seen.push(Seen {
            method,
            path: uri.path().to_owned(),
            headers,
            body: body.to_vec(),
        });
        script.answers.pop_front()
    };
    let Some(canned) = canned else {
        return StatusCode::NOT_FOUND.into_response();
    };
    tokio::time::sleep(canned.delay).await;
    let mut response = (
        StatusCode::from_u16(canned.status).unwrap(),
        [(header::CONTENT_TYPE, canned.content_type)],
        canned.body,
    )
        .into_response();
    if let Some(location) = canned.location {
        response
            .headers_mut()
            .insert(header::LOCATION, location.parse().unwrap());
    }
    response
}

async fn exchange(stub: &Stub) -> Result<client::TokenGrant, ProtocolError> {
    client::exchange_code(&client::http_client(), &stub.app(), "CODE-1", CALLBACK).await
}

async fn refresh(stub: &Stub) -> Result<client::TokenGrant, ProtocolError> {
    client::refresh(&client::http_client(), &stub.app(), &Secret::new("RT-1")).await
}

#[tokio::test]
async fn the_exchange_is_a_form_with_the_credentials_in_the_body() {
    let stub = Stub::start().await;
    stub.queue(answer(200, TOKEN_JSON));
    let grant = exchange(&stub).await.unwrap();
    assert_eq!(grant.access_token.expose(), "AT-1");
    assert_eq!(grant.expires_in, Some(3600));
    assert_eq!(
        grant.refresh_token.as_ref().map(Secret::expose),
        Some("RT-2")
    );
    assert_eq!(grant.scopes, ["read:jira-work", "offline_access"]);

    let seen = stub.seen();
    let [request] = seen.as_slice() else {
        panic!("one request, got {seen:?}")
    };
    assert_eq!(request.method, Method::POST);
    assert_eq!(request.path, "/oauth/token");
    assert!(
        request
            .header(header::CONTENT_TYPE)
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded")),
        "{request:?}"
    );
    assert_eq!(
        request.header(header::AUTHORIZATION),
        None,
        "no HTTP Basic: Atlassian wants the credentials in the body"
    );
    assert!(
        request
            .header(header::USER_AGENT)
            .is_some_and(|agent| agent.starts_with("jira-auth/")),
        "{request:?}"
    );
    let expected: HashMap<String, String> = [
        ("grant_type", "authorization_code"),
        ("code", "CODE-1"),
        ("redirect_uri", CALLBACK),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(
        request.form(),
        expected,
        "exactly these fields, round-tripped"
    );
}

#[tokio::test]
async fn a_refresh_goes_to_the_refresh_url_and_brings_the_rotated_token() {
    let stub = Stub::start().await;
    let mut app = stub.app();
    app.refresh_url = format!("{}/other/refresh", stub.base).parse().unwrap();
    stub.queue(answer(200, TOKEN_JSON));
    let grant = client::refresh(&client::http_client(), &app, &Secret::new("RT-1"))
        .await
        .unwrap();
    assert_eq!(
        grant.refresh_token.as_ref().map(Secret::expose),
        Some("RT-2")
    );
    let seen = stub.seen();
    assert_eq!(seen[0].path, "/other/refresh");
    let form = seen[0].form();
    assert_eq!(form["grant_type"], "refresh_token");
    assert_eq!(form["refresh_token"], "RT-1");
    assert_eq!(form["client_id"], CLIENT_ID);
    assert_eq!(form["client_secret"], CLIENT_SECRET);
    assert!(!form.contains_key("redirect_uri") && !form.contains_key("scope"));
}

#[tokio::test]
async fn a_token_answer_is_read_liberally_so_a_rotation_is_never_dropped() {
    // Atlassian has already disabled RT-1 when it answers: failing to read RT-2 would lose
    // the grant after the reuse leeway.
    let stub = Stub::start().await;
    stub.queue(answer(
        200,
        r#"{"access_token":"AT-1","expires_in":"3600","refresh_token":"RT-2","scope":"read:jira-work","extra":{"x":1}}"#,
    ));
    let grant = refresh(&stub)
        .await
        .expect("no token_type is no reason to fail");
    assert_eq!(
        grant.refresh_token.as_ref().map(Secret::expose),
        Some("RT-2")
    );
    assert_eq!(grant.expires_in, Some(3600));
    assert_eq!(grant.scopes, ["read:jira-work"]);

    stub.queue(Canned {
        content_type: "text/plain;charset=UTF-8",
        ..answer(200, TOKEN_JSON)
    });
    let grant = refresh(&stub)
        .await
        .expect("a wrong Content-Type is no reason to fail");
    assert_eq!(
        grant.refresh_token.as_ref().map(Secret::expose),
        Some("RT-2")
    );
}

#[tokio::test]
async fn an_unreadable_token_answer_never_shows_the_tokens_it_holds() {
    let stub = Stub::start().await;
    stub.queue(answer(
        200,
        r#"{"access_token":42,"refresh_token":"RT-SECRET-VALUE","token_type":"Bearer"}"#,
    ));
    let error = refresh(&stub).await.unwrap_err();
    assert!(
        matches!(error, ProtocolError::Unexpected { status: 200, .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(!text.contains("RT-SECRET-VALUE"), "{text}");
    assert!(
        text.contains("refresh_token"),
        "the shape is still shown: {text}"
    );
}

#[tokio::test]
async fn each_answer_is_classified_over_the_wire() {
    let stub = Stub::start().await;

    stub.queue(answer(
        401,
        r#"{"error":"access_denied","error_description":"Unauthorized"}"#,
    ));
    let error = exchange(&stub).await.unwrap_err();
    assert_eq!(error, ProtocolError::BadClientSecret);
    assert_eq!(error.exit(), Exit::Usage);

    let dead =
        r#"{"error":"invalid_grant","error_description":"Unknown or invalid refresh token."}"#;
    stub.queue(answer(403, dead));
    let error = refresh(&stub).await.unwrap_err();
    assert!(
        matches!(error, ProtocolError::RefreshRefused { .. }),
        "{error:?}"
    );
    assert!(error.needs_reauthorization() && error.exit() == Exit::Reauthorize);

    stub.queue(answer(403, r#"{"error":"invalid_grant"}"#));
    let error = exchange(&stub).await.unwrap_err();
    assert!(
        matches!(error, ProtocolError::CodeRefused { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("step vi"));

    stub.queue(Canned {
        content_type: "text/html",
        ..answer(500, "<html><body>Internal error</body></html>")
    });
    let error = refresh(&stub).await.unwrap_err();
    assert!(
        matches!(error, ProtocolError::Server { status: 500, .. })
            && error.exit() == Exit::Temporary,
        "{error:?}"
    );

    // A gateway in trouble may echo an OAuth error; a 5xx still never costs the refresh token.
    stub.queue(answer(503, dead));
    let error = refresh(&stub).await.unwrap_err();
    assert!(
        error.is_temporary() && !error.needs_reauthorization(),
        "{error:?}"
    );

    stub.queue(answer(429, r#"{"error":"rate_limited"}"#));
    let error = refresh(&stub).await.unwrap_err();
    assert!(
        error.is_temporary(),
        "being throttled is temporary: {error:?}"
    );

    stub.queue(Canned {
        content_type: "text/html",
        ..answer(200, "<html>captive portal</html>")
    });
    let error = exchange(&stub).await.unwrap_err();
    assert!(
        matches!(error, ProtocolError::Unexpected { status: 200, .. })
            && error.exit() == Exit::Failed,
        "{error:?}"
    );
    assert!(error.to_string().contains("captive portal"));

    stub.queue(answer(
        400,
        r#"{"error":"invalid_client","error_description":"\u001b]0;pwned\u0007\u001b[31mUnknown client\u001b[0m"}"#,
    ));
    let error = exchange(&stub).await.unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(error, ProtocolError::OAuth { status: 400, .. }) && text.contains("step iv"),
        "{error:?}"
    );
    assert!(text.contains("Unknown client"), "{text:?}");
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}') && !text.contains("pwned"),
        "{text:?}"
    );
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let stub = Stub::start().await;
    stub.queue(Canned {
        location: Some("/elsewhere"),
        ..answer(302, "")
    });
    let error = exchange(&stub).await.unwrap_err();
    assert!(
        matches!(error, ProtocolError::Unexpected { status: 302, .. }),
        "{error:?}"
    );
    assert_eq!(
        stub.seen().len(),
        1,
        "the form was not sent on to the Location"
    );
}

#[tokio::test]
async fn a_slow_or_absent_server_is_a_network_error() {
    let stub = Stub::start().await;
    stub.queue(Canned {
        delay: Duration::from_secs(5),
        ..answer(200, TOKEN_JSON)
    });
    let impatient =
        client::http_client_with(Duration::from_millis(300), Duration::from_millis(300));
    let error = client::exchange_code(&impatient, &stub.app(), "CODE-1", CALLBACK)
        .await
        .unwrap_err();
    // The form was sent: whether the code was spent is unknown, and the sentence says so.
    assert!(
        matches!(error, ProtocolError::NoAnswer { .. })
            && error.exit() == Exit::Temporary
            && error.to_string().contains("unknown")
            && !error.to_string().contains("nothing was lost"),
        "{error:?}"
    );

    // A refresh that reached the server and timed out may have rotated the token: the
    // sentence says the outcome is unknown, the retry with the token held, and the way out.
    stub.queue(Canned {
        delay: Duration::from_secs(5),
        ..answer(200, TOKEN_JSON)
    });
    let error = client::refresh(&impatient, &stub.app(), &Secret::new("RT-1"))
        .await
        .unwrap_err();
    let sentence = error.to_string();
    assert!(
        matches!(
            error,
            ProtocolError::NoAnswer {
                during: jira_auth::atlassian::errors::During::Refresh,
                ..
            }
        ) && error.is_temporary()
            && !sentence.contains("nothing was lost")
            && sentence.contains("unknown")
            && sentence.contains("retries with it")
            && sentence.contains("authorize again"),
        "{sentence}"
    );

    // A port that was just free: nobody listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut app = stub.app();
    app.token_url = format!("http://127.0.0.1:{port}/oauth/token")
        .parse()
        .unwrap();
    let error = client::exchange_code(&client::http_client(), &app, "CODE-1", CALLBACK)
        .await
        .unwrap_err();
    // Nobody listened, so nothing was sent and nothing was lost.
    assert!(
        matches!(error, ProtocolError::Network(_))
            && error.is_temporary()
            && error.to_string().contains("nothing was lost"),
        "{error:?}"
    );
}

#[tokio::test]
async fn sites_and_myself_send_the_bearer_token_and_read_liberally() {
    let stub = Stub::start().await;
    let endpoints = stub.endpoints();
    let http = client::http_client();
    let token = Secret::new("AT-1");
    stub.queue(answer(
        200,
        r#"[{"id":"c1","name":"Acme","url":"https://acme.atlassian.net","scopes":["read:jira-work"],"avatarUrl":"https://a/x.png","new":1},
            {"id":"c2","url":"https://help.atlassian.net","scopes":["read:servicedesk-request"]},
            {"id":"c3","name":"Wiki","url":"https://wiki.atlassian.net","scopes":["read:confluence-content.all"]}]"#,
    ));
    let found = resources::accessible_resources(&http, &endpoints, &token)
        .await
        .unwrap();
    assert_eq!(found.len(), 3);
    assert_eq!(found[1].name, "", "a missing name is tolerated");
    assert_eq!(found[1].avatar_url, None);
    let sites = resources::jira_sites(&found);
    let urls: Vec<&str> = sites.iter().map(|s| s.url.as_str()).collect();
    assert_eq!(
        urls,
        ["https://acme.atlassian.net", "https://help.atlassian.net"],
        "Jira Service Management is Jira; Confluence is not"
    );
    let seen = stub.seen();
    assert_eq!(seen[0].method, Method::GET);
    assert_eq!(seen[0].path, "/oauth/token/accessible-resources");
    assert_eq!(
        seen[0].header(header::AUTHORIZATION).as_deref(),
        Some("Bearer AT-1")
    );

    stub.queue(answer(
        200,
        r#"{"accountId":"5b10a2844c20165700ede21g","displayName":"Mia","active":true}"#,
    ));
    let me = resources::myself(&http, &endpoints, &token, "c1")
        .await
        .unwrap();
    assert_eq!(me.display_name, "Mia");
    assert_eq!(me.email, None);
    assert_eq!(stub.seen()[1].path, "/ex/jira/c1/rest/api/3/myself");

    stub.queue(answer(401, r#"{"code":401,"message":"Unauthorized"}"#));
    let error = resources::myself(&http, &endpoints, &token, "c1")
        .await
        .unwrap_err();
    assert_eq!(error, ProtocolError::ApiUnauthorized);
    stub.queue(answer(404, r#"{"errorMessages":["Site not found"]}"#));
    let error = resources::myself(&http, &endpoints, &token, "gone")
        .await
        .unwrap_err();
    assert_eq!(error, ProtocolError::SiteNotFound);
    stub.queue(answer(429, "{}"));
    let error = resources::accessible_resources(&http, &endpoints, &token)
        .await
        .unwrap_err();
    assert!(
        error.is_temporary(),
        "being throttled is temporary: {error:?}"
    );
}
