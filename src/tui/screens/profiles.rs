//! Profiles: every authorization profile with `/` to filter, a detail panel for the selected
//! one, and keys to create, edit and delete (refused while an integration uses it).

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph, Wrap};

use crate::service::draft::ProfileDraft;
use crate::service::status::ProfileStatus;
use crate::tui::action::Action;
use crate::tui::keymap::{self, Binding, Footer, Global, Hint, Key};
use crate::tui::message::{Effect, Outcome};
use crate::tui::shared::Shared;
use crate::tui::widgets::{Confirm, FilterKey, ListFilter};
use crate::validate::text::quoted;

use super::profile_form::ProfileForm;

/// What this screen opens on top of itself: the stack's screen type makes each of these
/// (a bound, so this file does not name the stack and imports nothing above it).
pub trait Opens: From<Box<super::profile_form::ProfileForm>> {}
impl<S: From<Box<super::profile_form::ProfileForm>>> Opens for S {}

#[derive(Debug, Default)]
pub struct ProfilesScreen {
    selected: usize,
    filter: ListFilter,
    /// The profile waiting for a yes before deletion.
    deleting: Option<Confirm<String>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ProfilesAction {
    Up,
    Down,
    Filter,
    New,
    Edit,
    Delete,
    Back,
}

const KEYS: &[Binding<ProfilesAction>] = &[
    Binding {
        keys: &[Key::plain(KeyCode::Up), Key::char('k')],
        label: "↑ k",
        description: "previous profile",
        action: ProfilesAction::Up,
    },
    Binding {
        keys: &[Key::plain(KeyCode::Down), Key::char('j')],
        label: "↓ j",
        description: "next profile",
        action: ProfilesAction::Down,
    },
    Binding {
        keys: &[Key::char('/')],
        label: "/",
        description: "filter by name or client ID (Enter keeps, Esc clears)",
        action: ProfilesAction::Filter,
    },
    Binding {
        keys: &[Key::char('n')],
        label: "n",
        description: "create a new profile",
        action: ProfilesAction::New,
    },
    Binding {
        keys: &[Key::plain(KeyCode::Enter), Key::char('e')],
        label: "Enter e",
        description: "edit the selected profile",
        action: ProfilesAction::Edit,
    },
    Binding {
        keys: &[Key::char('d'), Key::plain(KeyCode::Delete)],
        label: "d Del",
        description: "delete the selected profile (asks first)",
        action: ProfilesAction::Delete,
    },
    Binding {
        keys: &[Key::plain(KeyCode::Esc)],
        label: "Esc",
        description: "back to home",
        action: ProfilesAction::Back,
    },
];

impl Hint for ProfilesAction {
    fn hint(self) -> &'static str {
        match self {
            ProfilesAction::Up | ProfilesAction::Down => "select",
            ProfilesAction::Filter => "filter",
            ProfilesAction::New => "new",
            ProfilesAction::Edit => "edit",
            ProfilesAction::Delete => "delete",
            ProfilesAction::Back => "back",
        }
    }
}

pub fn help_rows() -> Vec<(&'static str, &'static str)> {
    keymap::describe(KEYS)
}

impl ProfilesScreen {
    pub fn captures_text(&self) -> bool {
        self.filter.is_open()
    }

    pub fn footer(&self) -> Footer {
        use ProfilesAction::{Back, Delete, Down, Edit, Filter, New, Up};
        if let Some(confirm) = &self.deleting {
            confirm.footer()
        } else if self.filter.is_open() {
            ListFilter::footer(KEYS, &[Up, Down])
        } else {
            Footer::new()
                .keys(KEYS, &[Up, Down, Filter, New, Edit, Delete, Back])
                .global(false, &[Global::Help])
        }
    }

    fn visible<'a>(&self, shared: &'a Shared) -> Vec<&'a ProfileStatus> {
        let query = self.filter.query();
        shared
            .report
            .profiles
            .iter()
            .filter(|p| ListFilter::matches(&query, [p.name.as_str(), p.client_id.as_str()]))
            .collect()
    }

    fn selected_name(&self, shared: &Shared) -> Option<String> {
        self.visible(shared)
            .get(self.selected)
            .map(|p| p.name.clone())
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
                Some(name) => vec![
                    Action::Run(Effect::DeleteProfile { name }),
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

    fn act<S: Opens>(&mut self, action: Option<ProfilesAction>, shared: &Shared) -> Vec<Action<S>> {
        let count = self.visible(shared).len();
        match action {
            Some(ProfilesAction::Up) => self.selected = self.selected.saturating_sub(1),
            Some(ProfilesAction::Down) => {
                self.selected = (self.selected + 1).min(count.saturating_sub(1))
            }
            Some(ProfilesAction::Filter) => self.filter.open(),
            Some(ProfilesAction::New) => {
                let form = ProfileForm::new(ProfileDraft::new(&shared.endpoints), None, None);
                return vec![Action::Push(S::from(Box::new(form)))];
            }
            Some(ProfilesAction::Edit) => {
                if let Some(name) = self.selected_name(shared) {
                    return vec![Action::Run(Effect::OpenProfile { name, mode: None })];
                }
            }
            Some(ProfilesAction::Delete) => {
                if let Some(profile) = self.visible(shared).get(self.selected) {
                    if let Some(integration) = profile.used_by.first() {
                        return vec![Action::Warn(format!(
                            "The profile {} is used by the integration {}; point that integration at another app first.",
                            quoted(&profile.name),
                            quoted(integration)
                        ))];
                    }
                    self.deleting = Some(Confirm::new(
                        format!("Delete the profile {}?", quoted(&profile.name)),
                        "delete",
                        "keep it",
                        profile.name.clone(),
                    ));
                }
            }
            Some(ProfilesAction::Back) => {
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
            Outcome::ProfileOpened {
                draft: Ok(draft),
                mode: None,
                stored_secret,
            } => vec![Action::Push(S::from(Box::new(ProfileForm::opened(
                draft,
                None,
                *stored_secret,
            ))))],
            Outcome::ProfileOpened {
                draft: Err(sentence),
                mode: None,
                ..
            } => vec![Action::Warn(sentence.clone())],
            Outcome::ProfileDeleted(Ok(name)) => {
                self.selected = self
                    .selected
                    .min(self.visible(shared).len().saturating_sub(2));
                vec![Action::Say(format!(
                    "Deleted the profile {}.",
                    quoted(name)
                ))]
            }
            Outcome::ProfileDeleted(Err(sentence)) => vec![Action::Warn(sentence.clone())],
            _ => Vec::new(),
        }
    }

    pub fn render(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let [list_area, detail_area] =
            Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)])
                .areas(area);
        let [filter_area, list_area] = Layout::vertical([
            Constraint::Length(self.filter.height()),
            Constraint::Fill(1),
        ])
        .areas(list_area);
        self.filter.render(frame, filter_area, theme);
        let visible = self.visible(shared);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border())
            .title(Span::styled(
                format!(
                    " Profiles ({}/{}) ",
                    visible.len(),
                    shared.report.profiles.len()
                ),
                theme.title(),
            ));
        if visible.is_empty() {
            let text = if shared.report.profiles.is_empty() {
                "No authorization profile yet. Press n to create one from your Atlassian app."
            } else {
                "No profile matches the filter. Esc clears it."
            };
            frame.render_widget(
                Paragraph::new(text).wrap(Wrap { trim: true }).block(block),
                list_area,
            );
        } else {
            let items: Vec<ListItem> = visible
                .iter()
                .map(|p| {
                    let used = if p.used_by.is_empty() {
                        String::new()
                    } else {
                        format!("  in use: {}", p.used_by.join(", "))
                    };
                    ListItem::new(Line::from(vec![
                        Span::raw(p.name.clone()),
                        Span::styled(used, theme.dim()),
                    ]))
                })
                .collect();
            let list = List::new(items)
                .block(block)
                .highlight_style(theme.selected())
                .highlight_symbol("› ");
            let mut state = ListState::default().with_selected(Some(self.selected));
            frame.render_stateful_widget(list, list_area, &mut state);
        }
        let detail = visible
            .get(self.selected)
            .map(|p| detail_lines(p, shared))
            .unwrap_or_default();
        frame.render_widget(
            Paragraph::new(detail).wrap(Wrap { trim: false }).block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(theme.border())
                    .title(" Details "),
            ),
            detail_area,
        );
        if let Some(confirm) = &self.deleting {
            let [_, prompt] =
                Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(area);
            confirm.render(frame, prompt, theme);
        }
    }
}

fn detail_lines(profile: &ProfileStatus, shared: &Shared) -> Vec<Line<'static>> {
    let theme = shared.theme;
    let row = |label: &str, value: String| {
        Line::from(vec![
            Span::styled(format!("{label:<14}"), theme.dim()),
            Span::raw(value),
        ])
    };
    let mut lines = vec![
        row("Name", profile.name.clone()),
        row("Mechanism", "OAuth v2".into()),
        row("Client ID", profile.client_id.clone()),
        row(
            "Client secret",
            "sealed (reveal it in the edit form)".into(),
        ),
        row("Callback URL", profile.callback_url.clone()),
        row("Authorize", profile.authorization_url.clone()),
        row("Token URL", profile.token_url.clone()),
        row("Refresh URL", profile.refresh_url.clone()),
        row(
            "Used by",
            if profile.used_by.is_empty() {
                "no integration".into()
            } else {
                profile.used_by.join(", ")
            },
        ),
        Line::raw(""),
        Line::styled(format!("Scopes ({})", profile.scopes.len()), theme.dim()),
    ];
    lines.extend(profile.scopes.iter().map(|s| Line::raw(format!("  {s}"))));
    lines
}
