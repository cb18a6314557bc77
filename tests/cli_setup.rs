//! `profile add` with every validation rule, and `setup` on every path, through the real
//! binary: exit codes, the sentences on stderr, and what reached the store.

mod common;

use common::*;
use jira_auth::domain::{AppRef, Mode, Principal, Timestamp};
use jira_auth::store::Store;

const ID: &str = "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56";
const SECRET76: &str =
    "ATOAabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-abcdefgh";
const GENERATED: &str = "https://auth.atlassian.com/authorize?audience=api.atlassian.com&client_id=Zz12Cd34Ef56Gh78Ij90Kl12Mn34Op56&scope=read%3Ajira-work%20manage%3Ajira-project%20offline_access&redirect_uri=http%3A%2F%2Flocalhost%3A8717%2Fcallback&state=${YOUR_USER_BOUND_VALUE}&response_type=code&prompt=consent";

fn add(sandbox: &Sandbox, name: &str, extra: &[&str], secret: &str) -> std::process::Output {
    let mut args = vec!["profile", "add", "--name", name, "--client-secret-stdin"];
    if !extra
        .iter()
        .any(|a| *a == "--client-id" || *a == "--from-url")
    {
        args.extend(["--client-id", ID]);
    }
    if !extra.iter().any(|a| *a == "--scopes" || *a == "--from-url") {
        args.extend(["--scopes", "read:jira-work offline_access"]);
    }
    args.extend(extra);
    sandbox.run(&args, secret)
}

fn refused(out: &std::process::Output, fragment: &str) {
    assert_eq!(out.status.code(), Some(2), "stderr: {}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(fragment),
        "expected {fragment:?} in:\n{stderr}"
    );
}

#[test]
fn a_good_profile_is_saved_with_defaults() {
    let sandbox = Sandbox::new();
    let out = add(&sandbox, "acme", &[], SECRET76);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("http://localhost:8717/callback"));
    let profile = sandbox.open().profile("acme").unwrap().unwrap();
    assert_eq!(profile.client_secret.expose(), SECRET76);
    assert_eq!(
        profile.authorization_url,
        "https://auth.atlassian.com/authorize?audience=api.atlassian.com"
    );
    assert_eq!(profile.token_url, "https://auth.atlassian.com/oauth/token");
    assert_eq!(profile.refresh_url, profile.token_url);
    assert_eq!(profile.scopes, ["read:jira-work", "offline_access"]);
}

#[test]
fn urls_must_be_atlassians_over_https() {
    let sandbox = Sandbox::new();
    let cases = [
        ("--auth-url", "http://auth.atlassian.com/authorize", "https"),
        (
            "--auth-url",
            "https://auth.atlassian.com.evil.example/authorize",
            "auth.atlassian.com.evil.example",
        ),
        (
            "--auth-url",
            "https://atlassian.com@evil.example/authorize",
            "evil.example",
        ),
        (
            "--auth-url",
            "https://xn--uth-atlassian-xyz.com/authorize",
            "Authorization URL",
        ),
        (
            "--auth-url",
            "https://203.0.113.5/authorize",
            "Authorization URL",
        ),
        (
            "--auth-url",
            "https://auth.atlassian.com:8443/authorize",
            "port",
        ),
        (
            "--auth-url",
            "https://auth.atlassian.com/oauth/authorize",
            "/authorize",
        ),
        (
            "--token-url",
            "https://auth.atlassian.com/token",
            "/oauth/token",
        ),
        (
            "--refresh-url",
            "https://evil.example/oauth/token",
            "Refresh",
        ),
        (
            "--callback-url",
            "http://example.com/callback",
            "Callback URL",
        ),
    ];
    for (flag, url, fragment) in cases {
        let out = add(&sandbox, "acme", &[flag, url], SECRET76);
        refused(&out, fragment);
    }
    assert!(
        sandbox.open().profiles().unwrap().is_empty(),
        "nothing refused was saved"
    );
}

#[test]
fn pasted_noise_is_cleaned_and_audience_added() {
    let sandbox = Sandbox::new();
    let out = add(
        &sandbox,
        "acme",
        &["--auth-url", "  \"https://auth.atlassian.com/authorize\"\n"],
        SECRET76,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("notice"),
        "the added audience is noticed: {}",
        text(&out.stderr)
    );
    let profile = sandbox.open().profile("acme").unwrap().unwrap();
    assert_eq!(
        profile.authorization_url,
        "https://auth.atlassian.com/authorize?audience=api.atlassian.com"
    );
}

#[test]
fn input_over_4_kib_is_refused() {
    let sandbox = Sandbox::new();
    let huge = format!(
        "https://auth.atlassian.com/authorize?x={}",
        "a".repeat(5000)
    );
    refused(
        &add(&sandbox, "acme", &["--auth-url", &huge], SECRET76),
        "4 KiB",
    );
}

#[test]
fn credential_shapes_warn_but_do_not_refuse() {
    let sandbox = Sandbox::new();
    let out = add(
        &sandbox,
        "odd",
        &["--client-id", "short-id"],
        "not-the-usual-shape",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("warning: Client ID"), "{stderr}");
    assert!(stderr.contains("warning: Client secret"), "{stderr}");
    refused(
        &add(&sandbox, "spaced", &["--client-id", "Ab12 Cd34"], SECRET76),
        "Client ID",
    );
    refused(&add(&sandbox, "nosecret", &[], "\n"), "Client secret");
}

#[test]
fn scopes_accept_every_separator_fold_duplicates_and_check_names() {
    let sandbox = Sandbox::new();
    let out = add(
        &sandbox,
        "acme",
        &[
            "--scopes",
            "read:jira-work,write:jira-work%20offline_access+read:me\nread:jira-work",
        ],
        SECRET76,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let profile = sandbox.open().profile("acme").unwrap().unwrap();
    assert_eq!(
        profile.scopes,
        [
            "read:jira-work",
            "write:jira-work",
            "offline_access",
            "read:me"
        ]
    );
    let out = add(&sandbox, "typo", &["--scopes", "read:jira-wrk"], SECRET76);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("not a known Jira scope"),
        "{}",
        text(&out.stderr)
    );
    refused(
        &add(&sandbox, "bad", &["--scopes", "READ!!"], SECRET76),
        "not a scope name",
    );
}

#[test]
fn a_generated_url_fills_the_profile_at_once() {
    let sandbox = Sandbox::new();
    let out = add(&sandbox, "gen", &["--from-url", GENERATED], SECRET76);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let profile = sandbox.open().profile("gen").unwrap().unwrap();
    assert_eq!(profile.client_id, "Zz12Cd34Ef56Gh78Ij90Kl12Mn34Op56");
    assert_eq!(
        profile.scopes,
        ["read:jira-work", "manage:jira-project", "offline_access"]
    );
    assert_eq!(profile.callback_url, "http://localhost:8717/callback");
    assert!(!profile.authorization_url.contains("YOUR_USER_BOUND_VALUE"));
    refused(
        &add(
            &sandbox,
            "x",
            &["--from-url", "https://example.com/"],
            SECRET76,
        ),
        "--from-url",
    );
}

#[test]
fn names_are_unique_and_plain() {
    let sandbox = Sandbox::new();
    assert_eq!(add(&sandbox, "acme", &[], SECRET76).status.code(), Some(0));
    refused(&add(&sandbox, "acme", &[], SECRET76), "exists already");
    refused(
        &add(&sandbox, "has space", &[], SECRET76),
        "The profile name \"has space\" contains a space",
    );
}

#[test]
fn setup_every_path_and_its_refusals() {
    let sandbox = Sandbox::new();
    assert_eq!(add(&sandbox, "acme", &[], SECRET76).status.code(), Some(0));
    assert_eq!(
        add(
            &sandbox,
            "online",
            &["--scopes", "read:jira-work"],
            SECRET76
        )
        .status
        .code(),
        Some(0)
    );

    let out = sandbox.run(
        &["setup", "--mode", "pre-authorized", "--profile", "online"],
        "",
    );
    refused(&out, "offline_access");
    let out = sandbox.run(
        &["setup", "--mode", "pre-authorized", "--profile", "nope"],
        "",
    );
    refused(&out, "no authorization profile named \"nope\"");
    let out = sandbox.run(&["setup", "--mode", "pre-authorized", "--system"], "");
    refused(&out, "system app");
    let out = sandbox.run(&["setup", "--mode", "pre-authorized"], "");
    assert_eq!(
        out.status.code(),
        Some(2),
        "one of --system or --profile is required"
    );
    let out = sandbox.run(&["setup", "--mode", "sideways", "--system"], "");
    assert_eq!(out.status.code(), Some(2));

    let out = sandbox.run(
        &["setup", "--mode", "user-authorized", "--profile", "online"],
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let integration = sandbox.open().integration("jira").unwrap().unwrap();
    assert_eq!(integration.mode, Mode::UserAuthorized);
    assert!(integration.enabled, "user-authorized is enabled at set-up");

    let out = sandbox.run(
        &[
            "setup",
            "--integration",
            "ops",
            "--mode",
            "pre-authorized",
            "--profile",
            "acme",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let ops = sandbox.open().integration("ops").unwrap().unwrap();
    assert_eq!(ops.app, AppRef::Custom("acme".into()));
    assert!(!ops.enabled, "pre-authorized waits for its token");
}

#[test]
fn setup_with_the_system_app_file() {
    let sandbox = Sandbox::new();
    let file = sandbox.root.path().join("system-app.toml");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/assets/system-app.example.toml"
        ),
        &file,
    )
    .unwrap();
    let mut command = sandbox.command();
    command.env("JIRA_AUTH_SYSTEM_APP", &file);
    let out = run_with(
        command,
        &["setup", "--mode", "pre-authorized", "--system"],
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        sandbox.open().integration("jira").unwrap().unwrap().app,
        AppRef::System
    );
}

#[test]
fn changing_the_app_drops_the_old_tokens() {
    let sandbox = Sandbox::new();
    assert_eq!(add(&sandbox, "acme", &[], SECRET76).status.code(), Some(0));
    assert_eq!(add(&sandbox, "other", &[], SECRET76).status.code(), Some(0));
    assert_eq!(
        sandbox
            .run(
                &["setup", "--mode", "pre-authorized", "--profile", "acme"],
                ""
            )
            .status
            .code(),
        Some(0)
    );
    sandbox
        .open()
        .put_token_set(&sample_tokens("jira", Principal::Admin, Timestamp::now()))
        .unwrap();
    let out = sandbox.run(
        &["setup", "--mode", "pre-authorized", "--profile", "acme"],
        "",
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(
        sandbox
            .open()
            .token_set("jira", &Principal::Admin)
            .unwrap()
            .is_some(),
        "same app keeps tokens"
    );
    let out = sandbox.run(
        &["setup", "--mode", "pre-authorized", "--profile", "other"],
        "",
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("Removed 1 token set"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        sandbox
            .open()
            .token_set("jira", &Principal::Admin)
            .unwrap()
            .is_none()
    );
    let out = sandbox.run(&["profile", "rm", "other"], "");
    refused(&out, "used by the integration");
}
