//! `jira-auth proxy` end to end, with the real `curl` as its client over both transports:
//! the grant's token added and the caller's credentials dropped, Jira's answers passed
//! through untouched, a 401 renewed once, escapes and tunnels refused before Jira hears of
//! them, other users kept out of the socket and key-less callers off the TCP port, and end
//! users named by header.

mod common;
mod support;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::text;
use serde_json::Value;
use support::fake_atlassian::*;
use support::proxy_process::ProxyProcess;
use support::world::*;

/// An answer as curl got it.
struct Got {
    status: u16,
    /// Header lines, names lowercased.
    headers: Vec<(String, String)>,
    body: String,
}

impl Got {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    /// The sentence of a refusal the proxy made itself.
    fn refusal(&self) -> String {
        assert!(
            self.header("x-jira-auth-exit").is_some(),
            "not the proxy's own answer: {} {}",
            self.status,
            self.body
        );
        self.json()["errorMessages"][0]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// `curl -si ARGS` (optionally as another user), parsed.
fn curl_as(user: Option<&str>, args: &[&str]) -> Result<Got, String> {
    let mut command = match user {
        Some(user) => {
            let mut c = Command::new("setpriv");
            c.args([
                &format!("--reuid={user}"),
                "--regid=nogroup",
                "--clear-groups",
                "curl",
            ]);
            c
        }
        None => Command::new("curl"),
    };
    let out = command
        .args(["-sS", "-i", "--max-time", "30"])
        .args(args)
        .output()
        .expect("run curl");
    if !out.status.success() {
        return Err(text(&out.stderr));
    }
    let all = text(&out.stdout);
    let (head, body) = all.split_once("\r\n\r\n").unwrap_or((&all, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {all}"));
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok(Got {
        status,
        headers,
        body: body.to_owned(),
    })
}

fn curl(args: &[&str]) -> Got {
    curl_as(None, args).unwrap_or_else(|e| panic!("curl {args:?} failed: {e}"))
}

fn authorized() -> World {
    let world = World::new();
    world.custom("pre-authorized");
    world.authorize(&[]);
    world
}

#[test]
fn curl_over_the_unix_socket_reaches_jira_with_the_grants_token_only() {
    let world = authorized();
    let proxy = ProxyProcess::start(world.command(), &[]);
    let socket = proxy.at.clone();
    assert_eq!(
        socket,
        world
            .sandbox
            .data_dir()
            .join("proxy.sock")
            .display()
            .to_string()
    );
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the socket is private");
    let on = |path: &str| format!("http://jira{path}");

    let me = curl(&["--unix-socket", &socket, &on("/rest/api/3/myself")]);
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["displayName"], "Ada Admin");

    // The caller's credentials and cookies stay behind; the grant's token goes instead.
    let echo = curl(&[
        "--unix-socket",
        &socket,
        "-H",
        "Authorization: Bearer the-callers-own",
        "-H",
        "Cookie: session=abc",
        "-H",
        "X-Trace: 42",
        &on("/rest/api/3/echo/here?secret=s3cr3t"),
    ]);
    assert_eq!(echo.status, 200, "{}", echo.body);
    let seen = echo.json();
    assert_eq!(
        seen["path"],
        format!("/ex/jira/{CLOUD_ID}/rest/api/3/echo/here")
    );
    assert_eq!(seen["query"], "secret=s3cr3t");
    assert_eq!(seen["headers"]["x-trace"], "42");
    assert!(seen["headers"].get("cookie").is_none(), "{seen}");
    let bearer = seen["headers"]["authorization"].as_str().unwrap();
    assert!(
        world.accepts(bearer.strip_prefix("Bearer ").unwrap()),
        "{bearer}"
    );
    let host = world.fake.api_url().replace("http://", "");
    assert_eq!(seen["headers"]["host"], host.as_str());

    // A body goes through, and Jira's status and headers come back as Jira sent them.
    let created = curl(&[
        "--unix-socket",
        &socket,
        "-H",
        "Content-Type: application/json",
        "-d",
        r#"{"fields":{"summary":"Through the proxy"}}"#,
        &on("/rest/api/3/issue"),
    ]);
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        created.json()["received"]["fields"]["summary"],
        "Through the proxy"
    );
    let refused = curl(&[
        "--unix-socket",
        &socket,
        "-H",
        "Content-Type: application/json",
        "-d",
        "{}",
        &on("/rest/api/3/issue"),
    ]);
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.header("x-jira-auth-exit"),
        None,
        "Jira's own answer"
    );
    assert!(refused.body.contains("You must specify a summary"));
    world.fake.fail_next(
        Endpoint::Jira,
        Fault::Throttle {
            status: 429,
            retry_after: Some("7".into()),
        },
        1,
    );
    let throttled = curl(&["--unix-socket", &socket, &on("/rest/api/3/echo/x")]);
    assert_eq!(throttled.status, 429, "passed through without --retry-429");
    assert_eq!(throttled.header("retry-after"), Some("7"));
    assert_eq!(throttled.header("x-ratelimit-remaining"), Some("0"));
    assert_eq!(throttled.body, r#"{"message":"Rate limit exceeded"}"#);

    // A dead access token: one refresh, one retry, the caller sees only the success.
    let refreshes = world.fake.refresh_requests();
    world.fake.expire_access_tokens();
    let renewed = curl(&["--unix-socket", &socket, &on("/rest/api/3/myself")]);
    assert_eq!(renewed.status, 200, "{}", renewed.body);
    assert_eq!(world.fake.refresh_requests(), refreshes + 1);

    // Escapes and tunnels: refused by the proxy, never sent to Jira.
    let before = world.fake.jira_seen().len();
    for (args, says) in [
        (
            vec!["--path-as-is", "http://jira/rest/api/3/../../../../x"],
            "`.` or `..` segment",
        ),
        (
            vec!["http://jira/rest/api/3/%2e%2e/%2E%2E/x"],
            "`.` or `..` segment",
        ),
        (
            vec!["http://jira/rest/api/3/a%2f..%2f..%2fx"],
            "encoded slash",
        ),
        (
            vec!["http://jira/ex/jira/22222222-other/rest/api/3/myself"],
            "another Jira site's prefix",
        ),
        (
            vec![
                "--request-target",
                "http://evil.example/rest/api/3/myself",
                "http://jira/",
            ],
            "absolute-form",
        ),
        (
            vec![
                "-X",
                "CONNECT",
                "--request-target",
                "evil.example:443",
                "http://jira/",
            ],
            "CONNECT is refused",
        ),
    ] {
        let mut all = vec!["--unix-socket", &socket];
        all.extend(args.iter().copied());
        let got = curl(&all);
        assert!(
            (400..500).contains(&got.status),
            "{args:?}: {} {}",
            got.status,
            got.body
        );
        assert!(got.refusal().contains(says), "{args:?}: {}", got.body);
    }
    assert_eq!(
        world.fake.jira_seen().len(),
        before,
        "an escape reached Jira"
    );

    // One log line per request: method, path, status, time; never a query or a token.
    let log = proxy.log().join("\n");
    assert!(log.contains("GET /rest/api/3/echo/here 200 "), "{log}");
    assert!(log.contains("POST /rest/api/3/issue 201 "), "{log}");
    for secret in ["s3cr3t", "the-callers-own", "access-", "session=abc"] {
        assert!(!log.contains(secret), "{secret} logged:\n{log}");
    }
    assert_eq!(proxy.stop(), Some(0));
    assert!(
        !std::path::Path::new(&socket).exists(),
        "a stopped proxy removes its socket"
    );
}

#[test]
fn other_users_are_kept_off_the_socket() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: playing another user needs root (setpriv)");
        return;
    }
    let world = authorized();
    // A directory others may enter, so only the socket's own checks keep them out.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = dir.path().join("proxy.sock").display().to_string();
    let proxy = ProxyProcess::start(world.command(), &["--socket", &socket]);
    let url = "http://jira/rest/api/3/myself";

    let error = curl_as(Some("nobody"), &["--unix-socket", &socket, url])
        .err()
        .expect("nobody connected to a 0600 socket");
    assert!(
        error.contains("connect") || error.contains("Permission"),
        "{error}"
    );

    // Loosened by hand: the kernel's word on the peer still keeps nobody out.
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let before = world.fake.jira_seen().len();
    let got = curl_as(Some("nobody"), &["--unix-socket", &socket, url]).unwrap();
    assert_eq!(got.status, 403, "{}", got.body);
    assert!(got.refusal().contains("serves uid 0 only"), "{}", got.body);
    assert_eq!(world.fake.jira_seen().len(), before);
    assert_eq!(curl(&["--unix-socket", &socket, url]).status, 200);
    drop(proxy);
}

#[test]
fn loopback_tcp_needs_the_proxy_key() {
    let world = authorized();
    let proxy = ProxyProcess::start(world.command(), &["--bind", "127.0.0.1:0"]);
    let base = proxy.at.clone();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let key_file = world.sandbox.data_dir().join("proxy.key");
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the key is private");
    let key = std::fs::read_to_string(&key_file)
        .unwrap()
        .trim()
        .to_owned();
    let url = format!("{base}/rest/api/3/echo/tcp");

    let before = world.fake.jira_seen().len();
    for given in [
        None,
        Some("Bearer wrong"),
        Some(&format!("Basic {key}")[..]),
    ] {
        let mut args = vec![url.as_str()];
        let header = given.map(|g| format!("Authorization: {g}"));
        if let Some(header) = &header {
            args.extend(["-H", header.as_str()]);
        }
        let got = curl(&args);
        assert_eq!(got.status, 401, "{given:?}: {}", got.body);
        assert!(got.refusal().contains("proxy key"), "{}", got.body);
        assert!(got.header("www-authenticate").is_some());
        assert!(!got.body.contains(&key), "the key in a refusal");
    }
    assert_eq!(
        world.fake.jira_seen().len(),
        before,
        "a key-less request reached Jira"
    );

    let header = format!("Authorization: Bearer {key}");
    let got = curl(&["-H", &header, &url]);
    assert_eq!(got.status, 200, "{}", got.body);
    let bearer = got.json()["headers"]["authorization"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!bearer.contains(&key), "the proxy key went to Jira");
    assert!(world.accepts(bearer.strip_prefix("Bearer ").unwrap()));

    assert_eq!(proxy.stop(), Some(0));
    assert!(!key_file.exists(), "a stopped proxy removes its key");

    let out = world.run(&["proxy", "--bind", "0.0.0.0:0"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("is not a loopback address"));
    let out = world.run(&["proxy", "--integration", "nope"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("there is no integration named")
            && text(&out.stderr).contains("jira"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn end_users_are_named_by_header_and_unknown_ones_told_who_is_known() {
    let world = World::new();
    world.custom("user-authorized");
    world.authorize(&["--user", "alice"]);
    let proxy = ProxyProcess::start(world.command(), &[]);
    let socket = proxy.at.clone();
    let url = "http://jira/rest/api/3/echo/user";

    let got = curl(&[
        "--unix-socket",
        &socket,
        "-H",
        "X-Jira-Auth-User: alice",
        url,
    ]);
    assert_eq!(got.status, 200, "{}", got.body);
    let seen = got.json();
    assert!(seen["headers"].get("x-jira-auth-user").is_none(), "{seen}");
    let token = world
        .stored("jira", &jira_auth::domain::Principal::User("alice".into()))
        .access_token;
    assert_eq!(
        seen["headers"]["authorization"],
        format!("Bearer {}", token.expose())
    );

    let got = curl(&[
        "--unix-socket",
        &socket,
        "-H",
        "X-Jira-Auth-User: mallory",
        url,
    ]);
    assert_eq!(got.status, 404, "{}", got.body);
    let said = got.refusal();
    assert!(said.contains("mallory") && said.contains("alice"), "{said}");
    assert_eq!(got.header("x-jira-auth-exit"), Some("2"));

    let got = curl(&["--unix-socket", &socket, url]);
    assert_eq!(got.status, 400, "{}", got.body);
    assert!(got.refusal().contains("X-Jira-Auth-User"), "{}", got.body);
}

#[test]
fn retry_429_waits_within_its_cap() {
    let world = authorized();
    let proxy = ProxyProcess::start(world.command(), &["--retry-429", "3s"]);
    let socket = proxy.at.clone();
    let url = "http://jira/rest/api/3/echo/busy";
    let throttle = |after: &str| Fault::Throttle {
        status: 429,
        retry_after: Some(after.into()),
    };
    world.fake.fail_next(Endpoint::Jira, throttle("1"), 1);
    let got = curl(&["--unix-socket", &socket, url]);
    assert_eq!(got.status, 200, "{}", got.body);
    let log = proxy.log().join("\n");
    assert!(log.contains("waiting 1 s as it asks"), "{log}");
    // Past the cap, Jira's 429 comes back as it was.
    world.fake.fail_next(Endpoint::Jira, throttle("30"), 1);
    let got = curl(&["--unix-socket", &socket, url]);
    assert_eq!(got.status, 429, "{}", got.body);
    assert_eq!(got.header("retry-after"), Some("30"));
}

/// The largest resident set a process had (`VmHWM`), in KiB; `None` once it is gone.
fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Far below the gibibyte that goes through: the body is never held whole.
const FLAT_KIB: u64 = 96 * 1024;
const GIB: u64 = 1 << 30;

#[test]
fn a_gibibyte_streams_through_the_proxy_and_api_in_flat_memory() {
    let world = authorized();
    let proxy = ProxyProcess::start(world.command(), &[]);
    let socket = proxy.at.clone();

    // Down: curl counts what arrived.
    let out = Command::new("curl")
        .args([
            "-sS",
            "--unix-socket",
            &socket,
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{size_download}",
        ])
        .arg(format!("http://jira/rest/api/3/attachment/content/{GIB}"))
        .output()
        .unwrap();
    assert_eq!(
        text(&out.stdout),
        format!("200 {GIB}"),
        "{}",
        text(&out.stderr)
    );

    // Up: a chunked body of unknown length, counted by the fake as it arrives.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "head -c {GIB} /dev/zero | curl -sS --unix-socket '{socket}' -X POST -T - -H 'X-Atlassian-Token: no-check' -o /dev/null -w '%{{http_code}}' http://jira/rest/api/3/issue/ACME-1/attachments"
        ))
        .output()
        .unwrap();
    assert_eq!(
        text(&out.stdout),
        "200",
        "{}\n{}",
        text(&out.stderr),
        proxy.log().join("\n")
    );
    assert_eq!(world.fake.uploads(), [GIB]);
    let peak = peak_kib(proxy.pid()).expect("the proxy runs");
    assert!(peak < FLAT_KIB, "the proxy peaked at {peak} KiB");
    drop(proxy);

    // `api` down to a file: its peak read while it runs (VmHWM only grows).
    let out_file = tempfile::NamedTempFile::new().unwrap();
    let mut child = world
        .command()
        .args(["api", &format!("/rest/api/3/attachment/content/{GIB}")])
        .stdin(std::process::Stdio::null())
        .stdout(out_file.reopen().unwrap())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut peak = 0;
    while child.try_wait().unwrap().is_none() {
        peak = peak_kib(child.id()).unwrap_or(peak).max(peak);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(child.wait().unwrap().success());
    assert_eq!(out_file.as_file().metadata().unwrap().len(), GIB);
    assert!(peak > 0 && peak < FLAT_KIB, "api peaked at {peak} KiB");
}
