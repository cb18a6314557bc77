//! `jira-auth api`: one call to Jira's REST API with the grant's token, the way `gh api`
//! calls GitHub's. The token comes from the agent into this process only (never argv, never
//! the environment); the path stays under the grant's API base; a 401 is answered once by a
//! refresh, a 429 or 503 waited out within `--max-wait`; pages are followed on request.

mod fields;
mod jq;
mod print;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::TryStreamExt;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value};

use super::args::ApiArgs;
use crate::cli::client::Client;
use crate::cli::failure::Failure;
use crate::exit::Exit;
use crate::jira::refusal::Refusal;
use crate::jira::{Answer, Call, Grant, GrantToken, Payload, Upstream, Waits};
use fields::Field;
use print::{Out, Shape};

/// How much of a refused answer is read for Jira's sentences.
const REFUSAL_CAP: usize = 64 * 1024;

/// The request, checked and built before the agent or Jira hears of it.
struct Plan {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Body,
    shape: Shape,
}

enum Body {
    Empty,
    /// Fields, or an `--input` read as JSON to page through.
    Json(Map<String, Value>),
    File(PathBuf),
    Stdin,
}

fn usage(sentence: impl Into<String>) -> Failure {
    Failure::new(Exit::Usage, sentence)
}

pub fn run(data_dir: Option<&Path>, args: &ApiArgs) -> Result<(), Failure> {
    let jq = args
        .jq
        .as_deref()
        .map(jq::Jq::compile)
        .transpose()
        .map_err(|e| usage(e.to_string()))?;
    let plan = Plan::of(args, &mut fields::Disk)?;
    let client = Client::new(data_dir)?;
    if !client.store_exists() {
        return Err(usage(client.nothing_configured()));
    }
    let Client {
        runtime,
        link,
        setup,
    } = client;
    let grant = GrantToken::new(
        Arc::new(link),
        setup.endpoints,
        Grant {
            integration: args.integration.clone(),
            user: args.user.clone(),
        },
    );
    let upstream = Upstream::new()?;
    let terminal = std::io::stdout().is_terminal();
    let writer = Box::new(std::io::BufWriter::with_capacity(
        64 * 1024,
        std::io::stdout(),
    ));
    let mut out = Out::new(plan.shape, jq, terminal, writer);
    let context = Context {
        integration: &args.integration,
        max_wait: args.max_wait,
        include: args.include,
    };
    runtime.block_on(plan.send(&upstream, &grant, &mut out, &context))
}

struct Context<'a> {
    integration: &'a str,
    max_wait: Duration,
    include: bool,
}

impl Plan {
    fn of(args: &ApiArgs, files: &mut dyn fields::Files) -> Result<Plan, Failure> {
        let fields: Vec<Field> = args
            .raw_field
            .iter()
            .cloned()
            .map(Field::Raw)
            .chain(args.field.iter().cloned().map(Field::Typed))
            .collect();
        let sends_body = !fields.is_empty() || args.input.is_some();
        let method = match &args.method {
            Some(text) => method(text)?,
            None if sends_body => Method::POST,
            None => Method::GET,
        };
        let without_body = [Method::GET, Method::HEAD, Method::DELETE].contains(&method);
        let mut query = Vec::new();
        let mut body = match &args.input {
            Some(path) if path.as_os_str() == "-" => {
                query = fields::query(&fields, files).map_err(|e| usage(e.to_string()))?;
                Body::Stdin
            }
            Some(path) => {
                query = fields::query(&fields, files).map_err(|e| usage(e.to_string()))?;
                Body::File(path.clone())
            }
            None if fields.is_empty() => Body::Empty,
            None if without_body => {
                query = fields::query(&fields, files).map_err(|e| usage(e.to_string()))?;
                Body::Empty
            }
            None => Body::Json(fields::body(&fields, files).map_err(|e| usage(e.to_string()))?),
        };
        let shape = match (args.paginate, args.jsonl) {
            (_, true) => Shape::Lines,
            (true, false) => Shape::Array,
            (false, false) => Shape::Body,
        };
        if shape != Shape::Body {
            if args.include {
                return Err(usage(
                    "--include shows one answer's headers; it cannot go with --paginate, which makes many requests",
                ));
            }
            // Jira's POST paging (search/jql) takes the next token in the body: it must be
            // JSON this process can change.
            body = match body {
                Body::File(path) => Body::Json(json_object(std::fs::read(&path), &path)?),
                Body::Stdin => {
                    let mut bytes = Vec::new();
                    let read = std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
                        .map(|_| bytes);
                    Body::Json(json_object(read, Path::new("stdin"))?)
                }
                other => other,
            };
        }
        let mut headers = HeaderMap::new();
        for given in &args.header {
            let (name, value) = header(given)?;
            headers.append(name, value);
        }
        if !matches!(body, Body::Empty) && !headers.contains_key(header::CONTENT_TYPE) {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        if !headers.contains_key(header::ACCEPT) {
            headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        }
        let mut path = args.path.clone();
        if !query.is_empty() {
            let encoded = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&query)
                .finish();
            path.push(if path.contains('?') { '&' } else { '?' });
            path.push_str(&encoded);
        }
        Ok(Plan {
            method,
            path,
            headers,
            body,
            shape,
        })
    }

    async fn send(
        mut self,
        upstream: &Upstream,
        grant: &GrantToken,
        out: &mut Out,
        context: &Context<'_>,
    ) -> Result<(), Failure> {
        let tell = |wait: Duration, status: StatusCode| {
            eprintln!(
                "jira-auth: Jira answered {}; waiting {} s as it asks (--max-wait {} s in all)",
                status_text(status),
                wait.as_secs_f64().ceil(),
                context.max_wait.as_secs()
            );
        };
        let waits = Waits {
            statuses: &[
                StatusCode::TOO_MANY_REQUESTS,
                StatusCode::SERVICE_UNAVAILABLE,
            ],
            cap: context.max_wait,
            tell: &tell,
        };
        let mut asked = Vec::new();
        loop {
            let call = Call {
                method: self.method.clone(),
                path: self.path.clone(),
                headers: self.headers.clone(),
                payload: self.payload().await?,
            };
            let answer = upstream.send(grant, call, Some(&waits)).await?;
            let url = answer.url.clone();
            let response = judge(answer, out, context).await?;
            if self.shape == Shape::Body {
                out.body(response).await?;
                return Ok(());
            }
            let bytes = print::read_all(response).await?;
            let page = crate::jira::paging::Page::read(&bytes).map_err(|e| {
                Failure::new(
                    Exit::Failed,
                    format!("Jira's page is not JSON ({e}), so it cannot be followed; leave out --paginate"),
                )
            })?;
            out.items(&page.items)?;
            let Some(next) = page.next else {
                break;
            };
            if asked.contains(&next) {
                return Err(Failure::new(
                    Exit::Failed,
                    "Jira pointed to a page it had already given; stopped rather than loop",
                ));
            }
            match &mut self.body {
                Body::Json(body) if self.method != Method::GET => next.apply_to_body(body),
                _ => {
                    let mut url = url;
                    next.apply_to_query(&mut url);
                    self.path = url.to_string();
                }
            }
            asked.push(next);
        }
        out.finish()
    }

    async fn payload(&self) -> Result<Payload, Failure> {
        Ok(match &self.body {
            Body::Empty => Payload::Empty,
            Body::Json(map) => Payload::Bytes(serde_json::to_vec(map).unwrap_or_default().into()),
            Body::File(path) => {
                // Said now, as a usage error, rather than as a failed request.
                std::fs::metadata(path)
                    .map_err(|e| usage(format!("cannot read --input {}: {e}", path.display())))?;
                Payload::File(path.clone())
            }
            Body::Stdin => {
                let stream =
                    tokio_util::io::ReaderStream::with_capacity(tokio::io::stdin(), 64 * 1024)
                        .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>);
                Payload::read_ahead(Box::pin(stream), None)
                    .await
                    .map_err(|e| usage(format!("cannot read the body from stdin: {e}")))?
            }
        })
    }
}

/// Jira's answer judged: a 2xx handed back for its body, anything else the sentence and
/// exit code DESIGN.md gives it.
async fn judge(
    answer: Answer,
    out: &mut Out,
    context: &Context<'_>,
) -> Result<reqwest::Response, Failure> {
    let Answer {
        response,
        declined_wait,
        waited,
        renewed,
        ..
    } = answer;
    let status = response.status();
    if context.include {
        out.head(&response)?;
    }
    if status.is_success() {
        return Ok(response);
    }
    let body = print::read_capped(response, REFUSAL_CAP).await;
    if context.include {
        out.raw(&body)?;
    }
    let refusal = Refusal::read(&body);
    let said = refusal.said().map(|s| format!(": {s}")).unwrap_or_default();
    let shown = status_text(status);
    let integration = context.integration;
    let scopes = refusal.scope_advice(integration);
    let (code, sentence) = match status.as_u16() {
        300..=399 => (
            Exit::Failed,
            format!(
                "Jira answered {shown} and points elsewhere; redirects are not followed, so the token goes nowhere but Jira. For an attachment's content add ?redirect=false to the path"
            ),
        ),
        401 if scopes.is_some() => (
            Exit::Failed,
            format!(
                "Jira answered {shown}{said}; {}",
                scopes.unwrap_or_default()
            ),
        ),
        401 if renewed => (
            Exit::Reauthorize,
            format!(
                "Jira refused the token even after a refresh{said}; authorize again (`jira-auth authorize --integration {integration}`)"
            ),
        ),
        401 => (
            Exit::Temporary,
            format!(
                "Jira refused the token{said}; the body from stdin could not be sent again with a new one, so run the command again"
            ),
        ),
        429 | 503 => {
            let asked = declined_wait.unwrap_or_default();
            let why = if waited + asked > context.max_wait {
                format!(
                    "more than --max-wait ({} s in all) allows",
                    context.max_wait.as_secs()
                )
            } else {
                "and the body from stdin could not be sent again".to_owned()
            };
            (
                Exit::Temporary,
                format!(
                    "Jira answered {shown} and asked to wait {} s, {why}; try again later",
                    asked.as_secs_f64().ceil()
                ),
            )
        }
        400..=499 => {
            let advice = scopes.map(|s| format!("; {s}")).unwrap_or_default();
            (Exit::Failed, format!("Jira answered {shown}{said}{advice}"))
        }
        500..=599 => (
            Exit::Temporary,
            format!("Jira answered {shown}{said}; try again later"),
        ),
        _ => (Exit::Failed, format!("Jira answered {shown}{said}")),
    };
    Err(Failure::new(code, sentence))
}

fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

fn method(text: &str) -> Result<Method, Failure> {
    let upper = text.to_ascii_uppercase();
    match Method::from_bytes(upper.as_bytes()) {
        Ok(Method::CONNECT) | Ok(Method::TRACE) => Err(usage(format!(
            "-X {upper} is not a method Jira's REST API answers; use GET, POST, PUT, PATCH or DELETE"
        ))),
        Ok(method) => Ok(method),
        Err(_) => Err(usage(format!(
            "-X {text:?} is not an HTTP method; use GET, POST, PUT, PATCH or DELETE"
        ))),
    }
}

/// `-H 'Name: value'`, refusing the headers the grant owns.
fn header(given: &str) -> Result<(HeaderName, HeaderValue), Failure> {
    let bad = || {
        usage(format!(
            "-H {given:?} is not a header; write -H 'Name: value'"
        ))
    };
    let (name, value) = given.split_once(':').ok_or_else(bad)?;
    let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad())?;
    let value = HeaderValue::from_str(value.trim()).map_err(|_| bad())?;
    if crate::jira::send::NEVER_FORWARDED.contains(&name) {
        return Err(usage(format!(
            "-H {name}: is not taken; the grant's token is added by jira-auth, and the connection's own headers are its own"
        )));
    }
    Ok((name, value))
}

fn json_object(read: std::io::Result<Vec<u8>>, from: &Path) -> Result<Map<String, Value>, Failure> {
    let bytes = read.map_err(|e| usage(format!("cannot read --input {}: {e}", from.display())))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(usage(format!(
            "--paginate with --input needs a JSON object in {} (the next page's token goes into it)",
            from.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    struct NoFiles;
    impl fields::Files for NoFiles {
        fn read(&mut self, _: &str) -> Result<String, String> {
            Err("no files here".into())
        }
    }

    fn plan(args: &[&str]) -> Result<Plan, Failure> {
        let mut all = vec!["jira-auth", "api"];
        all.extend_from_slice(args);
        let cli = crate::cli::Cli::try_parse_from(all).expect("parses");
        let Some(crate::cli::Command::Api(api)) = cli.command else {
            panic!("parsed as api")
        };
        Plan::of(&api, &mut NoFiles)
    }

    #[test]
    fn fields_make_a_post_body_or_a_get_query() {
        let post = plan(&["/rest/api/3/issue", "-f", "fields[summary]=Hi"]).unwrap();
        assert_eq!(post.method, Method::POST);
        assert!(matches!(&post.body, Body::Json(m) if m["fields"]["summary"] == "Hi"));
        assert_eq!(post.headers[header::CONTENT_TYPE], "application/json");
        let get = plan(&[
            "-X",
            "get",
            "/rest/api/3/search/jql",
            "-f",
            "jql=project = OPS",
        ])
        .unwrap();
        assert_eq!(get.method, Method::GET);
        assert_eq!(get.path, "/rest/api/3/search/jql?jql=project+%3D+OPS");
        assert!(matches!(get.body, Body::Empty));
        let plain = plan(&["/rest/api/3/myself?expand=groups"]).unwrap();
        assert_eq!(plain.method, Method::GET);
        assert_eq!(plain.path, "/rest/api/3/myself?expand=groups");
        assert!(!plain.headers.contains_key(header::CONTENT_TYPE));
    }

    #[test]
    fn the_grants_headers_and_bad_input_are_refused_with_a_sentence() {
        for (args, says) in [
            (
                &["-H", "Authorization: Bearer x", "/x"][..],
                "-H authorization: is not taken",
            ),
            (&["-H", "Cookie: a=b", "/x"][..], "-H cookie: is not taken"),
            (&["-H", "no colon", "/x"][..], "write -H 'Name: value'"),
            (&["-X", "CONNECT", "/x"][..], "-X CONNECT is not a method"),
            (&["-X", "GE T", "/x"][..], "is not an HTTP method"),
            (&["-f", "summary", "/x"][..], "write -f key=value"),
            (
                &["--paginate", "-i", "/x"][..],
                "--include shows one answer",
            ),
        ] {
            let failure = plan(args)
                .err()
                .unwrap_or_else(|| panic!("{args:?} accepted"));
            assert_eq!(failure.code, Exit::Usage, "{args:?}");
            assert!(
                failure.message.contains(says),
                "{args:?}: {}",
                failure.message
            );
        }
    }
}
