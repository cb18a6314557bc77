//! The console's state machine: one `App`, messages in, `update` changes the state and returns
//! the effects to run; `view` (in `view.rs`) draws it. Neither does I/O.

use crossterm::event::KeyEvent;

use crate::agent::Notice;
use crate::agent::protocol::AttemptView;
use crate::atlassian::Endpoints;
use crate::domain::{Mode, Site, Timestamp};
use crate::service::draft::ProfileDraft;
use crate::service::setup::SetupPlan;
use crate::service::status::StatusReport;

use super::keymap::{self, GLOBAL_KEYS, GLOBAL_WHILE_TYPING, Global};
use super::screens::Screen;
use super::screens::home::HomeScreen;
use super::theme::Theme;
pub use crate::service::system_app::SystemAppInfo;

/// Everything the console knows. Screens live on a stack: Esc pops back to where you were.
pub struct App {
    pub stack: Vec<Screen>,
    pub shared: Shared,
    pub help_open: bool,
    pub quit: bool,
}

/// State every screen may read.
pub struct Shared {
    pub report: StatusReport,
    /// False until the first load from the store arrives.
    pub loaded: bool,
    pub load_error: Option<String>,
    pub status: Option<StatusLine>,
    /// Set while the Atlassian endpoints are overridden (tests): shown on every screen.
    pub banner: Option<String>,
    pub theme: Theme,
    pub now: Timestamp,
    pub data_dir: String,
    /// Where Atlassian is; validation accepts the override base while it is set.
    pub endpoints: Endpoints,
    /// The system app of this host, or the sentence saying why there is none.
    pub system_app: Result<SystemAppInfo, String>,
    /// A local desktop session (not SSH): the authorize screen offers to open the browser.
    pub desktop_browser: bool,
}

/// The one-line message at the bottom: what just happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusLine {
    pub text: String,
    pub error: bool,
}

/// Input to `update`.
#[derive(Clone, Debug)]
pub enum Msg {
    /// A key was pressed.
    Key(KeyEvent),
    /// Text arrived through bracketed paste.
    Paste(String),
    /// The terminal changed size: only a redraw is needed.
    Resized,
    /// A timer fired (countdowns); carries the current time.
    Tick(Timestamp),
    /// The store was read; the report or the sentence saying why not.
    StatusLoaded(Result<StatusReport, String>),
    /// An effect finished; screens react (close a form, select a new profile, say it).
    Done(Outcome),
    /// The agent said something unasked: the store changed, or it went away or came back.
    Agent(Notice),
    /// What this host's system app is (asked of the agent), or why there is none.
    SystemAppLoaded(Result<SystemAppInfo, String>),
}

/// What a finished effect reports. Errors are the sentence a human reads.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// A profile was saved under this name.
    ProfileSaved(Result<String, String>),
    /// A stored profile was read for editing, for a wizard in `mode` (if any); its secret
    /// stays in the agent when `stored_secret`.
    ProfileOpened {
        draft: Result<Box<ProfileDraft>, String>,
        mode: Option<Mode>,
        stored_secret: bool,
    },
    /// The client secret asked for by the form's reveal key, or why not.
    SecretRevealed(Result<String, String>),
    /// A profile was deleted.
    ProfileDeleted(Result<String, String>),
    /// An integration was configured (its name), or why not.
    IntegrationSaved(Result<String, String>),
    /// A copy was attempted: `delivered` unless only the screen is left; the sentence says
    /// which way, and what to do if it may not have arrived.
    Copied {
        what: String,
        note: String,
        delivered: bool,
    },
    /// The attempt is ready (URL, listener, and the `ssh -L` line over SSH), or why not.
    AuthorizePrepared(Result<Box<Prepared>, String>),
    /// The listener's wait ended: a code, a declined consent, or why it stopped.
    CodeReceived(ListenerEnd),
    /// A pasted redirect was taken (its code kept by the agent), or why not.
    PasteChecked(Result<(), String>),
    /// The code bought tokens reaching these sites, or the failure.
    Exchanged(Result<Vec<Site>, StepFailure>),
    /// Verified and stored: the sentence to show ("Authorized as … on …"), or the failure.
    AuthorizeFinished(Result<String, StepFailure>),
    /// The desktop browser was started, or why not.
    BrowserOpened(Result<(), String>),
}

/// An authorization attempt as the agent began it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    pub attempt: AttemptView,
    /// The `ssh -L` line for this session, when it came in over SSH and the listener is up.
    pub ssh_hint: Option<String>,
}

/// How the loopback listener's wait ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListenerEnd {
    /// The browser brought the code back (the agent holds it).
    Code,
    /// The user declined (or the app is not shared with them): the sentence says so.
    Declined(String),
    /// The listener stopped (timeout, error); pasting still works.
    Stopped(String),
}

/// A failed step of an authorization: the sentence, and the effect that retries it when a
/// retry can help (network, timeout, 5xx: nothing was lost).
#[derive(Clone, Debug, PartialEq)]
pub struct StepFailure {
    pub sentence: String,
    pub retry: Option<Box<Effect>>,
}

/// Work for the effect runner; results come back as `Msg`.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Read the store and derive every state (answers `Msg::StatusLoaded`).
    LoadStatus,
    /// Ask the agent what this host's system app is (answers `Msg::SystemAppLoaded`).
    LoadSystemApp,
    /// Check and save a profile, replacing `original` when editing; with `keep_secret` an
    /// empty secret keeps the stored one (answers `ProfileSaved`).
    SaveProfile {
        draft: Box<ProfileDraft>,
        original: Option<String>,
        keep_secret: bool,
    },
    /// Fetch a profile's client secret for the form's explicit reveal (answers `SecretRevealed`).
    RevealSecret { name: String },
    /// Read a stored profile, secret included, to edit it (answers `ProfileOpened`).
    OpenProfile { name: String, mode: Option<Mode> },
    /// Delete a profile unless an integration uses it (answers `ProfileDeleted`).
    DeleteProfile { name: String },
    /// Configure an integration as the wizard decided (answers `IntegrationSaved`).
    SaveIntegration { plan: SetupPlan },
    /// Put text on the clipboard by the best route available (answers `Copied`).
    Copy { text: String, what: String },
    /// Have the agent begin an attempt with its loopback listener (answers `AuthorizePrepared`).
    PrepareAuthorize {
        integration: String,
        user: Option<String>,
    },
    /// Wait for the browser's redirect on the attempt's listener (answers `CodeReceived`).
    AwaitCallback { attempt: String },
    /// Hand the pasted redirect to the agent, which checks its state (answers `PasteChecked`).
    SubmitPaste { attempt: String, text: String },
    /// Trade the attempt's code for tokens and list their Jira sites (answers `Exchanged`).
    Exchange { attempt: String },
    /// Verify on the chosen site, then store and enable (answers `AuthorizeFinished`).
    FinishAuthorize { attempt: String, site: String },
    /// Abort everything the authorize screen started: the attempt (its listener) and calls.
    CancelAuthorize { attempt: Option<String> },
    /// Connect to the agent again after it went away (answers `Agent(Reconnected)`).
    Reconnect,
    /// Start the desktop's browser on a URL (answers `BrowserOpened`).
    OpenBrowser { url: String },
}

/// What a screen asks of the app after handling a key.
#[derive(Debug)]
pub enum Action {
    /// Open another screen on top of this one.
    Push(Screen),
    /// Close this screen, back to the one below.
    Pop,
    /// Run an effect.
    Run(Effect),
    /// Say something on the status line.
    Say(String),
    /// Say that something went wrong, on the status line.
    Warn(String),
    /// Leave the console.
    Quit,
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
        Msg::Agent(Notice::Changed) => vec![Effect::LoadStatus],
        Msg::Agent(Notice::Lost(sentence)) => {
            app.shared.status = Some(StatusLine {
                text: sentence,
                error: true,
            });
            vec![Effect::Reconnect]
        }
        Msg::Agent(Notice::Reconnected) => {
            app.shared.status = Some(StatusLine {
                text: "Connected to the agent again.".into(),
                error: false,
            });
            vec![Effect::LoadStatus, Effect::LoadSystemApp]
        }
        Msg::StatusLoaded(result) => {
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
            Vec::new()
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
