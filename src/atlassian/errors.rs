//! Every answer Atlassian can give, sorted into what it means for the admin: each variant's
//! sentence names the cause and the seed step that fixes it. Server text is sanitized (no
//! escape sequences or control characters reach a terminal) and capped.

use serde::Deserialize;

use crate::exit::{Exit, Exits};
use crate::validate::text::{ID_CAP, SENTENCE_CAP, sanitize};

/// Which token call failed: the same error code means different things in each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum During {
    Exchange,
    Refresh,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error(
        "Atlassian refused the client credentials (401 access_denied): the client secret is wrong or was rotated. Copy it again from your app's Settings page (step v) and edit the profile"
    )]
    BadClientSecret,
    #[error(
        "Atlassian refused the authorization code (invalid_grant{}): it was already used or has expired, or the callback URL differs from the one registered in the app (step vi). Authorize again with a fresh consent",
        description.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
    )]
    CodeRefused { description: Option<String> },
    #[error(
        "Atlassian refused the refresh token (invalid_grant{}): it expired (90 days unused, or 365 days after consent), was reused, or was revoked (a password change does that). Authorize again",
        description.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
    )]
    RefreshRefused { description: Option<String> },
    #[error(
        "Atlassian had a problem (HTTP {status}): {excerpt}. This is temporary: try again in a moment; nothing was lost"
    )]
    Server { status: u16, excerpt: String },
    /// The call never left: no connection was made, so Atlassian saw nothing.
    #[error(
        "could not reach Atlassian: {0}. Check the network (and any proxy), then try again; nothing was lost"
    )]
    Network(String),
    /// The call went out but its answer never came back (a timeout, a dropped connection):
    /// Atlassian may have acted on it.
    #[error("{}", unanswered(*during, reason))]
    NoAnswer { during: During, reason: String },
    #[error("Atlassian answered something unexpected (HTTP {status}): {excerpt}")]
    Unexpected { status: u16, excerpt: String },
    #[error("Atlassian answered {error}{}{}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default(), guess(error))]
    OAuth {
        status: u16,
        error: String,
        description: Option<String>,
    },
    #[error(
        "the new token was refused by Jira on that site (401): the app may not be installed there, or the account lacks access. Pick another site, or check the app's scopes (step ix)"
    )]
    ApiUnauthorized,
    #[error("Jira has no site with that cloud id (404); authorize again and pick the site anew")]
    SiteNotFound,
}

/// What a call whose answer never arrived means. A refresh may have rotated the refresh
/// token; the one jira-auth holds still works within Atlassian's 10-minute reuse leeway, so
/// retrying with it is both safe and the way to find out.
fn unanswered(during: During, reason: &str) -> String {
    match during {
        During::Refresh => format!(
            "the refresh was sent to Atlassian but no answer came back ({reason}), so whether Atlassian rotated the refresh token is unknown. jira-auth keeps the refresh token it holds and retries with it, which Atlassian accepts within 10 minutes of a rotation; if that retry is refused, authorize again"
        ),
        During::Exchange => format!(
            "the authorization code was sent to Atlassian but no answer came back ({reason}), so whether the code was spent is unknown. Try again now; if Atlassian refuses the code, authorize again with a fresh consent"
        ),
    }
}

/// Our best guess of the cause for error codes Atlassian does not document.
fn guess(error: &str) -> &'static str {
    match error {
        "invalid_client" => {
            ". The client ID is probably wrong: copy it again from the app's Settings (step iv)"
        }
        "unauthorized_client" => {
            ". The app may not be allowed this grant: check its Authorization settings (step vi)"
        }
        "invalid_scope" => {
            ". A scope is not enabled for the app: compare the profile's scopes with the app's (step ix)"
        }
        "invalid_target" => ". The request named a resource Atlassian does not accept",
        "invalid_request" => ". The request was malformed; check the token URL (step xi)",
        _ => "",
    }
}

impl ProtocolError {
    /// Network trouble or a 5xx: retrying later can work, and what jira-auth holds (the
    /// refresh token, the code) must be kept for that retry.
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            ProtocolError::Server { .. }
                | ProtocolError::Network(_)
                | ProtocolError::NoAnswer { .. }
        )
    }

    /// Atlassian may have acted on a call whose answer never arrived.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, ProtocolError::NoAnswer { .. })
    }

    /// Only a new consent helps.
    pub fn needs_reauthorization(&self) -> bool {
        matches!(
            self,
            ProtocolError::RefreshRefused { .. } | ProtocolError::CodeRefused { .. }
        )
    }
}

impl Exits for ProtocolError {
    /// DESIGN.md's exit codes: 2 bad input, 3 re-authorization needed, 4 temporary, 1 other.
    fn exit(&self) -> Exit {
        match self {
            _ if self.is_temporary() => Exit::Temporary,
            _ if self.needs_reauthorization() => Exit::Reauthorize,
            ProtocolError::BadClientSecret | ProtocolError::OAuth { .. } => Exit::Usage,
            _ => Exit::Failed,
        }
    }
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
    error_description: Option<String>,
}

/// The OAuth error codes that mean "the server is in trouble, try again later" (RFC 6749
/// 4.1.2.1 for the authorization redirect; Atlassian also answers them from the token
/// endpoint, with a 400): never bad input, never a reason to drop a refresh token.
pub fn is_temporary_error(error: &str) -> bool {
    matches!(error, "server_error" | "temporarily_unavailable")
}

/// What a failed token call means, from its status and body alone (pure, so every case is
/// tested without a server).
pub fn classify(status: u16, body: &[u8], during: During) -> ProtocolError {
    // Checked before the body: a gateway in trouble may echo an OAuth error (even
    // invalid_grant), and a temporary failure must never cost the refresh token.
    if is_temporary_status(status) {
        return ProtocolError::Server {
            status,
            excerpt: excerpt(body),
        };
    }
    let parsed: Option<OAuthErrorBody> = serde_json::from_slice(body).ok();
    match parsed {
        Some(OAuthErrorBody {
            error,
            error_description,
        }) => {
            let error = sanitize(&error, ID_CAP);
            let description = error_description
                .map(|d| sanitize(&d, SENTENCE_CAP))
                .filter(|d| !d.is_empty());
            match (error.as_str(), during) {
                (code, _) if is_temporary_error(code) => ProtocolError::Server {
                    status,
                    excerpt: match &description {
                        Some(description) => format!("{code}: {description}"),
                        None => code.to_owned(),
                    },
                },
                ("access_denied", _) if status == 401 => ProtocolError::BadClientSecret,
                ("invalid_grant", During::Exchange) => ProtocolError::CodeRefused { description },
                ("invalid_grant", During::Refresh) => ProtocolError::RefreshRefused { description },
                _ => ProtocolError::OAuth {
                    status,
                    error,
                    description,
                },
            }
        }
        None => ProtocolError::Unexpected {
            status,
            excerpt: excerpt(body),
        },
    }
}

/// A 5xx, or 429 (throttled): retrying later can work, and nothing may be thrown away.
pub fn is_temporary_status(status: u16) -> bool {
    status == 429 || status >= 500
}

/// A short, safe excerpt of a body for a sentence, with any token values in it masked.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let clean = sanitize(&redact(&flat), 160);
    if clean.is_empty() {
        "an empty body".to_owned()
    } else {
        format!("\"{clean}\"")
    }
}

/// Keys whose values are credentials. A 200 answer that could not be read still holds live
/// tokens, and the excerpt ends up on screen, in `last_error` and in the audit trail.
const SECRET_KEYS: [&str; 4] = ["access_token", "refresh_token", "id_token", "client_secret"];

/// `text` with the value of each secret key replaced by `***`; the keys stay, so the shape of
/// the answer is still visible. JSON is masked through a parse (nested values included);
/// anything else (a form-encoded answer, cut-off JSON) by a conservative scan.
fn redact(text: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(mut value) if value.is_object() || value.is_array() => {
            mask(&mut value);
            value.to_string()
        }
        _ => redact_text(text),
    }
}

fn mask(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                if SECRET_KEYS.contains(&key.as_str()) {
                    *inner = serde_json::Value::from("***");
                } else {
                    mask(inner);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(mask),
        _ => {}
    }
}

/// After `key` and a `:` or `=`, everything up to the next separator (`&`, `,`, `}`, `]`,
/// whitespace) is masked: more than the value at times, never less.
fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((start, key)) = SECRET_KEYS
        .iter()
        .filter_map(|key| rest.find(key).map(|start| (start, *key)))
        .min_by_key(|(start, _)| *start)
    {
        let (before, after) = rest.split_at(start + key.len());
        out.push_str(before);
        let value_at = after.len()
            - after
                .trim_start_matches(|c: char| matches!(c, '"' | ':' | '=') || c.is_whitespace())
                .len();
        let (separator, value) = after.split_at(value_at);
        out.push_str(separator);
        rest = value;
        // Without `:` or `=` the key was only a word in a sentence.
        if separator.contains([':', '=']) {
            let value_end = value
                .find(|c: char| matches!(c, '&' | ',' | '}' | ']') || c.is_whitespace())
                .unwrap_or(value.len());
            if value_end > 0 {
                out.push_str("***");
            }
            rest = &value[value_end..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_answer_means_what_atlassian_says() {
        type Check = fn(&ProtocolError) -> bool;
        let cases: [(u16, &str, During, Check); 9] = [
            (
                401,
                r#"{"error":"access_denied","error_description":"Unauthorized"}"#,
                During::Exchange,
                |e| *e == ProtocolError::BadClientSecret,
            ),
            (
                403,
                r#"{"error":"invalid_grant","error_description":"Unknown or invalid refresh token."}"#,
                During::Refresh,
                |e| matches!(e, ProtocolError::RefreshRefused { .. }),
            ),
            (403, r#"{"error":"invalid_grant"}"#, During::Exchange, |e| {
                matches!(e, ProtocolError::CodeRefused { description: None })
            }),
            (500, "<html>oops</html>", During::Exchange, |e| {
                matches!(e, ProtocolError::Server { status: 500, .. })
            }),
            (
                503,
                r#"{"error":"temporarily_unavailable"}"#,
                During::Refresh,
                |e| e.is_temporary(),
            ),
            (200, "not json at all", During::Exchange, |e| {
                matches!(e, ProtocolError::Unexpected { status: 200, .. })
            }),
            (
                400,
                r#"{"error":"invalid_client"}"#,
                During::Exchange,
                |e| e.to_string().contains("step iv"),
            ),
            (400, r#"{"error":"invalid_scope"}"#, During::Exchange, |e| {
                e.to_string().contains("step ix")
            }),
            (
                400,
                r#"{"error":"invalid_target"}"#,
                During::Exchange,
                |e| matches!(e, ProtocolError::OAuth { .. }),
            ),
        ];
        for (status, body, during, check) in cases {
            let error = classify(status, body.as_bytes(), during);
            assert!(check(&error), "{status} {body} gave {error:?}");
        }
    }

    #[test]
    fn exit_codes_follow_the_design() {
        assert_eq!(
            ProtocolError::Network("timeout".into()).exit(),
            Exit::Temporary
        );
        assert_eq!(
            ProtocolError::RefreshRefused { description: None }.exit(),
            Exit::Reauthorize
        );
        assert_eq!(ProtocolError::BadClientSecret.exit(), Exit::Usage);
        assert_eq!(
            ProtocolError::Unexpected {
                status: 200,
                excerpt: String::new()
            }
            .exit(),
            Exit::Failed
        );
    }

    #[test]
    fn nothing_was_lost_is_said_only_where_it_is_true() {
        type Case = (ProtocolError, bool);
        let cases: [Case; 5] = [
            (ProtocolError::Network("the connection failed".into()), true),
            (
                ProtocolError::Server {
                    status: 503,
                    excerpt: "an empty body".into(),
                },
                true,
            ),
            (classify(429, b"slow down", During::Refresh), true),
            (
                ProtocolError::NoAnswer {
                    during: During::Refresh,
                    reason: "the call timed out".into(),
                },
                false,
            ),
            (
                ProtocolError::NoAnswer {
                    during: During::Exchange,
                    reason: "the connection was dropped".into(),
                },
                false,
            ),
        ];
        for (error, lost_nothing) in cases {
            let sentence = error.to_string();
            assert_eq!(
                sentence.contains("nothing was lost"),
                lost_nothing,
                "{sentence}"
            );
            assert_eq!(error.outcome_unknown(), !lost_nothing, "{sentence}");
            assert!(
                error.is_temporary() && error.exit() == Exit::Temporary,
                "{sentence}"
            );
        }
        let refresh = ProtocolError::NoAnswer {
            during: During::Refresh,
            reason: "the call timed out".into(),
        }
        .to_string();
        for part in [
            "the call timed out",
            "unknown",
            "retries with it",
            "10 minutes",
            "authorize again",
        ] {
            assert!(refresh.contains(part), "{part}: {refresh}");
        }
        let exchange = ProtocolError::NoAnswer {
            during: During::Exchange,
            reason: "the call timed out".into(),
        }
        .to_string();
        assert!(
            exchange.contains("unknown") && exchange.contains("fresh consent"),
            "{exchange}"
        );
    }

    #[test]
    fn a_temporary_status_wins_over_the_body() {
        let dead =
            br#"{"error":"invalid_grant","error_description":"Unknown or invalid refresh token."}"#;
        for status in [429, 500, 502, 503] {
            let error = classify(status, dead, During::Refresh);
            assert!(
                matches!(error, ProtocolError::Server { .. })
                    && error.is_temporary()
                    && !error.needs_reauthorization()
                    && error.exit() == Exit::Temporary,
                "{status} gave {error:?}"
            );
        }
        assert!(!is_temporary_status(403) && !is_temporary_status(499));
    }

    #[test]
    fn a_server_in_trouble_is_temporary_whatever_the_status() {
        for (status, error) in [
            (400, "server_error"),
            (400, "temporarily_unavailable"),
            (401, "temporarily_unavailable"),
            (403, "server_error"),
        ] {
            for during in [During::Exchange, During::Refresh] {
                let body = format!(r#"{{"error":"{error}","error_description":"try later"}}"#);
                let classified = classify(status, body.as_bytes(), during);
                assert!(
                    matches!(classified, ProtocolError::Server { .. })
                        && classified.is_temporary()
                        && !classified.needs_reauthorization()
                        && classified.exit() == Exit::Temporary,
                    "{status} {error} gave {classified:?}"
                );
                let sentence = classified.to_string();
                assert!(
                    sentence.contains(error) && sentence.contains("temporary"),
                    "{sentence}"
                );
            }
        }
        assert!(!is_temporary_error("invalid_grant") && !is_temporary_error("access_denied"));
    }

    #[test]
    fn excerpts_never_show_token_values() {
        let cases = [
            (
                r#"{"access_token":"AT-SECRET", "expires_in":3600, "refresh_token": "RT-SECRET"}"#,
                r#""{"access_token":"***","expires_in":3600,"refresh_token":"***"}""#,
            ),
            (
                r#"{"grant":{"access_token":["AT-SECRET"]},"scope":"read:jira-work"}"#,
                r#""{"grant":{"access_token":"***"},"scope":"read:jira-work"}""#,
            ),
            (
                "access_token=AT-SECRET&token_type=bearer&refresh_token=RT-SECRET",
                r#""access_token=***&token_type=bearer&refresh_token=***""#,
            ),
            (
                r#"cut off: {"refresh_token": ["RT-SECRET"], "access_tok"#,
                r#""cut off: {"refresh_token": ***], "access_tok""#,
            ),
            (
                "the refresh_token is missing",
                r#""the refresh_token is missing""#,
            ),
        ];
        for (body, shown) in cases {
            assert_eq!(excerpt(body.as_bytes()), shown, "{body}");
        }
        let unreadable = classify(
            200,
            br#"{"access_token":["AT-SECRET"],"refresh_token":"RT-SECRET"}"#,
            During::Refresh,
        )
        .to_string();
        assert!(
            !unreadable.contains("SECRET") && unreadable.contains("refresh_token"),
            "{unreadable}"
        );
    }

    #[test]
    fn server_text_is_sanitized_and_capped() {
        let body = format!(
            r#"{{"error":"invalid_grant","error_description":"\u001b[31mEVIL\u001b[0m\u0007 {}"}}"#,
            "x".repeat(1000)
        );
        let text = classify(403, body.as_bytes(), During::Exchange).to_string();
        assert!(text.contains("EVIL"));
        assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'));
        assert!(text.len() < 800, "{}", text.len());
        let garbage = classify(
            502,
            "\u{1b}]0;pwned\u{7}<h1>Bad gateway</h1>".as_bytes(),
            During::Refresh,
        )
        .to_string();
        assert!(!garbage.contains('\u{1b}'), "{garbage:?}");
    }
}
