//! What the agent costs and saves, with the real release binary: `profile list --json` and
//! `status --json` against a warm agent next to `jira-auth --version` (process start alone),
//! the same with no agent running (its start included), interleaved run by run so that
//! machine noise hits every column alike; then the agent's resident memory with an empty
//! store and with 10,000 token sets, and `status --json` over those; `token` next to
//! `gh auth token`; the Tokens screen's frame time over 10,000 token sets.
//! Run: cargo bench --bench agent

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use jira_auth::domain::{AppRef, Integration, Mode, Principal, Secret, Site, Timestamp, TokenSet};
use jira_auth::store::{OpenOptions, SledStore, Store, StorePaths};

const RUNS: usize = 30;
const TOKEN_SETS: usize = 10_000;

fn command(dir: &Path) -> Command {
    command_of(Path::new(env!("CARGO_BIN_EXE_jira-auth")), dir)
}

/// `program` (this build's binary, or another build's to compare with) on the store in `dir`.
fn command_of(program: &Path, dir: &Path) -> Command {
    let mut command = Command::new(program);
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
        let principal = Principal::User(format!("user-{n:05}@example.com"));
        store
            .put_token_set(&token_set("bots", principal, now, n))
            .expect("token set");
    }
}

/// One pre-authorized integration with a valid admin token, written straight to the store.
fn seed_admin_token(dir: &Path) {
    let paths = StorePaths {
        data_dir: dir.join("data"),
        key_file: dir.join("key"),
    };
    let store = SledStore::open(&OpenOptions::new(paths, "bench")).expect("open");
    let now = Timestamp::now();
    store
        .put_integration(&Integration {
            name: "jira".into(),
            mode: Mode::PreAuthorized,
            app: AppRef::System,
            enabled: true,
            updated_at: now,
        })
        .expect("integration");
    store
        .put_token_set(&token_set("jira", Principal::Admin, now, 0))
        .expect("token set");
}

fn token_set(integration: &str, principal: Principal, now: Timestamp, n: usize) -> TokenSet {
    TokenSet {
        integration: integration.into(),
        principal,
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
        account: None,
    }
}

/// `token` with a valid cached token: warm agent, next to `--version` and, where gh is
/// installed, `gh auth token` with GH_TOKEN set (its fastest path); then with no agent.
fn token_bench() {
    const TOKEN_RUNS: usize = 50;
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    seed_admin_token(dir);
    timed(dir, &["token"]);
    let gh = Command::new("gh").arg("--version").output().is_ok();
    let (mut version, mut token, mut gh_token, mut cold) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..TOKEN_RUNS {
        version.push(timed(dir, &["--version"]));
        token.push(timed(dir, &["token"]));
        if gh {
            let started = Instant::now();
            let status = Command::new("gh")
                .args(["auth", "token"])
                .env("GH_TOKEN", "ghp_benchmark0000000000000000000000000000")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("gh");
            gh_token.push(started.elapsed());
            assert!(status.success(), "gh auth token failed");
        }
        stop(dir);
        cold.push(timed(dir, &["token"]));
    }
    let base = median_ms(version.clone());
    println!("token, medians of {TOKEN_RUNS} interleaved runs:");
    println!("  jira-auth --version                      {base:7.2} ms");
    let ms = median_ms(token);
    println!(
        "  jira-auth token, warm agent              {ms:7.2} ms  ({:.2}x --version)",
        ms / base
    );
    if gh {
        let ms = median_ms(gh_token);
        println!(
            "  gh auth token (GH_TOKEN set)             {ms:7.2} ms  ({:.2}x --version)",
            ms / base
        );
    } else {
        println!("  gh auth token: gh is not installed here");
    }
    let ms = median_ms(cold);
    println!(
        "  jira-auth token, no agent (start incl.)  {ms:7.2} ms  ({:.2}x --version)",
        ms / base
    );
    stop(dir);
}

/// A console whose store holds 10,000 users of `bots`, and how long deriving its report took.
fn console_with_users(now: Timestamp) -> (jira_auth::tui::App, Duration) {
    use jira_auth::service::status;
    use jira_auth::tui::{App, Msg, update};
    let integration = Integration {
        name: "bots".into(),
        mode: Mode::UserAuthorized,
        app: AppRef::System,
        enabled: true,
        updated_at: now,
    };
    let tokens: Vec<TokenSet> = (0..TOKEN_SETS)
        .map(|n| {
            token_set(
                "bots",
                Principal::User(format!("user-{n:05}@example.com")),
                now,
                n,
            )
        })
        .collect();
    let started = Instant::now();
    let summaries: Vec<_> = tokens.iter().map(TokenSet::summary).collect();
    let report = status::build(&[integration], &summaries, &[], now);
    let build = started.elapsed();
    let mut app = App::new(
        jira_auth::tui::theme::Theme::monochrome(),
        jira_auth::atlassian::Endpoints::default(),
        String::new(),
        now,
    );
    update(&mut app, Msg::StatusLoaded(Ok(report)));
    (app, build)
}

/// The Users screen over 10,000 users: a frame per tick, and a keystroke into its filter
/// (the update and the frame it causes), the way the console does them.
fn users_screen_bench() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use jira_auth::tui::screens::Screen;
    use jira_auth::tui::screens::users::UsersScreen;
    use jira_auth::tui::{Msg, update, view};
    let now = Timestamp::now();
    let (mut app, _) = console_with_users(now);
    app.stack
        .push(Screen::Users(Box::new(UsersScreen::new("bots"))));
    let mut terminal =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).expect("backend");
    let mut frames = Vec::new();
    for second in 0..30 {
        update(&mut app, Msg::Tick(now.plus_secs(second)));
        let started = Instant::now();
        terminal.draw(|frame| view(&app, frame)).expect("draw");
        frames.push(started.elapsed());
    }
    let key = |code| Msg::Key(KeyEvent::new(code, KeyModifiers::NONE));
    update(&mut app, key(KeyCode::Char('/')));
    let mut keystrokes = Vec::new();
    for _ in 0..5 {
        for c in "user-0424".chars() {
            let started = Instant::now();
            update(&mut app, key(KeyCode::Char(c)));
            terminal.draw(|frame| view(&app, frame)).expect("draw");
            keystrokes.push(started.elapsed());
        }
        for _ in 0..9 {
            update(&mut app, key(KeyCode::Backspace));
        }
    }
    println!(
        "Users screen with {TOKEN_SETS} users (120x40): frame median {:.2} ms over 30 ticks; a filter keystroke and its frame median {:.2} ms over {}",
        median_ms(frames),
        median_ms(keystrokes.clone()),
        keystrokes.len()
    );
}

/// Draws the Tokens screen over 10,000 user token sets, the way the console does per frame.
fn tokens_screen_bench() {
    use jira_auth::tui::screens::Screen;
    use jira_auth::tui::screens::tokens::TokensScreen;
    use jira_auth::tui::{Msg, update, view};
    let now = Timestamp::now();
    let (mut app, build) = console_with_users(now);
    app.stack
        .push(Screen::Tokens(Box::new(TokensScreen::worst_first(
            &app.shared,
        ))));
    let mut terminal =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).expect("backend");
    let mut frames = Vec::new();
    for second in 0..30 {
        update(&mut app, Msg::Tick(now.plus_secs(second)));
        let started = Instant::now();
        terminal.draw(|frame| view(&app, frame)).expect("draw");
        frames.push(started.elapsed());
    }
    println!(
        "Tokens screen with {TOKEN_SETS} user token sets (120x40): frame median {:.2} ms over 30 ticks; deriving the report {:.1} ms",
        median_ms(frames),
        build.as_secs_f64() * 1000.0
    );
}

fn main() {
    token_bench();
    tokens_screen_bench();
    users_screen_bench();
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    // Read-only commands create no store: make one, then warm the page cache.
    seed_admin_token(dir);
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
    if let Some(baseline) = std::env::var_os("JIRA_AUTH_BENCH_BASELINE") {
        against_baseline(Path::new(&baseline), dir);
    }
    let user_token: Vec<Duration> = (0..10)
        .map(|_| {
            timed(
                dir,
                &[
                    "token",
                    "--integration",
                    "bots",
                    "--user",
                    "user-04242@example.com",
                ],
            )
        })
        .collect();
    println!(
        "token --user with {TOKEN_SETS} users, warm agent: median of 10 {:.2} ms",
        median_ms(user_token)
    );
    let mut cold_big = Vec::new();
    for _ in 0..5 {
        stop(dir);
        cold_big.push(timed(dir, &["status", "--json"]));
    }
    println!(
        "status --json with {TOKEN_SETS} token sets, no agent (start and integrity check incl.): median of 5 {:.1} ms",
        median_ms(cold_big)
    );
    stop(dir);
    status_costs(dir);
    store_bench(dir);
}

/// `status --json` of another build (`JIRA_AUTH_BENCH_BASELINE`, a jira-auth binary older
/// than this one, so that it is served by this build's warm agent rather than replacing it)
/// next to this build's, run by run: the client's side alone, on the same agent and machine
/// noise. Both must print the same bytes.
fn against_baseline(baseline: &Path, dir: &Path) {
    let run = |program: &Path| {
        let started = Instant::now();
        let output = command_of(program, dir)
            .args(["status", "--json"])
            .stdout(Stdio::piped())
            .output()
            .expect("spawn");
        let elapsed = started.elapsed();
        assert!(output.status.success(), "{program:?} status --json failed");
        (elapsed, output.stdout)
    };
    let ours = Path::new(env!("CARGO_BIN_EXE_jira-auth"));
    let (mut old, mut new) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let (elapsed, old_text) = run(baseline);
        old.push(elapsed);
        let (elapsed, new_text) = run(ours);
        new.push(elapsed);
        assert!(
            old_text == new_text,
            "status --json printed other bytes than the baseline"
        );
    }
    println!(
        "status --json with {TOKEN_SETS} token sets, warm agent, medians of {RUNS} interleaved runs (same bytes printed): baseline {:.1} ms, this build {:.1} ms",
        median_ms(old),
        median_ms(new)
    );
}

/// Where a warm `status --json` over 10,000 token sets spends its time, step by step, on
/// the store the agent just left: the store's read and the report derived from it, the
/// report serialized as the `status` reply's JSON and read back by a client (the console's
/// way), and the pretty text `status --json` prints, which the agent sends as it is.
fn status_costs(dir: &Path) {
    use jira_auth::service::status::{self, StatusReport};
    let paths = StorePaths {
        data_dir: dir.join("data"),
        key_file: dir.join("key"),
    };
    let store = SledStore::open(&OpenOptions::new(paths, "bench")).expect("open");
    let median_of_5 = |step: &mut dyn FnMut()| {
        let times: Vec<Duration> = (0..5)
            .map(|_| {
                let started = Instant::now();
                step();
                started.elapsed()
            })
            .collect();
        median_ms(times)
    };
    let now = Timestamp::now();
    let read = median_of_5(&mut || drop(store.token_summaries().expect("summaries")));
    let report = status::status(&store, now).expect("status");
    let derive = median_of_5(&mut || drop(status::status(&store, now).expect("status")));
    let wire = serde_json::to_vec(&report).expect("json");
    let compact = median_of_5(&mut || drop(serde_json::to_vec(&report).expect("json")));
    let parse = median_of_5(&mut || {
        drop(serde_json::from_slice::<StatusReport>(&wire).expect("parse"));
    });
    let pretty = report.json_text();
    let print = median_of_5(&mut || drop(report.json_text()));
    println!(
        "status over {TOKEN_SETS} token sets, medians of 5: store read of the summaries {read:.1} ms; the whole report from the store {derive:.1} ms; serialized compact ({} KiB) {compact:.1} ms; parsed back {parse:.1} ms; status --json's text ({} KiB) {print:.1} ms",
        wire.len() / 1024,
        pretty.len() / 1024
    );
}

/// The store's own costs over 10,000 token sets: opening it (which proves every tree
/// against its integrity record) and one grant's write (a transaction with that record,
/// flushed, and the generation beside the key synced).
fn store_bench(dir: &Path) {
    let paths = StorePaths {
        data_dir: dir.join("data"),
        key_file: dir.join("key"),
    };
    let mut opens = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        drop(SledStore::open(&OpenOptions::new(paths.clone(), "bench")).expect("open"));
        opens.push(started.elapsed());
    }
    let store = SledStore::open(&OpenOptions::new(paths, "bench")).expect("open");
    let now = Timestamp::now();
    let writes: Vec<Duration> = (0..200)
        .map(|n| {
            let tokens = token_set(
                "bots",
                Principal::User(format!("user-{n:05}@example.com")),
                now,
                n + 1,
            );
            let started = Instant::now();
            store.put_token_set(&tokens).expect("write");
            started.elapsed()
        })
        .collect();
    println!(
        "store with {TOKEN_SETS} token sets: open (integrity check incl.) median of 5 {:.1} ms; one token set written and flushed, median of 200 {:.2} ms",
        median_ms(opens),
        median_ms(writes)
    );
}
