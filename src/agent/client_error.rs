//! Why a client of the agent got no answer: each variant's Display is the sentence a human
//! reads, and its exit code follows DESIGN.md.

use super::protocol::WireError;
use crate::exit::{Exit, Exits};

/// Why a client got no answer. The sentence is what a human reads.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The agent answered, with a refusal: its code and sentence.
    #[error(transparent)]
    Agent(#[from] WireError),
    /// No agent could be reached or started: temporary (exit 4).
    #[error("{0}")]
    Unavailable(String),
    /// Nothing serves this store, and this call does not start an agent.
    #[error("no agent is running for {0}")]
    NotRunning(String),
    /// The agent's process lives and holds the store, but let a deadline pass: frozen
    /// (SIGSTOP, a debugger) or hung. Temporary (exit 4): it may resume.
    #[error(
        "an agent holds the store at {data_dir} but does not answer (pid {pid}): waited {waited_secs} s for {what}. It may be finishing a refresh before it exits (try again in a minute); if it was stopped (SIGSTOP, a debugger), resume it with `kill -CONT {pid}`; if it hangs, end it with `kill {pid}` and try again (a new one starts on demand)"
    )]
    NotAnswering {
        data_dir: String,
        pid: u32,
        what: String,
        waited_secs: u64,
    },
    /// The socket is served by a process of another user: nothing was sent to it. Not
    /// temporary (exit 2): someone must remove the impostor.
    #[error(
        "the agent socket {socket} is served by uid {uid}, not by this user (uid {own}): another user may be posing as jira-auth's agent, so nothing was sent to it. Check who made it (`ls -l {socket}`), remove it, and try again"
    )]
    Impostor { socket: String, uid: u32, own: u32 },
    /// The agent answered with a reply of another kind than the request `asked` for: a bug,
    /// said plainly (and shortly: the reply may be large, and is not the client's to show
    /// whole). Built in one place, the typed calls (`calls.rs`).
    #[error(
        "the agent answered with an unexpected {reply}; stop it (`jira-auth agent stop`) and try again"
    )]
    Unexpected {
        asked: &'static str,
        /// The reply, quoted and cut short.
        reply: String,
    },
}

impl Exits for ClientError {
    fn exit(&self) -> Exit {
        match self {
            ClientError::Agent(e) => e.code,
            ClientError::Unavailable(_) | ClientError::NotAnswering { .. } => Exit::Temporary,
            ClientError::NotRunning(_) | ClientError::Unexpected { .. } => Exit::Failed,
            ClientError::Impostor { .. } => Exit::Usage,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_impostor_is_not_temporary_and_a_silent_agent_is() {
        let impostor = ClientError::Impostor {
            socket: "/d/agent.sock".into(),
            uid: 65534,
            own: 0,
        };
        assert_eq!(impostor.exit(), Exit::Usage);
        assert!(impostor.to_string().contains("served by uid 65534"));
        let silent = ClientError::NotAnswering {
            data_dir: "/d".into(),
            pid: 42,
            what: "the status".into(),
            waited_secs: 10,
        };
        assert_eq!(silent.exit(), Exit::Temporary);
        assert!(silent.to_string().contains("does not answer (pid 42)"));
        assert!(silent.to_string().contains("kill -CONT 42"));
    }
}
