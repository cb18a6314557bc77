//! What this session's surroundings allow a copy to reach: a native clipboard the user can
//! see, a terminal to send OSC 52 to, and the multiplexer in between. Read once from the
//! process environment; built by hand in tests.

use std::io::IsTerminal;

/// The facts that decide how a copy travels. Every field is public so tests (and callers
/// with better knowledge) can build one by hand.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClipboardEnv {
    /// A native clipboard exists that the person at the keyboard can paste from: a local X11
    /// or Wayland session, an X11 display forwarded over SSH, or a macOS/Windows desktop.
    pub display: bool,
    /// The session came in over SSH, so "this machine" is not the user's laptop.
    pub ssh: bool,
    /// Running inside tmux (`$TMUX`).
    pub tmux: bool,
    /// Running inside GNU screen (`$STY`).
    pub screen: bool,
    /// Standard output is a terminal, so an OSC 52 sequence has somewhere to go.
    pub terminal: bool,
}

/// The terminal multiplexer an OSC 52 sequence has to get through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Multiplexer {
    #[default]
    None,
    Tmux,
    Screen,
}

impl ClipboardEnv {
    /// The environment of this process, with stdout's terminal-ness.
    pub fn from_env() -> Self {
        let variable = |name: &str| std::env::var(name).ok();
        Self::from_variables(variable, std::io::stdout().is_terminal())
    }

    /// The pure part of [`ClipboardEnv::from_env`]: `variable` looks up one environment
    /// variable; blank values count as unset, as shells and multiplexers leave them so.
    pub fn from_variables(variable: impl Fn(&str) -> Option<String>, terminal: bool) -> Self {
        let set = |name: &str| variable(name).filter(|value| !value.trim().is_empty());
        let ssh = set("SSH_CONNECTION").is_some()
            || set("SSH_TTY").is_some()
            || set("SSH_CLIENT").is_some();
        let x11 = set("DISPLAY");
        let display = if ssh {
            // Over SSH only a forwarded display (`localhost:10.0`) reaches the user's screen;
            // `:0` is the server's own desktop, and Wayland is never forwarded by ssh.
            x11.is_some_and(|display| !display.starts_with(':'))
        } else {
            x11.is_some() || set("WAYLAND_DISPLAY").is_some() || desktop_without_display()
        };
        Self {
            display,
            ssh,
            tmux: set("TMUX").is_some(),
            screen: set("STY").is_some(),
            terminal,
        }
    }

    /// The multiplexer to wrap OSC 52 for. When both variables are set (one nested in the
    /// other) the order cannot be told from the environment; tmux is the likelier inner one.
    pub fn multiplexer(&self) -> Multiplexer {
        if self.tmux {
            Multiplexer::Tmux
        } else if self.screen {
            Multiplexer::Screen
        } else {
            Multiplexer::None
        }
    }
}

/// macOS and Windows have a clipboard without `$DISPLAY`.
fn desktop_without_display() -> bool {
    cfg!(any(target_os = "macos", windows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> ClipboardEnv {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        ClipboardEnv::from_variables(
            move |name| {
                pairs
                    .iter()
                    .find(|(key, _)| key == name)
                    .map(|(_, value)| value.clone())
            },
            true,
        )
    }

    #[test]
    fn empty_environment_has_nothing_but_the_terminal() {
        let env = env_of(&[]);
        assert_eq!(env.display, desktop_without_display());
        assert!(!env.ssh && !env.tmux && !env.screen);
        assert!(env.terminal);
        assert_eq!(env.multiplexer(), Multiplexer::None);
    }

    #[test]
    fn local_x11_and_wayland_are_displays() {
        assert!(env_of(&[("DISPLAY", ":0")]).display);
        assert!(env_of(&[("WAYLAND_DISPLAY", "wayland-0")]).display);
    }

    #[test]
    fn blank_values_count_as_unset() {
        let env = env_of(&[("DISPLAY", ""), ("TMUX", " "), ("SSH_TTY", "")]);
        assert_eq!(env.display, desktop_without_display());
        assert!(!env.tmux && !env.ssh);
    }

    #[test]
    fn over_ssh_only_a_forwarded_x11_display_counts() {
        let ssh = ("SSH_CONNECTION", "10.0.0.2 51234 10.0.0.1 22");
        assert!(env_of(&[ssh, ("DISPLAY", "localhost:10.0")]).display);
        assert!(!env_of(&[ssh, ("DISPLAY", ":0")]).display);
        assert!(!env_of(&[ssh, ("WAYLAND_DISPLAY", "wayland-0")]).display);
        assert!(!env_of(&[ssh]).display);
        assert!(env_of(&[("SSH_TTY", "/dev/pts/3")]).ssh);
        assert!(env_of(&[("SSH_CLIENT", "10.0.0.2 51234 22")]).ssh);
    }

    #[test]
    fn multiplexers_are_recognized_and_tmux_wins_when_nested() {
        let tmux = ("TMUX", "/tmp/tmux-1000/default,1234,0");
        let screen = ("STY", "4321.pts-0.host");
        assert_eq!(env_of(&[tmux]).multiplexer(), Multiplexer::Tmux);
        assert_eq!(env_of(&[screen]).multiplexer(), Multiplexer::Screen);
        assert_eq!(env_of(&[screen, tmux]).multiplexer(), Multiplexer::Tmux);
    }
}
