//! The authorization-profile form (DESIGN.md screen 2d): every field of the seed's Custom
//! profile, each checked the moment it is typed or pasted, a checklist of the developer-console
//! steps ii-xi beside it, the callback URL to copy, and the scope picker. Pasting the console's
//! generated authorization URL into any URL field (or the client ID) fills four fields at once.

mod view;

use std::collections::HashSet;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::domain::{Mode, Secret};
use crate::service::draft::{DraftCheck, ProfileDraft};
use crate::service::setup;
use crate::tui::action::Action;
use crate::tui::keymap::{self, Binding, Footer, Global, Hint, Key};
use crate::tui::message::{Effect, Outcome};
use crate::tui::shared::Shared;
use crate::tui::widgets::scope_picker::{PickerOutcome, ScopePicker};
use crate::tui::widgets::{Confirm, TextField};
use crate::validate::text::quoted;
use crate::validate::{Catalog, Field, OFFLINE_ACCESS, Severity, generated, scopes};

/// Checked in place of a secret the form has not seen: a well-formed current-shape secret.
const STORED_SECRET_STAND_IN: &str =
    "ATOA0000000000000000000000000000000000000000000000000000000000000000000000000";

/// The rows of the form, in the order the validators list the fields. Mechanism is shown
/// but has one choice.
pub const ROWS: [Field; 9] = Field::ALL;

#[derive(Debug)]
pub struct ProfileForm {
    original: Option<String>,
    mode: Option<Mode>,
    name: TextField,
    client_id: TextField,
    client_secret: TextField,
    callback_url: TextField,
    authorization_url: TextField,
    token_url: TextField,
    refresh_url: TextField,
    scopes: TextField,
    focus: usize,
    reveal: bool,
    /// Editing a profile whose secret stays in the agent: an empty secret field keeps it,
    /// and Ctrl-R fetches it only when asked.
    stored_secret: bool,
    /// The callback URL is editable (for admins who registered an https callback).
    advanced: bool,
    /// The callback URL was copied (or the profile exists): the seed's step vi is done.
    callback_registered: bool,
    picker: Option<ScopePicker>,
    /// Waiting for a yes before dropping the changes.
    discard: Option<Confirm<()>>,
    saving: bool,
    initial: ProfileDraft,
    check: Option<DraftCheck>,
    message: Option<(String, bool)>,
    /// Fields the admin has changed: their verdicts show at once; the others' after Ctrl-S,
    /// so a fresh form does not open as a wall of red.
    touched: HashSet<Field>,
    save_attempted: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FormAction {
    Next,
    Previous,
    Save,
    Reveal,
    Copy,
    Advanced,
    Picker,
    Back,
}

const KEYS: &[Binding<FormAction>] = &[
    Binding {
        keys: &[Key::plain(KeyCode::Tab), Key::plain(KeyCode::Down)],
        label: "Tab ↓",
        description: "next field",
        action: FormAction::Next,
    },
    Binding {
        keys: &[Key::plain(KeyCode::BackTab), Key::plain(KeyCode::Up)],
        label: "S-Tab ↑",
        description: "previous field",
        action: FormAction::Previous,
    },
    Binding {
        keys: &[Key::ctrl('s')],
        label: "Ctrl-S",
        description: "check every field and save the profile",
        action: FormAction::Save,
    },
    Binding {
        keys: &[Key::ctrl('r')],
        label: "Ctrl-R",
        description: "reveal or hide the client secret",
        action: FormAction::Reveal,
    },
    Binding {
        keys: &[Key::ctrl('y')],
        label: "Ctrl-Y",
        description: "copy the callback URL (register it in the app, step vi)",
        action: FormAction::Copy,
    },
    Binding {
        keys: &[Key::ctrl('e')],
        label: "Ctrl-E",
        description: "advanced: edit the callback URL (an https callback you registered)",
        action: FormAction::Advanced,
    },
    Binding {
        keys: &[Key::ctrl('p')],
        label: "Ctrl-P",
        description: "pick scopes from the catalog (also Enter on Scopes)",
        action: FormAction::Picker,
    },
    Binding {
        keys: &[Key::plain(KeyCode::Esc)],
        label: "Esc",
        description: "back (asks before dropping changes)",
        action: FormAction::Back,
    },
];

impl Hint for FormAction {
    fn hint(self) -> &'static str {
        match self {
            FormAction::Next => "next",
            FormAction::Previous => "previous",
            FormAction::Save => "save",
            FormAction::Reveal => "reveal",
            FormAction::Copy => "copy callback",
            FormAction::Advanced => "edit callback",
            FormAction::Picker => "scopes",
            FormAction::Back => "back",
        }
    }
}

pub fn help_rows() -> Vec<(&'static str, &'static str)> {
    let mut rows = keymap::describe(KEYS);
    rows.push(("Enter", "next field; on the callback URL: copy it"));
    rows.push((
        "Ctrl-V",
        "paste: the generated authorization URL fills four fields at once",
    ));
    rows.push(("Ctrl-U Ctrl-W", "clear the field / delete a word"));
    rows
}

impl ProfileForm {
    pub fn new(draft: ProfileDraft, original: Option<String>, mode: Option<Mode>) -> Self {
        let field = |value: &str| TextField::new(value);
        ProfileForm {
            name: TextField::with_cap(&draft.name, 64),
            client_id: field(&draft.client_id),
            client_secret: field(draft.client_secret.expose()),
            callback_url: field(&draft.callback_url),
            authorization_url: field(&draft.authorization_url),
            token_url: field(&draft.token_url),
            refresh_url: field(&draft.refresh_url),
            scopes: field(&draft.scopes),
            focus: 0,
            reveal: false,
            stored_secret: false,
            advanced: false,
            callback_registered: original.is_some(),
            picker: None,
            discard: None,
            saving: false,
            check: None,
            message: None,
            touched: HashSet::new(),
            save_attempted: original.is_some(),
            original,
            mode,
            initial: draft,
        }
    }

    /// The form for editing a stored profile, as the agent opened it: its secret kept back
    /// when `stored_secret`.
    pub fn opened(draft: &ProfileDraft, mode: Option<Mode>, stored_secret: bool) -> Self {
        let mut form = ProfileForm::new(draft.clone(), Some(draft.name.clone()), mode);
        form.stored_secret = stored_secret;
        form
    }

    /// True while the secret field is empty on a profile that has one: saving keeps it.
    pub fn keeps_stored_secret(&self) -> bool {
        self.stored_secret && self.client_secret.value().is_empty()
    }

    pub fn draft(&self) -> ProfileDraft {
        ProfileDraft {
            name: self.name.value().to_owned(),
            client_id: self.client_id.value().to_owned(),
            client_secret: Secret::new(self.client_secret.value()),
            callback_url: self.callback_url.value().to_owned(),
            authorization_url: self.authorization_url.value().to_owned(),
            token_url: self.token_url.value().to_owned(),
            refresh_url: self.refresh_url.value().to_owned(),
            scopes: self.scopes.value().to_owned(),
        }
    }

    pub fn focused(&self) -> Field {
        ROWS[self.focus]
    }

    fn field_mut(&mut self, field: Field) -> Option<&mut TextField> {
        match field {
            Field::Name => Some(&mut self.name),
            Field::ClientId => Some(&mut self.client_id),
            Field::ClientSecret => Some(&mut self.client_secret),
            Field::CallbackUrl if self.advanced => Some(&mut self.callback_url),
            Field::AuthorizationUrl => Some(&mut self.authorization_url),
            Field::TokenUrl => Some(&mut self.token_url),
            Field::RefreshUrl => Some(&mut self.refresh_url),
            Field::Scopes => Some(&mut self.scopes),
            Field::Mechanism | Field::CallbackUrl => None,
        }
    }

    pub fn field(&self, field: Field) -> Option<&TextField> {
        match field {
            Field::Name => Some(&self.name),
            Field::ClientId => Some(&self.client_id),
            Field::ClientSecret => Some(&self.client_secret),
            Field::CallbackUrl => Some(&self.callback_url),
            Field::AuthorizationUrl => Some(&self.authorization_url),
            Field::TokenUrl => Some(&self.token_url),
            Field::RefreshUrl => Some(&self.refresh_url),
            Field::Scopes => Some(&self.scopes),
            Field::Mechanism => None,
        }
    }

    /// The findings of the last check (recomputed after every change).
    pub fn check(&self) -> Option<&DraftCheck> {
        self.check.as_ref()
    }

    fn recheck(&mut self, shared: &Shared) {
        let mut draft = self.draft();
        if self.keeps_stored_secret() {
            // The stored secret passed these checks when it was saved; judge the rest.
            draft.client_secret = Secret::new(STORED_SECRET_STAND_IN);
        }
        let mut check = draft.check(&shared.endpoints, Catalog::builtin(), shared.now);
        // Empty scopes already have their own finding from the draft's check.
        let scopes = scopes::split(self.scopes.value());
        if let Some(mode) = self.mode
            && !scopes.is_empty()
            && let Some(problem) = setup::offline_access_problem(mode, "This profile", &scopes)
        {
            check.findings.push(crate::validate::Finding::error(
                Field::Scopes,
                format!("{problem}."),
                "",
            ));
            check.profile = None;
        }
        self.check = Some(check);
    }

    /// Whether the scopes as typed fall short of the mode this profile is made for.
    fn lacks_offline_access(&self) -> bool {
        let scopes = scopes::split(self.scopes.value());
        self.mode
            .is_some_and(|mode| setup::lacks_offline_access(mode, &scopes))
    }

    pub fn captures_text(&self) -> bool {
        self.discard.is_none()
    }

    pub fn footer(&self) -> Footer {
        use FormAction::{Copy, Next, Picker, Reveal, Save};
        if let Some(picker) = &self.picker {
            picker.footer().global(true, &[Global::Help])
        } else if let Some(confirm) = &self.discard {
            confirm.footer()
        } else {
            Footer::new()
                .keys(KEYS, &[Next, Save, Copy, Reveal, Picker])
                .global(true, &[Global::Help])
        }
    }

    fn changed(&self) -> bool {
        self.draft() != self.initial
    }

    pub fn on_paste<S>(&mut self, text: &str, shared: &Shared) -> Vec<Action<S>> {
        if let Some(picker) = &mut self.picker {
            if let Err(problem) = picker.query.paste(text) {
                return vec![Action::Warn(problem)];
            }
            return Vec::new();
        }
        let target = self.focused();
        let fills = matches!(
            target,
            Field::ClientId
                | Field::AuthorizationUrl
                | Field::TokenUrl
                | Field::RefreshUrl
                | Field::CallbackUrl
        );
        if fills && let Some(found) = generated::parse(text, &shared.endpoints) {
            let mut draft = self.draft();
            draft.apply_generated(&found);
            self.client_id.set(&draft.client_id);
            self.scopes.set(&draft.scopes);
            self.callback_url.set(&draft.callback_url);
            self.authorization_url.set(&draft.authorization_url);
            self.touched.extend([
                Field::ClientId,
                Field::Scopes,
                Field::CallbackUrl,
                Field::AuthorizationUrl,
            ]);
            self.recheck(shared);
            self.message = Some((
                "Filled the client ID, scopes, callback URL and authorization URL from the generated authorization URL."
                    .into(),
                false,
            ));
            return Vec::new();
        }
        let Some(field) = self.field_mut(target) else {
            self.message = Some((
                "This field is read-only; Ctrl-E makes the callback URL editable.".into(),
                true,
            ));
            return Vec::new();
        };
        match field.paste(text) {
            Ok(()) => {
                self.touched.insert(target);
                self.message = None;
                self.recheck(shared);
                Vec::new()
            }
            Err(problem) => {
                self.message = Some((problem.clone(), true));
                vec![Action::Warn(problem)]
            }
        }
    }

    pub fn on_key<S>(&mut self, key: &KeyEvent, shared: &Shared) -> Vec<Action<S>> {
        if self.check.is_none() {
            self.recheck(shared);
        }
        if self.saving {
            return Vec::new();
        }
        if let Some(picker) = &mut self.picker {
            if let PickerOutcome::Done(chosen) = picker.key(key, Catalog::builtin()) {
                self.scopes.set(&chosen.join(" "));
                self.touched.insert(Field::Scopes);
                self.picker = None;
                self.recheck(shared);
            }
            return Vec::new();
        }
        if let Some(confirm) = self.discard.take() {
            return match confirm.answer(key) {
                Some(()) => vec![Action::Pop, Action::Say("Changes dropped.".into())],
                None => Vec::new(),
            };
        }
        match keymap::lookup(KEYS, key) {
            Some(FormAction::Next) => self.focus = (self.focus + 1) % ROWS.len(),
            Some(FormAction::Previous) => self.focus = (self.focus + ROWS.len() - 1) % ROWS.len(),
            Some(FormAction::Save) => return self.save(shared),
            Some(FormAction::Reveal) => return self.toggle_reveal(),
            Some(FormAction::Copy) => return self.copy_callback(),
            Some(FormAction::Advanced) => {
                self.advanced = !self.advanced;
                self.message = Some((
                    if self.advanced {
                        "The callback URL is editable: it must equal the one registered in the app (step vi).".into()
                    } else {
                        "The callback URL is read-only again.".into()
                    },
                    false,
                ));
            }
            Some(FormAction::Picker) => self.open_picker(),
            Some(FormAction::Back) => {
                if self.changed() {
                    self.discard = Some(Confirm::new(
                        "Drop the changes to this profile?",
                        "drop them",
                        "keep editing",
                        (),
                    ));
                } else {
                    return vec![Action::Pop];
                }
            }
            None => return self.edit(key, shared),
        }
        Vec::new()
    }

    /// Keys that are not the form's go to the focused field; Enter moves on (or acts).
    fn edit<S>(&mut self, key: &KeyEvent, shared: &Shared) -> Vec<Action<S>> {
        if key.code == KeyCode::Enter && !key.modifiers.contains(KeyModifiers::ALT) {
            match self.focused() {
                Field::Scopes => self.open_picker(),
                Field::CallbackUrl if !self.advanced => return self.copy_callback(),
                _ => self.focus = (self.focus + 1) % ROWS.len(),
            }
            return Vec::new();
        }
        let focused = self.focused();
        let changed = self.field_mut(focused).map(|field| field.key(key));
        match changed {
            Some(true) => {
                self.touched.insert(focused);
                self.message = None;
                self.recheck(shared);
            }
            Some(false) => {}
            None if matches!(
                key.code,
                KeyCode::Char(_) | KeyCode::Backspace | KeyCode::Delete
            ) =>
            {
                self.message = Some((
                    match focused {
                        Field::Mechanism => "OAuth v2 is the only mechanism Jira offers (step i).".into(),
                        _ => "The callback URL is fixed: copy it with Ctrl-Y or Enter; Ctrl-E makes it editable.".into(),
                    },
                    false,
                ));
            }
            None => {}
        }
        Vec::new()
    }

    fn toggle_reveal<S>(&mut self) -> Vec<Action<S>> {
        if !self.reveal
            && self.keeps_stored_secret()
            && let Some(name) = &self.original
        {
            // Shown only on this explicit request: the agent hands the secret over now.
            return vec![Action::Run(Effect::RevealSecret { name: name.clone() })];
        }
        self.reveal = !self.reveal;
        Vec::new()
    }

    fn copy_callback<S>(&mut self) -> Vec<Action<S>> {
        vec![Action::Run(Effect::Copy {
            text: self.callback_url.value().to_owned(),
            what: "callback URL".into(),
        })]
    }

    fn open_picker(&mut self) {
        let mut chosen = scopes::split(self.scopes.value());
        let mut picker = ScopePicker::new(Vec::new());
        if self.lacks_offline_access() {
            chosen.push(OFFLINE_ACCESS.to_owned());
            picker.note = Some(
                "Added offline_access: a pre-authorized integration needs it for a refresh token, or its token dies within an hour."
                    .into(),
            );
        }
        picker.selected = chosen;
        self.focus = ROWS.iter().position(|f| *f == Field::Scopes).unwrap_or(0);
        self.picker = Some(picker);
    }

    fn save<S>(&mut self, shared: &Shared) -> Vec<Action<S>> {
        self.save_attempted = true;
        self.recheck(shared);
        let Some(check) = &self.check else {
            return Vec::new();
        };
        if let Some(first) = check.errors().next() {
            let field = first.field;
            let sentence = first.to_string();
            self.focus = ROWS.iter().position(|f| *f == field).unwrap_or(self.focus);
            self.message = Some((format!("Not saved: {sentence}"), true));
            return vec![Action::Warn("Fix the fields marked ✗ first.".into())];
        }
        self.saving = true;
        vec![
            Action::Run(Effect::SaveProfile {
                draft: Box::new(self.draft()),
                original: self.original.clone(),
                keep_secret: self.keeps_stored_secret(),
            }),
            Action::Say("Saving…".into()),
        ]
    }

    pub fn on_outcome<S>(&mut self, outcome: &Outcome, _shared: &Shared) -> Vec<Action<S>> {
        match outcome {
            Outcome::ProfileSaved(Ok(name)) if self.saving => {
                self.saving = false;
                vec![
                    Action::Pop,
                    Action::Say(format!("Saved the profile {}.", quoted(name))),
                ]
            }
            Outcome::ProfileSaved(Err(sentence)) if self.saving => {
                self.saving = false;
                self.message = Some((sentence.clone(), true));
                vec![Action::Warn("Not saved.".into())]
            }
            Outcome::SecretRevealed(Ok(secret)) if self.keeps_stored_secret() => {
                self.client_secret.set(secret);
                // What the agent holds is not a change the admin made.
                self.initial.client_secret = Secret::new(secret.as_str());
                self.reveal = true;
                Vec::new()
            }
            Outcome::SecretRevealed(Err(sentence)) => vec![Action::Warn(sentence.clone())],
            Outcome::Copied {
                what,
                delivered: true,
                ..
            } if what == "callback URL" => {
                self.callback_registered = true;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// The worst finding of a field worth showing: once it was changed, or after a save.
    pub fn worst(&self, field: Field) -> Option<&crate::validate::Finding> {
        if !(self.save_attempted || self.touched.contains(&field)) {
            return None;
        }
        self.check
            .as_ref()?
            .for_field(field)
            .max_by_key(|f| match f.severity {
                Severity::Notice => 0,
                Severity::Warning => 1,
                Severity::Error => 2,
            })
    }
}
