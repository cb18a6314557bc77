//! Users of a user-authorized integration: every end user's grant with its state, Atlassian
//! account, site, last refresh and last error; `/` filters (thousands of users, instantly);
//! a personal link for the selected user or a new one, with copy, bare URL and QR; revoke a
//! user's grant. Live: a user who completes consent appears without a key press.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent};

use crate::domain::Principal;
use crate::service::format::clock;
use crate::service::status::{IntegrationStatus, StatusReport, TokenStatus};
use crate::tui::action::Action;
use crate::tui::keymap::{self, Binding, Footer, Global, Hint, Key};
use crate::tui::message::{Effect, IssuedLink, Outcome};
use crate::tui::shared::Shared;
use crate::tui::widgets::{Confirm, FilterKey, ListFilter, TextField, UrlKey};
use crate::validate::text::{ID_CAP, sanitize};

mod view;

/// A user id is at most 256 characters (the identifier rule); the field holds a paste's worth.
const USER_FIELD_CAP: usize = 1024;

#[derive(Debug)]
pub struct UsersScreen {
    integration: String,
    selected: usize,
    filter: ListFilter,
    /// The principal key waiting for a yes before its grant is removed.
    revoking: Option<Confirm<String>>,
    /// Typing the id of a user to hand a link to.
    asking: Option<TextField>,
    /// The link handed out last, until Esc.
    link: Option<IssuedLink>,
    show_qr: bool,
    /// A link is being asked for.
    issuing: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum UsersAction {
    Up,
    Down,
    Filter,
    Link,
    NewUser,
    Revoke,
    Refresh,
    Copy,
    Bare,
    Qr,
    Back,
}

const KEYS: &[Binding<UsersAction>] = &[
    Binding {
        keys: &[Key::plain(KeyCode::Up), Key::char('k')],
        label: "↑ k",
        description: "previous user",
        action: UsersAction::Up,
    },
    Binding {
        keys: &[Key::plain(KeyCode::Down), Key::char('j')],
        label: "↓ j",
        description: "next user",
        action: UsersAction::Down,
    },
    Binding {
        keys: &[Key::char('/')],
        label: "/",
        description: "filter by user, account, site or state (Enter keeps, Esc clears)",
        action: UsersAction::Filter,
    },
    Binding {
        keys: &[Key::char('l'), Key::plain(KeyCode::Enter)],
        label: "l Enter",
        description: concat!(
            "a new personal link for the selected user (works once, ",
            crate::default_link_ttl_words!(),
            ")"
        ),
        action: UsersAction::Link,
    },
    Binding {
        keys: &[Key::char('n')],
        label: "n",
        description: "a personal link for another user (asks their id)",
        action: UsersAction::NewUser,
    },
    Binding {
        keys: &[Key::char('d'), Key::plain(KeyCode::Delete)],
        label: "d Del",
        description: "revoke the selected user's grant here (asks first)",
        action: UsersAction::Revoke,
    },
    Binding {
        keys: &[Key::char('r')],
        label: "r",
        description: "refresh the selected user's token now",
        action: UsersAction::Refresh,
    },
    Binding {
        keys: &[UrlKey::Copy.key()],
        label: UrlKey::Copy.label(),
        description: "copy the link shown",
        action: UsersAction::Copy,
    },
    Binding {
        keys: &[UrlKey::Bare.key()],
        label: UrlKey::Bare.label(),
        description: "the link shown bare on the normal screen, one line to select with the mouse (any key returns)",
        action: UsersAction::Bare,
    },
    Binding {
        keys: &[Key::char('g')],
        label: "g",
        description: "show the link as a QR code for a phone (again to hide)",
        action: UsersAction::Qr,
    },
    Binding {
        keys: &[Key::plain(KeyCode::Esc)],
        label: "Esc",
        description: "close the link, clear the filter, or back",
        action: UsersAction::Back,
    },
];

impl Hint for UsersAction {
    fn hint(self) -> &'static str {
        match self {
            UsersAction::Up | UsersAction::Down => "select",
            UsersAction::Filter => "filter",
            UsersAction::Link => "link",
            UsersAction::NewUser => "new user",
            UsersAction::Revoke => "revoke",
            UsersAction::Refresh => "refresh",
            UsersAction::Copy => UrlKey::Copy.hint(),
            UsersAction::Bare => UrlKey::Bare.hint(),
            UsersAction::Qr => "QR",
            UsersAction::Back => "back",
        }
    }
}

pub fn help_rows() -> Vec<(&'static str, &'static str)> {
    keymap::describe(KEYS)
}

impl UsersScreen {
    pub fn new(integration: &str) -> UsersScreen {
        UsersScreen {
            integration: integration.to_owned(),
            selected: 0,
            filter: ListFilter::default(),
            revoking: None,
            asking: None,
            link: None,
            show_qr: false,
            issuing: false,
        }
    }

    pub fn captures_text(&self) -> bool {
        self.filter.is_open() || self.asking.is_some()
    }

    fn integration<'a>(&self, report: &'a StatusReport) -> Option<&'a IntegrationStatus> {
        report
            .integrations
            .iter()
            .find(|i| i.name == self.integration)
    }

    /// The end users' grants, filtered. Only ids, account names, site hosts and state
    /// words are compared: with ten thousand users this stays well under a frame.
    fn visible<'a>(&self, report: &'a StatusReport) -> Vec<&'a TokenStatus> {
        let query = self.filter.query();
        let Some(integration) = self.integration(report) else {
            return Vec::new();
        };
        integration
            .tokens
            .iter()
            .filter_map(|t| match &t.principal {
                Principal::User(id) => Some((t, id)),
                Principal::Admin => None,
            })
            .filter(|(t, id)| {
                query.is_empty()
                    || ListFilter::matches(
                        &query,
                        [
                            id.as_str(),
                            t.account.as_ref().map_or("", |a| a.name.as_str()),
                            t.site.as_ref().map_or("", |s| s.url.as_str()),
                            t.state.word(),
                        ],
                    )
            })
            .map(|(t, _)| t)
            .collect()
    }

    fn count(&self, report: &StatusReport) -> usize {
        self.integration(report).map_or(0, |i| {
            i.tokens
                .iter()
                .filter(|t| matches!(t.principal, Principal::User(_)))
                .count()
        })
    }

    /// The countdowns tick while users are listed.
    pub fn tick_interval(&self, shared: &Shared) -> Option<Duration> {
        (self.count(&shared.report) > 0).then_some(Duration::from_secs(1))
    }

    /// The URL on screen, to be made one clickable link where the terminal can.
    pub fn link_url(&self) -> Option<&str> {
        self.link
            .as_ref()
            .filter(|_| !self.show_qr)
            .map(|l| l.url.as_str())
    }

    /// The URL to draw as a QR code alone on the screen, while `g` is on.
    pub fn qr_url(&self) -> Option<&str> {
        self.link
            .as_ref()
            .filter(|_| self.show_qr)
            .map(|l| l.url.as_str())
    }

    pub fn footer(&self) -> Footer {
        use UsersAction::{Bare, Copy, Down, Filter, Link, NewUser, Qr, Revoke, Up};
        if let Some(confirm) = &self.revoking {
            confirm.footer()
        } else if self.asking.is_some() {
            Footer::new()
                .item("Enter", "hand out the link")
                .item("Esc", "cancel")
        } else if self.filter.is_open() {
            ListFilter::footer(KEYS, &[Up, Down])
        } else if self.link.is_some() {
            Footer::new()
                .keys(KEYS, &[Copy, Bare, Qr])
                .item("Esc", "close the link")
                .global(false, &[Global::Help])
        } else {
            Footer::new()
                .keys(KEYS, &[Up, Down, Link, NewUser, Revoke, Filter])
                .global(false, &[Global::Help])
        }
    }

    pub fn on_paste<S: super::tokens::Opens>(&mut self, text: &str) -> Vec<Action<S>> {
        if let Some(field) = &mut self.asking {
            return match field.paste(text) {
                Ok(()) => Vec::new(),
                Err(problem) => vec![Action::Warn(problem)],
            };
        }
        match self.filter.paste(text) {
            Ok(true) => self.selected = 0,
            Ok(false) => {}
            Err(problem) => return vec![Action::Warn(problem)],
        }
        Vec::new()
    }

    pub fn on_key<S: super::tokens::Opens>(
        &mut self,
        key: &KeyEvent,
        shared: &Shared,
    ) -> Vec<Action<S>> {
        if let Some(confirm) = self.revoking.take() {
            return match confirm.answer(key) {
                Some(principal) => vec![
                    Action::Run(Effect::DeleteTokens {
                        integration: self.integration.clone(),
                        principal,
                    }),
                    Action::Say("Revoking…".into()),
                ],
                None => vec![Action::Say("Nothing was revoked.".into())],
            };
        }
        if let Some(field) = &mut self.asking {
            return match key.code {
                KeyCode::Esc => {
                    self.asking = None;
                    Vec::new()
                }
                KeyCode::Enter => {
                    let user = field.value().trim().to_owned();
                    if user.is_empty() {
                        return vec![Action::Warn(
                            "Type the user's id (the one your bot or service knows them by)."
                                .into(),
                        )];
                    }
                    self.asking = None;
                    self.issue(user)
                }
                _ => {
                    field.key(key);
                    Vec::new()
                }
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

    fn issue<S: super::tokens::Opens>(&mut self, user: String) -> Vec<Action<S>> {
        self.issuing = true;
        self.show_qr = false;
        let said = format!("Handing out a link for {}…", sanitize(&user, ID_CAP));
        vec![
            Action::Run(Effect::IssueLink {
                integration: self.integration.clone(),
                user,
            }),
            Action::Say(said),
        ]
    }

    fn act<S: super::tokens::Opens>(
        &mut self,
        action: Option<UsersAction>,
        shared: &Shared,
    ) -> Vec<Action<S>> {
        let visible = self.visible(&shared.report);
        let selected = visible.get(self.selected).copied();
        let user = selected.and_then(|t| match &t.principal {
            Principal::User(id) => Some(id.clone()),
            Principal::Admin => None,
        });
        match action {
            Some(UsersAction::Up) => self.selected = self.selected.saturating_sub(1),
            Some(UsersAction::Down) => {
                self.selected = (self.selected + 1).min(visible.len().saturating_sub(1));
            }
            Some(UsersAction::Filter) => self.filter.open(),
            Some(UsersAction::Link) => {
                if let Some(user) = user {
                    return self.issue(user);
                }
                return vec![Action::Warn(
                    "No user is selected: n hands a link to a user by id.".into(),
                )];
            }
            Some(UsersAction::NewUser) => {
                self.asking = Some(TextField::with_cap("", USER_FIELD_CAP));
            }
            Some(UsersAction::Revoke) => {
                if let (Some(token), Some(user)) = (selected, user) {
                    self.revoking = Some(Confirm::new(
                        format!(
                            "Revoke the grant of {} here? jira-auth forgets the token; {} revokes it on Atlassian's side in their account settings (Connected apps).",
                            sanitize(&user, ID_CAP),
                            sanitize(&user, ID_CAP)
                        ),
                        "revoke",
                        "keep it",
                        token.principal.key(),
                    ));
                }
            }
            Some(UsersAction::Refresh) => {
                if let (Some(token), Some(user)) = (selected, user) {
                    return vec![
                        Action::Run(Effect::RefreshGrant {
                            integration: self.integration.clone(),
                            principal: token.principal.key(),
                        }),
                        Action::Say(format!(
                            "Refreshing the token of {}…",
                            sanitize(&user, ID_CAP)
                        )),
                    ];
                }
            }
            Some(action @ (UsersAction::Copy | UsersAction::Bare)) => {
                let key = if action == UsersAction::Copy {
                    UrlKey::Copy
                } else {
                    UrlKey::Bare
                };
                if let Some(link) = &self.link {
                    return vec![Action::Run(key.effect(&link.url, "link"))];
                }
            }
            Some(UsersAction::Qr) => self.show_qr = self.link.is_some() && !self.show_qr,
            Some(UsersAction::Back) => {
                if self.show_qr {
                    self.show_qr = false;
                } else if self.link.is_some() {
                    self.link = None;
                } else if !self.filter.is_empty() {
                    self.filter.clear();
                } else {
                    return vec![Action::Pop];
                }
            }
            None => {}
        }
        Vec::new()
    }

    pub fn on_outcome<S: super::tokens::Opens>(
        &mut self,
        outcome: &Outcome,
        shared: &Shared,
    ) -> Vec<Action<S>> {
        match outcome {
            Outcome::LinkIssued(Ok(link)) if link.integration == self.integration => {
                self.issuing = false;
                let said = format!(
                    "A link for {} is ready: it works once, until {}.",
                    sanitize(&link.user, ID_CAP),
                    clock(link.expires_at)
                );
                self.link = Some(link.clone());
                vec![Action::Say(said)]
            }
            Outcome::LinkIssued(Err(sentence)) => {
                self.issuing = false;
                vec![Action::Warn(sentence.clone())]
            }
            Outcome::TokensDeleted(Ok(sentence)) | Outcome::GrantRefreshed(Ok(sentence)) => {
                self.on_report(&shared.report);
                vec![Action::Say(sentence.clone())]
            }
            Outcome::TokensDeleted(Err(sentence)) | Outcome::GrantRefreshed(Err(sentence)) => {
                vec![Action::Warn(sentence.clone())]
            }
            _ => Vec::new(),
        }
    }

    /// A fresh report: keep the selection in range.
    pub fn on_report(&mut self, report: &StatusReport) {
        self.selected = self
            .selected
            .min(self.visible(report).len().saturating_sub(1));
    }

    /// Whether the user of the link shown has authorized since it was handed out.
    fn link_used<'a>(&self, shared: &'a Shared) -> Option<&'a TokenStatus> {
        let link = self.link.as_ref()?;
        let user = Principal::User(link.user.clone());
        self.integration(&shared.report)?
            .tokens
            .iter()
            .find(|t| t.principal == user && t.refresh_token.consented_at >= link.issued_at)
    }
}
