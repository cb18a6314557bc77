//! The profile name and the app's credentials. Credential shapes are observed, not documented
//! (atlassian-3lo.md): an unusual shape is a Warning, never an Error; whitespace inside a value
//! is an Error, because it can only come from a bad copy. No message ever repeats the secret.

use super::finding::{Checked, Field, Finding, oversized};
use super::identifier;
use super::text::{clean_paste, quote};
use crate::domain::Secret;

pub use super::identifier::MAX_NAME;

const CLIENT_ID_FIX: &str = "Copy the Client ID from your app's Settings page (step iv).";
const CLIENT_SECRET_FIX: &str = "Copy the Secret from your app's Settings page (step v).";

/// The client id: today 32 ASCII letters and digits.
pub fn client_id(input: &str) -> Checked<String> {
    let field = Field::ClientId;
    if let Some(finding) = oversized(field, input) {
        return Checked::refused(finding);
    }
    let value = clean_paste(input);
    if let Some(finding) = empty_or_spaced(field, &value, CLIENT_ID_FIX) {
        return Checked::refused(finding);
    }
    let mut findings = Vec::new();
    if !is_client_id_shape(&value) {
        let message = if value.contains("://") {
            "Client ID looks like a URL, not a client id.".to_owned()
        } else if is_secret_shape(&value) {
            "Client ID looks like the client secret (it is longer, and secret).".to_owned()
        } else {
            format!(
                "Client ID {} is {} characters; Atlassian's are 32 letters and digits.",
                quote(&value),
                value.chars().count()
            )
        };
        findings.push(Finding::warning(field, message, CLIENT_ID_FIX));
    }
    Checked::new(value, findings)
}

/// The client secret: today `ATOA` and 72 more characters, on older apps 64 characters, all of
/// `[A-Za-z0-9_-]`.
pub fn client_secret(input: &str) -> Checked<Secret> {
    let field = Field::ClientSecret;
    if let Some(finding) = oversized(field, input) {
        return Checked::refused(finding);
    }
    let value = clean_paste(input);
    if let Some(finding) = empty_or_spaced(field, &value, CLIENT_SECRET_FIX) {
        return Checked::refused(finding);
    }
    let mut findings = Vec::new();
    if !is_secret_shape(&value) {
        // The length is safe to say; the characters are not.
        let message = if is_client_id_shape(&value) {
            "Client secret looks like a Client ID (32 letters and digits).".to_owned()
        } else {
            format!(
                "Client secret has an unusual shape ({} characters); Atlassian's are 76 \
                 starting with ATOA, or 64 on older apps.",
                value.chars().count()
            )
        };
        findings.push(Finding::warning(field, message, CLIENT_SECRET_FIX));
    }
    Checked::new(Secret::new(value), findings)
}

/// The profile's own name, by the one rule for identifiers ([`super::identifier`]): refused,
/// never cleaned, so the profile is saved under exactly the name given.
pub fn profile_name(input: &str) -> Checked<String> {
    let field = Field::Name;
    match identifier::profile_name(input) {
        Ok(name) => Checked::new(name.to_owned(), Vec::new()),
        Err(error) => Checked::refused(Finding::error(field, error.message(), error.fix())),
    }
}

fn empty_or_spaced(field: Field, value: &str, fix: &str) -> Option<Finding> {
    let label = field.label();
    if value.is_empty() {
        Some(Finding::error(field, format!("{label} is empty."), fix))
    } else if value.chars().any(char::is_whitespace) {
        Some(Finding::error(
            field,
            format!("{label} contains a space, so it was cut or joined while copying."),
            fix,
        ))
    } else {
        None
    }
}

fn is_client_id_shape(value: &str) -> bool {
    value.len() == 32 && value.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn is_secret_shape(value: &str) -> bool {
    let secret_chars = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    let current = value.len() == 76 && value.starts_with("ATOA") && secret_chars(&value[4..]);
    let older = value.len() == 64 && secret_chars(value);
    current || older
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::Severity;

    const ID: &str = "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56";

    fn current_secret() -> String {
        format!("ATOA{}", "aB3_-".repeat(14) + "xy")
    }

    #[test]
    fn client_ids_by_shape() {
        let cases: [(&str, Option<Severity>); 8] = [
            (ID, None),
            (&format!("  \"{ID}\"\n"), None),
            ("", Some(Severity::Error)),
            ("Ab12 Cd34", Some(Severity::Error)),
            ("short", Some(Severity::Warning)),
            (&format!("{ID}x"), Some(Severity::Warning)),
            ("Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op5_", Some(Severity::Warning)),
            (
                "https://auth.atlassian.com/authorize",
                Some(Severity::Warning),
            ),
        ];
        for (input, worst) in cases {
            let checked = client_id(input);
            assert_eq!(checked.worst(), worst, "input {input:?}: {checked:?}");
            assert!(checked.findings.iter().all(|f| f.fix.contains("step iv")));
        }
        assert_eq!(client_id(&format!("'{ID}'")).value.as_deref(), Some(ID));
        assert!(
            client_id(&current_secret()).findings[0]
                .message
                .contains("client secret")
        );
    }

    #[test]
    fn client_secrets_by_shape() {
        let current = current_secret();
        assert_eq!(current.len(), 76);
        let older = "a1_-".repeat(16);
        let cases: [(&str, Option<Severity>); 8] = [
            (&current, None),
            (&older, None),
            (&format!("'{current}'\n"), None),
            ("", Some(Severity::Error)),
            (
                &format!("{} {}", &current[..30], &current[30..]),
                Some(Severity::Error),
            ),
            (&current[..75], Some(Severity::Warning)),
            (ID, Some(Severity::Warning)),
            ("ATOA!!!", Some(Severity::Warning)),
        ];
        for (input, worst) in cases {
            let checked = client_secret(input);
            assert_eq!(checked.worst(), worst, "input length {}", input.len());
            for finding in &checked.findings {
                assert!(finding.fix.contains("step v"));
                assert!(
                    !finding.message.contains("aB3"),
                    "the secret leaked: {finding}"
                );
            }
        }
        let wrapped = format!("{}\n{}", &current[..40], &current[40..]);
        let joined = client_secret(&wrapped);
        assert_eq!(
            joined.value.as_ref().map(Secret::expose),
            Some(current.as_str())
        );
        assert!(
            client_secret(ID).findings[0]
                .message
                .contains("looks like a Client ID")
        );
    }

    #[test]
    fn profile_names() {
        for good in ["jira", "jira-prod", "Team_1.v2", &"a".repeat(MAX_NAME)] {
            assert_eq!(
                profile_name(good).value.as_deref(),
                Some(good),
                "name {good:?}"
            );
        }
        let cases = [
            ("", "empty"),
            (" spaced-out ", "starts or ends with whitespace"),
            ("two words", "a space"),
            ("slash/y", "\"/\""),
            ("naïve", "\"ï\""),
            ("-rm", "option"),
            ("ev\u{1b}]0;x\u{7}il", "escape sequence"),
            ("zero\u{200b}width", "invisible character U+200B"),
            (&"a".repeat(MAX_NAME + 1), "limit is 64"),
        ];
        for (bad, reason) in cases {
            let checked = profile_name(bad);
            assert!(!checked.is_ok(), "name {bad:?}");
            assert!(
                checked.findings[0].message.contains(reason),
                "{:?}",
                checked.findings
            );
            assert!(checked.findings[0].fix.contains("1 to 64 letters"));
            assert_eq!(
                checked.findings[0].to_string(),
                identifier::profile_name(bad).unwrap_err().to_string(),
                "the form and the CLI say the same"
            );
        }
    }
}
