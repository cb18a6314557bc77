//! The set-up wizard (DESIGN.md screens 2a-2e): name, how Jira is authorized, which app,
//! which profile, then a summary to confirm. Esc steps back keeping every choice; nothing is
//! saved until the final confirm.

use crossterm::event::{KeyCode, KeyEvent};

use crate::domain::{AppRef, Mode};
use crate::service::setup::{self, SetupPlan};
use crate::service::status::ProfileStatus;
use crate::tui::action::Action;
use crate::tui::keymap::{self, Binding, Footer, Global, Hint, Key};
use crate::tui::message::{Effect, Outcome};
use crate::tui::shared::Shared;
use crate::tui::widgets::{Confirm, TextField, UrlKey};
use crate::validate::identifier;
use crate::validate::text::quoted;

use super::authorize::AuthorizeScreen;

/// What this screen opens on top of itself: the stack's screen type makes each of these
/// (a bound, so this file does not name the stack and imports nothing above it).
pub trait Opens:
    From<Box<super::profile_form::ProfileForm>> + From<Box<super::authorize::AuthorizeScreen>>
{
}
impl<S: From<Box<super::profile_form::ProfileForm>> + From<Box<super::authorize::AuthorizeScreen>>>
    Opens for S
{
}

mod view;

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
    /// Waiting for a yes on a change that drops tokens.
    confirm: Option<Confirm<()>>,
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
    CopyLink,
    BareLink,
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
    Binding {
        keys: &[UrlKey::Copy.key()],
        label: UrlKey::Copy.label(),
        description: "copy the end user's link (user-authorized summary)",
        action: WizardAction::CopyLink,
    },
    Binding {
        keys: &[UrlKey::Bare.key()],
        label: UrlKey::Bare.label(),
        description: "the end user's link bare on the normal screen, one line to select with the mouse (any key returns)",
        action: WizardAction::BareLink,
    },
];

impl Hint for WizardAction {
    fn hint(self) -> &'static str {
        match self {
            WizardAction::Up | WizardAction::Down => "choose",
            WizardAction::Next => "go on",
            WizardAction::Back => "back",
            WizardAction::NewProfile => "new",
            WizardAction::EditProfile => "edit",
            WizardAction::CopyLink => UrlKey::Copy.hint(),
            WizardAction::BareLink => UrlKey::Bare.hint(),
        }
    }
}

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
            confirm: None,
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

    /// The name as typed: the identifier rule refuses surrounding spaces rather than
    /// trimming them, here as in `jira-auth setup`.
    fn integration(&self) -> String {
        self.name.value().to_owned()
    }

    /// The profiles offered, by name (the last row of the list is "Create new").
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

    /// Tokens the plan would drop.
    fn tokens_dropped(&self, shared: &Shared) -> usize {
        match (&self.existing, self.plan(shared)) {
            (Some(existing), Some(plan))
                if setup::invalidates_tokens(existing.mode, &existing.app, &plan) =>
            {
                existing.tokens
            }
            _ => 0,
        }
    }

    pub fn on_paste<S: Opens>(&mut self, text: &str) -> Vec<Action<S>> {
        if self.step() == Step::Name
            && let Err(problem) = self.name.paste(text)
        {
            return vec![Action::Warn(problem)];
        }
        Vec::new()
    }

    pub fn on_key<S: Opens>(&mut self, key: &KeyEvent, shared: &Shared) -> Vec<Action<S>> {
        if self.saving {
            return Vec::new();
        }
        if let Some(confirm) = self.confirm.take() {
            return match confirm.answer(key) {
                Some(()) => self.save(shared),
                None => vec![Action::Say("Nothing was changed.".into())],
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
                return vec![Action::Push(S::from(Box::new(
                    super::profile_form::ProfileForm::new(
                        crate::service::draft::ProfileDraft::new(&shared.endpoints),
                        None,
                        Some(self.mode),
                    ),
                )))];
            }
            Some(action @ (WizardAction::CopyLink | WizardAction::BareLink)) => {
                let key = if action == WizardAction::CopyLink {
                    UrlKey::Copy
                } else {
                    UrlKey::Bare
                };
                if let Some(link) = self.link_url(shared) {
                    return vec![Action::Run(key.effect(&link, "end user's link"))];
                }
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

    fn next<S: Opens>(&mut self, shared: &Shared) -> Vec<Action<S>> {
        self.problem = None;
        match self.step() {
            Step::Name => {
                let name = self.integration();
                if let Err(problem) = identifier::integration_name(&name) {
                    self.problem = Some(problem.to_string());
                    return Vec::new();
                }
                if shared.report.integrations.iter().any(|i| i.name == name) {
                    self.problem = Some(format!(
                        "an integration named {} exists; choose another name, or change that one from the home screen (Enter)",
                        quoted(&name)
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
                    return vec![Action::Push(S::from(Box::new(
                        super::profile_form::ProfileForm::new(
                            crate::service::draft::ProfileDraft::new(&shared.endpoints),
                            None,
                            Some(self.mode),
                        ),
                    )))];
                }
                Some(profile) => {
                    let label = format!("The profile {}", quoted(&profile.name));
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
                let dropped = self.tokens_dropped(shared);
                if dropped > 0 {
                    self.confirm = Some(Confirm::new(
                        format!(
                            "This drops {dropped} token(s) issued for the old app or mode; their users must authorize again."
                        ),
                        "go ahead",
                        "keep things as they are",
                        (),
                    ));
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
            &format!("The system app {}", quoted(&system.name)),
            &system.scopes,
        )
    }

    fn preselect_profile(&mut self, shared: &Shared) {
        if let Some(Existing {
            app: AppRef::Custom(current),
            ..
        }) = &self.existing
            && let Some(index) = self
                .profiles(shared)
                .iter()
                .position(|p| &p.name == current)
        {
            self.profile = index;
        }
    }

    fn save<S: Opens>(&mut self, shared: &Shared) -> Vec<Action<S>> {
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

    pub fn on_outcome<S: Opens>(&mut self, outcome: &Outcome, shared: &Shared) -> Vec<Action<S>> {
        match outcome {
            Outcome::IntegrationSaved(Ok(name)) if self.saving => {
                self.saving = false;
                match self.mode {
                    // The seed's next step: Authorize, then the integration is enabled.
                    Mode::PreAuthorized => {
                        let (screen, prepare) =
                            AuthorizeScreen::open(name, self.mode, shared.desktop_browser);
                        let mut actions = vec![
                            Action::Pop,
                            Action::Push(S::from(Box::new(screen))),
                            Action::Say(format!("Saved {name}; authorize it now.")),
                        ];
                        actions.extend(prepare);
                        actions
                    }
                    Mode::UserAuthorized => vec![
                        Action::Pop,
                        Action::Say(format!(
                            "Saved {name}: enabled; end users authorize through their own link."
                        )),
                    ],
                }
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
                stored_secret,
            } if self.step() == Step::Profile => {
                vec![Action::Push(S::from(Box::new(
                    super::profile_form::ProfileForm::opened(draft, *mode, *stored_secret),
                )))]
            }
            Outcome::ProfileOpened {
                draft: Err(sentence),
                ..
            } => vec![Action::Warn(sentence.clone())],
            _ => Vec::new(),
        }
    }

    pub fn footer(&self, shared: &Shared) -> Footer {
        use WizardAction::{Back, BareLink, CopyLink, Down, EditProfile, NewProfile, Next, Up};
        if let Some(confirm) = &self.confirm {
            return confirm.footer();
        }
        let footer = match self.step() {
            Step::Name => Footer::new()
                .prompt("type a name")
                .keys(KEYS, &[Next, Back]),
            Step::Profile => {
                Footer::new().keys(KEYS, &[Up, Down, Next, NewProfile, EditProfile, Back])
            }
            Step::Confirm if self.link_url(shared).is_some() => {
                Footer::new().keys(KEYS, &[Next, CopyLink, BareLink, Back])
            }
            Step::Confirm => Footer::new().keys(KEYS, &[Next, Back]),
            Step::Mode | Step::App => Footer::new().keys(KEYS, &[Up, Down, Next, Back]),
        };
        footer.global(self.captures_text(), &[Global::Help])
    }
}
