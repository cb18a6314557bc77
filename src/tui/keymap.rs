//! Key tables. Each screen declares one table of bindings; the same table drives dispatch,
//! the help overlay and the footer (through each action's [`Hint`]), so neither help nor a
//! footer can drift from what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::style::Style;
use ratatui::text::Span;

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

/// What a footer says a table's action does: the word or two after its key, "save" in
/// "Ctrl-S save". Each screen implements it for its action type beside its table, so one
/// word serves every footer and in-screen key line that names the binding.
pub trait Hint: Copy + PartialEq {
    fn hint(self) -> &'static str;
}

impl<A: Copy> Binding<A> {
    /// The key a footer names: the first of the label's keys ("Enter" of "Enter s").
    pub fn short_label(&self) -> &'static str {
        self.label.split(' ').next().unwrap_or(self.label)
    }
}

/// One item of a footer: keys and what they do, or a prompt alone ("type a name").
#[derive(Clone, Debug, PartialEq, Eq)]
struct HintItem {
    /// Empty for a prompt.
    keys: String,
    words: &'static str,
}

/// A footer line, or an in-screen line of keys, built from key tables: a screen picks the
/// bindings its current state offers, and the labels and words come from the table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Footer {
    items: Vec<HintItem>,
}

impl Footer {
    pub fn new() -> Footer {
        Footer::default()
    }

    /// Words that name no key: what to type.
    pub fn prompt(mut self, words: &'static str) -> Footer {
        self.items.push(HintItem {
            keys: String::new(),
            words,
        });
        self
    }

    /// Keys that no table holds, such as a confirmation's "any other key".
    pub fn item(mut self, keys: impl Into<String>, words: &'static str) -> Footer {
        self.items.push(HintItem {
            keys: keys.into(),
            words,
        });
        self
    }

    /// The bindings of `shown`, in that order, found in `table` by action. Neighbours with
    /// the same words share one item: `↑` and `↓` that both "select" read "↑↓ select".
    pub fn keys<A: Hint>(mut self, table: &[Binding<A>], shown: &[A]) -> Footer {
        let start = self.items.len();
        for &action in shown {
            let Some(binding) = table.iter().find(|b| b.action == action) else {
                continue;
            };
            let (key, words) = (binding.short_label(), action.hint());
            let merges = self.items.len() > start;
            match self.items.last_mut() {
                Some(last) if merges && last.words == words => {
                    let glyphs = last.keys.chars().count() == 1 && key.chars().count() == 1;
                    if !glyphs {
                        last.keys.push('/');
                    }
                    last.keys.push_str(key);
                }
                _ => self.items.push(HintItem {
                    keys: key.to_owned(),
                    words,
                }),
            }
        }
        self
    }

    /// The keys every screen has. Inside a text field only the ones that still work there
    /// are named (F1, Ctrl-C); outside, the one-key forms (`?`, `q`).
    pub fn global(self, typing: bool, shown: &[Global]) -> Footer {
        let table = if typing {
            &GLOBAL_KEYS[..GLOBAL_WHILE_TYPING]
        } else {
            &GLOBAL_KEYS[GLOBAL_WHILE_TYPING..]
        };
        self.keys(table, shown)
    }

    /// The footer as one line: "↑↓ select · Enter edit · Esc back".
    pub fn line(&self) -> String {
        self.items
            .iter()
            .map(|item| {
                if item.keys.is_empty() {
                    item.words.to_owned()
                } else {
                    format!("{} {}", item.keys, item.words)
                }
            })
            .collect::<Vec<_>>()
            .join(" · ")
    }

    /// The same line as spans, the keys in `key` style, for key lines inside a screen.
    pub fn spans(&self, key: Style) -> Vec<Span<'static>> {
        let mut spans = Vec::new();
        for (index, item) in self.items.iter().enumerate() {
            let separator = if index == 0 { "" } else { " · " };
            if item.keys.is_empty() {
                spans.push(Span::raw(format!("{separator}{}", item.words)));
            } else {
                spans.push(Span::raw(separator));
                spans.push(Span::styled(item.keys.clone(), key));
                spans.push(Span::raw(format!(" {}", item.words)));
            }
        }
        spans
    }
}

/// The actions of the keys that work on every screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Global {
    Quit,
    Help,
}

impl Hint for Global {
    fn hint(self) -> &'static str {
        match self {
            Global::Quit => "quit",
            Global::Help => "help",
        }
    }
}

/// Keys that work on every screen. The first [`GLOBAL_WHILE_TYPING`] rows work even while a
/// text field has focus; `q` and `?` then belong to the field. `tui::app` dispatches on this
/// table and help and footers describe it.
pub const GLOBAL_KEYS: &[Binding<Global>] = &[
    Binding {
        keys: &[Key::ctrl('c')],
        label: "Ctrl-C",
        description: "quit now",
        action: Global::Quit,
    },
    Binding {
        keys: &[Key::plain(KeyCode::F(1))],
        label: "F1",
        description: "this help",
        action: Global::Help,
    },
    Binding {
        keys: &[Key::char('?')],
        label: "?",
        description: "this help (outside text fields)",
        action: Global::Help,
    },
    Binding {
        keys: &[Key::char('q')],
        label: "q",
        description: "quit (outside text fields)",
        action: Global::Quit,
    },
];
pub const GLOBAL_WHILE_TYPING: usize = 2;

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

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Move {
        Up,
        Down,
        Save,
        Back,
    }

    impl Hint for Move {
        fn hint(self) -> &'static str {
            match self {
                Move::Up | Move::Down => "select",
                Move::Save => "save",
                Move::Back => "back",
            }
        }
    }

    const MOVES: &[Binding<Move>] = &[
        Binding {
            keys: &[Key::plain(KeyCode::Up), Key::char('k')],
            label: "↑ k",
            description: "previous",
            action: Move::Up,
        },
        Binding {
            keys: &[Key::plain(KeyCode::Down), Key::char('j')],
            label: "↓ j",
            description: "next",
            action: Move::Down,
        },
        Binding {
            keys: &[Key::ctrl('s')],
            label: "Ctrl-S",
            description: "save",
            action: Move::Save,
        },
        Binding {
            keys: &[Key::plain(KeyCode::Esc)],
            label: "Esc",
            description: "back",
            action: Move::Back,
        },
    ];

    #[test]
    fn footers_name_the_picked_bindings_in_the_order_given() {
        let footer = Footer::new()
            .prompt("type a name")
            .keys(MOVES, &[Move::Up, Move::Down, Move::Back, Move::Save])
            .global(false, &[Global::Help, Global::Quit]);
        assert_eq!(
            footer.line(),
            "type a name · ↑↓ select · Esc back · Ctrl-S save · ? help · q quit"
        );
        assert_eq!(
            Footer::new()
                .keys(MOVES, &[Move::Save])
                .global(true, &[Global::Help])
                .line(),
            "Ctrl-S save · F1 help"
        );
        let spans = Footer::new()
            .keys(MOVES, &[Move::Save, Move::Back])
            .spans(Style::new());
        let text: String = spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, "Ctrl-S save · Esc back");
    }

    #[test]
    fn only_neighbours_with_the_same_words_merge() {
        assert_eq!(
            Footer::new()
                .keys(MOVES, &[Move::Up, Move::Back, Move::Down])
                .line(),
            "↑ select · Esc back · ↓ select"
        );
        let merged = Footer::new()
            .item("Tab", "select")
            .keys(MOVES, &[Move::Up])
            .line();
        assert_eq!(
            merged, "Tab select · ↑ select",
            "items from elsewhere stay apart"
        );
    }

    #[test]
    fn the_global_keys_are_the_ones_the_app_dispatches() {
        use crate::atlassian::Endpoints;
        use crate::domain::Timestamp;
        use crate::tui::app::{App, update};
        use crate::tui::message::Msg;
        use crate::tui::theme::Theme;

        let app = || {
            App::new(
                Theme::monochrome(),
                Endpoints::default(),
                String::new(),
                Timestamp(0),
            )
        };
        assert!(app().help_rows().ends_with(&describe(GLOBAL_KEYS)));
        for binding in GLOBAL_KEYS {
            let mut app = app();
            let key = binding.keys[0];
            update(&mut app, Msg::Key(KeyEvent::new(key.code, key.modifiers)));
            let did = match binding.action {
                Global::Quit => app.quit,
                Global::Help => app.help_open,
            };
            assert!(did, "{} does not {}", binding.label, binding.action.hint());
        }
    }
}
