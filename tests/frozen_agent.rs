//! An agent that does not answer: frozen with SIGSTOP, out of descriptors, or held by a
//! connection that never says hello. Every client returns within its deadline with exit 4
//! and a sentence that names the agent, and a silent peer cannot keep an agent alive.

mod common;
mod support;

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use common::agent::*;
use common::{Interactive, Sandbox, free_port, run_with, text};
use support::fake_atlassian::FakeAtlassian;

/// Far above every deadline a test here meets (3 s for a greeting, 10 s for a quick
/// request, 20 s for a wait whose agent froze), far below forever.
const GENEROUS: Duration = Duration::from_secs(60);

fn signal(pid: u32, signal: i32) {
    let pid = i32::try_from(pid).unwrap();
    // SAFETY: kill takes two integers.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

/// Resumes and stops the agent however the test ends: a frozen agent left behind would
/// hold its store (and a test's temp dir) forever.
struct Frozen<'a> {
    pid: u32,
    sandbox: &'a Sandbox,
}

impl Drop for Frozen<'_> {
    fn drop(&mut self) {
        signal(self.pid, libc::SIGCONT);
        // Not `Sandbox::stop_agent`, which asserts: a test that failed with the agent still
        // out of descriptors would panic again here, abort the whole binary and leave every
        // other test's agent behind (stopped, some of them).
        let stopped = self
            .sandbox
            .command()
            .args(["agent", "stop"])
            .stdin(std::process::Stdio::null())
            .output()
            .is_ok_and(|out| out.status.success());
        if !stopped || alive(self.pid) {
            kill9(self.pid);
        }
    }
}

/// A sandbox whose agent (started on demand by `status`) runs; its pid.
fn running_agent() -> (Sandbox, u32) {
    let sandbox = existing_store();
    status_json(&sandbox);
    let pid = agent_pid(&sandbox);
    (sandbox, pid)
}

#[test]
fn every_command_on_a_frozen_agent_says_it_does_not_answer_and_exits_4_in_time() {
    let (sandbox, pid) = running_agent();
    let frozen = Frozen {
        pid,
        sandbox: &sandbox,
    };
    signal(pid, libc::SIGSTOP);
    for args in [
        &["status"][..],
        &["token"],
        &["agent", "status"],
        &["agent", "stop"],
    ] {
        let started = Instant::now();
        let out = sandbox.run(args, "");
        let took = started.elapsed();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("does not answer (pid {pid})")),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains(&format!("kill -CONT {pid}")), "{stderr}");
        assert!(!stderr.contains("No agent was running"), "{stderr}");
        assert!(took < GENEROUS, "{args:?} took {took:?}");
        assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    }
    assert!(alive(pid), "nothing killed the frozen agent");
    assert_eq!(
        agents_serving(&sandbox.data_dir()),
        [pid],
        "and none was started beside it"
    );

    // Resumed, it serves again and stops when asked.
    signal(pid, libc::SIGCONT);
    status_json(&sandbox);
    drop(frozen);
    wait_until("the agent has exited", || !alive(pid));
}

#[test]
fn a_command_already_waiting_when_the_agent_freezes_ends_with_exit_4_and_the_pid() {
    let callback = format!("http://127.0.0.1:{}/callback", free_port());
    let fake = FakeAtlassian::start(&callback);
    let sandbox = Sandbox::new();
    let command = || fake.command_in(&sandbox);
    let args = fake.profile_add_args(&callback, "read:jira-work offline_access");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run_with(command(), &args, common::CLIENT_SECRET);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run_with(
        command(),
        &["setup", "--mode", "pre-authorized", "--profile", "acme"],
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let pid = *agents_serving(&sandbox.data_dir())
        .first()
        .expect("an agent serves");
    let frozen = Frozen {
        pid,
        sandbox: &sandbox,
    };

    // Waiting on the browser has no deadline of its own, but the agent must keep answering.
    let run = Interactive::spawn(command(), &["authorize", "--listen"]);
    run.url();
    run.wait_line("Waiting for the browser");
    signal(pid, libc::SIGSTOP);
    let started = Instant::now();
    let (code, _, stderr) = run.finish();
    let took = started.elapsed();
    assert_eq!(code, 4, "{stderr}");
    assert!(
        stderr.contains(&format!("does not answer (pid {pid})")),
        "{stderr}"
    );
    assert!(took < GENEROUS, "took {took:?}");
    drop(frozen);
    wait_until("the agent has exited", || !alive(pid));
}

#[test]
fn a_connection_that_never_says_hello_is_closed_and_does_not_keep_an_idle_agent_alive() {
    let sandbox = existing_store();
    let mut command = sandbox.command();
    command.env("JIRA_AUTH_AGENT_IDLE", "2s");
    let out = common::run_with(command, &["status"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut silent = UnixStream::connect(sandbox.data_dir().join("agent.sock"))
        .expect("the agent (idle after 2 s) still serves");
    let pid = *agents_serving(&sandbox.data_dir())
        .first()
        .expect("an agent serves");
    silent.set_read_timeout(Some(GENEROUS)).unwrap();
    // The agent's greeting, then the end: it closed the connection.
    let started = Instant::now();
    let mut heard = Vec::new();
    silent
        .read_to_end(&mut heard)
        .expect("the agent closes a silent connection");
    assert!(!heard.is_empty(), "the agent greeted first");
    assert!(started.elapsed() < GENEROUS);
    let deadline = Instant::now() + GENEROUS;
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !alive(pid),
        "the idle agent exited although the connection stays open"
    );
    drop(silent);
    let log = std::fs::read_to_string(sandbox.data_dir().join("agent.log")).unwrap();
    assert!(log.contains("no hello within 5 s"), "log:\n{log}");
    assert!(log.contains("idle, exiting"), "log:\n{log}");
}

/// How many connections on `socket` the process `pid` holds open: its descriptors that
/// are connected Unix sockets at that path (/proc/net/unix names an accepted connection by
/// its listener's path; state 03 is connected).
fn client_connections(pid: u32, socket: &std::path::Path) -> usize {
    let path = socket.display().to_string();
    let table = std::fs::read_to_string("/proc/net/unix").expect("read /proc/net/unix");
    let connected: std::collections::HashSet<String> = table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.len() >= 8 && fields[5] == "03" && fields[7] == path)
                .then(|| format!("socket:[{}]", fields[6]))
        })
        .collect();
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("read the agent's descriptors")
        .flatten()
        .filter_map(|entry| std::fs::read_link(entry.path()).ok())
        .filter(|target| connected.contains(&target.display().to_string()))
        .count()
}

fn open_descriptors(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("read the agent's descriptors")
        .count() as u64
}

fn set_soft_limit(pid: u32, soft: u64) -> u64 {
    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: prlimit reads the new limit and writes the old one into structs we own.
    let done = unsafe {
        let mut current = old;
        libc::prlimit(
            i32::try_from(pid).unwrap(),
            libc::RLIMIT_NOFILE,
            std::ptr::null(),
            &raw mut current,
        );
        let new = libc::rlimit {
            rlim_cur: soft,
            rlim_max: current.rlim_max,
        };
        libc::prlimit(
            i32::try_from(pid).unwrap(),
            libc::RLIMIT_NOFILE,
            &raw const new,
            &raw mut old,
        )
    };
    assert_eq!(done, 0, "prlimit: {}", std::io::Error::last_os_error());
    old.rlim_cur
}

/// The first frame the agent sends on a fresh connection, as text.
fn first_frame(stream: &mut UnixStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut length = [0u8; 4];
    stream.read_exact(&mut length).expect("a frame length");
    let mut body = vec![0u8; u32::from_be_bytes(length) as usize];
    stream.read_exact(&mut body).expect("a frame");
    text(&body)
}

#[test]
fn an_agent_out_of_descriptors_says_so_to_new_clients_and_logs_it_once() {
    let (sandbox, pid) = running_agent();
    let frozen = Frozen {
        pid,
        sandbox: &sandbox,
    };
    // The limit is what it holds with no client: a connection it had yet to close would
    // free a descriptor later, and a refused client could then be served.
    let socket = sandbox.data_dir().join("agent.sock");
    {
        // A connection it greeted is one it holds (so the count below means something).
        let mut greeted = UnixStream::connect(&socket).expect("connect");
        first_frame(&mut greeted);
        assert!(
            client_connections(pid, &socket) >= 1,
            "a held connection is counted"
        );
    }
    wait_until("the agent has let go of every client", || {
        client_connections(pid, &socket) == 0
    });
    let was = set_soft_limit(pid, open_descriptors(pid));
    assert!(
        was > 1024,
        "the agent raised its soft limit at start ({was})"
    );

    // Connections that hold a descriptor each, until the agent turns one away.
    let mut held = Vec::new();
    let mut turned_away = None;
    for _ in 0..50 {
        let mut stream = UnixStream::connect(&socket).expect("connect");
        let frame = first_frame(&mut stream);
        if frame.contains("Refused") || frame.contains("refused") {
            turned_away = Some(frame);
            break;
        }
        held.push(stream);
    }
    let frame = turned_away.expect("the agent ran out of descriptors");
    assert!(frame.contains("out of file descriptors"), "{frame}");

    for _ in 0..2 {
        let out = sandbox.run(&["status"], "");
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{stderr}");
        assert!(stderr.contains("out of file descriptors"), "{stderr}");
        assert!(!stderr.contains("did not start"), "{stderr}");
    }
    let log = std::fs::read_to_string(sandbox.data_dir().join("agent.log")).unwrap();
    assert_eq!(
        log.matches("accept failed").count(),
        1,
        "logged once however often it fails:\n{log}"
    );

    // With descriptors back, clients are served again (one that raced the change may
    // still hear the refusal, so ask until the answer comes, within the usual wait).
    set_soft_limit(pid, was);
    drop(held);
    wait_until("the agent serves again", || {
        sandbox.run(&["status"], "").status.success()
    });
    let log = std::fs::read_to_string(sandbox.data_dir().join("agent.log")).unwrap();
    assert!(log.contains("accepting connections again"), "log:\n{log}");
    drop(frozen);
    wait_until("the agent has exited", || !alive(pid));
}

#[test]
fn the_console_on_a_frozen_agent_shows_the_timeout_as_an_error_and_keeps_taking_keys() {
    let sandbox = existing_store();
    let mut console = common::pty::PtySession::spawn(&[], &sandbox.pty_env(), 160, 40);
    console.wait_for("Welcome to jira-auth");
    let pid = agent_pid(&sandbox);
    let frozen = Frozen {
        pid,
        sandbox: &sandbox,
    };
    signal(pid, libc::SIGSTOP);
    // The events screen asks the agent for the trail: the answer never comes, the
    // deadline (10 s) does, and the screen says so.
    console.send("e");
    console.wait_for("does not answer");
    // Back home (alone: Esc then q at once would read as Alt-q), then quit.
    console.send("\x1b");
    console.wait_for("Welcome to jira-auth");
    console.send("q");
    assert_eq!(
        console.wait_exit(),
        0,
        "the console quit although its agent is frozen"
    );
    drop(frozen);
    wait_until("the agent has exited", || !alive(pid));
}
