//! End users authorizing themselves: `link` hands out personal links, `serve` receives the
//! callbacks, the agent completes each grant against the fake Atlassian. The real binary
//! throughout: links followed with an HTTP client, the receiver probed over raw TCP.

mod common;
mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::pty::PtySession;
use common::{Interactive, text};
use jira_auth::domain::{LinkOutcome, Timestamp};
use jira_auth::service::links::digest;
use jira_auth::store::Store;
use serde_json::Value;
use support::receiver::World;

fn raw(port: u16, request: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to serve");
    stream
        .set_read_timeout(Some(Duration::from_secs(40)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

fn get(port: u16, target: &str) -> String {
    raw(
        port,
        &format!("GET {target} HTTP/1.1\r\nHost: jira-auth.example\r\nConnection: close\r\n\r\n"),
    )
}

/// The callback URL's target (path and query), as the proxy would pass it on.
fn target(location: &str) -> String {
    let url = url::Url::parse(location).expect("callback URL");
    format!("{}?{}", url.path(), url.query().unwrap_or_default())
}

fn status_line(answer: &str) -> &str {
    answer.lines().next().unwrap_or_default()
}

fn state_of(link: &str) -> String {
    url::Url::parse(link)
        .expect("link")
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .expect("state")
}

#[test]
fn three_users_authorize_through_their_links_and_each_gets_their_own_token() {
    let world = World::new();
    let users = ["alice@acme.example", "U024BE7LH", "carol"];
    let mut waiting = Vec::new();
    for user in users {
        let mut link = Interactive::spawn(
            world.command(),
            &["link", "--integration", "support", "--user", user, "--wait"],
        );
        link.close_stdin();
        link.wait_line("waiting for user");
        waiting.push(link);
    }
    // The URL is the waiting command's stdout; read it from the store-side link instead of
    // racing the pipe: each waiter printed and flushed before its wait line.
    let mut tokens = Vec::new();
    for (user, link) in users.iter().zip(waiting) {
        let url = link.stdout_line();
        assert!(url.contains("state="), "{url}");
        let account = user.split('@').next().unwrap();
        let page = get(world.port, &target(&world.consent(&url, account)));
        assert_eq!(status_line(&page), "HTTP/1.1 200 OK", "{page}");
        assert!(page.contains("Jira is connected"), "{page}");
        assert!(page.contains(&format!("User {account}")), "{page}");
        assert!(page.contains(&format!("for user {user}")), "{page}");
        assert!(
            !page.contains("access-") && !page.contains("code-"),
            "{page}"
        );
        let (code, _, stderr) = link.finish();
        assert_eq!(code, 0, "{stderr}");
        assert!(
            stderr.contains(&format!("User {user} authorized support as User {account}")),
            "{stderr}"
        );
        let token = world.ok(&["token", "--integration", "support", "--user", user]);
        tokens.push(token.trim().to_owned());
    }
    tokens.sort();
    tokens.dedup();
    assert_eq!(tokens.len(), 3, "each user has their own token: {tokens:?}");
    let status: Value =
        serde_json::from_str(&world.ok(&["status", "--json"])).expect("status --json");
    let listed = status["integrations"][0]["tokens"]
        .as_array()
        .expect("tokens");
    assert_eq!(listed.len(), 3);
    let accounts: Vec<&str> = listed
        .iter()
        .map(|t| t["account"]["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(accounts, ["User U024BE7LH", "User alice", "User carol"]);
}

#[test]
fn a_replayed_an_expired_and_another_integrations_state_are_refused_before_atlassian() {
    let mut world = World::new();
    // Replay: the same callback twice. The second changes nothing.
    let link = world.link("support", "alice");
    let callback = target(&world.consent(&link, "alice"));
    assert!(get(world.port, &callback).contains("Jira is connected"));
    let spent = world.tokens();
    let replay = get(world.port, &callback);
    assert_eq!(status_line(&replay), "HTTP/1.1 400 Bad Request", "{replay}");
    assert!(replay.contains("used already"), "{replay}");
    assert_eq!(world.tokens(), spent, "a replay reaches no token endpoint");

    // Another integration's state, on this integration's callback path.
    world.profile(
        "ops-app",
        &format!("http://127.0.0.1:{}/ops/callback", world.port),
    );
    world.ok(&[
        "setup",
        "--integration",
        "ops",
        "--mode",
        "user-authorized",
        "--profile",
        "ops-app",
    ]);
    let ops = world.link("ops", "bob");
    let forged = format!("/callback?code=code-999&state={}", state_of(&ops));
    let before = world.tokens();
    let refused = get(world.port, &forged);
    assert_eq!(
        status_line(&refused),
        "HTTP/1.1 400 Bad Request",
        "{refused}"
    );
    assert!(refused.contains("another integration"), "{refused}");
    assert_eq!(
        world.tokens(),
        before,
        "another integration's state reaches nothing"
    );

    // Expired: a link whose time ran out (moved into the past in the store).
    let late = world.link("support", "carol");
    let state = state_of(&late);
    let callback = target(&world.consent(&late, "carol"));
    drop(world.serve.take());
    {
        let store = world.sandbox.open();
        let mut record = store
            .link(&digest(&state))
            .unwrap()
            .expect("the link is stored");
        record.expires_at = Timestamp::now().plus_secs(-60);
        store.put_link(&digest(&state), &record).unwrap();
    }
    world.start_serve(&[]);
    let before = world.tokens();
    let expired = get(world.port, &callback);
    assert_eq!(
        status_line(&expired),
        "HTTP/1.1 400 Bad Request",
        "{expired}"
    );
    assert!(expired.contains("expired"), "{expired}");
    // An unknown state, and none at all.
    for target in [
        "/callback?code=x&state=nobody-handed-this-out",
        "/callback?code=x",
    ] {
        let answer = get(world.port, target);
        assert!(
            answer.contains("not one jira-auth handed out"),
            "{target}: {answer}"
        );
    }
    assert_eq!(
        world.tokens(),
        before,
        "nothing refused reaches the token endpoint"
    );
    let carol = world.run(&["token", "--integration", "support", "--user", "carol"]);
    assert_eq!(carol.status.code(), Some(2), "{}", text(&carol.stderr));
}

#[test]
fn a_declined_consent_shows_its_page_stores_nothing_and_ends_the_wait_with_3() {
    let world = World::new();
    world.fake.set_decline(true);
    let mut link = Interactive::spawn(
        world.command(),
        &[
            "link",
            "--integration",
            "support",
            "--user",
            "dave",
            "--wait",
        ],
    );
    link.close_stdin();
    link.wait_line("waiting for user");
    let url = link.stdout_line();
    let page = get(world.port, &target(&world.consent(&url, "dave")));
    assert_eq!(status_line(&page), "HTTP/1.1 200 OK", "{page}");
    assert!(page.contains("You declined the consent"), "{page}");
    assert!(page.contains("Nothing was stored"), "{page}");
    let (code, _, stderr) = link.finish();
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("declined"), "{stderr}");
    assert_eq!(world.tokens(), 0);
    let status: Value = serde_json::from_str(&world.ok(&["status", "--json"])).unwrap();
    assert_eq!(status["integrations"][0]["tokens"], serde_json::json!([]));
    let store = world.sandbox.open();
    let record = store.link(&digest(&state_of(&url))).unwrap().unwrap();
    assert_eq!(record.outcome, LinkOutcome::Declined);
}

#[test]
fn an_html_looking_user_id_comes_back_escaped() {
    let world = World::new();
    let user = "<img src=x onerror=alert(1)>";
    let link = world.link("support", user);
    let page = get(world.port, &target(&world.consent(&link, "eve")));
    assert!(page.contains("Jira is connected"), "{page}");
    assert!(
        page.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{page}"
    );
    assert!(!page.contains("<img"), "{page}");
}

#[test]
fn the_receiver_answers_only_its_paths_and_refuses_what_it_should() {
    let world = World::new();
    let health = get(world.port, "/healthz");
    assert_eq!(status_line(&health), "HTTP/1.1 200 OK", "{health}");
    for path in [
        "/",
        "/admin",
        "/callback/../etc/passwd",
        "/favicon.ico",
        "/.env",
    ] {
        let answer = get(world.port, path);
        assert_eq!(
            status_line(&answer),
            "HTTP/1.1 404 Not Found",
            "{path}: {answer}"
        );
    }
    let post = raw(
        world.port,
        "POST /callback HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
    );
    assert_eq!(
        status_line(&post),
        "HTTP/1.1 405 Method Not Allowed",
        "{post}"
    );
    let body = raw(
        world.port,
        "GET /callback HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    );
    assert_eq!(
        status_line(&body),
        "HTTP/1.1 413 Payload Too Large",
        "{body}"
    );
    let long = format!("/callback?state={}", "a".repeat(5000));
    let answer = get(world.port, &long);
    assert_eq!(
        status_line(&answer),
        "HTTP/1.1 414 URI Too Long",
        "{answer}"
    );
    let huge_head = format!(
        "GET /callback HTTP/1.1\r\nHost: x\r\nX-Padding: {}\r\n\r\n",
        "p".repeat(20_000)
    );
    let answer = raw(world.port, &huge_head);
    assert!(
        answer.starts_with("HTTP/1.1 431") || answer.is_empty(),
        "an oversized head is cut off: {answer}"
    );
    assert_eq!(world.tokens(), 0);
}

#[test]
fn a_slow_client_is_dropped_and_does_not_hold_up_others() {
    let world = World::new();
    let mut slow = TcpStream::connect(("127.0.0.1", world.port)).expect("connect");
    slow.write_all(b"GET /callback HTTP/1.1\r\nHost: x\r\n")
        .expect("half a head");
    // While it dawdles, another client is served at once.
    assert_eq!(status_line(&get(world.port, "/healthz")), "HTTP/1.1 200 OK");
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let started = Instant::now();
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "the receiver closes a connection whose head never completes"
    );
}

#[test]
fn each_client_address_is_rate_limited_and_only_a_trusted_proxy_names_another() {
    let world = World::with_serve_args(&["--rate-limit", "5", "--trust-proxy", "127.0.0.1"]);
    let from = |client: &str| {
        raw(
            world.port,
            &format!(
                "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: {client}\r\nConnection: close\r\n\r\n"
            ),
        )
    };
    for _ in 0..5 {
        assert_eq!(status_line(&from("203.0.113.1")), "HTTP/1.1 200 OK");
    }
    let limited = from("203.0.113.1");
    assert_eq!(
        status_line(&limited),
        "HTTP/1.1 429 Too Many Requests",
        "{limited}"
    );
    assert!(
        limited.to_ascii_lowercase().contains("retry-after: 12"),
        "{limited}"
    );
    // Another client behind the same proxy has its own allowance.
    assert_eq!(status_line(&from("203.0.113.2")), "HTTP/1.1 200 OK");
}

#[test]
fn link_refuses_what_it_cannot_hand_out() {
    let world = World::new();
    world.ok(&[
        "setup",
        "--integration",
        "jira",
        "--mode",
        "pre-authorized",
        "--profile",
        "acme",
    ]);
    let cases: [(&[&str], i32, &str); 4] = [
        (
            &["link", "--integration", "jira", "--user", "a"],
            2,
            "pre-authorized",
        ),
        (
            &["link", "--integration", "nope", "--user", "a"],
            2,
            "no integration named",
        ),
        (
            &["link", "--integration", "support", "--user", "a\u{1b}[31m"],
            2,
            "user id",
        ),
        (
            &[
                "link",
                "--integration",
                "support",
                "--user",
                "a",
                "--ttl",
                "10s",
            ],
            2,
            "--ttl",
        ),
    ];
    for (args, code, sentence) in cases {
        let out = world.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let stderr = text(&out.stderr);
        assert!(stderr.contains(sentence), "{args:?}: {stderr}");
        assert!(!stderr.contains('\u{1b}'), "{stderr}");
    }
}

#[test]
fn the_console_users_screen_hands_out_a_link_and_shows_a_user_who_consents_unasked() {
    let world = World::new();
    let mut env = world.sandbox.pty_env();
    env.push(("JIRA_AUTH_ATLASSIAN_AUTH_URL", world.fake.auth_url()));
    env.push(("JIRA_AUTH_ATLASSIAN_API_URL", world.fake.api_url()));
    let mut console = PtySession::spawn(&[], &env, 120, 40);
    console.wait_for("support");
    console.send("u");
    console.wait_for("No user has authorized yet");
    // A link from the console, through the real agent.
    console.send("n");
    console.wait_for("End user id");
    console.send("frank@acme.example\r");
    console.wait_for("Link for frank@acme.example");
    console.wait_for("Waiting for frank@acme.example");
    // Another user consents through a scripted link; the screen follows without a key.
    let link = world.link("support", "grace");
    let page = get(world.port, &target(&world.consent(&link, "grace")));
    assert!(page.contains("Jira is connected"), "{page}");
    console.wait_for("(1/1)");
    console.wait_for("User grace");
    // Esc closes the link (waited for, so the next key is not read as Alt-q), then q quits.
    console.send("\u{1b}");
    console.wait_for("l link");
    console.send("q");
    assert_eq!(console.wait_exit(), 0);
}

#[test]
fn two_callbacks_with_one_state_at_once_store_one_grant() {
    let world = World::new();
    let link = world.link("support", "henry");
    let callback = target(&world.consent(&link, "henry"));
    let answers: Vec<String> = std::thread::scope(|scope| {
        let racers: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| get(world.port, &callback)))
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let won = answers
        .iter()
        .filter(|a| a.contains("Jira is connected"))
        .count();
    let used = answers
        .iter()
        .filter(|a| a.contains("used already"))
        .count();
    assert_eq!((won, used), (1, 3), "{answers:#?}");
    assert_eq!(world.tokens(), 1, "one exchange only");
}

#[test]
fn link_wait_ends_with_3_when_the_link_expires_even_across_an_agent_restart() {
    let world = World::new();
    let mut link = Interactive::spawn(
        world.command(),
        &[
            "link",
            "--integration",
            "support",
            "--user",
            "ivy",
            "--wait",
        ],
    );
    link.close_stdin();
    link.wait_line("waiting for user");
    let state = state_of(&link.stdout_line());
    // The agent stops (the waiter is told, and asks again); meanwhile the link runs out.
    {
        let store = world.sandbox.open();
        let mut record = store.link(&digest(&state)).unwrap().expect("stored");
        record.expires_at = Timestamp::now().plus_secs(-1);
        store.put_link(&digest(&state), &record).unwrap();
    }
    let (code, _, stderr) = link.finish();
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("expired"), "{stderr}");
}

#[test]
fn a_head_request_spends_no_link_and_a_withdrawn_integration_refuses_its_links() {
    let world = World::new();
    let link = world.link("support", "jack");
    let callback = target(&world.consent(&link, "jack"));
    let head = raw(
        world.port,
        &format!("HEAD {callback} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(
        status_line(&head),
        "HTTP/1.1 405 Method Not Allowed",
        "{head}"
    );
    let health = raw(
        world.port,
        "HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_line(&health), "HTTP/1.1 200 OK", "{health}");
    // The integration stops letting users authorize: its callback path is nobody's now.
    world.ok(&[
        "setup",
        "--integration",
        "support",
        "--mode",
        "pre-authorized",
        "--profile",
        "acme",
    ]);
    let refused = get(world.port, &callback);
    assert_eq!(status_line(&refused), "HTTP/1.1 404 Not Found", "{refused}");
    assert_eq!(world.tokens(), 0);
}

#[test]
fn without_trust_proxy_a_forwarded_for_header_changes_nobodys_allowance() {
    let world = World::with_serve_args(&["--rate-limit", "3"]);
    let answers: Vec<String> = (0..4)
        .map(|n| {
            raw(
                world.port,
                &format!(
                    "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 198.51.100.{n}\r\nConnection: close\r\n\r\n"
                ),
            )
        })
        .collect();
    assert_eq!(status_line(&answers[2]), "HTTP/1.1 200 OK");
    assert_eq!(
        status_line(&answers[3]),
        "HTTP/1.1 429 Too Many Requests",
        "the header names no one when the peer is not a trusted proxy"
    );
}
