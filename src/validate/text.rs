//! Making outside text safe: `sanitize` for anything drawn or printed (server bodies, site
//! names, echoes of a paste), `quoted` for a value echoed in a message, `clean_paste` for
//! values pasted into a field, and the small percent-decoding the URL and scope checks share.

use std::iter::Peekable;
use std::str::Chars;

use super::finding::MAX_INPUT;

const ESCAPE: char = '\u{1b}';
const BELL: char = '\u{07}';
/// The 8-bit forms of CSI, OSC, DCS, SOS, PM, APC and ST. A terminal in UTF-8 mode usually
/// ignores them, but one that does not would act on them, so they go like their 7-bit twins.
const C1_CSI: char = '\u{9b}';
const C1_OSC: char = '\u{9d}';
const C1_STRINGS: [char; 4] = ['\u{90}', '\u{98}', '\u{9e}', '\u{9f}'];
const C1_ST: char = '\u{9c}';

/// How much of an outside value [`sanitize`] keeps, by what the value is. An identifier:
/// an integration, a user id, an OAuth error code, a resource id.
pub const ID_CAP: usize = 64;
/// A person's or a thing's display name.
pub const NAME_CAP: usize = 80;
/// An account id or an e-mail address.
pub const ACCOUNT_CAP: usize = 128;
/// A URL or a file path.
pub const URL_CAP: usize = 200;
/// One sentence from outside: an error's description, an event's outcome.
pub const SENTENCE_CAP: usize = 300;
/// One line on a status bar or banner.
pub const LINE_CAP: usize = 1000;
/// Several lines: a log message, a note.
pub const BLOCK_CAP: usize = 4000;

/// Text that is safe to draw: no escape sequences, no control characters, no bidi controls
/// (which can make a terminal show `moc.live` as `evil.com`) or other invisible formatting, at
/// most `cap` characters. Line breaks and tabs become spaces. When the text is cut, the last kept character is "…".
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
    let stripped: String = Stripped::new(&joined).collect();
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

/// The most characters [`quoted`] shows between its quotes.
pub const QUOTED_CAP: usize = 80;

/// A value echoed in a message (an identifier, a site the caller named, a stored URL): in
/// double quotes, with every character a terminal would act on or nobody could see written
/// out as `\u{..}` (so the reader sees what was refused, and the terminal sees plain ASCII),
/// `"` and `\` escaped, and cut at [`QUOTED_CAP`] characters with "…". Whatever the source,
/// the result is safe to print.
pub fn quoted(input: &str) -> String {
    let mut out = String::with_capacity(input.len().min(QUOTED_CAP * 2) + 2);
    out.push('"');
    let mut shown = 0;
    for c in input.chars() {
        let piece = match c {
            '"' => "\\\"".to_owned(),
            '\\' => "\\\\".to_owned(),
            c if is_hidden(c) => format!("\\u{{{:x}}}", u32::from(c)),
            c => c.to_string(),
        };
        let width = piece.chars().count();
        if shown + width > QUOTED_CAP {
            out.push('…');
            break;
        }
        shown += width;
        out.push_str(&piece);
    }
    out.push('"');
    out
}

/// Whether `text` can go to a terminal as it is: nothing in it but printable characters and
/// line breaks (`\n`).
pub fn is_printable(text: &str) -> bool {
    text.chars().all(|c| c == '\n' || !is_hidden(c))
}

/// Characters a terminal acts on or nobody can see: C0 and C1 controls (ESC among them), DEL,
/// bidi controls, every other format character (Unicode category Cf: zero-width ones, the
/// soft hyphen, word joiners, tags) and the Unicode line and paragraph separators.
pub(crate) fn is_hidden(c: char) -> bool {
    c.is_control() || is_format(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

fn hex_value(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}

fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// The embedding, override and isolate controls, the marks (LRM, RLM, ALM): each changes
/// the order in which a terminal shows the characters around it.
pub(crate) fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}'
    )
}

/// Unicode general category Cf (format characters), as of Unicode 15.1: invisible, and each
/// changes how the text around it is shown or joined. Written out because std has no
/// category table, and this one changes rarely.
pub(crate) fn is_format(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{600}'..='\u{605}'
            | '\u{61c}'
            | '\u{6dd}'
            | '\u{70f}'
            | '\u{890}'..='\u{891}'
            | '\u{8e2}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{110bd}'
            | '\u{110cd}'
            | '\u{13430}'..='\u{1343f}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0001}'
            | '\u{e0020}'..='\u{e007f}'
    )
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

/// The characters of a text with escape sequences, control, bidi and other format characters
/// removed, and line breaks and tabs turned into single spaces.
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
                '\n' | '\t' | '\u{2028}' | '\u{2029}' => return Some(' '),
                c if is_hidden(c) => {}
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
            ("zero\u{200b}wid\u{feff}th\u{ad}", "zerowidth"),
            ("mark\u{200f}\u{61c}s", "marks"),
            ("tag\u{e0041}\u{2064}", "tag"),
            ("line\u{2028}sep", "line sep"),
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
    fn quoted_shows_what_is_hidden_and_stays_short() {
        let cases = [
            ("acme", "\"acme\""),
            ("", "\"\""),
            ("eve\u{1b}]0;x\u{7}", "\"eve\\u{1b}]0;x\\u{7}\""),
            (
                "a\u{202e}b\u{200b}c\u{9b}",
                "\"a\\u{202e}b\\u{200b}c\\u{9b}\"",
            ),
            ("say \"hi\" \\o/", "\"say \\\"hi\\\" \\\\o/\""),
            ("Zoë 李", "\"Zoë 李\""),
        ];
        for (input, expected) in cases {
            assert_eq!(quoted(input), expected, "input {input:?}");
        }
        let long = quoted(&"x".repeat(100_000));
        assert_eq!(long, format!("\"{}…\"", "x".repeat(QUOTED_CAP)));
        let escapes = quoted(&"\u{1b}".repeat(1000));
        assert!(escapes.chars().count() <= QUOTED_CAP + 3 && escapes.ends_with("…\""));
        assert!(is_printable(&escapes) && is_printable("two\nlines"));
        assert!(!is_printable("\u{1b}[2J") && !is_printable("a\u{202e}") && !is_printable("\t"));
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
