//! Watching a sandbox's agent from outside: its pid, whether it lives, which processes serve
//! the store, and bounded waits. Everything here reads `/proc` or runs the real binary.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{NO_SYSTEM_APP, Sandbox, text};

/// How long a bounded wait polls before it fails the test.
pub const WAIT: Duration = Duration::from_secs(15);

pub const CLIENT_ID: &str = "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56";
pub const SECRET76: &str =
    "ATOAabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-abcdefgh";

/// Polls `done` until it holds (true) or [`WAIT`] has passed (false).
pub fn poll_until(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + WAIT;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Polls `done` until it holds; fails with `what` after [`WAIT`].
pub fn wait_until(what: &str, done: impl FnMut() -> bool) {
    assert!(
        poll_until(done),
        "gave up after {} s waiting until {what}",
        WAIT.as_secs()
    );
}

/// `agent status --json`, parsed; `None` when it says no agent runs (exit 1).
pub fn agent_info(sandbox: &Sandbox) -> Option<serde_json::Value> {
    let out = sandbox.run(&["agent", "status", "--json"], "");
    match out.status.code() {
        Some(0) => Some(serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "agent status --json printed no JSON ({e}): {}",
                text(&out.stdout)
            )
        })),
        Some(1) => None,
        other => panic!("agent status exited with {other:?}: {}", text(&out.stderr)),
    }
}

/// The pid of the running agent; fails when none runs.
pub fn agent_pid(sandbox: &Sandbox) -> u32 {
    let info = agent_info(sandbox).expect("an agent runs");
    u32::try_from(info["pid"].as_u64().expect("a pid")).expect("a pid fits u32")
}

/// Whether `pid` is a live process (a zombie, dead but not yet reaped, is not).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // "pid (comm) S ...": the state follows the last ')'.
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}

/// Sends SIGKILL to `pid` (ignoring a process that is gone already).
pub fn kill9(pid: u32) {
    let pid = i32::try_from(pid).expect("pid fits i32");
    // SAFETY: kill takes two integers and touches no memory of ours.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}

/// Live processes whose command line runs `agent` on `data_dir`: the agents of one store,
/// however they were started (`--data-dir` always appears for those the tests start).
pub fn agents_serving(data_dir: &Path) -> Vec<u32> {
    let dir = data_dir.display().to_string();
    let own = std::process::id();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("read /proc").flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == own {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if args.iter().any(|a| a == "agent") && args.iter().any(|a| a == &dir) && alive(pid) {
            found.push(pid);
        }
    }
    found
}

/// `status --json`, which must succeed; its JSON.
pub fn status_json(sandbox: &Sandbox) -> serde_json::Value {
    let out = sandbox.run(&["status", "--json"], "");
    assert_eq!(
        out.status.code(),
        Some(0),
        "status --json failed: {}",
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("status --json printed no JSON ({e}): {}", text(&out.stdout)))
}

/// The names of the profiles in a `status --json` report.
pub fn profile_names(status: &serde_json::Value) -> Vec<String> {
    status["profiles"]
        .as_array()
        .expect("profiles")
        .iter()
        .map(|p| p["name"].as_str().expect("a name").to_owned())
        .collect()
}

/// `profile add --name NAME` with a good client id, scopes and secret (on stdin).
pub fn add_profile(sandbox: &Sandbox, name: &str) -> Output {
    sandbox.run(
        &[
            "profile",
            "add",
            "--name",
            name,
            "--client-id",
            CLIENT_ID,
            "--scopes",
            "read:jira-work",
            "--client-secret-stdin",
        ],
        SECRET76,
    )
}

/// A process the test started by hand (an agent, usually): killed and reaped when dropped,
/// so a failing test leaves nothing behind.
pub struct Reaped(pub Child);

impl Reaped {
    /// Waits for the process to exit on its own; its exit status, or `None` after [`WAIT`].
    pub fn wait_exit(&mut self) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Some(status) = self.0.try_wait().expect("poll the child") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        None
    }

    pub fn running(&mut self) -> bool {
        self.0.try_wait().expect("poll the child").is_none()
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

impl Sandbox {
    /// `jira-auth --data-dir D agent` started by hand with nothing of the test's attached,
    /// plus `env`.
    pub fn spawn_agent(&self, env: &[(&str, &str)]) -> Reaped {
        let mut command = self.command();
        command
            .arg("--data-dir")
            .arg(self.data_dir())
            .arg("agent")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (key, value) in env {
            command.env(key, value);
        }
        Reaped(command.spawn().expect("spawn jira-auth agent"))
    }
}

/// A sandbox whose store exists (created by opening it directly, then closed) and no agent
/// runs: read-only commands on a store that does not exist create nothing, not even an
/// agent, so tests of the agent start from here.
pub fn existing_store() -> Sandbox {
    let sandbox = Sandbox::new();
    create_store(&sandbox);
    sandbox
}

/// Creates `sandbox`'s store (opened directly, then closed), its files as private as the
/// agent makes its own.
pub fn create_store(sandbox: &Sandbox) {
    drop(sandbox.open());
    // This process made the files under its own umask: make them as private as the agent
    // makes its own, so the agent has nothing to tighten (and nothing to say about it).
    let mut pending = vec![sandbox.data_dir()];
    while let Some(path) = pending.pop() {
        use std::os::unix::fs::PermissionsExt;
        let Ok(kind) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let mode = if kind.is_dir() {
            pending.extend(
                std::fs::read_dir(&path)
                    .unwrap()
                    .flatten()
                    .map(|e| e.path()),
            );
            0o700
        } else {
            0o600
        };
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode));
    }
}

/// A connection to the sandbox's agent socket, bounded so a test never hangs on it.
pub fn connect(sandbox: &Sandbox) -> UnixStream {
    let stream = UnixStream::connect(sandbox.data_dir().join("agent.sock")).expect("connect");
    stream
        .set_read_timeout(Some(WAIT))
        .expect("set read timeout");
    stream
        .set_write_timeout(Some(WAIT))
        .expect("set write timeout");
    stream
}

pub fn write_frame(stream: &mut UnixStream, frame: &Value) {
    let body = serde_json::to_vec(frame).expect("json");
    let length = u32::try_from(body.len())
        .expect("small frame")
        .to_be_bytes();
    stream.write_all(&length).expect("write length");
    stream.write_all(&body).expect("write body");
}

/// The next frame, or `None` once the agent closed the connection. A reset counts as closed:
/// the agent may hang up with bytes of ours still unread.
pub fn read_frame(stream: &mut UnixStream) -> Option<Value> {
    let mut length = [0u8; 4];
    match stream.read_exact(&mut length) {
        Ok(()) => {}
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset
            ) =>
        {
            return None;
        }
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            panic!("the agent neither answered nor closed the connection within {WAIT:?}")
        }
        Err(e) => panic!("reading a frame failed: {e}"),
    }
    let mut body = vec![0u8; u32::from_be_bytes(length) as usize];
    stream.read_exact(&mut body).expect("a whole frame");
    Some(serde_json::from_slice(&body).expect("the agent's frames are JSON"))
}

/// The hello a real client of this sandbox sends (`agent::config_from_env`'s shape); the
/// agent does not check the build.
pub fn client_hello(sandbox: &Sandbox) -> Value {
    json!({"id": 0, "request": {
        "kind": "hello",
        "protocol": jira_auth::agent::protocol::PROTOCOL_VERSION,
        "build": {"version": "test", "stamp": 0},
        "config": {
            "key_file": sandbox.key_file().display().to_string(),
            "auth_base": "https://auth.atlassian.com/",
            "api_base": "https://api.atlassian.com/",
            "system_app": NO_SYSTEM_APP,
        },
    }})
}
