//! Wall time of a complete `jira-auth authorize --paste` (the real release binary) against
//! the fake Atlassian on loopback, median of 20, and where the time goes: process start with
//! the store opened (`status --json`), the three HTTP calls made in-process, and the rest.
//! Run: cargo bench --bench authorize

#[path = "../tests/support/fake_atlassian.rs"]
mod fake_atlassian;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fake_atlassian::{CLIENT_ID, CLIENT_SECRET, FakeAtlassian};
use jira_auth::atlassian::authorize::{AuthorizeRequest, authorization_url, new_state};
use jira_auth::atlassian::client::{self, AppCredentials};
use jira_auth::atlassian::redirect::parse_redirect;
use jira_auth::atlassian::{Endpoints, resources};
use jira_auth::domain::Secret;

const RUNS: usize = 20;
const CALLBACK: &str = "http://localhost:1/callback";

fn binary(dir: &std::path::Path, fake: &FakeAtlassian) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jira-auth"));
    command
        .env("JIRA_AUTH_DATA_DIR", dir.join("data"))
        .env("JIRA_AUTH_KEY_FILE", dir.join("key"))
        .env("JIRA_AUTH_ATLASSIAN_AUTH_URL", fake.auth_url())
        .env("JIRA_AUTH_ATLASSIAN_API_URL", fake.api_url())
        .env_remove("SSH_CONNECTION");
    command
}

fn run(mut command: Command, args: &[&str], stdin: &str) {
    let mut child = command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write");
    assert!(child.wait().expect("wait").success(), "{args:?} failed");
}

fn median(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1000.0
}

fn main() {
    let fake = FakeAtlassian::start(CALLBACK);
    let dir = tempfile::tempdir().expect("temp dir");
    let args = fake.profile_add_args(CALLBACK, "read:jira-work offline_access");
    run(
        binary(dir.path(), &fake),
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        CLIENT_SECRET,
    );
    run(
        binary(dir.path(), &fake),
        &["setup", "--mode", "pre-authorized", "--profile", "acme"],
        "",
    );

    let mut total = Vec::new();
    let mut waiting = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let mut child = binary(dir.path(), &fake)
            .args(["authorize", "--paste"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut line = String::new();
        let url = loop {
            line.clear();
            assert!(
                stderr.read_line(&mut line).expect("read") > 0,
                "no URL printed"
            );
            if line.starts_with("http") {
                break line.trim().to_owned();
            }
        };
        // The browser's part is the human's time, not ours: excluded from the total.
        let browser = Instant::now();
        let redirect = fake.consent(&url);
        let browser_time = browser.elapsed();
        writeln!(child.stdin.take().expect("stdin"), "{redirect}").expect("paste");
        std::io::copy(&mut stderr, &mut std::io::sink()).expect("drain");
        assert!(child.wait().expect("wait").success(), "authorize failed");
        total.push(started.elapsed() - browser_time);
        waiting.push(browser_time);
    }

    let mut start = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        run(binary(dir.path(), &fake), &["status", "--json"], "");
        start.push(started.elapsed());
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let endpoints = Endpoints::from_overrides(Some(&fake.auth_url()), Some(&fake.api_url()));
    let app = AppCredentials {
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new(CLIENT_SECRET),
        token_url: endpoints.token_url(),
        refresh_url: endpoints.token_url(),
    };
    let http = client::http_client();
    let mut calls = Vec::new();
    for _ in 0..RUNS {
        let state = new_state();
        let url = authorization_url(
            &endpoints,
            &AuthorizeRequest {
                client_id: CLIENT_ID.into(),
                scopes: vec!["read:jira-work".into(), "offline_access".into()],
                redirect_uri: CALLBACK.into(),
                state: state.clone(),
            },
        );
        let code = parse_redirect(&fake.consent(url.as_str()), &state).expect("code");
        let started = Instant::now();
        runtime.block_on(async {
            let grant = client::exchange_code(&http, &app, &code, CALLBACK)
                .await
                .expect("exchange");
            let sites = resources::jira_sites(
                &resources::accessible_resources(&http, &endpoints, &grant.access_token)
                    .await
                    .expect("sites"),
            );
            resources::myself(&http, &endpoints, &grant.access_token, &sites[0].id)
                .await
                .expect("myself");
        });
        calls.push(started.elapsed());
    }

    let (total, start, calls) = (median(total), median(start), median(calls));
    println!("authorize --paste, browser excluded: median {total:.1} ms over {RUNS} runs");
    println!("  process start + store open + read (status --json): median {start:.1} ms");
    println!(
        "  exchange + accessible-resources + myself, in-process over loopback: median {calls:.1} ms"
    );
    println!(
        "  the rest (two store opens, prepare, sealing, flushes): about {:.1} ms",
        (total - start - calls).max(0.0)
    );
    println!(
        "  (the fake browser's consent round trip, excluded above: median {:.1} ms)",
        median(waiting)
    );
}
