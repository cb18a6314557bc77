//! Authorize (DESIGN.md screen 3): the authorization URL with copy, QR and (on a desktop)
//! open-browser keys; two ways back in, live at once: the loopback listener and a paste box
//! for the redirected URL; then the site choice, the verification call and the result.
//! Esc cancels whatever is in flight.

mod view;

use crossterm::event::{KeyCode, KeyEvent};

use crate::agent::protocol::{AttemptView, ListenerView};
use crate::domain::{Mode, Site};
use crate::tui::action::Action;
use crate::tui::keymap::{self, Binding, Hint, Key};
use crate::tui::message::{Effect, ListenerEnd, Outcome};
use crate::tui::widgets::{TextField, UrlKey};
use crate::validate::identifier::{self, MAX_USER_ID};

/// Where the attempt stands.
#[derive(Debug)]
pub enum Phase {
    /// User-authorized: whose token is this?
    AskUser,
    /// Building the URL (reading the store).
    Preparing,
    /// The URL is out; waiting for the code by either way.
    Waiting,
    /// A network call is in flight; the text says which.
    Busy(&'static str),
    /// Several Jira sites: the admin picks one.
    ChoosingSite { sites: Vec<Site>, selected: usize },
    /// Stored and verified.
    Done { summary: String },
    /// Stopped; `retry` is what `r` runs again, when anything can be.
    Failed {
        sentence: String,
        retry: Option<Box<Effect>>,
    },
}

/// The loopback listener's state, shown beside the paste box.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Listener {
    /// The callback URL is not a loopback one: only paste works.
    NotApplicable,
    Starting,
    Listening {
        port: u16,
        ssh_hint: Option<String>,
    },
    Failed(String),
}

#[derive(Debug)]
pub struct AuthorizeScreen {
    pub integration: String,
    pub mode: Mode,
    pub phase: Phase,
    pub attempt: Option<Box<AttemptView>>,
    pub user: TextField,
    pub paste: TextField,
    pub paste_focused: bool,
    pub listener: Listener,
    pub show_qr: bool,
    pub problem: Option<String>,
    /// Desktop session, not over SSH: the open-browser key is offered.
    pub can_open_browser: bool,
    pub spinner: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AuthorizeAction {
    Copy,
    Bare,
    Qr,
    Browser,
    FocusPaste,
    Submit,
    Up,
    Down,
    Retry,
    Back,
}

const KEYS: &[Binding<AuthorizeAction>] = &[
    Binding {
        keys: &[UrlKey::Copy.key()],
        label: UrlKey::Copy.label(),
        description: "copy the authorization URL",
        action: AuthorizeAction::Copy,
    },
    Binding {
        keys: &[UrlKey::Bare.key()],
        label: UrlKey::Bare.label(),
        description: "the bare URL on the normal screen, one line to select with the mouse (any key returns)",
        action: AuthorizeAction::Bare,
    },
    Binding {
        keys: &[Key::char('g')],
        label: "g",
        description: "the QR code of the URL, alone on the screen (any key returns)",
        action: AuthorizeAction::Qr,
    },
    Binding {
        keys: &[Key::char('o')],
        label: "o",
        description: "open the URL in this desktop's browser (not over SSH)",
        action: AuthorizeAction::Browser,
    },
    Binding {
        keys: &[Key::plain(KeyCode::Tab), Key::char('p')],
        label: "Tab p",
        description: "type or paste the redirected URL (or the code)",
        action: AuthorizeAction::FocusPaste,
    },
    Binding {
        keys: &[Key::plain(KeyCode::Enter)],
        label: "Enter",
        description: "submit the pasted URL / choose the site / close",
        action: AuthorizeAction::Submit,
    },
    Binding {
        keys: &[Key::plain(KeyCode::Up), Key::char('k')],
        label: "↑ k",
        description: "previous site",
        action: AuthorizeAction::Up,
    },
    Binding {
        keys: &[Key::plain(KeyCode::Down), Key::char('j')],
        label: "↓ j",
        description: "next site",
        action: AuthorizeAction::Down,
    },
    Binding {
        keys: &[Key::char('r')],
        label: "r",
        description: "retry after a temporary failure",
        action: AuthorizeAction::Retry,
    },
    Binding {
        keys: &[Key::plain(KeyCode::Esc)],
        label: "Esc",
        description: "cancel and go back (stops the listener and any call)",
        action: AuthorizeAction::Back,
    },
];

impl Hint for AuthorizeAction {
    fn hint(self) -> &'static str {
        match self {
            AuthorizeAction::Copy => UrlKey::Copy.hint(),
            AuthorizeAction::Bare => UrlKey::Bare.hint(),
            AuthorizeAction::Qr => "QR code",
            AuthorizeAction::Browser => "open the browser",
            AuthorizeAction::FocusPaste => "paste box",
            AuthorizeAction::Submit => "submit",
            AuthorizeAction::Up | AuthorizeAction::Down => "choose",
            AuthorizeAction::Retry => "retry",
            AuthorizeAction::Back => "back",
        }
    }
}

pub fn help_rows() -> Vec<(&'static str, &'static str)> {
    keymap::describe(KEYS)
}

const SPINNER: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];

impl AuthorizeScreen {
    /// Opens the screen for `integration`; user-authorized ones ask whose token first.
    pub fn open<S>(
        integration: &str,
        mode: Mode,
        can_open_browser: bool,
    ) -> (AuthorizeScreen, Vec<Action<S>>) {
        let mut screen = AuthorizeScreen {
            integration: integration.to_owned(),
            mode,
            phase: Phase::AskUser,
            attempt: None,
            // The field counts bytes; the identifier rule counts characters.
            user: TextField::with_cap("", MAX_USER_ID * 4),
            paste: TextField::new(""),
            paste_focused: false,
            listener: Listener::NotApplicable,
            show_qr: false,
            problem: None,
            can_open_browser,
            spinner: 0,
        };
        let actions = match mode {
            Mode::UserAuthorized => Vec::new(),
            Mode::PreAuthorized => screen.prepare(None),
        };
        (screen, actions)
    }

    /// Opens the screen for a known grant: a user-authorized one with its user id already
    /// filled, so the URL comes at once (re-authorization from the Tokens screen).
    pub fn open_for<S>(
        integration: &str,
        mode: Mode,
        user: Option<String>,
        can_open_browser: bool,
    ) -> (AuthorizeScreen, Vec<Action<S>>) {
        let (mut screen, actions) = AuthorizeScreen::open(integration, mode, can_open_browser);
        match user {
            Some(user) if mode == Mode::UserAuthorized => {
                screen.user.set(&user);
                let actions = screen.prepare(Some(user));
                (screen, actions)
            }
            _ => (screen, actions),
        }
    }

    fn prepare<S>(&mut self, user: Option<String>) -> Vec<Action<S>> {
        self.phase = Phase::Preparing;
        vec![Action::Run(Effect::PrepareAuthorize {
            integration: self.integration.clone(),
            user,
        })]
    }

    pub fn captures_text(&self) -> bool {
        matches!(self.phase, Phase::AskUser)
            || (matches!(self.phase, Phase::Waiting) && self.paste_focused)
    }

    pub fn busy(&self) -> bool {
        matches!(self.phase, Phase::Busy(_) | Phase::Preparing)
    }

    pub fn spinner(&self) -> &'static str {
        SPINNER[self.spinner % SPINNER.len()]
    }

    pub fn tick(&mut self) {
        self.spinner = self.spinner.wrapping_add(1);
    }

    /// The footer: the bindings this phase offers, named as the key table names them.
    pub fn hints(&self) -> crate::tui::keymap::Footer {
        use crate::tui::keymap::{Footer, Global};
        use AuthorizeAction::{Back, Down, FocusPaste, Retry, Submit, Up};
        let footer = match &self.phase {
            Phase::AskUser => Footer::new()
                .prompt("type the end user's id")
                .keys(KEYS, &[Submit, Back]),
            Phase::Waiting if self.paste_focused => Footer::new()
                .prompt("paste the redirected URL")
                .keys(KEYS, &[Submit, Back]),
            Phase::Waiting => self.url_keys().keys(KEYS, &[FocusPaste, Back]),
            Phase::ChoosingSite { .. } => Footer::new().keys(KEYS, &[Up, Down, Submit, Back]),
            Phase::Failed { retry, .. } => {
                let shown: &[AuthorizeAction] = if retry.is_some() {
                    &[Retry, Back]
                } else {
                    &[Back]
                };
                Footer::new().keys(KEYS, shown)
            }
            Phase::Done { .. } | Phase::Busy(_) | Phase::Preparing => {
                Footer::new().keys(KEYS, &[Back])
            }
        };
        footer.global(self.captures_text(), &[Global::Help])
    }

    pub fn on_paste<S>(&mut self, text: &str) -> Vec<Action<S>> {
        let field = match self.phase {
            Phase::AskUser => &mut self.user,
            Phase::Waiting => {
                // A paste always lands in the paste box: that is what the admin is doing.
                self.paste_focused = true;
                &mut self.paste
            }
            _ => return Vec::new(),
        };
        if let Err(problem) = field.paste(text) {
            return vec![Action::Warn(problem)];
        }
        Vec::new()
    }

    /// The authorization URL while it is drawn as text (not while the QR code is up).
    pub fn link_url(&self) -> Option<&str> {
        match (&self.phase, &self.attempt) {
            (Phase::Waiting, Some(attempt)) if !self.show_qr => Some(&attempt.url),
            _ => None,
        }
    }

    /// The URL to show as a QR code, alone on the whole screen, while `g` is on.
    pub fn qr_url(&self) -> Option<&str> {
        match (&self.phase, &self.attempt) {
            (Phase::Waiting, Some(attempt)) if self.show_qr => Some(&attempt.url),
            _ => None,
        }
    }

    pub fn on_key<S>(&mut self, key: &KeyEvent) -> Vec<Action<S>> {
        if self.qr_url().is_some() {
            // The code fills the screen; any key brings the screen back.
            self.show_qr = false;
            return Vec::new();
        }
        let action = keymap::lookup(KEYS, key);
        if action == Some(AuthorizeAction::Back) {
            let attempt = self.attempt.as_ref().map(|a| a.id.clone());
            return vec![
                Action::Run(Effect::CancelAuthorize { attempt }),
                Action::Pop,
            ];
        }
        match &mut self.phase {
            Phase::AskUser => {
                if action == Some(AuthorizeAction::Submit) {
                    // The sentence `jira-auth authorize --user` gives, before the agent
                    // (which checks again) is asked.
                    let user = self.user.value().to_owned();
                    if let Err(problem) = identifier::user_id(&user) {
                        self.problem = Some(problem.to_string());
                        return Vec::new();
                    }
                    self.problem = None;
                    return self.prepare(Some(user));
                }
                self.user.key(key);
                Vec::new()
            }
            Phase::Waiting if self.paste_focused => match key.code {
                KeyCode::Enter => self.submit_paste(),
                KeyCode::Tab | KeyCode::BackTab => {
                    self.paste_focused = false;
                    Vec::new()
                }
                _ => {
                    self.paste.key(key);
                    Vec::new()
                }
            },
            Phase::Waiting => self.waiting_key(action),
            Phase::ChoosingSite { sites, selected } => match action {
                Some(AuthorizeAction::Up) => {
                    *selected = selected.saturating_sub(1);
                    Vec::new()
                }
                Some(AuthorizeAction::Down) => {
                    *selected = (*selected + 1).min(sites.len().saturating_sub(1));
                    Vec::new()
                }
                Some(AuthorizeAction::Submit) => match sites.get(*selected).cloned() {
                    Some(site) => self.finish(&site),
                    None => Vec::new(),
                },
                _ => Vec::new(),
            },
            Phase::Failed { retry, .. } => match (action, retry.take()) {
                (Some(AuthorizeAction::Retry), Some(effect)) => {
                    self.phase = Phase::Busy(busy_text(&effect));
                    vec![Action::Run(*effect)]
                }
                (_, retry_kept) => {
                    if let Phase::Failed { retry, .. } = &mut self.phase {
                        *retry = retry_kept;
                    }
                    Vec::new()
                }
            },
            Phase::Done { .. } => match action {
                Some(AuthorizeAction::Submit) => vec![Action::Pop],
                _ => Vec::new(),
            },
            Phase::Busy(_) | Phase::Preparing => Vec::new(),
        }
    }

    fn waiting_key<S>(&mut self, action: Option<AuthorizeAction>) -> Vec<Action<S>> {
        let Some(attempt) = &self.attempt else {
            return Vec::new();
        };
        match action {
            Some(AuthorizeAction::Copy) => {
                vec![Action::Run(UrlKey::Copy.effect(&attempt.url, "authorization URL"))]
            }
            Some(AuthorizeAction::Bare) => {
                vec![Action::Run(UrlKey::Bare.effect(&attempt.url, "authorization URL"))]
            }
            Some(AuthorizeAction::Qr) => {
                self.show_qr = !self.show_qr;
                Vec::new()
            }
            Some(AuthorizeAction::Browser) if self.can_open_browser => {
                vec![Action::Run(Effect::OpenBrowser { url: attempt.url.clone() })]
            }
            Some(AuthorizeAction::Browser) => vec![Action::Warn(
                "No browser here (no desktop, or an SSH session): copy the URL (c) or scan the QR code (g) on your laptop or phone.".into(),
            )],
            Some(AuthorizeAction::FocusPaste) => {
                self.paste_focused = true;
                Vec::new()
            }
            Some(AuthorizeAction::Submit) => self.submit_paste(),
            _ => Vec::new(),
        }
    }

    /// The paste box's text goes to the agent, which checks it against the attempt's state.
    fn submit_paste<S>(&mut self) -> Vec<Action<S>> {
        let Some(attempt) = &self.attempt else {
            return Vec::new();
        };
        if self.paste.value().trim().is_empty() {
            self.problem = Some(
                "Paste the address the browser was sent to after consenting (or just the code)."
                    .into(),
            );
            return Vec::new();
        }
        self.problem = None;
        self.phase = Phase::Busy("Checking the pasted address…");
        vec![Action::Run(Effect::SubmitPaste {
            attempt: attempt.id.clone(),
            text: self.paste.value().to_owned(),
        })]
    }

    fn exchange<S>(&mut self) -> Vec<Action<S>> {
        let Some(attempt) = &self.attempt else {
            return Vec::new();
        };
        let effect = Effect::Exchange {
            attempt: attempt.id.clone(),
        };
        self.phase = Phase::Busy(busy_text(&effect));
        vec![Action::Run(effect)]
    }

    fn finish<S>(&mut self, site: &Site) -> Vec<Action<S>> {
        let Some(attempt) = &self.attempt else {
            return Vec::new();
        };
        let effect = Effect::FinishAuthorize {
            attempt: attempt.id.clone(),
            site: site.id.clone(),
        };
        self.phase = Phase::Busy(busy_text(&effect));
        vec![Action::Run(effect)]
    }

    pub fn on_outcome<S>(&mut self, outcome: &Outcome) -> Vec<Action<S>> {
        match outcome {
            Outcome::AuthorizePrepared(Ok(prepared)) if matches!(self.phase, Phase::Preparing) => {
                self.phase = Phase::Waiting;
                let attempt = prepared.attempt.clone();
                let id = attempt.id.clone();
                self.listener = match &attempt.listener {
                    ListenerView::Listening { port } => Listener::Listening {
                        port: *port,
                        ssh_hint: prepared.ssh_hint.clone(),
                    },
                    ListenerView::Failed { sentence } => Listener::Failed(sentence.clone()),
                    ListenerView::NotApplicable => Listener::NotApplicable,
                };
                self.attempt = Some(Box::new(attempt));
                if matches!(self.listener, Listener::Listening { .. }) {
                    return vec![Action::Run(Effect::AwaitCallback { attempt: id })];
                }
                self.paste_focused = true;
                Vec::new()
            }
            Outcome::AuthorizePrepared(Err(sentence)) => {
                self.phase = Phase::Failed {
                    sentence: sentence.clone(),
                    retry: None,
                };
                Vec::new()
            }
            Outcome::PasteChecked(result) if matches!(self.phase, Phase::Busy(_)) => match result {
                Ok(()) => self.exchange(),
                Err(sentence) => {
                    self.phase = Phase::Waiting;
                    self.problem = Some(sentence.clone());
                    Vec::new()
                }
            },
            Outcome::CodeReceived(end) if matches!(self.phase, Phase::Waiting) => match end {
                ListenerEnd::Code => self.exchange(),
                ListenerEnd::Declined(sentence) => {
                    self.phase = Phase::Failed {
                        sentence: sentence.clone(),
                        retry: None,
                    };
                    Vec::new()
                }
                ListenerEnd::Stopped(sentence) => {
                    self.listener = Listener::Failed(sentence.clone());
                    Vec::new()
                }
            },
            Outcome::Exchanged(result) if matches!(self.phase, Phase::Busy(_)) => match result {
                Ok(sites) => match sites.as_slice() {
                    [only] => {
                        let site = only.clone();
                        self.finish(&site)
                    }
                    _ => {
                        self.phase = Phase::ChoosingSite {
                            sites: sites.clone(),
                            selected: 0,
                        };
                        Vec::new()
                    }
                },
                Err(failure) => self.fail(failure),
            },
            Outcome::AuthorizeFinished(result) if matches!(self.phase, Phase::Busy(_)) => {
                match result {
                    Ok(summary) => {
                        self.phase = Phase::Done {
                            summary: summary.clone(),
                        };
                        vec![Action::Say(summary.clone())]
                    }
                    Err(failure) => self.fail(failure),
                }
            }
            Outcome::BrowserOpened(Err(sentence)) => vec![Action::Warn(sentence.clone())],
            _ => Vec::new(),
        }
    }

    fn fail<S>(&mut self, failure: &crate::tui::message::StepFailure) -> Vec<Action<S>> {
        self.phase = Phase::Failed {
            sentence: failure.sentence.clone(),
            retry: failure.retry.clone(),
        };
        vec![Action::Warn(
            "Authorization stopped; the reason is on screen.".into(),
        )]
    }
}

/// What the spinner says while `effect` runs.
fn busy_text(effect: &Effect) -> &'static str {
    match effect {
        Effect::Exchange { .. } => "Exchanging the code and finding your Jira sites…",
        Effect::FinishAuthorize { .. } => "Checking access to the site and storing the tokens…",
        _ => "Working…",
    }
}
