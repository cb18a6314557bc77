//! One variant per screen, each with its own state, key table, update and view; this enum
//! only dispatches.

pub mod help;
pub mod home;

use std::time::Duration;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use super::app::{Action, Shared};
use crate::service::status::StatusReport;

#[derive(Debug)]
pub enum Screen {
    Home(home::HomeScreen),
}

impl Screen {
    pub fn title(&self) -> &'static str {
        match self {
            Screen::Home(_) => "Home",
        }
    }

    pub fn on_key(&mut self, key: &KeyEvent, shared: &Shared) -> Vec<Action> {
        match self {
            Screen::Home(screen) => screen.on_key(key, shared),
        }
    }

    pub fn on_paste(&mut self, _text: &str) -> Vec<Action> {
        match self {
            Screen::Home(_) => Vec::new(),
        }
    }

    /// A fresh report arrived from the store: keep selections in range.
    pub fn on_report(&mut self, report: &StatusReport) {
        match self {
            Screen::Home(screen) => screen.on_report(report),
        }
    }

    /// True while a text field has focus: `q` and `?` are then typed, not obeyed.
    pub fn captures_text(&self) -> bool {
        match self {
            Screen::Home(_) => false,
        }
    }

    pub fn help_rows(&self) -> Vec<(&'static str, &'static str)> {
        match self {
            Screen::Home(_) => home::help_rows(),
        }
    }

    pub fn tick_interval(&self, shared: &Shared) -> Option<Duration> {
        match self {
            Screen::Home(screen) => screen.tick_interval(shared),
        }
    }

    pub fn render(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        match self {
            Screen::Home(screen) => screen.render(shared, frame, area),
        }
    }

    /// The one-line key hints in the footer.
    pub fn hints(&self) -> &'static str {
        match self {
            Screen::Home(_) => home::HINTS,
        }
    }
}
