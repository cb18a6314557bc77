//! The agent's log: one line per event, timestamped, on stderr (the log file for an agent
//! started on demand, the journal under a service manager). Never a secret. A leaf, so the
//! store below the agent can log without reaching up into it.

use crate::domain::Timestamp;

/// Writes one line, sanitized whole: a path or a peer's text in it reaches a terminal (an
/// agent run by hand, `tail -f agent.log`) with nothing a terminal would act on.
///
/// A line the log cannot take (its disk full, a file size limit) is dropped, never a panic:
/// `eprintln!` panics when stderr fails, and the agent must go on keeping grants then most.
pub fn line(message: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr().lock(),
        "{} jira-auth agent[{}]: {}",
        Timestamp::now().rfc3339(),
        std::process::id(),
        crate::validate::text::sanitize(&message.to_string(), crate::validate::text::BLOCK_CAP)
    );
}

/// `agent_log!("served {n} clients")`: a formatted log line.
#[macro_export]
macro_rules! agent_log {
    ($($arg:tt)*) => {
        $crate::log::line(format_args!($($arg)*))
    };
}
