//! A world for end-to-end tests of grants: a sandbox whose binary (and every agent it starts)
//! talks to a fake Atlassian, with the steps most tests take (a profile, a set-up, an
//! authorization by paste) and readers for what the store and `status --json` hold.
#![allow(dead_code)]

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::fake_atlassian::*;
use crate::common::agent::Reaped;
use crate::common::{Interactive, Sandbox, free_port, run_with, text};
use jira_auth::domain::{Principal, Secret, Timestamp, TokenSet};
use jira_auth::store::Store;
use serde_json::Value;

/// The cloud id of the fake's one Jira site.
pub const CLOUD_ID: &str = "11111111-aaaa-bbbb-cccc-000000000001";
pub const SCOPES: &str = "read:jira-work offline_access";
pub const DAY: i64 = 86_400;

/// A sandbox whose binary (and so every agent it starts) talks to `fake`.
pub struct World {
    pub sandbox: Sandbox,
    pub fake: FakeAtlassian,
    pub callback: String,
}

impl World {
    /// The fake's app registered for a `localhost` callback on a free port.
    pub fn new() -> World {
        World::with_callback(&format!("http://localhost:{}/callback", free_port()))
    }

    /// The fake's app registered for `callback`.
    pub fn with_callback(callback: &str) -> World {
        World::in_sandbox(Sandbox::new(), callback)
    }

    /// The same over a given sandbox (one whose data directory is on a disk of its own).
    pub fn in_sandbox(sandbox: Sandbox, callback: &str) -> World {
        World {
            sandbox,
            fake: FakeAtlassian::start(callback),
            callback: callback.to_owned(),
        }
    }

    /// Registers the fake's app, and this world, for `callback` instead: for a callback
    /// whose port is known only once a receiver listens on the port it picked.
    pub fn set_callback(&mut self, callback: &str) {
        self.fake.set_redirect_uri(callback);
        callback.clone_into(&mut self.callback);
    }

    /// The environment of a console in a pseudo-terminal on this world: the same settings
    /// as [`World::command`]'s, so one agent serves both.
    pub fn pty_env(&self) -> Vec<(&'static str, String)> {
        let mut env = self.sandbox.pty_env();
        env.push(("JIRA_AUTH_ATLASSIAN_AUTH_URL", self.fake.auth_url()));
        env.push(("JIRA_AUTH_ATLASSIAN_API_URL", self.fake.api_url()));
        env
    }

    pub fn command(&self) -> Command {
        let mut command = self.fake.command_in(&self.sandbox);
        command
            .env_remove("JIRA_AUTH_KEEPALIVE_RATE")
            .env_remove("JIRA_AUTH_ROTATE_AFTER");
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        run_with(self.command(), args, "")
    }

    /// A custom profile `acme` for the fake's app, and the integration `jira` through it.
    pub fn custom(&self, mode: &str) {
        self.profile(CLIENT_SECRET, SCOPES);
        self.setup("jira", mode);
    }

    /// The custom profile `acme` for the fake's app and this world's callback, given
    /// `secret` (the right one is [`CLIENT_SECRET`]) and `scopes`.
    pub fn profile(&self, secret: &str, scopes: &str) {
        let args = self.fake.profile_add_args(&self.callback, scopes);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run_with(self.command(), &args, secret);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }

    /// Another integration through the profile `acme`.
    pub fn setup(&self, integration: &str, mode: &str) {
        let out = self.run(&[
            "setup",
            "--integration",
            integration,
            "--mode",
            mode,
            "--profile",
            "acme",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }

    /// `authorize ARGS --paste`, consenting in the fake browser; must succeed.
    pub fn authorize(&self, args: &[&str]) {
        let mut all = vec!["authorize"];
        all.extend_from_slice(args);
        all.push("--paste");
        let mut run = Interactive::spawn(self.command(), &all);
        let url = run.url();
        let redirect = self.fake.consent(&url);
        run.send_line(&redirect);
        let (code, _, stderr) = run.finish();
        assert_eq!(code, 0, "authorize {args:?} failed: {stderr}");
    }

    /// The stored token set (stops the agent to open the store; the next command starts one).
    pub fn stored(&self, integration: &str, principal: &Principal) -> TokenSet {
        self.sandbox
            .open()
            .token_set(integration, principal)
            .expect("read the store")
            .unwrap_or_else(|| panic!("no token set for {integration} {principal}"))
    }

    /// Whether the fake's Jira API takes `token` as a bearer right now.
    pub fn accepts(&self, token: &str) -> bool {
        self.fake.myself_status(CLOUD_ID, token) == 200
    }

    pub fn status_json(&self) -> (Option<i32>, Value) {
        let out = self.run(&["status", "--json"]);
        let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "status --json printed no JSON ({e}): {}\nstderr: {}",
                text(&out.stdout),
                text(&out.stderr)
            )
        });
        (out.status.code(), json)
    }

    /// The pid of the agent serving the store now, asked with this world's settings.
    pub fn agent_pid(&self) -> u32 {
        let out = self.run(&["agent", "status", "--json"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "no agent answers: {}",
            text(&out.stderr)
        );
        let info: Value = serde_json::from_slice(&out.stdout).expect("agent status JSON");
        u32::try_from(info["pid"].as_u64().expect("a pid")).expect("pid fits u32")
    }

    /// `jira-auth agent` started by hand with this world's settings plus `env`; it answers
    /// when this returns, and is killed if the test fails before stopping it.
    pub fn spawn_agent(&self, env: &[(&str, &str)]) -> Reaped {
        let mut command = self.command();
        command
            .arg("agent")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut agent = Reaped(command.spawn().expect("spawn jira-auth agent"));
        let started = wait_for("the agent started by hand answers", SHORT, || {
            assert!(agent.running(), "the agent started by hand exited");
            let out = self.run(&["agent", "status", "--json"]);
            out.status.code() == Some(0)
                && serde_json::from_slice::<Value>(&out.stdout)
                    .is_ok_and(|info| info["pid"].as_u64() == Some(u64::from(agent.pid())))
        });
        assert!(started);
        agent
    }

    /// Stops an agent started by hand and waits until it has exited.
    pub fn stop(&self, mut agent: Reaped) {
        let out = self.run(&["agent", "stop"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(
            agent.wait_exit().is_some(),
            "the agent did not exit after agent stop"
        );
    }
}

pub const SHORT: Duration = Duration::from_secs(15);

/// Polls `done` every 25 ms until it holds; fails the test after `limit` with `what`.
pub fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        assert!(
            Instant::now() < deadline,
            "gave up after {} s waiting until {what}",
            limit.as_secs()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Waits for a child with piped output to exit (killing it after `limit`), and collects it.
pub fn finish_within(mut child: Child, limit: Duration, what: &str) -> Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().expect("poll the child").is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let output = child.wait_with_output().expect("collect the killed child");
            panic!(
                "{what} did not finish within {} s; stderr: {}",
                limit.as_secs(),
                text(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("collect the child")
}

pub fn spawn_piped(mut command: Command, args: &[&str]) -> Child {
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn jira-auth")
}

/// stdout of a `token` run that must have succeeded: exactly one line, the token.
pub fn one_token(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "token failed: {}",
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    let token = stdout
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("token's stdout is not one line: {stdout:?}"));
    assert!(
        !token.is_empty() && !token.contains(char::is_whitespace),
        "token's stdout is not exactly one line holding the token: {stdout:?}"
    );
    token.to_owned()
}

pub fn refresh_token_of(tokens: &TokenSet) -> String {
    tokens
        .refresh_token
        .as_ref()
        .map(Secret::expose)
        .expect("a refresh token")
        .to_owned()
}

/// The token entry of `principal` in `integration` of a `status --json` report.
pub fn status_token<'a>(status: &'a Value, integration: &str, principal: &str) -> &'a Value {
    status["integrations"]
        .as_array()
        .expect("integrations")
        .iter()
        .find(|i| i["name"] == integration)
        .unwrap_or_else(|| panic!("no integration {integration} in {status}"))["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .find(|t| t["principal"] == principal)
        .unwrap_or_else(|| panic!("no token of {principal} in {status}"))
}

pub fn time_of(value: &Value) -> Timestamp {
    value
        .as_str()
        .and_then(Timestamp::parse_rfc3339)
        .unwrap_or_else(|| panic!("not an RFC 3339 time: {value}"))
}
