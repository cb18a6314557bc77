//! Where the database and its key live: `--data-dir`, else `JIRA_AUTH_DATA_DIR`, else the
//! platform data directory; the key in `JIRA_AUTH_KEY_FILE`, else the platform config
//! directory. The key is deliberately never inside the data directory.

use std::path::{Path, PathBuf};

use super::StoreError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorePaths {
    pub data_dir: PathBuf,
    pub key_file: PathBuf,
}

impl StorePaths {
    /// Resolves both paths from an explicit data dir (the CLI flag, which clap already
    /// merged with `JIRA_AUTH_DATA_DIR`) and the environment.
    pub fn resolve(data_dir: Option<&Path>) -> Result<Self, StoreError> {
        let dirs = directories::ProjectDirs::from("", "", "jira-auth");
        let data_dir = match (data_dir, &dirs) {
            (Some(dir), _) => dir.to_owned(),
            (None, Some(dirs)) => dirs.data_dir().to_owned(),
            (None, None) => return Err(no_home("data")),
        };
        let key_file = match (std::env::var_os("JIRA_AUTH_KEY_FILE"), &dirs) {
            (Some(path), _) if !path.is_empty() => PathBuf::from(path),
            (_, Some(dirs)) => super::seal::default_key_path(dirs.config_dir()),
            (_, None) => return Err(no_home("config")),
        };
        Ok(StorePaths { data_dir, key_file })
    }

    /// The sled database lives one level down, so the data directory can also hold the
    /// holder file without sled tripping over it.
    pub fn database(&self) -> PathBuf {
        self.data_dir.join("db")
    }
}

fn no_home(kind: &str) -> StoreError {
    StoreError::Open {
        path: PathBuf::from("~"),
        reason: format!(
            "no home directory to hold the {kind} directory; pass --data-dir and set JIRA_AUTH_KEY_FILE"
        ),
    }
}

/// Whether `path` lies inside `dir`, judged on the real locations (symlinks and `..` resolved
/// as far as the paths exist), so `data/../data/key` and a link into the data dir count.
pub fn inside(path: &Path, dir: &Path) -> bool {
    let real = |p: &Path| -> PathBuf {
        // The nearest existing ancestor resolved, the rest appended as written.
        let mut tail = Vec::new();
        let mut current = p.to_owned();
        loop {
            if let Ok(found) = current.canonicalize() {
                return tail.iter().rev().fold(found, |acc, part| acc.join(part));
            }
            match (current.file_name().map(ToOwned::to_owned), current.parent()) {
                (Some(name), Some(parent)) => {
                    tail.push(name);
                    current = parent.to_owned();
                }
                _ => return p.to_owned(),
            }
        }
    };
    real(path).starts_with(real(dir))
}

/// Makes the data directory 0700 and everything in it private (directories 0700, files 0600)
/// where a looser mode let others read; returns a sentence per change. Sockets keep their
/// mode (the agent sets its own).
pub fn tighten(data_dir: &Path) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let mut notes = Vec::new();
    let mut pending = vec![data_dir.to_owned()];
    while let Some(path) = pending.pop() {
        let Ok(metadata) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let kind = metadata.file_type();
        let wanted = if kind.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&path) {
                pending.extend(entries.flatten().map(|e| e.path()));
            }
            0o700
        } else if kind.is_file() {
            0o600
        } else {
            continue;
        };
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0
            && std::fs::set_permissions(&path, std::fs::Permissions::from_mode(wanted)).is_ok()
        {
            notes.push(format!(
                "{} was readable by others (mode {mode:03o}); made it {wanted:03o}",
                path.display()
            ));
        }
    }
    notes
}

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
    fn a_key_inside_the_data_directory_is_found_however_it_is_spelled() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        std::fs::create_dir_all(data.join("sub")).unwrap();
        assert!(inside(&data.join("store.key"), &data));
        assert!(inside(&data.join("sub/../new/store.key"), &data));
        assert!(!inside(&root.path().join("config/store.key"), &data));
        std::os::unix::fs::symlink(&data, root.path().join("link")).unwrap();
        assert!(inside(&root.path().join("link/store.key"), &data));
        assert!(
            !inside(&root.path().join("data2/key"), &data),
            "a prefix is not a parent"
        );
    }

    #[test]
    fn loose_modes_are_tightened_once() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        std::fs::create_dir_all(data.join("db")).unwrap();
        std::fs::write(data.join("db/conf"), "x").unwrap();
        for (path, mode) in [(&data, 0o755), (&data.join("db"), 0o755)] {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        std::fs::set_permissions(data.join("db/conf"), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        let notes = tighten(&data);
        assert_eq!(notes.len(), 3, "{notes:?}");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("db/conf")), 0o600);
        assert!(tighten(&data).is_empty(), "said once");
    }

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
