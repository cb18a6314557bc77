//! Driving the console without a terminal: an `App` fed messages, drawn on a TestBackend.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use jira_auth::atlassian::Endpoints;
use jira_auth::domain::{Mode, Principal, Timestamp};
use jira_auth::service::status::{self, StatusReport};
use jira_auth::service::system_app::SystemAppInfo;
use jira_auth::tui::theme::Theme;
use jira_auth::tui::{App, Effect, Msg, update, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::{sample_integration, sample_profile, sample_tokens, summaries};

pub const NOW: Timestamp = Timestamp(1_700_000_000);

pub fn app_with(report: StatusReport) -> App {
    let mut app = App::new(
        Theme::monochrome(),
        Endpoints::default(),
        "/var/lib/jira-auth".into(),
        NOW,
    );
    update(&mut app, Msg::StatusLoaded(Ok(report)));
    app
}

pub fn with_system_app(app: &mut App) {
    app.shared.system_app = Ok(SystemAppInfo {
        name: "Acme Jira connector".into(),
        client_id: "Sy12Cd34Ef56Gh78Ij90Kl12Mn34Op56".into(),
        scopes: vec!["read:jira-work".into(), "offline_access".into()],
        callback_url: "https://jira-auth.acme.example/callback".into(),
        authorization_url: "https://auth.atlassian.com/authorize?audience=api.atlassian.com".into(),
    });
}

pub fn draw(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test backend");
    terminal.draw(|frame| view(app, frame)).expect("draw");
    terminal.backend().to_string()
}

pub fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

pub fn code(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// Feeds keys one by one and returns every effect they asked for.
pub fn press(app: &mut App, keys: &[Msg]) -> Vec<Effect> {
    keys.iter()
        .flat_map(|msg| update(app, msg.clone()))
        .collect()
}

pub fn typed(text: &str) -> Vec<Msg> {
    text.chars().map(key).collect()
}

/// Two integrations (one custom pre-authorized, one system user-authorized with a dead
/// user token) and one profile.
pub fn populated() -> StatusReport {
    let profile = sample_profile("acme");
    let mut users = sample_integration("support", None);
    users.mode = Mode::UserAuthorized;
    let integrations = [sample_integration("jira", Some("acme")), users];
    let mut dead = sample_tokens(
        "support",
        Principal::User("bob".into()),
        NOW.plus_secs(-7200),
    );
    dead.reauthorization_required = true;
    dead.last_error = Some("Atlassian refused the refresh token".into());
    let tokens = [
        sample_tokens("jira", Principal::Admin, NOW.plus_secs(-600)),
        sample_tokens("support", Principal::User("alice".into()), NOW),
        dead,
    ];
    status::build(&integrations, &summaries(&tokens), &[profile], NOW)
}
