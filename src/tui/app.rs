//! The console's state machine: one `App`, messages in, `update` changes the state and returns
//! the effects to run; `view` (in `view.rs`) draws it. Neither does I/O.

use crossterm::event::KeyEvent;

use crate::agent::Notice;
use crate::config::Endpoints;
use crate::domain::Timestamp;
use crate::service::status::StatusReport;

use super::keymap::{self, GLOBAL_KEYS, GLOBAL_WHILE_TYPING, Global};
use super::message::{Effect, Msg, Outcome};
use super::screens::home::HomeScreen;
use super::screens::{Action, Screen};
use super::shared::{Shared, StatusLine};
use super::theme::Theme;

/// Everything the console knows. Screens live on a stack: Esc pops back to where you were.
pub struct App {
    pub stack: Vec<Screen>,
    pub shared: Shared,
    pub help_open: bool,
    pub quit: bool,
    /// A status load asked for by a change notice is in flight; `status_stale` says another
    /// change came meanwhile, so exactly one more load follows (never a pile of them).
    status_loading: bool,
    status_stale: bool,
}

impl App {
    pub fn new(theme: Theme, endpoints: Endpoints, data_dir: String, now: Timestamp) -> App {
        App {
            stack: vec![Screen::Home(HomeScreen::default())],
            shared: Shared {
                report: StatusReport::default(),
                loaded: false,
                load_error: None,
                status: None,
                banner: endpoints.override_banner(),
                theme,
                now,
                data_dir,
                endpoints,
                system_app: Err("no system app is configured on this host".into()),
                desktop_browser: false,
            },
            help_open: false,
            quit: false,
            status_loading: false,
            status_stale: false,
        }
    }

    /// The effects to run once at start-up.
    pub fn init(&self) -> Vec<Effect> {
        vec![Effect::LoadStatus, Effect::LoadSystemApp]
    }

    pub fn screen(&self) -> &Screen {
        // The stack always holds Home at the bottom: `Pop` never removes the last screen.
        self.stack
            .last()
            .unwrap_or_else(|| unreachable!("the screen stack is never empty"))
    }

    /// Help rows for the current screen: its own keys, then the global ones.
    pub fn help_rows(&self) -> Vec<(&'static str, &'static str)> {
        let mut rows = self.screen().help_rows();
        rows.extend(keymap::describe(GLOBAL_KEYS));
        rows
    }

    /// How long the loop may sleep before the screen needs redrawing on its own.
    pub fn next_tick(&self) -> Option<std::time::Duration> {
        self.screen().tick_interval(&self.shared)
    }
}

/// The pure transition: no I/O, no clock reads (time arrives in messages).
pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) => on_key(app, &key),
        Msg::Paste(text) => {
            let App { stack, shared, .. } = app;
            let Some(screen) = stack.last_mut() else {
                return Vec::new();
            };
            let actions = screen.on_paste(&text, shared);
            apply(app, actions)
        }
        Msg::Resized => Vec::new(),
        Msg::Tick(now) => {
            app.shared.now = now;
            for screen in &mut app.stack {
                screen.on_tick();
            }
            Vec::new()
        }
        Msg::Done(outcome) => {
            let mut actions = Vec::new();
            if let Outcome::Copied {
                what,
                note,
                delivered,
            } = &outcome
            {
                // Every screen's copy key reports the same way, on the status line.
                let text = if *delivered {
                    format!("Copied the {what}: {note}")
                } else {
                    format!("The {what} was not copied: {note}")
                };
                actions.push(if *delivered {
                    Action::Say(text)
                } else {
                    Action::Warn(text)
                });
            }
            let App { stack, shared, .. } = app;
            for screen in stack.iter_mut().rev() {
                actions.extend(screen.on_outcome(&outcome, shared));
            }
            // No reload here: the agent announces every change it makes (ours included) and
            // `Msg::Agent(Notice::Changed)` reloads once.
            apply(app, actions)
        }
        Msg::SystemAppLoaded(result) => {
            app.shared.system_app = result;
            Vec::new()
        }
        Msg::Agent(Notice::Changed) => {
            let mut effects = Vec::new();
            if app.status_loading {
                app.status_stale = true;
            } else {
                app.status_loading = true;
                effects.push(Effect::LoadStatus);
            }
            if matches!(app.screen(), Screen::Events(_)) {
                effects.push(Effect::LoadEvents {
                    limit: super::screens::events::EVENTS_SHOWN,
                });
            }
            effects
        }
        Msg::Agent(Notice::Lost(sentence)) => {
            app.shared.status = Some(StatusLine {
                text: sentence,
                error: true,
            });
            vec![Effect::Reconnect]
        }
        Msg::Agent(Notice::Note(text)) => {
            app.shared.status = Some(StatusLine { text, error: false });
            Vec::new()
        }
        Msg::Agent(Notice::Reconnected) => {
            app.shared.status = Some(StatusLine {
                text: "Connected to the agent again.".into(),
                error: false,
            });
            vec![Effect::LoadStatus, Effect::LoadSystemApp]
        }
        Msg::StatusLoaded(result) => {
            let mut effects = Vec::new();
            app.status_loading = false;
            if std::mem::take(&mut app.status_stale) {
                app.status_loading = true;
                effects.push(Effect::LoadStatus);
            }
            app.shared.loaded = true;
            match result {
                Ok(report) => {
                    app.shared.report = report;
                    app.shared.load_error = None;
                }
                Err(sentence) => app.shared.load_error = Some(sentence),
            }
            let App { stack, shared, .. } = app;
            for screen in stack {
                screen.on_report(&shared.report);
            }
            effects
        }
    }
}

fn on_key(app: &mut App, key: &KeyEvent) -> Vec<Effect> {
    if app.help_open {
        // Any key closes help; Ctrl-C still quits.
        app.help_open = false;
        if keymap::lookup(&GLOBAL_KEYS[..1], key) == Some(Global::Quit) {
            app.quit = true;
        }
        return Vec::new();
    }
    let typing = app.screen().captures_text();
    let global = if typing {
        &GLOBAL_KEYS[..GLOBAL_WHILE_TYPING]
    } else {
        GLOBAL_KEYS
    };
    match keymap::lookup(global, key) {
        Some(Global::Quit) => {
            app.quit = true;
            return Vec::new();
        }
        Some(Global::Help) => {
            app.help_open = true;
            return Vec::new();
        }
        None => {}
    }
    app.shared.status = None;
    let App { stack, shared, .. } = app;
    let Some(screen) = stack.last_mut() else {
        return Vec::new();
    };
    let actions = screen.on_key(key, shared);
    apply(app, actions)
}

fn apply(app: &mut App, actions: Vec<Action>) -> Vec<Effect> {
    let mut effects = Vec::new();
    for action in actions {
        match action {
            Action::Push(screen) => app.stack.push(screen),
            Action::Pop => {
                if app.stack.len() > 1 {
                    app.stack.pop();
                }
            }
            Action::Run(effect) => effects.push(effect),
            Action::Say(text) => app.shared.status = Some(StatusLine { text, error: false }),
            Action::Warn(text) => app.shared.status = Some(StatusLine { text, error: true }),
            Action::Quit => app.quit = true,
        }
    }
    effects
}
