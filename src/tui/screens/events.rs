//! Events (DESIGN.md screen 5): the audit trail, newest first, `/` to filter. It reloads when
//! the agent reports a change, so a refresh made by a script shows up as it happens. Its
//! bottom edge says how far back the trail goes (what the agent keeps, the oldest event).

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph, Wrap};

use crate::agent::protocol::EventTrail;
use crate::domain::{Event, EventKind};
use crate::tui::action::Action;
use crate::tui::keymap::{self, Binding, Footer, Global, Hint, Key};
use crate::tui::message::{Effect, Outcome};
use crate::tui::shared::Shared;
use crate::tui::widgets::{FilterKey, ListFilter, wrap_words};

/// How much of the trail the screen asks for.
pub const EVENTS_SHOWN: usize = 500;

#[derive(Debug, Default)]
pub struct EventsScreen {
    events: Option<Result<Vec<Event>, String>>,
    /// How far back the trail goes, as the agent last said.
    trail: Option<EventTrail>,
    selected: usize,
    filter: ListFilter,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EventsAction {
    Up,
    Down,
    Filter,
    Back,
}

const KEYS: &[Binding<EventsAction>] = &[
    Binding {
        keys: &[Key::plain(KeyCode::Up), Key::char('k')],
        label: "↑ k",
        description: "newer event",
        action: EventsAction::Up,
    },
    Binding {
        keys: &[Key::plain(KeyCode::Down), Key::char('j')],
        label: "↓ j",
        description: "older event",
        action: EventsAction::Down,
    },
    Binding {
        keys: &[Key::char('/')],
        label: "/",
        description: "filter by integration, user, kind or outcome (Enter keeps, Esc clears)",
        action: EventsAction::Filter,
    },
    Binding {
        keys: &[Key::plain(KeyCode::Esc)],
        label: "Esc",
        description: "back",
        action: EventsAction::Back,
    },
];

impl Hint for EventsAction {
    fn hint(self) -> &'static str {
        match self {
            EventsAction::Up | EventsAction::Down => "select",
            EventsAction::Filter => "filter",
            EventsAction::Back => "back",
        }
    }
}

pub fn help_rows() -> Vec<(&'static str, &'static str)> {
    keymap::describe(KEYS)
}

impl EventsScreen {
    /// The screen and the load it needs.
    pub fn open<S>() -> (EventsScreen, Action<S>) {
        (
            EventsScreen::default(),
            Action::Run(Effect::LoadEvents {
                limit: EVENTS_SHOWN,
            }),
        )
    }

    pub fn captures_text(&self) -> bool {
        self.filter.is_open()
    }

    pub fn footer(&self) -> Footer {
        use EventsAction::{Back, Down, Filter, Up};
        if self.filter.is_open() {
            ListFilter::footer(KEYS, &[Up, Down])
        } else {
            Footer::new()
                .keys(KEYS, &[Up, Down, Filter, Back])
                .global(false, &[Global::Help, Global::Quit])
        }
    }

    fn visible(&self) -> Vec<&Event> {
        let query = self.filter.query();
        match &self.events {
            Some(Ok(events)) => events
                .iter()
                .filter(|e| {
                    ListFilter::matches(
                        &query,
                        [e.integration.as_str(), e.kind.as_str(), e.outcome.as_str()]
                            .into_iter()
                            .chain(e.principal.as_deref()),
                    )
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    pub fn on_paste<S>(&mut self, text: &str) -> Vec<Action<S>> {
        match self.filter.paste(text) {
            Ok(true) => self.selected = 0,
            Ok(false) => {}
            Err(problem) => return vec![Action::Warn(problem)],
        }
        Vec::new()
    }

    pub fn on_key<S>(&mut self, key: &KeyEvent) -> Vec<Action<S>> {
        match self.filter.key(key) {
            FilterKey::Taken { changed } => {
                if changed {
                    self.selected = 0;
                }
                Vec::new()
            }
            FilterKey::Passed => self.act(keymap::lookup(KEYS, key)),
        }
    }

    fn act<S>(&mut self, action: Option<EventsAction>) -> Vec<Action<S>> {
        match action {
            Some(EventsAction::Up) => self.selected = self.selected.saturating_sub(1),
            Some(EventsAction::Down) => {
                self.selected = (self.selected + 1).min(self.visible().len().saturating_sub(1));
            }
            Some(EventsAction::Filter) => self.filter.open(),
            Some(EventsAction::Back) => {
                if self.filter.is_empty() {
                    return vec![Action::Pop];
                }
                self.filter.clear();
            }
            None => {}
        }
        Vec::new()
    }

    pub fn on_outcome<S>(&mut self, outcome: &Outcome) -> Vec<Action<S>> {
        if let Outcome::EventsLoaded(result) = outcome {
            match result {
                Ok(page) => {
                    self.events = Some(Ok(page.events.clone()));
                    self.trail.clone_from(&page.trail);
                }
                Err(sentence) => self.events = Some(Err(sentence.clone())),
            }
            self.selected = self.selected.min(self.visible().len().saturating_sub(1));
        }
        Vec::new()
    }

    pub fn render(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let filter_height = self.filter.height();
        let [filter_area, list_area] =
            Layout::vertical([Constraint::Length(filter_height), Constraint::Fill(1)]).areas(area);
        self.filter.render(frame, filter_area, theme);
        let visible = self.visible();
        let mut block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border())
            .title(Span::styled(
                format!(" Events, newest first ({}) ", visible.len()),
                theme.title(),
            ));
        if let Some(trail) = &self.trail {
            block = block.title_bottom(Span::styled(format!(" {} ", kept(trail)), theme.dim()));
        }
        let message = match &self.events {
            None => Some(Line::styled("Reading the audit trail…", theme.dim())),
            Some(Err(sentence)) => Some(Line::styled(sentence.clone(), theme.bad())),
            Some(Ok(events)) if events.is_empty() => Some(Line::raw(
                "Nothing has happened yet: events appear as integrations are set up, authorized and refreshed.",
            )),
            Some(Ok(_)) if visible.is_empty() => {
                Some(Line::raw("No event matches the filter. Esc clears it."))
            }
            Some(Ok(_)) => None,
        };
        if let Some(message) = message {
            frame.render_widget(
                Paragraph::new(message)
                    .wrap(Wrap { trim: true })
                    .block(block),
                list_area,
            );
            return;
        }
        let now = shared.now;
        // "  1h 0m ago  refresh failed ": the rest of an event wraps under itself after it.
        const LEAD: usize = 28;
        let room = usize::from(list_area.width.saturating_sub(2))
            .saturating_sub(LEAD)
            .max(12);
        let items: Vec<ListItem> = visible
            .iter()
            .map(|event| {
                let style = match event.kind {
                    EventKind::RefreshFailed | EventKind::AuthorizationFailed => theme.bad(),
                    EventKind::Deleted => theme.warn(),
                    _ => theme.good(),
                };
                let ago = crate::service::format::duration(event.at.secs_until(now));
                let who = format!(
                    "{} {}",
                    crate::validate::text::sanitize(
                        &event.integration,
                        crate::validate::text::ID_CAP
                    ),
                    event
                        .principal
                        .as_deref()
                        .map(|p| crate::validate::text::sanitize(p, crate::validate::text::ID_CAP))
                        .unwrap_or_default()
                );
                let outcome = crate::validate::text::sanitize(
                    &event.outcome,
                    crate::validate::text::SENTENCE_CAP,
                );
                let rest = format!("{} · {outcome}", who.trim_end());
                let mut lines = Vec::new();
                for (n, part) in wrap_words(&rest, room).into_iter().enumerate() {
                    let mut spans = if n == 0 {
                        vec![
                            Span::styled(format!("{ago:>7} ago  "), theme.dim()),
                            Span::styled(format!("{:<15}", event.kind.as_str()), style),
                        ]
                    } else {
                        vec![Span::raw(" ".repeat(LEAD))]
                    };
                    // The integration and principal read plain, the outcome dim.
                    match part.strip_prefix(who.trim_end()).filter(|_| n == 0) {
                        Some(tail) => {
                            spans.push(Span::raw(who.trim_end().to_owned()));
                            spans.push(Span::styled(tail.to_owned(), theme.dim()));
                        }
                        None => spans.push(Span::styled(part, theme.dim())),
                    }
                    lines.push(Line::from(spans));
                }
                ListItem::new(lines)
            })
            .collect();
        let list = List::new(items)
            .block(block)
            .highlight_style(theme.selected());
        let mut state = ListState::default().with_selected(Some(self.selected));
        frame.render_stateful_widget(list, list_area, &mut state);
    }
}

/// "kept: 90 days or 100,000 events; oldest 2026-09-04".
fn kept(trail: &EventTrail) -> String {
    let retention = crate::config::Retention {
        keep: std::time::Duration::from_secs(trail.keep_secs),
        max_events: trail.max_events,
    };
    let oldest = trail.oldest.map_or_else(String::new, |at| {
        let date = at.rfc3339();
        format!("; oldest {}", date.get(..10).unwrap_or(&date))
    });
    format!("kept: {retention}{oldest}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Timestamp;

    #[test]
    fn the_trail_says_how_far_back_it_goes() {
        let trail = |keep_secs, max_events, oldest: Option<i64>| EventTrail {
            keep_secs,
            max_events,
            oldest: oldest.map(Timestamp),
        };
        let cases = [
            (
                trail(90 * 86_400, 100_000, Some(1_788_480_000)),
                "kept: 90 days or 100,000 events; oldest 2026-09-04",
            ),
            (trail(86_400, 100, None), "kept: 1 day or 100 events"),
            (
                trail(7 * 86_400, 10_000_000, Some(0)),
                "kept: 7 days or 10,000,000 events; oldest 1970-01-01",
            ),
        ];
        for (trail, shown) in cases {
            assert_eq!(kept(&trail), shown);
        }
    }
}
