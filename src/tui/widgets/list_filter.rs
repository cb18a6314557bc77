//! The `/` filter of a list screen: a text field that takes keys while it is open, Enter to
//! keep the filter, Esc to clear it, ↑↓ still moving the selection; drawn above the list only
//! while open or holding text.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

use crate::tui::keymap::{Binding, Footer, Global, Hint};
use crate::tui::theme::Theme;

use super::TextField;

#[derive(Debug, Default)]
pub struct ListFilter {
    field: TextField,
    open: bool,
}

/// What a key did to the filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterKey {
    /// The filter took it; `changed` when the query is different now (reset the selection).
    Taken { changed: bool },
    /// Not the filter's: ↑↓ while it is open, or any key while it is closed.
    Passed,
}

impl ListFilter {
    pub fn open(&mut self) {
        self.open = true;
    }

    /// True while keys are typed into it.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// The query, lowercased and trimmed, for case-insensitive matching.
    pub fn query(&self) -> String {
        self.field.value().trim().to_lowercase()
    }

    pub fn is_empty(&self) -> bool {
        self.field.value().is_empty()
    }

    pub fn clear(&mut self) {
        self.field.set("");
    }

    /// Whether any of `haystacks` holds the query (everything matches an empty one).
    pub fn matches<'a>(query: &str, haystacks: impl IntoIterator<Item = &'a str>) -> bool {
        query.is_empty()
            || haystacks
                .into_iter()
                .any(|h| h.to_lowercase().contains(query))
    }

    pub fn key(&mut self, key: &KeyEvent) -> FilterKey {
        if !self.open {
            return FilterKey::Passed;
        }
        match key.code {
            KeyCode::Enter => self.open = false,
            KeyCode::Esc => {
                self.open = false;
                self.field.set("");
                return FilterKey::Taken { changed: true };
            }
            KeyCode::Up | KeyCode::Down => return FilterKey::Passed,
            _ => {
                return FilterKey::Taken {
                    changed: self.field.key(key),
                };
            }
        }
        FilterKey::Taken { changed: false }
    }

    /// A paste lands in the open filter; `Err` is the sentence when it was refused.
    pub fn paste(&mut self, text: &str) -> Result<bool, String> {
        if !self.open {
            return Ok(false);
        }
        self.field.paste(text)?;
        Ok(true)
    }

    /// The footer while the filter is open: typing goes to it, `moves` (↑↓) still work.
    pub fn footer<A: Hint>(table: &[Binding<A>], moves: &[A]) -> Footer {
        // Enter and Esc end the filter; the list's other keys are typed into it.
        Footer::new()
            .prompt("type to filter")
            .keys(table, moves)
            .global(true, &[Global::Help])
    }

    /// Rows the filter takes above the list: its box while open or holding text.
    pub fn height(&self) -> u16 {
        if self.open || !self.is_empty() { 3 } else { 0 }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: Theme) {
        if area.height > 0 {
            self.field
                .render(frame, area, Line::raw(" Filter "), theme, self.open, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn the_filter_takes_keys_only_while_open() {
        let mut filter = ListFilter::default();
        assert_eq!(filter.key(&key(KeyCode::Char('a'))), FilterKey::Passed);
        assert_eq!(filter.height(), 0);
        filter.open();
        assert_eq!(
            filter.key(&key(KeyCode::Char('A'))),
            FilterKey::Taken { changed: true }
        );
        assert_eq!(filter.query(), "a", "matching ignores case");
        assert_eq!(
            filter.key(&key(KeyCode::Down)),
            FilterKey::Passed,
            "↑↓ still move"
        );
        assert_eq!(
            filter.key(&key(KeyCode::Enter)),
            FilterKey::Taken { changed: false }
        );
        assert!(
            !filter.is_open() && filter.height() == 3,
            "kept, and still shown"
        );
        filter.open();
        assert_eq!(
            filter.key(&key(KeyCode::Esc)),
            FilterKey::Taken { changed: true }
        );
        assert!(filter.is_empty() && filter.height() == 0, "Esc clears it");
        assert!(ListFilter::matches("bob", ["Alice", "BOBBY"]));
        assert!(!ListFilter::matches("bob", ["alice"]));
        assert!(ListFilter::matches("", ["anything"]));
    }
}
