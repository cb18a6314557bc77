//! The help overlay: every key of the current screen, generated from the same tables the
//! screen dispatches on.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::tui::theme::Theme;

pub fn render(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    rows: &[(&str, &str)],
    theme: Theme,
    data_dir: &str,
) {
    let label_width = rows
        .iter()
        .map(|(label, _)| label.chars().count())
        .max()
        .unwrap_or(0);
    let mut lines: Vec<Line> = rows
        .iter()
        .map(|(label, description)| {
            Line::from(vec![
                Span::styled(format!(" {label:<label_width$}  "), theme.key()),
                Span::raw(*description),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(format!(" Store: {data_dir}"), theme.dim()));
    lines.push(Line::styled(
        " Press any key to close this help.",
        theme.dim(),
    ));

    let height = u16::try_from(lines.len() + 2)
        .unwrap_or(u16::MAX)
        .min(area.height);
    let width = area.width.saturating_sub(8).min(76);
    let [popup] = Layout::vertical([Constraint::Length(height)])
        .flex(ratatui::layout::Flex::Center)
        .areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(width)])
        .flex(ratatui::layout::Flex::Center)
        .areas(popup);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.border())
                .title(Span::styled(format!(" Keys: {title} "), theme.title())),
        ),
        popup,
    );
}
