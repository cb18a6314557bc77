//! `jira-auth token`, `refresh` and `status` end to end, and the agent keeping grants alive:
//! the real binary, a real store, the fake Atlassian over loopback (rotating refresh tokens,
//! a reuse leeway that kills the family after it, faults on demand). What scripts rely on:
//! stdout is the token alone, exit codes mean something, one refresh per grant however many
//! ask at once, no refresh token lost to a 5xx, a 429 or a killed agent, and the keep-alive
//! refreshing ahead of expiry and rotating idle grants at a pace.

mod common;
mod support;

use std::process::Child;
use std::time::{Duration, Instant};

use common::text;
use jira_auth::domain::{Principal, Secret, Timestamp, TokenSet};
use jira_auth::store::Store;
use serde_json::Value;
use support::fake_atlassian::*;
use support::world::*;

// ---------------------------------------------------------------------------------------
// 1. What `token` prints, and the sentences for what does not exist.

#[test]
fn token_prints_a_live_token_alone_and_json_for_the_api() {
    let world = World::new();
    world.custom("pre-authorized");
    world.authorize(&[]);

    let token = one_token(&world.run(&["token"]));
    assert!(
        world.accepts(&token),
        "the fake API refuses the printed token"
    );

    let out = world.run(&["token", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("token --json is not JSON ({e}): {}", text(&out.stdout)));
    let mut keys: Vec<&str> = json
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "access_token",
            "api_base",
            "cloud_id",
            "expires_at",
            "site_url"
        ]
    );
    assert_eq!(
        json["access_token"],
        token.as_str(),
        "no refresh in between"
    );
    assert_eq!(json["cloud_id"], CLOUD_ID);
    assert_eq!(json["site_url"], "https://acme.atlassian.net");
    assert_eq!(
        json["api_base"],
        format!("{}/ex/jira/{CLOUD_ID}", world.fake.api_url())
    );
    assert!(time_of(&json["expires_at"]) > Timestamp::now());

    let out = world.run(&["token", "--integration", "nope"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no integration named \"nope\"; the integrations are: jira"),
        "names the integration that exists: {stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing on stdout on failure");
    let out = world.run(&["token", "--user", "alice"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("pre-authorized"),
        "--user does not apply: {}",
        text(&out.stderr)
    );

    // `refresh` forces one, and the old token gives way to a new one the API takes.
    assert_eq!(world.fake.refresh_requests(), 0);
    let out = world.run(&["refresh"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("jira admin: refreshed"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(world.fake.refresh_requests(), 1);
    let fresh = one_token(&world.run(&["token"]));
    assert_ne!(fresh, token);
    assert!(world.accepts(&fresh));
    let out = world.run(&["refresh", "--integration", "nope"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    // The refresh path once said "none is set up yet" here, with one set up.
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no integration named \"nope\"; the integrations are: jira"),
        "{stderr}"
    );
}

#[test]
fn token_for_a_user_authorized_integration_names_who_has_one() {
    let world = World::new();
    world.custom("pre-authorized");
    world.setup("support", "user-authorized");
    world.authorize(&["--integration", "support", "--user", "alice"]);
    world.authorize(&["--integration", "support", "--user", "bob"]);

    let out = world.run(&["token", "--integration", "support", "--user", "nobody"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("nobody") && stderr.contains("alice") && stderr.contains("bob"),
        "names who has a token: {stderr}"
    );
    assert!(out.stdout.is_empty());

    let out = world.run(&["token", "--integration", "support"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("--user") && stderr.contains("alice") && stderr.contains("bob"),
        "asks for --user and names the users: {stderr}"
    );

    let alice = one_token(&world.run(&["token", "--integration", "support", "--user", "alice"]));
    let bob = one_token(&world.run(&["token", "--integration", "support", "--user", "bob"]));
    assert_ne!(alice, bob, "one token per user");
    assert!(world.accepts(&alice) && world.accepts(&bob));
}

// ---------------------------------------------------------------------------------------
// 2. Many at once on an expired token: one refresh, one token.

#[test]
fn sixteen_concurrent_tokens_on_an_expired_grant_make_one_refresh() {
    let world = World::new();
    world.custom("pre-authorized");
    world.fake.set_access_ttl(2);
    world.authorize(&[]);
    // No agent (so no keep-alive) while the access token runs out.
    let before = world.stored("jira", &Principal::Admin);
    wait_for("the 2-second access token has expired", SHORT, || {
        Timestamp::now() > before.access_expires_at.plus_secs(1)
    });
    assert!(!world.accepts(before.access_token.expose()));
    world.fake.set_access_ttl(3600);
    // The refresh takes a while, so every caller arrives while it is in flight.
    world
        .fake
        .fail_next(Endpoint::Token, Fault::Slow(Duration::from_secs(2)), 1);
    assert_eq!(world.fake.refresh_requests(), 0);

    let children: Vec<Child> = (0..16)
        .map(|_| spawn_piped(world.command(), &["token"]))
        .collect();
    let tokens: Vec<String> = children
        .into_iter()
        .enumerate()
        .map(|(n, child)| {
            one_token(&finish_within(
                child,
                Duration::from_secs(30),
                &format!("token #{n}"),
            ))
        })
        .collect();

    assert!(
        tokens.iter().all(|t| t == &tokens[0]),
        "every caller got the same token: {tokens:?}"
    );
    assert_ne!(tokens[0], before.access_token.expose(), "a new token");
    assert!(
        world.accepts(&tokens[0]),
        "the fake API accepts the new token"
    );
    assert_eq!(
        world.fake.refresh_requests(),
        1,
        "exactly one refresh for 16 callers; token requests: {:?}",
        world.fake.token_requests()
    );
    assert_eq!(
        world.fake.live_refresh_tokens(),
        1,
        "no refresh token reused"
    );
    assert_eq!(world.fake.dead_families(), 0, "the family is alive");
    let after = world.stored("jira", &Principal::Admin);
    assert_eq!(after.access_token.expose(), tokens[0]);
    assert_ne!(refresh_token_of(&after), refresh_token_of(&before));
}

// ---------------------------------------------------------------------------------------
// 3. Temporary trouble keeps the refresh token.

fn temporary_failure_keeps_the_grant(fault: Fault, status: &str) {
    let world = World::new();
    world.custom("pre-authorized");
    world.authorize(&[]);
    let before = world.stored("jira", &Principal::Admin);

    world.fake.fail_next(Endpoint::Token, fault, 1);
    let out = world.run(&["token", "--min-valid", "100000"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(out.stdout.is_empty(), "no token on stdout on failure");
    assert!(
        stderr.contains(&format!("HTTP {status}")) && stderr.contains("temporary"),
        "a sentence saying what happened and that it is temporary: {stderr}"
    );
    assert_eq!(world.fake.refresh_requests(), 1);

    let (code, json) = world.status_json();
    assert_eq!(code, Some(0), "status is not failing: {json}");
    let token = status_token(&json, "jira", "admin");
    assert!(
        token["last_error"]
            .as_str()
            .is_some_and(|e| e.contains(&format!("HTTP {status}"))),
        "last_error is set: {token}"
    );
    assert_ne!(token["state"], "needs_reauthorization", "{token}");

    let kept = world.stored("jira", &Principal::Admin);
    assert_eq!(
        refresh_token_of(&kept),
        refresh_token_of(&before),
        "the refresh token is unchanged"
    );
    assert!(!kept.reauthorization_required);

    // The fake recovers: the stored token is handed out, and a forced refresh works.
    let token = one_token(&world.run(&["token"]));
    assert_eq!(token, before.access_token.expose());
    let token = one_token(&world.run(&["token", "--min-valid", "100000"]));
    assert_ne!(token, before.access_token.expose());
    assert!(world.accepts(&token));
    assert_eq!(world.fake.dead_families(), 0);
    let (code, json) = world.status_json();
    assert_eq!(code, Some(0));
    let token = status_token(&json, "jira", "admin");
    assert!(token["last_error"].is_null(), "cleared: {token}");
    assert_eq!(token["state"], "valid");
}

#[test]
fn a_500_during_refresh_exits_4_and_keeps_the_refresh_token() {
    temporary_failure_keeps_the_grant(Fault::ServerError, "500");
}

#[test]
fn a_429_during_refresh_exits_4_and_keeps_the_refresh_token() {
    temporary_failure_keeps_the_grant(Fault::TooManyRequests, "429");
}

// ---------------------------------------------------------------------------------------
// 4. A revoked grant needs a new consent, and every command says so with exit 3.

#[test]
fn a_revoked_grant_exits_3_everywhere() {
    let world = World::new();
    world.custom("pre-authorized");
    world.authorize(&[]);
    world.fake.revoke_all();

    let out = world.run(&["token", "--min-valid", "100000"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.contains("invalid_grant")
            && stderr.contains("must be authorized again")
            && stderr.contains("jira-auth authorize"),
        "the reason and the fix: {stderr}"
    );

    // Known dead now: no further call to Atlassian is needed to say so.
    let out = world.run(&["token"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("invalid_grant"));
    assert_eq!(world.fake.refresh_requests(), 1);

    let (code, json) = world.status_json();
    assert_eq!(code, Some(3), "status --json exits 3: {json}");
    let token = status_token(&json, "jira", "admin");
    assert_eq!(token["state"], "needs_reauthorization", "{token}");
    assert!(token["last_error"].as_str().is_some(), "{token}");
    let out = world.run(&["status"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("needs_reauthorization"),
        "{}",
        text(&out.stdout)
    );

    let out = world.run(&["refresh"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("authorized again"),
        "{}",
        text(&out.stderr)
    );
    let out = world.run(&["refresh", "--all"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        world
            .stored("jira", &Principal::Admin)
            .reauthorization_required
    );
}

// ---------------------------------------------------------------------------------------
// 5. An agent killed in the middle of a refresh loses nothing.

#[test]
fn an_agent_killed_mid_refresh_is_replaced_and_the_grant_survives() {
    let world = World::new();
    world.fake.set_leeway(Duration::from_secs(60));
    world.custom("pre-authorized");
    world.authorize(&[]);
    let before = world.stored("jira", &Principal::Admin);

    world
        .fake
        .fail_next(Endpoint::Token, Fault::Slow(Duration::from_secs(3)), 1);
    let client = spawn_piped(world.command(), &["token", "--min-valid", "100000"]);
    wait_for("the refresh reached the fake", SHORT, || {
        world.fake.refresh_requests() == 1
    });
    let pid = world.agent_pid();
    common::agent::kill9(pid);
    let out = finish_within(client, Duration::from_secs(30), "token during the kill");
    assert_eq!(
        out.status.code(),
        Some(4),
        "the agent died under it: temporary; {}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    // Atlassian finished the rotation nobody heard of: the stored refresh token is now old.
    wait_for("the fake rotated the refresh token", SHORT, || {
        world.fake.retired_refresh_tokens() == 1
    });
    wait_for("the killed agent is gone", SHORT, || {
        !common::agent::alive(pid)
    });

    // The next agent claims the refresh its predecessor began, by itself and at once,
    // with the old refresh token: inside the reuse leeway that still works.
    let (code, _) = world.status_json();
    assert_eq!(code, Some(0));
    assert_ne!(world.agent_pid(), pid, "a new agent serves the store");
    wait_for("the new agent claims the unfinished refresh", SHORT, || {
        world.fake.refresh_requests() == 2
    });
    let token = one_token(&world.run(&["token"]));
    assert!(
        world.accepts(&token),
        "the token from the old refresh token works"
    );
    assert_eq!(world.fake.dead_families(), 0, "the family is not killed");
    assert_eq!(world.fake.refresh_requests(), 2);
    let after = world.stored("jira", &Principal::Admin);
    assert_ne!(refresh_token_of(&after), refresh_token_of(&before));
    assert!(!after.reauthorization_required && after.last_error.is_none());
    // And the grant goes on: the refresh token stored after the leeway reuse is live.
    let token = one_token(&world.run(&["token", "--min-valid", "100000"]));
    assert!(world.accepts(&token));
    assert_eq!(world.fake.dead_families(), 0);
}

#[test]
fn stopping_the_agent_mid_refresh_waits_for_the_rotated_token() {
    let world = World::new();
    world.custom("pre-authorized");
    world.authorize(&[]);
    world
        .fake
        .fail_next(Endpoint::Token, Fault::Slow(Duration::from_secs(3)), 1);
    let client = spawn_piped(world.command(), &["token", "--min-valid", "100000"]);
    wait_for("the refresh reached the fake", SHORT, || {
        world.fake.refresh_requests() == 1
    });
    let pid = world.agent_pid();
    let out = world.run(&["agent", "stop"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Stop returns when the agent's descriptors close, a moment before /proc says so.
    wait_for("the agent is gone after stop", SHORT, || {
        !common::agent::alive(pid)
    });
    let out = finish_within(client, Duration::from_secs(30), "token during the stop");
    assert_eq!(
        out.status.code(),
        Some(0),
        "the refresh finished: {}",
        text(&out.stderr)
    );
    let stored = world.stored("jira", &Principal::Admin);
    assert!(
        world.fake.refresh_token_live(&refresh_token_of(&stored)),
        "the store holds the rotated refresh token"
    );
    // No leeway from here: had the rotation been lost, this refresh would reuse the
    // rotated-away token and kill the family.
    world.fake.set_leeway(Duration::ZERO);
    let out = world.run(&["refresh"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(world.fake.dead_families(), 0);
}

// ---------------------------------------------------------------------------------------
// 6. The keep-alive refreshes a pre-authorized token before it expires, unasked.

#[test]
fn the_keepalive_refreshes_ahead_of_expiry_with_no_client_asking() {
    let world = World::new();
    world.custom("pre-authorized");
    world.sandbox.stop_agent();
    world.fake.set_access_ttl(8);
    let agent = world.spawn_agent(&[]);
    world.authorize(&[]);
    let (_, json) = world.status_json();
    let first_expiry = time_of(&status_token(&json, "jira", "admin")["access_expires_at"]);
    assert_eq!(world.fake.refresh_requests(), 0);

    // Nothing but the fake's counter is looked at while waiting.
    wait_for(
        "the keep-alive refreshed the 8-second token",
        Duration::from_secs(20),
        || world.fake.refresh_requests() >= 1,
    );
    let (_, json) = world.status_json();
    let token = status_token(&json, "jira", "admin");
    assert!(
        time_of(&token["access_expires_at"]) > first_expiry,
        "the access expiry moved forward: {token}"
    );
    assert!(token["last_error"].is_null(), "{token}");
    world.stop(agent);
    let stored = world.stored("jira", &Principal::Admin);
    assert!(stored.access_expires_at > first_expiry);
    assert!(world.accepts(stored.access_token.expose()));
    assert_eq!(world.fake.dead_families(), 0);
}

#[test]
fn the_keepalive_keeps_refreshing_short_tokens_each_time_they_come_due() {
    let world = World::new();
    world.custom("pre-authorized");
    world.sandbox.stop_agent();
    world.fake.set_access_ttl(8);
    let agent = world.spawn_agent(&[]);
    world.authorize(&[]);
    // An 8 s token is due 2 s before expiry, again after each refresh.
    wait_for(
        "the keep-alive refreshed the 8-second token three times",
        Duration::from_secs(30),
        || world.fake.refresh_requests() >= 3,
    );
    world.stop(agent);
    assert_eq!(world.fake.dead_families(), 0);
}

// ---------------------------------------------------------------------------------------
// 7. Rotation of idle grants, paced.

#[test]
fn a_grant_idle_for_61_days_is_rotated_by_the_agent() {
    let world = World::new();
    world.custom("pre-authorized");
    world.authorize(&[]);
    let store = world.sandbox.open();
    let mut tokens = store
        .token_set("jira", &Principal::Admin)
        .unwrap()
        .expect("authorized");
    let old = refresh_token_of(&tokens);
    tokens.rotated_at = Timestamp::now().plus_secs(-61 * DAY);
    tokens.consented_at = tokens.rotated_at;
    store.put_token_set(&tokens).unwrap();
    drop(store);
    assert_eq!(world.fake.refresh_requests(), 0);

    let agent = world.spawn_agent(&[]);
    wait_for(
        "the agent rotated the 61-day-old grant",
        Duration::from_secs(10),
        || world.fake.refresh_requests() >= 1,
    );
    wait_for("the rotation was recorded", SHORT, || {
        let (_, json) = world.status_json();
        let rotated = time_of(&status_token(&json, "jira", "admin")["refresh_token"]["rotated_at"]);
        rotated > Timestamp::now().plus_secs(-60)
    });
    world.stop(agent);
    let stored = world.stored("jira", &Principal::Admin);
    assert_ne!(refresh_token_of(&stored), old, "rotated");
    assert!(stored.rotated_at > Timestamp::now().plus_secs(-60));
    assert_eq!(world.fake.refresh_requests(), 1, "rotated once");
    assert_eq!(world.fake.dead_families(), 0);
    assert!(world.accepts(stored.access_token.expose()));
}

/// How many idle user grants the pacing test seeds.
const IDLE_GRANTS: usize = 10_000;

#[test]
fn ten_thousand_idle_grants_are_rotated_at_the_configured_pace() {
    let world = World::new();
    world.custom("user-authorized");
    let store = world.sandbox.open();
    let long_ago = Timestamp::now().plus_secs(-61 * DAY);
    let seeding = Instant::now();
    for n in 0..IDLE_GRANTS {
        store
            .put_token_set(&TokenSet {
                integration: "jira".into(),
                principal: Principal::User(format!("user-{n:05}@example.com")),
                access_token: Secret::new(format!("seeded-access-{n}")),
                access_expires_at: long_ago.plus_secs(3600),
                // Unknown to the fake: it answers invalid_grant, which is fine here.
                refresh_token: Some(Secret::new(format!("seeded-refresh-{n}"))),
                consented_at: long_ago,
                rotated_at: long_ago,
                site: None,
                scopes: vec!["read:jira-work".into(), "offline_access".into()],
                last_error: None,
                reauthorization_required: false,
                account: None,
            })
            .unwrap();
    }
    eprintln!(
        "seeded {IDLE_GRANTS} token sets in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    drop(store);

    let spawned = Instant::now();
    let agent = world.spawn_agent(&[("JIRA_AUTH_KEEPALIVE_RATE", "5")]);
    wait_for("the first rotation reached the fake", SHORT, || {
        world.fake.refresh_requests() >= 1
    });
    let first_seen = Instant::now();
    let at_first = world.fake.refresh_requests();
    // Fifteen more at five a second take three seconds; a burst brings them at once, and
    // the bounds below fail it.
    wait_for("fifteen more rotations reached the fake", 4 * SHORT, || {
        world.fake.refresh_requests() >= at_first + 15
    });
    let seen = world.fake.refresh_requests();
    let since_spawn = spawned.elapsed().as_secs_f64();
    let window = first_seen.elapsed().as_secs_f64();
    eprintln!(
        "{seen} refresh requests {since_spawn:.1} s after the agent was spawned ({} in the last {window:.1} s)",
        seen - at_first
    );
    assert!(seen >= 1);
    assert!(
        seen - at_first <= (5.0 * window).ceil() as usize + 5,
        "{} refreshes in {window:.1} s at 5 per second: a burst",
        seen - at_first
    );
    assert!(
        seen <= (5.0 * since_spawn).ceil() as usize + 5,
        "{seen} refreshes {since_spawn:.1} s after start at 5 per second: a burst"
    );
    world.stop(agent);
}

// ---------------------------------------------------------------------------------------
// 8. status, in text and in DESIGN.md's JSON.

#[test]
fn status_says_who_has_authorized_and_follows_the_json_schema() {
    let world = World::new();
    world.custom("pre-authorized");
    world.setup("support", "user-authorized");
    world.setup("helpdesk", "user-authorized");
    world.authorize(&[]);
    world.authorize(&["--integration", "support", "--user", "alice"]);

    let out = world.run(&["status"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let helpdesk: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("helpdesk:"))
        .take(2)
        .collect();
    assert!(
        helpdesk.len() == 2 && helpdesk[1].contains("no user has authorized yet"),
        "the user-authorized integration without users says so:\n{stdout}"
    );

    let (code, json) = world.status_json();
    assert_eq!(code, Some(0), "{json}");
    let integrations = json["integrations"].as_array().expect("integrations[]");
    let names: Vec<&str> = integrations
        .iter()
        .map(|i| i["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["helpdesk", "jira", "support"]);
    for integration in integrations {
        for key in ["name", "mode", "app", "profile", "enabled", "tokens"] {
            assert!(
                integration.get(key).is_some(),
                "integration lacks {key}: {integration}"
            );
        }
        assert_eq!(integration["profile"], "acme");
        for token in integration["tokens"].as_array().expect("tokens[]") {
            for key in [
                "principal",
                "state",
                "access_expires_at",
                "refresh_token",
                "site",
                "last_error",
            ] {
                assert!(token.get(key).is_some(), "token lacks {key}: {token}");
            }
            let state = token["state"].as_str().expect("state");
            assert!(
                ["valid", "expiring", "expired", "needs_reauthorization"].contains(&state),
                "{state}"
            );
            let _ = time_of(&token["access_expires_at"]);
            for key in ["id", "url", "name"] {
                assert!(token["site"][key].is_string(), "site lacks {key}: {token}");
            }
            assert!(
                token["refresh_token"].is_object(),
                "the refresh token is described, never shown: {token}"
            );
        }
    }
    let mode = |name: &str| {
        integrations.iter().find(|i| i["name"] == name).unwrap()["mode"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(mode("jira"), "pre-authorized");
    assert_eq!(mode("helpdesk"), "user-authorized");
    assert!(
        integrations[0]["tokens"].as_array().unwrap().is_empty(),
        "helpdesk has no token"
    );
    assert_eq!(status_token(&json, "jira", "admin")["state"], "valid");
    assert_eq!(
        status_token(&json, "support", "user:alice")["site"]["id"],
        CLOUD_ID
    );
    assert!(json["profiles"].is_array());

    let printed = json.to_string();
    for (integration, principal) in [
        ("jira", Principal::Admin),
        ("support", Principal::User("alice".into())),
    ] {
        let tokens = world.stored(integration, &principal);
        for secret in [
            tokens.access_token.expose().to_owned(),
            refresh_token_of(&tokens),
        ] {
            assert!(!printed.contains(&secret), "status shows a secret");
            assert!(!stdout.contains(&secret), "status shows a secret");
        }
    }
}
