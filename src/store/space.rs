//! Room on the store's disk. A ballast file of [`BALLAST_SIZE`] waits in the data directory
//! (the way CockroachDB keeps one): when the disk fills, it is deleted so the write that keeps
//! a grant (a rotated refresh token, a code just exchanged) still has room, and it comes back
//! by itself once the disk has room again. Writes that keep no grant are refused instead while
//! the disk is full, so a full disk never costs what Atlassian has already rotated or spent.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::StoreError;

/// The ballast's file name, inside the data directory.
pub const BALLAST_NAME: &str = "ballast";
/// The file `can_write` tries, inside the data directory; gone again at once.
const PROBE_NAME: &str = "write-probe";
/// What the ballast holds back: room for thousands of token sets and their events, far more
/// than the writes between a full disk and a person freeing space.
pub const BALLAST_SIZE: u64 = 4 * 1024 * 1024;
/// Below this much free space, a write that keeps no grant is not started: sled grows its
/// file by 512 KiB segments, so two of them are the least a write may need.
pub const FLOOR: u64 = 1024 * 1024;

/// Whether a write keeps something only Atlassian could give again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stake {
    /// A token set or an exchanged code: written whatever it takes, the ballast included.
    Grant,
    /// Everything else: refused while the disk is full, to leave the room to grants.
    Other,
}

#[derive(Debug, Default)]
struct State {
    /// The disk ran out of room and has not had enough back since.
    full: bool,
    /// The ballast could not be made (a small or slow disk); said once in the log.
    unavailable_said: bool,
}

/// The data directory's disk, as the store's writes see it.
#[derive(Debug)]
pub struct Space {
    data_dir: PathBuf,
    ballast: PathBuf,
    state: Mutex<State>,
}

impl Space {
    pub fn new(data_dir: &Path) -> Space {
        let space = Space {
            data_dir: data_dir.to_owned(),
            ballast: data_dir.join(BALLAST_NAME),
            state: Mutex::new(State::default()),
        };
        space.refill();
        space
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Every critical section is a flag update: a poisoned lock still holds sound flags.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Free bytes on the data directory's disk for this user; `None` when it cannot be told.
    pub fn free(&self) -> Option<u64> {
        free_bytes(&self.data_dir)
    }

    /// Whether a small file can be written, synced and removed in the data directory right
    /// now: asked before sled is opened again after a failed write, since an open that fails
    /// half-way leaves nothing to read from either (a quota still exceeded, a size limit).
    pub fn can_write(&self) -> bool {
        let probe = self.data_dir.join(PROBE_NAME);
        let written = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&probe)
            .and_then(|mut file| {
                use std::io::Write;
                file.write_all(&[0u8; 4096])?;
                file.sync_all()
            });
        let _ = std::fs::remove_file(&probe);
        written.is_ok()
    }

    /// Whether a write of the usual size would find room.
    pub fn has_room(&self) -> bool {
        self.free().is_none_or(|free| free >= FLOOR)
    }

    pub fn has_ballast(&self) -> bool {
        std::fs::symlink_metadata(&self.ballast).is_ok_and(|m| m.is_file())
    }

    /// The sentence for a full disk, when it is full.
    pub fn full(&self) -> Option<String> {
        self.state().full.then(|| self.full_error().to_string())
    }

    pub fn full_error(&self) -> StoreError {
        StoreError::DiskFull {
            data_dir: self.data_dir.clone(),
        }
    }

    /// Before a write: room for it, freeing the ballast for a grant when that is what it takes.
    pub fn before_write(&self, stake: Stake) -> Result<(), StoreError> {
        if self.free().is_none_or(|free| free >= FLOOR) {
            return Ok(());
        }
        match stake {
            // The ballast's room is for grants only.
            Stake::Other => {
                self.state().full = true;
                Err(self.full_error())
            }
            Stake::Grant => {
                self.release();
                Ok(())
            }
        }
    }

    /// Before asking Atlassian for something it rotates or spends: the outcome can be written,
    /// because there is room or a ballast to free for it.
    pub fn room_for_outcome(&self) -> Result<(), StoreError> {
        if self.has_ballast() || self.free().is_none_or(|free| free >= FLOOR) {
            Ok(())
        } else {
            self.state().full = true;
            Err(self.full_error())
        }
    }

    /// A write that keeps no grant found no room: said, and the ballast kept for grants.
    pub fn mark_full(&self) {
        self.state().full = true;
    }

    /// A grant's write failed for want of room: the ballast goes, so a retry finds some.
    pub fn ran_out(&self) {
        self.release();
        self.state().full = true;
    }

    fn release(&self) {
        let had = self.has_ballast();
        if had && std::fs::remove_file(&self.ballast).is_ok() {
            crate::agent_log!(
                "the disk holding {} is full: released the {} MiB ballast so grants can still be written; free space there",
                crate::validate::text::sanitize(
                    &self.data_dir.display().to_string(),
                    crate::validate::text::URL_CAP
                ),
                BALLAST_SIZE / (1024 * 1024)
            );
        }
        self.state().full = true;
    }

    /// Makes the ballast again once the disk has room for it and a margin; `true` when the
    /// disk is no longer full.
    pub fn refill(&self) -> bool {
        let room = self
            .free()
            .is_none_or(|free| free >= BALLAST_SIZE + 2 * FLOOR);
        if !self.has_ballast()
            && room
            && let Err(e) = make_ballast(&self.ballast)
        {
            let mut state = self.state();
            if !state.unavailable_said {
                state.unavailable_said = true;
                crate::agent_log!(
                    "cannot make the ballast {}: {e}; a full disk will refuse writes instead",
                    crate::validate::text::sanitize(
                        &self.ballast.display().to_string(),
                        crate::validate::text::URL_CAP
                    )
                );
            }
        }
        let mut state = self.state();
        if state.full && room {
            state.full = false;
            crate::agent_log!("the disk has room again; the ballast is back");
            return true;
        }
        !state.full
    }
}

/// Reserves the ballast's blocks for real (a sparse file would hold back nothing).
fn make_ballast(path: &Path) -> std::io::Result<()> {
    let partial = path.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&partial)?;
    let size = libc::off_t::try_from(BALLAST_SIZE).unwrap_or(libc::off_t::MAX);
    // SAFETY: posix_fallocate only allocates blocks for the open descriptor we pass.
    let code = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, size) };
    let made = if code == 0 {
        file.sync_all()
    } else {
        Err(std::io::Error::from_raw_os_error(code))
    };
    drop(file);
    match made.and_then(|()| std::fs::rename(&partial, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs fills the zeroed struct for the NUL-terminated path we pass.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(path.as_ptr(), &mut stat) } != 0 {
        return None;
    }
    #[allow(clippy::useless_conversion)] // the field widths differ between targets
    Some(u64::from(stat.f_bavail).saturating_mul(u64::from(stat.f_frsize)))
}

/// Whether a store error is the disk running out of room, or the user's quota on it (sled
/// passes the OS error on, sometimes only as text).
pub fn is_out_of_room(error: &sled::Error) -> bool {
    match error {
        sled::Error::Io(e) => {
            matches!(
                e.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            ) || matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
                || [libc::ENOSPC, libc::EDQUOT]
                    .iter()
                    .any(|code| e.to_string().contains(&format!("code: {code},")))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ballast_is_made_on_a_disk_with_room_and_released_for_a_grant_only_when_full() {
        let dir = tempfile::tempdir().unwrap();
        let space = Space::new(dir.path());
        assert!(space.has_ballast());
        assert_eq!(
            std::fs::metadata(dir.path().join(BALLAST_NAME))
                .unwrap()
                .len(),
            BALLAST_SIZE
        );
        // The temp disk has room: nothing is released.
        space.before_write(Stake::Other).unwrap();
        assert!(space.has_ballast());
        space.ran_out();
        assert!(!space.has_ballast());
        assert!(space.full().unwrap().contains("is full"));
        assert!(space.refill(), "room came back");
        assert!(space.has_ballast() && space.full().is_none());
    }

    #[test]
    fn a_storage_full_error_is_told_apart() {
        let full = sled::Error::Io(std::io::Error::from_raw_os_error(libc::ENOSPC));
        assert!(is_out_of_room(&full));
        let quota = sled::Error::Io(std::io::Error::from_raw_os_error(libc::EDQUOT));
        assert!(
            is_out_of_room(&quota),
            "a quota is a disk full for this user"
        );
        let wrapped = sled::Error::Io(std::io::Error::other(format!(
            "{:?}",
            std::io::Error::from_raw_os_error(libc::ENOSPC)
        )));
        assert!(is_out_of_room(&wrapped), "as sled wraps it: {wrapped:?}");
        let other = sled::Error::Io(std::io::Error::from_raw_os_error(libc::EACCES));
        assert!(!is_out_of_room(&other));
    }
}
