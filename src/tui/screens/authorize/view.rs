//! Drawing the authorize screen: the URL (or its QR code), the two ways back in, progress,
//! the site choice and the result.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph, Wrap};

use crate::tui::keymap::Footer;
use crate::tui::shared::Shared;
use crate::tui::theme::Theme;
use crate::tui::widgets::wrap_words;

use super::{AuthorizeAction, AuthorizeScreen, KEYS, Listener, Phase};

// The words beside the table in `mod.rs`: footers and the key line under the URL use them.
impl AuthorizeScreen {
    /// What can be done with the URL: copy, QR, and the browser where there is one.
    pub(super) fn url_keys(&self) -> Footer {
        use AuthorizeAction::{Bare, Browser, Copy, Qr};
        let shown: &[AuthorizeAction] = if self.can_open_browser {
            &[Copy, Bare, Qr, Browser]
        } else {
            &[Copy, Bare, Qr]
        };
        Footer::new().keys(KEYS, shown)
    }

    pub fn render(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        // The problem's rows are kept only while there is one: on a 24-row terminal the URL
        // needs every row it can get.
        let [title, body, problem] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Fill(1),
            Constraint::Length(if self.problem.is_some() { 3 } else { 0 }),
        ])
        .areas(area);
        let who = match &self.attempt {
            Some(attempt) => format!(
                "for {} · {} · {}",
                attempt.principal, self.mode, attempt.app_label
            ),
            None => format!("{}", self.mode),
        };
        frame.render_widget(
            Paragraph::new(vec![
                Line::from(vec![
                    Span::styled(format!("Authorize {} ", self.integration), theme.title()),
                    Span::styled(who, theme.dim()),
                ]),
                Line::raw(""),
            ])
            .wrap(Wrap { trim: true }),
            title,
        );
        match &self.phase {
            Phase::AskUser => self.render_ask_user(frame, body, theme),
            Phase::Preparing => render_busy(
                frame,
                body,
                theme,
                self.spinner(),
                "Preparing the authorization URL…",
            ),
            Phase::Waiting => self.render_waiting(frame, body, theme),
            Phase::Busy(text) => render_busy(frame, body, theme, self.spinner(), text),
            Phase::ChoosingSite { sites, selected } => {
                let items: Vec<ListItem> = sites
                    .iter()
                    .map(|s| ListItem::new(Line::raw(format!("{}  {}", s.url, s.name))))
                    .collect();
                let list = List::new(items)
                    .block(
                        Block::default()
                            .borders(Borders::ALL)
                            .border_style(theme.border())
                            .title(" The token reaches several Jira sites: which one? "),
                    )
                    .highlight_style(theme.selected())
                    .highlight_symbol("› ");
                frame.render_stateful_widget(
                    list,
                    body,
                    &mut ListState::default().with_selected(Some(*selected)),
                );
            }
            Phase::Done { summary } => {
                let lines = vec![
                    Line::styled(format!("✓ {summary}"), theme.good()),
                    Line::raw(""),
                    Line::raw("The token set is sealed in the store. Enter or Esc goes back."),
                ];
                frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), body);
            }
            Phase::Failed { sentence, retry } => {
                let mut lines = vec![
                    Line::styled("✗ Not authorized", theme.bad()),
                    Line::raw(""),
                    Line::raw(sentence.clone()),
                ];
                lines.push(Line::raw(""));
                lines.push(Line::raw(if retry.is_some() {
                    "Press r to try again, Esc to go back."
                } else {
                    "Esc goes back; authorize again from the start once the cause is fixed."
                }));
                frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), body);
            }
        }
        if let Some(text) = &self.problem {
            frame.render_widget(
                Paragraph::new(Line::styled(text.clone(), theme.bad())).wrap(Wrap { trim: true }),
                problem,
            );
        }
    }

    fn render_ask_user(&self, frame: &mut Frame, area: Rect, theme: Theme) {
        let [intro, field, _] = Layout::vertical([
            Constraint::Length(3),
            Constraint::Length(3),
            Constraint::Fill(1),
        ])
        .areas(area);
        frame.render_widget(
            Paragraph::new(
                "Each end user of this integration has a token of their own. Whose token are you authorizing? (the id your bot or service knows them by)",
            )
            .wrap(Wrap { trim: true }),
            intro,
        );
        self.user
            .render(frame, field, Line::raw(" End user id "), theme, true, false);
    }

    fn render_waiting(&self, frame: &mut Frame, area: Rect, theme: Theme) {
        let Some(attempt) = &self.attempt else { return };
        let url = attempt.url.to_string();
        let listener_lines = match &self.listener {
            Listener::NotApplicable => vec![Line::styled(
                format!(
                    "The callback {} is not on this machine: paste the address below.",
                    attempt.callback_url
                ),
                theme.dim(),
            )],
            Listener::Starting => vec![Line::styled("Starting the listener…", theme.dim())],
            Listener::Listening { ssh_hint, .. } => {
                let mut lines = vec![Line::from(vec![
                    Span::styled("● ", theme.good()),
                    Span::raw(format!("Listening on {}", attempt.callback_url)),
                ])];
                if let Some(hint) = ssh_hint {
                    lines.push(Line::from(vec![
                        Span::raw(format!("  {}", crate::agent::SSH_HINT_LEAD)),
                        Span::styled(hint.clone(), theme.key()),
                    ]));
                }
                lines
            }
            Listener::Failed(sentence) => vec![Line::styled(sentence.clone(), theme.warn())],
        };
        // The return box holds its sentences whole (the ssh -L line above all), so its rows
        // are counted as they will wrap; the URL box above takes the rest.
        let inner_width = usize::from(area.width.saturating_sub(2));
        let rows = |text: &str| wrap_words(text, inner_width).len();
        let listener_rows: usize = listener_lines
            .iter()
            .map(|line| {
                rows(
                    &line
                        .spans
                        .iter()
                        .map(|s| s.content.as_ref())
                        .collect::<String>(),
                )
            })
            .sum();
        let label_rows = rows(PASTE_LABEL);
        // Where both cannot fit (60x24 with a problem shown) the URL keeps its rows: it is
        // step 1, and the listener's lines give way first.
        let url_rows = url.chars().count().div_ceil(usize::from(area.width.max(1)));
        let wanted = listener_rows + label_rows + 5;
        let room = usize::from(area.height).saturating_sub(url_rows + 1);
        let [top, bottom] = Layout::vertical([
            Constraint::Fill(1),
            Constraint::Length(u16::try_from(wanted.min(room).max(7)).unwrap_or(9)),
        ])
        .areas(area);
        {
            // No side borders: a mouse selection of the wrapped URL then holds nothing else.
            // No bottom one either: the return box's top border follows at once.
            let block = Block::default()
                .borders(Borders::TOP)
                .border_style(theme.border())
                .title(" 1. Open this URL in a browser, sign in and consent ");
            let inner = block.inner(top);
            let url_rows = url
                .chars()
                .count()
                .div_ceil(usize::from(inner.width.max(1)));
            let mut lines = vec![Line::raw(url)];
            // The URL comes first; the key line (the footer names the same keys) only where
            // it has room.
            if url_rows + 2 <= usize::from(inner.height) {
                lines.push(Line::raw(""));
                lines.push(Line::from(self.url_keys().spans(theme.key())));
            }
            frame.render_widget(
                Paragraph::new(lines)
                    .wrap(Wrap { trim: false })
                    .block(block),
                top,
            );
        }
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border())
            .title(" 2. Come back: either way works ");
        let inner = block.inner(bottom);
        frame.render_widget(block, bottom);
        let [listener, label, field] = Layout::vertical([
            Constraint::Max(u16::try_from(listener_rows).unwrap_or(2)),
            Constraint::Length(u16::try_from(label_rows).unwrap_or(2)),
            Constraint::Length(3),
        ])
        .areas(inner);
        frame.render_widget(
            Paragraph::new(listener_lines).wrap(Wrap { trim: true }),
            listener,
        );
        frame.render_widget(Paragraph::new(PASTE_LABEL).wrap(Wrap { trim: true }), label);
        self.paste.render(
            frame,
            field,
            Line::raw(" Redirected URL "),
            theme,
            self.paste_focused,
            false,
        );
    }
}

const PASTE_LABEL: &str = "Or paste the address the browser landed on (a \"can't connect\" page's address works too), or just the code:";

fn render_busy(frame: &mut Frame, area: Rect, theme: Theme, spinner: &str, text: &str) {
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(vec![
                Span::styled(format!("{spinner} "), theme.key()),
                Span::raw(text.to_owned()),
            ]),
            Line::raw(""),
            Line::styled("Esc cancels.", theme.dim()),
        ]),
        area,
    );
}
