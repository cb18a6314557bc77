//! What the accept loop does when `accept` fails. A failure of one connection (reset before
//! it was taken) is skipped; running out of descriptors or memory would fail again at once,
//! so the loop backs off (doubling, up to a second) and says so once per episode, leaving new
//! connections in the kernel's queue until some close.

use std::io;
use std::time::Duration;

const FIRST_PAUSE: Duration = Duration::from_millis(10);
const LONGEST_PAUSE: Duration = Duration::from_secs(1);

/// The accept loop's state between failures.
#[derive(Debug, Default)]
pub struct AcceptTrouble {
    /// The pause after the next failure, while an episode lasts.
    pause: Option<Duration>,
}

/// What to do about one failed `accept`.
#[derive(Debug, PartialEq, Eq)]
pub struct Response {
    /// Wait this long before accepting again.
    pub pause: Duration,
    /// Log this, the first time of an episode.
    pub log: Option<String>,
}

impl AcceptTrouble {
    /// `open_files` is the limit in force, for the sentence.
    pub fn failed(&mut self, error: &io::Error, open_files: u64) -> Response {
        if is_one_connection(error) {
            return Response {
                pause: Duration::ZERO,
                log: None,
            };
        }
        let log = self.pause.is_none().then(|| match error.raw_os_error() {
            Some(libc::EMFILE | libc::ENFILE) => format!(
                "out of open files (the limit is {open_files}): new connections wait until some close; raise LimitNOFILE (systemd) or ulimit -n"
            ),
            _ => format!("cannot accept connections ({error}); retrying"),
        });
        let pause = self.pause.unwrap_or(FIRST_PAUSE);
        self.pause = Some((pause * 2).min(LONGEST_PAUSE));
        Response { pause, log }
    }

    /// A connection was accepted: the episode, if one ran, is over; its end is worth a line.
    pub fn accepted(&mut self) -> Option<&'static str> {
        self.pause.take().map(|_| "accepting connections again")
    }
}

/// Failures that belong to one pending connection, not to the listener or the process.
fn is_one_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    ) || matches!(error.raw_os_error(), Some(libc::EPROTO | libc::EPERM))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_out_of_descriptors_logs_once_and_backs_off_up_to_a_second() {
        let mut trouble = AcceptTrouble::default();
        let emfile = io::Error::from_raw_os_error(libc::EMFILE);
        let first = trouble.failed(&emfile, 1024);
        assert_eq!(first.pause, FIRST_PAUSE);
        assert!(
            first
                .log
                .as_deref()
                .is_some_and(|l| l.contains("out of open files (the limit is 1024)")),
            "{first:?}"
        );
        let mut pauses = vec![first.pause];
        for _ in 0..20 {
            let next = trouble.failed(&emfile, 1024);
            assert_eq!(next.log, None, "one line per episode");
            pauses.push(next.pause);
        }
        assert!(pauses.windows(2).all(|w| w[0] <= w[1]), "{pauses:?}");
        assert_eq!(pauses.last(), Some(&LONGEST_PAUSE));
        assert_eq!(trouble.accepted(), Some("accepting connections again"));
        assert_eq!(trouble.accepted(), None);
        // A new episode is told again, from the shortest pause.
        let again = trouble.failed(&io::Error::from_raw_os_error(libc::ENFILE), 1024);
        assert_eq!(again.pause, FIRST_PAUSE);
        assert!(again.log.is_some());
    }

    #[test]
    fn a_connection_reset_before_it_was_taken_is_skipped_without_a_pause() {
        let mut trouble = AcceptTrouble::default();
        for error in [
            io::Error::from(io::ErrorKind::ConnectionAborted),
            io::Error::from_raw_os_error(libc::ECONNABORTED),
            io::Error::from_raw_os_error(libc::EPROTO),
        ] {
            assert_eq!(
                trouble.failed(&error, 1024),
                Response {
                    pause: Duration::ZERO,
                    log: None
                }
            );
        }
        assert_eq!(trouble.accepted(), None);
    }
}
