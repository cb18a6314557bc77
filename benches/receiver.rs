//! The receiver under load: 2,000 end users complete their consent through `jira-auth serve`
//! (release binary) against the fake Atlassian on loopback. Links are handed out and the
//! consents given first; then this process, a second one beside the receiver, sends the
//! 2,000 callbacks with a bounded number in flight (each as its own client address behind a
//! trusted proxy) and reports callbacks completed per second, latency, and the resident
//! memory of the receiver and the agent while it runs. Then fairness: callbacks and health
//! checks one at a time, first from 127.0.0.2 with nothing else going on, then from 127.0.0.4
//! while 127.0.0.3 holds 2,000 half-sent connections and reopens every one the receiver
//! closes (two addresses, so neither phase runs into the other's rate limit).
//! Run: cargo bench --bench receiver

#[path = "../tests/support/browser.rs"]
mod browser;
#[path = "../tests/support/fake_atlassian.rs"]
mod fake_atlassian;

use browser::{browser_get, still_held};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fake_atlassian::{CLIENT_SECRET, FakeAtlassian};

const USERS: usize = 2_000;
const IN_FLIGHT: usize = 16;
/// Callbacks timed from the well-behaved address, with and without the greedy one.
const FAIR_CALLBACKS: usize = 20;
const GREEDY: usize = 2_000;
const HALF_A_HEAD: &[u8] = b"GET /callback HTTP/1.1\r\nHost: jira-auth.example\r\n";

fn command(dir: &Path, fake: &FakeAtlassian) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jira-auth"));
    command
        .env("JIRA_AUTH_DATA_DIR", dir.join("data"))
        .env("JIRA_AUTH_KEY_FILE", dir.join("key"))
        .env("JIRA_AUTH_SYSTEM_APP", "/nonexistent/system-app.toml")
        .env("JIRA_AUTH_ATLASSIAN_AUTH_URL", fake.auth_url())
        .env("JIRA_AUTH_ATLASSIAN_API_URL", fake.api_url())
        .env_remove("SSH_CONNECTION");
    command
}

fn run(dir: &Path, fake: &FakeAtlassian, args: &[&str], stdin: &str) -> String {
    let mut child = command(dir, fake)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("stdin");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn get(port: u16, target: &str, client: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: jira-auth.example\r\nX-Forwarded-For: {client}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

/// A connection from `source` (a loopback address other than the trusted proxy's).
fn connect_from(
    runtime: &tokio::runtime::Runtime,
    source: [u8; 4],
    port: u16,
) -> std::io::Result<TcpStream> {
    runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind(SocketAddr::from((source, 0)))?;
        let stream = socket
            .connect(SocketAddr::from(([127, 0, 0, 1], port)))
            .await?
            .into_std()?;
        stream.set_nonblocking(false)?;
        Ok(stream)
    })
}

fn client_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("a runtime for binding client sockets")
}

/// 127.0.0.3 holds `GREEDY` half-sent connections, reopening each one the receiver closes,
/// until `stop`; `ready` hears when the first round of reopening is done. Returns how many
/// it reopened.
fn be_greedy(port: u16, ready: &std::sync::mpsc::Sender<()>, stop: &AtomicBool) -> usize {
    let runtime = client_runtime();
    let open = || {
        let mut stream = connect_from(&runtime, [127, 0, 0, 3], port).ok()?;
        // A reset before the write lands is the receiver closing it: reopened next round.
        let _ = stream.write_all(HALF_A_HEAD);
        Some(stream)
    };
    let mut streams: Vec<Option<TcpStream>> = (0..GREEDY).map(|_| open()).collect();
    let mut renewed = 0;
    let mut rounds = 0;
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
        for slot in &mut streams {
            if slot.as_ref().is_some_and(still_held) {
                continue;
            }
            *slot = open();
            renewed += 1;
        }
        rounds += 1;
        if rounds == 1 {
            let _ = ready.send(());
        }
    }
    renewed
}

/// A callback and a health check for each target from `source`, one at a time.
fn timed_from_another_address(
    source: [u8; 4],
    port: u16,
    targets: &[String],
) -> (Vec<Duration>, Vec<Duration>, usize) {
    let runtime = client_runtime();
    let (mut callbacks, mut health, mut failed) = (Vec::new(), Vec::new(), 0);
    for target in targets {
        let sent = Instant::now();
        let page = browser_get(
            connect_from(&runtime, source, port).expect("connect"),
            "jira-auth.example",
            target,
        );
        if page.starts_with("HTTP/1.1 200") && page.contains("Jira is connected") {
            callbacks.push(sent.elapsed());
        } else {
            failed += 1;
            eprintln!("{}", page.lines().next().unwrap_or("no answer"));
        }
        let sent = Instant::now();
        let page = browser_get(
            connect_from(&runtime, source, port).expect("connect"),
            "jira-auth.example",
            "/healthz",
        );
        if page.starts_with("HTTP/1.1 200") {
            health.push(sent.elapsed());
        } else {
            failed += 1;
        }
    }
    callbacks.sort();
    health.sort();
    (callbacks, health, failed)
}

fn print_fair(what: &str, (callbacks, health, failed): &(Vec<Duration>, Vec<Duration>, usize)) {
    let summary = |times: &[Duration]| {
        if times.is_empty() {
            "none completed".to_owned()
        } else {
            format!(
                "median {:.1} ms, max {:.1} ms",
                percentile(times, 0.5),
                percentile(times, 1.0)
            )
        }
    };
    println!(
        "  {what}: callback {}; /healthz {}; {failed} failed",
        summary(callbacks),
        summary(health)
    );
}

/// Browser callbacks and health checks from one address, alone and beside a greedy one;
/// the consents are given first, so only the receiver's part is timed.
fn fairness(dir: &Path, fake: &FakeAtlassian, port: u16) {
    let fair: Vec<String> = (0..2 * FAIR_CALLBACKS)
        .map(|n| {
            let user = format!("fair-{n:02}@acme.example");
            let link = run(
                dir,
                fake,
                &["link", "--integration", "support", "--user", &user],
                "",
            );
            let location = fake.consent(&format!("{}&fake_account=f{n}", link.trim()));
            let url = url::Url::parse(&location).expect("callback");
            format!("{}?{}", url.path(), url.query().unwrap_or_default())
        })
        .collect();
    let (quiet, greedy) = fair.split_at(FAIR_CALLBACKS);
    println!("fairness, {FAIR_CALLBACKS} browser callbacks (and as many /healthz), one at a time:");
    print_fair(
        "from 127.0.0.2 alone",
        &timed_from_another_address([127, 0, 0, 2], port, quiet),
    );
    let stop = AtomicBool::new(false);
    let (ready, greedy_ready) = std::sync::mpsc::channel();
    let (timed, renewed) = std::thread::scope(|scope| {
        let greed = scope.spawn(|| be_greedy(port, &ready, &stop));
        greedy_ready.recv().expect("the greedy peer");
        let timed = timed_from_another_address([127, 0, 0, 4], port, greedy);
        stop.store(true, Ordering::SeqCst);
        (timed, greed.join().expect("the greedy peer"))
    });
    print_fair(
        &format!(
            "from 127.0.0.4 while 127.0.0.3 holds {GREEDY} half-sent connections ({renewed} reopened after the receiver closed them)"
        ),
        &timed,
    );
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at].as_secs_f64() * 1000.0
}

fn main() {
    // The greedy peer below holds 2,000 sockets in this process.
    let open_files = jira_auth::limits::raise_open_files().expect("the open-files limit");
    assert!(
        open_files >= GREEDY as u64 + 500,
        "the fairness case needs {} open files; the hard limit is {open_files} (ulimit -Hn)",
        GREEDY + 500
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let callback = format!("http://127.0.0.1:{port}/callback");
    let fake = FakeAtlassian::start(&callback);
    let profile = fake.profile_add_args(&callback, "read:jira-work offline_access");
    let profile: Vec<&str> = profile.iter().map(String::as_str).collect();
    run(dir, &fake, &profile, CLIENT_SECRET);
    run(
        dir,
        &fake,
        &[
            "setup",
            "--integration",
            "support",
            "--mode",
            "user-authorized",
            "--profile",
            "acme",
        ],
        "",
    );

    let mut serve: Child = command(dir, &fake)
        .args([
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--trust-proxy",
            "127.0.0.1",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve");
    let mut log = BufReader::new(serve.stderr.take().expect("stderr")).lines();
    for line in log.by_ref() {
        if line.expect("serve's log").contains("listening on") {
            break;
        }
    }
    std::thread::spawn(move || for _ in log {});

    // Links and consents first: the timed part is the receiver's.
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let callbacks = Mutex::new(Vec::with_capacity(USERS));
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    if n >= USERS {
                        break;
                    }
                    let user = format!("user-{n:05}@acme.example");
                    let link = run(
                        dir,
                        &fake,
                        &["link", "--integration", "support", "--user", &user],
                        "",
                    );
                    let location = fake.consent(&format!("{}&fake_account=u{n}", link.trim()));
                    let url = url::Url::parse(&location).expect("callback");
                    let target = format!("{}?{}", url.path(), url.query().unwrap_or_default());
                    callbacks.lock().unwrap().push((n, target));
                }
            });
        }
    });
    let callbacks = callbacks.into_inner().unwrap();
    println!(
        "{USERS} links handed out and consented in {:.1} s (one `link` process each)",
        started.elapsed().as_secs_f64()
    );
    let agent_pid: u32 = {
        let out = run(dir, &fake, &["agent", "status", "--json"], "");
        let info: serde_json::Value = serde_json::from_str(&out).expect("agent status");
        u32::try_from(info["pid"].as_u64().expect("pid")).expect("pid")
    };
    let serve_pid = serve.id();
    let before = (rss_kib(serve_pid), rss_kib(agent_pid));

    let done = Arc::new(AtomicBool::new(false));
    let peaks = Arc::new(Mutex::new((0u64, 0u64)));
    let sampler = {
        let (done, peaks) = (Arc::clone(&done), Arc::clone(&peaks));
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                let mut peak = peaks.lock().unwrap();
                peak.0 = peak.0.max(rss_kib(serve_pid));
                peak.1 = peak.1.max(rss_kib(agent_pid));
                drop(peak);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let next = AtomicUsize::new(0);
    let latencies = Mutex::new(Vec::with_capacity(USERS));
    let failures = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..IN_FLIGHT {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some((n, target)) = callbacks.get(i) else {
                        break;
                    };
                    let client = format!("10.{}.{}.{}", n / 65536, (n / 256) % 256, n % 256);
                    let sent = Instant::now();
                    let answer = get(port, target, &client);
                    let took = sent.elapsed();
                    if answer.starts_with("HTTP/1.1 200") && answer.contains("Jira is connected") {
                        latencies.lock().unwrap().push(took);
                    } else {
                        failures.fetch_add(1, Ordering::SeqCst);
                        eprintln!("{}", answer.lines().next().unwrap_or("no answer"));
                    }
                }
            });
        }
    });
    let wall = started.elapsed();
    done.store(true, Ordering::SeqCst);
    sampler.join().expect("sampler");
    let (serve_peak, agent_peak) = *peaks.lock().unwrap();
    let mut latencies = latencies.into_inner().unwrap();
    latencies.sort();
    let completed = latencies.len();
    println!(
        "{completed} callbacks completed ({} failed) in {:.2} s with {IN_FLIGHT} in flight: {:.0} callbacks/s",
        failures.load(Ordering::SeqCst),
        wall.as_secs_f64(),
        completed as f64 / wall.as_secs_f64()
    );
    if completed > 0 {
        println!(
            "  latency median {:.1} ms, p95 {:.1} ms, max {:.1} ms",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.95),
            percentile(&latencies, 1.0)
        );
    }
    println!(
        "  resident memory: receiver {:.1} MiB before, {:.1} MiB peak; agent {:.1} MiB before, {:.1} MiB peak",
        before.0 as f64 / 1024.0,
        serve_peak as f64 / 1024.0,
        before.1 as f64 / 1024.0,
        agent_peak as f64 / 1024.0
    );
    let status: serde_json::Value =
        serde_json::from_str(&run(dir, &fake, &["status", "--json"], "")).expect("status");
    let stored = status["integrations"][0]["tokens"]
        .as_array()
        .map_or(0, Vec::len);
    println!("  token sets stored: {stored}");

    fairness(dir, &fake, port);
    let _ = serve.kill();
    let _ = serve.wait();
    run(dir, &fake, &["agent", "stop"], "");
}
