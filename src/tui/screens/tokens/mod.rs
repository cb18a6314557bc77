//! Tokens (DESIGN.md screen 4): every token set with its state, the access token's countdown
//! (ticking once a second while this screen is up), the refresh token's age against
//! Atlassian's 90-day and 365-day limits, the site, and the last error as a sentence; refresh
//! now, re-authorize, delete (asks), `/` to filter.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent};

use crate::domain::{Mode, Principal};
use crate::service::status::{IntegrationStatus, TokenStatus};
use crate::tui::action::Action;
use crate::tui::keymap::{self, Binding, Footer, Global, Hint, Key};
use crate::tui::message::{Effect, Outcome};
use crate::tui::shared::Shared;
use crate::tui::widgets::{Confirm, FilterKey, ListFilter};

pub(super) mod view;

use super::authorize::AuthorizeScreen;

/// What this screen opens on top of itself: the stack's screen type makes each of these
/// (a bound, so this file does not name the stack and imports nothing above it).
pub trait Opens: From<Box<super::authorize::AuthorizeScreen>> {}
impl<S: From<Box<super::authorize::AuthorizeScreen>>> Opens for S {}

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

/// The words for a principal: "admin (everyone)" or the user id.
fn who(principal: &Principal) -> String {
    match principal {
        Principal::User(id) => crate::validate::text::sanitize(id, crate::validate::text::ID_CAP),
        Principal::Admin => "admin (everyone)".to_owned(),
    }
}

impl TokensScreen {
    /// The screen with the grant that most needs a hand selected (a dead one first, then a
    /// failing one), so re-authorizing it from Home is `t` then `a`.
    pub fn worst_first(shared: &Shared) -> TokensScreen {
        let screen = TokensScreen::default();
        let visible = screen.visible(shared);
        let rank = |entry: &Entry<'_>| match entry.token.state {
            state if state.is_dead() => 0,
            _ if entry.token.last_error.is_some() => 1,
            // Expired 2, Expiring 3, Valid 4.
            state => 4 - state.severity(),
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
            ListFilter::footer(KEYS, &[Up, Down])
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
                let principal = entry.token.principal.key();
                ListFilter::matches(
                    &query,
                    [entry.integration.name.as_str(), principal.as_str()]
                        .into_iter()
                        .chain(site),
                )
            })
            .collect()
    }

    pub fn on_paste<S: Opens>(&mut self, text: &str) -> Vec<Action<S>> {
        match self.filter.paste(text) {
            Ok(true) => self.selected = 0,
            Ok(false) => {}
            Err(problem) => return vec![Action::Warn(problem)],
        }
        Vec::new()
    }

    pub fn on_key<S: Opens>(&mut self, key: &KeyEvent, shared: &Shared) -> Vec<Action<S>> {
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

    fn act<S: Opens>(&mut self, action: Option<TokensAction>, shared: &Shared) -> Vec<Action<S>> {
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
                            principal: entry.token.principal.key(),
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
                        (entry.integration.name.clone(), entry.token.principal.key()),
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

    pub fn on_outcome<S: Opens>(&mut self, outcome: &Outcome, shared: &Shared) -> Vec<Action<S>> {
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
}

/// The Authorize screen for a grant: straight to the URL (the user id already known), and
/// back here when done.
pub fn reauthorize<S: Opens>(
    integration: &IntegrationStatus,
    principal: &Principal,
    shared: &Shared,
) -> Vec<Action<S>> {
    let user = match principal {
        Principal::User(id) if integration.mode == Mode::UserAuthorized => Some(id.clone()),
        _ => None,
    };
    let (screen, mut actions) = AuthorizeScreen::open_for(
        &integration.name,
        integration.mode,
        user,
        shared.desktop_browser,
    );
    actions.insert(0, Action::Push(S::from(Box::new(screen))));
    actions
}
