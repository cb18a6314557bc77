//! A QR code of the authorization URL in unicode half blocks: two modules per character
//! cell, so a phone can scan it straight off the terminal. Dark modules are the terminal's
//! background and light ones full blocks, which is right on dark themes; on a light theme the
//! code shows inverted, which common phone scanners read too.

use qrcode::{EcLevel, QrCode};
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Flex, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use crate::tui::theme::Theme;

/// Modules of light margin around the code. The standard asks for four; phone scanners read
/// two reliably, and every module saved lets a long URL fit a smaller terminal.
const QUIET: usize = 2;

/// The lines of the code, quiet zone included, or `None` when the text cannot be encoded.
pub fn lines(text: &str) -> Option<Vec<String>> {
    // Low error correction keeps a long URL (~400 characters) at a size a terminal can show.
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L).ok()?;
    let width = code.width();
    let modules: Vec<bool> = code
        .to_colors()
        .into_iter()
        .map(|c| c == qrcode::Color::Dark)
        .collect();
    let quiet = QUIET;
    let size = width + 2 * quiet;
    let dark = |x: usize, y: usize| -> bool {
        x >= quiet
            && y >= quiet
            && x < width + quiet
            && y < width + quiet
            && modules[(y - quiet) * width + (x - quiet)]
    };
    let mut out = Vec::with_capacity(size.div_ceil(2));
    for row in (0..size).step_by(2) {
        let line: String = (0..size)
            .map(
                |x| match (dark(x, row), row + 1 < size && dark(x, row + 1)) {
                    (false, false) => '█',
                    (false, true) => '▀',
                    (true, false) => '▄',
                    (true, true) => ' ',
                },
            )
            .collect();
        out.push(line);
    }
    Some(out)
}

/// Columns and rows the code needs.
pub fn size(lines: &[String]) -> (u16, u16) {
    let width = lines.first().map_or(0, |l| l.chars().count());
    (
        u16::try_from(width).unwrap_or(u16::MAX),
        u16::try_from(lines.len()).unwrap_or(u16::MAX),
    )
}

/// The code alone on `area` (the whole terminal), centred, with one line under it; when even
/// that is too small, the size it needs.
pub fn render_alone(frame: &mut Frame, area: Rect, theme: Theme, text: &str) {
    let Some(lines) = lines(text) else {
        frame.render_widget(
            Paragraph::new(
                "This URL is too long for a QR code; copy it instead (any key returns).",
            )
            .wrap(Wrap { trim: true }),
            area,
        );
        return;
    };
    let (width, height) = size(&lines);
    if width > area.width || height + 1 > area.height {
        let sentence = format!(
            "The QR code needs {width}x{} characters and this terminal has {}x{}: enlarge it (or use a smaller font), or copy the URL instead. Any key returns.",
            height + 1,
            area.width,
            area.height
        );
        frame.render_widget(
            Paragraph::new(Line::styled(sentence, theme.warn())).wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let [column] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(area);
    let [code, caption] = Layout::vertical([Constraint::Length(height), Constraint::Length(1)])
        .flex(Flex::Center)
        .areas(column);
    frame.render_widget(
        Paragraph::new(lines.into_iter().map(Line::raw).collect::<Vec<_>>()),
        code,
    );
    frame.render_widget(
        Paragraph::new(Line::styled(
            "Scan to open the URL · any key returns",
            theme.dim(),
        ))
        .alignment(Alignment::Center),
        Rect {
            x: area.x,
            width: area.width,
            ..caption
        },
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_url_becomes_a_square_of_half_blocks() {
        let url = "https://auth.atlassian.com/authorize?audience=api.atlassian.com&client_id=abc";
        let lines = super::lines(url).unwrap();
        let (width, height) = super::size(&lines);
        assert_eq!(u32::from(height), u32::from(width).div_ceil(2));
        assert!(lines.iter().all(|l| l.chars().all(|c| "█▀▄ ".contains(c))));
        assert!(
            lines[0].chars().all(|c| c == '█'),
            "the quiet zone is light"
        );
    }

    /// Reads the half blocks back into modules, as a scanner would see them.
    fn decode(lines: &[String]) -> Vec<Vec<bool>> {
        let mut rows = Vec::new();
        for line in lines {
            let (mut top, mut bottom) = (Vec::new(), Vec::new());
            for c in line.chars() {
                let (t, b) = match c {
                    '█' => (false, false),
                    '▀' => (false, true),
                    '▄' => (true, false),
                    ' ' => (true, true),
                    other => panic!("not a half block: {other:?}"),
                };
                top.push(t);
                bottom.push(b);
            }
            rows.push(top);
            rows.push(bottom);
        }
        rows
    }

    #[test]
    fn the_half_blocks_read_back_as_the_encoders_modules() {
        let url = "https://auth.atlassian.com/authorize?audience=api.atlassian.com&client_id=Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56&scope=read%3Ajira-work%20offline_access&redirect_uri=http%3A%2F%2Flocalhost%3A8717%2Fcallback&state=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef&response_type=code&prompt=consent";
        let code = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::L)
            .unwrap();
        let width = code.width();
        let expected: Vec<bool> = code
            .to_colors()
            .into_iter()
            .map(|c| c == qrcode::Color::Dark)
            .collect();
        let modules = decode(&super::lines(url).unwrap());
        let quiet = super::QUIET;
        for y in 0..width {
            for x in 0..width {
                assert_eq!(
                    modules[y + quiet][x + quiet],
                    expected[y * width + x],
                    "module ({x}, {y})"
                );
            }
        }
        for row in modules.iter().take(quiet) {
            assert!(row.iter().all(|dark| !dark), "the quiet zone is light");
        }
    }
}
