//! Home: every integration with its mode, app and token health, the profiles, and an alert
//! line for anything that needs a hand. A first run explains what to do next.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState, Wrap};

use crate::domain::{AppRef, DEFAULT_INTEGRATION, TokenState};
use crate::service::format;
use crate::service::status::{IntegrationStatus, StatusReport};
use crate::tui::action::Action;
use crate::tui::keymap::{self, Binding, Footer, Global, Hint, Key};
use crate::tui::message::Effect;
use crate::tui::shared::Shared;
use crate::tui::theme::Theme;
use crate::tui::widgets::{columns_that_fit, fit, wrap_words};

use super::authorize::AuthorizeScreen;
use super::events::EventsScreen;
use super::tokens::TokensScreen;
use super::users::UsersScreen;
use super::wizard::{Existing, Wizard};

/// What this screen opens on top of itself: the stack's screen type makes each of these
/// (a bound, so this file does not name the stack and imports nothing above it).
pub trait Opens:
    From<Box<super::wizard::Wizard>>
    + From<Box<super::authorize::AuthorizeScreen>>
    + From<Box<super::profiles::ProfilesScreen>>
    + From<Box<super::tokens::TokensScreen>>
    + From<Box<super::users::UsersScreen>>
    + From<Box<super::events::EventsScreen>>
{
}
impl<
    S: From<Box<super::wizard::Wizard>>
        + From<Box<super::authorize::AuthorizeScreen>>
        + From<Box<super::profiles::ProfilesScreen>>
        + From<Box<super::tokens::TokensScreen>>
        + From<Box<super::users::UsersScreen>>
        + From<Box<super::events::EventsScreen>>,
> Opens for S
{
}

#[derive(Debug, Default)]
pub struct HomeScreen {
    selected: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HomeAction {
    Up,
    Down,
    Change,
    New,
    Profiles,
    Authorize,
    Tokens,
    Users,
    Events,
    Reload,
}

const KEYS: &[Binding<HomeAction>] = &[
    Binding {
        keys: &[Key::plain(KeyCode::Up), Key::char('k')],
        label: "↑ k",
        description: "select the integration above",
        action: HomeAction::Up,
    },
    Binding {
        keys: &[Key::plain(KeyCode::Down), Key::char('j')],
        label: "↓ j",
        description: "select the integration below",
        action: HomeAction::Down,
    },
    Binding {
        keys: &[Key::plain(KeyCode::Enter), Key::char('s')],
        label: "Enter s",
        description: "set up the selected integration (or the first one)",
        action: HomeAction::Change,
    },
    Binding {
        keys: &[Key::char('n')],
        label: "n",
        description: "set up a new integration",
        action: HomeAction::New,
    },
    Binding {
        keys: &[Key::char('p')],
        label: "p",
        description: "authorization profiles: create, edit, delete",
        action: HomeAction::Profiles,
    },
    Binding {
        keys: &[Key::char('a')],
        label: "a",
        description: "authorize the selected integration (or one of its users)",
        action: HomeAction::Authorize,
    },
    Binding {
        keys: &[Key::char('t')],
        label: "t",
        description: "tokens: health, refresh now, re-authorize",
        action: HomeAction::Tokens,
    },
    Binding {
        keys: &[Key::char('u')],
        label: "u",
        description: "users of the selected integration: grants, links",
        action: HomeAction::Users,
    },
    Binding {
        keys: &[Key::char('e')],
        label: "e",
        description: "events: the audit trail",
        action: HomeAction::Events,
    },
    Binding {
        keys: &[Key::char('r')],
        label: "r",
        description: "read the store again",
        action: HomeAction::Reload,
    },
];

impl Hint for HomeAction {
    fn hint(self) -> &'static str {
        match self {
            HomeAction::Up | HomeAction::Down => "select",
            HomeAction::Change => "set up",
            HomeAction::New => "new",
            HomeAction::Profiles => "profiles",
            HomeAction::Authorize => "authorize",
            HomeAction::Tokens => "tokens",
            HomeAction::Users => "users",
            HomeAction::Events => "events",
            HomeAction::Reload => "reload",
        }
    }
}

/// Home's footer: nothing on Home takes text, so the one-key globals always work.
pub fn footer() -> Footer {
    use HomeAction::{Authorize, Change, Events, Profiles, Tokens};
    // ↑↓ and n are in help (?): the line must fit an 80-column terminal.
    Footer::new()
        .keys(KEYS, &[Change, Authorize, Tokens, Profiles, Events])
        .global(false, &[Global::Help, Global::Quit])
}

pub fn help_rows() -> Vec<(&'static str, &'static str)> {
    keymap::describe(KEYS)
}

impl HomeScreen {
    pub fn on_key<S: Opens>(&mut self, key: &KeyEvent, shared: &Shared) -> Vec<Action<S>> {
        let count = shared.report.integrations.len();
        match keymap::lookup(KEYS, key) {
            Some(HomeAction::Up) => self.selected = self.selected.saturating_sub(1),
            Some(HomeAction::Down) => {
                self.selected = (self.selected + 1).min(count.saturating_sub(1))
            }
            Some(HomeAction::Change) => {
                return vec![Action::Push(S::from(Box::new(self.wizard(shared))))];
            }
            Some(HomeAction::New) => {
                let name = free_name(&shared.report);
                return vec![Action::Push(S::from(Box::new(Wizard::new_integration(
                    &name,
                ))))];
            }
            Some(HomeAction::Authorize) => {
                let Some(integration) = shared.report.integrations.get(self.selected) else {
                    return vec![Action::Warn("Set up an integration first (s).".into())];
                };
                let (screen, mut actions) = AuthorizeScreen::open(
                    &integration.name,
                    integration.mode,
                    shared.desktop_browser,
                );
                actions.insert(0, Action::Push(S::from(Box::new(screen))));
                return actions;
            }
            Some(HomeAction::Profiles) => {
                return vec![Action::Push(S::from(
                    Box::<super::profiles::ProfilesScreen>::default(),
                ))];
            }
            Some(HomeAction::Tokens) => {
                return vec![Action::Push(S::from(Box::new(TokensScreen::worst_first(
                    shared,
                ))))];
            }
            Some(HomeAction::Users) => {
                let Some(integration) = shared.report.integrations.get(self.selected) else {
                    return vec![Action::Warn("Set up an integration first (s).".into())];
                };
                if integration.mode != crate::domain::Mode::UserAuthorized {
                    return vec![Action::Warn(format!(
                        "{} is pre-authorized: one token serves everyone, so it has no users (t shows its token).",
                        integration.name
                    ))];
                }
                return vec![Action::Push(S::from(Box::new(UsersScreen::new(
                    &integration.name,
                ))))];
            }
            Some(HomeAction::Events) => {
                let (screen, load) = EventsScreen::open();
                return vec![Action::Push(S::from(Box::new(screen))), load];
            }
            Some(HomeAction::Reload) => {
                return vec![
                    Action::Run(Effect::LoadStatus),
                    Action::Say("Reading the store…".into()),
                ];
            }
            None => {}
        }
        Vec::new()
    }

    /// The wizard for the selected integration, or for a first one when there is none.
    fn wizard(&self, shared: &Shared) -> Wizard {
        match shared.report.integrations.get(self.selected) {
            Some(integration) => Wizard::change(
                &integration.name,
                Existing {
                    mode: integration.mode,
                    app: match &integration.profile {
                        Some(profile) => AppRef::Custom(profile.clone()),
                        None => AppRef::System,
                    },
                    tokens: integration.tokens.len(),
                },
            ),
            None => Wizard::new_integration(&free_name(&shared.report)),
        }
    }

    pub fn on_report(&mut self, report: &StatusReport) {
        self.selected = self
            .selected
            .min(report.integrations.len().saturating_sub(1));
    }

    /// Countdowns on screen tick once a minute; with nothing counting down, the loop sleeps
    /// until a key arrives.
    pub fn tick_interval(&self, shared: &Shared) -> Option<Duration> {
        let counting = shared
            .report
            .integrations
            .iter()
            .any(|i| !i.tokens.is_empty());
        counting.then_some(Duration::from_secs(30))
    }

    pub fn render(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        if let Some(error) = &shared.load_error {
            let text = vec![
                Line::styled("The store could not be read.", theme.bad()),
                Line::raw(""),
                Line::raw(error.clone()),
                Line::raw(""),
                Line::raw("Press r to try again, q to quit."),
            ];
            frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), area);
            return;
        }
        if !shared.loaded {
            frame.render_widget(
                Paragraph::new(Line::styled("Reading the store…", theme.dim())),
                area,
            );
            return;
        }
        let report = &shared.report;
        if report.integrations.is_empty() && report.profiles.is_empty() {
            render_welcome(frame, area, theme);
            return;
        }
        let alerts = report.alerts(shared.now);
        let lines = alert_lines(&alerts, report, theme);
        // Each alert wraps rather than being cut: the rows are counted as they will wrap.
        let alert_rows: usize = lines
            .iter()
            .map(|line| {
                let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
                wrap_words(&text, usize::from(area.width)).len()
            })
            .sum();
        let alert_height = u16::try_from(alert_rows.min(6)).unwrap_or(6);
        let integration_height =
            u16::try_from(report.integrations.len().max(1) + 3).unwrap_or(u16::MAX);
        let [integrations_area, profiles_area, alerts_area] = Layout::vertical([
            Constraint::Max(integration_height),
            Constraint::Min(4),
            Constraint::Length(alert_height),
        ])
        .areas(area);
        self.render_integrations(shared, frame, integrations_area);
        render_profiles(report, theme, frame, profiles_area);
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), alerts_area);
    }

    fn render_integrations(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border())
            .title(Span::styled(" Integrations ", theme.title()));
        if shared.report.integrations.is_empty() {
            let text = Line::raw("No integration is set up yet.");
            frame.render_widget(Paragraph::new(text).block(block), area);
            return;
        }
        // Columns give way from the least needed: Enabled, then App, then Mode; the token's
        // state and time left are the last to go, after only the name.
        let summaries: Vec<_> = shared
            .report
            .integrations
            .iter()
            .map(|integration| token_summary(integration, shared, theme))
            .collect();
        let token_width = summaries
            .iter()
            .map(|(text, _)| text.chars().count())
            .max()
            .unwrap_or(0)
            .max("Token".len());
        let kept = columns_that_fit(
            usize::from(area.width.saturating_sub(2)),
            &[14, token_width, 16, 20, 8],
        );
        // Display order: Name, Mode, App, Enabled, Token; `kept` counts in priority order.
        let shown = Shown {
            mode: kept > 2,
            app: kept > 3,
            enabled: kept > 4,
        };
        let mut header = vec!["Name"];
        let mut widths = vec![Constraint::Length(14)];
        for (on, title, width) in [
            (shown.mode, "Mode", 16),
            (shown.app, "App", 20),
            (shown.enabled, "Enabled", 8),
        ] {
            if on {
                header.push(title);
                widths.push(Constraint::Length(width));
            }
        }
        header.push("Token");
        widths.push(Constraint::Fill(1));
        let fixed: u16 = widths
            .iter()
            .map(|w| match w {
                Constraint::Length(n) => n + 1,
                _ => 0,
            })
            .sum();
        let token_room = usize::from(area.width.saturating_sub(2 + fixed));
        let header = Row::new(header).style(theme.dim());
        let rows = shared
            .report
            .integrations
            .iter()
            .zip(summaries)
            .map(|(integration, summary)| integration_row(integration, summary, shown, token_room));
        let table = Table::new(rows, widths)
            .header(header)
            .block(block)
            .row_highlight_style(theme.selected());
        let mut state = TableState::default().with_selected(Some(self.selected));
        frame.render_stateful_widget(table, area, &mut state);
    }
}

/// One line an alert (the first three): the keys that fix the first one lead it.
fn alert_lines<'a>(
    alerts: &[crate::service::status::Alert],
    report: &StatusReport,
    theme: Theme,
) -> Vec<Line<'a>> {
    let has_token = |alert: &crate::service::status::Alert| {
        report.integrations.iter().any(|i| {
            i.name == alert.integration
                && i.tokens
                    .iter()
                    .any(|t| t.principal.key() == alert.principal)
        })
    };
    alerts
        .iter()
        .take(3)
        .enumerate()
        .map(|(n, alert)| {
            let mut spans = vec![Span::styled("⚠ ", theme.warn())];
            // The keys that fix the first alert, first so no width cuts them: t opens
            // Tokens on the grant, a re-authorizes it.
            if n == 0 && has_token(alert) {
                spans.push(Span::styled("[t a] ", theme.key()));
            }
            spans.push(Span::raw(alert.sentence.clone()));
            Line::from(spans)
        })
        .collect()
}

/// The optional columns of the integrations table that fit this width.
#[derive(Clone, Copy)]
struct Shown {
    mode: bool,
    app: bool,
    enabled: bool,
}

fn integration_row(
    integration: &IntegrationStatus,
    (token_text, token_style): (String, ratatui::style::Style),
    shown: Shown,
    token_room: usize,
) -> Row<'_> {
    let mut cells = vec![Cell::from(integration.name.as_str())];
    if shown.mode {
        cells.push(Cell::from(integration.mode.as_str()));
    }
    if shown.app {
        cells.push(Cell::from(match &integration.profile {
            Some(profile) => format!("Custom ({profile})"),
            None => "System".to_owned(),
        }));
    }
    if shown.enabled {
        cells.push(Cell::from(if integration.enabled { "yes" } else { "no" }));
    }
    cells.push(Cell::from(Span::styled(
        fit(&token_text, token_room),
        token_style,
    )));
    Row::new(cells)
}

/// One cell that says how the integration's tokens are: the admin's with a countdown, or a
/// count of end users by health.
fn token_summary(
    integration: &IntegrationStatus,
    shared: &Shared,
    theme: Theme,
) -> (String, ratatui::style::Style) {
    let now = shared.now;
    let tokens = &integration.tokens;
    let Some(worst) = tokens.iter().map(|t| t.state).max_by_key(|s| s.severity()) else {
        return ("not authorized".to_owned(), theme.dim());
    };
    let style = theme.token_state(worst);
    if let [only] = tokens.as_slice() {
        let text = match only.state {
            TokenState::Valid | TokenState::Expiring => {
                format!(
                    "{} · {} left",
                    only.state.as_str(),
                    format::duration(now.secs_until(only.access_expires_at))
                )
            }
            TokenState::Expired => "expired · refreshable".to_owned(),
            TokenState::NeedsReauthorization => "needs re-authorization".to_owned(),
            TokenState::Unsaved => "unsaved · disk full".to_owned(),
        };
        return (text, style);
    }
    let dead = tokens
        .iter()
        .filter(|t| t.state == TokenState::NeedsReauthorization)
        .count();
    let text = if dead == 0 {
        format!("{} users · all usable", tokens.len())
    } else {
        let verb = if dead == 1 { "needs" } else { "need" };
        format!("{} users · {dead} {verb} re-authorization", tokens.len())
    };
    (text, style)
}

fn render_profiles(report: &StatusReport, theme: Theme, frame: &mut Frame, area: Rect) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .title(Span::styled(" Authorization profiles ", theme.title()));
    if report.profiles.is_empty() {
        frame.render_widget(
            Paragraph::new("No authorization profile yet.").block(block),
            area,
        );
        return;
    }
    let used_by: Vec<String> = report
        .profiles
        .iter()
        .map(|profile| {
            if profile.used_by.is_empty() {
                "—".to_owned()
            } else {
                profile.used_by.join(", ")
            }
        })
        .collect();
    let used_width = used_by
        .iter()
        .map(|u| u.chars().count())
        .max()
        .unwrap_or(0)
        .max("Used by".len());
    // Used by gives way first, then the scope count; the name and client id stay.
    let kept = columns_that_fit(
        usize::from(area.width.saturating_sub(2)),
        &[14, 34, 10, used_width],
    );
    let titles = ["Name", "Client ID", "Scopes", "Used by"];
    let mut widths = vec![
        Constraint::Length(14),
        Constraint::Length(34),
        Constraint::Length(10),
        Constraint::Fill(1),
    ];
    widths.truncate(kept);
    if let Some(last) = widths.last_mut() {
        *last = Constraint::Fill(1);
    }
    let last_room = usize::from(area.width.saturating_sub(2))
        .saturating_sub([15, 35, 11][..kept - 1].iter().sum::<usize>());
    let header = Row::new(titles[..kept].to_vec()).style(theme.dim());
    let rows = report.profiles.iter().zip(used_by).map(|(profile, used)| {
        let mut cells = vec![
            profile.name.clone(),
            profile.client_id.clone(),
            format!("{} scopes", profile.scopes.len()),
            used,
        ];
        cells.truncate(kept);
        if let Some(last) = cells.last_mut() {
            *last = fit(last, last_room);
        }
        Row::new(cells)
    });
    frame.render_widget(Table::new(rows, widths).header(header).block(block), area);
}

/// `jira` when free, else the first free `jira-N`.
fn free_name(report: &StatusReport) -> String {
    let taken = |name: &str| report.integrations.iter().any(|i| i.name == name);
    std::iter::once(DEFAULT_INTEGRATION.to_owned())
        .chain((2..).map(|n| format!("{DEFAULT_INTEGRATION}-{n}")))
        .find(|name| !taken(name))
        .unwrap_or_default()
}

fn render_welcome(frame: &mut Frame, area: Rect, theme: Theme) {
    let key = |k: &'static str| Span::styled(k, theme.key());
    let lines = vec![
        Line::styled("Welcome to jira-auth.", theme.title()),
        Line::raw(""),
        Line::raw("Nothing is configured yet. Connect Jira Cloud in a few steps:"),
        Line::raw(""),
        Line::from(vec![
            Span::raw("  "),
            key("s"),
            Span::raw("  set up the Jira integration: pre-authorize it now (one token for all)"),
        ]),
        Line::raw("     or let each user authorize; through the System app or your own app"),
        Line::from(vec![
            Span::raw("  "),
            key("p"),
            Span::raw("  create an authorization profile from your Atlassian app first"),
        ]),
        Line::raw(""),
        Line::from(vec![
            Span::raw("Press "),
            key("?"),
            Span::raw(" for every key, "),
            key("q"),
            Span::raw(" to quit."),
        ]),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}
