//! Copying the callback and authorization URLs to the user's clipboard, also from a headless
//! server over SSH: the native clipboard when a display reaches the user, else OSC 52 to the
//! terminal (through tmux or GNU screen), else the text stays on screen to be selected.

mod env;
mod native;
mod osc52;
mod report;

use std::io::Write;

pub use env::{ClipboardEnv, Multiplexer};
pub use native::{NativeBackend, NativeError, SystemClipboard};
pub use osc52::{SCREEN_CHUNK_BYTES, osc52_output, osc52_sequence};
pub use report::{CopyReport, CopyRoute};

/// The console's one clipboard: keep it for the whole session, because on X11 a copy is
/// forgotten as soon as the handle that made it is dropped.
pub struct Clipboard {
    env: ClipboardEnv,
    native: SystemClipboard,
}

impl Clipboard {
    /// Nothing is opened yet: the native clipboard is opened on the first copy that needs it.
    pub fn new(env: ClipboardEnv) -> Self {
        Self {
            env,
            native: SystemClipboard::new(),
        }
    }

    /// [`Clipboard::new`] with this process's environment.
    pub fn from_env() -> Self {
        Self::new(ClipboardEnv::from_env())
    }

    pub fn env(&self) -> &ClipboardEnv {
        &self.env
    }

    /// Copies `text` by the best route this session has; see [`copy_with`]. `terminal` is
    /// where OSC 52 goes: the console's own output, written between two frames.
    pub fn copy(&mut self, text: &str, terminal: &mut impl Write) -> CopyReport {
        copy_with(&self.env, &mut self.native, text, terminal)
    }
}

/// The route choice, with the native clipboard injected:
/// 1. `native`, when `env.display` says a native clipboard reaches the user. Over SSH without
///    a forwarded display it is not even opened: it would be the server's, or hang on a
///    display that is not there.
/// 2. OSC 52 written to `terminal` and flushed, when stdout is a terminal.
/// 3. Screen only.
///
/// A failure on one route is told in the note and the next route is tried; nothing panics.
pub fn copy_with(
    env: &ClipboardEnv,
    native: &mut impl NativeBackend,
    text: &str,
    terminal: &mut impl Write,
) -> CopyReport {
    let native_error = if env.display {
        match native.set_text(text) {
            Ok(()) => return CopyReport::native(),
            Err(error) => Some(error),
        }
    } else {
        None
    };
    if !env.terminal {
        return CopyReport::screen_only(native_error.as_ref(), None);
    }
    let multiplexer = env.multiplexer();
    let output = osc52_output(text, multiplexer);
    match terminal
        .write_all(output.as_bytes())
        .and_then(|()| terminal.flush())
    {
        Ok(()) => CopyReport::osc52(native_error.as_ref(), multiplexer),
        Err(error) => CopyReport::screen_only(native_error.as_ref(), Some(&error)),
    }
}

#[cfg(test)]
mod tests;
