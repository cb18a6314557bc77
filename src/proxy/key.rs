//! The proxy key: what a loopback TCP caller shows to act as the grant, because every local
//! user can reach a loopback port. A fresh random key per start, in a file only this user
//! reads; compared in constant time.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The key and the file it was written to.
pub struct ProxyKey {
    key: String,
    pub file: PathBuf,
}

impl ProxyKey {
    /// A new key (256 random bits, hex), written to `file` with mode 0600, replacing any key
    /// an earlier proxy left there.
    pub fn create(file: &Path) -> std::io::Result<ProxyKey> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
        let key: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        // A new file beside the old one, renamed over it: a reader sees the old key or the
        // new one, never half of one, and never a file others could read.
        let temporary = file.with_extension("key.new");
        let _ = std::fs::remove_file(&temporary);
        let mut out = crate::config::private_file()
            .write(true)
            .create_new(true)
            .open(&temporary)?;
        out.write_all(key.as_bytes())?;
        out.write_all(b"\n")?;
        out.sync_all()?;
        std::fs::rename(&temporary, file)?;
        Ok(ProxyKey {
            key,
            file: file.to_owned(),
        })
    }

    /// Whether `authorization` (the request's header) is `Bearer <this key>`.
    pub fn admits(&self, authorization: Option<&[u8]>) -> bool {
        let Some(given) = authorization.and_then(|v| v.strip_prefix(b"Bearer ")) else {
            return false;
        };
        let given = given.trim_ascii();
        given.len() == self.key.len()
            && given
                .iter()
                .zip(self.key.as_bytes())
                .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                == 0
    }

    /// The key's file is removed when the proxy stops: a key nobody checks is no use.
    pub fn remove(&self) {
        let _ = std::fs::remove_file(&self.file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_key_is_private_fresh_and_checked_whole() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("proxy.key");
        std::fs::write(&file, "old").unwrap();
        let key = ProxyKey::create(&file).unwrap();
        let written = std::fs::read_to_string(&file).unwrap();
        assert_eq!(written.trim().len(), 64);
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let header = format!("Bearer {}", written.trim());
        assert!(key.admits(Some(header.as_bytes())));
        assert!(!key.admits(Some(&header.as_bytes()[..header.len() - 1])));
        assert!(!key.admits(Some(written.trim().as_bytes())));
        assert!(!key.admits(None));
        let other = ProxyKey::create(&file).unwrap();
        assert!(
            !other.admits(Some(header.as_bytes())),
            "a key is new each time"
        );
        other.remove();
        assert!(!file.exists());
    }
}
