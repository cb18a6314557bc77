//! One variant per screen, each with its own state, key table, update and view; this enum
//! only dispatches.

pub mod authorize;
pub mod events;
pub mod help;
pub mod home;
pub mod profile_form;
pub mod profiles;
pub mod tokens;
pub mod users;
pub mod wizard;

use std::time::Duration;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use super::message::Outcome;
use super::shared::Shared;
use crate::service::status::StatusReport;

/// What a screen asks of the app, for this stack of screens.
pub type Action = super::action::Action<Screen>;

#[derive(Debug)]
pub enum Screen {
    Home(home::HomeScreen),
    Wizard(Box<wizard::Wizard>),
    Profiles(Box<profiles::ProfilesScreen>),
    ProfileForm(Box<profile_form::ProfileForm>),
    Authorize(Box<authorize::AuthorizeScreen>),
    Tokens(Box<tokens::TokensScreen>),
    Events(Box<events::EventsScreen>),
    Users(Box<users::UsersScreen>),
}

// Each screen that opens another asks for one of these (see `tui::action`).
macro_rules! screen_from {
    ($($variant:ident($inner:ty)),*) => {
        $(impl From<Box<$inner>> for Screen {
            fn from(screen: Box<$inner>) -> Screen {
                Screen::$variant(screen)
            }
        })*
    };
}

screen_from!(
    Wizard(wizard::Wizard),
    Profiles(profiles::ProfilesScreen),
    ProfileForm(profile_form::ProfileForm),
    Authorize(authorize::AuthorizeScreen),
    Tokens(tokens::TokensScreen),
    Events(events::EventsScreen),
    Users(users::UsersScreen)
);

impl Screen {
    pub fn title(&self) -> &'static str {
        match self {
            Screen::Home(_) => "Home",
            Screen::Wizard(_) => "Set up",
            Screen::Profiles(_) => "Profiles",
            Screen::ProfileForm(_) => "Profile",
            Screen::Authorize(_) => "Authorize",
            Screen::Tokens(_) => "Tokens",
            Screen::Events(_) => "Events",
            Screen::Users(_) => "Users",
        }
    }

    pub fn on_key(&mut self, key: &KeyEvent, shared: &Shared) -> Vec<Action> {
        match self {
            Screen::Home(screen) => screen.on_key(key, shared),
            Screen::Wizard(screen) => screen.on_key(key, shared),
            Screen::Profiles(screen) => screen.on_key(key, shared),
            Screen::ProfileForm(screen) => screen.on_key(key, shared),
            Screen::Authorize(screen) => screen.on_key(key),
            Screen::Tokens(screen) => screen.on_key(key, shared),
            Screen::Events(screen) => screen.on_key(key),
            Screen::Users(screen) => screen.on_key(key, shared),
        }
    }

    pub fn on_paste(&mut self, text: &str, shared: &Shared) -> Vec<Action> {
        match self {
            Screen::Home(_) => Vec::new(),
            Screen::Wizard(screen) => screen.on_paste(text),
            Screen::Profiles(screen) => screen.on_paste(text),
            Screen::ProfileForm(screen) => screen.on_paste(text, shared),
            Screen::Authorize(screen) => screen.on_paste(text),
            Screen::Tokens(screen) => screen.on_paste(text),
            Screen::Events(screen) => screen.on_paste(text),
            Screen::Users(screen) => screen.on_paste(text),
        }
    }

    /// A fresh report arrived from the store: keep selections in range.
    pub fn on_report(&mut self, report: &StatusReport) {
        match self {
            Screen::Home(screen) => screen.on_report(report),
            Screen::Tokens(screen) => {
                screen.on_report(report.integrations.iter().map(|i| i.tokens.len()).sum());
            }
            Screen::Users(screen) => screen.on_report(report),
            Screen::Wizard(_)
            | Screen::Profiles(_)
            | Screen::ProfileForm(_)
            | Screen::Authorize(_)
            | Screen::Events(_) => {}
        }
    }

    /// A timer fired: animations (the spinner) advance.
    pub fn on_tick(&mut self) {
        if let Screen::Authorize(screen) = self {
            screen.tick();
        }
    }

    /// An effect finished: every screen on the stack hears it, top first.
    pub fn on_outcome(&mut self, outcome: &Outcome, shared: &Shared) -> Vec<Action> {
        match self {
            Screen::Home(_) => Vec::new(),
            Screen::Wizard(screen) => screen.on_outcome(outcome, shared),
            Screen::Profiles(screen) => screen.on_outcome(outcome, shared),
            Screen::ProfileForm(screen) => screen.on_outcome(outcome, shared),
            Screen::Authorize(screen) => screen.on_outcome(outcome),
            Screen::Tokens(screen) => screen.on_outcome(outcome, shared),
            Screen::Events(screen) => screen.on_outcome(outcome),
            Screen::Users(screen) => screen.on_outcome(outcome, shared),
        }
    }

    /// True while a text field has focus: `q` and `?` are then typed, not obeyed.
    pub fn captures_text(&self) -> bool {
        match self {
            Screen::Home(_) => false,
            Screen::Wizard(screen) => screen.captures_text(),
            Screen::Profiles(screen) => screen.captures_text(),
            Screen::ProfileForm(screen) => screen.captures_text(),
            Screen::Authorize(screen) => screen.captures_text(),
            Screen::Tokens(screen) => screen.captures_text(),
            Screen::Events(screen) => screen.captures_text(),
            Screen::Users(screen) => screen.captures_text(),
        }
    }

    pub fn help_rows(&self) -> Vec<(&'static str, &'static str)> {
        match self {
            Screen::Home(_) => home::help_rows(),
            Screen::Wizard(_) => wizard::help_rows(),
            Screen::Profiles(_) => profiles::help_rows(),
            Screen::ProfileForm(_) => profile_form::help_rows(),
            Screen::Authorize(_) => authorize::help_rows(),
            Screen::Tokens(_) => tokens::help_rows(),
            Screen::Events(_) => events::help_rows(),
            Screen::Users(_) => users::help_rows(),
        }
    }

    pub fn tick_interval(&self, shared: &Shared) -> Option<Duration> {
        match self {
            Screen::Home(screen) => screen.tick_interval(shared),
            Screen::Tokens(screen) => screen.tick_interval(shared),
            Screen::Users(screen) => screen.tick_interval(shared),
            // The spinner turns while a call is in flight; otherwise nothing moves.
            Screen::Authorize(screen) if screen.busy() => Some(Duration::from_millis(120)),
            Screen::Wizard(_)
            | Screen::Profiles(_)
            | Screen::ProfileForm(_)
            | Screen::Authorize(_)
            | Screen::Events(_) => None,
        }
    }

    pub fn render(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        match self {
            Screen::Home(screen) => screen.render(shared, frame, area),
            Screen::Wizard(screen) => screen.render(shared, frame, area),
            Screen::Profiles(screen) => screen.render(shared, frame, area),
            Screen::ProfileForm(screen) => screen.render(shared, frame, area),
            Screen::Authorize(screen) => screen.render(shared, frame, area),
            Screen::Tokens(screen) => screen.render(shared, frame, area),
            Screen::Events(screen) => screen.render(shared, frame, area),
            Screen::Users(screen) => screen.render(shared, frame, area),
        }
    }

    /// The long URL this screen shows, to be made a clickable link where the terminal can.
    pub fn link_url(&self, shared: &Shared) -> Option<String> {
        match self {
            Screen::Authorize(screen) => screen.link_url().map(str::to_owned),
            Screen::Wizard(screen) => screen.link_url(shared),
            Screen::Users(screen) => screen.link_url().map(str::to_owned),
            _ => None,
        }
    }

    /// The URL to draw alone on the screen as a QR code, while the screen shows one.
    pub fn qr_url(&self) -> Option<&str> {
        match self {
            Screen::Authorize(screen) => screen.qr_url(),
            Screen::Users(screen) => screen.qr_url(),
            _ => None,
        }
    }

    /// The one-line key hints in the footer, from the screen's key table.
    pub fn hints(&self, shared: &Shared) -> String {
        let footer = match self {
            Screen::Home(_) => home::footer(),
            Screen::Wizard(screen) => screen.footer(shared),
            Screen::Profiles(screen) => screen.footer(),
            Screen::ProfileForm(screen) => screen.footer(),
            Screen::Authorize(screen) => screen.hints(),
            Screen::Tokens(screen) => screen.footer(),
            Screen::Events(screen) => screen.footer(),
            Screen::Users(screen) => screen.footer(),
        };
        footer.line()
    }
}
