//! The short commands: each is one request to the agent and its output for scripts.

use std::io::Write;

use crate::agent::protocol::{DraftWire, Reply, Request};
use crate::domain::{AppRef, Mode, Timestamp};
use crate::service::draft::ProfileDraft;
use crate::service::setup::SetupPlan;

use crate::validate::text::quoted;

use super::client::unexpected;
use super::output::{to_json, write_profiles, write_status};
use super::{Client, Failure};

pub fn status(client: &Client, json: bool) -> Result<(), Failure> {
    let report = match client.call(Request::Status)? {
        Reply::Status(report) => report,
        other => return Err(unexpected(&other)),
    };
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", to_json(&report))?;
    } else {
        write_status(&mut out, &report, Timestamp::now())?;
    }
    Ok(())
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
    let (integration, removed_tokens) = match client.call(Request::Setup { plan })? {
        Reply::Configured {
            integration,
            removed_tokens,
        } => (integration, removed_tokens),
        other => return Err(unexpected(&other)),
    };
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
    let report = match client.call(Request::Status)? {
        Reply::Status(report) => report,
        other => return Err(unexpected(&other)),
    };
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", to_json(&report.profiles))?;
    } else {
        write_profiles(&mut out, &report.profiles)?;
    }
    Ok(())
}

pub fn profile_add(client: &Client, draft: &ProfileDraft) -> Result<(), Failure> {
    let request = Request::AddProfile {
        draft: DraftWire::of(draft),
    };
    let (name, callback_url, remarks) = match client.call(request)? {
        Reply::ProfileSaved {
            name,
            callback_url,
            remarks,
        } => (name, callback_url, remarks),
        other => return Err(unexpected(&other)),
    };
    for remark in remarks {
        eprintln!("{remark}");
    }
    eprintln!(
        "Saved the profile {}. Register this callback URL in your app (step vi): {callback_url}",
        quoted(&name)
    );
    Ok(())
}

pub fn profile_rm(client: &Client, name: &str) -> Result<(), Failure> {
    match client.call(Request::RemoveProfile {
        name: name.to_owned(),
    })? {
        Reply::Ok => {
            eprintln!("Deleted the profile {}.", quoted(name));
            Ok(())
        }
        other => Err(unexpected(&other)),
    }
}
