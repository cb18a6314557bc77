//! Sealing of secret fields: XChaCha20-Poly1305 under a 256-bit key that lives in its own
//! 0600 file outside the data directory, so a copy of the data directory reveals nothing.
//! Each sealed value is bound to the record field it belongs to (associated data), so a
//! ciphertext moved to another record does not open.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use super::StoreError;

pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;

/// Seals and opens secret fields with the store's key.
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl Sealer {
    pub fn from_key(key: &[u8; KEY_LEN]) -> Self {
        Sealer {
            cipher: XChaCha20Poly1305::new(key.into()),
        }
    }

    /// Nonce followed by ciphertext and tag. A random 192-bit nonce per value makes
    /// collisions a non-issue without any counter to keep.
    pub fn seal(&self, context: &str, plaintext: &str) -> Result<Vec<u8>, StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| StoreError::Random(e.to_string()))?;
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Seal)?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// `None` when the key is not the one that sealed the value, or the value was altered.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Option<String> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: context.as_bytes(),
                },
            )
            .ok()?;
        String::from_utf8(plain).ok()
    }
}

/// Reads the key file, hex text of 32 bytes. Anything else at the path (binary bytes, a
/// directory, a key others may read) is refused with the sentence that says how to fix it.
pub fn read_key(path: &Path) -> Result<Option<[u8; KEY_LEN]>, StoreError> {
    // Whoever may write the key's directory may swap the key for one they know.
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        super::private::check_key_dir(parent)?;
    }
    let metadata = match fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(StoreError::KeyUnreadable {
                path: path.to_owned(),
                reason: e.to_string(),
            });
        }
    };
    if !metadata.is_file() {
        return Err(StoreError::KeyMalformed {
            path: path.to_owned(),
        });
    }
    super::private::check_key_file(path, &metadata)?;
    // As OpenSSH refuses an unprotected private key: a key others can read is no secret.
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(StoreError::KeyExposed {
            path: path.to_owned(),
            mode,
        });
    }
    let bytes = fs::read(path).map_err(|e| StoreError::KeyUnreadable {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    std::str::from_utf8(&bytes)
        .ok()
        .and_then(|text| parse_hex_key(text.trim()))
        .map(Some)
        .ok_or_else(|| StoreError::KeyMalformed {
            path: path.to_owned(),
        })
}

/// Creates a fresh random key file with mode 0600 (its directory 0700 when we create it).
/// `create_new` makes a race between two first runs end with one key, not two.
pub fn create_key(path: &Path) -> Result<[u8; KEY_LEN], StoreError> {
    let unreadable = |e: std::io::Error| StoreError::KeyUnreadable {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(unreadable)?;
    }
    let mut key = [0u8; KEY_LEN];
    getrandom::fill(&mut key).map_err(|e| StoreError::Random(e.to_string()))?;
    let mut file = match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(file) => file,
        // Another process won the race: use its key.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return read_key(path)?.ok_or_else(|| StoreError::KeyMalformed {
                path: path.to_owned(),
            });
        }
        Err(e) => return Err(unreadable(e)),
    };
    file.write_all(format!("{}\n", to_hex(&key)).as_bytes())
        .map_err(unreadable)?;
    file.sync_all().map_err(unreadable)?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(unreadable)?;
    Ok(key)
}

/// Where the key lives by default: the platform config directory, never the data directory.
pub fn default_key_path(config_dir: &Path) -> PathBuf {
    config_dir.join("store.key")
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_hex_key(text: &str) -> Option<[u8; KEY_LEN]> {
    if text.len() != KEY_LEN * 2 || !text.is_ascii() {
        return None;
    }
    let mut key = [0u8; KEY_LEN];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[i * 2..i * 2 + 2], 16).ok()?;
    }
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::{Exit, Exits};

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let sealer = Sealer::from_key(&[7; KEY_LEN]);
        let sealed = sealer.seal("profile/a/client_secret", "s3cret").unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"s3cret"));
        assert_eq!(
            sealer.open("profile/a/client_secret", &sealed).as_deref(),
            Some("s3cret")
        );
        assert_eq!(sealer.open("profile/b/client_secret", &sealed), None);
        assert_eq!(
            Sealer::from_key(&[8; KEY_LEN]).open("profile/a/client_secret", &sealed),
            None
        );
        assert_eq!(sealer.open("x", &sealed[..10]), None);
    }

    #[test]
    fn key_file_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conf").join("store.key");
        assert_eq!(read_key(&path).unwrap(), None);
        let key = create_key(&path).unwrap();
        assert_eq!(read_key(&path).unwrap(), Some(key));
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        fs::write(&path, "not hex").unwrap();
        assert!(matches!(
            read_key(&path),
            Err(StoreError::KeyMalformed { .. })
        ));
    }

    #[test]
    fn a_key_others_may_write_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conf").join("store.key");
        create_key(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o620)).unwrap();
        let refused = read_key(&path).unwrap_err();
        assert!(matches!(refused, StoreError::NotPrivate(_)), "{refused}");
        assert_eq!(refused.exit(), Exit::Usage);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        fs::set_permissions(path.parent().unwrap(), fs::Permissions::from_mode(0o777)).unwrap();
        let refused = read_key(&path).unwrap_err();
        assert!(refused.to_string().contains("chmod 700"), "{refused}");
    }
}
