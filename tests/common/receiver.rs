//! A running `jira-auth serve` over a store with the user-authorized integration `support`
//! and the fake Atlassian app registered for it, for the tests that probe the receiver.
//! Included with `#[path]` by test files that also declare `mod common;` and `mod support;`
//! (the fake lives in `support`, which not every test binary has).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::common::agent::Reaped;
use crate::common::{Sandbox, free_port, run_with, text};
use crate::support::fake_atlassian::{CLIENT_SECRET, FakeAtlassian};

pub const SCOPES: &str = "read:jira-work offline_access";

pub struct World {
    pub sandbox: Sandbox,
    pub fake: FakeAtlassian,
    pub port: u16,
    pub serve: Option<Reaped>,
    /// Every line the receiver has logged so far, its start-up lines included.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl World {
    /// The receiver on 127.0.0.1 started with `extra` flags after `serve --bind`.
    pub fn with_serve_args(extra: &[&str]) -> World {
        let port = free_port();
        let callback = format!("http://127.0.0.1:{port}/callback");
        let mut world = World {
            sandbox: Sandbox::new(),
            fake: FakeAtlassian::start(&callback),
            port,
            serve: None,
            log: Arc::default(),
        };
        let mut args = world.fake.profile_add_args(&callback, SCOPES);
        let at = args.iter().position(|a| a == "--name").expect("--name") + 1;
        args[at] = "acme".to_owned();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run_with(world.command(), &args, CLIENT_SECRET);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        world.ok(&[
            "setup",
            "--integration",
            "support",
            "--mode",
            "user-authorized",
            "--profile",
            "acme",
        ]);
        world.start_serve(extra);
        world
    }

    pub fn command(&self) -> Command {
        let mut command = self.sandbox.command();
        command
            .env("JIRA_AUTH_ATLASSIAN_AUTH_URL", self.fake.auth_url())
            .env("JIRA_AUTH_ATLASSIAN_API_URL", self.fake.api_url())
            .env_remove("SSH_CONNECTION");
        command
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = run_with(self.command(), args, "");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    pub fn start_serve(&mut self, extra: &[&str]) {
        let bind = format!("127.0.0.1:{}", self.port);
        let mut command = self.command();
        command
            .args(["serve", "--bind", &bind])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        // Reaped at once: a receiver that fails to start is still killed.
        let mut child = Reaped(command.spawn().expect("spawn serve"));
        let stderr = child.0.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        loop {
            match lines.next().and_then(Result::ok) {
                Some(line) => {
                    let started = line.contains("listening on");
                    self.log.lock().unwrap().push(line);
                    if started {
                        break;
                    }
                }
                None => panic!(
                    "serve did not start (exit {:?}): {:?}",
                    child.wait_exit(),
                    self.log.lock().unwrap()
                ),
            }
        }
        // Keep reading the log so the receiver never blocks on a full pipe.
        let log = Arc::clone(&self.log);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                log.lock().unwrap().push(line);
            }
        });
        self.serve = Some(child);
    }

    /// The logged lines that contain `text`.
    pub fn logged(&self, text: &str) -> Vec<String> {
        let log = self.log.lock().unwrap();
        log.iter()
            .filter(|line| line.contains(text))
            .cloned()
            .collect()
    }

    /// `link --json` for `user` on `support`: the URL.
    pub fn link(&self, user: &str) -> String {
        let out = self.ok(&["link", "--integration", "support", "--user", user, "--json"]);
        let json: Value = serde_json::from_str(&out).expect("link --json");
        json["url"].as_str().expect("url").to_owned()
    }

    /// The end user at Atlassian's consent page (logged in as `account`): the callback
    /// target (path and query) they are sent back to.
    pub fn consented_callback(&self, link: &str, account: &str) -> String {
        let location = self.fake.consent(&format!("{link}&fake_account={account}"));
        let url = url::Url::parse(&location).expect("callback URL");
        format!("{}?{}", url.path(), url.query().unwrap_or_default())
    }
}

impl Drop for World {
    fn drop(&mut self) {
        drop(self.serve.take());
        self.sandbox.stop_agent();
    }
}
