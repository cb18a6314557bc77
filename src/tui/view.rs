//! Draws the whole frame from `App`: the override banner, the title bar, the current screen,
//! the footer (status line or key hints) and the help overlay. Pure: no I/O.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::app::App;
use super::screens::help;
use crate::validate::text::{LINE_CAP, sanitize};

/// Below this the layout cannot show a form and its checklist; say so instead of garbling.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;

pub fn view(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let theme = app.shared.theme;
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        render_too_small(frame, area, app);
        return;
    }
    if let Some(url) = app.screen().qr_url()
        && !app.help_open
    {
        // Alone on the screen: every row and column goes to the code.
        super::widgets::qr::render_alone(frame, area, theme, url);
        return;
    }
    let screen = app.screen();
    let banner_line = app
        .shared
        .banner
        .as_ref()
        .map(|text| Line::styled(format!(" ⚠ {}", sanitize(text, LINE_CAP)), theme.banner()));
    let footer_line = match &app.shared.status {
        // Every sentence the console shows passes here: local text (a path) included.
        Some(status) => Line::styled(
            format!(" {}", sanitize(&status.text, LINE_CAP)),
            if status.error {
                theme.bad()
            } else {
                theme.good()
            },
        ),
        None => Line::styled(format!(" {}", screen.hints(&app.shared)), theme.dim()),
    };
    // A banner or footer wider than the terminal folds onto a second row instead of being
    // cut at the right edge.
    let rows = |line: &Line<'_>| {
        if line.width() > usize::from(area.width) {
            2
        } else {
            1
        }
    };
    let banner_height = banner_line.as_ref().map_or(0, rows);
    let footer_height = rows(&footer_line);
    let [banner, title, body, footer] = Layout::vertical([
        Constraint::Length(banner_height),
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(footer_height),
    ])
    .areas(area);
    if let Some(line) = banner_line {
        frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: false }), banner);
    }
    let crumbs = app
        .stack
        .iter()
        .map(|s| s.title())
        .collect::<Vec<_>>()
        .join(" › ");
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(" jira-auth ", theme.title()),
            Span::styled(format!("· {crumbs}"), theme.dim()),
        ])),
        title,
    );
    let [body] = Layout::horizontal([Constraint::Fill(1)])
        .horizontal_margin(1)
        .areas(body);
    screen.render(&app.shared, frame, body);
    frame.render_widget(
        Paragraph::new(footer_line).wrap(Wrap { trim: false }),
        footer,
    );
    if app.help_open {
        help::render(
            frame,
            area,
            screen.title(),
            &app.help_rows(),
            theme,
            &app.shared.data_dir,
        );
    }
}

fn render_too_small(frame: &mut Frame, area: Rect, app: &App) {
    let text = vec![
        Line::styled("Terminal too small", app.shared.theme.bad()),
        Line::raw(format!(
            "{}x{} here; jira-auth needs at least {MIN_WIDTH}x{MIN_HEIGHT}.",
            area.width, area.height
        )),
        Line::raw("Enlarge the window, or press q to quit."),
    ];
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
}
