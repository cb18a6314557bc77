//! What a process tells a script with its exit code (DESIGN.md, "Exit codes"), in one place:
//! every error says which [`Exit`] it is once, and the CLI, the console and the agent's wire
//! errors all read it from there.

use serde::{Deserialize, Serialize};

/// DESIGN.md's exit codes. `check` alone follows another convention (monitoring plugins').
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "u8", from = "u8")]
pub enum Exit {
    Ok,
    /// Anything not listed below.
    Failed,
    /// Bad usage or invalid input: the caller must change what it asks.
    Usage,
    /// A grant only a new consent revives.
    Reauthorize,
    /// Network, Atlassian's 5xx or 429, no agent, a busy store, a full disk: retry later.
    Temporary,
}

impl Exit {
    pub const fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Failed => 1,
            Exit::Usage => 2,
            Exit::Reauthorize => 3,
            Exit::Temporary => 4,
        }
    }

    pub fn is_temporary(self) -> bool {
        self == Exit::Temporary
    }
}

impl From<Exit> for u8 {
    fn from(exit: Exit) -> u8 {
        exit.code()
    }
}

/// A code from the wire or a child's exit status; one this build does not know is a plain
/// failure.
impl From<u8> for Exit {
    fn from(code: u8) -> Exit {
        match code {
            0 => Exit::Ok,
            2 => Exit::Usage,
            3 => Exit::Reauthorize,
            4 => Exit::Temporary,
            _ => Exit::Failed,
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> std::process::ExitCode {
        std::process::ExitCode::from(exit.code())
    }
}

/// An error that knows its exit code: the one place each error type says it.
pub trait Exits: std::fmt::Display {
    fn exit(&self) -> Exit;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_travel_as_the_numbers_design_gives() {
        for (exit, code) in [
            (Exit::Ok, 0),
            (Exit::Failed, 1),
            (Exit::Usage, 2),
            (Exit::Reauthorize, 3),
            (Exit::Temporary, 4),
        ] {
            assert_eq!(exit.code(), code);
            assert_eq!(Exit::from(code), exit);
            assert_eq!(serde_json::to_string(&exit).unwrap(), code.to_string());
        }
        assert_eq!(Exit::from(9), Exit::Failed);
    }
}
