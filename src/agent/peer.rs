//! Who is on the other end of a Unix socket, as the kernel tells it (`SO_PEERCRED`): the
//! one fact a client can trust about an agent before it sends a byte.

use std::os::fd::RawFd;

/// The uid of the process that listens on the other end of a Unix socket (`SO_PEERCRED`:
/// the credentials of whoever called listen(), which no later holder of the socket changes).
pub(super) fn uid(fd: RawFd) -> std::io::Result<u32> {
    let mut credentials = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut length = libc::socklen_t::try_from(std::mem::size_of::<libc::ucred>())
        .unwrap_or(libc::socklen_t::MAX);
    // SAFETY: getsockopt writes at most `length` bytes into the ucred we own.
    let done = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&raw mut credentials).cast(),
            &raw mut length,
        )
    };
    if done != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(credentials.uid)
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;

    #[test]
    fn the_peer_of_a_socket_of_this_process_is_this_user() {
        let (ours, _theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        assert_eq!(
            super::uid(ours.as_raw_fd()).unwrap(),
            crate::store::own_uid()
        );
    }
}
