//! A yes/no question that takes the next key: `y` says yes, any other key says no, and the
//! question is gone either way. The prompt and the footer name the key from one table.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use crate::tui::keymap::{self, Binding, Footer, Key};
use crate::tui::theme::Theme;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    Yes,
}

const KEYS: &[Binding<Answer>] = &[Binding {
    keys: &[Key::char('y'), Key::char('Y')],
    label: "y",
    description: "yes",
    action: Answer::Yes,
}];

/// What no key of the table is: the answer "no".
const ANY_OTHER_KEY: &str = "any other key";

/// A pending question about `subject` (the profile to delete, or nothing), handed back on yes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confirm<T> {
    question: String,
    /// What yes does, as a verb phrase: "delete", "drop them".
    yes: &'static str,
    /// What no does: "keep it".
    no: &'static str,
    subject: T,
}

impl<T> Confirm<T> {
    pub fn new(
        question: impl Into<String>,
        yes: &'static str,
        no: &'static str,
        subject: T,
    ) -> Self {
        Confirm {
            question: question.into(),
            yes,
            no,
            subject,
        }
    }

    /// The subject when `key` says yes, `None` for any other key. The question is answered
    /// either way, so it is consumed.
    pub fn answer(self, key: &KeyEvent) -> Option<T> {
        (keymap::lookup(KEYS, key) == Some(Answer::Yes)).then_some(self.subject)
    }

    /// "Delete the profile "x"? Press y to delete, any other key to keep it."
    pub fn prompt(&self) -> String {
        let yes = KEYS[0].short_label();
        format!(
            "{} Press {yes} to {}, {ANY_OTHER_KEY} to {}.",
            self.question, self.yes, self.no
        )
    }

    /// The footer while the question waits: "y delete · any other key keep it".
    pub fn footer(&self) -> Footer {
        let yes = KEYS[0].short_label();
        Footer::new()
            .item(yes, self.yes)
            .item(ANY_OTHER_KEY, self.no)
    }

    /// The prompt in the warning style, wrapped to `area`.
    pub fn render(&self, frame: &mut Frame, area: Rect, theme: Theme) {
        frame.render_widget(
            Paragraph::new(Line::styled(self.prompt(), theme.warn())).wrap(Wrap { trim: true }),
            area,
        );
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyModifiers};

    use super::*;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    fn delete() -> Confirm<&'static str> {
        Confirm::new("Delete the profile \"acme\"?", "delete", "keep it", "acme")
    }

    #[test]
    fn y_says_yes_and_any_other_key_no() {
        let yes = [
            press(KeyCode::Char('y'), KeyModifiers::NONE),
            press(KeyCode::Char('Y'), KeyModifiers::SHIFT),
        ];
        for key in yes {
            assert_eq!(delete().answer(&key), Some("acme"), "{key:?}");
        }
        let no = [
            press(KeyCode::Char('n'), KeyModifiers::NONE),
            press(KeyCode::Enter, KeyModifiers::NONE),
            press(KeyCode::Esc, KeyModifiers::NONE),
        ];
        for key in no {
            assert_eq!(delete().answer(&key), None, "{key:?}");
        }
    }

    #[test]
    fn prompt_and_footer_name_the_same_key() {
        assert_eq!(
            delete().prompt(),
            "Delete the profile \"acme\"? Press y to delete, any other key to keep it."
        );
        assert_eq!(delete().footer().line(), "y delete · any other key keep it");
    }
}
