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
