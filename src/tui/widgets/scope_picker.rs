//! The scope picker: the catalog filtered as you type, a checkbox per scope, one key for the
//! seed's "select all" of the classic Jira platform scopes, and free entry of any well-formed
//! scope the catalog does not know.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, List, ListItem, ListState, Paragraph, Wrap};

use super::text_field::TextField;
use crate::tui::keymap::{self, Binding, Footer, Hint, Key};
use crate::tui::theme::Theme;
use crate::validate::{Catalog, ScopeEntry, scopes};

#[derive(Clone, Debug)]
pub struct ScopePicker {
    pub query: TextField,
    /// The chosen scopes, in the order they were chosen.
    pub selected: Vec<String>,
    cursor: usize,
    pub note: Option<String>,
}

/// What a key did to the picker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PickerOutcome {
    Stay,
    /// Closed: write these scopes into the field.
    Done(Vec<String>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PickerAction {
    Done,
    Up,
    Down,
    PageUp,
    PageDown,
    SelectClassic,
    Toggle,
    Enter,
}

impl Hint for PickerAction {
    fn hint(self) -> &'static str {
        match self {
            PickerAction::Done => "done",
            PickerAction::Up | PickerAction::Down => "move",
            PickerAction::PageUp | PickerAction::PageDown => "page",
            PickerAction::SelectClassic => "all classic Jira scopes",
            PickerAction::Toggle => "toggle",
            PickerAction::Enter => "add/toggle",
        }
    }
}

/// Every other key edits the filter.
const KEYS: &[Binding<PickerAction>] = &[
    Binding {
        keys: &[Key::plain(KeyCode::Esc)],
        label: "Esc",
        description: "close, keeping the chosen scopes",
        action: PickerAction::Done,
    },
    Binding {
        keys: &[Key::plain(KeyCode::Up)],
        label: "↑",
        description: "previous scope",
        action: PickerAction::Up,
    },
    Binding {
        keys: &[Key::plain(KeyCode::Down)],
        label: "↓",
        description: "next scope",
        action: PickerAction::Down,
    },
    Binding {
        keys: &[Key::plain(KeyCode::PageUp)],
        label: "PgUp",
        description: "ten scopes up",
        action: PickerAction::PageUp,
    },
    Binding {
        keys: &[Key::plain(KeyCode::PageDown)],
        label: "PgDn",
        description: "ten scopes down",
        action: PickerAction::PageDown,
    },
    Binding {
        keys: &[Key::ctrl('a')],
        label: "Ctrl-A",
        description: "select every classic Jira platform scope (the seed's \"select all\")",
        action: PickerAction::SelectClassic,
    },
    Binding {
        keys: &[Key::char(' ')],
        label: "Space",
        description: "toggle the highlighted scope",
        action: PickerAction::Toggle,
    },
    Binding {
        keys: &[Key::plain(KeyCode::Enter)],
        label: "Enter",
        description: "add the typed scope, or toggle the highlighted one; on an empty filter close",
        action: PickerAction::Enter,
    },
];

impl ScopePicker {
    pub fn new(selected: Vec<String>) -> ScopePicker {
        ScopePicker {
            query: TextField::with_cap("", 128),
            selected,
            cursor: 0,
            note: None,
        }
    }

    pub fn visible<'a>(&self, catalog: &'a Catalog) -> Vec<&'a ScopeEntry> {
        catalog.filter(self.query.value())
    }

    fn toggle(&mut self, name: &str) {
        if let Some(at) = self.selected.iter().position(|s| s == name) {
            self.selected.remove(at);
        } else {
            self.selected.push(name.to_owned());
        }
    }

    /// The picker's keys for a footer, after what typing does.
    pub fn footer(&self) -> Footer {
        use PickerAction::{Done, SelectClassic, Toggle};
        Footer::new()
            .prompt("type to filter")
            .keys(KEYS, &[Toggle, SelectClassic, Done])
    }

    pub fn key(&mut self, key: &KeyEvent, catalog: &Catalog) -> PickerOutcome {
        let count = self.visible(catalog).len();
        match keymap::lookup(KEYS, key) {
            Some(PickerAction::Done) => return PickerOutcome::Done(self.selected.clone()),
            Some(PickerAction::Up) => self.cursor = self.cursor.saturating_sub(1),
            Some(PickerAction::Down) => {
                self.cursor = (self.cursor + 1).min(count.saturating_sub(1));
            }
            Some(PickerAction::PageUp) => self.cursor = self.cursor.saturating_sub(10),
            Some(PickerAction::PageDown) => {
                self.cursor = (self.cursor + 10).min(count.saturating_sub(1));
            }
            Some(PickerAction::SelectClassic) => {
                let mut added = 0;
                for entry in catalog.classic() {
                    if !self.selected.contains(&entry.name) {
                        self.selected.push(entry.name.clone());
                        added += 1;
                    }
                }
                self.note = Some(format!(
                    "Selected every classic Jira platform scope ({added} added)."
                ));
            }
            Some(PickerAction::Toggle) => {
                if let Some(entry) = self.visible(catalog).get(self.cursor) {
                    let name = entry.name.clone();
                    self.toggle(&name);
                }
            }
            Some(PickerAction::Enter) => return self.enter(catalog),
            None => {
                if self.query.key(key) {
                    self.cursor = 0;
                }
            }
        }
        PickerOutcome::Stay
    }

    /// Enter: an empty query closes; a new well-formed scope is added as typed; otherwise the
    /// highlighted scope is toggled.
    fn enter(&mut self, catalog: &Catalog) -> PickerOutcome {
        let query = self.query.value().trim().to_owned();
        if query.is_empty() {
            return PickerOutcome::Done(self.selected.clone());
        }
        if scopes::is_well_formed(&query) && catalog.get(&query).is_none() {
            if !self.selected.contains(&query) {
                self.selected.push(query.clone());
            }
            self.note = Some(format!(
                "Added {query}, which jira-auth's list does not know: check it against the app's Scopes screen."
            ));
            self.query.set("");
            return PickerOutcome::Stay;
        }
        if let Some(entry) = self.visible(catalog).get(self.cursor) {
            let name = entry.name.clone();
            self.toggle(&name);
        }
        PickerOutcome::Stay
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: Theme, catalog: &Catalog) {
        frame.render_widget(Clear, area);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.key())
            .title(Span::styled(
                format!(" Scopes: {} selected ", self.selected.len()),
                theme.title(),
            ));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        use PickerAction::{Done, Down, Enter, SelectClassic, Toggle, Up};
        let line = Footer::new()
            .keys(KEYS, &[Up, Down, Toggle, SelectClassic, Enter, Done])
            .line();
        // The key line folds onto a second row rather than being cut.
        let key_rows = super::fit::wrap_words(&line, usize::from(inner.width)).len();
        let [query, list, note, keys] = Layout::vertical([
            Constraint::Length(3),
            Constraint::Fill(1),
            Constraint::Length(2),
            Constraint::Length(u16::try_from(key_rows).unwrap_or(1)),
        ])
        .areas(inner);
        self.query.render(
            frame,
            query,
            Line::raw(" Filter (or type a new scope and Enter) "),
            theme,
            true,
            false,
        );
        let visible = self.visible(catalog);
        let items: Vec<ListItem> = visible
            .iter()
            .map(|entry| {
                let mark = if self.selected.contains(&entry.name) {
                    "[x] "
                } else {
                    "[ ] "
                };
                // The name stays whole; the group, then the meaning, are shortened to
                // what the row has left.
                let name = format!("{:<34}", entry.name);
                let after_name =
                    usize::from(list.width).saturating_sub(mark.len() + name.chars().count());
                let group = super::fit::fit(&format!("{:<12} ", entry.group.title()), after_name);
                let meaning = super::fit::fit(
                    &entry.meaning,
                    after_name.saturating_sub(group.chars().count()),
                );
                ListItem::new(Line::from(vec![
                    Span::raw(mark),
                    Span::styled(name, theme.title()),
                    Span::styled(group, theme.dim()),
                    Span::raw(meaning),
                ]))
            })
            .collect();
        let mut state =
            ListState::default().with_selected((!visible.is_empty()).then_some(self.cursor));
        frame.render_stateful_widget(
            List::new(items).highlight_style(theme.selected()),
            list,
            &mut state,
        );
        if let Some(text) = &self.note {
            frame.render_widget(
                Paragraph::new(Line::styled(text.clone(), theme.warn())).wrap(Wrap { trim: true }),
                note,
            );
        }
        frame.render_widget(
            Paragraph::new(Line::styled(line, theme.dim())).wrap(Wrap { trim: true }),
            keys,
        );
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::KeyModifiers;

    use super::*;

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn filter_toggle_select_all_and_free_entry() {
        let catalog = Catalog::builtin();
        let mut picker = ScopePicker::new(vec!["offline_access".into()]);
        for c in "read:jira-work".chars() {
            picker.key(&press(KeyCode::Char(c)), catalog);
        }
        assert_eq!(picker.visible(catalog)[0].name, "read:jira-work");
        picker.key(&press(KeyCode::Char(' ')), catalog);
        assert_eq!(picker.selected, ["offline_access", "read:jira-work"]);
        picker.key(
            &KeyEvent::new(KeyCode::Char('a'), KeyModifiers::CONTROL),
            catalog,
        );
        assert_eq!(picker.selected.len(), 1 + catalog.classic().count());
        picker.query.set("read:custom-thing:jira");
        assert_eq!(
            picker.key(&press(KeyCode::Enter), catalog),
            PickerOutcome::Stay
        );
        assert!(
            picker
                .selected
                .contains(&"read:custom-thing:jira".to_owned())
        );
        assert_eq!(picker.query.value(), "");
        let PickerOutcome::Done(chosen) = picker.key(&press(KeyCode::Enter), catalog) else {
            panic!("an empty query closes");
        };
        assert_eq!(chosen.first().map(String::as_str), Some("offline_access"));
    }
}
