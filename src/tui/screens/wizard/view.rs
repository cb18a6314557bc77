//! Drawing the wizard: one view per step, the progress line and the problem or prompt line.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph, Wrap};

use crate::domain::Mode;
use crate::service::authorize::{PREVIEW_STATE, PublicApp, authorization_url_for};
use crate::service::setup;
use crate::tui::keymap::Footer;
use crate::tui::shared::Shared;
use crate::tui::theme::Theme;
use crate::tui::widgets::{fit, wrap_words};

use super::{KEYS, Step, Wizard, WizardAction};

impl Wizard {
    /// The end user's link while the summary shows it: the screen's long URL, linked
    /// (OSC 8), copied and shown bare like the authorization URL.
    pub fn link_url(&self, shared: &Shared) -> Option<String> {
        if self.step() == Step::Confirm
            && self.mode == Mode::UserAuthorized
            && self.confirm.is_none()
        {
            self.link_preview(shared)
        } else {
            None
        }
    }

    /// The authorization URL an end user of this set-up would open, as `authorize --user`
    /// builds it, with a placeholder where each real link carries its own state.
    fn link_preview(&self, shared: &Shared) -> Option<String> {
        let app = if self.system {
            let system = shared.system_app.as_ref().ok()?;
            PublicApp {
                authorization_url: &system.authorization_url,
                client_id: &system.client_id,
                scopes: &system.scopes,
                callback_url: &system.callback_url,
            }
        } else {
            let profile = self.selected_profile(shared)?;
            PublicApp {
                authorization_url: &profile.authorization_url,
                client_id: &profile.client_id,
                scopes: &profile.scopes,
                callback_url: &profile.callback_url,
            }
        };
        Some(authorization_url_for(&app, PREVIEW_STATE).to_string())
    }

    pub fn render(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        // The problem's sentence is kept whole: its rows are counted as it will wrap.
        let problem_rows = self
            .problem
            .as_deref()
            .map_or(0, |text| wrap_words(text, usize::from(area.width)).len());
        let [progress, body, problem] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Fill(1),
            Constraint::Length(u16::try_from(problem_rows.max(4)).unwrap_or(4)),
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
        if let Some(confirm) = &self.confirm {
            confirm.render(frame, problem, theme);
        } else if let Some(text) = &self.problem {
            frame.render_widget(
                Paragraph::new(Line::styled(text.clone(), theme.bad())).wrap(Wrap { trim: true }),
                problem,
            );
        }
    }

    fn render_name(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let [label, field, note] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Length(3),
            Constraint::Fill(1),
        ])
        .areas(area);
        frame.render_widget(
            Paragraph::new("A short name for this Jira connection (letters, digits, - _ .):")
                .wrap(Wrap { trim: true }),
            label,
        );
        self.name
            .render(frame, field, Line::raw(" Name "), shared.theme, true, false);
        frame.render_widget(
            Paragraph::new(Line::styled(
                "Scripts use it: jira-auth token --integration NAME. Most hosts need only one, named jira.",
                shared.theme.dim(),
            ))
            .wrap(Wrap { trim: true }),
            note,
        );
    }

    fn render_profiles(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let profiles = self.profiles(shared);
        // Borders and the highlight symbol take 4 columns; the note after the client id
        // goes under it when the row has no room for it.
        let room = usize::from(area.width.saturating_sub(4));
        let mut items: Vec<ListItem> = profiles
            .iter()
            .map(|p| {
                let note = if setup::lacks_offline_access(self.mode, &p.scopes) {
                    Span::styled("  lacks offline_access", theme.bad())
                } else {
                    Span::styled(format!("  {} scopes", p.scopes.len()), theme.dim())
                };
                let head = fit(&format!("{:<20} {}", p.name, p.client_id), room);
                if head.chars().count() + note.width() <= room {
                    ListItem::new(Line::from(vec![Span::raw(head), note]))
                } else {
                    ListItem::new(vec![Line::raw(head), Line::from(note)])
                }
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
        if self.mode == Mode::UserAuthorized
            && let Some(link) = self.link_preview(shared)
        {
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                "An end user's link looks like this (the state is made fresh for each user and attempt):",
                theme.dim(),
            ));
            lines.push(Line::raw(link));
            let keys = Footer::new().keys(KEYS, &[WizardAction::CopyLink, WizardAction::BareLink]);
            lines.push(Line::from(keys.spans(theme.key())));
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
    // The list's highlight symbol and the indent take 4 columns; a description (a reason
    // with a path in it, say) wraps at word boundaries instead of running off the edge.
    let width = usize::from(area.width.saturating_sub(4)).max(20);
    let items: Vec<ListItem> = choices
        .iter()
        .map(|(title, description, enabled)| {
            let title_style = if *enabled { theme.title() } else { theme.dim() };
            let mut lines = vec![Line::styled(title.clone(), title_style)];
            lines.extend(
                crate::tui::widgets::wrap_words(description, width)
                    .into_iter()
                    .map(|line| Line::styled(format!("  {line}"), theme.dim())),
            );
            lines.push(Line::raw(""));
            ListItem::new(lines)
        })
        .collect();
    let list = List::new(items)
        .highlight_style(theme.selected())
        .highlight_symbol("› ");
    let mut state = ListState::default().with_selected(Some(selected));
    frame.render_stateful_widget(list, area, &mut state);
}
