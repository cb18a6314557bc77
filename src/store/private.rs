//! Who may own what jira-auth keeps: the checks OpenSSH's StrictModes makes, for the data
//! directory, the key and the socket, and the one way files inside the data directory are
//! opened (never through a link).

use std::path::{Path, PathBuf};

/// What a path jira-auth keeps secrets, its log or its socket at must be, and why one is not:
/// the checks OpenSSH's StrictModes makes. A path another user owns or may write lets that
/// user swap what jira-auth reads or aim what it writes; a link inside the data directory
/// would carry a write elsewhere. Each sentence names the fix; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum NotPrivate {
    #[error(
        "{path} belongs to uid {owner}, not to this user (uid {own}), so that user could change what jira-auth keeps there; nothing was written. If it is yours, `chown {chown}{own} {path}`; otherwise choose another path"
    )]
    NotOwned {
        path: PathBuf,
        owner: u32,
        own: u32,
        /// `-R ` for a directory.
        chown: &'static str,
    },
    #[error(
        "{path} can be written by group or others (mode {mode:03o}), so another user could replace what jira-auth keeps there; nothing was written. Make it private with `chmod {wanted:03o} {path}` and try again"
    )]
    Writable {
        path: PathBuf,
        mode: u32,
        wanted: u32,
    },
    #[error(
        "{path} is a symbolic link where jira-auth keeps its own {what}, so writing it would write wherever the link points; nothing was written through it. Remove the link (`rm {path}`) and try again"
    )]
    Symlink { path: PathBuf, what: &'static str },
    #[error(
        "{path} is not the {what} jira-auth keeps there; nothing was written. Move it aside and try again"
    )]
    Unexpected { path: PathBuf, what: &'static str },
    #[error("cannot inspect {path} to check that it is private: {reason}")]
    Unreadable { path: PathBuf, reason: String },
}

/// What jira-auth expects at a name inside its data directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    File(&'static str),
    Directory(&'static str),
    Socket(&'static str),
}

impl Expected {
    fn what(self) -> &'static str {
        match self {
            Expected::File(what) | Expected::Directory(what) | Expected::Socket(what) => what,
        }
    }

    fn fits(self, kind: std::fs::FileType) -> bool {
        use std::os::unix::fs::FileTypeExt;
        match self {
            Expected::File(_) => kind.is_file(),
            Expected::Directory(_) => kind.is_dir(),
            Expected::Socket(_) => kind.is_socket(),
        }
    }
}

/// The store's own names inside the data directory; the agent adds its socket and log.
pub const STORE_FILES: [(&str, Expected); 2] = [
    ("holder", Expected::File("holder file")),
    ("db", Expected::Directory("database directory")),
];

/// This process's effective uid: the owner every private path must have.
pub fn own_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Refuses a data directory this user does not own or others may write, and anything at
/// `expected` (plus the store's own names) that is a link, another user's, or of the wrong
/// kind; inside the database directory no entry may be a link. A directory that does not
/// exist yet passes: it is created private.
pub fn check_data_dir(data_dir: &Path, expected: &[(&str, Expected)]) -> Result<(), NotPrivate> {
    let Some(metadata) = metadata_if_any(data_dir, std::fs::metadata(data_dir))? else {
        return Ok(());
    };
    if !metadata.is_dir() {
        return Err(NotPrivate::Unexpected {
            path: data_dir.to_owned(),
            what: "data directory",
        });
    }
    check_owner_and_mode(data_dir, &metadata, true)?;
    for (name, wanted) in STORE_FILES.iter().chain(expected) {
        let path = data_dir.join(name);
        let Some(found) = metadata_if_any(&path, std::fs::symlink_metadata(&path))? else {
            continue;
        };
        check_entry(&path, &found, *wanted)?;
    }
    let database = data_dir.join("db");
    if database.is_dir() {
        check_tree(&database)?;
    }
    Ok(())
}

/// The key file: this user's, and nobody else may write it (that others may not read it is
/// [`super::StoreError::KeyExposed`]'s check).
pub fn check_key_file(path: &Path, metadata: &std::fs::Metadata) -> Result<(), NotPrivate> {
    check_owner_and_mode(path, metadata, false)
}

/// The directory holding the key: this user's or root's (`/etc/...`, `/run/secrets`), and not
/// writable by others unless sticky (`/tmp`: others may add files there but cannot replace
/// ours). A directory that does not exist yet passes: it is created private.
pub fn check_key_dir(dir: &Path) -> Result<(), NotPrivate> {
    use std::os::unix::fs::MetadataExt;
    let Some(metadata) = metadata_if_any(dir, std::fs::metadata(dir))? else {
        return Ok(());
    };
    if metadata.uid() != own_uid() && metadata.uid() != 0 {
        return Err(not_owned(dir, &metadata));
    }
    let sticky = metadata.mode() & 0o1000 != 0;
    if !sticky {
        writable(dir, &metadata, true)?;
    }
    Ok(())
}

/// Options for a file jira-auth keeps inside its data directory: private, and never opened
/// through a symbolic link (`O_NOFOLLOW` fails with ELOOP instead).
pub fn private_file() -> std::fs::OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    options
}

fn metadata_if_any(
    path: &Path,
    found: std::io::Result<std::fs::Metadata>,
) -> Result<Option<std::fs::Metadata>, NotPrivate> {
    match found {
        Ok(metadata) => Ok(Some(metadata)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(NotPrivate::Unreadable {
            path: path.to_owned(),
            reason: e.to_string(),
        }),
    }
}

fn check_entry(path: &Path, found: &std::fs::Metadata, wanted: Expected) -> Result<(), NotPrivate> {
    use std::os::unix::fs::MetadataExt;
    if found.file_type().is_symlink() {
        return Err(NotPrivate::Symlink {
            path: path.to_owned(),
            what: wanted.what(),
        });
    }
    if found.uid() != own_uid() {
        return Err(not_owned(path, found));
    }
    if !wanted.fits(found.file_type()) {
        return Err(NotPrivate::Unexpected {
            path: path.to_owned(),
            what: wanted.what(),
        });
    }
    Ok(())
}

/// No link and nothing of another user anywhere under the database directory (sled opens
/// its files by name).
fn check_tree(dir: &Path) -> Result<(), NotPrivate> {
    use std::os::unix::fs::MetadataExt;
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| NotPrivate::Unreadable {
            path: dir.clone(),
            reason: e.to_string(),
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(found) = metadata_if_any(&path, std::fs::symlink_metadata(&path))? else {
                continue;
            };
            if found.file_type().is_symlink() {
                return Err(NotPrivate::Symlink {
                    path,
                    what: "database file",
                });
            }
            if found.uid() != own_uid() {
                return Err(not_owned(&path, &found));
            }
            if found.is_dir() {
                pending.push(path);
            }
        }
    }
    Ok(())
}

fn check_owner_and_mode(
    path: &Path,
    metadata: &std::fs::Metadata,
    directory: bool,
) -> Result<(), NotPrivate> {
    use std::os::unix::fs::MetadataExt;
    if metadata.uid() != own_uid() {
        return Err(not_owned(path, metadata));
    }
    writable(path, metadata, directory)
}

fn writable(path: &Path, metadata: &std::fs::Metadata, directory: bool) -> Result<(), NotPrivate> {
    use std::os::unix::fs::MetadataExt;
    let mode = metadata.mode() & 0o777;
    if mode & 0o022 != 0 {
        return Err(NotPrivate::Writable {
            path: path.to_owned(),
            mode,
            wanted: if directory { 0o700 } else { 0o600 },
        });
    }
    Ok(())
}

fn not_owned(path: &Path, metadata: &std::fs::Metadata) -> NotPrivate {
    use std::os::unix::fs::MetadataExt;
    NotPrivate::NotOwned {
        path: path.to_owned(),
        owner: metadata.uid(),
        own: own_uid(),
        chown: if metadata.is_dir() { "-R " } else { "" },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_data_directory_passes_and_loose_or_linked_ones_do_not() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        assert!(
            check_data_dir(&data, &[]).is_ok(),
            "not there yet: created private"
        );
        std::fs::create_dir_all(data.join("db")).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(check_data_dir(&data, &[]).is_ok());
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o770)).unwrap();
        let loose = check_data_dir(&data, &[]).unwrap_err();
        assert!(
            matches!(loose, NotPrivate::Writable { mode: 0o770, .. }),
            "{loose}"
        );
        assert!(loose.to_string().contains("chmod 700"), "{loose}");
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::symlink(root.path().join("elsewhere"), data.join("agent.log")).unwrap();
        let linked = check_data_dir(&data, &[("agent.log", Expected::File("log"))]).unwrap_err();
        assert!(matches!(linked, NotPrivate::Symlink { .. }), "{linked}");
        std::fs::remove_file(data.join("agent.log")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", data.join("db/conf")).unwrap();
        let inside = check_data_dir(&data, &[]).unwrap_err();
        assert!(matches!(inside, NotPrivate::Symlink { .. }), "{inside}");
    }

    #[test]
    fn private_files_are_not_opened_through_a_link() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("target");
        std::fs::write(&target, "kept").unwrap();
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(
            private_file()
                .write(true)
                .truncate(true)
                .open(&link)
                .is_err()
        );
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "kept");
    }
}
