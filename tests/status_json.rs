//! `status --json` passes the agent's text through: what it prints stays byte for byte what a
//! client printed when it parsed the report and wrote it out again, and its exit code still
//! says when a grant needs a new consent (3).

mod common;

use common::agent::{client_hello, connect, read_frame, write_frame};
use common::{Sandbox, sample_integration, sample_profile, sample_tokens, text};
use jira_auth::domain::{Mode, Principal, Timestamp};
use jira_auth::service::status::StatusReport;
use jira_auth::store::Store;
use serde_json::{Value, json};

/// A store with a profile, an admin grant and a user-authorized integration whose users
/// carry text JSON must escape; `dead_user` adds one whose grant needs a new consent.
fn seeded(dead_user: bool) -> Sandbox {
    let sandbox = Sandbox::new();
    let store = sandbox.open();
    let now = Timestamp::now();
    store.put_profile(&sample_profile("acme")).expect("profile");
    store
        .put_integration(&sample_integration("jira", Some("acme")))
        .expect("integration");
    store
        .put_token_set(&sample_tokens("jira", Principal::Admin, now))
        .expect("admin grant");
    let mut bots = sample_integration("bots", None);
    bots.mode = Mode::UserAuthorized;
    store.put_integration(&bots).expect("integration");
    for n in 0..50 {
        let mut tokens = sample_tokens("bots", Principal::User(format!("user-{n:02}")), now);
        if n % 7 == 0 {
            tokens.last_error = Some(format!("Atlassian said \"slow down\" \\ é ✓ (try {n})"));
        }
        store.put_token_set(&tokens).expect("user grant");
    }
    if dead_user {
        let mut tokens = sample_tokens("bots", Principal::User("user-dead".into()), now);
        tokens.reauthorization_required = true;
        tokens.last_error = Some("Atlassian refused its refresh token (invalid_grant)".into());
        store.put_token_set(&tokens).expect("dead grant");
    }
    sandbox
}

/// What `status --json` printed before the agent sent its text: the `status` request's
/// report, read into the report type and written pretty, asked on the agent's raw socket.
fn printed_the_old_way(sandbox: &Sandbox) -> String {
    let mut stream = connect(sandbox);
    assert_eq!(read_frame(&mut stream).expect("a frame")["frame"], "hello");
    write_frame(&mut stream, &client_hello(sandbox));
    let welcome = read_frame(&mut stream).expect("a frame");
    assert!(welcome["result"].get("Ok").is_some(), "{welcome}");
    write_frame(
        &mut stream,
        &json!({"id": 1, "request": {"kind": "status"}}),
    );
    let reply = read_frame(&mut stream).expect("a frame");
    assert_eq!(reply["id"], 1, "{reply}");
    let report: StatusReport =
        serde_json::from_value(reply["result"]["Ok"].clone()).expect("a status report");
    format!(
        "{}\n",
        serde_json::to_string_pretty(&report).expect("pretty")
    )
}

#[test]
fn status_json_prints_the_old_text_byte_for_byte_and_exits_3_for_a_dead_grant() {
    let sandbox = seeded(true);
    let out = sandbox.run(&["status", "--json"], "");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    // The agent started by the command still runs: ask it the old way, at the same second.
    let old = printed_the_old_way(&sandbox);
    assert_eq!(printed, old, "status --json changed its text");
    let json: Value = serde_json::from_str(&printed).expect("JSON");
    assert_eq!(json["integrations"][0]["name"], "bots");
    assert_eq!(
        json["integrations"][0]["tokens"].as_array().map(Vec::len),
        Some(51)
    );
    assert!(
        printed.contains(r#"Atlassian said \"slow down\" \\ é ✓"#),
        "{printed}"
    );
    // The human form keeps its words and its exit code.
    let out = sandbox.run(&["status"], "");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("user:user-dead: needs_reauthorization"));
    sandbox.stop_agent();
}

#[test]
fn status_json_of_a_healthy_store_exits_0_with_the_same_text() {
    let sandbox = seeded(false);
    let out = sandbox.run(&["status", "--json"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), printed_the_old_way(&sandbox));
    // A store that does not exist still prints the empty report, compact, as before.
    let empty = Sandbox::new();
    let out = empty.run(&["status", "--json"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "{\"integrations\":[],\"profiles\":[]}\n");
    sandbox.stop_agent();
}

/// The agent keeps the text between reads: a write through the agent, and the clock running
/// past a token's next state change, each show at the next read.
#[test]
fn the_kept_text_follows_writes_and_the_clock() {
    let sandbox = Sandbox::new();
    let store = sandbox.open();
    let now = Timestamp::now();
    store.put_profile(&sample_profile("acme")).expect("profile");
    store
        .put_integration(&sample_integration("jira", Some("acme")))
        .expect("integration");
    // Valid for a second or two more, then inside the last five minutes: expiring.
    let mut tokens = sample_tokens("jira", Principal::Admin, now);
    tokens.access_expires_at = now.plus_secs(jira_auth::domain::EXPIRING_WITHIN_SECS + 2);
    store.put_token_set(&tokens).expect("grant");
    drop(store);
    let state = |sandbox: &Sandbox| -> (Value, Value) {
        let out = sandbox.run(&["status", "--json"], "");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        (
            json["integrations"][0]["tokens"][0]["state"].clone(),
            json["profiles"].clone(),
        )
    };
    let (first, profiles) = state(&sandbox);
    assert_eq!(first, "valid");
    assert_eq!(profiles.as_array().map(Vec::len), Some(1));
    assert_eq!(state(&sandbox).0, "valid", "read again, from what was kept");

    let out = sandbox.run(
        &[
            "profile",
            "add",
            "--name",
            "second",
            "--client-id",
            "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56",
            "--scopes",
            "read:jira-work offline_access",
            "--client-secret-stdin",
        ],
        "ATOAabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-abcdefgh",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (_, profiles) = state(&sandbox);
    assert_eq!(
        profiles.as_array().map(Vec::len),
        Some(2),
        "the profile added through the agent shows: {profiles}"
    );

    // The event here is the clock itself: wait for the token's expiring instant to pass.
    let expiring = tokens
        .access_expires_at
        .plus_secs(-jira_auth::domain::EXPIRING_WITHIN_SECS);
    while Timestamp::now() < expiring {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        state(&sandbox).0,
        "expiring",
        "the clock moved the state on"
    );
    sandbox.stop_agent();
}
