//! Where the database and its key live: `--data-dir`, else `JIRA_AUTH_DATA_DIR`, else the
//! platform data directory; the key in `JIRA_AUTH_KEY_FILE`, else the platform config
//! directory. The key is deliberately never inside the data directory.

use std::path::{Path, PathBuf};

use super::error::StoreError;

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
}
