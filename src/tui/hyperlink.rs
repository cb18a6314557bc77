//! OSC 8 hyperlinks over a URL the console has drawn wrapped across lines: after a frame, the
//! cells holding the URL are written again, identical, inside one link each, so a click on
//! any of its lines opens the whole URL. Only where the terminal is known to support OSC 8
//! (or `JIRA_AUTH_HYPERLINKS=1`): elsewhere nothing extra is written.

use std::io::{self, Write};

use ratatui::buffer::Buffer;

/// One line's share of the URL: where it starts and how many characters it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    pub x: u16,
    pub y: u16,
    pub text: String,
}

/// Whether this terminal understands OSC 8, from what it says about itself.
pub fn supported() -> bool {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    match var("JIRA_AUTH_HYPERLINKS").as_deref() {
        Some("1") => return true,
        Some("0") => return false,
        _ => {}
    }
    // tmux forwards OSC 8 only when configured to: do not guess.
    if var("TMUX").is_some() || var("STY").is_some() {
        return false;
    }
    let program = var("TERM_PROGRAM").unwrap_or_default();
    let term = var("TERM").unwrap_or_default();
    matches!(
        program.as_str(),
        "iTerm.app" | "WezTerm" | "vscode" | "ghostty" | "Hyper"
    ) || var("VTE_VERSION")
        .and_then(|v| v.parse::<u32>().ok())
        .is_some_and(|v| v >= 5000)
        || var("KITTY_WINDOW_ID").is_some()
        || var("WT_SESSION").is_some()
        || ["xterm-kitty", "foot", "wezterm"]
            .iter()
            .any(|t| term.starts_with(t))
}

/// The pieces of `url` as the buffer shows it: consecutive rows at one column, each a run of
/// the URL's next characters. `None` when the URL is not drawn whole. Every place its first
/// characters appear is tried (a banner may name the same host).
pub fn find(buffer: &Buffer, url: &str) -> Option<Vec<Piece>> {
    let area = buffer.area;
    let rows: Vec<Vec<char>> = (area.y..area.y + area.height)
        .map(|y| {
            (area.x..area.x + area.width)
                .map(|x| buffer[(x, y)].symbol().chars().next().unwrap_or(' '))
                .collect()
        })
        .collect();
    let url: Vec<char> = url.chars().collect();
    let head: Vec<char> = url.iter().take(16).copied().collect();
    if head.is_empty() {
        return None;
    }
    for (first, cells) in rows.iter().enumerate() {
        for start in 0..cells.len().saturating_sub(head.len() - 1) {
            if cells[start..start + head.len()] == head[..]
                && let Some(pieces) = follow(&rows[first..], start, &url)
            {
                return Some(
                    pieces
                        .into_iter()
                        .map(|(row, run)| Piece {
                            x: area.x + u16::try_from(start).unwrap_or(0),
                            y: area.y + u16::try_from(first + row).unwrap_or(0),
                            text: run,
                        })
                        .collect(),
                );
            }
        }
    }
    None
}

/// The URL read down from `rows[0]` at column `start`: each row's run, until it is whole.
fn follow(rows: &[Vec<char>], start: usize, url: &[char]) -> Option<Vec<(usize, String)>> {
    let mut at = 0;
    let mut pieces = Vec::new();
    for (row, cells) in rows.iter().enumerate() {
        let run = cells
            .get(start..)?
            .iter()
            .zip(&url[at..])
            .take_while(|(cell, wanted)| cell == wanted)
            .count();
        if run == 0 {
            return None;
        }
        pieces.push((row, url[at..at + run].iter().collect()));
        at += run;
        if at == url.len() {
            return Some(pieces);
        }
    }
    None
}

/// Writes each piece again inside an OSC 8 link to `url`.
pub fn write(out: &mut impl Write, url: &str, pieces: &[Piece]) -> io::Result<()> {
    for piece in pieces {
        crossterm::queue!(out, crossterm::cursor::MoveTo(piece.x, piece.y))?;
        write!(out, "\x1b]8;;{url}\x1b\\{}\x1b]8;;\x1b\\", piece.text)?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::widgets::{Paragraph, Widget, Wrap};

    #[test]
    fn a_wrapped_url_is_found_line_by_line_and_linked_whole() {
        let url = "https://auth.atlassian.com/authorize?audience=api.atlassian.com&client_id=abc&state=0123456789";
        let mut buffer = Buffer::empty(Rect::new(0, 0, 40, 6));
        Paragraph::new(url)
            .wrap(Wrap { trim: false })
            .render(Rect::new(2, 1, 30, 5), &mut buffer);
        let pieces = find(&buffer, url).expect("the URL is on screen");
        assert_eq!(pieces.len(), 4);
        assert!(pieces.iter().all(|p| p.x == 2));
        assert_eq!(
            pieces.iter().map(|p| p.text.as_str()).collect::<String>(),
            url
        );
        let mut bytes = Vec::new();
        write(&mut bytes, url, &pieces).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(text.matches(&format!("\x1b]8;;{url}\x1b\\")).count(), 4);
        assert_eq!(text.matches("\x1b]8;;\x1b\\").count(), 4);
    }

    #[test]
    fn a_banner_naming_the_same_host_does_not_mislead_it() {
        let url = "https://auth.atlassian.com/authorize?audience=api.atlassian.com&client_id=abc";
        let mut buffer = Buffer::empty(Rect::new(0, 0, 40, 6));
        Paragraph::new("see https://auth.atlassian.com/ (test)")
            .render(Rect::new(0, 0, 40, 1), &mut buffer);
        Paragraph::new(url)
            .wrap(Wrap { trim: false })
            .render(Rect::new(1, 2, 39, 4), &mut buffer);
        let pieces = find(&buffer, url).expect("found below the banner");
        assert_eq!(pieces[0].y, 2);
        assert_eq!(
            pieces.iter().map(|p| p.text.as_str()).collect::<String>(),
            url
        );
    }

    #[test]
    fn a_url_that_is_not_drawn_whole_is_not_linked() {
        let url = "https://auth.atlassian.com/authorize?audience=api.atlassian.com&client_id=abc";
        let mut buffer = Buffer::empty(Rect::new(0, 0, 40, 2));
        Paragraph::new(url)
            .wrap(Wrap { trim: false })
            .render(Rect::new(0, 0, 40, 1), &mut buffer);
        assert_eq!(find(&buffer, url), None, "cut off after one line");
    }
}
