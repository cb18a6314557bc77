//! What a validator says about a field: the field, how much it matters, the sentence and the
//! fix, and the checked value that exists only when nothing is an Error. A leaf: every
//! validator takes these from here.

use std::fmt;

/// The largest paste any field accepts. Nothing an admin copies from Atlassian comes close;
/// anything bigger is a wrong clipboard, and refusing it keeps every check cheap.
pub const MAX_INPUT: usize = 4096;

/// A field of the authorization profile form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    Name,
    Mechanism,
    ClientId,
    ClientSecret,
    CallbackUrl,
    AuthorizationUrl,
    TokenUrl,
    RefreshUrl,
    Scopes,
}

impl Field {
    pub const ALL: [Field; 9] = [
        Field::Name,
        Field::Mechanism,
        Field::ClientId,
        Field::ClientSecret,
        Field::CallbackUrl,
        Field::AuthorizationUrl,
        Field::TokenUrl,
        Field::RefreshUrl,
        Field::Scopes,
    ];

    /// The field's name on screen and in messages.
    pub fn label(self) -> &'static str {
        match self {
            Field::Name => "Profile name",
            Field::Mechanism => "Authorization mechanism",
            Field::ClientId => "Client ID",
            Field::ClientSecret => "Client secret",
            Field::CallbackUrl => "Callback URL",
            Field::AuthorizationUrl => "Authorization URL",
            Field::TokenUrl => "Token request URL",
            Field::RefreshUrl => "Refresh token URL",
            Field::Scopes => "Scopes",
        }
    }

    /// The developer-console step of the seed (i-xi) that produces this field's value.
    pub fn step(self) -> Option<&'static str> {
        match self {
            Field::Name => None,
            Field::Mechanism => Some("i"),
            Field::ClientId => Some("iv"),
            Field::ClientSecret => Some("v"),
            Field::CallbackUrl => Some("vi"),
            Field::Scopes => Some("ix"),
            Field::AuthorizationUrl => Some("x"),
            Field::TokenUrl | Field::RefreshUrl => Some("xi"),
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// How much a finding matters. Ordered: `Notice < Warning < Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Something was adjusted on the admin's behalf; nothing to do.
    Notice,
    /// Unusual but possibly right; the value is kept.
    Warning,
    /// The value cannot be used; the profile cannot be saved with it.
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Notice => "notice",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One thing a validator noticed about one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub field: Field,
    pub severity: Severity,
    /// What is wrong, naming the field, as a sentence.
    pub message: String,
    /// What to do about it, as a sentence.
    pub fix: String,
}

impl Finding {
    pub fn new(
        field: Field,
        severity: Severity,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Finding {
            field,
            severity,
            message: message.into(),
            fix: fix.into(),
        }
    }

    pub fn error(field: Field, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new(field, Severity::Error, message, fix)
    }

    pub fn warning(field: Field, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new(field, Severity::Warning, message, fix)
    }

    pub fn notice(field: Field, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new(field, Severity::Notice, message, fix)
    }
}

/// The message and the fix, one after the other: the line the CLI prints.
impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.fix.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{} {}", self.message, self.fix)
        }
    }
}

/// A validated value: the normalized value, present only when no finding is an Error, and
/// everything noticed on the way.
#[derive(Clone, Debug, PartialEq)]
pub struct Checked<T> {
    pub value: Option<T>,
    pub findings: Vec<Finding>,
}

impl<T> Checked<T> {
    /// Keeps `value` only when no finding is an Error, so a caller cannot use a refused value.
    pub fn new(value: T, findings: Vec<Finding>) -> Self {
        let refused = findings.iter().any(|f| f.severity == Severity::Error);
        Checked {
            value: (!refused).then_some(value),
            findings,
        }
    }

    /// No value, for the one reason given.
    pub fn refused(finding: Finding) -> Self {
        Checked {
            value: None,
            findings: vec![finding],
        }
    }

    pub fn is_ok(&self) -> bool {
        self.value.is_some()
    }

    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.with_severity(Severity::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.with_severity(Severity::Warning)
    }

    pub fn notices(&self) -> impl Iterator<Item = &Finding> {
        self.with_severity(Severity::Notice)
    }

    /// The most serious finding's severity, for a field's status mark.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    fn with_severity(&self, severity: Severity) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.severity == severity)
    }
}

/// The Error for a paste over [`MAX_INPUT`] bytes, or `None` when it fits.
pub(crate) fn oversized(field: Field, input: &str) -> Option<Finding> {
    (input.len() > MAX_INPUT).then(|| {
        let label = field.label();
        Finding::error(
            field,
            format!(
                "{label} is longer than 4 KiB ({} bytes), far more than any real value.",
                input.len()
            ),
            format!("Copy the {label} again; only the value itself belongs here."),
        )
    })
}

/// "(step iv)" for fixes, or nothing for a field without a step.
pub(crate) fn step_hint(field: Field) -> String {
    field
        .step()
        .map(|step| format!(" (step {step})"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_drops_the_value_on_any_error() {
        let warned = Checked::new(1, vec![Finding::warning(Field::ClientId, "w", "f")]);
        assert_eq!(warned.value, Some(1));
        assert!(warned.is_ok());
        assert_eq!(warned.warnings().count(), 1);
        assert_eq!(warned.worst(), Some(Severity::Warning));

        let refused = Checked::new(
            1,
            vec![
                Finding::notice(Field::ClientId, "n", "f"),
                Finding::error(Field::ClientId, "e", "f"),
            ],
        );
        assert_eq!(refused.value, None);
        assert_eq!(refused.errors().count(), 1);
        assert_eq!(refused.notices().count(), 1);
        assert_eq!(refused.worst(), Some(Severity::Error));
    }

    #[test]
    fn every_field_has_a_label_and_severities_are_ordered() {
        for field in Field::ALL {
            assert!(!field.label().is_empty());
        }
        assert_eq!(Field::TokenUrl.label(), "Token request URL");
        assert_eq!(Field::ClientId.step(), Some("iv"));
        assert!(Severity::Notice < Severity::Warning && Severity::Warning < Severity::Error);
    }

    #[test]
    fn findings_print_message_then_fix() {
        let finding = Finding::error(Field::ClientId, "Client ID is empty.", "Copy it.");
        assert_eq!(finding.to_string(), "Client ID is empty. Copy it.");
    }

    #[test]
    fn oversized_input_is_refused_by_bytes() {
        assert!(oversized(Field::Scopes, &"a".repeat(MAX_INPUT)).is_none());
        let finding = oversized(Field::Scopes, &"a".repeat(MAX_INPUT + 1));
        assert!(finding.is_some_and(|f| f.message.contains("longer than 4 KiB")));
    }
}
