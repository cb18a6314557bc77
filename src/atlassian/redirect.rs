//! What comes back from the browser: the redirected URL from the address bar (any host,
//! since a headless server's callback often ends on a "can't connect" page), or a bare code.
//! The state must be this attempt's, and it and the code must come once: anything else is
//! stale, forged or altered.

use url::Url;

use super::errors::is_temporary_error;
use super::state::{StateProblem, check_state};
use crate::exit::{Exit, Exits};
use crate::validate::text::{ID_CAP, SENTENCE_CAP, clean_paste, sanitize};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RedirectError {
    #[error(
        "the pasted address belongs to another authorization attempt (its state does not match): it is stale, or the link was forged. Use the URL shown now, consent again, and paste the new address"
    )]
    StateMismatch,
    #[error(
        "the pasted address has no state, so it cannot be tied to this attempt; paste the whole address from the browser's address bar"
    )]
    MissingState,
    #[error(
        "consent was declined{}: the user chose Cancel, or the app is not shared with (or not distributed to) that Atlassian account. Consent again, or share the app in its Distribution settings",
        description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
    )]
    Declined {
        error: String,
        description: Option<String>,
    },
    #[error(
        "Atlassian answered {error}{}{}",
        description.as_deref().map(|d| format!(": {d}")).unwrap_or_default(),
        if is_temporary_error(error) {
            ". This is temporary, on Atlassian's side: wait a moment, then try again (authorize anew); nothing was lost"
        } else {
            ""
        }
    )]
    Other {
        error: String,
        description: Option<String>,
    },
    #[error(
        "there is no code in what was pasted; paste the whole address the browser was sent to after consenting (it contains code=...)"
    )]
    NoCode,
    #[error(
        "the pasted address carries {parameter} more than once, which Atlassian never sends: the address was altered. Paste the address exactly as the browser shows it, or consent again"
    )]
    Repeated { parameter: &'static str },
}

impl RedirectError {
    /// Atlassian's authorization server in trouble (`server_error`, `temporarily_unavailable`):
    /// the same consent may work in a moment.
    pub fn is_temporary(&self) -> bool {
        matches!(self, RedirectError::Other { error, .. } if is_temporary_error(error))
    }
}

impl Exits for RedirectError {
    /// A mismatch or a bad paste is bad input (2); a declined consent needs a new consent (3);
    /// trouble on Atlassian's side is temporary (4).
    fn exit(&self) -> Exit {
        match self {
            RedirectError::Declined { .. } => Exit::Reauthorize,
            _ if self.is_temporary() => Exit::Temporary,
            _ => Exit::Usage,
        }
    }
}

/// The code in `input`, checked against `expected_state`.
pub fn parse_redirect(input: &str, expected_state: &str) -> Result<String, RedirectError> {
    let cleaned = clean_paste(input);
    let text = cleaned.trim();
    if looks_like_bare_code(text) {
        return Ok(text.to_owned());
    }
    let query = match Url::parse(text) {
        Ok(url) => url.query().unwrap_or_default().to_owned(),
        // `?code=...&state=...` or `code=...&state=...` pasted without the rest.
        Err(_) => text.split_once('?').map_or(text, |(_, q)| q).to_owned(),
    };
    if let Some(parameter) = repeated_parameter(&query) {
        return Err(RedirectError::Repeated { parameter });
    }
    let get = |key: &str| {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == key)
            .map(|(_, v)| sanitize(&v, SENTENCE_CAP))
    };
    // An `error=` answer is judged by its state too: a forged denial must not end the attempt.
    if let Some(error) = get("error") {
        check_state(expected_state, get("state").as_deref())?;
        let description = get("error_description").filter(|d| !d.is_empty());
        let error = sanitize(&error, ID_CAP);
        return Err(if error == "access_denied" {
            RedirectError::Declined { error, description }
        } else {
            RedirectError::Other { error, description }
        });
    }
    let code = get("code")
        .filter(|c| !c.is_empty())
        .ok_or(RedirectError::NoCode)?;
    check_state(expected_state, get("state").as_deref())?;
    Ok(code)
}

/// The first of `code` and `state` that `query` carries more than once. Atlassian sends each
/// once; a second one was added on the way, and taking either copy would let whoever added it
/// choose which code or state counts. Names are compared decoded, as they are read.
pub fn repeated_parameter(query: &str) -> Option<&'static str> {
    let (mut codes, mut states) = (0, 0);
    for (name, _) in url::form_urlencoded::parse(query.as_bytes()) {
        let (count, parameter) = match name.as_ref() {
            "code" => (&mut codes, "code"),
            "state" => (&mut states, "state"),
            _ => continue,
        };
        *count += 1;
        if *count > 1 {
            return Some(parameter);
        }
    }
    None
}

impl From<StateProblem> for RedirectError {
    fn from(problem: StateProblem) -> Self {
        match problem {
            StateProblem::Missing => RedirectError::MissingState,
            StateProblem::Mismatch => RedirectError::StateMismatch,
        }
    }
}

/// A code alone: no URL syntax, a plausible length and alphabet. It cannot be tied to the
/// state, which the caller accepts knowingly (the admin typed it from their own browser).
fn looks_like_bare_code(text: &str) -> bool {
    (8..=2048).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATE: &str = "abc123";

    #[test]
    fn full_urls_with_noise_give_the_code() {
        let cases = [
            "http://localhost:8717/callback?code=CODE-1&state=abc123",
            "  \"http://localhost:8717/callback?state=abc123&code=CODE-1\"\n",
            "https://jira-auth.acme.example/cb?code=CODE-1&state=abc123#",
            "?code=CODE-1&state=abc123",
            "code=CODE-1&state=abc123",
            "http://localhost:8717/callback?code=CODE-\n1&state=abc123",
        ];
        for input in cases {
            assert_eq!(
                parse_redirect(input, STATE).as_deref(),
                Ok("CODE-1"),
                "{input:?}"
            );
        }
    }

    #[test]
    fn a_bare_code_is_accepted() {
        assert_eq!(
            parse_redirect(" eyJhbGciOiJIUzI1NiJ9.abc-def_123 ", STATE).unwrap(),
            "eyJhbGciOiJIUzI1NiJ9.abc-def_123"
        );
    }

    #[test]
    fn state_problems_are_refused() {
        assert_eq!(
            parse_redirect("http://localhost/cb?code=C&state=other", STATE),
            Err(RedirectError::StateMismatch)
        );
        assert_eq!(
            parse_redirect("http://localhost/cb?code=C", STATE),
            Err(RedirectError::MissingState)
        );
        assert_eq!(
            parse_redirect("http://localhost/cb?state=abc123", STATE),
            Err(RedirectError::NoCode)
        );
        assert_eq!(RedirectError::StateMismatch.exit(), Exit::Usage);
    }

    #[test]
    fn a_repeated_code_or_state_is_refused() {
        let cases = [
            ("http://localhost/cb?code=A&code=B&state=abc123", "code"),
            ("http://localhost/cb?code=A&code=A&state=abc123", "code"),
            (
                "http://localhost/cb?code=A&state=abc123&state=abc123",
                "state",
            ),
            ("http://localhost/cb?state=zzz&code=A&state=abc123", "state"),
            ("?code=A&state=abc123&code=B", "code"),
            ("code=A&co%64e=B&state=abc123", "code"),
            (
                "http://localhost/cb?error=access_denied&state=abc123&state=x",
                "state",
            ),
        ];
        for (input, parameter) in cases {
            let error = parse_redirect(input, STATE).unwrap_err();
            assert_eq!(error, RedirectError::Repeated { parameter }, "{input}");
            let sentence = error.to_string();
            assert!(
                sentence.contains(&format!("{parameter} more than once"))
                    && sentence.contains("altered"),
                "{sentence}"
            );
            assert_eq!(error.exit(), Exit::Usage);
        }
        assert_eq!(
            parse_redirect("http://localhost/cb?code=A&state=abc123&x=1&x=2", STATE).as_deref(),
            Ok("A"),
            "other parameters may repeat"
        );
    }

    #[test]
    fn declined_and_other_errors_are_explained_and_sanitized() {
        let declined = parse_redirect(
            "http://localhost/cb?error=access_denied&state=abc123",
            STATE,
        )
        .unwrap_err();
        assert!(matches!(
            declined,
            RedirectError::Declined {
                description: None,
                ..
            }
        ));
        assert!(declined.to_string().contains("declined"));
        assert_eq!(declined.exit(), Exit::Reauthorize);
        let described = parse_redirect(
            "http://localhost/cb?error=access_denied&error_description=User%20did%20not%20authorize&state=abc123",
            STATE,
        )
        .unwrap_err();
        assert!(described.to_string().contains("User did not authorize"));
        let evil = parse_redirect(
            "http://localhost/cb?error=server_error&error_description=%1B%5B31mEVIL%1B%5B0m%07&state=abc123",
            STATE,
        )
        .unwrap_err();
        let text = evil.to_string();
        assert!(
            text.contains("EVIL") && !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{text:?}"
        );
        assert_eq!(
            parse_redirect("http://localhost/cb?error=access_denied&state=zzz", STATE),
            Err(RedirectError::StateMismatch),
            "a forged denial is still refused for its state"
        );
        assert_eq!(
            parse_redirect("http://localhost/cb?error=access_denied", STATE),
            Err(RedirectError::MissingState),
            "a denial without a state cannot be tied to this attempt"
        );
        assert_eq!(
            parse_redirect(
                "http://localhost/cb?error=server_error&state=abc1234",
                STATE
            ),
            Err(RedirectError::StateMismatch),
            "a longer state is a different state"
        );
    }
}
