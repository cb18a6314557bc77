//! What the PostgreSQL store costs, on a throwaway cluster, with the real release binary:
//! warm `token` on PostgreSQL next to sled and `--version` (interleaved medians); the latency
//! the fleet lock adds to a refresh (its lease taken and given back, and the grant's rotation
//! read first); `status --json` over 10,000 users on PostgreSQL; how soon a change one agent
//! writes reaches another agent of the store (the notice; the hop from an agent to its
//! consoles is `scripts/measure_live_update.py`'s); and 10,000 grants coming due under four
//! agents' keep-alives at once (`JIRA_AUTH_BENCH_FLEET_GRANTS`, default 10,000, at
//! `JIRA_AUTH_BENCH_FLEET_RATE` refreshes a second for the whole fleet, default 100): each
//! refreshed once, and the fleet's pace.
//! Run: cargo bench --bench fleet

#[path = "../tests/support/fake_atlassian.rs"]
mod fake_atlassian;
#[path = "../tests/common/postgres.rs"]
#[allow(dead_code)]
mod postgres;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use jira_auth::domain::{AppRef, Integration, Mode, Principal, Secret, Site, Timestamp, TokenSet};
use jira_auth::store::postgres::{PgOptions, PgStore};
use jira_auth::store::{OpenOptions, SledStore, Store, StorePaths};

const RUNS: usize = 50;
const USERS: usize = 10_000;

fn command(dir: &Path, store: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jira-auth"));
    command
        .env("JIRA_AUTH_DATA_DIR", dir.join("data"))
        .env("JIRA_AUTH_KEY_FILE", dir.join("key"))
        .env("JIRA_AUTH_STORE", store)
        .env("JIRA_AUTH_SYSTEM_APP", "/nonexistent/system-app.toml")
        .env_remove("JIRA_AUTH_ATLASSIAN_AUTH_URL")
        .env_remove("JIRA_AUTH_ATLASSIAN_API_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

fn timed(dir: &Path, store: &str, args: &[&str]) -> Duration {
    let started = Instant::now();
    let status = command(dir, store).args(args).status().expect("spawn");
    let elapsed = started.elapsed();
    assert!(status.success(), "{args:?} on {store} failed");
    elapsed
}

fn median_ms(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1000.0
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

fn integration(name: &str, mode: Mode, now: Timestamp) -> Integration {
    Integration {
        name: name.into(),
        mode,
        app: AppRef::System,
        enabled: true,
        updated_at: now,
    }
}

fn seed_admin(store: &dyn Store) {
    let now = Timestamp::now();
    store
        .put_integration(&integration("jira", Mode::PreAuthorized, now))
        .expect("integration");
    store
        .put_token_set(&token_set("jira", Principal::Admin, now, 0))
        .expect("grant");
}

fn pg(conninfo: &str, dir: &Path) -> PgStore {
    PgStore::open(&PgOptions {
        conninfo: conninfo.to_owned(),
        key_file: dir.join("key"),
    })
    .expect("open the PostgreSQL store")
}

fn main() {
    let Some(cluster) = postgres::Cluster::start() else {
        return;
    };

    // Warm `token`: sled, PostgreSQL, and process start alone.
    let sled_dir = tempfile::tempdir().unwrap();
    let pg_dir = tempfile::tempdir().unwrap();
    let sled_store = SledStore::open(&OpenOptions::new(
        StorePaths {
            data_dir: sled_dir.path().join("data"),
            key_file: sled_dir.path().join("key"),
        },
        "bench",
    ))
    .unwrap();
    seed_admin(&sled_store);
    drop(sled_store);
    let token_db = cluster.database();
    seed_admin(&pg(&token_db, pg_dir.path()));
    let (sled, pgs) = (sled_dir.path(), pg_dir.path());
    timed(sled, "sled", &["token"]);
    timed(pgs, &token_db, &["token"]);
    let (mut version, mut on_sled, mut on_pg) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        version.push(timed(sled, "sled", &["--version"]));
        on_sled.push(timed(sled, "sled", &["token"]));
        on_pg.push(timed(pgs, &token_db, &["token"]));
    }
    let base = median_ms(version);
    println!("token, medians of {RUNS} interleaved runs (release binary):");
    println!("  jira-auth --version                 {base:7.2} ms");
    for (label, times) in [
        ("token, warm agent, sled", on_sled),
        ("token, warm agent, PostgreSQL", on_pg),
    ] {
        let ms = median_ms(times);
        println!("  {label:<35} {ms:7.2} ms  ({:.2}x --version)", ms / base);
    }
    timed(sled, "sled", &["agent", "stop"]);
    timed(pgs, &token_db, &["agent", "stop"]);

    // The fleet lock's share of a refresh: the rotation read, the lease taken and given back.
    let lock_db = cluster.database();
    let lock_dir = tempfile::tempdir().unwrap();
    let store = pg(&lock_db, lock_dir.path());
    seed_admin(&store);
    let mut lock = Vec::new();
    for n in 0..200 {
        let started = Instant::now();
        let _ = store
            .find_token_summary("jira", &mut |t| t.principal == Principal::Admin)
            .unwrap();
        assert!(
            store
                .take_grant(
                    "jira",
                    &Principal::Admin,
                    &format!("bench {n}"),
                    Duration::from_secs(45)
                )
                .unwrap()
        );
        store
            .release_grant("jira", &Principal::Admin, &format!("bench {n}"))
            .unwrap();
        lock.push(started.elapsed());
    }
    println!(
        "the fleet lock's share of one refresh (rotation read, lease taken, lease given back): median of 200 {:.2} ms",
        median_ms(lock)
    );

    // A change written by one agent, heard by another.
    let other = pg(&lock_db, lock_dir.path());
    let mut notices = other.notices().expect("notices");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    while other.version().is_none() {
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut heard = Vec::new();
    for n in 0..100 {
        let started = Instant::now();
        store
            .put_token_set(&token_set("jira", Principal::Admin, Timestamp::now(), n))
            .unwrap();
        runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(5), notices.recv())
                .await
                .expect("a notice")
                .expect("open")
        });
        heard.push(started.elapsed());
    }
    println!(
        "a grant written by one agent until another hears of it (the write's commit included): median of 100 {:.2} ms",
        median_ms(heard)
    );
    drop((store, other));

    // status --json over 10,000 users on PostgreSQL.
    let big_db = cluster.database();
    let big_dir = tempfile::tempdir().unwrap();
    {
        let store = pg(&big_db, big_dir.path());
        let now = Timestamp::now();
        store
            .put_integration(&integration("bots", Mode::UserAuthorized, now))
            .unwrap();
        let seeding = Instant::now();
        for n in 0..USERS {
            let principal = Principal::User(format!("user-{n:05}@example.com"));
            store
                .put_token_set(&token_set("bots", principal, now, n))
                .unwrap();
        }
        println!(
            "{USERS} token sets written to PostgreSQL one by one: {:.1} s",
            seeding.elapsed().as_secs_f64()
        );
    }
    let big = big_dir.path();
    let first = timed(big, &big_db, &["status", "--json"]);
    let mut warm = Vec::new();
    for _ in 0..5 {
        warm.push(timed(big, &big_db, &["status", "--json"]));
    }
    println!(
        "status --json with {USERS} users on PostgreSQL: first (agent start and the read) {:.1} ms; warm, median of 5 {:.1} ms",
        first.as_secs_f64() * 1000.0,
        median_ms(warm)
    );
    // And with every read going to the database: a write from elsewhere drops the kept text.
    let writer = pg(&big_db, big_dir.path());
    let mut uncached = Vec::new();
    for n in 0..5 {
        writer
            .put_integration(&integration(
                &format!("touch{n}"),
                Mode::PreAuthorized,
                Timestamp::now(),
            ))
            .unwrap();
        // The agent hears of it before the next read (well under the 100 ms slept here).
        std::thread::sleep(Duration::from_millis(100));
        uncached.push(timed(big, &big_db, &["status", "--json"]));
    }
    println!(
        "status --json with {USERS} users on PostgreSQL after a write (read from the database): median of 5 {:.1} ms",
        median_ms(uncached)
    );
    timed(big, &big_db, &["agent", "stop"]);

    keepalive_fleet(&cluster);
}

/// Four agents' keep-alives over one database where every grant is due: how many refreshes
/// reach Atlassian (each grant once), and at what pace.
fn keepalive_fleet(cluster: &postgres::Cluster) {
    let grants: usize = std::env::var("JIRA_AUTH_BENCH_FLEET_GRANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let rate: u32 = std::env::var("JIRA_AUTH_BENCH_FLEET_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let db = cluster.database();
    let fake = fake_atlassian::FakeAtlassian::start("http://localhost:8765/callback");
    let hosts: Vec<tempfile::TempDir> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let host = |n: usize| {
        let mut command = command(hosts[n].path(), &db);
        command
            .env("JIRA_AUTH_ATLASSIAN_AUTH_URL", fake.auth_url())
            .env("JIRA_AUTH_ATLASSIAN_API_URL", fake.api_url())
            .env("JIRA_AUTH_KEEPALIVE_RATE", rate.to_string());
        command
    };
    // The profile and a user-authorized integration through host A; the key to the others.
    let args = fake.profile_add_args(
        "http://localhost:8765/callback",
        "read:jira-work offline_access",
    );
    let mut add = host(0);
    add.args(&args).stdin(Stdio::piped());
    let mut child = add.spawn().unwrap();
    std::io::Write::write_all(
        child.stdin.as_mut().unwrap(),
        fake_atlassian::CLIENT_SECRET.as_bytes(),
    )
    .unwrap();
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success(), "profile add");
    let status = host(0)
        .args([
            "setup",
            "--integration",
            "bots",
            "--mode",
            "user-authorized",
            "--profile",
            "acme",
        ])
        .status()
        .unwrap();
    assert!(status.success(), "setup");
    assert!(host(0).args(["agent", "stop"]).status().unwrap().success());
    for other in &hosts[1..] {
        std::fs::copy(hosts[0].path().join("key"), other.path().join("key")).unwrap();
    }
    // Every grant idle for 61 days: due for rotation now. Atlassian does not know their
    // refresh tokens (it answers invalid_grant), which is all a count needs.
    {
        let store = pg(&db, hosts[0].path());
        let long_ago = Timestamp::now().plus_secs(-61 * 86_400);
        for n in 0..grants {
            let mut tokens =
                token_set("bots", Principal::User(format!("user-{n:05}")), long_ago, n);
            tokens.access_expires_at = long_ago.plus_secs(3600);
            store.put_token_set(&tokens).unwrap();
        }
    }
    let before = fake.refresh_requests();
    let started = Instant::now();
    for n in 0..4 {
        // Any command starts the host's agent; what status says of the grants is not asked.
        let out = host(n)
            .args(["status"])
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 3)),
            "host {n}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let deadline =
        started + Duration::from_secs(u64::try_from(grants).unwrap() / u64::from(rate) * 3 + 60);
    while fake.refresh_requests() - before < grants {
        assert!(
            Instant::now() < deadline,
            "the fleet stalled at {} refreshes",
            fake.refresh_requests() - before
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let took = started.elapsed();
    // Any second refresh would come within the agents' next look: watch a few seconds more.
    std::thread::sleep(Duration::from_secs(3));
    // Each refresh was refused, so each refreshed grant is marked dead: as many marked as
    // requests made means each grant was asked for once.
    let marked = pg(&db, hosts[0].path())
        .token_summaries()
        .unwrap()
        .iter()
        .filter(|t| t.reauthorization_required)
        .count();
    println!(
        "{grants} grants due under 4 agents at a fleet rate of {rate}/s: {} refreshes reached Atlassian, {marked} grants refreshed, in {:.1} s ({:.1}/s for the fleet)",
        fake.refresh_requests() - before,
        took.as_secs_f64(),
        grants as f64 / took.as_secs_f64()
    );
    for n in 0..4 {
        let _ = host(n).args(["agent", "stop"]).status();
    }
}
