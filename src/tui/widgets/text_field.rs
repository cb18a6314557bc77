//! A single-line text field over `tui-input`: terminal editing keys, pasted and typed text
//! cleaned of control characters, a length cap, optional masking, and horizontal scrolling
//! that keeps the cursor in view.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use tui_input::{Input, InputRequest};

use crate::tui::theme::Theme;
use crate::validate::{MAX_INPUT, text};

#[derive(Clone, Debug)]
pub struct TextField {
    input: Input,
    cap: usize,
}

impl Default for TextField {
    fn default() -> Self {
        TextField::new("")
    }
}

impl TextField {
    pub fn new(value: &str) -> TextField {
        TextField::with_cap(value, MAX_INPUT)
    }

    pub fn with_cap(value: &str, cap: usize) -> TextField {
        TextField {
            input: Input::new(value.to_owned()),
            cap,
        }
    }

    pub fn value(&self) -> &str {
        self.input.value()
    }

    pub fn set(&mut self, value: &str) {
        self.input = Input::new(value.to_owned());
    }

    /// Applies an editing key; `true` when the value changed. Keys that are not editing keys
    /// (Tab, Enter, Esc, function keys) are left for the screen.
    pub fn key(&mut self, key: &KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let request = match key.code {
            KeyCode::Char(c) if !ctrl && !alt => {
                if c.is_control() || self.input.value().len() + c.len_utf8() > self.cap {
                    return false;
                }
                InputRequest::InsertChar(c)
            }
            KeyCode::Char('a') if ctrl => InputRequest::GoToStart,
            KeyCode::Char('e') if ctrl => InputRequest::GoToEnd,
            KeyCode::Char('u') if ctrl => InputRequest::DeleteFromStart,
            KeyCode::Char('k') if ctrl => InputRequest::DeleteTillEnd,
            KeyCode::Char('w') if ctrl => InputRequest::DeletePrevWord,
            KeyCode::Char('b') if alt => InputRequest::GoToPrevWord,
            KeyCode::Char('f') if alt => InputRequest::GoToNextWord,
            KeyCode::Backspace if ctrl || alt => InputRequest::DeletePrevWord,
            KeyCode::Backspace => InputRequest::DeletePrevChar,
            KeyCode::Delete => InputRequest::DeleteNextChar,
            KeyCode::Left if ctrl => InputRequest::GoToPrevWord,
            KeyCode::Right if ctrl => InputRequest::GoToNextWord,
            KeyCode::Left => InputRequest::GoToPrevChar,
            KeyCode::Right => InputRequest::GoToNextChar,
            KeyCode::Home => InputRequest::GoToStart,
            KeyCode::End => InputRequest::GoToEnd,
            _ => return false,
        };
        self.input
            .handle(request)
            .is_some_and(|changed| changed.value)
    }

    /// Inserts pasted text at the cursor, cleaned as terminal copying requires. A paste that
    /// would exceed the cap is refused whole, with the sentence saying so.
    pub fn paste(&mut self, pasted: &str) -> Result<(), String> {
        if pasted.len() > MAX_INPUT {
            return Err(format!(
                "The paste is {} KiB, longer than the 4 KiB any field takes; nothing was changed. Copy just the value.",
                pasted.len().div_ceil(1024)
            ));
        }
        let cleaned = text::clean_paste(pasted);
        if self.input.value().len() + cleaned.len() > self.cap {
            return Err(format!(
                "This field takes at most {} characters; nothing was changed.",
                self.cap
            ));
        }
        // One splice, not a char-by-char insert: tui-input rebuilds its string per insert,
        // which made a 4 KiB paste quadratic.
        let cursor = self.input.cursor();
        let value = self.input.value();
        let at = value
            .char_indices()
            .nth(cursor)
            .map_or(value.len(), |(i, _)| i);
        let spliced = format!("{}{cleaned}{}", &value[..at], &value[at..]);
        self.input = Input::new(spliced).with_cursor(cursor + cleaned.chars().count());
        Ok(())
    }

    /// Draws the value on one line without a frame (forms lay out their own labels).
    pub fn render_inline(
        &self,
        frame: &mut Frame,
        area: Rect,
        style: ratatui::style::Style,
        focused: bool,
        masked: bool,
    ) {
        let width = usize::from(area.width.max(1));
        let scroll = if focused {
            self.input.visual_scroll(width.saturating_sub(1))
        } else {
            0
        };
        let visible = window(&self.shown(masked), scroll, width);
        frame.render_widget(
            Paragraph::new(Line::from(Span::styled(visible, style))),
            area,
        );
        if focused {
            let column = self.input.visual_cursor().saturating_sub(scroll);
            let x = area
                .x
                .saturating_add(u16::try_from(column).unwrap_or(u16::MAX))
                .min(area.right().saturating_sub(1));
            frame.set_cursor_position(Position::new(x, area.y));
        }
    }

    fn shown(&self, masked: bool) -> String {
        if masked {
            "•".repeat(self.input.value().chars().count())
        } else {
            text::sanitize(self.input.value(), MAX_INPUT)
        }
    }

    /// Draws the field in a bordered box titled `label`; the cursor is placed when focused.
    pub fn render(
        &self,
        frame: &mut Frame,
        area: Rect,
        label: Line<'_>,
        theme: Theme,
        focused: bool,
        masked: bool,
    ) {
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(if focused { theme.key() } else { theme.border() })
            .title(label);
        let inner = block.inner(area);
        let width = usize::from(inner.width.max(1));
        let scroll = self.input.visual_scroll(width.saturating_sub(1));
        let visible = window(&self.shown(masked), scroll, width);
        frame.render_widget(
            Paragraph::new(Line::from(Span::raw(visible))).block(block),
            area,
        );
        if focused {
            let column = self.input.visual_cursor().saturating_sub(scroll);
            let x = inner
                .x
                .saturating_add(u16::try_from(column).unwrap_or(u16::MAX))
                .min(inner.right().saturating_sub(1));
            frame.set_cursor_position(Position::new(x, inner.y));
        }
    }
}

/// The `width` characters of `shown` from `scroll` on, with an ellipsis at each end that
/// hides more: a value longer than its box reads as shortened, not as a word cut short.
fn window(shown: &str, scroll: usize, width: usize) -> String {
    let total = shown.chars().count();
    let mut visible: Vec<char> = shown.chars().skip(scroll).take(width).collect();
    if scroll > 0
        && let Some(first) = visible.first_mut()
    {
        *first = '…';
    }
    if scroll + width < total
        && let Some(last) = visible.last_mut()
    {
        *last = '…';
    }
    visible.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_wider_than_its_box_shows_where_it_goes_on() {
        assert_eq!(window("https://example.com", 0, 8), "https:/…");
        assert_eq!(window("https://example.com", 4, 8), "…://exa…");
        assert_eq!(window("https://example.com", 11, 8), "…ple.com");
        assert_eq!(window("short", 0, 8), "short");
    }

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn typing_and_editing_keys() {
        let mut field = TextField::new("");
        for c in "hello world".chars() {
            assert!(field.key(&press(KeyCode::Char(c), KeyModifiers::NONE)));
        }
        assert!(field.key(&press(KeyCode::Char('w'), KeyModifiers::CONTROL)));
        assert_eq!(field.value(), "hello ");
        assert!(field.key(&press(KeyCode::Backspace, KeyModifiers::NONE)));
        assert_eq!(field.value(), "hello");
        assert!(
            !field.key(&press(KeyCode::Tab, KeyModifiers::NONE)),
            "Tab is the screen's"
        );
        assert!(field.key(&press(KeyCode::Char('u'), KeyModifiers::CONTROL)));
        assert_eq!(field.value(), "");
    }

    #[test]
    fn a_paste_lands_at_the_cursor() {
        let mut field = TextField::new("héllo");
        field.key(&press(KeyCode::Home, KeyModifiers::NONE));
        field.key(&press(KeyCode::Right, KeyModifiers::NONE));
        field.key(&press(KeyCode::Right, KeyModifiers::NONE));
        field.paste("XY").unwrap();
        assert_eq!(field.value(), "héXYllo");
        field.key(&press(KeyCode::Char('!'), KeyModifiers::NONE));
        assert_eq!(field.value(), "héXY!llo", "the cursor sits after the paste");
    }

    #[test]
    fn pastes_are_cleaned_and_capped() {
        let mut field = TextField::with_cap("", 10);
        field.paste("  \"abc\u{1b}[31mdef\"\n").unwrap();
        assert_eq!(field.value(), "abcdef");
        assert!(field.paste("0123456789").is_err());
        assert_eq!(field.value(), "abcdef", "a refused paste changes nothing");
        let mut big = TextField::new("");
        assert!(
            big.paste(&"x".repeat(MAX_INPUT + 1))
                .unwrap_err()
                .contains("4 KiB")
        );
        assert_eq!(big.value(), "");
    }
}
