//! Getting text to the clipboard of the person at the keyboard, who is often on a laptop with
//! the console on a server at the far end of SSH, inside tmux or GNU screen. Routes, in order:
//! the native clipboard (only where a display reaches that person), OSC 52 through the
//! terminal (wrapped for the multiplexer), and always the text selectable on screen.

use std::io::{IsTerminal, Write};

use crossterm::Command;
use crossterm::clipboard::CopyToClipboard;

/// The facts that decide how a copy travels; read once, built by hand in tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClipboardEnv {
    /// A native clipboard the user can paste from: a local X11 or Wayland session, or an
    /// X11 display forwarded over SSH.
    pub display: bool,
    pub ssh: bool,
    pub tmux: bool,
    pub screen: bool,
    /// Standard output is a terminal, so OSC 52 has somewhere to go.
    pub terminal: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Multiplexer {
    None,
    Tmux,
    Screen,
}

impl ClipboardEnv {
    pub fn from_env() -> Self {
        Self::from_variables(
            |name| std::env::var(name).ok(),
            std::io::stdout().is_terminal(),
        )
    }

    pub fn from_variables(variable: impl Fn(&str) -> Option<String>, terminal: bool) -> Self {
        let set = |name: &str| variable(name).filter(|v| !v.trim().is_empty());
        let ssh = set("SSH_CONNECTION").is_some() || set("SSH_TTY").is_some();
        let display = if ssh {
            // Over SSH only a forwarded X display (`localhost:10.0`) is the laptop's screen;
            // `:0` would be the server's own desktop, and ssh never forwards Wayland.
            set("DISPLAY").is_some_and(|d| !d.starts_with(':'))
        } else {
            set("DISPLAY").is_some() || set("WAYLAND_DISPLAY").is_some()
        };
        ClipboardEnv {
            display,
            ssh,
            tmux: set("TMUX").is_some(),
            screen: set("STY").is_some(),
            terminal,
        }
    }

    /// When both are set one runs inside the other; tmux is the likelier inner one.
    pub fn multiplexer(&self) -> Multiplexer {
        match (self.tmux, self.screen) {
            (true, _) => Multiplexer::Tmux,
            (false, true) => Multiplexer::Screen,
            (false, false) => Multiplexer::None,
        }
    }
}

/// GNU screen truncates long DCS strings, so the sequence is cut into pieces this long.
const SCREEN_CHUNK: usize = 76;

/// The bytes that ask the terminal to set its clipboard to `text`.
pub fn osc52_sequence(text: &str, multiplexer: Multiplexer) -> String {
    let mut plain = String::new();
    // Writing into a String cannot fail.
    let _ = CopyToClipboard::to_clipboard_from(text).write_ansi(&mut plain);
    match multiplexer {
        Multiplexer::None => plain,
        // tmux passes a DCS through to the outer terminal when every ESC inside is doubled.
        Multiplexer::Tmux => format!("\x1bPtmux;{}\x1b\\", plain.replace('\x1b', "\x1b\x1b")),
        Multiplexer::Screen => plain
            .as_bytes()
            .chunks(SCREEN_CHUNK)
            .map(|chunk| format!("\x1bP{}\x1b\\", String::from_utf8_lossy(chunk)))
            .collect(),
    }
}

/// Which way a copy went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyRoute {
    Native,
    Osc52,
    ScreenOnly,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyReport {
    pub route: CopyRoute,
    /// The status-line sentence: which way, and what to do if it may not have arrived.
    pub note: String,
}

/// A clipboard the process can set directly.
pub trait NativeClipboard: Send {
    fn set_text(&mut self, text: &str) -> Result<(), String>;
}

/// arboard, opened on first use and kept: on X11 a copy lives only while its owner does.
#[derive(Default)]
pub struct Arboard {
    handle: Option<arboard::Clipboard>,
}

impl NativeClipboard for Arboard {
    fn set_text(&mut self, text: &str) -> Result<(), String> {
        if self.handle.is_none() {
            self.handle = Some(arboard::Clipboard::new().map_err(|e| e.to_string())?);
        }
        match &mut self.handle {
            Some(handle) => handle.set_text(text.to_owned()).map_err(|e| e.to_string()),
            None => Err("no clipboard".into()),
        }
    }
}

pub struct Clipboard {
    env: ClipboardEnv,
    native: Box<dyn NativeClipboard>,
    /// After one failure the native route is not tried again in this session.
    native_failed: bool,
}

impl Clipboard {
    pub fn new(env: ClipboardEnv) -> Self {
        Self::with_native(env, Box::new(Arboard::default()))
    }

    pub fn with_native(env: ClipboardEnv, native: Box<dyn NativeClipboard>) -> Self {
        Clipboard {
            env,
            native,
            native_failed: false,
        }
    }

    /// Copies by the first route that can work; `terminal` receives the OSC 52 bytes.
    pub fn copy(&mut self, text: &str, terminal: &mut impl Write) -> CopyReport {
        let mut native_problem = None;
        if self.env.display && !self.native_failed {
            match self.native.set_text(text) {
                Ok(()) => {
                    return CopyReport {
                        route: CopyRoute::Native,
                        note: "copied to the clipboard.".into(),
                    };
                }
                Err(e) => {
                    self.native_failed = true;
                    native_problem = Some(crate::validate::text::sanitize(&e, 120));
                }
            }
        }
        if self.env.terminal {
            let sequence = osc52_sequence(text, self.env.multiplexer());
            if terminal
                .write_all(sequence.as_bytes())
                .and_then(|()| terminal.flush())
                .is_ok()
            {
                return CopyReport {
                    route: CopyRoute::Osc52,
                    note: self.osc52_note(native_problem),
                };
            }
        }
        let reason = native_problem
            .map(|p| format!(" (the clipboard refused: {p})"))
            .unwrap_or_default();
        CopyReport {
            route: CopyRoute::ScreenOnly,
            note: format!(
                "no clipboard reachable here{reason}; select the text on screen to copy it."
            ),
        }
    }

    fn osc52_note(&self, native_problem: Option<String>) -> String {
        let via = if self.env.ssh {
            "sent to your terminal over SSH (OSC 52)"
        } else {
            "sent to your terminal (OSC 52)"
        };
        let mut note = format!("{via}; if it did not arrive, select the text on screen.");
        match self.env.multiplexer() {
            Multiplexer::Tmux => note.push_str(
                " Under tmux, enable it with `set -g set-clipboard on` (tmux 3.3+: also `set -g allow-passthrough on`).",
            ),
            Multiplexer::Screen => note.push_str(" GNU screen passes it on in pieces; some terminals need it allowed."),
            Multiplexer::None => {}
        }
        if let Some(problem) = native_problem {
            note.push_str(&format!(" (The desktop clipboard refused: {problem}.)"));
        }
        note
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)], terminal: bool) -> ClipboardEnv {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        ClipboardEnv::from_variables(
            move |name| {
                pairs
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            },
            terminal,
        )
    }

    struct Fake {
        result: Result<(), String>,
        copies: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    }

    impl NativeClipboard for Fake {
        fn set_text(&mut self, text: &str) -> Result<(), String> {
            self.copies.lock().unwrap().push(text.to_owned());
            self.result.clone()
        }
    }

    fn clipboard(
        env: ClipboardEnv,
        result: Result<(), String>,
    ) -> (Clipboard, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        let copies = std::sync::Arc::default();
        let fake = Fake {
            result,
            copies: std::sync::Arc::clone(&copies),
        };
        (Clipboard::with_native(env, Box::new(fake)), copies)
    }

    #[test]
    fn osc52_bytes_for_plain_tmux_and_screen() {
        assert_eq!(
            osc52_sequence("hi", Multiplexer::None),
            "\x1b]52;c;aGk=\x1b\\"
        );
        assert_eq!(
            osc52_sequence("hi", Multiplexer::Tmux),
            "\x1bPtmux;\x1b\x1b]52;c;aGk=\x1b\x1b\\\x1b\\"
        );
        let long = "http://localhost:8717/callback?".repeat(6);
        let plain = osc52_sequence(&long, Multiplexer::None);
        let screen = osc52_sequence(&long, Multiplexer::Screen);
        let chunks: Vec<&str> = screen.split("\x1bP").filter(|c| !c.is_empty()).collect();
        assert!(chunks.len() > 2, "a long text needs several screen chunks");
        let rejoined: String = chunks
            .iter()
            .map(|c| c.strip_suffix("\x1b\\").unwrap())
            .collect();
        assert_eq!(rejoined, plain);
        assert!(chunks.iter().all(|c| c.len() <= SCREEN_CHUNK + 2));
    }

    #[test]
    fn environment_decides_the_display() {
        assert!(env(&[("DISPLAY", ":0")], true).display);
        assert!(env(&[("WAYLAND_DISPLAY", "wayland-0")], true).display);
        let ssh = ("SSH_CONNECTION", "10.0.0.2 5000 10.0.0.1 22");
        assert!(!env(&[ssh, ("DISPLAY", ":0")], true).display);
        assert!(env(&[ssh, ("DISPLAY", "localhost:10.0")], true).display);
        assert_eq!(
            env(&[("TMUX", "/tmp/t,1,0"), ("STY", "1.pts")], true).multiplexer(),
            Multiplexer::Tmux
        );
    }

    #[test]
    fn native_first_then_osc52_then_the_screen() {
        let (mut board, copies) = clipboard(env(&[("DISPLAY", ":0")], true), Ok(()));
        let mut out = Vec::new();
        assert_eq!(board.copy("x", &mut out).route, CopyRoute::Native);
        assert!(out.is_empty() && copies.lock().unwrap().len() == 1);

        let (mut board, _) = clipboard(env(&[("DISPLAY", ":0")], true), Err("no X".into()));
        let report = board.copy("x", &mut out);
        assert_eq!(report.route, CopyRoute::Osc52);
        assert!(report.note.contains("no X"));
        assert!(String::from_utf8_lossy(&out).starts_with("\x1b]52;c;"));

        let (mut board, copies) = clipboard(
            env(
                &[("SSH_CONNECTION", "a 1 b 22"), ("TMUX", "/tmp/t,1,0")],
                true,
            ),
            Ok(()),
        );
        let report = board.copy("x", &mut Vec::new());
        assert_eq!(report.route, CopyRoute::Osc52);
        assert!(
            copies.lock().unwrap().is_empty(),
            "no display over SSH: the native route is skipped"
        );
        assert!(report.note.contains("set-clipboard on") && report.note.contains("over SSH"));

        let (mut board, _) = clipboard(env(&[], false), Ok(()));
        let report = board.copy("x", &mut Vec::new());
        assert_eq!(report.route, CopyRoute::ScreenOnly);
        assert!(report.note.contains("select the text on screen"));
    }
}
