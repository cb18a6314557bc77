//! Finds words cut by a right edge in a drawn frame: a word that touches the edge of its area
//! (the screen's last column, the column before the screen's one-column margin, or a box
//! border) and neither is whole nor continues on the next row.
//!
//! "Whole" needs to know the words the screen meant to draw. They come from drawing the same
//! state on a terminal wide enough that nothing reaches an edge: its whitespace-separated
//! words (box-drawing characters separate too) are the vocabulary. At the width under test,
//! a word at an edge passes if it is one of those words, if it ends in an ellipsis (a
//! deliberate shortening), or if it and the first word of the next row in the same area
//! (from the area's left border on) join into part of one of those words: a soft-wrapped
//! URL or a word broken where it had to be. A word cut into a shorter real word ("re" of
//! "refresh", if "re" were drawn elsewhere) slips through; anything else is reported.

use std::collections::HashSet;

use ratatui::buffer::Buffer;

/// A word that stops at an edge, where it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cut {
    pub row: usize,
    pub column: usize,
    pub word: String,
    pub line: String,
}

/// The buffer as rows of characters, one a cell (the second cell of a wide character is a
/// zero-width joiner so columns stay aligned and words stay joined).
pub fn rows(buffer: &Buffer) -> Vec<Vec<char>> {
    let area = buffer.area;
    (area.y..area.y + area.height)
        .map(|y| {
            (area.x..area.x + area.width)
                .map(|x| buffer[(x, y)].symbol().chars().next().unwrap_or('\u{200d}'))
                .collect()
        })
        .collect()
}

/// Rows from plain text lines (for testing the checker itself).
pub fn rows_of(lines: &[&str]) -> Vec<Vec<char>> {
    lines.iter().map(|l| l.chars().collect()).collect()
}

fn is_box(c: char) -> bool {
    ('\u{2500}'..='\u{257f}').contains(&c)
}

fn is_word(c: char) -> bool {
    !c.is_whitespace() && !is_box(c)
}

/// The words of one or more drawn frames.
pub fn vocabulary<'a>(frames: impl IntoIterator<Item = &'a Vec<Vec<char>>>) -> HashSet<String> {
    let mut words = HashSet::new();
    for frame in frames {
        for row in frame {
            let text: String = row
                .iter()
                .map(|&c| if is_word(c) { c } else { ' ' })
                .collect();
            words.extend(text.split_whitespace().map(str::to_owned));
        }
    }
    words
}

/// Whether the cell right of `x` on `row` is an edge: the screen ends, the screen's margin
/// column follows, or a border does.
fn edge_after(row: &[char], x: usize) -> bool {
    let width = row.len();
    x + 1 == width || (x + 2 == width && row[width - 1] == ' ') || is_box(row[x + 1])
}

/// Every word cut by a right edge in `frame`, judged against `words`.
pub fn cuts(frame: &[Vec<char>], words: &HashSet<String>) -> Vec<Cut> {
    let mut found = Vec::new();
    for (y, row) in frame.iter().enumerate() {
        for x in 0..row.len() {
            if !is_word(row[x]) || !edge_after(row, x) {
                continue;
            }
            let start = (0..=x)
                .rev()
                .take_while(|&i| is_word(row[i]))
                .last()
                .unwrap_or(x);
            let word: String = row[start..=x].iter().collect();
            if word.ends_with('…') || words.contains(&word) {
                continue;
            }
            if y > 0 && continues_above(frame, y, start, &word, words) {
                continue;
            }
            if let Some(next) = frame.get(y + 1) {
                // The area's left edge: just right of the nearest border to the left.
                let left = (0..start)
                    .rev()
                    .find(|&i| is_box(row[i]))
                    .map_or(0, |i| i + 1);
                let first: String = next
                    .iter()
                    .skip(left)
                    .skip_while(|c| c.is_whitespace())
                    .take_while(|&&c| is_word(c))
                    .collect();
                let joined = format!("{word}{first}");
                if !first.is_empty() && words.iter().any(|w| w.contains(&joined)) {
                    continue;
                }
            }
            found.push(Cut {
                row: y,
                column: x,
                word,
                line: row.iter().collect(),
            });
        }
    }
    found
}

/// Whether `word`, first in its area on row `y`, ends a word the row above began at an
/// edge: the last line of a soft-wrapped URL that happens to fill its row.
fn continues_above(
    frame: &[Vec<char>],
    y: usize,
    start: usize,
    word: &str,
    words: &HashSet<String>,
) -> bool {
    let row = &frame[y];
    let above = &frame[y - 1];
    let left = (0..start)
        .rev()
        .find(|&i| is_box(row[i]))
        .map_or(0, |i| i + 1);
    if row[left..start].iter().any(|&c| is_word(c)) {
        return false;
    }
    let Some(end) = (0..above.len())
        .rev()
        .find(|&x| is_word(above[x]) && edge_after(above, x))
    else {
        return false;
    };
    let begin = (0..=end)
        .rev()
        .take_while(|&i| is_word(above[i]))
        .last()
        .unwrap_or(end);
    let joined: String = above[begin..=end]
        .iter()
        .copied()
        .chain(word.chars())
        .collect();
    words.iter().any(|w| w.ends_with(&joined))
}
