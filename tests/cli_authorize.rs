//! `jira-auth authorize` end to end: the real binary, a real store, the fake Atlassian over
//! loopback, for all four paths, both ways back in, and every error class.

mod common;
mod support;

use std::process::Command;

use common::{Interactive, all_bytes_under, browser_get, contains, free_port, run_with, text};
use jira_auth::domain::Principal;
use jira_auth::store::Store;
use support::fake_atlassian::*;
use support::world::{SCOPES, World};

/// What only these tests do with the shared world.
impl World {
    /// The system app file for the fake's app, and an integration through it.
    fn system(&self, mode: &str) -> std::path::PathBuf {
        let file = self.sandbox.root.path().join("system-app.toml");
        std::fs::write(
            &file,
            format!(
                "name = \"Fake system app\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\ncallback_url = \"{}\"\nscopes = [\"read:jira-work\", \"offline_access\"]\nauthorization_url = \"{}/authorize\"\ntoken_url = \"{}/oauth/token\"\n",
                self.callback,
                self.fake.auth_url(),
                self.fake.auth_url()
            ),
        )
        .unwrap();
        let mut command = self.command();
        command.env("JIRA_AUTH_SYSTEM_APP", &file);
        let out = run_with(command, &["setup", "--mode", mode, "--system"], "");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        file
    }

    /// Runs authorize with `args`, consents in the fake browser, pastes the redirect.
    fn authorize_by_paste(&self, command: Command, args: &[&str]) -> (i32, String, String) {
        let mut run = Interactive::spawn(command, args);
        let url = run.url();
        let redirect = self.fake.consent(&url);
        run.send_line(&redirect);
        run.finish()
    }
}

fn no_secret_on_disk(world: &World) {
    for (path, bytes) in all_bytes_under(&world.sandbox.data_dir()) {
        for needle in ["access-", "refresh-", CLIENT_SECRET] {
            assert!(
                !contains(&bytes, needle),
                "{} holds {needle:?} in clear",
                path.display()
            );
        }
    }
}

#[test]
fn pre_authorized_custom_by_paste() {
    let world = World::new();
    world.custom("pre-authorized");
    let (code, stdout, stderr) =
        world.authorize_by_paste(world.command(), &["authorize", "--paste"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.is_empty(),
        "authorize prints nothing on stdout: {stdout}"
    );
    assert!(
        stderr.contains("Authorized as Ada Admin on acme"),
        "{stderr}"
    );
    let url_line = stderr.lines().find(|l| l.starts_with("http")).unwrap();
    assert!(url_line.contains("audience=api.atlassian.com") && url_line.contains("prompt=consent"));
    assert!(!url_line.contains(' '), "the URL is alone on its line");

    let store = world.sandbox.open();
    let tokens = store
        .token_set("jira", &Principal::Admin)
        .unwrap()
        .expect("stored");
    assert!(tokens.refresh_token.is_some());
    assert_eq!(
        tokens.site.as_ref().unwrap().url,
        "https://acme.atlassian.net"
    );
    assert!(
        store.integration("jira").unwrap().unwrap().enabled,
        "authorizing enables it"
    );
    assert!(
        store
            .events(10)
            .unwrap()
            .iter()
            .any(|e| e.outcome.contains("Ada Admin"))
    );
    drop(store);
    no_secret_on_disk(&world);

    let status = world.run(&["status", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(json["integrations"][0]["tokens"][0]["state"], "valid");
    assert!(!text(&status.stdout).contains("access-"));
}

#[test]
fn pre_authorized_system_by_listener() {
    let world = World::with_callback(&format!("http://127.0.0.1:{}/callback", free_port()));
    let file = world.system("pre-authorized");
    let mut command = world.command();
    command.env("JIRA_AUTH_SYSTEM_APP", &file);
    let run = Interactive::spawn(command, &["authorize", "--listen"]);
    let url = run.url();
    run.wait_line("Waiting for the browser");
    // The browser follows the redirect to the loopback listener.
    let redirect = world.fake.consent(&url);
    let answer = browser_get(&redirect);
    assert!(
        answer.contains("200") && answer.contains("close this tab"),
        "{answer}"
    );
    let (code, _, stderr) = run.finish();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        world
            .sandbox
            .open()
            .token_set("jira", &Principal::Admin)
            .unwrap()
            .is_some()
    );
}

#[test]
fn user_authorized_custom_for_a_named_user_with_both_ways_live() {
    let world = World::new();
    world.custom("user-authorized");
    let out = world.run(&["authorize", "--paste"]);
    assert_eq!(out.status.code(), Some(2), "user-authorized needs --user");
    assert!(text(&out.stderr).contains("--user"));
    // Neither flag: the listener is live and the paste wins.
    let (code, _, stderr) = world.authorize_by_paste(
        world.command(),
        &["authorize", "--user", "alice@example.com"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("Waiting for the browser"),
        "both ways were live: {stderr}"
    );
    let store = world.sandbox.open();
    assert!(
        store
            .token_set("jira", &Principal::User("alice@example.com".into()))
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .token_set("jira", &Principal::Admin)
            .unwrap()
            .is_none()
    );
}

#[test]
fn user_authorized_system() {
    let world = World::new();
    let file = world.system("user-authorized");
    let mut command = world.command();
    command.env("JIRA_AUTH_SYSTEM_APP", &file);
    let (code, _, stderr) =
        world.authorize_by_paste(command, &["authorize", "--user", "bob", "--paste"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        world
            .sandbox
            .open()
            .token_set("jira", &Principal::User("bob".into()))
            .unwrap()
            .is_some()
    );
}

#[test]
fn a_wrong_client_secret_names_step_v_and_exits_2() {
    let world = World::new();
    world.profile("ATOA-not-the-right-secret", SCOPES);
    world.setup("jira", "pre-authorized");
    let (code, _, stderr) = world.authorize_by_paste(world.command(), &["authorize", "--paste"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("client secret is wrong") && stderr.contains("step v"),
        "{stderr}"
    );
    assert!(
        world
            .sandbox
            .open()
            .token_set("jira", &Principal::Admin)
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_stale_or_forged_redirect_is_refused() {
    let world = World::new();
    world.custom("pre-authorized");
    let mut run = Interactive::spawn(world.command(), &["authorize", "--paste"]);
    let _ = run.url();
    run.send_line(&format!(
        "{}?code=code-1&state=someone-elses",
        world.callback
    ));
    let (code, _, stderr) = run.finish();
    assert_eq!(code, 2);
    assert!(stderr.contains("another authorization attempt"), "{stderr}");
    assert_eq!(
        world.fake.count(Endpoint::Token),
        0,
        "nothing was exchanged"
    );
}

#[test]
fn a_declined_consent_exits_3() {
    let world = World::new();
    world.custom("pre-authorized");
    world.fake.set_decline(true);
    let (code, _, stderr) = world.authorize_by_paste(world.command(), &["authorize", "--paste"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("declined"), "{stderr}");
}

#[test]
fn a_used_code_or_wrong_callback_names_step_vi() {
    let world = World::new();
    world.custom("pre-authorized");
    let (code, _, _) = world.authorize_by_paste(world.command(), &["authorize", "--paste"]);
    assert_eq!(code, 0);
    // Replaying a used code: the state is fresh but the code is spent.
    let mut run = Interactive::spawn(world.command(), &["authorize", "--paste"]);
    let url = run.url();
    let state = url::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    run.send_line(&format!("{}?code=code-1&state={state}", world.callback));
    let (code, _, stderr) = run.finish();
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("step vi"), "{stderr}");
}

#[test]
fn no_refresh_token_for_pre_authorized_names_step_ix() {
    let world = World::new();
    world.custom("pre-authorized");
    world.fake.set_grant_offline(false);
    let (code, _, stderr) = world.authorize_by_paste(world.command(), &["authorize", "--paste"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("offline_access") && stderr.contains("step ix"),
        "{stderr}"
    );
    assert!(
        world
            .sandbox
            .open()
            .token_set("jira", &Principal::Admin)
            .unwrap()
            .is_none()
    );
}

#[test]
fn server_trouble_is_temporary_and_loses_nothing() {
    let world = World::new();
    world.custom("pre-authorized");
    world.fake.fail_next(Endpoint::Token, Fault::ServerError, 1);
    let (code, _, stderr) = world.authorize_by_paste(world.command(), &["authorize", "--paste"]);
    assert_eq!(code, 4, "{stderr}");
    assert!(
        stderr.contains("HTTP 500") && stderr.contains("temporary"),
        "{stderr}"
    );
    world.fake.fail_next(Endpoint::Token, Fault::Garbage, 1);
    let (code, _, stderr) = world.authorize_by_paste(world.command(), &["authorize", "--paste"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("HTTP 200") && stderr.contains("this is not json"),
        "{stderr}"
    );
    let (code, _, stderr) = world.authorize_by_paste(world.command(), &["authorize", "--paste"]);
    assert_eq!(code, 0, "after the faults a clean run works: {stderr}");
}

#[test]
fn ansi_from_the_server_never_reaches_the_terminal() {
    let world = World::new();
    world.custom("pre-authorized");
    world
        .fake
        .fail_next(Endpoint::Token, Fault::EvilDescription, 1);
    let (code, stdout, stderr) =
        world.authorize_by_paste(world.command(), &["authorize", "--paste"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("EVIL"), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\u{7}') && !stdout.contains('\u{1b}'),
        "{stderr:?}"
    );
}

#[test]
fn several_sites_need_site_off_a_terminal() {
    let world = World::new();
    world.custom("pre-authorized");
    world.fake.set_sites(vec![
        FakeSite::jira("id-1", "acme"),
        FakeSite::jira("id-2", "beta"),
    ]);
    let (code, _, stderr) = world.authorize_by_paste(world.command(), &["authorize", "--paste"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("https://acme.atlassian.net")
            && stderr.contains("https://beta.atlassian.net"),
        "{stderr}"
    );
    assert!(stderr.contains("--site"), "{stderr}");
    let (code, _, stderr) = world.authorize_by_paste(
        world.command(),
        &["authorize", "--paste", "--site", "beta.atlassian.net"],
    );
    assert_eq!(code, 0, "{stderr}");
    let tokens = world
        .sandbox
        .open()
        .token_set("jira", &Principal::Admin)
        .unwrap()
        .unwrap();
    assert_eq!(tokens.site.unwrap().id, "id-2");
}

#[test]
fn no_site_is_explained() {
    let world = World::new();
    world.custom("pre-authorized");
    world.fake.set_sites(vec![]);
    let (code, _, stderr) = world.authorize_by_paste(world.command(), &["authorize", "--paste"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("reaches no Jira site"), "{stderr}");
}

#[test]
fn listen_needs_a_loopback_callback_and_unknown_integrations_are_refused() {
    let world = World::with_callback("https://jira-auth.acme.example/callback");
    world.custom("pre-authorized");
    let out = world.run(&["authorize", "--listen"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--paste"),
        "{}",
        text(&out.stderr)
    );
    let out = world.run(&["authorize", "--integration", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no integration named \"nope\""));
    let out = world.run(&["authorize", "--paste", "--listen"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "the two ways are exclusive flags"
    );
}
