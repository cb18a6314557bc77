//! The agent's log file: the lines themselves are written by [`crate::log`].

/// Keeps the log of agents started on demand from growing without end: past 1 MiB the old
/// file moves to `agent.log.1` (one generation kept) before a new agent appends.
pub fn rotate_if_large(path: &std::path::Path) {
    const LIMIT: u64 = 1024 * 1024;
    if std::fs::metadata(path).is_ok_and(|m| m.len() > LIMIT) {
        let _ = std::fs::rename(path, path.with_extension("log.1"));
    }
}
