//! Every scripted command and exit code of the foundation, through the real binary.

mod common;

use common::*;
use jira_auth::domain::{Principal, Timestamp};
use jira_auth::store::Store;

fn seed(sandbox: &Sandbox) {
    let store = sandbox.open();
    store.put_profile(&sample_profile("acme")).unwrap();
    store.put_profile(&sample_profile("spare")).unwrap();
    store
        .put_integration(&sample_integration("jira", Some("acme")))
        .unwrap();
    store
        .put_token_set(&sample_tokens("jira", Principal::Admin, Timestamp::now()))
        .unwrap();
}

#[test]
fn status_json_on_an_empty_store() {
    let sandbox = Sandbox::new();
    let out = sandbox.run(&["status", "--json"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"integrations": [], "profiles": []})
    );
}

#[test]
fn status_json_reports_health_and_never_a_secret() {
    let sandbox = Sandbox::new();
    seed(&sandbox);
    let out = sandbox.run(&["status", "--json"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for secret in [CLIENT_SECRET, ACCESS_TOKEN, REFRESH_TOKEN] {
        assert!(!stdout.contains(secret));
    }
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let integration = &json["integrations"][0];
    assert_eq!(integration["name"], "jira");
    assert_eq!(integration["mode"], "pre-authorized");
    assert_eq!(integration["app"], "custom");
    assert_eq!(integration["profile"], "acme");
    assert_eq!(integration["enabled"], true);
    let token = &integration["tokens"][0];
    assert_eq!(token["principal"], "admin");
    assert_eq!(token["state"], "valid");
    assert!(token["access_expires_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(token["refresh_token"]["present"], true);
    assert_eq!(token["site"]["url"], "https://acme.atlassian.net");
    assert_eq!(token["last_error"], serde_json::Value::Null);
    assert_eq!(json["profiles"][0]["name"], "acme");
    assert_eq!(json["profiles"][0]["used_by"], serde_json::json!(["jira"]));
}

#[test]
fn status_for_humans() {
    let sandbox = Sandbox::new();
    seed(&sandbox);
    let out = sandbox.run(&["status"], "");
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("jira: pre-authorized, app custom (acme), enabled"),
        "{stdout}"
    );
    assert!(stdout.contains("admin: valid"), "{stdout}");
}

#[test]
fn profile_list_in_both_forms() {
    let sandbox = Sandbox::new();
    seed(&sandbox);
    let out = sandbox.run(&["profile", "list"], "");
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("acme") && l.ends_with("jira")),
        "{stdout}"
    );
    let out = sandbox.run(&["profile", "list", "--json"], "");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);
    assert!(!text(&out.stdout).contains(CLIENT_SECRET));
}

#[test]
fn profile_rm_refuses_a_profile_in_use_and_deletes_a_spare_one() {
    let sandbox = Sandbox::new();
    seed(&sandbox);
    let out = sandbox.run(&["profile", "rm", "acme"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("used by the integration \"jira\""),
        "{}",
        text(&out.stderr)
    );
    let out = sandbox.run(&["profile", "rm", "nope"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no authorization profile named \"nope\""));
    let out = sandbox.run(&["profile", "rm", "spare"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(sandbox.open().profile("spare").unwrap().is_none());
    assert!(sandbox.open().profile("acme").unwrap().is_some());
}

#[test]
fn a_wrong_key_exits_2_and_leaves_the_data_intact() {
    let sandbox = Sandbox::new();
    seed(&sandbox);
    let right = std::fs::read(sandbox.key_file()).unwrap();
    std::fs::write(sandbox.key_file(), "cd".repeat(32)).unwrap();
    let out = sandbox.run(&["status", "--json"], "");
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("sealed with a different key"), "{stderr}");
    assert!(out.stdout.is_empty());
    std::fs::write(sandbox.key_file(), right).unwrap();
    let out = sandbox.run(&["profile", "list", "--json"], "");
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);
    assert_eq!(
        sandbox
            .open()
            .profile("acme")
            .unwrap()
            .unwrap()
            .client_secret
            .expose(),
        CLIENT_SECRET
    );
}

#[test]
fn a_busy_store_exits_4_with_a_sentence() {
    let sandbox = Sandbox::new();
    let _held = sandbox.open();
    let out = sandbox.run(&["status"], "");
    assert_eq!(out.status.code(), Some(4));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("is in use by process"), "{stderr}");
    assert!(!stderr.contains("panicked"));
}

#[test]
fn a_newer_schema_is_refused_with_exit_2() {
    let sandbox = Sandbox::new();
    drop(sandbox.open());
    {
        // sled releases its file lock from a background thread shortly after the drop.
        let db = (0..100)
            .find_map(|_| {
                sled::open(sandbox.data_dir().join("db"))
                    .map_err(|_| std::thread::sleep(std::time::Duration::from_millis(50)))
                    .ok()
            })
            .expect("the store is released");
        db.open_tree("meta")
            .unwrap()
            .insert("schema_version", &99u32.to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    let out = sandbox.run(&["status"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("schema version 99"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn bad_usage_exits_2_and_help_has_examples() {
    let sandbox = Sandbox::new();
    assert_eq!(sandbox.run(&["frobnicate"], "").status.code(), Some(2));
    assert_eq!(sandbox.run(&["status", "--jsn"], "").status.code(), Some(2));
    let help = sandbox.run(&["--help"], "");
    assert_eq!(help.status.code(), Some(0));
    assert!(text(&help.stdout).contains("Examples:"));
    assert!(text(&help.stdout).contains("Exit codes"));
    let version = sandbox.run(&["--version"], "");
    assert_eq!(
        text(&version.stdout).trim(),
        format!("jira-auth {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn the_console_without_a_terminal_says_what_to_do() {
    let sandbox = Sandbox::new();
    let out = sandbox.run(&[], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("needs a terminal"));
}
