//! A checklist: steps with a tick when done. The profile form shows the developer-console
//! steps of the seed beside its fields.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::tui::theme::Theme;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub label: &'static str,
    pub text: String,
    pub done: bool,
}

pub fn render(frame: &mut Frame, area: Rect, title: &str, steps: &[Step], theme: Theme) {
    let done = steps.iter().filter(|s| s.done).count();
    let lines: Vec<Line> = steps
        .iter()
        .map(|step| {
            let (mark, style) = if step.done {
                ("✓", theme.good())
            } else {
                ("·", theme.dim())
            };
            Line::from(vec![
                Span::styled(format!("{mark} {:>5} ", step.label), style),
                Span::raw(step.text.clone()),
            ])
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.border())
                .title(Span::styled(
                    format!(" {title} {done}/{} ", steps.len()),
                    theme.title(),
                )),
        ),
        area,
    );
}
