//! Drawing the Users screen: the table (only the rows that fit, columns giving way by
//! priority), then the link handed out, the id being typed, or the selected user's detail.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState, Wrap};

use crate::domain::Principal;
use crate::service::format;
use crate::service::status::TokenStatus;
use crate::tui::screens::tokens::view::access_left;
use crate::tui::shared::Shared;
use crate::tui::theme::Theme;
use crate::tui::widgets::{fit, wrap_words};
use crate::validate::text::{ID_CAP, SENTENCE_CAP, URL_CAP, sanitize};

use super::UsersScreen;
use crate::service::format::clock;

/// The user id of a principal, as shown (sanitized, capped).
fn user_of(principal: &Principal) -> String {
    match principal {
        Principal::User(id) => sanitize(id, ID_CAP),
        Principal::Admin => principal.key(),
    }
}

impl UsersScreen {
    pub fn render(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let visible = self.visible(&shared.report);
        let detail = visible
            .get(self.selected)
            .map(|token| (*token, detail_lines(shared, token)));
        let panel_height = if self.asking.is_some() {
            5
        } else if let Some(link) = &self.link {
            // The URL wraps: give it its rows, plus the title, a blank, the state and keys.
            let width = usize::from(area.width.max(1));
            let url_rows = link.url.chars().count().div_ceil(width);
            u16::try_from(url_rows + 4).unwrap_or(u16::MAX)
        } else {
            detail
                .as_ref()
                .map_or(0, |(_, lines)| panel_height(lines, area.width))
        };
        let confirm_height = u16::from(self.revoking.is_some()) * 3;
        let [filter_area, table_area, panel_area, confirm_area] = Layout::vertical([
            Constraint::Length(self.filter.height()),
            Constraint::Min(4),
            Constraint::Length(panel_height),
            Constraint::Length(confirm_height),
        ])
        .areas(area);
        self.filter.render(frame, filter_area, theme);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border())
            .title(Span::styled(
                format!(
                    " Users of {} ({}/{}) ",
                    self.integration,
                    visible.len(),
                    self.count(&shared.report)
                ),
                theme.title(),
            ));
        if visible.is_empty() {
            let text = if self.integration(&shared.report).is_none() {
                "This integration is gone (removed elsewhere). Esc goes back."
            } else if self.count(&shared.report) == 0 {
                "No user has authorized yet. n hands a user a personal link; `jira-auth link --user ID` does the same for scripts."
            } else {
                "No user matches the filter. Esc clears it."
            };
            frame.render_widget(
                Paragraph::new(text).wrap(Wrap { trim: true }).block(block),
                table_area,
            );
        } else {
            self.render_table(shared, &visible, frame, table_area, block);
        }
        if let Some(field) = &self.asking {
            render_asking(field, frame, panel_area, theme);
        } else if self.link.is_some() {
            self.render_link(shared, frame, panel_area);
        } else if let Some((token, lines)) = detail {
            render_detail(token, lines, theme, frame, panel_area);
        }
        if let Some(confirm) = &self.revoking {
            confirm.render(frame, confirm_area, theme);
        }
    }

    fn render_table(
        &self,
        shared: &Shared,
        visible: &[&TokenStatus],
        frame: &mut Frame,
        area: Rect,
        block: Block<'_>,
    ) {
        let theme = shared.theme;
        let now = shared.now;
        // Columns give way from the right: the user, the state and the time left stay.
        let with_account = area.width >= 70;
        let with_refresh = area.width >= 108;
        let with_error = area.width >= 148;
        let mut header = vec!["User", "State", "Access"];
        let mut widths = vec![
            Constraint::Fill(2),
            Constraint::Length(13),
            Constraint::Length(9),
        ];
        if with_account {
            header.push("Account");
            widths.push(Constraint::Fill(2));
        }
        if with_refresh {
            header.extend(["Last refresh", "Site"]);
            widths.extend([Constraint::Length(13), Constraint::Fill(2)]);
        }
        if with_error {
            header.push("Last error");
            widths.push(Constraint::Fill(3));
        }
        // Cells never cut a word at their edge: each text is fitted to its column's width,
        // laid out here as the table will (one column of spacing, inside the borders).
        let inner = block.inner(area);
        let columns = Layout::horizontal(widths.clone()).spacing(1).split(inner);
        let width_of = |n: usize| columns.get(n).map_or(1, |c| usize::from(c.width));
        let fitted = |text: &str, n: usize| fit(text, width_of(n));
        // Only the rows that fit are built: ten thousand users cost what a screenful does.
        let fits = usize::from(area.height.saturating_sub(3)).max(1);
        let first = self.selected.saturating_sub(fits - 1);
        let rows = visible.iter().skip(first).take(fits).map(|token| {
            let mut cells = vec![
                Cell::from(fitted(&user_of(&token.principal), 0)),
                Cell::from(Span::styled(
                    token.state.word(),
                    theme.token_state(token.state),
                )),
                Cell::from(access_left(token, now)),
            ];
            if with_account {
                let account = token
                    .account
                    .as_ref()
                    .map_or("—".to_owned(), |a| sanitize(&a.name, ID_CAP));
                cells.push(Cell::from(fitted(&account, 3)));
            }
            if with_refresh {
                cells.push(Cell::from(format!(
                    "{} ago",
                    format::duration(token.refresh_token.rotated_at.secs_until(now))
                )));
                let site = token.site.as_ref().map_or("—".to_owned(), |s| {
                    sanitize(s.url.trim_start_matches("https://"), ID_CAP)
                });
                cells.push(Cell::from(fitted(&site, 5)));
            }
            if with_error {
                let error = token
                    .last_error
                    .as_deref()
                    .map_or(String::new(), |e| sanitize(e, URL_CAP));
                cells.push(Cell::from(Span::styled(fitted(&error, 6), theme.bad())));
            }
            Row::new(cells)
        });
        let table = Table::new(rows, widths)
            .header(Row::new(header).style(theme.dim()))
            .block(block)
            .row_highlight_style(theme.selected());
        let mut state = TableState::default().with_selected(Some(self.selected - first));
        frame.render_stateful_widget(table, area, &mut state);
    }

    fn render_link(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let Some(link) = &self.link else { return };
        let user = sanitize(&link.user, ID_CAP);
        let state = match self.link_used(shared) {
            Some(token) => Line::styled(
                format!(
                    "✓ {user} authorized{}.",
                    token.account.as_ref().map_or(String::new(), |a| format!(
                        " as {}",
                        sanitize(&a.name, ID_CAP)
                    ))
                ),
                theme.good(),
            ),
            None => Line::styled(
                format!("Waiting for {user} to open it; this list updates by itself."),
                theme.dim(),
            ),
        };
        let keys = self.footer().spans(theme.key());
        let lines = vec![
            Line::raw(link.url.clone()),
            Line::raw(""),
            state,
            Line::from(keys),
        ];
        let block = Block::default()
            .borders(Borders::TOP)
            .border_style(theme.border())
            .title(Span::styled(
                fit(
                    &format!(
                        " Link for {user} · works once, until {} ",
                        clock(link.expires_at)
                    ),
                    usize::from(area.width.saturating_sub(2)),
                ),
                theme.title(),
            ));
        // Not trimmed: the URL's wrapped pieces keep every character.
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(block),
            area,
        );
    }
}

fn render_asking(
    field: &crate::tui::widgets::TextField,
    frame: &mut Frame,
    area: Rect,
    theme: Theme,
) {
    let [intro, input] =
        Layout::vertical([Constraint::Length(2), Constraint::Length(3)]).areas(area);
    frame.render_widget(
        Paragraph::new("Whom is the link for? Their id as your bot or service knows them (a chat id, an email).")
            .wrap(Wrap { trim: true }),
        intro,
    );
    field.render(frame, input, Line::raw(" End user id "), theme, true, false);
}

/// The selected user's detail, as lines; their height at `width` is what the panel needs.
fn detail_lines(shared: &Shared, token: &TokenStatus) -> Vec<Line<'static>> {
    let theme = shared.theme;
    let now = shared.now;
    let account = token
        .account
        .as_ref()
        .map_or("not recorded".to_owned(), |a| {
            format!(
                "{} ({})",
                sanitize(&a.name, ID_CAP),
                sanitize(&a.id, ID_CAP)
            )
        });
    let site = token.site.as_ref().map_or("no site".to_owned(), |s| {
        format!("{} ({})", sanitize(&s.url, 100), sanitize(&s.name, ID_CAP))
    });
    vec![
        Line::from(vec![
            Span::styled("Account ", theme.dim()),
            Span::raw(account),
        ]),
        Line::from(vec![Span::styled("Site ", theme.dim()), Span::raw(site)]),
        Line::from(vec![
            Span::styled("Consented ", theme.dim()),
            Span::raw(format!(
                "{} ago",
                format::duration(token.refresh_token.consented_at.secs_until(now))
            )),
            Span::styled(" · last refresh ", theme.dim()),
            Span::raw(format!(
                "{} ago",
                format::duration(token.refresh_token.rotated_at.secs_until(now))
            )),
        ]),
        match &token.last_error {
            Some(error) => Line::from(vec![
                Span::styled("Last error ", theme.bad()),
                Span::raw(sanitize(error, SENTENCE_CAP)),
            ]),
            None => Line::styled("No error at the last refresh.", theme.dim()),
        },
    ]
}

/// Rows `lines` take wrapped at `width`, plus the panel's top border.
fn panel_height(lines: &[Line<'_>], width: u16) -> u16 {
    let rows: usize = lines
        .iter()
        .map(|line| {
            let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
            wrap_words(&text, usize::from(width.max(1))).len()
        })
        .sum();
    u16::try_from(rows + 1).unwrap_or(u16::MAX)
}

fn render_detail(
    token: &TokenStatus,
    lines: Vec<Line<'static>>,
    theme: Theme,
    frame: &mut Frame,
    area: Rect,
) {
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(theme.border())
        .title(Span::styled(
            fit(
                &format!(" {} ", user_of(&token.principal)),
                usize::from(area.width.saturating_sub(2)),
            ),
            theme.title(),
        ));
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }).block(block),
        area,
    );
}
