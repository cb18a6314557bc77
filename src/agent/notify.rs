//! The start-up notice: a client that starts an agent hands it the write end of a pipe (as
//! descriptor 3) and reads one line back: ready, lost (another agent won the store), or
//! failed with the exit code and sentence. The agent closes its end right after, so it never
//! keeps anything of its caller open. This replaces polling for the socket (sccache's
//! `SCCACHE_STARTUP_NOTIFY` does the same with a socket).

use crate::exit::Exit;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// The descriptor number the agent finds the pipe at.
pub const NOTIFY_FD: i32 = 3;

/// What an agent reports once it knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartNotice {
    /// Serving on the socket.
    Ready,
    /// Another agent holds the store and answers on the socket: connect to it.
    Lost,
    /// It cannot serve; the exit code and the sentence say why.
    Failed { code: Exit, sentence: String },
}

impl StartNotice {
    fn encode(&self) -> String {
        match self {
            StartNotice::Ready => "ready\n".to_owned(),
            StartNotice::Lost => "lost\n".to_owned(),
            StartNotice::Failed { code, sentence } => {
                format!("failed {} {}\n", code.code(), sentence.replace('\n', " "))
            }
        }
    }

    fn decode(text: &str) -> Option<StartNotice> {
        let text = text.trim_end_matches('\n');
        match text {
            "ready" => Some(StartNotice::Ready),
            "lost" => Some(StartNotice::Lost),
            _ => {
                let rest = text.strip_prefix("failed ")?;
                let (code, sentence) = rest.split_once(' ')?;
                Some(StartNotice::Failed {
                    code: Exit::from(code.parse::<u8>().ok()?),
                    sentence: sentence.to_owned(),
                })
            }
        }
    }
}

/// The agent's end: says it once, then closes.
pub struct Notifier {
    pipe: Option<std::fs::File>,
}

impl Notifier {
    /// The pipe at [`NOTIFY_FD`] when the agent was told it has one, else a silent notifier.
    pub fn from_inherited(present: bool) -> Notifier {
        let pipe = present.then(|| {
            // SAFETY: the starting client placed the pipe's write end at NOTIFY_FD for this
            // process alone (`--notify-fd` says so); nothing else in this process owns it.
            unsafe { std::fs::File::from_raw_fd(NOTIFY_FD) }
        });
        Notifier { pipe }
    }

    pub fn send(&mut self, notice: &StartNotice) {
        if let Some(mut pipe) = self.pipe.take() {
            // The client may have given up already; the agent carries on either way.
            let _ = pipe.write_all(notice.encode().as_bytes());
        }
    }
}

/// The client's end, waiting with a deadline.
pub struct NoticeReader {
    pipe: std::fs::File,
}

/// A pipe whose ends are both close-on-exec; the write end is moved to NOTIFY_FD in the child.
pub fn pipe() -> std::io::Result<(NoticeReader, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two fresh descriptors into the array on success.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((
        NoticeReader {
            pipe: std::fs::File::from(read),
        },
        write,
    ))
}

impl NoticeReader {
    /// The notice, or `None` when the agent closed the pipe without one (it died) or the
    /// deadline passed.
    pub fn wait(mut self, deadline: Instant) -> Option<StartNotice> {
        let mut text = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !readable(&self.pipe, left) {
                return None;
            }
            let mut chunk = [0u8; 512];
            match self.pipe.read(&mut chunk) {
                Ok(0) => return StartNotice::decode(&String::from_utf8_lossy(&text)),
                Ok(n) => {
                    text.extend_from_slice(&chunk[..n]);
                    if text.ends_with(b"\n") {
                        return StartNotice::decode(&String::from_utf8_lossy(&text));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
    }
}

fn readable(file: &std::fs::File, within: Duration) -> bool {
    let mut poll = libc::pollfd {
        fd: file.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let millis = i32::try_from(within.as_millis()).unwrap_or(i32::MAX).max(1);
    // SAFETY: one valid pollfd, its count, a timeout.
    let ready = unsafe { libc::poll(&raw mut poll, 1, millis) };
    ready > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_round_trip() {
        for notice in [
            StartNotice::Ready,
            StartNotice::Lost,
            StartNotice::Failed {
                code: Exit::Usage,
                sentence: "the key file is wrong".into(),
            },
        ] {
            assert_eq!(StartNotice::decode(&notice.encode()), Some(notice));
        }
        assert_eq!(StartNotice::decode("gibberish"), None);
    }

    #[test]
    fn a_closed_pipe_without_a_notice_is_none() {
        let (reader, writer) = pipe().unwrap();
        drop(writer);
        assert_eq!(reader.wait(Instant::now() + Duration::from_secs(1)), None);
    }
}
