//! The one rule for identifiers: integration names, profile names and end-user ids. Each is a
//! store key, a command-line value and text drawn on terminals, so each is refused, never
//! silently changed, when it holds anything a terminal would act on or nobody could see.
//!
//! - integration and profile names: 1 to [`MAX_NAME`] ASCII letters, digits, `-`, `_` or `.`,
//!   not starting with `-`;
//! - user ids: free text from the caller's world (a chat id, an email, a display name with
//!   spaces and non-ASCII letters), 1 to [`MAX_USER_ID`] characters, not only whitespace.
//!
//! No identifier holds control characters (C0, C1, DEL: escape sequences among them), bidi
//! controls, other format characters (Unicode category Cf: zero-width ones, the soft hyphen)
//! or line separators. Whitespace at either end is refused rather than trimmed: what is stored
//! is exactly what was given.

use std::fmt;

use super::text::{is_bidi_control, is_format, is_hidden, quoted};

/// The longest integration or profile name, in characters: it is a store key and a
/// command-line argument.
pub const MAX_NAME: usize = 64;

/// The longest user id, in characters: more than any chat id, email or display name, and
/// short enough to show on one line.
pub const MAX_USER_ID: usize = 256;

/// Which identifier a value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Identifier {
    Integration,
    Profile,
    User,
}

impl Identifier {
    /// Its name in sentences.
    pub fn label(self) -> &'static str {
        match self {
            Identifier::Integration => "integration name",
            Identifier::Profile => "profile name",
            Identifier::User => "user id",
        }
    }

    /// The most characters it may have.
    pub fn max_chars(self) -> usize {
        match self {
            Identifier::Integration | Identifier::Profile => MAX_NAME,
            Identifier::User => MAX_USER_ID,
        }
    }

    fn is_name(self) -> bool {
        self != Identifier::User
    }

    fn fix(self) -> &'static str {
        match self {
            Identifier::Integration => {
                "Use 1 to 64 letters, digits, -, _ or . (e.g. jira or support), not starting with -: the name is a key and a command-line argument."
            }
            Identifier::Profile => {
                "Use 1 to 64 letters, digits, -, _ or . (e.g. jira-prod), not starting with -: the name is a key and a command-line argument."
            }
            Identifier::User => {
                "Give the id as the caller's system knows it (a chat id, an email, a display name): 1 to 256 characters of visible text, without control, bidi or invisible characters and without spaces at either end."
            }
        }
    }

    /// The fix when the value names something that should exist already.
    fn lookup_fix(self) -> &'static str {
        match self {
            Identifier::Integration => {
                "No integration can have such a name, so none is meant; `jira-auth status` lists the integrations."
            }
            Identifier::Profile => {
                "No profile can have such a name, so none is meant; `jira-auth profile list` lists the profiles."
            }
            Identifier::User => {
                "No user can have such an id, so none is meant; `jira-auth status` lists the users with a token."
            }
        }
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What is wrong with a refused identifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    Empty,
    /// Nothing but whitespace.
    Blank,
    TooLong {
        chars: usize,
    },
    /// ESC, or an 8-bit CSI/OSC/DCS/...: the start of a terminal escape sequence.
    EscapeSequence(char),
    /// Any other C0 or C1 control, or DEL.
    Control(char),
    /// A bidi control: the terminal would show the text in another order than it is.
    Bidi(char),
    /// Another format character (zero-width, soft hyphen, tag...) or a line separator.
    Invisible(char),
    /// Whitespace at the start or the end.
    SurroundingSpace,
    /// Names only: whitespace inside.
    Space,
    /// Names only: a character outside letters, digits, `-`, `_` and `.`.
    NotAllowed(char),
    /// Names only: a leading `-` reads as an option.
    LeadingDash,
}

/// A refused identifier: which one, what is wrong, and (in its sentence) the fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{} {}", self.message(), self.fix())]
pub struct IdentifierError {
    pub identifier: Identifier,
    pub problem: Problem,
    /// The refused value as [`quoted`] shows it: escaped and capped.
    pub shown: String,
    /// The value was to find something stored, not to create it: nothing so named exists.
    pub lookup: bool,
}

impl IdentifierError {
    /// The same refusal for a value that names something to find (`profile rm NAME`,
    /// `authorize --integration NAME`): the fix says that nothing so named can exist.
    #[must_use]
    pub fn as_lookup(mut self) -> Self {
        self.lookup = true;
        self
    }

    /// What is wrong, naming the identifier, as a sentence.
    pub fn message(&self) -> String {
        let label = self.identifier.label();
        let shown = &self.shown;
        match &self.problem {
            Problem::Empty => format!("The {label} is empty."),
            Problem::Blank => format!("The {label} {shown} is only whitespace."),
            Problem::TooLong { chars } => format!(
                "The {label} {shown} is {chars} characters long; the limit is {}.",
                self.identifier.max_chars()
            ),
            Problem::EscapeSequence(c) => format!(
                "The {label} {shown} holds a terminal escape sequence ({}), which would act on the terminal it is shown on.",
                code_point(*c)
            ),
            Problem::Control(c) => format!(
                "The {label} {shown} holds the control character {}.",
                code_point(*c)
            ),
            Problem::Bidi(c) => format!(
                "The {label} {shown} holds the bidi control {}, which makes a terminal show the text in another order than it is.",
                code_point(*c)
            ),
            Problem::Invisible(c) => format!(
                "The {label} {shown} holds the invisible character {}.",
                code_point(*c)
            ),
            Problem::SurroundingSpace => {
                format!("The {label} {shown} starts or ends with whitespace.")
            }
            Problem::Space => format!("The {label} {shown} contains a space."),
            Problem::NotAllowed(c) => {
                format!("The {label} {shown} contains {}.", quoted(&c.to_string()))
            }
            Problem::LeadingDash => {
                format!("The {label} {shown} starts with -, which reads as an option.")
            }
        }
    }

    /// What to do about it, as a sentence.
    pub fn fix(&self) -> &'static str {
        if self.lookup {
            self.identifier.lookup_fix()
        } else {
            self.identifier.fix()
        }
    }
}

/// An integration name, checked: the value itself when it is usable.
pub fn integration_name(input: &str) -> Result<&str, IdentifierError> {
    check(Identifier::Integration, input)
}

/// A profile name, checked: the value itself when it is usable.
pub fn profile_name(input: &str) -> Result<&str, IdentifierError> {
    check(Identifier::Profile, input)
}

/// An end user's id, checked: the value itself when it is usable.
pub fn user_id(input: &str) -> Result<&str, IdentifierError> {
    check(Identifier::User, input)
}

/// The rule every identifier shares, then what names alone need.
pub fn check(identifier: Identifier, input: &str) -> Result<&str, IdentifierError> {
    let refuse = |problem| {
        Err(IdentifierError {
            identifier,
            problem,
            shown: quoted(input),
            lookup: false,
        })
    };
    if input.is_empty() {
        return refuse(Problem::Empty);
    }
    if let Some(problem) = input.chars().find_map(hidden_problem) {
        return refuse(problem);
    }
    let chars = input.chars().count();
    if chars > identifier.max_chars() {
        return refuse(Problem::TooLong { chars });
    }
    if input.trim().is_empty() {
        return refuse(Problem::Blank);
    }
    if input.trim() != input {
        return refuse(Problem::SurroundingSpace);
    }
    if identifier.is_name() {
        if let Some(bad) = input.chars().find(|c| !is_name_char(*c)) {
            return refuse(if bad.is_whitespace() {
                Problem::Space
            } else {
                Problem::NotAllowed(bad)
            });
        }
        if input.starts_with('-') {
            return refuse(Problem::LeadingDash);
        }
    }
    Ok(input)
}

/// Why `c` cannot be in any identifier, if it cannot.
fn hidden_problem(c: char) -> Option<Problem> {
    if !is_hidden(c) {
        None
    } else if matches!(c, '\u{1b}' | '\u{90}' | '\u{98}' | '\u{9b}'..='\u{9f}') {
        Some(Problem::EscapeSequence(c))
    } else if c.is_control() {
        Some(Problem::Control(c))
    } else if is_bidi_control(c) {
        Some(Problem::Bidi(c))
    } else {
        debug_assert!(is_format(c) || matches!(c, '\u{2028}' | '\u{2029}'));
        Some(Problem::Invisible(c))
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// `U+001B (ESC)`-style names for the characters people meet most, `U+XXXX` for the rest.
fn code_point(c: char) -> String {
    let name = match c {
        '\u{1b}' => " ESC",
        '\u{7}' => " BEL",
        '\u{7f}' => " DEL",
        '\u{9b}' => " CSI",
        '\u{9d}' => " OSC",
        '\u{ad}' => " soft hyphen",
        '\u{200b}' => " zero-width space",
        '\u{200c}' => " zero-width non-joiner",
        '\u{200d}' => " zero-width joiner",
        '\u{200e}' => " left-to-right mark",
        '\u{200f}' => " right-to-left mark",
        '\u{202e}' => " right-to-left override",
        '\u{2060}' => " word joiner",
        '\u{feff}' => " zero-width no-break space",
        _ => "",
    };
    if name.is_empty() {
        format!("U+{:04X}", u32::from(c))
    } else {
        format!("U+{:04X},{name}", u32::from(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_identifiers_are_kept_as_given() {
        for name in ["jira", "jira-prod", "Team_1.v2", "a", &"a".repeat(MAX_NAME)] {
            assert_eq!(integration_name(name), Ok(name));
            assert_eq!(profile_name(name), Ok(name));
        }
        for id in [
            "alice@example.com",
            "U024BE7LH",
            "Zoë Ångström",
            "José María de la Cruz",
            "李小龙",
            "Ада Лавлейс",
            "a",
            &"é".repeat(MAX_USER_ID),
            "O'Brien \"Bob\"",
        ] {
            assert_eq!(user_id(id), Ok(id), "{id:?}");
        }
    }

    #[test]
    fn every_hidden_character_is_refused_in_every_identifier() {
        let cases = [
            ("eve\u{1b}]0;owned\u{7}\u{1b}[2J", "escape sequence"),
            ("eve\u{9b}31m", "escape sequence"),
            ("bell\u{7}", "control character U+0007"),
            ("nul\u{0}", "control character U+0000"),
            ("del\u{7f}", "control character U+007F"),
            ("nel\u{85}", "control character U+0085"),
            ("line\nbreak", "control character U+000A"),
            ("tab\tbed", "control character U+0009"),
            ("user\u{202e}moc", "bidi control U+202E"),
            ("iso\u{2066}late", "bidi control U+2066"),
            ("mark\u{200f}", "bidi control U+200F"),
            ("arabic\u{61c}mark", "bidi control U+061C"),
            ("zero\u{200b}width", "invisible character U+200B"),
            ("joiner\u{200d}", "invisible character U+200D"),
            ("\u{feff}bom", "invisible character U+FEFF"),
            ("word\u{2060}joiner", "invisible character U+2060"),
            ("invisible\u{2064}plus", "invisible character U+2064"),
            ("soft\u{ad}hyphen", "invisible character U+00AD"),
            ("tag\u{e0041}", "invisible character U+E0041"),
            ("line\u{2028}sep", "invisible character U+2028"),
        ];
        for identifier in [
            Identifier::Integration,
            Identifier::Profile,
            Identifier::User,
        ] {
            for (input, reason) in cases {
                let error = check(identifier, input).expect_err(input);
                let sentence = error.to_string();
                assert!(sentence.contains(reason), "{input:?}: {sentence}");
                assert!(
                    sentence.starts_with(&format!("The {}", identifier.label())),
                    "{sentence}"
                );
                assert!(
                    sentence.chars().all(|c| !is_hidden(c)),
                    "the sentence is safe to print: {sentence:?}"
                );
            }
        }
    }

    #[test]
    fn lengths_and_whitespace() {
        let long = "a".repeat(100 * 1024);
        let error = user_id(&long).unwrap_err();
        assert_eq!(error.problem, Problem::TooLong { chars: 100 * 1024 });
        let sentence = error.to_string();
        assert!(
            sentence.contains("limit is 256") && sentence.len() < 600,
            "{sentence}"
        );
        assert!(user_id(&"é".repeat(MAX_USER_ID + 1)).is_err());
        assert!(integration_name(&"a".repeat(MAX_NAME + 1)).is_err());
        assert_eq!(user_id("").unwrap_err().problem, Problem::Empty);
        assert_eq!(user_id("   ").unwrap_err().problem, Problem::Blank);
        assert_eq!(
            user_id(" alice").unwrap_err().problem,
            Problem::SurroundingSpace
        );
        assert_eq!(
            user_id("alice ").unwrap_err().problem,
            Problem::SurroundingSpace
        );
        assert_eq!(
            user_id("alice\u{a0}").unwrap_err().problem,
            Problem::SurroundingSpace
        );
        assert_eq!(
            profile_name(" spaced ").unwrap_err().problem,
            Problem::SurroundingSpace
        );
    }

    #[test]
    fn names_are_plain() {
        let cases = [
            ("two words", Problem::Space, "contains a space"),
            ("slash/y", Problem::NotAllowed('/'), "contains \"/\""),
            ("naïve", Problem::NotAllowed('ï'), "contains \"ï\""),
            ("\"acme\"", Problem::NotAllowed('"'), "contains \"\\\"\""),
            ("-rm", Problem::LeadingDash, "reads as an option"),
        ];
        for (input, problem, text) in cases {
            let error = profile_name(input).unwrap_err();
            assert_eq!(error.problem, problem, "{input:?}");
            assert!(error.to_string().contains(text), "{error}");
            assert!(error.fix().contains("1 to 64 letters"));
        }
        assert!(user_id("two words/-x").is_ok(), "user ids are free text");
    }

    #[test]
    fn a_lookup_says_nothing_so_named_exists() {
        let error = profile_name("ev\u{1b}[2Jil").unwrap_err().as_lookup();
        let sentence = error.to_string();
        assert!(
            sentence.starts_with(
                "The profile name \"ev\\u{1b}[2Jil\" holds a terminal escape sequence (U+001B, ESC)"
            ),
            "{sentence}"
        );
        assert!(
            sentence.contains("No profile can have such a name"),
            "{sentence}"
        );
    }
}
