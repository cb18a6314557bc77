//! What flows through the console: messages into `update`, the effects it asks for, and what
//! finished effects report. Screens and the app both import this module; it imports
//! neither, so there is no circle.

use crossterm::event::KeyEvent;

use crate::agent::Notice;
use crate::agent::protocol::AttemptView;
use crate::domain::{Mode, Site, Timestamp};
use crate::service::draft::ProfileDraft;
use crate::service::setup::SetupPlan;
use crate::service::status::StatusReport;
use crate::service::system_app::SystemAppInfo;

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
    /// A grant was refreshed on request: the sentence to show, or why not.
    GrantRefreshed(Result<String, String>),
    /// A token set was deleted: the sentence to show, or why not.
    TokensDeleted(Result<String, String>),
    /// The audit trail, newest first, or why it could not be read.
    EventsLoaded(Result<EventsPage, String>),
    /// The desktop browser was started, or why not.
    BrowserOpened(Result<(), String>),
    /// A personal link was handed out for an end user, or why not.
    LinkIssued(Result<IssuedLink, String>),
}

/// A personal authorization link the agent handed out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedLink {
    pub integration: String,
    pub user: String,
    pub url: String,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
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

/// The newest events of the audit trail, and how far back the trail goes (absent when the
/// agent is older than that answer).
#[derive(Clone, Debug, PartialEq)]
pub struct EventsPage {
    pub events: Vec<crate::domain::Event>,
    pub trail: Option<crate::agent::protocol::EventTrail>,
}

/// A failed step of an authorization: the sentence, and the effect that retries it when a
/// retry can help (network, timeout, 5xx: the sentence says whether anything was lost).
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
    /// Refresh one grant now (answers `GrantRefreshed`).
    RefreshGrant {
        integration: String,
        principal: String,
    },
    /// Delete one token set (answers `TokensDeleted`).
    DeleteTokens {
        integration: String,
        principal: String,
    },
    /// Hand `user` a personal authorization link (answers `LinkIssued`).
    IssueLink { integration: String, user: String },
    /// Read the newest events (answers `EventsLoaded`).
    LoadEvents { limit: usize },
    /// Show `text` alone on the normal screen, outside the console, as one line the terminal
    /// soft-wraps (a mouse selection then yields it exactly), until a key is pressed. The
    /// loop does it: it owns the terminal.
    ShowBare { text: String, what: String },
    /// Start the desktop's browser on a URL (answers `BrowserOpened`).
    OpenBrowser { url: String },
}
