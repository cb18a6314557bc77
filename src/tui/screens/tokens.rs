//! Tokens (DESIGN.md screen 4): every token set with its state, the access token's countdown
//! (ticking once a second while this screen is up), the refresh token's age against
//! Atlassian's 90-day and 365-day limits, the site, and the last error as a sentence; refresh
//! now, re-authorize, delete (asks), `/` to filter.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState, Wrap};

use crate::domain::{
    Mode, Principal, REFRESH_ABSOLUTE_LIMIT_SECS, REFRESH_INACTIVITY_LIMIT_SECS, TokenState,
};
use crate::service::format;
use crate::service::status::{IntegrationStatus, TokenStatus};
use crate::tui::keymap::{self, Binding, Footer, Global, Hint, Key};
use crate::tui::message::{Effect, Outcome};
use crate::tui::screens::Action;
use crate::tui::shared::Shared;
use crate::tui::theme::Theme;
use crate::tui::widgets::{Confirm, FilterKey, ListFilter};

use super::Screen;
use super::authorize::AuthorizeScreen;

/// One token set as the table lists it.
#[derive(Clone, Copy)]
struct Entry<'a> {
    integration: &'a IntegrationStatus,
    token: &'a TokenStatus,
}

#[derive(Debug, Default)]
pub struct TokensScreen {
    selected: usize,
    filter: ListFilter,
    /// The grant (integration, principal) waiting for a yes before deletion.
    deleting: Option<Confirm<(String, String)>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TokensAction {
    Up,
    Down,
    Filter,
    Refresh,
    Reauthorize,
    Delete,
    Back,
}

const KEYS: &[Binding<TokensAction>] = &[
    Binding {
        keys: &[Key::plain(KeyCode::Up), Key::char('k')],
        label: "↑ k",
        description: "previous token",
        action: TokensAction::Up,
    },
    Binding {
        keys: &[Key::plain(KeyCode::Down), Key::char('j')],
        label: "↓ j",
        description: "next token",
        action: TokensAction::Down,
    },
    Binding {
        keys: &[Key::char('/')],
        label: "/",
        description: "filter by integration, user or site (Enter keeps, Esc clears)",
        action: TokensAction::Filter,
    },
    Binding {
        keys: &[Key::char('r')],
        label: "r",
        description: "refresh the selected token now",
        action: TokensAction::Refresh,
    },
    Binding {
        keys: &[Key::char('a'), Key::plain(KeyCode::Enter)],
        label: "a Enter",
        description: "authorize the selected grant again (a new consent)",
        action: TokensAction::Reauthorize,
    },
    Binding {
        keys: &[Key::char('d'), Key::plain(KeyCode::Delete)],
        label: "d Del",
        description: "delete the selected token set (asks first)",
        action: TokensAction::Delete,
    },
    Binding {
        keys: &[Key::plain(KeyCode::Esc)],
        label: "Esc",
        description: "back",
        action: TokensAction::Back,
    },
];

impl Hint for TokensAction {
    fn hint(self) -> &'static str {
        match self {
            TokensAction::Up | TokensAction::Down => "select",
            TokensAction::Filter => "filter",
            TokensAction::Refresh => "refresh",
            TokensAction::Reauthorize => "re-authorize",
            TokensAction::Delete => "delete",
            TokensAction::Back => "back",
        }
    }
}

pub fn help_rows() -> Vec<(&'static str, &'static str)> {
    keymap::describe(KEYS)
}

/// The words for a principal key: "admin (everyone)" or the user id.
fn who(principal: &str) -> String {
    match Principal::from_key(principal) {
        Some(Principal::User(id)) => crate::validate::text::sanitize(&id, 64),
        _ => "admin (everyone)".to_owned(),
    }
}

impl TokensScreen {
    /// The screen with the grant that most needs a hand selected (a dead one first, then a
    /// failing one), so re-authorizing it from Home is `t` then `a`.
    pub fn worst_first(shared: &Shared) -> TokensScreen {
        let screen = TokensScreen::default();
        let visible = screen.visible(shared);
        let rank = |entry: &Entry<'_>| match entry.token.state {
            TokenState::NeedsReauthorization => 0,
            _ if entry.token.last_error.is_some() => 1,
            TokenState::Expired => 2,
            TokenState::Expiring => 3,
            TokenState::Valid => 4,
        };
        let selected = visible
            .iter()
            .enumerate()
            .min_by_key(|(_, entry)| rank(entry))
            .map_or(0, |(n, _)| n);
        TokensScreen { selected, ..screen }
    }

    pub fn captures_text(&self) -> bool {
        self.filter.is_open()
    }

    /// The countdown ticks while this screen is up, and only then.
    pub fn tick_interval(&self, shared: &Shared) -> Option<Duration> {
        let any = shared
            .report
            .integrations
            .iter()
            .any(|i| !i.tokens.is_empty());
        any.then_some(Duration::from_secs(1))
    }

    pub fn footer(&self) -> Footer {
        use TokensAction::{Delete, Down, Filter, Reauthorize, Refresh, Up};
        if let Some(confirm) = &self.deleting {
            confirm.footer()
        } else if self.filter.is_open() {
            Footer::new()
                .prompt("type to filter")
                .keys(KEYS, &[Up, Down])
                .global(true, &[Global::Help])
        } else {
            Footer::new()
                // Esc back goes unsaid (terminal habit) so the line fits 80 columns.
                .keys(KEYS, &[Up, Down, Refresh, Reauthorize, Delete, Filter])
                .global(false, &[Global::Help])
        }
    }

    fn visible<'a>(&self, shared: &'a Shared) -> Vec<Entry<'a>> {
        let query = self.filter.query();
        shared
            .report
            .integrations
            .iter()
            .flat_map(|integration| {
                integration
                    .tokens
                    .iter()
                    .map(move |token| Entry { integration, token })
            })
            .filter(|entry| {
                let site = entry.token.site.as_ref().map(|s| s.url.as_str());
                ListFilter::matches(
                    &query,
                    [
                        entry.integration.name.as_str(),
                        entry.token.principal.as_str(),
                    ]
                    .into_iter()
                    .chain(site),
                )
            })
            .collect()
    }

    pub fn on_paste(&mut self, text: &str) -> Vec<Action> {
        match self.filter.paste(text) {
            Ok(true) => self.selected = 0,
            Ok(false) => {}
            Err(problem) => return vec![Action::Warn(problem)],
        }
        Vec::new()
    }

    pub fn on_key(&mut self, key: &KeyEvent, shared: &Shared) -> Vec<Action> {
        if let Some(confirm) = self.deleting.take() {
            return match confirm.answer(key) {
                Some((integration, principal)) => vec![
                    Action::Run(Effect::DeleteTokens {
                        integration,
                        principal,
                    }),
                    Action::Say("Deleting…".into()),
                ],
                None => vec![Action::Say("Nothing was deleted.".into())],
            };
        }
        match self.filter.key(key) {
            FilterKey::Taken { changed } => {
                if changed {
                    self.selected = 0;
                }
                Vec::new()
            }
            FilterKey::Passed => self.act(keymap::lookup(KEYS, key), shared),
        }
    }

    fn act(&mut self, action: Option<TokensAction>, shared: &Shared) -> Vec<Action> {
        let visible = self.visible(shared);
        let selected = visible.get(self.selected).copied();
        match action {
            Some(TokensAction::Up) => self.selected = self.selected.saturating_sub(1),
            Some(TokensAction::Down) => {
                self.selected = (self.selected + 1).min(visible.len().saturating_sub(1));
            }
            Some(TokensAction::Filter) => self.filter.open(),
            Some(TokensAction::Refresh) => {
                if let Some(entry) = selected {
                    return vec![
                        Action::Run(Effect::RefreshGrant {
                            integration: entry.integration.name.clone(),
                            principal: entry.token.principal.clone(),
                        }),
                        Action::Say(format!(
                            "Refreshing {} for {}…",
                            entry.integration.name,
                            who(&entry.token.principal)
                        )),
                    ];
                }
            }
            Some(TokensAction::Reauthorize) => {
                if let Some(entry) = selected {
                    return reauthorize(entry.integration, &entry.token.principal, shared);
                }
            }
            Some(TokensAction::Delete) => {
                if let Some(entry) = selected {
                    self.deleting = Some(Confirm::new(
                        format!(
                            "Delete the token of {} for {}? The grant stays on Atlassian's side until it is revoked there.",
                            entry.integration.name,
                            who(&entry.token.principal)
                        ),
                        "delete",
                        "keep it",
                        (
                            entry.integration.name.clone(),
                            entry.token.principal.clone(),
                        ),
                    ));
                }
            }
            Some(TokensAction::Back) => {
                if self.filter.is_empty() {
                    return vec![Action::Pop];
                }
                self.filter.clear();
            }
            None => {}
        }
        Vec::new()
    }

    pub fn on_outcome(&mut self, outcome: &Outcome, shared: &Shared) -> Vec<Action> {
        match outcome {
            Outcome::GrantRefreshed(Ok(sentence)) | Outcome::TokensDeleted(Ok(sentence)) => {
                self.selected = self
                    .selected
                    .min(self.visible(shared).len().saturating_sub(1));
                vec![Action::Say(sentence.clone())]
            }
            Outcome::GrantRefreshed(Err(sentence)) | Outcome::TokensDeleted(Err(sentence)) => {
                vec![Action::Warn(sentence.clone())]
            }
            _ => Vec::new(),
        }
    }

    pub fn on_report(&mut self, shared_count: usize) {
        self.selected = self.selected.min(shared_count.saturating_sub(1));
    }

    pub fn count(shared: &Shared) -> usize {
        shared
            .report
            .integrations
            .iter()
            .map(|i| i.tokens.len())
            .sum()
    }

    pub fn render(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let visible = self.visible(shared);
        let filter_height = self.filter.height();
        let confirm_height = u16::from(self.deleting.is_some()) * 2;
        let [filter_area, table_area, detail_area, confirm_area] = Layout::vertical([
            Constraint::Length(filter_height),
            Constraint::Fill(1),
            Constraint::Length(6),
            Constraint::Length(confirm_height),
        ])
        .areas(area);
        self.filter.render(frame, filter_area, theme);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border())
            .title(Span::styled(
                format!(" Tokens ({}/{}) ", visible.len(), Self::count(shared)),
                theme.title(),
            ));
        if visible.is_empty() {
            let text = if Self::count(shared) == 0 {
                "No token yet: authorize an integration from Home (a)."
            } else {
                "No token matches the filter. Esc clears it."
            };
            frame.render_widget(
                Paragraph::new(text).wrap(Wrap { trim: true }).block(block),
                table_area,
            );
        } else {
            self.render_table(shared, &visible, frame, table_area, block);
        }
        if let Some(entry) = visible.get(self.selected) {
            render_detail(shared, *entry, frame, detail_area);
        }
        if let Some(confirm) = &self.deleting {
            confirm.render(frame, confirm_area, theme);
        }
    }

    fn render_table(
        &self,
        shared: &Shared,
        visible: &[Entry<'_>],
        frame: &mut Frame,
        area: Rect,
        block: Block<'_>,
    ) {
        let theme = shared.theme;
        let now = shared.now;
        // Narrow terminals drop columns from the right, keeping state and time left.
        let wide = area.width >= 100;
        let header: Vec<&str> = if wide {
            vec![
                "Integration",
                "Who",
                "State",
                "Access",
                "Limits 90d/365d",
                "Site",
            ]
        } else {
            vec!["Integration", "Who", "State", "Access"]
        };
        // Only the rows that fit are built: with thousands of users, formatting every row
        // on every one-second tick would cost more than the whole frame may.
        let fits = usize::from(area.height.saturating_sub(3)).max(1);
        let first = self.selected.saturating_sub(fits - 1);
        let rows = visible.iter().skip(first).take(fits).map(|entry| {
            let token = entry.token;
            let mut cells = vec![
                Cell::from(entry.integration.name.clone()),
                Cell::from(who(&token.principal)),
                Cell::from(Span::styled(
                    state_word(token.state),
                    state_style(token.state, theme),
                )),
                Cell::from(access_left(token, now)),
            ];
            if wide {
                cells.push(Cell::from(limits_left(token, now)));
                cells.push(Cell::from(
                    token.site.as_ref().map_or("—".to_owned(), |s| {
                        s.url.trim_start_matches("https://").to_owned()
                    }),
                ));
            }
            Row::new(cells)
        });
        let widths: Vec<Constraint> = if wide {
            vec![
                Constraint::Length(12),
                Constraint::Length(18),
                Constraint::Length(14),
                Constraint::Length(10),
                Constraint::Length(16),
                Constraint::Fill(1),
            ]
        } else {
            vec![
                Constraint::Fill(1),
                Constraint::Fill(1),
                Constraint::Length(14),
                Constraint::Length(10),
            ]
        };
        let table = Table::new(rows, widths)
            .header(Row::new(header).style(theme.dim()))
            .block(block)
            .row_highlight_style(theme.selected());
        let mut state = TableState::default().with_selected(Some(self.selected - first));
        frame.render_stateful_widget(table, area, &mut state);
    }
}

/// The Authorize screen for a grant: straight to the URL (the user id already known), and
/// back here when done.
pub fn reauthorize(
    integration: &IntegrationStatus,
    principal: &str,
    shared: &Shared,
) -> Vec<Action> {
    let user = match Principal::from_key(principal) {
        Some(Principal::User(id)) if integration.mode == Mode::UserAuthorized => Some(id),
        _ => None,
    };
    let (screen, mut actions) = AuthorizeScreen::open_for(
        &integration.name,
        integration.mode,
        user,
        shared.desktop_browser,
    );
    actions.insert(0, Action::Push(Screen::Authorize(Box::new(screen))));
    actions
}

fn state_word(state: TokenState) -> &'static str {
    match state {
        TokenState::Valid => "valid",
        TokenState::Expiring => "expiring",
        TokenState::Expired => "expired",
        TokenState::NeedsReauthorization => "re-authorize",
    }
}

fn state_style(state: TokenState, theme: Theme) -> ratatui::style::Style {
    match state {
        TokenState::Valid => theme.good(),
        TokenState::Expiring | TokenState::Expired => theme.warn(),
        TokenState::NeedsReauthorization => theme.bad(),
    }
}

fn access_left(token: &TokenStatus, now: crate::domain::Timestamp) -> String {
    let left = now.secs_until(token.access_expires_at);
    if left <= 0 {
        "expired".to_owned()
    } else if left < 3600 {
        format!("{}m {:02}s", left / 60, left % 60)
    } else {
        format::duration(left)
    }
}

fn days(secs: i64) -> i64 {
    secs.max(0) / 86_400
}

/// "87d / 362d": days left before the 90-day inactivity and the 365-day absolute limit.
fn limits_left(token: &TokenStatus, now: crate::domain::Timestamp) -> String {
    if !token.refresh_token.present {
        return "no refresh".to_owned();
    }
    format!(
        "{}d / {}d",
        days(now.secs_until(token.refresh_token.inactivity_expires_at)),
        days(now.secs_until(token.refresh_token.absolute_expires_at))
    )
}

/// The refresh token's age against both limits, as a sentence for the detail panel.
fn refresh_age(token: &TokenStatus, now: crate::domain::Timestamp) -> String {
    if !token.refresh_token.present {
        return "none: the app lacks offline_access, so this token cannot be refreshed".to_owned();
    }
    format!(
        "idle {}d; {} days left of the {}-day inactivity limit, {} of the {}-day limit from consent",
        days(token.refresh_token.rotated_at.secs_until(now)),
        days(now.secs_until(token.refresh_token.inactivity_expires_at)),
        REFRESH_INACTIVITY_LIMIT_SECS / 86_400,
        days(now.secs_until(token.refresh_token.absolute_expires_at)),
        REFRESH_ABSOLUTE_LIMIT_SECS / 86_400
    )
}

fn render_detail(shared: &Shared, entry: Entry<'_>, frame: &mut Frame, area: Rect) {
    let theme = shared.theme;
    let now = shared.now;
    let token = entry.token;
    let site = token
        .site
        .as_ref()
        .map_or("no site chosen".to_owned(), |s| {
            format!("{} ({}, cloud id {})", s.url, s.name, s.id)
        });
    let mut lines = vec![
        Line::from(vec![Span::styled("Site ", theme.dim()), Span::raw(site)]),
        Line::from(vec![
            Span::styled("Refresh token ", theme.dim()),
            Span::raw(refresh_age(token, now)),
            Span::styled(" · last refresh ", theme.dim()),
            Span::raw(format!(
                "{} ago",
                format::duration(token.refresh_token.rotated_at.secs_until(now))
            )),
        ]),
        Line::from(vec![
            Span::styled("Scopes ", theme.dim()),
            Span::raw(token.scopes.join(" ")),
        ]),
    ];
    lines.push(match &token.last_error {
        Some(error) => Line::from(vec![
            Span::styled("Last error ", theme.bad()),
            Span::raw(error.clone()),
        ]),
        None => Line::styled("No error at the last refresh.", theme.dim()),
    });
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(theme.border())
        .title(Span::styled(
            format!(" {} · {} ", entry.integration.name, who(&token.principal)),
            theme.title(),
        ));
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }).block(block),
        area,
    );
}
