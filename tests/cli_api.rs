//! `jira-auth api` end to end: the real binary and agent, a real store, the fake's Jira over
//! loopback. What a script relies on: the token goes to the grant's own API base and nowhere
//! else, bodies and queries are built as `gh api` builds them, both of Jira's paging styles
//! are followed, a dead access token is renewed once, Retry-After is honoured within the cap,
//! bodies stream both ways, and each outcome has its exit code and sentence.

mod common;
mod support;

use std::io::Write;
use std::process::Output;

use common::{run_with, text};
use serde_json::Value;
use support::fake_atlassian::jira::pattern;
use support::fake_atlassian::*;
use support::world::*;

/// A world with the pre-authorized integration `jira` authorized against the fake.
fn authorized() -> World {
    let world = World::new();
    world.custom("pre-authorized");
    world.authorize(&[]);
    world
}

fn api(world: &World, args: &[&str]) -> Output {
    let mut all = vec!["api"];
    all.extend_from_slice(args);
    world.run(&all)
}

/// stdout as JSON; the command must have succeeded.
fn json(out: &Output) -> Value {
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(&out.stdout)))
}

fn refused(out: &Output, code: i32, says: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stderr).contains(says), "{}", text(&out.stderr));
}

#[test]
fn requests_reach_the_grants_api_base_and_nowhere_else() {
    let world = authorized();
    let base = format!("{}/ex/jira/{CLOUD_ID}", world.fake.api_url());

    // The same resource three ways: a path, the path with the grant's prefix, a full URL.
    for path in [
        "/rest/api/3/myself".to_owned(),
        format!("/ex/jira/{CLOUD_ID}/rest/api/3/myself"),
        format!("{base}/rest/api/3/myself"),
    ] {
        let me = json(&api(&world, &[&path]));
        assert_eq!(me["displayName"], "Ada Admin", "{path}");
    }

    // What Jira got: the grant's token, the caller's own header, JSON asked for.
    let echo = json(&api(
        &world,
        &["/rest/api/3/echo/here?x=1", "-H", "X-Trace: abc"],
    ));
    assert_eq!(
        echo["path"],
        format!("/ex/jira/{CLOUD_ID}/rest/api/3/echo/here")
    );
    assert_eq!(echo["query"], "x=1");
    assert_eq!(echo["headers"]["x-trace"], "abc");
    assert_eq!(echo["headers"]["accept"], "application/json");
    let bearer = echo["headers"]["authorization"].as_str().unwrap();
    assert!(
        world.accepts(bearer.strip_prefix("Bearer ").unwrap()),
        "{bearer}"
    );
    assert!(
        !text(&api(&world, &["/rest/api/3/myself"]).stdout).contains("access-"),
        "a token on stdout"
    );

    // Refused before a request is made: another host, another site, escapes, the grant's
    // own headers. Nothing reaches the other host, nor the fake's Jira.
    let other = FakeAtlassian::start("http://localhost:1/callback");
    let seen = world.fake.jira_seen().len();
    for (args, says) in [
        (
            vec![format!("{}/rest/api/3/myself", other.api_url())],
            "is not under this grant's API base",
        ),
        (
            vec![format!(
                "{}/ex/jira/{CLOUD_ID}/rest/api/3/x",
                other.api_url()
            )],
            "is not under this grant's API base",
        ),
        (
            vec!["/ex/jira/22222222-other/rest/api/3/myself".into()],
            "names another Jira site's prefix",
        ),
        (vec!["/rest/api/3/../../../x".into()], "`.` or `..` segment"),
        (vec!["/rest/api/3/%2e%2e/x".into()], "`.` or `..` segment"),
        (vec!["/rest/api/3/a%2f..%2fb".into()], "encoded slash"),
        (
            vec![
                "-H".into(),
                "Authorization: Bearer mine".into(),
                "/x".into(),
            ],
            "is not taken",
        ),
        (
            vec!["-X".into(), "CONNECT".into(), "/x".into()],
            "is not a method",
        ),
        (
            vec!["--jq".into(), ".[".into(), "/rest/api/3/myself".into()],
            "--jq",
        ),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        refused(&api(&world, &args), 2, says);
    }
    assert_eq!(other.count(Endpoint::Myself), 0, "the other host was asked");
    assert!(other.jira_seen().is_empty(), "the other host was asked");
    assert_eq!(
        world.fake.jira_seen().len(),
        seen,
        "a refused request was sent"
    );

    // -i: the status line and headers before the body.
    let out = api(&world, &["-i", "/rest/api/3/echo/x"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.starts_with("HTTP/1.1 200 OK\n"), "{shown}");
    assert!(shown.contains("content-type: application/json"), "{shown}");
    assert!(shown.contains("\n\n{"), "{shown}");
}

#[test]
fn fields_build_bodies_and_queries_and_refusals_say_what_jira_said() {
    let world = authorized();
    let dir = tempfile::tempdir().unwrap();
    let description = dir.path().join("description.txt");
    std::fs::write(&description, "Line one\nline two\n").unwrap();

    let created = json(&api(
        &world,
        &[
            "/rest/api/3/issue",
            "-f",
            "fields[summary]=Printer on fire",
            "-F",
            "fields[project][id]=10000",
            "-F",
            "notify=true",
            "-F",
            &format!("fields[description]=@{}", description.display()),
            "-f",
            "fields[labels][]=ops",
            "-f",
            "fields[labels][]=urgent",
        ],
    ));
    assert_eq!(created["key"], "ACME-101");
    assert_eq!(
        created["received"],
        serde_json::json!({
            "fields": {
                "summary": "Printer on fire",
                "project": {"id": 10000},
                "description": "Line one\nline two\n",
                "labels": ["ops", "urgent"],
            },
            "notify": true,
        })
    );

    // Fields make a POST, as with gh; GET puts them in the query.
    let echo = json(&api(
        &world,
        &[
            "-X",
            "GET",
            "/rest/api/3/echo/q",
            "-f",
            "jql=project = ACME",
            "-F",
            "maxResults=2",
        ],
    ));
    assert_eq!(echo["method"], "GET");
    assert_eq!(echo["query"], "jql=project+%3D+ACME&maxResults=2");

    // --input sends a body as given, from a file or stdin.
    let body = dir.path().join("issue.json");
    std::fs::write(&body, r#"{"fields":{"summary":"From a file"}}"#).unwrap();
    let created = json(&api(
        &world,
        &[
            "-X",
            "POST",
            "/rest/api/3/issue",
            "--input",
            &body.display().to_string(),
        ],
    ));
    assert_eq!(created["received"]["fields"]["summary"], "From a file");
    let created = json(&run_with(
        world.command(),
        &["api", "-X", "POST", "/rest/api/3/issue", "--input", "-"],
        r#"{"fields":{"summary":"From stdin"}}"#,
    ));
    assert_eq!(created["received"]["fields"]["summary"], "From stdin");

    // --jq: strings come out raw.
    let out = api(&world, &["/rest/api/3/myself", "--jq", ".displayName"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "Ada Admin\n");

    // Jira's refusals: its sentences on stderr, sanitized, exit 1; a missing scope named.
    refused(
        &api(
            &world,
            &["/rest/api/3/issue", "-f", "fields[project][key]=ACME"],
        ),
        1,
        "Jira answered 400 Bad Request: summary: You must specify a summary of the issue.",
    );
    let out = api(&world, &["/rest/api/3/users/search"]);
    refused(&out, 1, "Jira answered 403 Forbidden");
    refused(&out, 1, "read:jira-user");
    refused(&out, 1, "jira-auth authorize --integration jira");
    refused(
        &api(&world, &["-F", "x=@/nonexistent/file", "/rest/api/3/issue"]),
        2,
        "/nonexistent/file",
    );
}

#[test]
fn paginate_follows_both_of_jiras_paging_styles() {
    let world = authorized();
    world.fake.set_jira_sizes(7, 5);

    // Page beans: startAt/maxResults/total/isLast, three pages of at most three.
    let before = world.fake.jira_seen().len();
    let all = json(&api(&world, &["--paginate", "/rest/api/3/project/search"]));
    let keys: Vec<&str> = all
        .as_array()
        .expect("one array")
        .iter()
        .map(|p| p["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["P0", "P1", "P2", "P3", "P4", "P5", "P6"]);
    let asked: Vec<String> = world.fake.jira_seen()[before..]
        .iter()
        .map(|s| s.target.clone())
        .collect();
    assert_eq!(asked.len(), 3, "{asked:?}");
    assert!(asked[1].contains("startAt=3"), "{asked:?}");

    // One item per line as pages arrive, and --jq on each.
    let out = api(
        &world,
        &["--jsonl", "/rest/api/3/project/search", "--jq", ".key"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "P0\nP1\nP2\nP3\nP4\nP5\nP6\n");
    let out = api(&world, &["--jsonl", "/rest/api/3/project/search"]);
    let lines: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 7);
    assert_eq!(lines[6]["name"], "Project 6");

    // nextPageToken, by GET (in the query) and by POST (in the body).
    let keys = |value: Value| -> Vec<String> {
        value
            .as_array()
            .expect("one array")
            .iter()
            .map(|i| i["key"].as_str().unwrap().to_owned())
            .collect()
    };
    let want = ["ACME-1", "ACME-2", "ACME-3", "ACME-4", "ACME-5"];
    let got = json(&api(
        &world,
        &[
            "--paginate",
            "-X",
            "GET",
            "/rest/api/3/search/jql",
            "-f",
            "jql=project = ACME",
        ],
    ));
    assert_eq!(keys(got), want);
    let got = json(&api(
        &world,
        &[
            "--paginate",
            "-X",
            "POST",
            "/rest/api/3/search/jql",
            "-f",
            "jql=project = ACME",
            "-F",
            "maxResults=2",
        ],
    ));
    assert_eq!(keys(got), want);
    let posted: Vec<String> = world
        .fake
        .jira_seen()
        .iter()
        .filter(|s| s.method == "POST")
        .map(|s| s.target.clone())
        .collect();
    assert_eq!(posted.len(), 3, "{posted:?}");

    // --paginate --jq runs on the whole array.
    let out = api(
        &world,
        &["--paginate", "/rest/api/3/search/jql", "--jq", "length"],
    );
    assert_eq!(text(&out.stdout), "5\n", "{}", text(&out.stderr));
}

#[test]
fn a_dead_token_is_renewed_once_and_a_revoked_grant_asks_for_authorization() {
    let world = authorized();
    let refreshes = world.fake.refresh_requests();
    world.fake.expire_access_tokens();
    let me = json(&api(&world, &["/rest/api/3/echo/renewed"]));
    assert_eq!(
        world.fake.refresh_requests(),
        refreshes + 1,
        "one refresh for the 401"
    );
    let bearer = me["headers"]["authorization"].as_str().unwrap();
    assert!(world.accepts(bearer.strip_prefix("Bearer ").unwrap()));

    world.fake.revoke_all();
    let out = api(&world, &["/rest/api/3/myself"]);
    refused(&out, 3, "authorize");
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
}

#[test]
fn throttling_is_waited_out_within_the_cap_and_exits_4_past_it() {
    let world = authorized();
    let throttle = |status: u16, after: Option<&str>| Fault::Throttle {
        status,
        retry_after: after.map(str::to_owned),
    };

    world
        .fake
        .fail_next(Endpoint::Jira, throttle(429, Some("1")), 1);
    let out = api(&world, &["/rest/api/3/echo/slow"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("Jira answered 429 Too Many Requests; waiting 1 s"),
        "{}",
        text(&out.stderr)
    );

    world
        .fake
        .fail_next(Endpoint::Jira, throttle(503, Some("120")), 1);
    let out = api(&world, &["--max-wait", "2", "/rest/api/3/echo/slow"]);
    refused(&out, 4, "503 Service Unavailable and asked to wait 120 s");
    refused(&out, 4, "more than --max-wait (2 s in all)");

    // Waits add up: two 1 s waits fit a 2 s cap, a third does not.
    world
        .fake
        .fail_next(Endpoint::Jira, throttle(429, Some("1")), 3);
    let out = api(&world, &["--max-wait", "2s", "/rest/api/3/echo/slow"]);
    refused(
        &out,
        4,
        "asked to wait 1 s, more than --max-wait (2 s in all)",
    );

    world.fake.fail_next(Endpoint::Jira, Fault::ServerError, 1);
    refused(
        &api(&world, &["/rest/api/3/echo/x"]),
        4,
        "Jira answered 500 Internal Server Error; try again later",
    );
    refused(&api(&world, &["--max-wait", "soon", "/x"]), 2, "--max-wait");
}

#[test]
fn attachments_stream_both_ways() {
    let world = authorized();
    let size = 8 * 1024 * 1024 + 17;
    let out = api(&world, &[&format!("/rest/api/3/attachment/content/{size}")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(out.stdout.len(), size, "{}", text(&out.stderr));
    assert!(out.stdout == pattern(size), "the download differs");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.bin");
    std::fs::File::create(&file)
        .unwrap()
        .write_all(&pattern(size))
        .unwrap();
    let upload = [
        "-X",
        "POST",
        "-H",
        "X-Atlassian-Token: no-check",
        "-H",
        "Content-Type: application/octet-stream",
        "/rest/api/3/issue/ACME-1/attachments",
        "--input",
    ];
    let mut args = upload.to_vec();
    let path = file.display().to_string();
    args.push(&path);
    let answer = json(&api(&world, &args));
    assert_eq!(answer[0]["size"], size);

    let mut args = upload.to_vec();
    args.push("-");
    let body = String::from_utf8(vec![b'x'; 3 * 1024 * 1024]).unwrap();
    let answer = json(&run_with(
        world.command(),
        &[&["api"][..], &args].concat(),
        &body,
    ));
    assert_eq!(answer[0]["size"], 3 * 1024 * 1024);
    assert_eq!(world.fake.uploads(), [size as u64, 3 * 1024 * 1024]);
}
