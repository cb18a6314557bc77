//! The short commands: each is one request to the agent and its output for scripts.

use std::io::Write;

use crate::agent::{Configured, SavedProfile};
use crate::domain::{AppRef, Mode, Timestamp};
use crate::service::draft::ProfileDraft;
use crate::service::setup::SetupPlan;

use crate::validate::text::quoted;

use super::client::Client;
use super::failure::Failure;
use super::output::{for_terminal, to_json, write_profiles, write_status};
use crate::exit::Exit;

/// The status of a store that does not exist: empty, and said so.
fn absent(client: &Client, json: bool, empty_json: &str) -> Result<(), Failure> {
    eprintln!("jira-auth: {}", for_terminal(&client.nothing_configured()));
    if json {
        writeln!(std::io::stdout().lock(), "{empty_json}")?;
    }
    Ok(())
}

pub fn status(client: &Client, json: bool) -> Result<(), Failure> {
    if !client.store_exists() {
        return absent(client, json, r#"{"integrations":[],"profiles":[]}"#);
    }
    let mut out = std::io::stdout().lock();
    if json {
        // The agent sends the text itself: with 10,000 users, parsing megabytes of JSON only
        // to print them again would be most of this command's time.
        let status = client.block_on(client.link.status_json())?;
        out.write_all(&status.text)?;
        return status_exit(status.needs_reauthorization, status.needs_room);
    }
    let report = client.block_on(client.link.status())?;
    write_status(&mut out, &report, Timestamp::now())?;
    status_exit(report.needs_reauthorization(), report.needs_room())
}

/// `status`'s exit code, for scripts: 3 when some grant needs a new consent, else 4 while the
/// disk is full or a grant is unsaved (temporary: room comes back and jira-auth carries on
/// by itself).
fn status_exit(needs_reauthorization: bool, needs_room: bool) -> Result<(), Failure> {
    if needs_reauthorization {
        return Err(Failure::quiet(Exit::Reauthorize));
    }
    if needs_room {
        return Err(Failure::quiet(Exit::Temporary));
    }
    Ok(())
}

pub fn token(
    client: &Client,
    integration: &str,
    user: Option<&str>,
    min_valid: i64,
    json: bool,
) -> Result<(), Failure> {
    if !client.store_exists() {
        // Nothing to hand out, and nothing to create: an unknown integration (2).
        return Err(Failure::new(Exit::Usage, client.nothing_configured()));
    }
    let token = client.block_on(client.link.token(integration, user, min_valid))?;
    if let Some(note) = &token.note {
        eprintln!("jira-auth: {}", for_terminal(note));
    }
    let mut out = std::io::stdout().lock();
    if json {
        let endpoints = &client.setup.endpoints;
        let cloud_id = token.site.as_ref().map(|s| s.id.clone());
        let body = serde_json::json!({
            "access_token": token.access_token,
            "expires_at": token.expires_at.rfc3339(),
            "cloud_id": cloud_id,
            "site_url": token.site.as_ref().map(|s| s.url.clone()),
            "api_base": cloud_id.map(|id| endpoints.jira_api_base(&id).to_string()),
        });
        writeln!(out, "{}", to_json(&body))?;
    } else {
        writeln!(out, "{}", token.access_token)?;
    }
    Ok(())
}

pub fn refresh(client: &Client, integration: Option<String>) -> Result<(), Failure> {
    if !client.store_exists() {
        return Err(Failure::new(Exit::Usage, client.nothing_configured()));
    }
    let results = client.block_on(client.link.refresh(integration, None))?;
    if results.is_empty() {
        eprintln!("Nothing to refresh: no grant is stored yet.");
        return Ok(());
    }
    let now = Timestamp::now();
    let mut worst: Option<Exit> = None;
    for result in &results {
        match result.sentence(now) {
            Ok(refreshed) => eprintln!("{refreshed}"),
            Err(failed) => eprintln!("{}", for_terminal(&failed)),
        }
        if let Err(e) = &result.outcome {
            worst = Some(match worst {
                // A dead grant is what someone must act on; temporary trouble is the least.
                Some(Exit::Reauthorize) => Exit::Reauthorize,
                Some(code) if e.code.is_temporary() => code,
                _ => e.code,
            });
        }
    }
    match worst {
        Some(code) => Err(Failure::quiet(code)),
        None => Ok(()),
    }
}

pub fn setup(
    client: &Client,
    integration: &str,
    mode: Mode,
    profile: Option<&str>,
) -> Result<(), Failure> {
    let plan = SetupPlan {
        integration: integration.to_owned(),
        mode,
        app: profile.map_or(AppRef::System, |name| AppRef::Custom(name.to_owned())),
    };
    let Configured {
        integration,
        removed_tokens,
    } = client.block_on(client.link.setup(plan))?;
    if removed_tokens > 0 {
        eprintln!(
            "Removed {removed_tokens} token set(s) issued for the previous app or mode; they must authorize again."
        );
    }
    let next = match integration.mode {
        Mode::PreAuthorized => "next, `jira-auth authorize` (or a in the console) to enable it",
        Mode::UserAuthorized => "enabled; each end user authorizes through their own link",
    };
    eprintln!(
        "Configured {}: {} through {}; {next}.",
        integration.name, integration.mode, integration.app
    );
    Ok(())
}

pub fn profile_list(client: &Client, json: bool) -> Result<(), Failure> {
    if !client.store_exists() {
        return absent(client, json, "[]");
    }
    let report = client.block_on(client.link.status())?;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", to_json(&report.profiles))?;
    } else {
        write_profiles(&mut out, &report.profiles)?;
    }
    Ok(())
}

pub fn profile_add(client: &Client, draft: &ProfileDraft) -> Result<(), Failure> {
    let SavedProfile {
        name,
        callback_url,
        remarks,
    } = client.block_on(client.link.add_profile(draft))?;
    for remark in remarks {
        eprintln!("{}", for_terminal(&remark));
    }
    eprintln!(
        "Saved the profile {}. Register this callback URL in your app (step vi): {callback_url}",
        quoted(&name)
    );
    Ok(())
}

pub fn profile_rm(client: &Client, name: &str) -> Result<(), Failure> {
    client.block_on(client.link.remove_profile(name))?;
    eprintln!("Deleted the profile {}.", quoted(name));
    Ok(())
}

/// `store copy`: the agent copies and checks; a relative `sled:DIR` is this shell's.
pub fn copy_store(client: &Client, to: &str, force: bool) -> Result<(), Failure> {
    let to = match to.strip_prefix("sled:") {
        Some(dir) if !std::path::Path::new(dir).is_absolute() => {
            let here = std::env::current_dir()?;
            format!("sled:{}", here.join(dir).display())
        }
        _ => to.to_owned(),
    };
    let (copied, target) = client.block_on(client.link.copy_store(&to, force))?;
    eprintln!("{}", for_terminal(&copied.sentence(&target)));
    Ok(())
}
