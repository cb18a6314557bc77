//! The set-up wizard (DESIGN.md screens 2a-2e): name, how Jira is authorized, which app,
//! which profile, then a summary to confirm. Esc steps back keeping every choice; nothing is
//! saved until the final confirm.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph, Wrap};

use crate::domain::{AppRef, Mode};
use crate::service::setup::{self, SetupPlan};
use crate::service::status::ProfileStatus;
use crate::tui::app::{Action, Effect, Outcome, Shared};
use crate::tui::keymap::{self, Binding, Key};
use crate::tui::theme::Theme;

use crate::tui::widgets::TextField;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Name,
    Mode,
    App,
    Profile,
    Confirm,
}

impl Step {
    fn title(self) -> &'static str {
        match self {
            Step::Name => "Name the integration",
            Step::Mode => "How will Jira be authorized?",
            Step::App => "Which app?",
            Step::Profile => "Which authorization profile?",
            Step::Confirm => "Review and save",
        }
    }
}

/// What the integration was before this change, for the "this invalidates" warning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Existing {
    pub mode: Mode,
    pub app: AppRef,
    pub tokens: usize,
}

#[derive(Debug)]
pub struct Wizard {
    name: TextField,
    existing: Option<Existing>,
    steps: Vec<Step>,
    mode: Mode,
    system: bool,
    profile: usize,
    /// Waiting for y/n on a change that drops tokens.
    confirming: bool,
    saving: bool,
    problem: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WizardAction {
    Up,
    Down,
    Next,
    Back,
    NewProfile,
    EditProfile,
}

const KEYS: &[Binding<WizardAction>] = &[
    Binding {
        keys: &[Key::plain(KeyCode::Up), Key::char('k')],
        label: "↑ k",
        description: "previous choice",
        action: WizardAction::Up,
    },
    Binding {
        keys: &[Key::plain(KeyCode::Down), Key::char('j')],
        label: "↓ j",
        description: "next choice",
        action: WizardAction::Down,
    },
    Binding {
        keys: &[Key::plain(KeyCode::Enter)],
        label: "Enter",
        description: "choose and go on (on the summary: save)",
        action: WizardAction::Next,
    },
    Binding {
        keys: &[Key::plain(KeyCode::Esc)],
        label: "Esc",
        description: "one step back, keeping your choices",
        action: WizardAction::Back,
    },
    Binding {
        keys: &[Key::char('n')],
        label: "n",
        description: "create a new profile (profile step)",
        action: WizardAction::NewProfile,
    },
    Binding {
        keys: &[Key::char('e')],
        label: "e",
        description: "edit the selected profile (profile step)",
        action: WizardAction::EditProfile,
    },
];

pub fn help_rows() -> Vec<(&'static str, &'static str)> {
    keymap::describe(KEYS)
}

impl Wizard {
    /// A wizard for a new integration; the name step comes first.
    pub fn new_integration(suggested: &str) -> Wizard {
        Wizard::build(suggested, None, Mode::PreAuthorized, true, vec![Step::Name])
    }

    /// A wizard that changes `name`, starting from its current choices.
    pub fn change(name: &str, existing: Existing) -> Wizard {
        let system = existing.app == AppRef::System;
        let mode = existing.mode;
        let mut wizard = Wizard::build(name, Some(existing), mode, system, vec![Step::Mode]);
        wizard.profile = 0;
        wizard
    }

    fn build(
        name: &str,
        existing: Option<Existing>,
        mode: Mode,
        system: bool,
        steps: Vec<Step>,
    ) -> Wizard {
        Wizard {
            name: TextField::with_cap(name, 64),
            existing,
            steps,
            mode,
            system,
            profile: 0,
            confirming: false,
            saving: false,
            problem: None,
        }
    }

    pub fn step(&self) -> Step {
        // Every constructor starts the list with one step and `Back` never empties it.
        *self
            .steps
            .last()
            .unwrap_or_else(|| unreachable!("the wizard always has a step"))
    }

    pub fn captures_text(&self) -> bool {
        self.step() == Step::Name
    }

    fn integration(&self) -> String {
        self.name.value().trim().to_owned()
    }

    /// The profiles offered, with the one the integration already uses first.
    fn profiles<'a>(&self, shared: &'a Shared) -> Vec<&'a ProfileStatus> {
        shared.report.profiles.iter().collect()
    }

    fn selected_profile<'a>(&self, shared: &'a Shared) -> Option<&'a ProfileStatus> {
        self.profiles(shared).get(self.profile).copied()
    }

    fn plan(&self, shared: &Shared) -> Option<SetupPlan> {
        let app = if self.system {
            AppRef::System
        } else {
            AppRef::Custom(self.selected_profile(shared)?.name.clone())
        };
        Some(SetupPlan {
            integration: self.integration(),
            mode: self.mode,
            app,
        })
    }

    /// Tokens the plan would drop (a different app or mode makes them useless).
    fn tokens_dropped(&self, shared: &Shared) -> usize {
        match (&self.existing, self.plan(shared)) {
            (Some(existing), Some(plan))
                if existing.app != plan.app || existing.mode != plan.mode =>
            {
                existing.tokens
            }
            _ => 0,
        }
    }

    pub fn on_paste(&mut self, text: &str) -> Vec<Action> {
        if self.step() == Step::Name {
            if let Err(problem) = self.name.paste(text) {
                return vec![Action::Warn(problem)];
            }
        }
        Vec::new()
    }

    pub fn on_key(&mut self, key: &KeyEvent, shared: &Shared) -> Vec<Action> {
        if self.saving {
            return Vec::new();
        }
        if self.confirming {
            self.confirming = false;
            return match key.code {
                KeyCode::Char('y' | 'Y') => self.save(shared),
                _ => vec![Action::Say("Nothing was changed.".into())],
            };
        }
        let action = keymap::lookup(KEYS, key);
        if self.step() == Step::Name
            && !matches!(action, Some(WizardAction::Next | WizardAction::Back))
        {
            self.name.key(key);
            self.problem = None;
            return Vec::new();
        }
        match action {
            Some(WizardAction::Up) => self.move_choice(-1, shared),
            Some(WizardAction::Down) => self.move_choice(1, shared),
            Some(WizardAction::Next) => return self.next(shared),
            Some(WizardAction::Back) => {
                self.problem = None;
                if self.steps.len() > 1 {
                    self.steps.pop();
                } else {
                    return vec![Action::Pop];
                }
            }
            Some(WizardAction::NewProfile) if self.step() == Step::Profile => {
                return vec![Action::Push(super::Screen::ProfileForm(Box::new(
                    super::profile_form::ProfileForm::new(
                        crate::service::draft::ProfileDraft::new(&shared.endpoints),
                        None,
                        Some(self.mode),
                    ),
                )))];
            }
            Some(WizardAction::EditProfile) if self.step() == Step::Profile => {
                if let Some(profile) = self.selected_profile(shared) {
                    return vec![Action::Run(Effect::OpenProfile {
                        name: profile.name.clone(),
                        mode: Some(self.mode),
                    })];
                }
            }
            _ => {}
        }
        Vec::new()
    }

    fn move_choice(&mut self, delta: isize, shared: &Shared) {
        self.problem = None;
        match self.step() {
            Step::Mode => {
                self.mode = if self.mode == Mode::PreAuthorized {
                    Mode::UserAuthorized
                } else {
                    Mode::PreAuthorized
                };
            }
            Step::App => self.system = !self.system,
            Step::Profile => {
                // The last row is "Create new".
                let rows = self.profiles(shared).len() + 1;
                self.profile = self.profile.saturating_add_signed(delta).min(rows - 1);
            }
            Step::Name | Step::Confirm => {}
        }
    }

    fn next(&mut self, shared: &Shared) -> Vec<Action> {
        self.problem = None;
        match self.step() {
            Step::Name => {
                let name = self.integration();
                if let Err(problem) = setup::check_name(&name) {
                    self.problem = Some(problem);
                    return Vec::new();
                }
                if shared.report.integrations.iter().any(|i| i.name == name) {
                    self.problem = Some(format!(
                        "an integration named {name:?} exists; choose another name, or change that one from the home screen (Enter)"
                    ));
                } else {
                    self.steps.push(Step::Mode);
                }
            }
            Step::Mode => self.steps.push(Step::App),
            Step::App => {
                if self.system {
                    if let Err(reason) = &shared.system_app {
                        self.problem = Some(format!("System is not available: {reason}"));
                    } else if let Some(problem) = self.system_problem(shared) {
                        self.problem = Some(problem);
                    } else {
                        self.steps.push(Step::Confirm);
                    }
                } else {
                    self.preselect_profile(shared);
                    self.steps.push(Step::Profile);
                }
            }
            Step::Profile => match self.selected_profile(shared) {
                None => {
                    return vec![Action::Push(super::Screen::ProfileForm(Box::new(
                        super::profile_form::ProfileForm::new(
                            crate::service::draft::ProfileDraft::new(&shared.endpoints),
                            None,
                            Some(self.mode),
                        ),
                    )))];
                }
                Some(profile) => {
                    let label = format!("The profile {:?}", profile.name);
                    if let Some(problem) =
                        setup::offline_access_problem(self.mode, &label, &profile.scopes)
                    {
                        self.problem = Some(format!("{problem}. Press e to edit the profile."));
                    } else {
                        self.steps.push(Step::Confirm);
                    }
                }
            },
            Step::Confirm => {
                if self.tokens_dropped(shared) > 0 {
                    self.confirming = true;
                    return Vec::new();
                }
                return self.save(shared);
            }
        }
        Vec::new()
    }

    fn system_problem(&self, shared: &Shared) -> Option<String> {
        let system = shared.system_app.as_ref().ok()?;
        setup::offline_access_problem(
            self.mode,
            &format!("The system app {:?}", system.name),
            &system.scopes,
        )
    }

    fn preselect_profile(&mut self, shared: &Shared) {
        if let Some(Existing {
            app: AppRef::Custom(current),
            ..
        }) = &self.existing
        {
            if let Some(index) = self
                .profiles(shared)
                .iter()
                .position(|p| &p.name == current)
            {
                self.profile = index;
            }
        }
    }

    fn save(&mut self, shared: &Shared) -> Vec<Action> {
        let Some(plan) = self.plan(shared) else {
            self.problem = Some("Choose a profile first.".into());
            return Vec::new();
        };
        self.saving = true;
        vec![
            Action::Run(Effect::SaveIntegration { plan }),
            Action::Say("Saving…".into()),
        ]
    }

    pub fn on_outcome(&mut self, outcome: &Outcome, shared: &Shared) -> Vec<Action> {
        match outcome {
            Outcome::IntegrationSaved(Ok(name)) if self.saving => {
                self.saving = false;
                let next = match self.mode {
                    Mode::PreAuthorized => "ready to authorize",
                    Mode::UserAuthorized => "enabled: end users authorize through their own link",
                };
                vec![Action::Pop, Action::Say(format!("Saved {name}: {next}."))]
            }
            Outcome::IntegrationSaved(Err(sentence)) if self.saving => {
                self.saving = false;
                self.problem = Some(sentence.clone());
                vec![Action::Warn("Not saved.".into())]
            }
            // A profile created from the profile step: select it and go on.
            Outcome::ProfileSaved(Ok(name)) if self.step() == Step::Profile => {
                let mut names: Vec<&str> = shared
                    .report
                    .profiles
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect();
                if !names.contains(&name.as_str()) {
                    names.push(name);
                    names.sort_unstable();
                }
                self.profile = names.iter().position(|n| n == name).unwrap_or(0);
                Vec::new()
            }
            Outcome::ProfileOpened {
                draft: Ok(draft),
                mode,
            } if self.step() == Step::Profile => {
                let original = Some(draft.name.clone());
                vec![Action::Push(super::Screen::ProfileForm(Box::new(
                    super::profile_form::ProfileForm::new((**draft).clone(), original, *mode),
                )))]
            }
            Outcome::ProfileOpened {
                draft: Err(sentence),
                ..
            } => vec![Action::Warn(sentence.clone())],
            _ => Vec::new(),
        }
    }

    pub fn hints(&self) -> &'static str {
        match self.step() {
            Step::Name => "type a name · Enter next · Esc cancel · F1 help",
            Step::Profile => "↑↓ choose · Enter select · n new · e edit · Esc back · ? help",
            Step::Confirm => "Enter save · Esc back · ? help",
            Step::Mode | Step::App => "↑↓ choose · Enter next · Esc back · ? help",
        }
    }

    pub fn render(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let [progress, body, problem] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Fill(1),
            Constraint::Length(4),
        ])
        .areas(area);
        let steps = self.steps.iter().map(|s| s.title()).collect::<Vec<_>>();
        frame.render_widget(
            Paragraph::new(vec![
                Line::from(vec![
                    Span::styled(format!("Set up {} ", self.integration()), theme.title()),
                    Span::styled(format!("· step {}", steps.len()), theme.dim()),
                ]),
                Line::styled(self.step().title(), theme.title()),
            ]),
            progress,
        );
        match self.step() {
            Step::Name => self.render_name(shared, frame, body),
            Step::Mode => render_choices(
                frame,
                body,
                theme,
                &mode_choices(),
                usize::from(self.mode == Mode::UserAuthorized),
            ),
            Step::App => render_choices(
                frame,
                body,
                theme,
                &app_choices(shared, self.mode),
                usize::from(!self.system),
            ),
            Step::Profile => self.render_profiles(shared, frame, body),
            Step::Confirm => self.render_summary(shared, frame, body),
        }
        let text = if self.confirming {
            Some((
                format!(
                    "This drops {} token(s) issued for the old app or mode; their users must authorize again. Press y to go ahead, any other key to keep things as they are.",
                    self.tokens_dropped(shared)
                ),
                theme.warn(),
            ))
        } else {
            self.problem.clone().map(|p| (p, theme.bad()))
        };
        if let Some((text, style)) = text {
            frame.render_widget(
                Paragraph::new(Line::styled(text, style)).wrap(Wrap { trim: true }),
                problem,
            );
        }
    }

    fn render_name(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let [label, field, note] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(3),
            Constraint::Fill(1),
        ])
        .areas(area);
        frame.render_widget(
            Paragraph::new("A short name for this Jira connection (letters, digits, - _ .):"),
            label,
        );
        self.name
            .render(frame, field, Line::raw(" Name "), shared.theme, true, false);
        frame.render_widget(
            Paragraph::new(Line::styled(
                "Scripts use it: jira-auth token --integration NAME. Most hosts need only one, named jira.",
                shared.theme.dim(),
            )),
            note,
        );
    }

    fn render_profiles(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let profiles = self.profiles(shared);
        let mut items: Vec<ListItem> = profiles
            .iter()
            .map(|p| {
                let offline = p
                    .scopes
                    .iter()
                    .any(|s| s == crate::validate::OFFLINE_ACCESS);
                let note = match (self.mode, offline) {
                    (Mode::PreAuthorized, false) => {
                        Span::styled("  lacks offline_access", theme.bad())
                    }
                    _ => Span::styled(format!("  {} scopes", p.scopes.len()), theme.dim()),
                };
                ListItem::new(Line::from(vec![
                    Span::raw(format!("{:<20} {}", p.name, p.client_id)),
                    note,
                ]))
            })
            .collect();
        items.push(ListItem::new(Line::styled("+ Create new…", theme.key())));
        let list = List::new(items)
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(theme.border())
                    .title(" Authorization profiles "),
            )
            .highlight_style(theme.selected())
            .highlight_symbol("› ");
        let mut state = ListState::default().with_selected(Some(self.profile));
        frame.render_stateful_widget(list, area, &mut state);
    }

    fn render_summary(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let label = |text: &'static str| Span::styled(format!("{text:<18}"), theme.dim());
        let mut lines = vec![
            Line::from(vec![label("Integration"), Span::raw(self.integration())]),
            Line::from(vec![label("Authorization"), Span::raw(self.mode.title())]),
        ];
        let (app_line, callback) = if self.system {
            match &shared.system_app {
                Ok(system) => (
                    format!("System: {} (client {})", system.name, system.client_id),
                    system.callback_url.clone(),
                ),
                Err(_) => ("System".to_owned(), String::new()),
            }
        } else {
            match self.selected_profile(shared) {
                Some(p) => (
                    format!("Custom: profile {} (client {})", p.name, p.client_id),
                    p.callback_url.clone(),
                ),
                None => ("Custom".to_owned(), String::new()),
            }
        };
        lines.push(Line::from(vec![label("App"), Span::raw(app_line)]));
        if !callback.is_empty() {
            lines.push(Line::from(vec![label("Callback URL"), Span::raw(callback)]));
        }
        if let Some(existing) = &self.existing {
            lines.push(Line::raw(""));
            lines.push(Line::from(vec![
                label("Replaces"),
                Span::raw(format!(
                    "{} through {}",
                    existing.mode.title(),
                    existing.app
                )),
            ]));
            let dropped = self.tokens_dropped(shared);
            if dropped > 0 {
                lines.push(Line::styled(
                    format!("Saving drops the {dropped} token(s) issued for the old app or mode."),
                    theme.warn(),
                ));
            }
        }
        lines.push(Line::raw(""));
        lines.push(match self.mode {
            Mode::PreAuthorized => Line::raw(
                "Enter saves the integration. Next, authorize it once in your browser; one token then serves every user, and the integration is enabled.",
            ),
            Mode::UserAuthorized => Line::raw(
                "Enter saves and enables the integration. Each end user then authorizes through a personal link; one token per user.",
            ),
        });
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
    }
}

fn mode_choices() -> Vec<(String, String, bool)> {
    vec![
        (
            Mode::PreAuthorized.title().to_owned(),
            "Authorize now, once; one token serves every user. Needs offline_access.".to_owned(),
            true,
        ),
        (
            Mode::UserAuthorized.title().to_owned(),
            "Each end user authorizes at run time through a link; one token per user.".to_owned(),
            true,
        ),
    ]
}

fn app_choices(shared: &Shared, mode: Mode) -> Vec<(String, String, bool)> {
    let system = match &shared.system_app {
        Ok(system) => {
            let problem = setup::offline_access_problem(mode, "It", &system.scopes);
            (
                format!("System: {}", system.name),
                problem.unwrap_or_else(|| {
                    format!(
                        "This installation's preconfigured app (client {}).",
                        system.client_id
                    )
                }),
                true,
            )
        }
        Err(reason) => ("System (unavailable)".to_owned(), reason.clone(), false),
    };
    vec![
        system,
        (
            "Custom".to_owned(),
            "An authorization profile from your own Atlassian app: pick one or create it."
                .to_owned(),
            true,
        ),
    ]
}

fn render_choices(
    frame: &mut Frame,
    area: Rect,
    theme: Theme,
    choices: &[(String, String, bool)],
    selected: usize,
) {
    let items: Vec<ListItem> = choices
        .iter()
        .map(|(title, description, enabled)| {
            let title_style = if *enabled { theme.title() } else { theme.dim() };
            ListItem::new(vec![
                Line::styled(title.clone(), title_style),
                Line::styled(format!("  {description}"), theme.dim()),
                Line::raw(""),
            ])
        })
        .collect();
    let list = List::new(items)
        .highlight_style(theme.selected())
        .highlight_symbol("› ");
    let mut state = ListState::default().with_selected(Some(selected));
    frame.render_stateful_widget(list, area, &mut state);
}
