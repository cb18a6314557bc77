//! Properties over arbitrary input: nothing panics, every output is bounded, and a valid
//! Atlassian URL normalizes to a fixed point.

use proptest::prelude::*;

use super::identifier::{self, Identifier};
use super::text::{clean_paste, is_hidden, is_printable, quoted, sanitize};
use super::*;

/// Loose upper bounds: a finding quotes at most a few sanitized snippets.
const MAX_MESSAGE: usize = 1024;
const BIDI_OVERRIDE: char = '\u{202e}';

fn bounded<T>(checked: &Checked<T>, value_len: impl Fn(&T) -> usize) -> Result<(), TestCaseError> {
    if let Some(value) = &checked.value {
        prop_assert!(value_len(value) <= MAX_INPUT + 64);
    }
    prop_assert!(checked.findings.len() <= 8);
    for finding in &checked.findings {
        prop_assert!(finding.message.len() <= MAX_MESSAGE, "{}", finding.message);
        prop_assert!(finding.fix.len() <= MAX_MESSAGE, "{}", finding.fix);
    }
    Ok(())
}

/// Text that looks like what lands in a field: URL pieces, scope names, escapes, line breaks,
/// quotes, non-ASCII, or anything at all.
fn pasted() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "https://",
        "http://",
        "auth.atlassian.com",
        "/authorize",
        "/oauth/token",
        "?",
        "&",
        "=",
        "audience",
        "api.atlassian.com",
        "client_id",
        "redirect_uri",
        "scope",
        "%20",
        "%3A",
        "%2F",
        "+",
        ",",
        " ",
        "\n",
        "\r\n",
        "\t",
        "\"",
        "'",
        "<",
        ">",
        "`",
        "@",
        ":",
        "[::1]",
        "127.0.0.1",
        "localhost",
        ":8765",
        "read:jira-work",
        "offline_access",
        "xn--",
        "а",
        "\u{1b}[31m",
        "\u{1b}]0;x\u{7}",
        "\u{1b}P",
        "\u{9b}",
        "\u{202e}",
        "\u{feff}",
        "\u{200b}",
        "\u{ad}",
        "\u{85}",
        "\u{7f}",
        "\u{2066}",
        "\u{e0041}",
        "#",
        "%",
        "ATOA",
        "é",
        "\\",
    ]);
    prop_oneof![
        prop::collection::vec(pieces, 0..40).prop_map(|parts| parts.concat()),
        any::<String>(),
        ".{0,5000}",
    ]
}

/// Production Atlassian URLs as an admin might paste them.
fn atlassian_url() -> impl Strategy<Value = (String, bool)> {
    let host = prop::sample::select(vec![
        "auth.atlassian.com",
        "AUTH.atlassian.com",
        "Auth.Atlassian.Com",
    ]);
    let extra = prop::sample::select(vec![
        "",
        "&client_id=abc",
        "&scope=read%3Ajira-work%20offline_access",
        "&state=x#frag",
        "&prompt=consent&response_type=code",
    ]);
    let wrap = prop::sample::select(vec![
        ("", ""),
        ("\"", "\""),
        ("<", ">"),
        ("  ", "\n"),
        ("`", "`"),
    ]);
    (host, any::<bool>(), any::<bool>(), extra, wrap, 0usize..60).prop_map(
        |(host, authorize, audience, extra, (open, close), cut)| {
            let mut url = if authorize {
                let query = if audience {
                    "?audience=api.atlassian.com"
                } else {
                    "?prompt=none"
                };
                format!("https://{host}/authorize{query}{extra}")
            } else {
                format!("https://{host}/oauth/token")
            };
            // A terminal line break anywhere in the URL.
            let cut = (cut % url.len()).max(1);
            if url.is_char_boundary(cut) {
                url.insert(cut, '\n');
            }
            (format!("{open}{url}{close}"), authorize)
        },
    )
}

const GENERATED: &str = "https://auth.atlassian.com/authorize?audience=api.atlassian.com\
    &client_id=Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56&scope=read%3Ajira-work%20write%3Ajira-work\
    &redirect_uri=http%3A%2F%2Flocalhost%3A8765%2Fcallback&state=${YOUR_USER_BOUND_VALUE}\
    &response_type=code&prompt=consent";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sanitize_is_capped_and_clean(input in pasted(), cap in 0usize..200) {
        let output = sanitize(&input, cap);
        prop_assert!(output.chars().count() <= cap);
        prop_assert!(!output.chars().any(|c| c.is_control()));
        prop_assert!(!output.contains(BIDI_OVERRIDE), "bidi override kept");
    }

    #[test]
    fn clean_paste_is_capped_and_has_no_controls(input in pasted()) {
        let output = clean_paste(&input);
        prop_assert!(output.len() <= MAX_INPUT);
        prop_assert!(!output.chars().any(|c| c.is_control()));
        prop_assert!(output.trim() == output, "surrounding whitespace kept");
    }

    #[test]
    fn no_validator_panics_and_all_are_bounded(input in pasted(), overridden in any::<bool>()) {
        let origins = if overridden {
            Origins::overridden("http://127.0.0.1:4000/fake")
        } else {
            Origins::atlassian()
        };
        bounded(&authorization_url(&input, &origins), String::len)?;
        bounded(&token_url(&input, &origins), String::len)?;
        bounded(&refresh_url(&input, &origins), String::len)?;
        bounded(&callback_url(&input), String::len)?;
        bounded(&client_id(&input), String::len)?;
        bounded(&client_secret(&input), |s| s.expose().len())?;
        bounded(&profile_name(&input), String::len)?;
        bounded(&scopes(&input, Catalog::builtin()), |v| v.iter().map(String::len).sum())?;
        if let Some(generated) = generated::parse(&input, origins) {
            prop_assert!(generated.client_id.len() <= MAX_INPUT);
            prop_assert!(generated.callback_url.len() <= MAX_INPUT);
            prop_assert!(generated.findings.len() <= 16);
        }
    }

    #[test]
    fn atlassian_urls_normalize_to_a_fixed_point((input, authorize) in atlassian_url()) {
        let origins = Origins::atlassian();
        let check = if authorize { authorization_url } else { token_url };
        let first = check(&input, &origins);
        prop_assert!(first.is_ok(), "{:?}: {:?}", input, first.findings);
        let normalized = first.value.unwrap_or_default();
        let second = check(&normalized, &origins);
        prop_assert_eq!(second.value.as_deref(), Some(normalized.as_str()));
        prop_assert!(second.findings.is_empty(), "{:?}", second.findings);
    }

    #[test]
    fn valid_callbacks_are_a_fixed_point(port in 1u16.., path in "[a-z/]{0,20}", https in any::<bool>()) {
        let url = if https {
            format!("https://example.com/{path}")
        } else {
            format!("http://localhost:{port}/{path}")
        };
        let first = callback_url(&url);
        prop_assert_eq!(first.value.as_deref(), Some(url.as_str()));
        let again = callback_url(&url);
        prop_assert_eq!(again, first);
    }

    #[test]
    fn generated_urls_survive_line_breaks_anywhere(
        breaks in prop::collection::vec(0usize..400, 0..6),
        crlf in any::<bool>(),
        quoted in any::<bool>(),
    ) {
        let mut text = GENERATED.to_owned();
        for at in breaks {
            let at = at % (text.len() + 1);
            text.insert_str(at, if crlf { "\r\n" } else { "\n" });
        }
        if quoted {
            text = format!("\"{text}\"");
        }
        let parsed = generated::parse(&text, Origins::atlassian());
        let Some(parsed) = parsed else {
            return Err(TestCaseError::fail(format!("not recognized: {text:?}")));
        };
        prop_assert!(parsed.is_ok(), "{:?}", parsed.findings);
        prop_assert_eq!(parsed.client_id.as_str(), "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56");
        prop_assert_eq!(parsed.scopes, vec!["read:jira-work", "write:jira-work"]);
        prop_assert_eq!(parsed.callback_url.as_str(), "http://localhost:8765/callback");
    }

    #[test]
    fn identifiers_are_kept_whole_or_refused_safely(input in identifier_like()) {
        for kind in [Identifier::Integration, Identifier::Profile, Identifier::User] {
            match identifier::check(kind, &input) {
                Ok(kept) => {
                    prop_assert_eq!(kept, input.as_str(), "never changed");
                    prop_assert!(!kept.chars().any(is_hidden));
                    prop_assert!((1..=kind.max_chars()).contains(&kept.chars().count()));
                    prop_assert_eq!(kept.trim(), kept);
                    if kind != Identifier::User {
                        prop_assert!(kept.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));
                        prop_assert!(!kept.starts_with('-'));
                    }
                }
                Err(error) => {
                    let sentence = error.to_string();
                    prop_assert!(is_printable(&sentence), "{:?}", sentence);
                    prop_assert!(sentence.chars().count() <= 600, "{}", sentence);
                    prop_assert!(sentence.contains(kind.label()), "{}", sentence);
                    let lookup = error.as_lookup().to_string();
                    prop_assert!(is_printable(&lookup), "{:?}", lookup);
                }
            }
        }
    }

    #[test]
    fn quoted_is_always_printable_and_short(input in identifier_like()) {
        let shown = quoted(&input);
        prop_assert!(is_printable(&shown), "{:?}", shown);
        prop_assert!(!shown.contains('\n'));
        prop_assert!(shown.chars().count() <= text::QUOTED_CAP + 3, "{}", shown);
    }
}

/// Identifiers as people and attackers type them: names, emails, display names, and every
/// C0, C1, bidi and format character, or anything at all.
fn identifier_like() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "jira",
        "acme-prod",
        "_",
        ".",
        "-",
        " ",
        "@",
        "example.com",
        "Zoë",
        "李",
        "Ада",
        "\"",
        "\u{a0}",
        "\u{2028}",
        "\u{200e}",
        "\u{61c}",
        "\u{2060}",
        "\u{2064}",
        "\u{feff}",
        "\u{e0020}",
        "\u{1b}[2J",
        "\u{1b}]0;owned\u{7}",
    ]);
    let control = prop_oneof![0u32..0x20, 0x7fu32..0xa0]
        .prop_map(|c| char::from_u32(c).map(String::from).unwrap_or_default());
    let piece = prop_oneof![4 => pieces.prop_map(str::to_owned), 1 => control];
    prop_oneof![
        prop::collection::vec(piece, 0..12).prop_map(|parts| parts.concat()),
        any::<String>(),
        "[a-z0-9._-]{60,70}",
        ".{250,260}",
    ]
}
