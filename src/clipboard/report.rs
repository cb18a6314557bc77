//! What a copy tells the user: which route carried the text and, when it may not have
//! arrived, what to do about it. Pure: the sentences are built here and nowhere else.

use super::env::Multiplexer;
use super::native::NativeError;

/// The way a copy went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyRoute {
    /// Put on the system clipboard (local desktop or forwarded X11 display).
    Native,
    /// Sent to the terminal as OSC 52; whether the terminal honoured it cannot be known.
    Osc52,
    /// Nothing reachable: the text stays on screen for the user to select.
    ScreenOnly,
}

/// The outcome of one copy, ready for the status line.
// Dropping it leaves the user guessing whether anything was copied.
#[must_use]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyReport {
    pub route: CopyRoute,
    /// One or two sentences for the status line: the route taken and, when the copy may
    /// have been dropped, the fix.
    pub note: String,
}

const SELECT_ON_SCREEN: &str = "select the text on screen to copy it";

impl CopyReport {
    pub(super) fn native() -> Self {
        Self {
            route: CopyRoute::Native,
            note: "Copied to the clipboard.".to_owned(),
        }
    }

    pub(super) fn osc52(native_error: Option<&NativeError>, multiplexer: Multiplexer) -> Self {
        let sent = match multiplexer {
            Multiplexer::None => format!(
                "Sent to your terminal's clipboard (OSC 52); if pasting gives nothing, \
                 your terminal does not allow it: {SELECT_ON_SCREEN}."
            ),
            // tmux drops application copies by default, and the fix is one command away.
            Multiplexer::Tmux => format!(
                "Sent to your terminal's clipboard through tmux (OSC 52); if pasting gives \
                 nothing, run `tmux set -g set-clipboard on` (tmux 3.3 or later: also \
                 `tmux set -g allow-passthrough on`) and copy again, or {SELECT_ON_SCREEN}."
            ),
            Multiplexer::Screen => format!(
                "Sent to your terminal's clipboard through GNU screen (OSC 52); if pasting \
                 gives nothing, {SELECT_ON_SCREEN}."
            ),
        };
        Self {
            route: CopyRoute::Osc52,
            note: format!("{}{sent}", failure_prefix(native_error)),
        }
    }

    /// `write_error` is why OSC 52 could not be sent; `None` when there was no terminal to
    /// send it to.
    pub(super) fn screen_only(
        native_error: Option<&NativeError>,
        write_error: Option<&std::io::Error>,
    ) -> Self {
        let why = match (native_error, write_error) {
            (_, Some(error)) => format!(
                "{}Could not write to the terminal ({error})",
                failure_prefix(native_error)
            ),
            (Some(error), None) => capitalized(&error.to_string()),
            (None, None) => "No clipboard is reachable from this session".to_owned(),
        };
        Self {
            route: CopyRoute::ScreenOnly,
            note: format!("{why}: {SELECT_ON_SCREEN}."),
        }
    }
}

/// The native failure as a sentence of its own, before the route that was used instead.
fn failure_prefix(native_error: Option<&NativeError>) -> String {
    native_error
        .map(|error| format!("{}. ", capitalized(&error.to_string())))
        .unwrap_or_default()
}

fn capitalized(clause: &str) -> String {
    let mut characters = clause.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}
