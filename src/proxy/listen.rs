//! Where the proxy listens: a Unix socket private to this user, or loopback TCP (with the
//! proxy key). Anything else is refused before a socket is opened, because whoever reaches
//! the proxy acts as the grant.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error(
        "--bind {0} is not a loopback address; the proxy acts as the grant for whoever reaches it, so it serves 127.0.0.1 or [::1] only (put it behind your own authenticating proxy to reach it from elsewhere)"
    )]
    NotLoopback(SocketAddr),
    #[error("a proxy already serves {0}; stop it first, or give another --socket")]
    InUse(PathBuf),
    #[error("{path} exists and is not a socket; remove it or give another --socket")]
    NotSocket { path: PathBuf },
    #[error("cannot listen on {at}: {reason}")]
    Bind { at: String, reason: String },
}

/// A bound listener.
pub enum Listener {
    Unix {
        listener: tokio::net::UnixListener,
        path: PathBuf,
    },
    Tcp(tokio::net::TcpListener),
}

impl Listener {
    /// A Unix socket at `path`, mode 0600. A socket file nobody answers on (a proxy killed)
    /// is replaced; one that answers is another proxy's, left alone.
    pub fn unix(path: &Path) -> Result<Listener, ListenError> {
        let bind_error = |e: std::io::Error| ListenError::Bind {
            at: path.display().to_string(),
            reason: e.to_string(),
        };
        match std::fs::symlink_metadata(path) {
            Ok(found) if std::os::unix::fs::FileTypeExt::is_socket(&found.file_type()) => {
                if std::os::unix::net::UnixStream::connect(path).is_ok() {
                    return Err(ListenError::InUse(path.to_owned()));
                }
                std::fs::remove_file(path).map_err(bind_error)?;
            }
            Ok(_) => {
                return Err(ListenError::NotSocket {
                    path: path.to_owned(),
                });
            }
            Err(_) => {}
        }
        // Private from the first instant: the socket is created under a umask that leaves
        // others nothing, then set to 0600 whatever the umask was.
        // SAFETY: umask only sets this process's file-creation mask; this process creates
        // nothing meant for others.
        let previous = unsafe { libc::umask(0o077) };
        let bound = std::os::unix::net::UnixListener::bind(path);
        // SAFETY: as above, restoring the mask the process had.
        unsafe {
            libc::umask(previous);
        }
        let listener = bound.map_err(bind_error)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .and_then(|()| listener.set_nonblocking(true))
            .map_err(bind_error)?;
        let listener = tokio::net::UnixListener::from_std(listener).map_err(bind_error)?;
        Ok(Listener::Unix {
            listener,
            path: path.to_owned(),
        })
    }

    /// Loopback TCP at `address` (port 0 picks one).
    pub async fn tcp(address: SocketAddr) -> Result<Listener, ListenError> {
        if !address.ip().is_loopback() {
            return Err(ListenError::NotLoopback(address));
        }
        let listener =
            tokio::net::TcpListener::bind(address)
                .await
                .map_err(|e| ListenError::Bind {
                    at: address.to_string(),
                    reason: e.to_string(),
                })?;
        Ok(Listener::Tcp(listener))
    }

    /// Where it listens, as a person would write it.
    pub fn shown(&self) -> String {
        match self {
            Listener::Unix { path, .. } => path.display().to_string(),
            Listener::Tcp(listener) => listener
                .local_addr()
                .map(|a| format!("http://{a}"))
                .unwrap_or_default(),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix { path, .. } = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_loopback_is_served() {
        for address in ["0.0.0.0:0", "192.0.2.1:8719", "[::]:0"] {
            assert!(matches!(
                Listener::tcp(address.parse().unwrap()).await,
                Err(ListenError::NotLoopback(_))
            ));
        }
        assert!(Listener::tcp("127.0.0.1:0".parse().unwrap()).await.is_ok());
    }

    #[tokio::test]
    async fn a_socket_is_private_and_a_live_one_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("proxy.sock");
        let first = Listener::unix(&path).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(matches!(Listener::unix(&path), Err(ListenError::InUse(_))));
        drop(first);
        assert!(!path.exists(), "a stopped proxy removes its socket");
        // A killed proxy's socket file, which nobody answers on, is replaced.
        std::os::unix::net::UnixListener::bind(&path)
            .map(drop)
            .unwrap();
        assert!(path.exists());
        assert!(Listener::unix(&path).is_ok());
        std::fs::write(dir.path().join("file"), "x").unwrap();
        assert!(matches!(
            Listener::unix(&dir.path().join("file")),
            Err(ListenError::NotSocket { .. })
        ));
    }
}
