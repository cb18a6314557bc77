//! The database files as they were before sled opened them. sled treats a log it cannot
//! parse as empty and may rewrite it on open; when the store then turns out damaged, these
//! bytes go back so that what the admin restores from, or hands to a recovery tool, is
//! exactly what was on disk.

use std::path::{Path, PathBuf};

/// Stores larger than this are not copied (the open would cost more than it protects).
const LIMIT: u64 = 64 * 1024 * 1024;

pub struct Preserved {
    dir: PathBuf,
    files: Vec<(PathBuf, Vec<u8>)>,
}

impl Preserved {
    /// The regular files under `dir`, read whole; `None` when they are too large or unreadable.
    pub fn read(dir: &Path) -> Option<Preserved> {
        let mut files = Vec::new();
        let mut total = 0;
        let mut pending = vec![dir.to_owned()];
        while let Some(path) = pending.pop() {
            let kind = std::fs::symlink_metadata(&path).ok()?;
            if kind.is_dir() {
                pending.extend(std::fs::read_dir(&path).ok()?.flatten().map(|e| e.path()));
            } else if kind.is_file() {
                total += kind.len();
                if total > LIMIT {
                    return None;
                }
                files.push((path.clone(), std::fs::read(&path).ok()?));
            }
        }
        Some(Preserved {
            dir: dir.to_owned(),
            files,
        })
    }

    /// Puts every file back as it was and removes the ones that were not there.
    pub fn restore(&self) {
        let mut pending = vec![self.dir.clone()];
        while let Some(path) = pending.pop() {
            let Ok(kind) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if kind.is_dir() {
                if let Ok(entries) = std::fs::read_dir(&path) {
                    pending.extend(entries.flatten().map(|e| e.path()));
                }
            } else if !self.files.iter().any(|(known, _)| *known == path) {
                let _ = std::fs::remove_file(&path);
            }
        }
        for (path, bytes) in &self.files {
            let _ = std::fs::write(path, bytes);
        }
    }
}
