//! Making outside text safe: `sanitize` for anything drawn or printed (server bodies, site
//! names, echoes of a paste), `clean_paste` for values pasted into a field, and the small
//! percent-decoding the URL and scope checks share.

use std::iter::Peekable;
use std::str::Chars;

use super::MAX_INPUT;

const ESCAPE: char = '\u{1b}';
const BELL: char = '\u{07}';
/// The 8-bit forms of CSI, OSC, DCS, SOS, PM, APC and ST. A terminal in UTF-8 mode usually
/// ignores them, but one that does not would act on them, so they go like their 7-bit twins.
const C1_CSI: char = '\u{9b}';
const C1_OSC: char = '\u{9d}';
const C1_STRINGS: [char; 4] = ['\u{90}', '\u{98}', '\u{9e}', '\u{9f}'];
const C1_ST: char = '\u{9c}';

/// Text that is safe to draw: no escape sequences, no control characters, no bidi overrides
/// (which can make a terminal show `moc.live` as `evil.com`), at most `cap` characters. Line
/// breaks and tabs become spaces. When the text is cut, the last kept character is "…".
pub fn sanitize(input: &str, cap: usize) -> String {
    let mut out = String::with_capacity(input.len().min(cap.saturating_mul(4)));
    for (kept, c) in Stripped::new(input).enumerate() {
        if kept == cap {
            if out.pop().is_some() {
                out.push('…');
            }
            break;
        }
        out.push(c);
    }
    out
}

/// A pasted value made ready to check: line breaks that a terminal inserts when copying a long
/// wrapped line are removed (not turned into spaces), escape sequences (a stray bracketed-paste
/// marker), control, bidi and zero-width characters are dropped, surrounding whitespace, quotes,
/// backticks, `<...>` and `(...)` are peeled off, and the result is capped at [`MAX_INPUT`]
/// bytes.
pub fn clean_paste(input: &str) -> String {
    let joined: String = input.chars().filter(|c| !is_line_break(*c)).collect();
    let stripped: String = Stripped::new(&joined)
        .filter(|c| !is_zero_width(*c))
        .collect();
    let mut value = unwrap(&stripped).to_owned();
    truncate_bytes(&mut value, MAX_INPUT);
    value.truncate(value.trim_end().len());
    value
}

/// `%XX` sequences decoded to bytes, the rest kept; invalid UTF-8 becomes U+FFFD. Never fails,
/// because a paste is not trusted to be well-formed.
pub(crate) fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte == b'%'
            && let (Some(high), Some(low)) = (
                bytes.get(index + 1).and_then(|b| hex_value(*b)),
                bytes.get(index + 2).and_then(|b| hex_value(*b)),
            )
        {
            out.push(high << 4 | low);
            index += 3;
        } else {
            out.push(byte);
            index += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A piece of the admin's input, quoted for a message: sanitized, short, in curly quotes.
pub(crate) fn quote(input: &str) -> String {
    format!("“{}”", sanitize(input, 60))
}

fn hex_value(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}

fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Characters that web pages sprinkle into copied text and that nobody can see.
fn is_zero_width(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}')
}

const PAIRS: [(char, char); 8] = [
    ('"', '"'),
    ('\'', '\''),
    ('`', '`'),
    ('<', '>'),
    ('(', ')'),
    ('“', '”'),
    ('‘', '’'),
    ('«', '»'),
];
/// Quote marks that no field's value starts or ends with, so even an unpaired one is a leftover
/// of a sloppy selection.
const LONE_QUOTES: [char; 7] = ['"', '\'', '`', '“', '”', '‘', '’'];

fn unwrap(mut text: &str) -> &str {
    loop {
        let trimmed = text.trim();
        let inner = PAIRS
            .iter()
            .find_map(|(open, close)| trimmed.strip_prefix(*open)?.strip_suffix(*close))
            .or_else(|| trimmed.strip_prefix(&LONE_QUOTES[..]))
            .or_else(|| trimmed.strip_suffix(&LONE_QUOTES[..]));
        match inner {
            Some(inner) => text = inner,
            None => return trimmed,
        }
    }
}

fn truncate_bytes(text: &mut String, cap: usize) {
    if text.len() > cap {
        let mut end = cap;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

/// The characters of a text with escape sequences, control and bidi characters removed, and
/// line breaks and tabs turned into single spaces.
struct Stripped<'a> {
    chars: Peekable<Chars<'a>>,
}

impl<'a> Stripped<'a> {
    fn new(text: &'a str) -> Self {
        Stripped {
            chars: text.chars().peekable(),
        }
    }

    /// After ESC: CSI, OSC and the string sequences have their own ends; an nF sequence is
    /// intermediates plus a final; anything else is ESC plus one character.
    fn skip_escape(&mut self) {
        match self.chars.peek().copied() {
            Some('[') => {
                self.chars.next();
                self.skip_control_sequence();
            }
            Some(']' | 'P' | 'X' | '^' | '_') => {
                self.chars.next();
                self.skip_string();
            }
            Some(' '..='/') => {
                while self.chars.next_if(|c| matches!(c, ' '..='/')).is_some() {}
                self.chars.next_if(|c| matches!(c, '0'..='~'));
            }
            Some('0'..='~') => {
                self.chars.next();
            }
            _ => {}
        }
    }

    /// Parameters and intermediates up to a final byte. A character that cannot be part of
    /// the sequence ends it without being swallowed, so a broken sequence eats no text.
    fn skip_control_sequence(&mut self) {
        while let Some(c) = self.chars.peek().copied() {
            match c {
                ' '..='?' => {
                    self.chars.next();
                }
                '@'..='~' => {
                    self.chars.next();
                    return;
                }
                _ => return,
            }
        }
    }

    /// OSC, DCS, SOS, PM, APC: everything up to BEL or ST. An unterminated one runs to the
    /// end of the text: a terminal would swallow it too, and showing half of it helps nobody.
    fn skip_string(&mut self) {
        while let Some(c) = self.chars.next() {
            match c {
                BELL | C1_ST => return,
                ESCAPE => {
                    if self.chars.next_if_eq(&'\\').is_none() {
                        self.skip_escape();
                    }
                    return;
                }
                _ => {}
            }
        }
    }
}

impl Iterator for Stripped<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        while let Some(c) = self.chars.next() {
            match c {
                ESCAPE => self.skip_escape(),
                C1_CSI => self.skip_control_sequence(),
                C1_OSC => self.skip_string(),
                c if C1_STRINGS.contains(&c) => self.skip_string(),
                '\r' => {
                    self.chars.next_if_eq(&'\n');
                    return Some(' ');
                }
                '\n' | '\t' => return Some(' '),
                c if c.is_control() || is_bidi_control(c) => {}
                c => return Some(c),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_removes_every_kind_of_escape_sequence() {
        let cases = [
            ("plain", "plain"),
            ("\u{1b}[31mred\u{1b}[0m", "red"),
            ("\u{1b}[?1049hscreen", "screen"),
            ("\u{1b}]0;title\u{7}after", "after"),
            (
                "\u{1b}]8;;https://evil.example\u{1b}\\link\u{1b}]8;;\u{1b}\\",
                "link",
            ),
            ("\u{1b}Pq#0;2;0;0;0\u{1b}\\sixel", "sixel"),
            ("\u{1b}_apc\u{1b}\\x", "x"),
            ("\u{1b}cRIS", "RIS"),
            ("\u{1b}(Bcharset", "charset"),
            ("\u{1b}7save\u{1b}8", "save"),
            ("\u{9b}31mC1", "C1"),
            ("\u{9d}0;t\u{9c}osc", "osc"),
            ("\u{1b}]unterminated", ""),
            ("\u{1b}[31\u{e9}x", "\u{e9}x"),
            ("\u{1b}]0;t\u{1b}[31mred", "red"),
            ("bell\u{7}del\u{7f}nul\u{0}c1\u{85}", "belldelnulc1"),
            ("a\nb\tc\r\nd\re", "a b c d e"),
            ("user\u{202e}moc.live", "usermoc.live"),
            ("\u{2066}iso\u{2069}", "iso"),
            ("trailing\u{1b}", "trailing"),
        ];
        for (input, expected) in cases {
            assert_eq!(sanitize(input, 100), expected, "input {input:?}");
        }
    }

    #[test]
    fn sanitize_caps_with_an_ellipsis() {
        assert_eq!(sanitize("abcdef", 6), "abcdef");
        assert_eq!(sanitize("abcdefg", 6), "abcde…");
        assert_eq!(sanitize("abc", 0), "");
        assert_eq!(sanitize("ééééé", 3), "éé…");
        assert_eq!(sanitize("ab\u{1b}[0m", 2), "ab", "escapes do not count");
    }

    #[test]
    fn clean_paste_undoes_copy_damage() {
        let cases = [
            ("  value  ", "value"),
            ("\"value\"", "value"),
            ("'value'", "value"),
            ("`value`", "value"),
            ("<https://example.com>", "https://example.com"),
            (
                "(https://auth.atlassian.com/authorize?audience=api.atlassian.com)",
                "https://auth.atlassian.com/authorize?audience=api.atlassian.com",
            ),
            ("`<\"value\">`", "value"),
            ("“value”", "value"),
            ("\"value", "value"),
            (
                "https://auth.atlassian.com/oauth/\ntoken",
                "https://auth.atlassian.com/oauth/token",
            ),
            (
                "https://auth.atlas\r\nsian.com/authorize\n",
                "https://auth.atlassian.com/authorize",
            ),
            ("\u{1b}[200~value\u{1b}[201~", "value"),
            ("\u{feff}va\u{200b}lue", "value"),
            ("a\tb", "a b"),
            ("", ""),
            ("\"\"", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(clean_paste(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn clean_paste_caps_at_the_input_limit() {
        let long = "é".repeat(MAX_INPUT);
        let cleaned = clean_paste(&long);
        assert!(cleaned.len() <= MAX_INPUT);
        assert!(cleaned.chars().all(|c| c == 'é'));
    }

    #[test]
    fn percent_decode_is_lenient() {
        assert_eq!(percent_decode("read%3Ajira-work%20x"), "read:jira-work x");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "é");
        assert_eq!(percent_decode("%FF"), "\u{fffd}");
    }
}
