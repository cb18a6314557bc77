//! A running `jira-auth serve` over a store with the user-authorized integration `support`
//! and the fake Atlassian app registered for it, for the tests that probe the receiver.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::fake_atlassian::CLIENT_SECRET;
use crate::common::agent::{Reaped, WAIT, create_store};
use crate::common::small_disk::SmallDisk;
use crate::common::{Sandbox, run_with, text};

pub use super::world::SCOPES;

/// The shared world (tests/support/world.rs) with the receiver in front of it.
pub struct World {
    pub world: super::world::World,
    pub port: u16,
    pub serve: Option<Reaped>,
    /// Every line the receiver has logged so far, its start-up lines included.
    pub log: Arc<Mutex<Vec<String>>>,
    /// The data directory's own small disk, when the test asked for one: declared last, so
    /// it is unmounted after the sandbox (and its agent) are gone.
    pub disk: Option<SmallDisk>,
}

impl std::ops::Deref for World {
    type Target = super::world::World;

    fn deref(&self) -> &super::world::World {
        &self.world
    }
}

impl World {
    pub fn new() -> World {
        World::with_serve_args(&[])
    }

    /// The receiver on 127.0.0.1 started with `extra` flags after `serve --bind`.
    pub fn with_serve_args(extra: &[&str]) -> World {
        World::start(Sandbox::new(), None, extra)
    }

    /// The same, with the data directory on a tmpfs of `megabytes` (`None` where this
    /// machine cannot mount one; said on stderr).
    pub fn on_small_disk(megabytes: u32) -> Option<World> {
        let sandbox = Sandbox::new();
        let disk = SmallDisk::at(&sandbox.data_dir(), megabytes)?;
        Some(World::start(sandbox, Some(disk), &[]))
    }

    fn start(sandbox: Sandbox, disk: Option<SmallDisk>, extra: &[&str]) -> World {
        // The receiver is handed its port bound: it listens on one it picks and says which.
        // Serving needs a store, and the profile needs the callback URL with that port, so
        // the receiver starts first, over a store that holds nothing yet.
        create_store(&sandbox);
        let mut world = World {
            world: super::world::World::in_sandbox(sandbox, "http://127.0.0.1:0/callback"),
            port: 0,
            serve: None,
            log: Arc::default(),
            disk,
        };
        world.start_serve(extra);
        let callback = format!("http://127.0.0.1:{}/callback", world.port);
        world.world.set_callback(&callback);
        world.profile("acme", &callback);
        world.world.setup("support", "user-authorized");
        world
    }

    /// A profile `name` for the fake's app with `callback`.
    pub fn profile(&self, name: &str, callback: &str) {
        let mut args = self.fake.profile_add_args(callback, SCOPES);
        let at = args.iter().position(|a| a == "--name").expect("--name") + 1;
        args[at] = name.to_owned();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run_with(self.command(), &args, CLIENT_SECRET);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// The receiver, on the port it picked at the first start and on the same one after.
    pub fn start_serve(&mut self, extra: &[&str]) {
        let (serve, port) = spawn_serve(&|| self.command(), self.port, extra, &self.log);
        self.port = port;
        self.serve = Some(serve);
    }

    /// The logged lines that contain `text`.
    pub fn logged(&self, text: &str) -> Vec<String> {
        let log = self.log.lock().unwrap();
        log.iter()
            .filter(|line| line.contains(text))
            .cloned()
            .collect()
    }

    /// `link --json` for `user`: the URL.
    pub fn link(&self, integration: &str, user: &str) -> String {
        let out = self.ok(&[
            "link",
            "--integration",
            integration,
            "--user",
            user,
            "--json",
        ]);
        let json: Value = serde_json::from_str(&out).expect("link --json");
        assert_eq!(json["user"], user);
        json["url"].as_str().expect("url").to_owned()
    }

    /// The end user at Atlassian's consent page (logged in as `account`): where they are sent.
    pub fn consent(&self, link: &str, account: &str) -> String {
        self.fake.consent(&format!("{link}&fake_account={account}"))
    }

    /// How many calls the fake's token endpoint has had.
    pub fn tokens(&self) -> usize {
        self.fake.count(super::fake_atlassian::Endpoint::Token)
    }

    /// The end user at Atlassian's consent page (logged in as `account`): the callback
    /// target (path and query) they are sent back to.
    pub fn consented_callback(&self, link: &str, account: &str) -> String {
        let location = self.consent(link, account);
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

/// `jira-auth serve --bind 127.0.0.1:PORT EXTRA` from `command`, once it says it listens:
/// the receiver and the port it listens on (one it picks when `port` is 0). Every line it
/// logs goes to `log`, read on to the end so it never blocks on a full pipe. A given port
/// found taken (a restart on the port of a receiver that just left, which a parallel test's
/// connection may hold for a moment) is tried again until [`WAIT`] has passed.
pub fn spawn_serve(
    command: &dyn Fn() -> Command,
    port: u16,
    extra: &[&str],
    log: &Arc<Mutex<Vec<String>>>,
) -> (Reaped, u16) {
    let deadline = Instant::now() + WAIT;
    loop {
        match try_serve(command(), port, extra, log) {
            Ok(started) => return started,
            Err(taken) if port != 0 && Instant::now() < deadline => {
                log.lock().unwrap().push(taken);
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(refused) => panic!("serve did not start: {refused}; {:?}", log.lock().unwrap()),
        }
    }
}

/// One start; `Err` with the receiver's last words when its port was taken.
fn try_serve(
    mut command: Command,
    port: u16,
    extra: &[&str],
    log: &Arc<Mutex<Vec<String>>>,
) -> Result<(Reaped, u16), String> {
    let bind = format!("127.0.0.1:{port}");
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
    let listening = loop {
        match lines.next().and_then(Result::ok) {
            Some(line) => {
                let address = listening_on(&line);
                log.lock().unwrap().push(line);
                if let Some(address) = address {
                    break address;
                }
            }
            None => {
                let exit = child.wait_exit();
                let said = log.lock().unwrap().last().cloned().unwrap_or_default();
                if said.contains("Address already in use") {
                    return Err(said);
                }
                panic!(
                    "serve did not start (exit {exit:?}): {:?}",
                    log.lock().unwrap()
                );
            }
        }
    };
    let log = Arc::clone(log);
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            log.lock().unwrap().push(line);
        }
    });
    Ok((child, listening.port()))
}

/// The address in serve's "listening on ADDRESS; ..." line.
fn listening_on(line: &str) -> Option<SocketAddr> {
    let (_, rest) = line.split_once("listening on ")?;
    rest.split(';').next()?.trim().parse().ok()
}
