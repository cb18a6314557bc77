//! `jira-auth api` and `jira-auth proxy` against the fake Jira on loopback (release binary):
//! 1. `api /rest/api/3/myself` beside the two-process way scripts use today
//!    (`curl -H "Authorization: Bearer $(jira-auth token)" …`), interleaved, medians;
//! 2. the proxy's added latency: the same keep-alive client calling the fake directly and
//!    through the proxy (loopback TCP, with the key), interleaved, medians;
//! 3. requests per second through the proxy with 64 concurrent keep-alive clients (the
//!    clients run in this process, on the same two cores);
//! 4. the proxy's and `api`'s peak resident memory while 1 GiB streams through.
//!
//! Run: cargo bench --bench api

#[path = "../tests/support/fake_atlassian.rs"]
mod fake_atlassian;
#[path = "../tests/support/proxy_process.rs"]
mod proxy_process;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fake_atlassian::{CLIENT_SECRET, FakeAtlassian};
use proxy_process::ProxyProcess;

const CLOUD_ID: &str = "11111111-aaaa-bbbb-cccc-000000000001";
const ROUNDS: usize = 40;
const LATENCY_ROUNDS: usize = 2_000;
const CONCURRENT: usize = 64;
const LOAD_FOR: Duration = Duration::from_secs(5);
const GIB: u64 = 1 << 30;

fn command(dir: &Path, fake: &FakeAtlassian) -> Command {
    command_of(env!("CARGO_BIN_EXE_jira-auth"), dir, fake)
}

/// `program` with the store and Atlassian of this bench in its environment.
fn command_of(program: &str, dir: &Path, fake: &FakeAtlassian) -> Command {
    let mut command = Command::new(program);
    command
        .env("JIRA_AUTH_DATA_DIR", dir.join("data"))
        .env("JIRA_AUTH_KEY_FILE", dir.join("key"))
        .env("JIRA_AUTH_SYSTEM_APP", "/nonexistent/system-app.toml")
        .env("JIRA_AUTH_ATLASSIAN_AUTH_URL", fake.auth_url())
        .env("JIRA_AUTH_ATLASSIAN_API_URL", fake.api_url())
        .env("NO_COLOR", "1")
        .env_remove("SSH_CONNECTION");
    command
}

fn run(dir: &Path, fake: &FakeAtlassian, args: &[&str], stdin: &str) -> Vec<u8> {
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
    out.stdout
}

/// A profile, a pre-authorized integration, and its consent given in the fake browser.
fn authorized(dir: &Path, fake: &FakeAtlassian, callback: &str) {
    let profile = fake.profile_add_args(callback, "read:jira-work offline_access");
    let profile: Vec<&str> = profile.iter().map(String::as_str).collect();
    run(dir, fake, &profile, CLIENT_SECRET);
    run(
        dir,
        fake,
        &[
            "setup",
            "--integration",
            "jira",
            "--mode",
            "pre-authorized",
            "--profile",
            "acme",
        ],
        "",
    );
    let mut child = command(dir, fake)
        .args(["authorize", "--paste"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("authorize");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let url = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.starts_with("http://"))
        .expect("the authorization URL");
    writeln!(stdin, "{}", fake.consent(&url)).expect("paste");
    drop(stdin);
    std::thread::spawn(move || for _ in lines {});
    assert!(
        child.wait().expect("authorize").success(),
        "authorize failed"
    );
}

fn median_ms(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1e3
}

fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn timed(mut command: Command) -> Duration {
    let started = Instant::now();
    let out = command.stdout(Stdio::null()).output().expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    started.elapsed()
}

/// 1. One call to `myself`, the jira-auth way and the curl-and-token way.
fn one_call(dir: &Path, fake: &FakeAtlassian) {
    let url = format!("{}/ex/jira/{CLOUD_ID}/rest/api/3/myself", fake.api_url());
    let binary = env!("CARGO_BIN_EXE_jira-auth");
    let (mut api, mut pair) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let mut one = command(dir, fake);
        one.args(["api", "/rest/api/3/myself"]);
        api.push(timed(one));
        let mut two = command_of("sh", dir, fake);
        two.args([
            "-c",
            &format!("curl -sS -f -H \"Authorization: Bearer $({binary} token)\" '{url}'"),
        ]);
        pair.push(timed(two));
    }
    println!(
        "myself, {ROUNDS} interleaved rounds, medians: jira-auth api {:.1} ms; curl + jira-auth token {:.1} ms",
        median_ms(api),
        median_ms(pair)
    );
}

fn client_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// 2 and 3: latency added by the proxy, and throughput through it.
fn through_the_proxy(dir: &Path, fake: &FakeAtlassian) {
    let proxy = ProxyProcess::start(command(dir, fake), &["--bind", "127.0.0.1:0"]);
    let key = std::fs::read_to_string(dir.join("data/proxy.key")).expect("the proxy key");
    let proxied = format!("{}/rest/api/3/myself", proxy.at);
    let token = String::from_utf8(run(dir, fake, &["token"], "")).expect("token");
    let direct = format!("{}/ex/jira/{CLOUD_ID}/rest/api/3/myself", fake.api_url());
    let (proxy_auth, direct_auth) = (
        format!("Bearer {}", key.trim()),
        format!("Bearer {}", token.trim()),
    );
    let runtime = client_runtime();
    let client = reqwest::Client::new();
    runtime.block_on(async {
        let get = |url: &str, auth: &str| {
            let request = client.get(url).header("authorization", auth);
            async move {
                let started = Instant::now();
                let response = request.send().await.expect("send");
                assert!(response.status().is_success(), "{}", response.status());
                response.bytes().await.expect("body");
                started.elapsed()
            }
        };
        // Warm both connections first.
        get(&direct, &direct_auth).await;
        get(&proxied, &proxy_auth).await;
        let (mut to_fake, mut via_proxy) = (Vec::new(), Vec::new());
        for _ in 0..LATENCY_ROUNDS {
            to_fake.push(get(&direct, &direct_auth).await);
            via_proxy.push(get(&proxied, &proxy_auth).await);
        }
        let (to_fake, via_proxy) = (median_ms(to_fake), median_ms(via_proxy));
        println!(
            "latency, {LATENCY_ROUNDS} interleaved keep-alive requests, medians: fake directly {to_fake:.3} ms; through the proxy {via_proxy:.3} ms; added {:.3} ms",
            via_proxy - to_fake
        );
    });
    drop(runtime);

    // Throughput: the clients on two threads of their own, 32 connections each.
    let done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..2 {
            let (done, proxied, proxy_auth) = (Arc::clone(&done), &proxied, &proxy_auth);
            scope.spawn(move || {
                let runtime = client_runtime();
                runtime.block_on(async move {
                    let client = reqwest::Client::builder()
                        .pool_max_idle_per_host(CONCURRENT)
                        .build()
                        .expect("client");
                    let tasks: Vec<_> = (0..CONCURRENT / 2)
                        .map(|_| {
                            let (client, done) = (client.clone(), Arc::clone(&done));
                            let (url, auth) = (proxied.clone(), proxy_auth.clone());
                            tokio::spawn(async move {
                                while started.elapsed() < LOAD_FOR {
                                    let response = client
                                        .get(&url)
                                        .header("authorization", &auth)
                                        .send()
                                        .await
                                        .expect("send");
                                    assert!(response.status().is_success());
                                    response.bytes().await.expect("body");
                                    done.fetch_add(1, Ordering::Relaxed);
                                }
                            })
                        })
                        .collect();
                    for task in tasks {
                        task.await.expect("client task");
                    }
                });
            });
        }
    });
    let seconds = started.elapsed().as_secs_f64();
    let count = done.load(Ordering::Relaxed);
    println!(
        "throughput: {count} requests by {CONCURRENT} concurrent clients in {seconds:.1} s: {:.0} requests/s through the proxy (peak RSS {} KiB)",
        count as f64 / seconds,
        peak_kib(proxy.pid()).unwrap_or(0)
    );
    drop(proxy);
}

/// 4. Peak memory while a gibibyte goes through the proxy (down and up) and `api` (down).
fn a_gibibyte(dir: &Path, fake: &FakeAtlassian) {
    let proxy = ProxyProcess::start(command(dir, fake), &[]);
    let socket = proxy.at.clone();
    let baseline = peak_kib(proxy.pid()).unwrap_or(0);
    let started = Instant::now();
    let down = Command::new("curl")
        .args(["-sS", "-f", "--unix-socket", &socket, "-o", "/dev/null"])
        .arg(format!("http://jira/rest/api/3/attachment/content/{GIB}"))
        .status()
        .expect("curl");
    assert!(down.success());
    let down_secs = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let up = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "head -c {GIB} /dev/zero | curl -sS -f --unix-socket '{socket}' -X POST -T - -H 'X-Atlassian-Token: no-check' -o /dev/null http://jira/rest/api/3/issue/ACME-1/attachments"
        ))
        .status()
        .expect("curl");
    assert!(up.success());
    let up_secs = started.elapsed().as_secs_f64();
    println!(
        "1 GiB through the proxy: down in {down_secs:.1} s, up in {up_secs:.1} s; proxy peak RSS {} KiB (at start {baseline} KiB)",
        peak_kib(proxy.pid()).unwrap_or(0)
    );
    drop(proxy);

    let started = Instant::now();
    let mut child = command(dir, fake)
        .args(["api", &format!("/rest/api/3/attachment/content/{GIB}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("api");
    let mut peak = 0;
    while child.try_wait().expect("wait").is_none() {
        peak = peak_kib(child.id()).unwrap_or(peak).max(peak);
        std::thread::sleep(Duration::from_millis(10));
    }
    println!(
        "1 GiB down with jira-auth api in {:.1} s; peak RSS {peak} KiB",
        started.elapsed().as_secs_f64()
    );
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let callback = "http://localhost:8717/callback";
    let fake = FakeAtlassian::start(callback);
    authorized(dir, &fake, callback);
    one_call(dir, &fake);
    through_the_proxy(dir, &fake);
    a_gibibyte(dir, &fake);
    let _ = command(dir, &fake)
        .args(["agent", "stop"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}
