//! What Jira said when it refused a request, as one sentence for a terminal: its
//! `errorMessages`, `errors` and `message` fields (sanitized and capped, never the raw body),
//! and the scopes it says the grant lacks.

use serde_json::Value;

use crate::validate::text::{SENTENCE_CAP, sanitize};

/// Jira's refusal, read from its body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Refusal {
    /// Jira's own sentences, sanitized, at most a few.
    pub messages: Vec<String>,
    /// The scope groups Jira says would admit the request (any one group is enough).
    pub scope_groups: Vec<Vec<String>>,
    /// "Unauthorized; scope does not match": the gateway refused the token's scopes without
    /// naming the ones wanted.
    pub scope_mismatch: bool,
}

/// How many of Jira's sentences a refusal shows.
const SHOWN: usize = 3;

impl Refusal {
    /// Reads a body; anything that is not Jira's JSON gives no messages.
    pub fn read(body: &[u8]) -> Refusal {
        let Ok(value) = serde_json::from_slice::<Value>(body) else {
            return Refusal::default();
        };
        let mut raw: Vec<String> = Vec::new();
        if let Some(list) = value.get("errorMessages").and_then(Value::as_array) {
            raw.extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
        }
        if let Some(errors) = value.get("errors").and_then(Value::as_object) {
            for (field, message) in errors {
                if let Some(message) = message.as_str() {
                    raw.push(format!("{field}: {message}"));
                }
            }
        }
        for key in ["message", "errorMessage"] {
            if let Some(message) = value.get(key).and_then(Value::as_str) {
                raw.push(message.to_owned());
            }
        }
        let scope_groups = raw.iter().flat_map(|m| scope_groups(m)).collect();
        let scope_mismatch = raw
            .iter()
            .any(|m| m.to_ascii_lowercase().contains("scope does not match"));
        let messages = raw
            .iter()
            .take(SHOWN)
            .map(|m| {
                // Jira's scope list comes after its first line; the groups are said apart.
                let first = m.lines().next().unwrap_or_default();
                sanitize(first, SENTENCE_CAP)
            })
            .filter(|m| !m.is_empty())
            .collect();
        Refusal {
            messages,
            scope_groups,
            scope_mismatch,
        }
    }

    /// Jira's sentences joined, or `None` when it gave none.
    pub fn said(&self) -> Option<String> {
        (!self.messages.is_empty()).then(|| self.messages.join("; "))
    }

    /// What to do about missing scopes, when Jira spoke of them.
    pub fn scope_advice(&self, integration: &str) -> Option<String> {
        let fix = format!(
            "add it to the app's permissions in the developer console and to the profile's scopes, then authorize again (`jira-auth authorize --integration {integration}`)"
        );
        match self.scope_groups.as_slice() {
            [] if self.scope_mismatch => Some(format!(
                "the grant's scopes do not cover this request (Jira names none); find the scope the endpoint's documentation lists, {fix}"
            )),
            [] => None,
            [one] => Some(format!(
                "the grant lacks the scope {}; {fix}",
                one.join(" ")
            )),
            groups => Some(format!(
                "the grant lacks the scopes this request needs: any one of {}; {fix}",
                groups
                    .iter()
                    .map(|g| format!("[{}]", g.join(" ")))
                    .collect::<Vec<_>>()
                    .join(" or ")
            )),
        }
    }
}

/// The groups in Jira's "can be accessed by having one of these groups of scopes:" list,
/// one ` * [a, b]` line each; only names that read as scopes are kept.
fn scope_groups(message: &str) -> Vec<Vec<String>> {
    let Some((_, list)) = message.split_once("groups of scopes") else {
        return Vec::new();
    };
    list.lines()
        .filter_map(|line| {
            let inner = line.trim().strip_prefix('*')?.trim();
            let inner = inner.strip_prefix('[')?.strip_suffix(']')?;
            let group: Vec<String> = inner
                .split(',')
                .map(str::trim)
                .filter(|s| is_scope(s))
                .map(str::to_owned)
                .collect();
            (!group.is_empty()).then_some(group)
        })
        .take(8)
        .collect()
}

fn is_scope(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 80
        && s.contains(':')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '.' | '_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jira_sentences_are_read_and_sanitized() {
        let body = br#"{"errorMessages":["Issue does not exist or you do not have permission to see it."],"errors":{"summary":"You must specify a summary of the issue.\u001b[31m"}}"#;
        let said = Refusal::read(body).said().unwrap();
        assert!(
            said.starts_with("Issue does not exist or you do not have permission to see it.; summary: You must specify a summary of the issue."),
            "{said}"
        );
        assert!(!said.contains('\u{1b}'), "{said}");
        let refusal = Refusal::read(body);
        assert_eq!(refusal.scope_advice("jira"), None);
        assert_eq!(Refusal::read(b"<html>oops</html>"), Refusal::default());
    }

    #[test]
    fn the_missing_scope_is_named_when_jira_names_it() {
        let body = br#"{"errorMessages":["Access to the resource was denied due to missing scope grants. Your app was granted the following scopes: [].\nThe resource can be accessed by having one of these groups of scopes:\n * [read:jira-user]\n * [read:application-role:jira, read:group:jira, read:user:jira]\n"]}"#;
        let refusal = Refusal::read(body);
        assert_eq!(
            refusal.scope_groups,
            vec![
                vec!["read:jira-user".to_owned()],
                vec![
                    "read:application-role:jira".to_owned(),
                    "read:group:jira".to_owned(),
                    "read:user:jira".to_owned()
                ]
            ]
        );
        let advice = refusal.scope_advice("jira").unwrap();
        assert!(
            advice.contains("[read:jira-user] or [read:application-role:jira"),
            "{advice}"
        );
        assert_eq!(
            refusal.said().unwrap(),
            "Access to the resource was denied due to missing scope grants. Your app was granted the following scopes: []."
        );
        let mismatch =
            Refusal::read(br#"{"code":401,"message":"Unauthorized; scope does not match"}"#);
        assert!(mismatch.scope_mismatch);
        assert!(
            mismatch
                .scope_advice("jira")
                .unwrap()
                .contains("names none")
        );
    }
}
