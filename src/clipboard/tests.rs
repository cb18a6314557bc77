//! Route choice and notes of [`super::copy_with`] with a fake native clipboard and an
//! in-memory terminal: no display and no real clipboard are touched.

use std::io::{self, Write};

use super::*;

const URL: &str = "http://localhost:8765/callback";

/// A native clipboard that records what it was given and answers as told.
struct FakeNative {
    answer: Result<(), NativeError>,
    copied: Vec<String>,
}

impl FakeNative {
    fn working() -> Self {
        Self {
            answer: Ok(()),
            copied: Vec::new(),
        }
    }

    fn failing() -> Self {
        Self {
            answer: Err(NativeError::Open {
                reason: "no X server at localhost:10.0".to_owned(),
            }),
            copied: Vec::new(),
        }
    }
}

impl NativeBackend for FakeNative {
    fn set_text(&mut self, text: &str) -> Result<(), NativeError> {
        self.copied.push(text.to_owned());
        self.answer.clone()
    }
}

/// A terminal that has gone away.
struct BrokenTerminal;

impl Write for BrokenTerminal {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::new(io::ErrorKind::BrokenPipe, "broken pipe"))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn env(display: bool, ssh: bool, tmux: bool, screen: bool, terminal: bool) -> ClipboardEnv {
    ClipboardEnv {
        display,
        ssh,
        tmux,
        screen,
        terminal,
    }
}

#[test]
fn route_follows_the_environment() {
    // A table reads best one case per line.
    // (env: display, ssh, tmux, screen, terminal) native works -> route, native tried,
    // multiplexer the written OSC 52 bytes are built for.
    #[rustfmt::skip]
    let cases = [
        // Local desktop, and X11 forwarded over SSH: native, it reaches the user's screen.
        (env(true, false, false, false, true), true, CopyRoute::Native, true, None),
        (env(true, true, true, false, true), true, CopyRoute::Native, true, None),
        // Native fails: OSC 52 takes over.
        (env(true, false, false, false, true), false, CopyRoute::Osc52, true, Some(Multiplexer::None)),
        // Headless SSH: native is never opened.
        (env(false, true, false, false, true), true, CopyRoute::Osc52, false, Some(Multiplexer::None)),
        (env(false, true, true, false, true), true, CopyRoute::Osc52, false, Some(Multiplexer::Tmux)),
        (env(false, true, false, true, true), true, CopyRoute::Osc52, false, Some(Multiplexer::Screen)),
        (env(false, true, true, true, true), true, CopyRoute::Osc52, false, Some(Multiplexer::Tmux)),
        // No terminal: only the screen is left, whatever native said.
        (env(false, true, false, false, false), true, CopyRoute::ScreenOnly, false, None),
        (env(true, false, false, false, false), false, CopyRoute::ScreenOnly, true, None),
    ];
    for (env, native_works, route, native_tried, multiplexer) in cases {
        let mut native = if native_works {
            FakeNative::working()
        } else {
            FakeNative::failing()
        };
        let mut terminal = Vec::new();
        let report = copy_with(&env, &mut native, URL, &mut terminal);
        assert_eq!(report.route, route, "{env:?}");
        assert_eq!(!native.copied.is_empty(), native_tried, "{env:?}");
        if native_tried {
            assert_eq!(native.copied, [URL], "{env:?}");
        }
        let expected = multiplexer.map(|multiplexer| osc52_output(URL, multiplexer));
        assert_eq!(
            String::from_utf8(terminal).unwrap(),
            expected.unwrap_or_default(),
            "{env:?}"
        );
    }
}

#[test]
fn native_note_is_short() {
    let report = copy_with(
        &env(true, false, false, false, true),
        &mut FakeNative::working(),
        URL,
        &mut Vec::new(),
    );
    assert_eq!(report.note, "Copied to the clipboard.");
}

#[test]
fn osc52_note_tells_how_to_fall_back() {
    let report = copy_with(
        &env(false, true, false, false, true),
        &mut FakeNative::working(),
        URL,
        &mut Vec::new(),
    );
    assert_eq!(
        report.note,
        "Sent to your terminal's clipboard (OSC 52); if pasting gives nothing, your terminal \
         does not allow it: select the text on screen to copy it."
    );
}

#[test]
fn tmux_note_tells_the_settings_that_let_the_copy_through() {
    let report = copy_with(
        &env(false, true, true, false, true),
        &mut FakeNative::working(),
        URL,
        &mut Vec::new(),
    );
    assert_eq!(
        report.note,
        "Sent to your terminal's clipboard through tmux (OSC 52); if pasting gives nothing, \
         run `tmux set -g set-clipboard on` (tmux 3.3 or later: also \
         `tmux set -g allow-passthrough on`) and copy again, or select the text on screen to \
         copy it."
    );
}

#[test]
fn screen_note_names_screen() {
    let report = copy_with(
        &env(false, true, false, true, true),
        &mut FakeNative::working(),
        URL,
        &mut Vec::new(),
    );
    assert_eq!(
        report.note,
        "Sent to your terminal's clipboard through GNU screen (OSC 52); if pasting gives \
         nothing, select the text on screen to copy it."
    );
}

#[test]
fn native_failure_is_told_before_the_route_used_instead() {
    let report = copy_with(
        &env(true, false, false, false, true),
        &mut FakeNative::failing(),
        URL,
        &mut Vec::new(),
    );
    assert_eq!(report.route, CopyRoute::Osc52);
    assert!(
        report.note.starts_with(
            "The system clipboard could not be opened (no X server at localhost:10.0). \
             Sent to your terminal's clipboard (OSC 52)"
        ),
        "{}",
        report.note
    );
}

#[test]
fn screen_only_notes_say_why_and_to_select_the_text() {
    let nothing = copy_with(
        &env(false, true, false, false, false),
        &mut FakeNative::working(),
        URL,
        &mut Vec::new(),
    );
    assert_eq!(
        nothing.note,
        "No clipboard is reachable from this session: select the text on screen to copy it."
    );

    let native_failed = copy_with(
        &env(true, false, false, false, false),
        &mut FakeNative::failing(),
        URL,
        &mut Vec::new(),
    );
    assert_eq!(
        native_failed.note,
        "The system clipboard could not be opened (no X server at localhost:10.0): select the \
         text on screen to copy it."
    );

    let broken = copy_with(
        &env(true, false, false, false, true),
        &mut FakeNative::failing(),
        URL,
        &mut BrokenTerminal,
    );
    assert_eq!(broken.route, CopyRoute::ScreenOnly);
    assert_eq!(
        broken.note,
        "The system clipboard could not be opened (no X server at localhost:10.0). Could not \
         write to the terminal (broken pipe): select the text on screen to copy it."
    );
}

#[test]
fn clipboard_without_display_never_opens_the_native_one() {
    // A real Clipboard, but with no display in its env: this must not reach arboard.
    let mut clipboard = Clipboard::new(env(false, true, false, false, true));
    let mut terminal = Vec::new();
    let report = clipboard.copy(URL, &mut terminal);
    assert_eq!(report.route, CopyRoute::Osc52);
    assert_eq!(
        terminal,
        osc52_sequence(URL, Multiplexer::None).into_bytes()
    );
}

#[test]
fn clipboard_can_move_to_an_effect_task() {
    fn assert_send<T: Send>() {}
    assert_send::<Clipboard>();
}
