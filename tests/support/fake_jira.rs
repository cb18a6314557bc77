//! The fake's Jira REST API under `/ex/jira/{cloud id}/rest/api/3/`, enough of it for `api`
//! and `proxy`: a page-bean endpoint (`project/search`), `search/jql` with `nextPageToken`
//! (GET and POST), an issue create that echoes its body, a 403 for a missing scope worded as
//! Jira words it, attachments streamed both ways, and a record of every request that reached
//! it (method, target, headers) so a test can see what the token's holder sent.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::{Endpoint, Inner, Shared, bearer_ok, fault};

/// One request as it reached the fake's Jira.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub headers: HeaderMap,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What the fake's Jira holds.
pub(super) struct Jira {
    pub projects: usize,
    pub issues: usize,
    /// The largest page either endpoint answers, whatever `maxResults` asks.
    pub page_cap: usize,
    pub seen: Vec<Seen>,
    /// The byte count of every attachment upload, oldest first.
    pub uploads: Vec<u64>,
}

impl Default for Jira {
    fn default() -> Jira {
        Jira {
            projects: 7,
            issues: 5,
            page_cap: 3,
            seen: Vec::new(),
            uploads: Vec::new(),
        }
    }
}

/// The routes, each behind the bearer check and the record of what was sent.
pub(super) fn routes(inner: Shared) -> Router {
    Router::new()
        .route(
            "/ex/jira/{cloud_id}/rest/api/3/project/search",
            get(projects),
        )
        .route(
            "/ex/jira/{cloud_id}/rest/api/3/search/jql",
            get(search_get).post(search_post),
        )
        .route("/ex/jira/{cloud_id}/rest/api/3/issue", post(create_issue))
        .route(
            "/ex/jira/{cloud_id}/rest/api/3/users/search",
            get(needs_scope),
        )
        .route(
            "/ex/jira/{cloud_id}/rest/api/3/attachment/content/{bytes}",
            get(download),
        )
        .route(
            "/ex/jira/{cloud_id}/rest/api/3/issue/{key}/attachments",
            post(upload),
        )
        .route(
            "/ex/jira/{cloud_id}/rest/api/3/{*rest}",
            get(echo).post(echo),
        )
        .route_layer(middleware::from_fn_with_state(Arc::clone(&inner), guard))
        .with_state(inner)
}

/// Records the request, applies a pending fault of [`Endpoint::Jira`], and refuses a bad
/// bearer or an unknown site as Jira does.
async fn guard(State(inner): State<Shared>, request: Request, next: Next) -> Response {
    inner.lock().expect("fake state").jira.seen.push(Seen {
        method: request.method().to_string(),
        target: request
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default(),
        headers: request.headers().clone(),
    });
    if let Some(answer) = fault(&inner, Endpoint::Jira).await {
        return answer;
    }
    {
        let s = inner.lock().expect("fake state");
        if !bearer_ok(&s, request.headers()) {
            return json_answer(
                StatusCode::UNAUTHORIZED,
                json!({"code": 401, "message": "Unauthorized"}),
            );
        }
        let site = request.uri().path().split('/').nth(3).unwrap_or_default();
        if !s.sites.iter().any(|known| known.id == site) {
            return json_answer(
                StatusCode::NOT_FOUND,
                json!({"errorMessages": ["Site not found."], "errors": {}}),
            );
        }
    }
    next.run(request).await
}

fn json_answer(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        body.to_string(),
    )
        .into_response()
}

fn number(query: &HashMap<String, String>, key: &str, default: usize) -> usize {
    query
        .get(key)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `project/search`: Jira's page bean (`startAt`, `maxResults`, `total`, `isLast`, `values`).
async fn projects(
    State(inner): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let s = inner.lock().expect("fake state");
    let (total, cap) = (s.jira.projects, s.jira.page_cap);
    let start = number(&query, "startAt", 0);
    let size = number(&query, "maxResults", 50).clamp(1, cap);
    let end = (start + size).min(total);
    let values: Vec<Value> = (start.min(end)..end)
        .map(|n| json!({"id": format!("{}", 10000 + n), "key": format!("P{n}"), "name": format!("Project {n}")}))
        .collect();
    json_answer(
        StatusCode::OK,
        json!({
            "self": "https://api.atlassian.com/ex/jira/x/rest/api/3/project/search",
            "maxResults": size,
            "startAt": start,
            "total": total,
            "isLast": end >= total,
            "values": values,
        }),
    )
}

/// One page of `search/jql`: issues after the token, and the token of the next page.
fn search_page(s: &Inner, token: Option<&str>, max: usize) -> Response {
    let start = match token {
        None => 0,
        Some(token) => match token.strip_prefix("page-").and_then(|n| n.parse().ok()) {
            Some(start) => start,
            None => {
                return json_answer(
                    StatusCode::BAD_REQUEST,
                    json!({"errorMessages": ["The nextPageToken is invalid."], "errors": {}}),
                );
            }
        },
    };
    let total = s.jira.issues;
    let end = (start + max.clamp(1, s.jira.page_cap)).min(total);
    let issues: Vec<Value> = (start.min(end)..end)
        .map(|n| json!({"id": format!("{}", 20000 + n), "key": format!("ACME-{}", n + 1), "fields": {"summary": format!("Issue {}", n + 1)}}))
        .collect();
    let mut body = json!({"issues": issues, "isLast": end >= total});
    if end < total {
        body["nextPageToken"] = Value::String(format!("page-{end}"));
    }
    json_answer(StatusCode::OK, body)
}

async fn search_get(
    State(inner): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let s = inner.lock().expect("fake state");
    search_page(
        &s,
        query.get("nextPageToken").map(String::as_str),
        number(&query, "maxResults", 50),
    )
}

async fn search_post(State(inner): State<Shared>, body: Bytes) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return json_answer(
            StatusCode::BAD_REQUEST,
            json!({"errorMessages": ["Invalid request payload. Refer to the REST API documentation and try again."]}),
        );
    };
    let s = inner.lock().expect("fake state");
    let max = body
        .get("maxResults")
        .and_then(Value::as_u64)
        .map_or(50, |n| n as usize);
    search_page(&s, body.get("nextPageToken").and_then(Value::as_str), max)
}

/// `POST issue`: 400 with Jira's `errors` when the summary is missing, else 201 and the body
/// it was sent, so a test sees what a command built.
async fn create_issue(headers: HeaderMap, body: Bytes) -> Response {
    if !headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
    {
        return json_answer(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            json!({"errorMessages": ["Content type is not supported."]}),
        );
    }
    let Ok(sent) = serde_json::from_slice::<Value>(&body) else {
        return json_answer(
            StatusCode::BAD_REQUEST,
            json!({"errorMessages": ["Invalid request payload."]}),
        );
    };
    if sent.pointer("/fields/summary").is_none() {
        return json_answer(
            StatusCode::BAD_REQUEST,
            json!({"errorMessages": [], "errors": {"summary": "You must specify a summary of the issue."}}),
        );
    }
    json_answer(
        StatusCode::CREATED,
        json!({"id": "20100", "key": "ACME-101", "received": sent}),
    )
}

/// An endpoint the grant's scopes never cover: Jira's 403 naming the scope groups.
async fn needs_scope() -> Response {
    json_answer(
        StatusCode::FORBIDDEN,
        json!({"errorMessages": ["Access to the resource was denied due to missing scope grants. Your app was granted the following scopes: [read:jira-work].\nThe resource can be accessed by having one of these groups of scopes:\n * [read:jira-user]\n"]}),
    )
}

/// `attachment/content/{bytes}`: that many bytes of [`pattern`], streamed in chunks of about
/// 64 KiB with their length announced, as a large attachment comes.
async fn download(Path((_, bytes)): Path<(String, u64)>) -> Response {
    // A whole number of the pattern's periods, so every chunk can be the same bytes.
    const CHUNK: u64 = 251 * 256;
    let chunk = Bytes::from(pattern(CHUNK as usize));
    let stream = futures_util::stream::iter((0..bytes.div_ceil(CHUNK)).map(move |n| {
        let len = (bytes - n * CHUNK).min(CHUNK) as usize;
        Ok::<_, std::io::Error>(chunk.slice(..len))
    }));
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_LENGTH, bytes.to_string()),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// The bytes a download of `len` carries: `0..=250` over and over, so a lost or moved
/// chunk shows.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|n| (n % 251) as u8).collect()
}

/// `issue/{key}/attachments`: Jira wants `X-Atlassian-Token: no-check`; the body is counted
/// as it arrives, never held.
async fn upload(State(inner): State<Shared>, headers: HeaderMap, body: Body) -> Response {
    if headers
        .get("x-atlassian-token")
        .and_then(|v| v.to_str().ok())
        != Some("no-check")
    {
        return json_answer(
            StatusCode::FORBIDDEN,
            json!({"errorMessages": ["XSRF check failed"]}),
        );
    }
    let mut stream = body.into_data_stream();
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => size += chunk.len() as u64,
            Err(_) => return (StatusCode::BAD_REQUEST, "body cut short").into_response(),
        }
    }
    inner.lock().expect("fake state").jira.uploads.push(size);
    json_answer(StatusCode::OK, json!([{"id": "30000", "size": size}]))
}

/// Any other path: what arrived, so a test sees the method, path, query and headers Jira got.
async fn echo(request: Request) -> Response {
    let headers: serde_json::Map<String, Value> = request
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.to_string(),
                Value::String(value.to_str().unwrap_or("?").to_owned()),
            )
        })
        .collect();
    json_answer(
        StatusCode::OK,
        json!({
            "method": request.method().as_str(),
            "path": request.uri().path(),
            "query": request.uri().query(),
            "headers": headers,
        }),
    )
}

impl super::FakeAtlassian {
    /// Every request that reached the fake's Jira routes (not `myself`), oldest first.
    pub fn jira_seen(&self) -> Vec<Seen> {
        self.with(|s| s.jira.seen.clone())
    }

    /// The byte count of every attachment uploaded, oldest first.
    pub fn uploads(&self) -> Vec<u64> {
        self.with(|s| s.jira.uploads.clone())
    }

    /// How many projects `project/search` pages through and issues `search/jql` finds.
    pub fn set_jira_sizes(&self, projects: usize, issues: usize) {
        self.with(|s| {
            s.jira.projects = projects;
            s.jira.issues = issues;
        });
    }
}
