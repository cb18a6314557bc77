//! A QR code of the authorization URL in unicode half blocks: two modules per character
//! cell, so a phone can scan it straight off the terminal. Dark modules are the terminal's
//! background and light ones full blocks, which is right on dark themes; on a light theme the
//! code shows inverted, which common phone scanners read too.

use qrcode::{EcLevel, QrCode};

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
    let quiet = 2;
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
}
