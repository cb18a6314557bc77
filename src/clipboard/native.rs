//! The native clipboard (X11, or macOS/Windows) behind a small trait, so the choice of
//! route can be tested without a display. Owns the one long-lived arboard handle.

use thiserror::Error;

/// Somewhere a copy can be put directly: arboard in the console, a fake in tests.
pub trait NativeBackend {
    /// Puts `text` on the clipboard, or says why it could not.
    fn set_text(&mut self, text: &str) -> Result<(), NativeError>;
}

/// Why the native clipboard did not take the text; the Display is the clause the status line
/// shows before saying which route was used instead.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum NativeError {
    #[error("the system clipboard could not be opened ({reason})")]
    Open { reason: String },
    #[error("the system clipboard refused the text ({reason})")]
    Set { reason: String },
}

/// The system clipboard through arboard, opened on first use and then kept: on X11 a copy
/// lives only as long as the handle that made it, because the owner must answer every paste.
#[derive(Default)]
pub struct SystemClipboard {
    handle: Option<arboard::Clipboard>,
    /// Set when opening failed: with a dead or unreachable display every new attempt can
    /// take a connection timeout, so the console does not pay it on every copy.
    open_error: Option<NativeError>,
}

impl SystemClipboard {
    pub fn new() -> Self {
        Self::default()
    }
}

impl NativeBackend for SystemClipboard {
    fn set_text(&mut self, text: &str) -> Result<(), NativeError> {
        if let Some(error) = &self.open_error {
            return Err(error.clone());
        }
        let handle = match &mut self.handle {
            Some(handle) => handle,
            None => match arboard::Clipboard::new() {
                Ok(handle) => self.handle.insert(handle),
                Err(error) => {
                    let error = NativeError::Open {
                        reason: reason_of(&error),
                    };
                    self.open_error = Some(error.clone());
                    return Err(error);
                }
            },
        };
        handle.set_text(text).map_err(|error| {
            // A handle whose connection broke stays broken; the next copy opens a fresh one.
            self.handle = None;
            NativeError::Set {
                reason: reason_of(&error),
            }
        })
    }
}

/// arboard's sentences end with a full stop and can be long; the status line wants a clause.
fn reason_of(error: &arboard::Error) -> String {
    const LIMIT: usize = 120;
    let reason = error.to_string();
    let reason = reason.trim().trim_end_matches('.');
    match reason.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}…", &reason[..cut]),
        None => reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_lose_the_full_stop_and_are_capped() {
        assert_eq!(
            reason_of(&arboard::Error::ClipboardOccupied),
            "The native clipboard is not accessible due to being held by another party"
        );
        let long = arboard::Error::Unknown {
            description: "x".repeat(500),
        };
        assert_eq!(reason_of(&long).chars().count(), 121);
    }

    #[test]
    fn native_errors_read_as_clauses() {
        let error = NativeError::Open {
            reason: "no X server".to_owned(),
        };
        assert_eq!(
            error.to_string(),
            "the system clipboard could not be opened (no X server)"
        );
    }
}
