//! Making text that arrived in the redirect's query safe to draw and to print: escape
//! sequences and control characters go, whitespace controls become spaces, length is capped.

const ESC: char = '\u{1b}';
const BEL: char = '\u{7}';
/// The 8-bit forms of CSI and OSC: terminals that honour C1 controls start sequences on them.
const C1_CSI: char = '\u{9b}';
const C1_OSC: char = '\u{9d}';
const ELLIPSIS: char = '…';

/// `text` without terminal escape sequences, control or bidi-override characters, at most
/// `cap` characters (the last one an ellipsis when something was cut), trimmed.
pub(crate) fn sanitize(text: &str, cap: usize) -> String {
    let mut cleaned = String::with_capacity(text.len().min(cap * 4));
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ESC => match chars.next() {
                Some('[') => skip_csi(&mut chars),
                Some(']' | 'P' | 'X' | '^' | '_') => skip_string(&mut chars),
                // A two-character sequence (ESC 7, ESC c, ...): its second character went above.
                _ => {}
            },
            C1_CSI => skip_csi(&mut chars),
            C1_OSC => skip_string(&mut chars),
            '\t' | '\n' | '\r' => cleaned.push(' '),
            c if c.is_control() || is_bidi_control(c) => {}
            c => cleaned.push(c),
        }
    }
    cap_length(cleaned.trim(), cap)
}

/// CSI: parameter and intermediate bytes up to a final byte in `@`..=`~`.
fn skip_csi(chars: &mut impl Iterator<Item = char>) {
    for c in chars.by_ref() {
        if ('@'..='~').contains(&c) {
            return;
        }
    }
}

/// OSC, DCS, SOS, PM, APC: anything up to BEL or the string terminator `ESC \`.
fn skip_string(chars: &mut std::iter::Peekable<impl Iterator<Item = char>>) {
    while let Some(c) = chars.next() {
        match c {
            BEL => return,
            ESC => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

/// Characters that reorder what follows them on screen, so text can pretend to say
/// something else (the "Trojan Source" trick).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

fn cap_length(text: &str, cap: usize) -> String {
    if text.chars().count() <= cap {
        return text.to_owned();
    }
    let mut capped: String = text.chars().take(cap.saturating_sub(1)).collect();
    capped.push(ELLIPSIS);
    capped
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escape_sequences_and_controls_are_removed() {
        let cases = [
            ("plain text", "plain text"),
            ("red \u{1b}[31mALERT\u{1b}[0m end", "red ALERT end"),
            ("title \u{1b}]0;owned\u{7} after", "title  after"),
            ("link \u{1b}]8;;http://x\u{1b}\\here", "link here"),
            ("c1 \u{9b}2J gone", "c1  gone"),
            ("reset \u{1b}c now", "reset  now"),
            ("line\nbreak\ttab", "line break tab"),
            ("bell\u{7}del\u{7f}", "belldel"),
            ("bidi \u{202e}txet", "bidi txet"),
            ("dangling \u{1b}", "dangling"),
            ("unterminated \u{1b}]0;title", "unterminated"),
            ("  padded  ", "padded"),
        ];
        for (input, expected) in cases {
            assert_eq!(sanitize(input, 100), expected, "{input:?}");
        }
    }

    #[test]
    fn long_text_is_capped_with_an_ellipsis() {
        assert_eq!(sanitize("abcdef", 4), "abc…");
        assert_eq!(sanitize("abcd", 4), "abcd");
    }

    proptest! {
        #[test]
        fn output_is_always_printable_and_capped(
            pieces in prop::collection::vec(
                prop_oneof![4 => any::<char>(), 1 => Just(ESC), 1 => Just('['), 1 => Just(']')],
                0..80,
            ),
            cap in 1usize..64,
        ) {
            let input: String = pieces.into_iter().collect();
            let output = sanitize(&input, cap);
            prop_assert!(output.chars().count() <= cap);
            prop_assert!(!output.chars().any(|c| c.is_control() || is_bidi_control(c)));
        }
    }
}
