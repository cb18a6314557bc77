//! The help overlay: every key of the current screen, generated from the same tables the
//! screen dispatches on.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::tui::theme::Theme;
use crate::tui::widgets::wrap_words;

pub fn render(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    rows: &[(&str, &str)],
    theme: Theme,
    data_dir: &str,
) {
    let width = area.width.saturating_sub(8).min(76);
    let label_width = rows
        .iter()
        .map(|(label, _)| label.chars().count())
        .max()
        .unwrap_or(0);
    // Inside the borders, after " label  ": what is left for a description, which wraps
    // under itself rather than running into the border.
    let room = usize::from(width.saturating_sub(2)).saturating_sub(label_width + 3);
    let mut lines: Vec<Line> = Vec::new();
    for (label, description) in rows {
        for (n, part) in wrap_words(description, room).into_iter().enumerate() {
            let keys = if n == 0 { *label } else { "" };
            lines.push(Line::from(vec![
                Span::styled(format!(" {keys:<label_width$}  "), theme.key()),
                Span::raw(part),
            ]));
        }
    }
    lines.push(Line::raw(""));
    for text in [
        format!("Store: {data_dir}"),
        "Press any key to close this help.".to_owned(),
    ] {
        for part in wrap_words(&text, usize::from(width.saturating_sub(3))) {
            lines.push(Line::styled(format!(" {part}"), theme.dim()));
        }
    }

    let height = u16::try_from(lines.len() + 2)
        .unwrap_or(u16::MAX)
        .min(area.height);
    let [popup] = Layout::vertical([Constraint::Length(height)])
        .flex(ratatui::layout::Flex::Center)
        .areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(width)])
        .flex(ratatui::layout::Flex::Center)
        .areas(popup);
    // The whole screen is cleared, not just the box: help is modal, and the screen's rows
    // showing beside the box would read as words cut by its borders.
    frame.render_widget(Clear, area);
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
