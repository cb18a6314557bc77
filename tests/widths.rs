//! Nothing is cut at the right edge: every screen state of the catalogue drawn at every
//! width from 60 to 200 columns (at 24 and 40 rows), checked for words that stop at an edge
//! instead of wrapping; and the checker's own tests, proving it catches a cut word.

mod common;

use common::cut_words::{Cut, cuts, rows, rows_of, vocabulary};
use common::states::catalogue;
use common::ui::draw_buffer;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

/// Wide enough that no line of any screen reaches the edge: the reference vocabulary.
const REFERENCE_WIDTH: u16 = 400;

#[test]
fn no_screen_cuts_a_word_at_the_right_edge_from_60_to_200_columns() {
    let mut failures = Vec::new();
    for (name, build) in catalogue() {
        let app = build();
        for height in [24, 40] {
            // Tall and short too: a screen may show more rows when tall, or a notice
            // instead of its content (the QR code's) when short.
            let reference = [height, 60, 16].map(|h| rows(&draw_buffer(&app, REFERENCE_WIDTH, h)));
            let reference_words = vocabulary(&reference);
            for width in 60..=200 {
                // The one text that changes with the width: a screen naming the terminal's size.
                let mut words = reference_words.clone();
                words.extend([format!("{width}x{height}:"), format!("{width}x{height}")]);
                let frame = rows(&draw_buffer(&app, width, height));
                for Cut {
                    row, word, line, ..
                } in cuts(&frame, &words)
                {
                    failures.push(format!(
                        "{name} at {width}x{height}, row {row}: {word:?} stops at the edge\n  {line}"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cut word(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `text` drawn in a bordered box of `width` columns (wrapped or not), as rows.
fn boxed(text: &str, width: u16, wrap: bool) -> Vec<Vec<char>> {
    let mut buffer = Buffer::empty(Rect::new(0, 0, width, 6));
    let mut paragraph =
        Paragraph::new(text).block(Block::default().borders(Borders::ALL).title(" T "));
    if wrap {
        paragraph = paragraph.wrap(Wrap { trim: false });
    }
    paragraph.render(buffer.area, &mut buffer);
    rows(&buffer)
}

fn words_of(text: &str) -> std::collections::HashSet<String> {
    vocabulary(&[boxed(text, 400, false)])
}

#[test]
fn the_checker_catches_a_table_cell_cut_by_the_border() {
    let text = "jira  admin  valid · 47m left";
    let frame = boxed(text, 16, false);
    let found = cuts(&frame, &words_of(text));
    assert_eq!(
        found.iter().map(|c| c.word.as_str()).collect::<Vec<_>>(),
        ["v"],
        "{frame:?}"
    );
    let frame = boxed(text, 29, false);
    let found = cuts(&frame, &words_of(text));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].word, "le", "{:?}", found[0].line);
}

#[test]
fn the_checker_catches_a_word_cut_by_the_screen_margin() {
    // A line drawn in a body one column in from the right, and cut there.
    let words: std::collections::HashSet<String> =
        ["Over", "SSH,", "run", "ssh", "-L", "8765:localhost:8765"]
            .map(String::from)
            .into();
    let frame = rows_of(&[
        " Over SSH, run ssh -L 8765:loc ",
        "                               ",
    ]);
    let found = cuts(&frame, &words);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].word, "8765:loc");
}

#[test]
fn the_checker_accepts_a_soft_wrapped_url_and_words_that_end_at_the_edge() {
    let url = "https://auth.atlassian.com/authorize?audience=api.atlassian.com&client_id=abc&state=0123456789";
    let frame = boxed(url, 30, true);
    assert!(frame.len() > 3 && frame[2][28] != ' ', "wrapped: {frame:?}");
    assert_eq!(cuts(&frame, &words_of(url)), []);
    // Word wrapping that happens to fill a line exactly.
    let sentence = "twelve chars more words follow here";
    let frame = boxed(sentence, 14, true);
    assert_eq!(frame[1].iter().collect::<String>(), "│twelve chars│");
    assert_eq!(cuts(&frame, &words_of(sentence)), []);
}

#[test]
fn the_checker_does_not_take_an_unrelated_next_row_for_a_continuation() {
    let words: std::collections::HashSet<String> =
        ["Atlassian", "refused", "the", "refresh", "token", "support"]
            .map(String::from)
            .into();
    let frame = rows_of(&["│refused the refresh tok│", "│support                │"]);
    let found = cuts(&frame, &words);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].word, "tok");
}
