//! The real console in a pseudo-terminal as one client of the agent among others: what other
//! processes save appears on its screen without a key press, and a killed agent is replaced
//! while the console stays open.

mod common;

use common::agent::*;
use common::pty::PtySession;
use common::text;

fn succeeds(out: &std::process::Output, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what} failed: {}",
        text(&out.stderr)
    );
}

#[test]
fn commands_run_while_the_console_is_open_and_their_changes_appear_on_it_unasked() {
    let sandbox = common::agent::existing_store();
    let mut console = PtySession::spawn(&[], &sandbox.pty_env(), 120, 40);
    console.wait_for("Welcome to jira-auth");

    succeeds(&add_profile(&sandbox, "livecheck"), "profile add");
    console.wait_for("livecheck");
    succeeds(
        &sandbox.run(
            &[
                "setup",
                "--mode",
                "user-authorized",
                "--profile",
                "livecheck",
            ],
            "",
        ),
        "setup",
    );
    console.wait_for("Custom (livecheck)");
    let status = status_json(&sandbox);
    assert_eq!(profile_names(&status), ["livecheck"]);
    assert_eq!(
        status["integrations"][0]["profile"], "livecheck",
        "{status}"
    );

    console.send("q");
    assert_eq!(console.wait_exit(), 0);
}

#[test]
fn the_console_outlives_a_killed_agent_says_so_and_reconnects_to_a_new_one() {
    let sandbox = common::agent::existing_store();
    let mut console = PtySession::spawn(&[], &sandbox.pty_env(), 120, 40);
    console.wait_for("Welcome to jira-auth");
    let old = agent_pid(&sandbox);

    kill9(old);
    wait_until("the killed agent is dead", || !alive(old));
    // The loss is said on the status line (blank until now, so it is drawn in one piece),
    // then replaced by the reconnection, maybe before a screen poll sees it: look for it in
    // everything the console drew.
    console.wait_for_raw("the agent stopped");
    console.wait_for("Connected to the agent again");
    let new = agent_pid(&sandbox);
    assert_ne!(new, old, "a new agent serves the store");

    succeeds(&add_profile(&sandbox, "afterkill"), "profile add");
    console.wait_for("afterkill");

    console.send("q");
    assert_eq!(console.wait_exit(), 0);
}
