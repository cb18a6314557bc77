//! The OSC 52 escape sequence that asks the user's terminal to put text on its clipboard,
//! and its wrappings for getting through tmux and GNU screen. Pure: bytes in, bytes out.

use crossterm::Command;
use crossterm::clipboard::CopyToClipboard;

use super::env::Multiplexer;

const ESCAPE: &str = "\x1b";
/// ST, which ends OSC and DCS strings.
const STRING_TERMINATOR: &str = "\x1b\\";
/// The older OSC terminator, still understood by every terminal that takes OSC 52.
const BELL: &str = "\x07";
/// GNU screen caps the length of a DCS string (768 bytes or less, depending on the build);
/// 76 is what the widely used osc52 scripts send, safe on every version.
pub const SCREEN_CHUNK_BYTES: usize = 76;

/// The single OSC 52 sequence that copies `text`, wrapped for `multiplexer`:
/// - none: `ESC ] 52 ; c ; BASE64 ESC \`
/// - tmux: `ESC P tmux; <that sequence with every ESC doubled> ESC \`, tmux's passthrough.
/// - screen: the sequence ended by BEL instead of ST (an ST would end screen's DCS early),
///   cut into chunks of at most [`SCREEN_CHUNK_BYTES`] bytes, each sent as `ESC P chunk ESC \`.
pub fn osc52_sequence(text: &str, multiplexer: Multiplexer) -> String {
    let plain = plain_sequence(text);
    match multiplexer {
        Multiplexer::None => plain,
        Multiplexer::Tmux => tmux_passthrough(&plain),
        Multiplexer::Screen => screen_passthrough(&bell_terminated(plain)),
    }
}

/// Everything [`super::Clipboard::copy`] writes to the terminal. Under tmux that is the plain
/// sequence followed by the passthrough one: tmux takes the first when `set-clipboard` is
/// `on` and forwards the second when passthrough is allowed (always before 3.3, opt-in
/// since), and silently drops whichever its settings refuse, so sending both reaches the
/// outer terminal under either setting.
pub fn osc52_output(text: &str, multiplexer: Multiplexer) -> String {
    match multiplexer {
        Multiplexer::Tmux => plain_sequence(text) + &osc52_sequence(text, multiplexer),
        Multiplexer::None | Multiplexer::Screen => osc52_sequence(text, multiplexer),
    }
}

/// Destination `c`, the clipboard proper: the one destination every OSC 52 terminal honours
/// the same way (see crossterm's support table).
fn plain_sequence(text: &str) -> String {
    let mut sequence = String::new();
    // Writing into a String cannot fail, and crossterm's write_ansi only fails when its
    // writer does.
    let _ = CopyToClipboard::to_clipboard_from(text).write_ansi(&mut sequence);
    sequence
}

fn bell_terminated(sequence: String) -> String {
    match sequence.strip_suffix(STRING_TERMINATOR) {
        Some(body) => format!("{body}{BELL}"),
        // crossterm always ends OSC with ST; the unit tests pin that down.
        None => sequence,
    }
}

fn tmux_passthrough(sequence: &str) -> String {
    let doubled = sequence.replace(ESCAPE, "\x1b\x1b");
    format!("{ESCAPE}Ptmux;{doubled}{STRING_TERMINATOR}")
}

fn screen_passthrough(sequence: &str) -> String {
    // The sequence is ASCII (escape, digits, base64, BEL), so byte chunks are whole
    // characters and the lossy conversion never replaces anything.
    sequence
        .as_bytes()
        .chunks(SCREEN_CHUNK_BYTES)
        .map(|chunk| {
            format!(
                "{ESCAPE}P{}{STRING_TERMINATOR}",
                String::from_utf8_lossy(chunk)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LONG_URL: &str = "http://localhost:8765/callback?from=jira-auth&integration=jira&note=long-enough-for-screen";
    const LONG_URL_BASE64: &str = "aHR0cDovL2xvY2FsaG9zdDo4NzY1L2NhbGxiYWNrP2Zyb209amlyYS1hdXRoJmludGVncmF0aW9uPWppcmEmbm90ZT1sb25nLWVub3VnaC1mb3Itc2NyZWVu";

    /// The payloads of `ESC P ... ESC \` strings laid end to end, or `None` when the text is
    /// not exactly such a run.
    fn screen_chunks(output: &str) -> Option<Vec<&str>> {
        let mut chunks = Vec::new();
        let mut rest = output;
        while !rest.is_empty() {
            let body = rest.strip_prefix("\x1bP")?;
            let end = body.find(STRING_TERMINATOR)?;
            chunks.push(&body[..end]);
            rest = &body[end + STRING_TERMINATOR.len()..];
        }
        Some(chunks)
    }

    fn tmux_unwrapped(output: &str) -> Option<String> {
        let body = output
            .strip_prefix("\x1bPtmux;")?
            .strip_suffix(STRING_TERMINATOR)?;
        Some(body.replace("\x1b\x1b", "\x1b"))
    }

    #[test]
    fn plain_sequence_is_osc_52_to_the_clipboard_ended_by_st() {
        assert_eq!(
            osc52_sequence("foo", Multiplexer::None),
            "\x1b]52;c;Zm9v\x1b\\"
        );
        assert_eq!(osc52_sequence("", Multiplexer::None), "\x1b]52;c;\x1b\\");
    }

    #[test]
    fn tmux_sequence_doubles_every_escape_inside_the_passthrough() {
        assert_eq!(
            osc52_sequence("foo", Multiplexer::Tmux),
            "\x1bPtmux;\x1b\x1b]52;c;Zm9v\x1b\x1b\\\x1b\\"
        );
    }

    #[test]
    fn tmux_output_sends_the_plain_sequence_then_the_passthrough() {
        assert_eq!(
            osc52_output("foo", Multiplexer::Tmux),
            "\x1b]52;c;Zm9v\x1b\\\x1bPtmux;\x1b\x1b]52;c;Zm9v\x1b\x1b\\\x1b\\"
        );
        assert_eq!(
            osc52_output("foo", Multiplexer::None),
            osc52_sequence("foo", Multiplexer::None)
        );
        assert_eq!(
            osc52_output("foo", Multiplexer::Screen),
            osc52_sequence("foo", Multiplexer::Screen)
        );
    }

    #[test]
    fn short_screen_sequence_is_one_dcs_around_a_bell_terminated_osc() {
        assert_eq!(
            osc52_sequence("foo", Multiplexer::Screen),
            "\x1bP\x1b]52;c;Zm9v\x07\x1b\\"
        );
    }

    #[test]
    fn long_screen_sequence_is_cut_into_76_byte_chunks() {
        let expected = concat!(
            "\x1bP\x1b]52;c;aHR0cDovL2xvY2FsaG9zdDo4NzY1L2NhbGxiYWNrP2Zyb209amlyYS1hdXRoJmludGVnc\x1b\\",
            "\x1bPmF0aW9uPWppcmEmbm90ZT1sb25nLWVub3VnaC1mb3Itc2NyZWVu\x07\x1b\\",
        );
        let output = osc52_sequence(LONG_URL, Multiplexer::Screen);
        assert_eq!(output, expected);

        let chunks = screen_chunks(&output).expect("a run of DCS strings");
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].len(), SCREEN_CHUNK_BYTES);
        let plain = osc52_sequence(LONG_URL, Multiplexer::None);
        assert_eq!(plain, format!("\x1b]52;c;{LONG_URL_BASE64}\x1b\\"));
        assert_eq!(chunks.concat(), bell_terminated(plain));
    }

    proptest! {
        #[test]
        fn screen_chunks_are_short_and_reassemble_to_the_plain_sequence(text in ".{0,400}") {
            let output = osc52_sequence(&text, Multiplexer::Screen);
            let chunks = screen_chunks(&output).expect("a run of DCS strings");
            prop_assert!(chunks.iter().all(|chunk| chunk.len() <= SCREEN_CHUNK_BYTES));
            // An ST inside a chunk would have ended screen's DCS string early.
            prop_assert!(chunks.iter().all(|chunk| !chunk.contains(STRING_TERMINATOR)));
            let plain = osc52_sequence(&text, Multiplexer::None);
            let reassembled = chunks.concat();
            prop_assert_eq!(
                reassembled.strip_suffix(BELL),
                plain.strip_suffix(STRING_TERMINATOR)
            );
        }

        #[test]
        fn tmux_passthrough_unwraps_to_the_plain_sequence(text in ".{0,400}") {
            let output = osc52_sequence(&text, Multiplexer::Tmux);
            prop_assert_eq!(tmux_unwrapped(&output), Some(osc52_sequence(&text, Multiplexer::None)));
        }
    }
}
