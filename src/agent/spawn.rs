//! Starting an agent on demand: the same binary as `jira-auth agent --on-demand`, detached
//! into its own session, stdin from /dev/null, stdout and stderr appended to the log in the
//! data directory, and no descriptor of its caller but the start-up pipe, which it closes as
//! soon as it has said how it went. A caller's captured output therefore closes when the
//! caller exits, however long the agent lives.

use crate::exit::Exit;
use std::os::fd::AsRawFd;
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use super::notify::{self, NOTIFY_FD, StartNotice};
use super::paths::{AgentPaths, LOG_NAME, SOCKET_NAME};
use crate::store::{Expected, NotPrivate};

/// What the agent keeps in the data directory beside the store's own files.
const AGENT_FILES: [(&str, Expected); 4] = [
    (SOCKET_NAME, Expected::Socket("socket")),
    ("agent.lock", Expected::File("lock")),
    (LOG_NAME, Expected::File("log")),
    ("agent.log.1", Expected::File("old log")),
];

/// The data directory and everything the agent and the store keep in it must be this
/// user's alone: checked by the starting client before it creates the log, and by the agent
/// before it opens the store.
pub(super) fn check_data_dir(paths: &AgentPaths) -> Result<(), NotPrivate> {
    crate::store::check_data_dir(paths.data_dir(), &AGENT_FILES)
}

/// How a start went, as far as the starting client can tell.
#[derive(Debug)]
pub enum Started {
    /// An agent (this one or a rival that won the store) should answer on the socket now.
    Serving,
    /// The agent could not serve; its code and sentence.
    Failed { code: Exit, sentence: String },
    /// It said nothing in time, or died without a word.
    Silent,
}

pub fn start(paths: &AgentPaths, deadline: Instant) -> std::io::Result<Started> {
    if let Err(refused) = check_data_dir(paths) {
        return Ok(Started::Failed {
            code: Exit::Usage,
            sentence: refused.to_string(),
        });
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(paths.data_dir())?;
    super::log::rotate_if_large(&paths.log());
    let log = crate::store::private_file()
        .create(true)
        .append(true)
        .open(paths.log())?;
    let (reader, writer) = notify::pipe()?;
    let exe = std::env::current_exe()?;
    let mut command = Command::new(exe);
    command
        .arg("--data-dir")
        .arg(paths.data_dir())
        .args(["agent", "--on-demand", "--notify-fd"])
        .arg(NOTIFY_FD.to_string())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    let write_fd = writer.as_raw_fd();
    // SAFETY: only async-signal-safe calls (setsid, dup2, close_range/close) run between
    // fork and exec, on descriptors this process owns.
    unsafe {
        command.pre_exec(move || detach(write_fd));
    }
    let child = command.spawn()?;
    drop(writer);
    reap_later(child);
    Ok(match reader.wait(deadline) {
        Some(StartNotice::Ready | StartNotice::Lost) => Started::Serving,
        Some(StartNotice::Failed { code, sentence }) => Started::Failed { code, sentence },
        None => Started::Silent,
    })
}

/// In the child: a session of its own (no controlling terminal, no signals from the
/// caller's terminal), the notice pipe at NOTIFY_FD, and every other inherited descriptor
/// above the standard three closed, close-on-exec or not.
fn detach(write_fd: i32) -> std::io::Result<()> {
    // SAFETY (whole function): plain syscalls on integers, allowed between fork and exec.
    unsafe {
        if libc::setsid() < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if write_fd == NOTIFY_FD {
            // dup2 onto itself would keep close-on-exec set: clear it instead.
            let flags = libc::fcntl(NOTIFY_FD, libc::F_GETFD);
            libc::fcntl(NOTIFY_FD, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
        } else if libc::dup2(write_fd, NOTIFY_FD) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let first = u32::try_from(NOTIFY_FD + 1).unwrap_or(4);
        if libc::syscall(libc::SYS_close_range, first, u32::MAX, 0) != 0 {
            // Kernels before 5.9: close what the descriptor limit allows, one by one.
            let limit = match libc::sysconf(libc::_SC_OPEN_MAX) {
                n if n > 0 => i32::try_from(n.min(65_536)).unwrap_or(65_536),
                _ => 1024,
            };
            for fd in (NOTIFY_FD + 1)..limit {
                libc::close(fd);
            }
        }
    }
    Ok(())
}

/// The agent is our child until we exit: wait for it on a thread so a long-lived caller
/// (the console) leaves no zombie when the agent exits first.
fn reap_later(mut child: Child) {
    let _ = std::thread::Builder::new()
        .name("agent-reaper".into())
        .spawn(move || {
            let _ = child.wait();
        });
}
