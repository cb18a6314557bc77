//! The receiver under one greedy peer: an address holding 2,000 half-sent connections (and
//! renewing every one the receiver closes) must not keep a browser's callback or a health
//! check from another address out; a trusted proxy, which carries many clients, is not capped.
//! The real `jira-auth serve` on 127.0.0.1; the other client binds 127.0.0.2 before connecting.

mod common;
mod support;

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use jira_auth::receiver::{PER_ADDRESS_HALF_SENT, PER_ADDRESS_OPEN, PRESSED_HEAD_TIMEOUT};
use support::browser::{browser_get, still_held};
use support::receiver::World;

const GREEDY: usize = 2_000;
/// The target is under a second; this is the generous bound a shared machine meets.
const BOUND: Duration = Duration::from_secs(5);
const OTHER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const HALF_A_HEAD: &[u8] = b"GET /callback HTTP/1.1\r\nHost: jira-auth.example\r\n";

/// Raises this process's open-files limit so it can hold `need` sockets; false (said loudly)
/// where the machine does not allow that many.
fn open_files_for(need: u64) -> bool {
    let now = jira_auth::limits::raise_open_files().unwrap_or(0);
    if now >= need {
        return true;
    }
    let wanted = libc::rlimit {
        rlim_cur: need,
        rlim_max: need,
    };
    // SAFETY: setrlimit only reads the struct we pass.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) } == 0 {
        return true;
    }
    eprintln!(
        "SKIPPED: this test needs {need} open files and the limit is {now} (hard); raise it (ulimit -Hn) to run it"
    );
    false
}

/// A connection to the receiver from `source`, a loopback address of the test's choosing.
fn connect_from(runtime: &tokio::runtime::Runtime, source: Ipv4Addr, port: u16) -> TcpStream {
    runtime
        .block_on(async {
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.bind(SocketAddr::from((source, 0)))?;
            let stream = socket
                .connect(SocketAddr::from(([127, 0, 0, 1], port)))
                .await?;
            let stream = stream.into_std()?;
            stream.set_nonblocking(false)?;
            io::Result::Ok(stream)
        })
        .unwrap_or_else(|e| panic!("connect from {source}: {e}"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("a runtime for binding client sockets")
}

fn half_sent(port: u16) -> Option<TcpStream> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(1)).ok()?;
    // A reset before the write lands is the receiver closing it: renewed next round.
    let _ = stream.write_all(HALF_A_HEAD);
    Some(stream)
}

/// What the greedy peer saw: how many connections it had to open again, and how many the
/// receiver still held once it stopped renewing.
struct Greed {
    renewed: usize,
    held_at_end: usize,
}

/// 127.0.0.1 opens `count` connections with half a head each, then reopens every one the
/// receiver closes, until `stop`; `ready` hears when the first round of reopening is done, so
/// the other client arrives in the middle of the churn.
fn be_greedy(
    port: u16,
    count: usize,
    ready: std::sync::mpsc::Sender<()>,
    stop: &AtomicBool,
) -> Greed {
    let mut streams: Vec<Option<TcpStream>> = (0..count).map(|_| half_sent(port)).collect();
    let mut renewed = 0;
    let mut rounds = 0;
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
        for slot in &mut streams {
            if slot.as_ref().is_some_and(still_held) {
                continue;
            }
            *slot = half_sent(port);
            renewed += 1;
        }
        rounds += 1;
        if rounds == 1 {
            let _ = ready.send(());
        }
    }
    // What it holds once it has taken in what is queued: it only closes from here (nothing
    // is reopened), so this waits until it is within its share or the deadline has passed.
    let held = || {
        streams
            .iter()
            .filter(|slot| slot.as_ref().is_some_and(still_held))
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while held() > PER_ADDRESS_HALF_SENT && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let held_at_end = held();
    Greed {
        renewed,
        held_at_end,
    }
}

#[test]
fn a_callback_and_a_health_check_get_through_while_one_address_holds_2000_half_sent_connections() {
    if !open_files_for(GREEDY as u64 + 1_000) {
        return;
    }
    let world = World::with_serve_args(&[]);
    let callback = world.consented_callback(&world.link("support", "kim@acme.example"), "kim");
    let runtime = runtime();
    let stop = AtomicBool::new(false);
    let (ready, greedy_ready) = std::sync::mpsc::channel();
    let (greed, callback_took, callback_page, health_took, health) = std::thread::scope(|scope| {
        let greedy = scope.spawn(|| be_greedy(world.port, GREEDY, ready, &stop));
        greedy_ready
            .recv_timeout(Duration::from_secs(60))
            .expect("the greedy peer opened its connections");
        let started = Instant::now();
        let page = browser_get(
            connect_from(&runtime, OTHER, world.port),
            &format!("127.0.0.1:{}", world.port),
            &callback,
        );
        let callback_took = started.elapsed();
        let started = Instant::now();
        let health = browser_get(
            connect_from(&runtime, OTHER, world.port),
            &format!("127.0.0.1:{}", world.port),
            "/healthz",
        );
        let health_took = started.elapsed();
        stop.store(true, Ordering::SeqCst);
        let greed = greedy.join().expect("the greedy peer");
        (greed, callback_took, page, health_took, health)
    });
    println!(
        "with 127.0.0.1 holding {GREEDY} half-sent connections ({} reopened after the receiver closed them): the callback from 127.0.0.2 completed in {:.1} ms, /healthz in {:.1} ms",
        greed.renewed,
        callback_took.as_secs_f64() * 1000.0,
        health_took.as_secs_f64() * 1000.0
    );
    assert!(
        callback_page.starts_with("HTTP/1.1 200 OK") && callback_page.contains("Jira is connected"),
        "{callback_page}"
    );
    assert!(health.starts_with("HTTP/1.1 200 OK"), "{health}");
    assert!(callback_took < BOUND, "the callback took {callback_took:?}");
    assert!(health_took < BOUND, "/healthz took {health_took:?}");
    // Over its share, the greedy address was closed at once rather than held.
    assert!(greed.renewed > 0, "the receiver closed none of {GREEDY}");
    assert!(
        greed.held_at_end <= PER_ADDRESS_HALF_SENT,
        "the receiver held {} half-sent connections from one address",
        greed.held_at_end
    );
    // The limit in force is said at start; the flood is told once, not once a connection.
    let limits = world.logged("open-files limit");
    assert_eq!(limits.len(), 1, "{:?}", world.log.lock().unwrap());
    let told = world.logged("the most one address may");
    assert_eq!(
        told.len(),
        1,
        "one line for {} refusals: {told:?}",
        greed.renewed
    );
    assert!(
        told[0].contains("127.0.0.1") && told[0].contains("--trust-proxy"),
        "{told:?}"
    );
    let token = world.ok(&[
        "token",
        "--integration",
        "support",
        "--user",
        "kim@acme.example",
    ]);
    assert!(!token.trim().is_empty(), "the callback stored kim's grant");
}

#[test]
fn a_trusted_proxy_is_not_capped_and_another_address_gets_its_share_with_shorter_heads() {
    const MANY: usize = PER_ADDRESS_OPEN * 2;
    if !open_files_for(2 * MANY as u64 + 500) {
        return;
    }
    let world = World::with_serve_args(&["--trust-proxy", "127.0.0.1"]);
    let runtime = runtime();
    let open = |source: Ipv4Addr| -> Vec<TcpStream> {
        (0..MANY)
            .map(|_| {
                let mut stream = connect_from(&runtime, source, world.port);
                let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n");
                stream
            })
            .collect()
    };
    let proxied = open(Ipv4Addr::LOCALHOST);
    let direct = open(OTHER);
    let direct_opened = Instant::now();
    let held = |streams: &[TcpStream]| streams.iter().filter(|s| still_held(s)).count();
    // The receiver has turned away 127.0.0.2's connections past its share.
    let deadline = Instant::now() + Duration::from_secs(10);
    while held(&direct) > PER_ADDRESS_HALF_SENT && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        held(&proxied),
        MANY,
        "a trusted proxy's connections are all held"
    );
    let direct_held = held(&direct);
    assert!(
        (1..=PER_ADDRESS_HALF_SENT).contains(&direct_held),
        "127.0.0.2 is held to its share: {direct_held} of {MANY}"
    );
    // Each of the proxy's connections carries its own client, and each is answered.
    for (n, mut stream) in proxied.into_iter().enumerate() {
        write!(
            stream,
            "X-Forwarded-For: 203.0.113.{}\r\nConnection: close\r\n\r\n",
            n % 250
        )
        .expect("finish the head");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        assert!(
            answer.starts_with("HTTP/1.1 200 OK"),
            "connection {n}: {answer}"
        );
    }
    // Past half its share, an address's heads got the shorter deadline: only the first half
    // of its connections outlive it.
    let deadline = direct_opened + PRESSED_HEAD_TIMEOUT + Duration::from_millis(1500);
    while held(&direct) > PER_ADDRESS_HALF_SENT / 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let later = held(&direct);
    assert!(
        later <= PER_ADDRESS_HALF_SENT / 2,
        "{later} of 127.0.0.2's connections outlived {PRESSED_HEAD_TIMEOUT:?} without a head"
    );
}
