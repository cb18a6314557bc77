//! Human and JSON forms of what the commands print. The human form sanitizes what it shows
//! of stored text: identifiers pass the identifier rule on the way in, but a store written
//! by an older build may hold anything.

use std::io::Write;

use crate::domain::Timestamp;
use crate::service;
use crate::service::status::{ProfileStatus, StatusReport};
use crate::validate::text::sanitize;

/// Stored text as a status line shows it: one line, nothing a terminal acts on, capped above
/// the longest identifier (a `user:` principal of 256 characters).
fn shown(text: &str) -> String {
    sanitize(text, crate::validate::text::SENTENCE_CAP)
}

/// Any sentence as a terminal gets it: each line sanitized like outside text, since local
/// text can carry escape bytes too (a `--data-dir` holding ESC, a path in a store error).
pub fn for_terminal(text: &str) -> String {
    text.lines()
        .map(|line| sanitize(line, crate::validate::text::BLOCK_CAP))
        .collect::<Vec<_>>()
        .join("\n")
}

pub(super) fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Serializing plain data with string keys cannot fail.
    serde_json::to_string_pretty(value).unwrap_or_else(|e| unreachable!("status serializes: {e}"))
}

pub(super) fn write_status(
    out: &mut impl Write,
    report: &StatusReport,
    now: Timestamp,
) -> std::io::Result<()> {
    if report.integrations.is_empty() {
        writeln!(out, "No integration is set up.")?;
    }
    for integration in &report.integrations {
        let app = integration
            .profile
            .as_deref()
            .map_or("system".to_owned(), |p| format!("custom ({})", shown(p)));
        let enabled = if integration.enabled {
            "enabled"
        } else {
            "disabled"
        };
        writeln!(
            out,
            "{}: {}, app {app}, {enabled}",
            shown(&integration.name),
            integration.mode
        )?;
        if integration.tokens.is_empty() {
            match integration.mode {
                crate::domain::Mode::PreAuthorized => writeln!(out, "  not authorized")?,
                crate::domain::Mode::UserAuthorized => {
                    writeln!(out, "  no user has authorized yet")?;
                }
            }
        }
        for token in &integration.tokens {
            let left = service::format::duration(now.secs_until(token.access_expires_at));
            let site = token
                .site
                .as_ref()
                .map_or(String::new(), |s| format!(" on {}", shown(&s.url)));
            writeln!(
                out,
                "  {}: {} (access {left} left){site}",
                shown(&token.principal.key()),
                token.state.as_str()
            )?;
            if let Some(error) = &token.last_error {
                writeln!(
                    out,
                    "    last error: {}",
                    sanitize(error, crate::validate::text::LINE_CAP)
                )?;
            }
        }
    }
    for alert in report.alerts(now) {
        writeln!(
            out,
            "! {}",
            sanitize(&alert.sentence, crate::validate::text::LINE_CAP)
        )?;
    }
    writeln!(out)?;
    write_profiles(out, &report.profiles)
}

pub(super) fn write_profiles(
    out: &mut impl Write,
    profiles: &[ProfileStatus],
) -> std::io::Result<()> {
    if profiles.is_empty() {
        return writeln!(out, "No authorization profile.");
    }
    writeln!(
        out,
        "{:<16} {:<34} {:>6}  USED BY",
        "PROFILE", "CLIENT ID", "SCOPES"
    )?;
    for profile in profiles {
        let used_by = if profile.used_by.is_empty() {
            "-".to_owned()
        } else {
            shown(&profile.used_by.join(","))
        };
        writeln!(
            out,
            "{:<16} {:<34} {:>6}  {used_by}",
            shown(&profile.name),
            shown(&profile.client_id),
            profile.scopes.len()
        )?;
    }
    Ok(())
}
