//! One agent per data directory when the store is not in it. sled's own file lock decides
//! between two agents of one sled store; a shared (PostgreSQL) store has no local files, so
//! the agent takes this lock instead before it binds the socket. The kernel drops the lock
//! when the process dies, kill -9 included, so it never goes stale.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

use super::error::StoreError;
use super::holder::Holder;

const FILE_NAME: &str = "agent.lock";

/// Held while this process serves the data directory.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
    _holder: Holder,
}

impl DirLock {
    /// Takes the data directory's lock, or says who has it (`StoreError::Busy`).
    pub fn take(data_dir: &Path, role: &str) -> Result<DirLock, StoreError> {
        let path = data_dir.join(FILE_NAME);
        let file = super::private::private_file()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| StoreError::Open {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        // SAFETY: flock on a descriptor this function owns; it changes no memory.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return Err(StoreError::Busy {
                data_dir: data_dir.to_owned(),
                holder: Holder::describe(data_dir),
            });
        }
        Ok(DirLock {
            _file: file,
            _holder: Holder::claim(data_dir, role),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_free_again_once_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::take(dir.path(), "jira-auth agent").unwrap();
        match DirLock::take(dir.path(), "jira-auth agent") {
            Err(StoreError::Busy { holder, .. }) => {
                assert!(holder.contains(&std::process::id().to_string()), "{holder}");
            }
            other => panic!("a second holder: {other:?}"),
        }
        drop(first);
        DirLock::take(dir.path(), "jira-auth agent").expect("free again");
    }
}
