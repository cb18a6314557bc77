//! SCAFFOLD to be replaced entirely by the profile form (helper branch `form`).

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;

use crate::domain::Mode;
use crate::service::draft::ProfileDraft;
use crate::tui::app::{Action, Outcome, Shared};

#[derive(Debug)]
pub struct ProfileForm {
    pub draft: ProfileDraft,
    pub original: Option<String>,
    pub mode: Option<Mode>,
}

pub fn help_rows() -> Vec<(&'static str, &'static str)> {
    Vec::new()
}

impl ProfileForm {
    pub fn new(draft: ProfileDraft, original: Option<String>, mode: Option<Mode>) -> Self {
        ProfileForm {
            draft,
            original,
            mode,
        }
    }

    pub fn on_key(&mut self, key: &KeyEvent, _shared: &Shared) -> Vec<Action> {
        if key.code == KeyCode::Esc {
            vec![Action::Pop]
        } else {
            Vec::new()
        }
    }

    pub fn on_paste(&mut self, _text: &str, _shared: &Shared) -> Vec<Action> {
        Vec::new()
    }

    pub fn on_outcome(&mut self, _outcome: &Outcome, _shared: &Shared) -> Vec<Action> {
        Vec::new()
    }

    pub fn captures_text(&self) -> bool {
        false
    }

    pub fn hints(&self) -> &'static str {
        ""
    }

    pub fn render(&self, _shared: &Shared, _frame: &mut Frame, _area: Rect) {}
}
