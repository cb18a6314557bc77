//! Key tables. Each screen declares one table of bindings; the same table drives dispatch and
//! the help overlay, so help can never drift from what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// One key (with its modifiers) as written in a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl Key {
    pub const fn plain(code: KeyCode) -> Key {
        Key {
            code,
            modifiers: KeyModifiers::NONE,
        }
    }

    pub const fn char(c: char) -> Key {
        Key::plain(KeyCode::Char(c))
    }

    pub const fn ctrl(c: char) -> Key {
        Key {
            code: KeyCode::Char(c),
            modifiers: KeyModifiers::CONTROL,
        }
    }

    /// Shift is already folded into what terminals send (`?`, `G`, BackTab for Shift-Tab),
    /// and some add the SHIFT flag on top while others do not, so it is ignored.
    pub fn matches(&self, event: &KeyEvent) -> bool {
        event.kind != KeyEventKind::Release
            && event.code == self.code
            && event.modifiers & !KeyModifiers::SHIFT == self.modifiers
    }
}

/// A row of a key table: the keys, how help shows them, what they do, and the action.
#[derive(Clone, Copy, Debug)]
pub struct Binding<A: Copy> {
    pub keys: &'static [Key],
    pub label: &'static str,
    pub description: &'static str,
    pub action: A,
}

/// The action bound to `event` in `table`, if any.
pub fn lookup<A: Copy>(table: &[Binding<A>], event: &KeyEvent) -> Option<A> {
    table
        .iter()
        .find(|binding| binding.keys.iter().any(|key| key.matches(event)))
        .map(|binding| binding.action)
}

/// What help shows of a table: (label, description) pairs.
pub fn describe<A: Copy>(table: &[Binding<A>]) -> Vec<(&'static str, &'static str)> {
    table.iter().map(|b| (b.label, b.description)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Act {
        Quit,
        Help,
        Back,
    }

    const TABLE: &[Binding<Act>] = &[
        Binding {
            keys: &[Key::char('q'), Key::ctrl('c')],
            label: "q",
            description: "quit",
            action: Act::Quit,
        },
        Binding {
            keys: &[Key::char('?')],
            label: "?",
            description: "help",
            action: Act::Help,
        },
        Binding {
            keys: &[Key::plain(KeyCode::BackTab)],
            label: "S-Tab",
            description: "back",
            action: Act::Back,
        },
    ];

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn keys_match_as_terminals_send_them() {
        let cases = [
            (
                press(KeyCode::Char('q'), KeyModifiers::NONE),
                Some(Act::Quit),
            ),
            (
                press(KeyCode::Char('c'), KeyModifiers::CONTROL),
                Some(Act::Quit),
            ),
            (press(KeyCode::Char('c'), KeyModifiers::NONE), None),
            (
                press(KeyCode::Char('?'), KeyModifiers::SHIFT),
                Some(Act::Help),
            ),
            (press(KeyCode::Char('q'), KeyModifiers::ALT), None),
            (
                press(KeyCode::BackTab, KeyModifiers::SHIFT),
                Some(Act::Back),
            ),
            (press(KeyCode::BackTab, KeyModifiers::NONE), Some(Act::Back)),
        ];
        for (event, expected) in cases {
            assert_eq!(lookup(TABLE, &event), expected, "{event:?}");
        }
        let mut release = press(KeyCode::Char('q'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert_eq!(lookup(TABLE, &release), None);
    }

    #[test]
    fn help_lists_every_row() {
        assert_eq!(describe(TABLE).len(), TABLE.len());
    }
}
