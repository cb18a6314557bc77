//! One variant per screen, each with its own state, key table, update and view; this enum
//! only dispatches.

pub mod help;
pub mod home;
pub mod profile_form;
pub mod profiles;
pub mod wizard;

use std::time::Duration;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use super::app::{Action, Outcome, Shared};
use crate::service::status::StatusReport;

#[derive(Debug)]
pub enum Screen {
    Home(home::HomeScreen),
    Wizard(Box<wizard::Wizard>),
    Profiles(Box<profiles::ProfilesScreen>),
    ProfileForm(Box<profile_form::ProfileForm>),
}

impl Screen {
    pub fn title(&self) -> &'static str {
        match self {
            Screen::Home(_) => "Home",
            Screen::Wizard(_) => "Set up",
            Screen::Profiles(_) => "Profiles",
            Screen::ProfileForm(_) => "Profile",
        }
    }

    pub fn on_key(&mut self, key: &KeyEvent, shared: &Shared) -> Vec<Action> {
        match self {
            Screen::Home(screen) => screen.on_key(key, shared),
            Screen::Wizard(screen) => screen.on_key(key, shared),
            Screen::Profiles(screen) => screen.on_key(key, shared),
            Screen::ProfileForm(screen) => screen.on_key(key, shared),
        }
    }

    pub fn on_paste(&mut self, text: &str, shared: &Shared) -> Vec<Action> {
        match self {
            Screen::Home(_) => Vec::new(),
            Screen::Wizard(screen) => screen.on_paste(text),
            Screen::Profiles(screen) => screen.on_paste(text),
            Screen::ProfileForm(screen) => screen.on_paste(text, shared),
        }
    }

    /// A fresh report arrived from the store: keep selections in range.
    pub fn on_report(&mut self, report: &StatusReport) {
        match self {
            Screen::Home(screen) => screen.on_report(report),
            Screen::Wizard(_) | Screen::Profiles(_) | Screen::ProfileForm(_) => {}
        }
    }

    /// An effect finished: every screen on the stack hears it, top first.
    pub fn on_outcome(&mut self, outcome: &Outcome, shared: &Shared) -> Vec<Action> {
        match self {
            Screen::Home(_) => Vec::new(),
            Screen::Wizard(screen) => screen.on_outcome(outcome, shared),
            Screen::Profiles(screen) => screen.on_outcome(outcome, shared),
            Screen::ProfileForm(screen) => screen.on_outcome(outcome, shared),
        }
    }

    /// True while a text field has focus: `q` and `?` are then typed, not obeyed.
    pub fn captures_text(&self) -> bool {
        match self {
            Screen::Home(_) => false,
            Screen::Wizard(screen) => screen.captures_text(),
            Screen::Profiles(screen) => screen.captures_text(),
            Screen::ProfileForm(screen) => screen.captures_text(),
        }
    }

    pub fn help_rows(&self) -> Vec<(&'static str, &'static str)> {
        match self {
            Screen::Home(_) => home::help_rows(),
            Screen::Wizard(_) => wizard::help_rows(),
            Screen::Profiles(_) => profiles::help_rows(),
            Screen::ProfileForm(_) => profile_form::help_rows(),
        }
    }

    pub fn tick_interval(&self, shared: &Shared) -> Option<Duration> {
        match self {
            Screen::Home(screen) => screen.tick_interval(shared),
            Screen::Wizard(_) | Screen::Profiles(_) | Screen::ProfileForm(_) => None,
        }
    }

    pub fn render(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        match self {
            Screen::Home(screen) => screen.render(shared, frame, area),
            Screen::Wizard(screen) => screen.render(shared, frame, area),
            Screen::Profiles(screen) => screen.render(shared, frame, area),
            Screen::ProfileForm(screen) => screen.render(shared, frame, area),
        }
    }

    /// The one-line key hints in the footer.
    pub fn hints(&self) -> &'static str {
        match self {
            Screen::Home(_) => home::HINTS,
            Screen::Wizard(screen) => screen.hints(),
            Screen::Profiles(_) => profiles::HINTS,
            Screen::ProfileForm(screen) => screen.hints(),
        }
    }
}
