//! A disk of a few MiB for one test: a tmpfs mounted at a directory (the sandbox's data
//! directory, before anything is written there), filled on demand, unmounted when dropped.
//! Where the machine cannot mount one (not root), `at` says so on stderr and returns `None`:
//! the test then stops there, never passing without having filled a disk.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::text;

/// A tmpfs at the sandbox's data directory, unmounted when dropped (after its agent stopped).
pub struct SmallDisk {
    mount: PathBuf,
    fillers: Vec<PathBuf>,
}

impl SmallDisk {
    /// `None` (said loudly) where this machine cannot mount one.
    pub fn at(dir: &Path, megabytes: u32) -> Option<SmallDisk> {
        std::fs::create_dir_all(dir).expect("mount point");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={megabytes}m,mode=0700"))
            .arg("tmpfs")
            .arg(dir)
            .stdin(Stdio::null())
            .output();
        match mounted {
            Ok(out) if out.status.success() => Some(SmallDisk {
                mount: dir.to_owned(),
                fillers: Vec::new(),
            }),
            Ok(out) => {
                eprintln!(
                    "SKIPPED: cannot mount a tmpfs here ({}); this test needs root",
                    text(&out.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("SKIPPED: cannot run mount ({e}); this test needs root");
                None
            }
        }
    }

    /// Writes a new file until the disk refuses more, leaving `leave` bytes free (roughly:
    /// the file is cut back by that much once the disk is full).
    pub fn fill(&mut self, leave: u64) {
        let path = self.mount.join(format!("filler-{}", self.fillers.len()));
        let mut file = std::fs::File::create(&path).expect("filler");
        let chunk = vec![0x5a_u8; 64 * 1024];
        let mut written: u64 = 0;
        while file.write_all(&chunk).is_ok() {
            written += chunk.len() as u64;
        }
        // What a partial write got in counts too; then give back what was asked.
        let size = file.metadata().map(|m| m.len()).unwrap_or(written);
        file.set_len(size.saturating_sub(leave))
            .expect("cut the filler");
        file.sync_all().ok();
        self.fillers.push(path);
    }

    pub fn free(&self) -> u64 {
        let out = Command::new("df")
            .args(["--output=avail", "-B1"])
            .arg(&self.mount)
            .output()
            .expect("df");
        text(&out.stdout)
            .lines()
            .nth(1)
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(0)
    }

    pub fn empty(&mut self) {
        for filler in self.fillers.drain(..) {
            let _ = std::fs::remove_file(filler);
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        self.empty();
        // An agent told to stop closes its socket before sled has closed its files: give it
        // a moment, then detach whatever still holds the disk (an agent a failed test left).
        for _ in 0..60 {
            let unmounted = Command::new("umount")
                .arg(&self.mount)
                .stderr(Stdio::null())
                .status();
            if unmounted.is_ok_and(|s| s.success()) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
    }
}
