//! What the agent costs and saves, with the real release binary: `profile list --json` and
//! `status --json` against a warm agent next to `jira-auth --version` (process start alone),
//! the same with no agent running (its start included), interleaved run by run so that
//! machine noise hits every column alike; then the agent's resident memory with an empty
//! store and with 10,000 token sets, and `status --json` over those.
//! Run: cargo bench --bench agent

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use jira_auth::domain::{AppRef, Integration, Mode, Principal, Secret, Site, Timestamp, TokenSet};
use jira_auth::store::{OpenOptions, SledStore, Store, StorePaths};

const RUNS: usize = 30;
const TOKEN_SETS: usize = 10_000;

fn command(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jira-auth"));
    command
        .env("JIRA_AUTH_DATA_DIR", dir.join("data"))
        .env("JIRA_AUTH_KEY_FILE", dir.join("key"))
        .env("JIRA_AUTH_SYSTEM_APP", "/nonexistent/system-app.toml")
        .env_remove("JIRA_AUTH_ATLASSIAN_AUTH_URL")
        .env_remove("JIRA_AUTH_ATLASSIAN_API_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

fn timed(dir: &Path, args: &[&str]) -> Duration {
    let started = Instant::now();
    let status = command(dir).args(args).status().expect("spawn");
    let elapsed = started.elapsed();
    assert!(status.success(), "{args:?} failed");
    elapsed
}

fn stop(dir: &Path) {
    timed(dir, &["agent", "stop"]);
}

fn agent_pid(dir: &Path) -> u32 {
    let output = command(dir)
        .args(["agent", "status", "--json"])
        .stdout(Stdio::piped())
        .output()
        .expect("agent status");
    let info: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    u32::try_from(info["pid"].as_u64().expect("pid")).expect("a pid")
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

fn median_ms(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1000.0
}

fn seed(dir: &Path) {
    let paths = StorePaths {
        data_dir: dir.join("data"),
        key_file: dir.join("key"),
    };
    let store = SledStore::open(&OpenOptions::new(paths, "bench")).expect("open");
    let now = Timestamp::now();
    store
        .put_integration(&Integration {
            name: "bots".into(),
            mode: Mode::UserAuthorized,
            app: AppRef::System,
            enabled: true,
            updated_at: now,
        })
        .expect("integration");
    for n in 0..TOKEN_SETS {
        store
            .put_token_set(&TokenSet {
                integration: "bots".into(),
                principal: Principal::User(format!("user-{n:05}@example.com")),
                access_token: Secret::new(format!("access-{n}")),
                access_expires_at: now.plus_secs(3600),
                refresh_token: Some(Secret::new(format!("refresh-{n}"))),
                consented_at: now,
                rotated_at: now,
                site: Some(Site {
                    id: "11111111-2222-3333-4444-555555555555".into(),
                    url: "https://acme.atlassian.net".into(),
                    name: "acme".into(),
                }),
                scopes: vec!["read:jira-work".into(), "offline_access".into()],
                last_error: None,
                reauthorization_required: false,
            })
            .expect("token set");
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    // Warm the page cache and create the store.
    timed(dir, &["status", "--json"]);

    let (mut version, mut list, mut status, mut cold_status, mut cold_list) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        version.push(timed(dir, &["--version"]));
        list.push(timed(dir, &["profile", "list", "--json"]));
        status.push(timed(dir, &["status", "--json"]));
        stop(dir);
        cold_status.push(timed(dir, &["status", "--json"]));
        stop(dir);
        cold_list.push(timed(dir, &["profile", "list", "--json"]));
    }
    let base = median_ms(version.clone());
    println!("medians of {RUNS} interleaved runs (release binary):");
    println!("  jira-auth --version                      {base:7.2} ms");
    for (label, times) in [
        ("profile list --json, warm agent", list),
        ("status --json, warm agent", status),
        ("status --json, no agent (start incl.)", cold_status),
        ("profile list --json, no agent (start incl.)", cold_list),
    ] {
        let ms = median_ms(times);
        println!("  {label:<44} {ms:7.2} ms  ({:.2}x --version)", ms / base);
    }

    timed(dir, &["status", "--json"]);
    let empty = rss_kib(agent_pid(dir));
    stop(dir);
    seed(dir);
    let mut big = Vec::new();
    for _ in 0..5 {
        big.push(timed(dir, &["status", "--json"]));
    }
    let loaded = rss_kib(agent_pid(dir));
    println!("agent resident memory:");
    println!(
        "  empty store                               {:7.1} MiB",
        empty as f64 / 1024.0
    );
    println!(
        "  {TOKEN_SETS} token sets, after 5 status reads     {:7.1} MiB",
        loaded as f64 / 1024.0
    );
    println!(
        "status --json with {TOKEN_SETS} token sets, warm agent: median of 5 {:.1} ms",
        median_ms(big)
    );
    stop(dir);
}
