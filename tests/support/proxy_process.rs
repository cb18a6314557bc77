//! A `jira-auth proxy` process for tests and benches: started from a prepared command, its
//! stderr read on a thread (the ready line gives where it serves, every later line is a
//! request's log), stopped by SIGTERM when dropped.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct ProxyProcess {
    child: Child,
    /// Where it serves: a socket path, or `http://127.0.0.1:PORT`.
    pub at: String,
    lines: Arc<Mutex<Vec<String>>>,
}

impl ProxyProcess {
    /// Starts `command` (the binary with its store and Atlassian set) as `proxy ARGS` and
    /// waits for it to serve.
    pub fn start(mut command: Command, args: &[&str]) -> ProxyProcess {
        let mut child = command
            .arg("proxy")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start jira-auth proxy");
        let stderr = child.stderr.take().expect("stderr");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let started = Instant::now();
        let at = loop {
            if let Some(at) = lines.lock().unwrap().iter().find_map(|line| {
                let rest = line.split_once(" on ")?.1;
                line.contains("jira-auth proxy: serving")
                    .then(|| rest.split([' ', ';']).next().unwrap_or_default().to_owned())
            }) {
                break at;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "the proxy exited ({status}) before serving:\n{}",
                    lines.lock().unwrap().join("\n")
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the proxy did not serve within a minute:\n{}",
                lines.lock().unwrap().join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        ProxyProcess { child, at, lines }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything it wrote on stderr so far.
    pub fn log(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// SIGTERM, and its exit code once it exits.
    pub fn stop(mut self) -> Option<i32> {
        self.terminate()
    }

    fn terminate(&mut self) -> Option<i32> {
        // SAFETY: a signal to our own child.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.terminate();
        }
    }
}
