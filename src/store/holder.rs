//! Who holds the store. sled's file lock says only that someone does; this small file beside
//! the database says which process, so a second one can tell the human.

use std::fs;
use std::io::{Read, Write};
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
        // Best effort: the lock itself is sled's; this file only improves the message. Never
        // through a link: a planted one would aim this write at a file of the link's choosing.
        let _ = super::private::private_file()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .and_then(|mut file| file.write_all(line.as_bytes()));
        Holder { path }
    }

    /// The pid of the live process that holds the store, if the file names one.
    pub fn pid(data_dir: &Path) -> Option<u32> {
        let (pid, _) = read(data_dir)?;
        process_alive(pid).then(|| pid.unsigned_abs())
    }

    /// A sentence naming the holder: "process 1234 (jira-auth console)" or, when the file
    /// is gone or stale, "another process".
    pub fn describe(data_dir: &Path) -> String {
        match read(data_dir) {
            Some((pid, role)) if process_alive(pid) => {
                format!("process {pid} ({})", sanitize(&role))
            }
            _ => "another process".to_owned(),
        }
    }
}

/// The pid and role the holder file names (read without following a link).
fn read(data_dir: &Path) -> Option<(i32, String)> {
    let mut text = String::new();
    super::private::private_file()
        .read(true)
        .open(data_dir.join(FILE_NAME))
        .ok()?
        .take(256)
        .read_to_string(&mut text)
        .ok()?;
    let mut parts = text.trim().splitn(2, ' ');
    let pid = parts.next()?.parse().ok()?;
    let role = parts.next().unwrap_or("jira-auth").to_owned();
    Some((pid, role))
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
    crate::validate::text::sanitize(text, crate::validate::text::NAME_CAP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holder_names_this_process_and_never_writes_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let holder = Holder::claim(dir.path(), "test");
        assert_eq!(Holder::pid(dir.path()), Some(std::process::id()));
        assert!(Holder::describe(dir.path()).contains("(test)"));
        drop(holder);
        assert_eq!(Holder::pid(dir.path()), None);
        let target = dir.path().join("target");
        fs::write(&target, "kept").unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join(FILE_NAME)).unwrap();
        let _claimed = Holder::claim(dir.path(), "test");
        assert_eq!(fs::read_to_string(&target).unwrap(), "kept");
        assert_eq!(
            Holder::pid(dir.path()),
            None,
            "not read through the link either"
        );
    }
}
