//! Drawing the Tokens screen: the table (only the rows that fit), the detail of the selected
//! token set, and the delete question.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState, Wrap};

use crate::domain::{REFRESH_ABSOLUTE_LIMIT_SECS, REFRESH_INACTIVITY_LIMIT_SECS};
use crate::service::format::{self, days};
use crate::service::status::TokenStatus;
use crate::tui::shared::Shared;

use super::{Entry, TokensScreen, who};

impl TokensScreen {
    pub fn render(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let visible = self.visible(shared);
        let filter_height = self.filter.height();
        let confirm_height = u16::from(self.deleting.is_some()) * 2;
        let [filter_area, table_area, detail_area, confirm_area] = Layout::vertical([
            Constraint::Length(filter_height),
            Constraint::Fill(1),
            Constraint::Length(6),
            Constraint::Length(confirm_height),
        ])
        .areas(area);
        self.filter.render(frame, filter_area, theme);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border())
            .title(Span::styled(
                format!(" Tokens ({}/{}) ", visible.len(), Self::count(shared)),
                theme.title(),
            ));
        if visible.is_empty() {
            let text = if Self::count(shared) == 0 {
                "No token yet: authorize an integration from Home (a)."
            } else {
                "No token matches the filter. Esc clears it."
            };
            frame.render_widget(
                Paragraph::new(text).wrap(Wrap { trim: true }).block(block),
                table_area,
            );
        } else {
            self.render_table(shared, &visible, frame, table_area, block);
        }
        if let Some(entry) = visible.get(self.selected) {
            render_detail(shared, *entry, frame, detail_area);
        }
        if let Some(confirm) = &self.deleting {
            confirm.render(frame, confirm_area, theme);
        }
    }

    fn render_table(
        &self,
        shared: &Shared,
        visible: &[Entry<'_>],
        frame: &mut Frame,
        area: Rect,
        block: Block<'_>,
    ) {
        let theme = shared.theme;
        let now = shared.now;
        // Narrow terminals drop columns from the right, keeping state and time left.
        let wide = area.width >= 100;
        let header: Vec<&str> = if wide {
            vec![
                "Integration",
                "Who",
                "State",
                "Access",
                "Limits 90d/365d",
                "Site",
            ]
        } else {
            vec!["Integration", "Who", "State", "Access"]
        };
        // Only the rows that fit are built: with thousands of users, formatting every row
        // on every one-second tick would cost more than the whole frame may.
        let fits = usize::from(area.height.saturating_sub(3)).max(1);
        let first = self.selected.saturating_sub(fits - 1);
        let rows = visible.iter().skip(first).take(fits).map(|entry| {
            let token = entry.token;
            let mut cells = vec![
                Cell::from(entry.integration.name.clone()),
                Cell::from(who(&token.principal)),
                Cell::from(Span::styled(
                    token.state.word(),
                    theme.token_state(token.state),
                )),
                Cell::from(access_left(token, now)),
            ];
            if wide {
                cells.push(Cell::from(limits_left(token, now)));
                cells.push(Cell::from(
                    token.site.as_ref().map_or("—".to_owned(), |s| {
                        s.url.trim_start_matches("https://").to_owned()
                    }),
                ));
            }
            Row::new(cells)
        });
        let widths: Vec<Constraint> = if wide {
            vec![
                Constraint::Length(12),
                Constraint::Length(18),
                Constraint::Length(14),
                Constraint::Length(10),
                Constraint::Length(16),
                Constraint::Fill(1),
            ]
        } else {
            vec![
                Constraint::Fill(1),
                Constraint::Fill(1),
                Constraint::Length(14),
                Constraint::Length(10),
            ]
        };
        let table = Table::new(rows, widths)
            .header(Row::new(header).style(theme.dim()))
            .block(block)
            .row_highlight_style(theme.selected());
        let mut state = TableState::default().with_selected(Some(self.selected - first));
        frame.render_stateful_widget(table, area, &mut state);
    }
}

pub(crate) fn access_left(token: &TokenStatus, now: crate::domain::Timestamp) -> String {
    format::access_left(now.secs_until(token.access_expires_at))
}

/// "87d / 362d": days left before the 90-day inactivity and the 365-day absolute limit.
fn limits_left(token: &TokenStatus, now: crate::domain::Timestamp) -> String {
    if !token.refresh_token.present {
        return "no refresh".to_owned();
    }
    format!(
        "{}d / {}d",
        days(now.secs_until(token.refresh_token.inactivity_expires_at)),
        days(now.secs_until(token.refresh_token.absolute_expires_at))
    )
}

/// The refresh token's age against both limits, as a sentence for the detail panel.
fn refresh_age(token: &TokenStatus, now: crate::domain::Timestamp) -> String {
    if !token.refresh_token.present {
        return "none: the app lacks offline_access, so this token cannot be refreshed".to_owned();
    }
    format!(
        "idle {}d; {} days left of the {}-day inactivity limit, {} of the {}-day limit from consent",
        days(token.refresh_token.rotated_at.secs_until(now)),
        days(now.secs_until(token.refresh_token.inactivity_expires_at)),
        REFRESH_INACTIVITY_LIMIT_SECS / 86_400,
        days(now.secs_until(token.refresh_token.absolute_expires_at)),
        REFRESH_ABSOLUTE_LIMIT_SECS / 86_400
    )
}

fn render_detail(shared: &Shared, entry: Entry<'_>, frame: &mut Frame, area: Rect) {
    let theme = shared.theme;
    let now = shared.now;
    let token = entry.token;
    let site = token
        .site
        .as_ref()
        .map_or("no site chosen".to_owned(), |s| {
            format!("{} ({}, cloud id {})", s.url, s.name, s.id)
        });
    let mut lines = vec![
        Line::from(vec![Span::styled("Site ", theme.dim()), Span::raw(site)]),
        Line::from(vec![
            Span::styled("Refresh token ", theme.dim()),
            Span::raw(refresh_age(token, now)),
            Span::styled(" · last refresh ", theme.dim()),
            Span::raw(format!(
                "{} ago",
                format::duration(token.refresh_token.rotated_at.secs_until(now))
            )),
        ]),
        Line::from(vec![
            Span::styled("Scopes ", theme.dim()),
            Span::raw(token.scopes.join(" ")),
        ]),
    ];
    lines.push(match &token.last_error {
        Some(error) => Line::from(vec![
            Span::styled("Last error ", theme.bad()),
            Span::raw(error.clone()),
        ]),
        None => Line::styled("No error at the last refresh.", theme.dim()),
    });
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(theme.border())
        .title(Span::styled(
            format!(" {} · {} ", entry.integration.name, who(&token.principal)),
            theme.title(),
        ));
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }).block(block),
        area,
    );
}
