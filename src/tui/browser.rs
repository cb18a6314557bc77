//! Opening a URL in the desktop's browser: offered only where a graphical session exists and
//! the console is not reached over SSH, and never a text browser, which would take over the
//! very terminal the console runs in.

use std::process::{Command, Stdio};

/// Browsers that draw in the terminal: `$BROWSER` set to one of these is not used.
const TEXT_BROWSERS: [&str; 6] = ["lynx", "w3m", "links", "elinks", "browsh", "links2"];

/// Whether the open-browser key makes sense here.
pub fn available(variable: impl Fn(&str) -> Option<String>) -> bool {
    let set = |name: &str| variable(name).is_some_and(|v| !v.is_empty());
    let desktop = set("DISPLAY") || set("WAYLAND_DISPLAY");
    let ssh = set("SSH_CONNECTION") || set("SSH_TTY");
    let text_browser = variable("BROWSER").is_some_and(|b| {
        let program = b
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        TEXT_BROWSERS.contains(&program.as_str())
    });
    desktop && !ssh && !text_browser
}

pub fn available_here() -> bool {
    available(|name| std::env::var(name).ok())
}

/// Starts `xdg-open URL` detached, its output discarded so it cannot draw over the console.
pub fn open(url: &str) -> Result<(), String> {
    if !available_here() {
        return Err(
            "No desktop browser here (no display, or an SSH session); copy the URL instead.".into(),
        );
    }
    Command::new("xdg-open")
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(|_| ())
        .map_err(|e| format!("Could not start the browser (xdg-open: {e}); copy the URL instead."))
}

#[cfg(test)]
mod tests {
    use super::available;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn only_a_local_desktop_with_a_graphical_browser() {
        assert!(available(env(&[("DISPLAY", ":0")])));
        assert!(available(env(&[
            ("WAYLAND_DISPLAY", "wayland-0"),
            ("BROWSER", "firefox")
        ])));
        assert!(!available(env(&[])));
        assert!(!available(env(&[
            ("DISPLAY", ":0"),
            ("SSH_CONNECTION", "1.2.3.4 5 6.7.8.9 22")
        ])));
        assert!(!available(env(&[
            ("DISPLAY", ":0"),
            ("BROWSER", "/usr/bin/w3m")
        ])));
    }
}
