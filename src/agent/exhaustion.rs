//! Out of descriptors: the agent keeps one spare (a handle on /dev/null) so that when
//! accept fails with EMFILE or ENFILE it can free it, take the waiting connection, tell the
//! client why in one frame, close it and take the spare back: the classic trick (libev,
//! nginx). Without it the listener stays readable, accept fails in a loop, and clients wait
//! in the backlog until they give up with a wrong guess.

use std::fs::File;
use std::path::Path;
use std::time::Duration;

use bytes::BytesMut;
use tokio::net::UnixListener;
use tokio_util::codec::Encoder;

use super::protocol::{self, AgentFrame};

/// The reserved descriptor.
pub(super) struct Spare(Option<File>);

impl Spare {
    pub fn reserve() -> Spare {
        Spare(File::open("/dev/null").ok())
    }

    /// Answers one waiting client with the reason when `error` says the descriptors ran
    /// out; `false` when it could not (another error, or no spare), so the caller backs off.
    pub async fn turn_away(
        &mut self,
        listener: &UnixListener,
        error: &std::io::Error,
        data_dir: &Path,
        pid: u32,
    ) -> bool {
        if !matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) {
            return false;
        }
        let Some(spare) = self.0.take() else {
            // Taken back by someone else last time: try again, and back off meanwhile.
            *self = Spare::reserve();
            return false;
        };
        drop(spare);
        let answered =
            match tokio::time::timeout(Duration::from_millis(50), listener.accept()).await {
                Ok(Ok((stream, _))) => {
                    // One small frame fits any socket buffer: a failed write only means the
                    // client left first.
                    let _ = stream.try_write(&refusal(data_dir, pid));
                    true
                }
                _ => false,
            };
        *self = Spare::reserve();
        answered
    }
}

fn refusal(data_dir: &Path, pid: u32) -> BytesMut {
    let sentence = format!(
        "the agent of {} (pid {}) is out of file descriptors, so it cannot take this connection; close clients that are not needed, or raise its limit (`ulimit -n` where it starts, `LimitNOFILE=` under systemd) and restart it (`jira-auth agent stop`)",
        data_dir.display(),
        pid
    );
    // Plain data with string keys: serializing cannot fail.
    let body = serde_json::to_vec(&AgentFrame::Refused { sentence })
        .unwrap_or_else(|e| unreachable!("frames serialize: {e}"));
    let mut frame = BytesMut::new();
    // The sentence is far below the frame limit, the only way encoding fails.
    let _ = protocol::codec().encode(bytes::Bytes::from(body), &mut frame);
    frame
}
