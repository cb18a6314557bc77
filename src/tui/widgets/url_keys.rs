//! The keys every screen that shows a long URL offers on it, defined once so they mean the
//! same everywhere: `c` copies the URL, `u` shows it bare on the normal screen (one line the
//! terminal soft-wraps, so a mouse selection yields it exactly). The OSC 8 link over the
//! drawn URL needs no key: the loop links whatever the screen's `link_url` names.

use crate::tui::keymap::Key;
use crate::tui::message::Effect;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlKey {
    Copy,
    Bare,
}

impl UrlKey {
    pub const fn key(self) -> Key {
        match self {
            UrlKey::Copy => Key::char('c'),
            UrlKey::Bare => Key::char('u'),
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            UrlKey::Copy => "c",
            UrlKey::Bare => "u",
        }
    }

    /// The footer's words for the key.
    pub const fn hint(self) -> &'static str {
        match self {
            UrlKey::Copy => "copy",
            UrlKey::Bare => "bare URL",
        }
    }

    /// What pressing the key on `url` asks of the loop; `what` names the URL in the
    /// sentences that follow ("the authorization URL above is one line").
    pub fn effect(self, url: &str, what: &str) -> Effect {
        match self {
            UrlKey::Copy => Effect::Copy {
                text: url.to_owned(),
                what: what.to_owned(),
            },
            UrlKey::Bare => Effect::ShowBare {
                text: url.to_owned(),
                what: what.to_owned(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_and_bare_ask_for_the_same_url() {
        let url = "https://auth.atlassian.com/authorize?client_id=abc";
        assert_eq!(
            UrlKey::Copy.effect(url, "link"),
            Effect::Copy {
                text: url.into(),
                what: "link".into()
            }
        );
        assert_eq!(
            UrlKey::Bare.effect(url, "link"),
            Effect::ShowBare {
                text: url.into(),
                what: "link".into()
            }
        );
    }
}
