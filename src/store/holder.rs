//! Who holds the store. sled's file lock says only that someone does; this small file beside
//! the database says which process, so a second one can tell the human.

use std::fs;
use std::path::{Path, PathBuf};

/// Written when a process opens the store, removed when it closes it.
#[derive(Debug)]
pub struct Holder {
    path: PathBuf,
}

const FILE_NAME: &str = "holder";

impl Holder {
    pub fn claim(data_dir: &Path, role: &str) -> Holder {
        let path = data_dir.join(FILE_NAME);
        let line = format!("{} {}\n", std::process::id(), sanitize(role));
        // Best effort: the lock itself is sled's; this file only improves the message.
        let _ = fs::write(&path, line);
        Holder { path }
    }

    /// A sentence naming the holder: "process 1234 (jira-auth console)" or, when the file
    /// is gone or stale, "another process".
    pub fn describe(data_dir: &Path) -> String {
        let Ok(text) = fs::read_to_string(data_dir.join(FILE_NAME)) else {
            return "another process".to_owned();
        };
        let mut parts = text.trim().splitn(2, ' ');
        let pid: Option<i32> = parts.next().and_then(|p| p.parse().ok());
        let role = parts.next().unwrap_or("jira-auth");
        match pid {
            Some(pid) if process_alive(pid) => format!("process {pid} ({})", sanitize(role)),
            _ => "another process".to_owned(),
        }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

fn process_alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks for existence and permission; it sends nothing.
    pid > 0 && unsafe { libc::kill(pid, 0) } == 0
}

fn sanitize(text: &str) -> String {
    crate::validate::text::sanitize(text, 80)
}
