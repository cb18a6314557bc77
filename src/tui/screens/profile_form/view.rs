//! Drawing the profile form: a row per field with its verdict under it, the checklist beside
//! (or below, on a narrow terminal), the scope picker over it, and the message line.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::service::setup;
use crate::tui::shared::Shared;
use crate::tui::theme::Theme;
use crate::tui::widgets::checklist::{self, Step};
use crate::tui::widgets::{fit, wrap_words};
use crate::validate::{Catalog, Field, Severity, scopes};

use super::{ProfileForm, ROWS};

/// The checklist goes beside the form from this width on, below it under.
const SIDE_BY_SIDE: u16 = 100;
const LABEL_WIDTH: usize = 24;

impl ProfileForm {
    fn ok(&self, field: Field) -> bool {
        let filled = self
            .field(field)
            .is_some_and(|f| !f.value().trim().is_empty())
            || field == Field::RefreshUrl
            || (field == Field::ClientSecret && self.keeps_stored_secret());
        filled
            && self
                .worst(field)
                .is_none_or(|f| f.severity != Severity::Error)
    }

    /// The seed's developer-console steps ii-xi, ticked from the form's state.
    pub fn steps(&self) -> Vec<Step> {
        let app_found = self.ok(Field::ClientId);
        let jira_api = scopes::split(self.scopes.value())
            .iter()
            .any(|s| s.contains("jira"));
        let offline = self.mode.is_some_and(setup::needs_offline_access);
        let step = |label, text: &str, done| Step {
            label,
            text: text.to_owned(),
            done,
        };
        vec![
            step("ii", "Log in at developer.atlassian.com", app_found),
            step("iii", "Create an app; open its Settings", app_found),
            step("iv", "Copy the Client ID", self.ok(Field::ClientId)),
            step("v", "Copy the Client secret", self.ok(Field::ClientSecret)),
            step(
                "vi",
                "Register our callback URL (Ctrl-Y)",
                self.callback_registered,
            ),
            step("vii", "Permissions: Add APIs", jira_api),
            step("viii", "Add \"Jira API\", then Configure", jira_api),
            step(
                "ix",
                if offline {
                    "Edit Scopes: select all, plus offline_access"
                } else {
                    "Edit Scopes: select all"
                },
                self.ok(Field::Scopes) && jira_api && !self.lacks_offline_access(),
            ),
            step("x", "Authorization URL", self.ok(Field::AuthorizationUrl)),
            step(
                "xi",
                "Token and refresh URLs",
                self.ok(Field::TokenUrl) && self.ok(Field::RefreshUrl),
            ),
        ]
    }

    pub fn render(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let heading = match (&self.original, self.mode) {
            (Some(name), _) => format!("Edit the authorization profile {name}"),
            (None, Some(mode)) => format!("New authorization profile, for a {mode} integration"),
            (None, None) => "New authorization profile".to_owned(),
        };
        // The heading wraps on a narrow terminal; the rows below give it the line it needs.
        let heading_rows = wrap_words(&heading, usize::from(area.width)).len();
        let [title, body, message] = Layout::vertical([
            Constraint::Length(u16::try_from(heading_rows).unwrap_or(1)),
            Constraint::Fill(1),
            Constraint::Length(3),
        ])
        .areas(area);
        frame.render_widget(
            Paragraph::new(Line::styled(heading, theme.title())).wrap(Wrap { trim: true }),
            title,
        );
        let (form, list) = if body.width >= SIDE_BY_SIDE {
            let [form, list] =
                Layout::horizontal([Constraint::Fill(1), Constraint::Length(46)]).areas(body);
            (form, Some(list))
        } else {
            let rows = u16::try_from(ROWS.len() * 2).unwrap_or(u16::MAX);
            if body.height >= rows + 12 {
                let [form, list] =
                    Layout::vertical([Constraint::Length(rows), Constraint::Fill(1)]).areas(body);
                (form, Some(list))
            } else {
                (body, None)
            }
        };
        self.render_rows(shared, frame, form);
        if let Some(list) = list {
            checklist::render(frame, list, "Developer console", &self.steps(), theme);
        }
        let text = if let Some(confirm) = &self.discard {
            confirm.render(frame, message, theme);
            None
        } else if let Some((text, bad)) = &self.message {
            Some((text.clone(), if *bad { theme.bad() } else { theme.good() }))
        } else {
            // The focused field's verdict in full: the line under the field may be cut.
            self.worst(self.focused()).map(|finding| {
                let style = match finding.severity {
                    Severity::Error => theme.bad(),
                    Severity::Warning => theme.warn(),
                    Severity::Notice => theme.dim(),
                };
                (format!("{} {}", finding.message, finding.fix), style)
            })
        };
        if let Some((text, style)) = text {
            frame.render_widget(
                Paragraph::new(Line::styled(text, style)).wrap(Wrap { trim: true }),
                message,
            );
        }
        if let Some(picker) = &self.picker {
            let [_, popup, _] = Layout::vertical([
                Constraint::Length(1),
                Constraint::Fill(1),
                Constraint::Length(1),
            ])
            .areas(area);
            picker.render(frame, popup, theme, Catalog::builtin());
        }
    }

    /// Two lines a field (value, then its verdict), scrolled to keep the focus in view.
    fn render_rows(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let fits = usize::from(area.height / 2).max(1);
        let first = (self.focus + 1).saturating_sub(fits);
        for (slot, (index, field)) in ROWS.iter().enumerate().skip(first).take(fits).enumerate() {
            let y = area.y + u16::try_from(slot * 2).unwrap_or(0);
            let row = Rect {
                x: area.x,
                y,
                width: area.width,
                height: 1,
            };
            let verdict = Rect {
                x: area.x,
                y: y + 1,
                width: area.width,
                height: 1,
            };
            let focused = index == self.focus && self.picker.is_none() && self.discard.is_none();
            self.render_row(*field, focused, theme, frame, row);
            self.render_verdict(*field, theme, frame, verdict);
        }
    }

    fn render_row(&self, field: Field, focused: bool, theme: Theme, frame: &mut Frame, area: Rect) {
        let pointer = Span::styled(if focused { "›" } else { " " }, theme.key());
        let mark = match (self.worst(field).map(|f| f.severity), self.ok(field)) {
            (Some(Severity::Error), _) => Span::styled("✗ ", theme.bad()),
            (_, true) if field != Field::Mechanism => Span::styled("✓ ", theme.good()),
            _ => Span::raw("  "),
        };
        let label_style = if focused { theme.key() } else { theme.dim() };
        let label = Line::from(vec![
            pointer,
            mark,
            Span::styled(
                format!("{:<width$}", field.label(), width = LABEL_WIDTH),
                label_style,
            ),
        ]);
        let label_width = u16::try_from(LABEL_WIDTH + 4)
            .unwrap_or(u16::MAX)
            .min(area.width);
        let [label_area, value_area] =
            Layout::horizontal([Constraint::Length(label_width), Constraint::Fill(1)]).areas(area);
        let room = usize::from(value_area.width);
        frame.render_widget(Paragraph::new(label), label_area);
        let value_style = if focused {
            theme.selected()
        } else {
            ratatui::style::Style::new()
        };
        match (field, self.field(field)) {
            (Field::Mechanism, _) | (_, None) => {
                frame.render_widget(
                    Paragraph::new(Span::styled(
                        fit("OAuth v2 (the only mechanism)", room),
                        value_style,
                    )),
                    value_area,
                );
            }
            (Field::RefreshUrl, Some(value)) if value.value().is_empty() && !focused => {
                frame.render_widget(
                    Paragraph::new(Span::styled(
                        fit("same as the token request URL", room),
                        theme.dim(),
                    )),
                    value_area,
                );
            }
            (Field::CallbackUrl, Some(value)) if !self.advanced => {
                let [url, hint] = Layout::horizontal([Constraint::Fill(1), Constraint::Length(13)])
                    .areas(value_area);
                value.render_inline(frame, url, value_style, false, false);
                frame.render_widget(
                    Paragraph::new(Span::styled(" Ctrl-Y copy", theme.key())),
                    hint,
                );
            }
            (Field::ClientSecret, Some(value)) => {
                value.render_inline(frame, value_area, value_style, focused, !self.reveal)
            }
            (_, Some(value)) => value.render_inline(frame, value_area, value_style, focused, false),
        }
    }

    /// One line under the field, shortened to fit: the message line below the form says the
    /// focused field's verdict in full.
    fn render_verdict(&self, field: Field, theme: Theme, frame: &mut Frame, area: Rect) {
        let indent = " ".repeat(LABEL_WIDTH + 4);
        let room = usize::from(area.width).saturating_sub(LABEL_WIDTH + 4);
        let line = match self.worst(field) {
            Some(finding) => {
                let (mark, style) = match finding.severity {
                    Severity::Error => ("✗", theme.bad()),
                    Severity::Warning => ("!", theme.warn()),
                    Severity::Notice => ("·", theme.dim()),
                };
                let text = if finding.fix.is_empty() {
                    finding.message.clone()
                } else {
                    format!("{} {}", finding.message, finding.fix)
                };
                Line::from(vec![
                    Span::raw(indent),
                    Span::styled(fit(&format!("{mark} {text}"), room), style),
                ])
            }
            None if field == Field::ClientSecret && !self.client_secret.value().is_empty() => {
                Line::from(vec![
                    Span::raw(indent),
                    Span::styled(
                        fit(
                            if self.reveal {
                                "shown · Ctrl-R hides it"
                            } else {
                                "hidden · Ctrl-R shows it"
                            },
                            room,
                        ),
                        theme.dim(),
                    ),
                ])
            }
            None if field == Field::ClientSecret && self.keeps_stored_secret() => Line::from(vec![
                Span::raw(indent),
                Span::styled(
                    fit("stored · Ctrl-R shows it · type to replace", room),
                    theme.dim(),
                ),
            ]),
            None => Line::raw(""),
        };
        frame.render_widget(Paragraph::new(line), area);
    }
}
