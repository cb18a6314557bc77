//! Colours and styles. With `NO_COLOR` set (https://no-color.org) every style falls back to
//! plain text with bold, reverse and underline, so meaning never rides on colour alone.

use ratatui::style::{Color, Modifier, Style};

use crate::domain::TokenState;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    pub fn from_env() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme { color: !no_color }
    }

    pub fn monochrome() -> Self {
        Theme { color: false }
    }

    fn paint(self, color: Color, fallback: Modifier) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new().add_modifier(fallback)
        }
    }

    pub fn title(self) -> Style {
        self.paint(Color::Cyan, Modifier::empty())
            .add_modifier(Modifier::BOLD)
    }

    pub fn dim(self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new()
        }
    }

    pub fn key(self) -> Style {
        self.paint(Color::Yellow, Modifier::BOLD)
            .add_modifier(Modifier::BOLD)
    }

    pub fn good(self) -> Style {
        self.paint(Color::Green, Modifier::empty())
    }

    pub fn warn(self) -> Style {
        self.paint(Color::Yellow, Modifier::BOLD)
    }

    pub fn bad(self) -> Style {
        self.paint(Color::Red, Modifier::BOLD)
            .add_modifier(Modifier::BOLD)
    }

    /// A token state's colour: good when valid, a warning while refreshing helps, bad when it
    /// cannot.
    pub fn token_state(self, state: TokenState) -> Style {
        match state {
            TokenState::Valid => self.good(),
            TokenState::Expiring | TokenState::Expired => self.warn(),
            TokenState::NeedsReauthorization | TokenState::Unsaved => self.bad(),
        }
    }

    pub fn selected(self) -> Style {
        if self.color {
            Style::new()
                .bg(Color::Blue)
                .fg(Color::White)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    pub fn banner(self) -> Style {
        if self.color {
            Style::new()
                .bg(Color::Red)
                .fg(Color::White)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }

    pub fn border(self) -> Style {
        self.dim()
    }
}
