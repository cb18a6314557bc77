//! The store's generation, kept beside the key file (outside the data directory), so that a
//! data directory rolled back to an older copy (a truncated log, an old backup restored) is
//! told from the newest one: the database's generation may run ahead of this file (a crash
//! between the two writes) but never behind it.
//!
//! The file is overwritten in place and synced, one small write per store write. Its second
//! line names the data directory, so that a store that vanished whole (its database deleted
//! or never restored) is told from one that never was: see [`last_written_at`]. Where it cannot be written (a read-only key directory), rollback detection is off
//! and the agent's log says so once; nothing else depends on it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The file beside `key_file` that holds the generation of the store `store_id`.
pub fn path_for(key_file: &Path, store_id: &str) -> PathBuf {
    let name = key_file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "store.key".to_owned());
    key_file.with_file_name(format!("{name}.{store_id}.generation"))
}

/// The open generation file.
#[derive(Debug)]
pub struct GenerationFile {
    path: PathBuf,
    /// The data directory, as written on the file's second line.
    data_dir: String,
    file: Mutex<Option<File>>,
}

/// How a data directory is named in a generation file: absolute, not resolved, so the name
/// can be compared before the directory exists again.
fn named(data_dir: &Path) -> String {
    std::path::absolute(data_dir)
        .unwrap_or_else(|_| data_dir.to_owned())
        .display()
        .to_string()
}

/// The generation file under this key that names `data_dir`, and the generation last written
/// there: a store lived there once. `None` when none of this key's did.
pub fn last_written_at(key_file: &Path, data_dir: &Path) -> Option<(PathBuf, u64)> {
    let dir = key_file.parent().filter(|p| !p.as_os_str().is_empty())?;
    let prefix = format!("{}.", key_file.file_name()?.to_string_lossy());
    let wanted = named(data_dir);
    std::fs::read_dir(dir).ok()?.flatten().find_map(|entry| {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(&prefix) || !name.ends_with(".generation") {
            return None;
        }
        let text = std::fs::read_to_string(entry.path()).ok()?;
        let mut lines = text.lines();
        let generation = lines.next()?.trim().parse().ok()?;
        (lines.next() == Some(wanted.as_str())).then(|| (entry.path(), generation))
    })
}

const WIDTH: usize = 20;

impl GenerationFile {
    /// Opens (creating it when missing) the file of the store at `data_dir`; the generation
    /// it holds, if any.
    pub fn open(path: PathBuf, data_dir: &Path) -> (GenerationFile, Option<u64>) {
        let opened = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path);
        let (file, found) = match opened {
            Ok(mut file) => {
                let mut text = String::new();
                let found = file
                    .read_to_string(&mut text)
                    .ok()
                    .and_then(|_| text.lines().next()?.trim().parse::<u64>().ok());
                (Some(file), found)
            }
            Err(e) => {
                crate::agent_log!(
                    "cannot keep the store's generation in {}: {e}; a rolled-back store will not be detected",
                    crate::validate::text::sanitize(
                        &path.display().to_string(),
                        crate::validate::text::URL_CAP
                    )
                );
                (None, None)
            }
        };
        (
            GenerationFile {
                path,
                data_dir: named(data_dir),
                file: Mutex::new(file),
            },
            found,
        )
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records `generation`; a failure turns rollback detection off rather than failing the
    /// write it follows (the database already holds that write).
    pub fn record(&self, generation: u64) {
        let mut guard = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(file) = guard.as_mut() else {
            return;
        };
        let line = format!("{generation:0WIDTH$}\n{}\n", self.data_dir);
        let written = file
            .seek(SeekFrom::Start(0))
            .and_then(|_| file.write_all(line.as_bytes()))
            .and_then(|()| file.set_len(line.len() as u64))
            .and_then(|()| file.sync_data());
        if let Err(e) = written {
            crate::agent_log!(
                "cannot update the store's generation in {}: {e}; rollback detection is off until the agent restarts",
                crate::validate::text::sanitize(
                    &self.path.display().to_string(),
                    crate::validate::text::URL_CAP
                )
            );
            *guard = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generation_reads_back_after_growing_in_width() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(&dir.path().join("store.key"), "abc");
        assert!(path.ends_with("store.key.abc.generation"));
        let data = dir.path().join("data");
        let (file, found) = GenerationFile::open(path.clone(), &data);
        assert_eq!(found, None);
        assert_eq!(last_written_at(&dir.path().join("store.key"), &data), None);
        file.record(9);
        file.record(10);
        drop(file);
        let (_, found) = GenerationFile::open(path.clone(), &data);
        assert_eq!(found, Some(10));
        assert_eq!(
            last_written_at(&dir.path().join("store.key"), &data),
            Some((path, 10)),
            "the file names where its store lived"
        );
        assert_eq!(
            last_written_at(&dir.path().join("store.key"), &dir.path().join("other")),
            None
        );
    }
}
