//! The scopes of a profile: split however they were pasted (spaces, commas, newlines, tabs,
//! `%20`, `+`), folded to one of each, checked for form (Error) and against the catalog
//! (Warning), with Atlassian's advice to stay under 50.

pub use super::catalog::{OFFLINE_ACCESS, is_well_formed};

use super::catalog::Catalog;
use super::finding::{Checked, Field, Finding, oversized};
use super::text::{percent_decode, quote, sanitize};

/// Atlassian's recommended ceiling of scopes per app.
pub const RECOMMENDED_MAX: usize = 50;
/// How many names a finding lists before it says "and N more".
const LISTED: usize = 5;

const FIELD: Field = Field::Scopes;

/// Checks a pasted list of scopes; the value keeps the first occurrence of each, in order.
pub fn scopes(input: &str, catalog: &Catalog) -> Checked<Vec<String>> {
    if let Some(finding) = oversized(FIELD, input) {
        return Checked::refused(finding);
    }
    let (names, repeated) = split_counting(input);
    if names.is_empty() {
        return Checked::refused(Finding::error(
            FIELD,
            "Scopes is empty.",
            "Select the scopes of “Jira platform REST API” (step ix); a pre-authorized \
             integration also needs offline_access.",
        ));
    }
    let mut findings = Vec::new();
    let malformed: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| !is_well_formed(n))
        .collect();
    if !malformed.is_empty() {
        let lower_case_helps = malformed
            .iter()
            .any(|n| *n != n.to_lowercase() && is_well_formed(&n.to_lowercase()));
        let case = if lower_case_helps {
            " Scope names are lower case."
        } else {
            ""
        };
        findings.push(Finding::error(
            FIELD,
            format!(
                "Scopes: {} {}.",
                list(&malformed),
                plural(
                    malformed.len(),
                    "is not a scope name",
                    "are not scope names"
                )
            ),
            format!(
                "A scope looks like read:jira-work or read:issue:jira: words joined by colons.\
                 {case} Copy the names from the Scopes screen (step ix)."
            ),
        ));
    }
    let unknown: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| is_well_formed(n) && !catalog.contains(n))
        .collect();
    if !unknown.is_empty() {
        findings.push(Finding::warning(
            FIELD,
            format!(
                "Scopes: {} {}.",
                list(&unknown),
                plural(
                    unknown.len(),
                    "is not a known Jira scope",
                    "are not known Jira scopes"
                )
            ),
            "Check the spelling against the Scopes screen (step ix); a scope missing from \
             jira-auth's list still works if Atlassian knows it.",
        ));
    }
    if !repeated.is_empty() {
        let repeated: Vec<&str> = repeated.iter().map(String::as_str).collect();
        findings.push(Finding::notice(
            FIELD,
            format!(
                "Scopes: {} appeared more than once; kept once.",
                list(&repeated)
            ),
            "",
        ));
    }
    if names.len() > RECOMMENDED_MAX {
        findings.push(Finding::warning(
            FIELD,
            format!(
                "Scopes lists {} scopes; Atlassian recommends at most {RECOMMENDED_MAX} per app.",
                names.len()
            ),
            "Keep only the scopes the integration uses.",
        ));
    }
    Checked::new(names, findings)
}

/// The names in a pasted list, first occurrence of each, in order, well-formed or not.
pub fn split(input: &str) -> Vec<String> {
    split_counting(input).0
}

/// Names in order of first appearance, and the names that appeared again.
fn split_counting(input: &str) -> (Vec<String>, Vec<String>) {
    // `+` is a space in a query string; decoding after it keeps an encoded `%2B` a separator
    // too, which is right: no scope contains a plus.
    let decoded = percent_decode(&input.replace('+', " "));
    // Sanitizing turns newlines and tabs into spaces and drops escape sequences a terminal may
    // have wrapped around the paste.
    let text = sanitize(&decoded, usize::MAX);
    let mut names: Vec<String> = Vec::new();
    let mut repeated: Vec<String> = Vec::new();
    let pieces = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .map(|piece| piece.trim_matches(['"', '\'', '`', '[', ']']))
        .filter(|piece| !piece.is_empty());
    for piece in pieces {
        if names.iter().any(|n| n == piece) {
            if !repeated.iter().any(|r| r == piece) {
                repeated.push(piece.to_owned());
            }
        } else {
            names.push(piece.to_owned());
        }
    }
    (names, repeated)
}

fn plural(count: usize, one: &'static str, many: &'static str) -> &'static str {
    if count == 1 { one } else { many }
}

/// “a”, “b”, “c” and 4 more: bounded whatever was pasted.
fn list(names: &[&str]) -> String {
    let shown: Vec<String> = names
        .iter()
        .take(LISTED)
        .map(|n| quote(&sanitize(n, 60)))
        .collect();
    let mut text = shown.join(", ");
    if names.len() > LISTED {
        text.push_str(&format!(" and {} more", names.len() - LISTED));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::Severity;

    fn catalog() -> &'static Catalog {
        Catalog::builtin()
    }

    fn names(input: &str) -> Vec<String> {
        scopes(input, catalog()).value.unwrap_or_default()
    }

    #[test]
    fn every_separator_is_accepted() {
        let expected = ["read:jira-work", "write:jira-work", "offline_access"];
        for input in [
            "read:jira-work write:jira-work offline_access",
            "read:jira-work,write:jira-work,offline_access",
            "read:jira-work, write:jira-work, offline_access",
            "read:jira-work\nwrite:jira-work\r\noffline_access\n",
            "read:jira-work\twrite:jira-work\toffline_access",
            "read:jira-work%20write:jira-work%20offline_access",
            "read%3Ajira-work%20write%3Ajira-work%20offline_access",
            "read:jira-work+write:jira-work+offline_access",
            "[\"read:jira-work\", \"write:jira-work\", \"offline_access\"]",
            "  read:jira-work   write:jira-work ,, offline_access  ",
            "\u{1b}[200~read:jira-work write:jira-work offline_access\u{1b}[201~",
        ] {
            assert_eq!(names(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn duplicates_fold_keeping_the_first_order() {
        let checked = scopes(
            "write:jira-work read:jira-work write:jira-work read:jira-work",
            catalog(),
        );
        assert_eq!(
            checked.value,
            Some(vec!["write:jira-work".into(), "read:jira-work".into()])
        );
        assert_eq!(checked.worst(), Some(Severity::Notice));
        assert!(checked.findings[0].message.contains("more than once"));
    }

    #[test]
    fn well_formed_names() {
        for good in [
            "read:jira-work",
            "read:issue:jira",
            "read:issue.changelog:jira",
            "read:sprint:jira-software",
            "read:servicedesk-request",
            "read:request.sla:jira-service-management",
            "offline_access",
            "read:me",
            "read:account",
            "validate:jql:jira",
        ] {
            assert!(is_well_formed(good), "{good}");
        }
        for bad in [
            "",
            "read",
            "read:",
            ":jira",
            "READ:jira-work",
            "read:Jira-work",
            "read::jira",
            "read:jira work",
            "offline-access",
            "read:-x",
            "r3ad:x",
            "read:jira_work",
            "https://auth.atlassian.com/authorize",
            &format!("read:{}", "a".repeat(200)),
        ] {
            assert!(!is_well_formed(bad), "{bad}");
        }
    }

    #[test]
    fn malformed_names_are_errors_and_unknown_names_are_warnings() {
        let malformed = scopes("read:jira-work READ:JIRA-USER", catalog());
        assert!(!malformed.is_ok());
        assert!(
            malformed.findings[0]
                .message
                .contains("“READ:JIRA-USER” is not a scope name")
        );
        assert!(malformed.findings[0].fix.contains("lower case"));

        let unknown = scopes("read:jira-work read:jira-wrok", catalog());
        assert!(unknown.is_ok());
        assert_eq!(unknown.worst(), Some(Severity::Warning));
        assert!(
            unknown.findings[0]
                .message
                .contains("“read:jira-wrok” is not a known Jira scope")
        );

        let empty = scopes(" , \n", catalog());
        assert!(empty.findings[0].message.contains("empty"));
        assert!(empty.findings[0].fix.contains("step ix"));
    }

    #[test]
    fn many_scopes_warn_and_long_lists_stay_short() {
        let granular: Vec<&str> = catalog()
            .entries()
            .iter()
            .map(|e| e.name.as_str())
            .take(RECOMMENDED_MAX + 1)
            .collect();
        let checked = scopes(&granular.join(" "), catalog());
        assert!(checked.is_ok());
        assert!(checked.warnings().any(|f| f.message.contains("at most 50")));

        let garbage: Vec<String> = (0..300).map(|i| format!("BAD{i}")).collect();
        let checked = scopes(&garbage.join(" "), catalog());
        let errors: Vec<&Finding> = checked.errors().collect();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.contains("and 295 more"));
        assert!(errors[0].message.len() < 400);
    }
}
