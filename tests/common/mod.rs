//! Shared pieces of the integration tests: a temporary home for the store and its key, sample
//! records, and a runner for the real binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc::RecvTimeoutError;

use jira_auth::domain::{
    AppRef, Integration, Mode, Principal, Profile, Secret, Site, Timestamp, TokenSet,
};
use jira_auth::store::{OpenOptions, SledStore, StorePaths};

pub const CLIENT_SECRET: &str =
    "ATOAsecretSECRETsecretSECRETsecretSECRETsecretSECRETsecretSECRETsecret12345678";
pub const ACCESS_TOKEN: &str = "eyJaccess-token-value-that-must-never-leak-0123456789";
pub const REFRESH_TOKEN: &str = "refresh-token-value-that-must-never-leak-9876543210";

/// The system app file of a host that has none: every process of one sandbox names the same
/// one, since its agent refuses clients configured otherwise.
pub const NO_SYSTEM_APP: &str = "/nonexistent/system-app.toml";

/// A data dir and a key file in a fresh temporary directory, gone when dropped (its agent
/// stopped first).
pub struct Sandbox {
    pub root: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            root: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.root.path().join("data")
    }

    /// What this sandbox's agents logged (the current generation and the one before),
    /// for a failing test to show.
    pub fn agent_log(&self) -> String {
        ["agent.log.1", "agent.log"]
            .iter()
            .map(|name| std::fs::read_to_string(self.data_dir().join(name)).unwrap_or_default())
            .collect()
    }

    pub fn key_file(&self) -> PathBuf {
        self.root.path().join("config").join("store.key")
    }

    pub fn paths(&self) -> StorePaths {
        StorePaths {
            data_dir: self.data_dir(),
            key_file: self.key_file(),
        }
    }

    /// The store itself, for seeding and inspecting: the agent owns it while it runs, so
    /// this stops the agent first (the next command starts a new one).
    pub fn open(&self) -> SledStore {
        self.stop_agent();
        SledStore::open(&OpenOptions::new(self.paths(), "test")).expect("open store")
    }

    /// Stops this sandbox's agent, if one runs; waits until it has exited.
    pub fn stop_agent(&self) {
        if !self.data_dir().join("agent.sock").exists() {
            return;
        }
        let output = self
            .command()
            .args(["agent", "stop"])
            .stdin(Stdio::null())
            .output()
            .expect("run agent stop");
        assert!(
            output.status.success(),
            "agent stop failed: {}",
            text(&output.stderr)
        );
    }

    /// The binary with this sandbox's store and key, and nothing inherited that could
    /// point it elsewhere.
    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_jira-auth"));
        command
            .env("JIRA_AUTH_DATA_DIR", self.data_dir())
            .env("JIRA_AUTH_KEY_FILE", self.key_file())
            .env_remove("JIRA_AUTH_ATLASSIAN_AUTH_URL")
            .env_remove("JIRA_AUTH_ATLASSIAN_API_URL")
            .env("JIRA_AUTH_SYSTEM_APP", NO_SYSTEM_APP)
            .env_remove("JIRA_AUTH_AGENT_IDLE")
            .env("NO_COLOR", "1");
        command
    }

    /// Runs the binary with `args`, feeding `stdin`.
    pub fn run(&self, args: &[&str], stdin: &str) -> Output {
        run_with(self.command(), args, stdin)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // A test that failed half-way must still not leave its agent behind.
        if self.data_dir().join("agent.sock").exists() {
            let _ = self
                .command()
                .args(["agent", "stop"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

pub fn run_with(mut command: Command, args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn jira-auth");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.as_bytes()).expect("write stdin");
    drop(input);
    child.wait_with_output().expect("wait for jira-auth")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn sample_profile(name: &str) -> Profile {
    Profile {
        name: name.to_owned(),
        mechanism: Default::default(),
        client_id: "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56".to_owned(),
        client_secret: Secret::new(CLIENT_SECRET),
        authorization_url: "https://auth.atlassian.com/authorize?audience=api.atlassian.com"
            .to_owned(),
        token_url: "https://auth.atlassian.com/oauth/token".to_owned(),
        refresh_url: "https://auth.atlassian.com/oauth/token".to_owned(),
        scopes: vec![
            "read:jira-work".into(),
            "write:jira-work".into(),
            "offline_access".into(),
        ],
        callback_url: "http://localhost:8765/callback".to_owned(),
        updated_at: Timestamp(1_700_000_000),
    }
}

pub fn sample_integration(name: &str, profile: Option<&str>) -> Integration {
    Integration {
        name: name.to_owned(),
        mode: Mode::PreAuthorized,
        app: profile.map_or(AppRef::System, |p| AppRef::Custom(p.to_owned())),
        enabled: true,
        updated_at: Timestamp(1_700_000_000),
    }
}

/// What the status report is built from: the token sets without their secrets.
pub fn summaries(tokens: &[TokenSet]) -> Vec<jira_auth::domain::TokenSummary> {
    tokens.iter().map(TokenSet::summary).collect()
}

pub fn sample_tokens(integration: &str, principal: Principal, now: Timestamp) -> TokenSet {
    TokenSet {
        integration: integration.to_owned(),
        principal,
        access_token: Secret::new(ACCESS_TOKEN),
        access_expires_at: now.plus_secs(3600),
        refresh_token: Some(Secret::new(REFRESH_TOKEN)),
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

/// Every file under `dir`, read whole: for scanning that no secret reached the disk in clear.
pub fn all_bytes_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            let kind = std::fs::symlink_metadata(&path)
                .expect("metadata")
                .file_type();
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() {
                found.push((path.clone(), std::fs::read(&path).expect("read file")));
            }
        }
    }
    found
}

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}
pub mod agent;
pub mod cut_words;
pub mod postgres;
pub mod pty;
pub mod small_disk;
pub mod states;
pub mod ui;

/// A running `jira-auth` whose stderr is read line by line while the test talks to it:
/// for `authorize`, which prints the URL first and waits for the redirect.
pub struct Interactive {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    lines: std::sync::mpsc::Receiver<String>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    stdout: std::sync::Arc<std::sync::Mutex<String>>,
    /// Disconnected once the stdout reader has taken the program's last byte.
    stdout_drained: std::sync::mpsc::Receiver<()>,
}

impl Interactive {
    pub fn spawn(mut command: Command, args: &[&str]) -> Interactive {
        use std::io::BufRead;
        let mut child = command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn jira-auth");
        let (sender, lines) = std::sync::mpsc::channel();
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let pipe = child.stderr.take().expect("stderr");
        let collected = std::sync::Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                collected.lock().unwrap().push_str(&format!("{line}\n"));
                let _ = sender.send(line);
            }
        });
        let stdout = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut out = child.stdout.take().expect("stdout");
        let collected = std::sync::Arc::clone(&stdout);
        let (reading, stdout_drained) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            use std::io::Read;
            let _reading = reading;
            let mut chunk = [0u8; 4096];
            while let Ok(n @ 1..) = out.read(&mut chunk) {
                collected
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        });
        let stdin = child.stdin.take();
        Interactive {
            child,
            stdin,
            lines,
            stderr,
            stdout,
            stdout_drained,
        }
    }

    /// The first stderr line that is a URL alone (the authorization URL).
    pub fn url(&self) -> String {
        loop {
            match self.lines.recv_timeout(std::time::Duration::from_secs(20)) {
                Ok(line) if line.starts_with("http://") || line.starts_with("https://") => {
                    return line;
                }
                Ok(_) => {}
                Err(_) => panic!(
                    "no URL line on stderr; stderr so far:\n{}",
                    self.stderr.lock().unwrap()
                ),
            }
        }
    }

    /// Waits for a stderr line containing `text`.
    pub fn wait_line(&self, text: &str) -> String {
        loop {
            match self.lines.recv_timeout(std::time::Duration::from_secs(20)) {
                Ok(line) if line.contains(text) => return line,
                Ok(_) => {}
                Err(_) => panic!(
                    "no line with {text:?}; stderr so far:\n{}",
                    self.stderr.lock().unwrap()
                ),
            }
        }
    }

    /// The first line on stdout, once it is complete.
    pub fn stdout_line(&self) -> String {
        let started = std::time::Instant::now();
        loop {
            if let Some((line, _)) = self.stdout.lock().unwrap().split_once('\n') {
                return line.to_owned();
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(20),
                "no line on stdout; stderr so far:\n{}",
                self.stderr.lock().unwrap()
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    pub fn send_line(&mut self, line: &str) {
        use std::io::Write;
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("write stdin");
        stdin.flush().expect("flush stdin");
    }

    pub fn close_stdin(&mut self) {
        self.stdin.take();
    }

    /// Exit code, stdout and stderr once the program ends.
    pub fn finish(mut self) -> (i32, String, String) {
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("poll") {
                break status;
            }
            if started.elapsed() > std::time::Duration::from_secs(30) {
                let _ = self.child.kill();
                panic!(
                    "jira-auth did not finish; stderr:\n{}",
                    self.stderr.lock().unwrap()
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        // Both readers hang up once they have the last byte: the pipes close when the
        // program exits (an agent it starts holds neither).
        let deadline = started + std::time::Duration::from_secs(30);
        let left = || deadline.saturating_duration_since(std::time::Instant::now());
        if !matches!(
            self.stdout_drained.recv_timeout(left()),
            Err(RecvTimeoutError::Disconnected)
        ) {
            panic!("stdout stayed open after jira-auth exited");
        }
        loop {
            match self.lines.recv_timeout(left()) {
                Ok(_) => {}
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("stderr stayed open after jira-auth exited")
                }
            }
        }
        let stdout = self.stdout.lock().unwrap().clone();
        let stderr = self.stderr.lock().unwrap().clone();
        (status.code().unwrap_or(-1), stdout, stderr)
    }
}

impl Drop for Interactive {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// A loopback port for a process that must be told it before it binds (a callback URL in
/// a profile, which the agent listens on only when an authorization starts), so it cannot
/// be handed over bound. Port 0 would pick from the kernel's ephemeral range, where every
/// outgoing connection and every other listener on port 0 of the parallel tests may take it
/// between this probe and the real bind (seen: a receiver test's thousands of connections
/// took one). So the port comes from below that range, where only an explicit bind lands;
/// never twice in one test binary; and free when probed. What remains is another process
/// binding the same number explicitly in between, which the random start makes unlikely.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let ephemeral = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32768);
    // From 10000 up to the ephemeral range: clear of the well-known ports and of 8717, the
    // port the README's pictures show.
    let low = 10_000u32;
    let span = ephemeral.saturating_sub(low).max(1);
    let start = std::process::id().wrapping_mul(7919) % span;
    for _ in 0..span {
        let offset = NEXT.fetch_add(1, Ordering::SeqCst);
        let port = u16::try_from(low + (start + offset) % span).expect("below the ephemeral range");
        // A `localhost` callback is served on both loopback addresses (where ::1 exists).
        let v6_free = std::net::TcpListener::bind(("::1", port))
            .map_or_else(|e| e.kind() != std::io::ErrorKind::AddrInUse, |_| true);
        if v6_free && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port below {ephemeral}");
}

/// The browser following a redirect to a loopback URL: one GET, the raw answer back.
pub fn browser_get(url: &str) -> String {
    use std::io::{Read, Write};
    let url = url::Url::parse(url).expect("a URL");
    let host = format!("127.0.0.1:{}", url.port().expect("a port"));
    let target = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    let mut stream = std::net::TcpStream::connect(&host).expect("connect");
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    answer
}

impl Sandbox {
    /// The environment a console in a pseudo-terminal needs to use this sandbox.
    pub fn pty_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("JIRA_AUTH_DATA_DIR", self.data_dir().display().to_string()),
            ("JIRA_AUTH_KEY_FILE", self.key_file().display().to_string()),
            ("JIRA_AUTH_SYSTEM_APP", NO_SYSTEM_APP.into()),
        ]
    }
}
