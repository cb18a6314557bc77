//! A full disk never costs a grant: the data directory on a small tmpfs of its own, filled
//! with a file, while the real agent refreshes against the fake Atlassian with its reuse
//! leeway at zero (so a rotation that was lost would kill the grant at the next refresh).
//! Where the machine cannot mount a tmpfs (not root, no CAP_SYS_ADMIN), the tests say so on
//! stderr and stop there: they never pass without having filled a disk (`common::small_disk`).

mod common;
mod support;

use std::path::PathBuf;
use std::time::Duration;

use common::small_disk::SmallDisk;
use common::text;
use jira_auth::domain::Principal;
use serde_json::Value;
use support::fake_atlassian::*;
use support::world::*;

/// A world whose data directory is on a small disk; the fake kills a reused token family
/// at once. The world comes second so that it is dropped first: its agent stops before the
/// unmount.
fn small_world() -> Option<(SmallDisk, World)> {
    let world = World::new();
    let disk = SmallDisk::at(&world.sandbox.data_dir(), 16)?;
    world.fake.set_leeway(Duration::ZERO);
    Some((disk, world))
}

/// A pre-authorized grant on a small disk.
fn grant_on_small_disk() -> Option<(SmallDisk, World)> {
    let (disk, world) = small_world()?;
    world.custom("pre-authorized");
    world.authorize(&[]);
    Some((disk, world))
}

fn ballast(world: &World) -> PathBuf {
    world.sandbox.data_dir().join("ballast")
}

/// Whether the stored grant's refresh token is the one Atlassian would take now.
fn grant_is_alive(world: &World) -> bool {
    world.sandbox.stop_agent();
    let stored = world.stored("jira", &Principal::Admin);
    world.fake.refresh_token_live(&refresh_token_of(&stored))
}

#[test]
fn a_full_disk_before_a_refresh_costs_no_grant_and_heals_by_itself() {
    let Some((mut disk, world)) = grant_on_small_disk() else {
        return;
    };
    assert!(ballast(&world).exists(), "the agent keeps a ballast");
    disk.fill(0);
    assert!(disk.free() < 1024 * 1024, "the disk is full");

    // The refresh is started and its outcome written: the ballast gave it room.
    let refreshes = world.fake.refresh_requests();
    let token = one_token(&world.run(&["token", "--min-valid", "86400"]));
    assert!(world.accepts(&token));
    assert_eq!(world.fake.refresh_requests(), refreshes + 1);
    assert!(!ballast(&world).exists(), "the ballast was released");

    let (code, status) = world.status_json();
    assert_eq!(code, Some(4), "status exits 4 while the disk is full");
    let sentence = status["disk_full"]
        .as_str()
        .expect("status names the full disk");
    assert!(sentence.contains("is full") && sentence.contains("free space"));

    // With the ballast spent and the disk full again, no refresh is started at all: the
    // refresh token Atlassian knows is the one stored.
    disk.fill(0);
    let refreshes = world.fake.refresh_requests();
    let out = world.run(&["token", "--min-valid", "86400"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("is full"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        world.fake.refresh_requests(),
        refreshes,
        "Atlassian was not asked"
    );

    // Space returns: the same agent carries on, its ballast made again.
    disk.empty();
    wait_for("the agent sees room again", SHORT, || {
        world.status_json().0 == Some(0)
    });
    assert!(ballast(&world).exists(), "the ballast is back");
    let token = one_token(&world.run(&["token", "--min-valid", "86400"]));
    assert!(world.accepts(&token));
    assert_eq!(world.fake.dead_families(), 0, "no token family was killed");
    assert!(
        grant_is_alive(&world),
        "the stored refresh token is the live one"
    );
}

#[test]
fn a_rotation_the_disk_cannot_take_is_held_in_memory_until_there_is_room() {
    let Some((mut disk, world)) = grant_on_small_disk() else {
        return;
    };
    // Spend the ballast, then leave a little room: enough to start a refresh, not to make
    // the ballast again.
    disk.fill(0);
    one_token(&world.run(&["token", "--min-valid", "86400"]));
    disk.fill(1536 * 1024);
    // The agent, started by hand so this test owns its end, fails every write while `flag`
    // exists: the disk "fills" exactly between the start of a refresh and its outcome.
    world.sandbox.stop_agent();
    let flag = world.sandbox.root.path().join("disk-is-full");
    let mut agent = world.spawn_agent(&[(
        "JIRA_AUTH_TEST_FULL_DISK_FLAG",
        flag.to_str().expect("utf-8 temp path"),
    )]);
    world
        .fake
        .fail_next(Endpoint::Token, Fault::Slow(Duration::from_secs(3)), 1);
    let asked = world.fake.count(Endpoint::Token);
    let refreshing = spawn_piped(world.command(), &["token", "--min-valid", "86400"]);
    // While Atlassian takes its time, the disk fills up completely.
    common::agent::wait_until("the refresh has reached Atlassian", || {
        world.fake.count(Endpoint::Token) > asked
    });
    disk.fill(0);
    std::fs::write(&flag, "").expect("flag");
    let out = refreshing.wait_with_output().expect("token");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("memory"), "{stderr}");
    assert!(
        stdout_is_empty(&out.stdout),
        "no token is handed out before it is durable"
    );

    let (code, status) = world.status_json();
    assert_eq!(code, Some(4));
    assert_eq!(
        status_token(&status, "jira", "admin")["state"],
        "unsaved",
        "{status}"
    );

    // Stopping now would lose it: the agent says so and stays.
    let out = world.run(&["agent", "stop"]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(agent.running(), "the agent stayed");

    std::fs::remove_file(&flag).expect("unflag");
    disk.empty();
    wait_for("the held grant is written", Duration::from_secs(30), || {
        let (_, status) = world.status_json();
        status_token(&status, "jira", "admin")["state"] == "valid"
    });
    // It was asked to stop: with nothing held any more, it goes.
    assert!(
        agent.wait_exit().is_some(),
        "the agent exits once the grant is written"
    );
    let token = one_token(&world.run(&["token"]));
    assert!(world.accepts(&token));
    assert_eq!(world.fake.dead_families(), 0, "no token family was killed");
    assert!(
        grant_is_alive(&world),
        "the stored refresh token is the live one"
    );
}

fn stdout_is_empty(stdout: &[u8]) -> bool {
    stdout.iter().all(u8::is_ascii_whitespace)
}

#[test]
fn status_names_the_full_disk_in_words_too() {
    let Some((mut disk, world)) = grant_on_small_disk() else {
        return;
    };
    disk.fill(0);
    // A write that keeps no grant is refused with the sentence, and the store stays as it was.
    let out = world.run(&[
        "setup",
        "--integration",
        "other",
        "--mode",
        "pre-authorized",
        "--profile",
        "acme",
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("is full"),
        "{}",
        text(&out.stderr)
    );
    let out = world.run(&["status"]);
    assert_eq!(out.status.code(), Some(4));
    let said = text(&out.stdout);
    assert!(said.contains("is full"), "{said}");
    let json: Value = world.status_json().1;
    assert_eq!(json["integrations"].as_array().map(Vec::len), Some(1));
    disk.empty();
    wait_for("the agent sees room again", SHORT, || {
        world.status_json().0 == Some(0)
    });
}

/// `authorize --paste` consenting in the fake browser; its exit code and stderr.
fn try_authorize(world: &World) -> (i32, String) {
    let mut run = common::Interactive::spawn(world.command(), &["authorize", "--paste"]);
    let url = run.url();
    let redirect = world.fake.consent(&url);
    run.send_line(&redirect);
    let (code, _, stderr) = run.finish();
    (code, stderr)
}

#[test]
fn a_code_is_exchanged_on_a_full_disk_only_when_its_tokens_can_be_written() {
    let Some((mut disk, world)) = small_world() else {
        return;
    };
    world.custom("pre-authorized");
    // The disk fills while Atlassian answers the exchange: the ballast gives the answer its
    // room, and the consent is kept.
    world
        .fake
        .fail_next(Endpoint::Token, Fault::Slow(Duration::from_secs(2)), 1);
    let mut run = common::Interactive::spawn(world.command(), &["authorize", "--paste"]);
    let redirect = world.fake.consent(&run.url());
    let asked = world.fake.count(Endpoint::Token);
    run.send_line(&redirect);
    common::agent::wait_until("the exchange has reached Atlassian", || {
        world.fake.count(Endpoint::Token) > asked
    });
    disk.fill(0);
    let (code, _, stderr) = run.finish();
    assert_eq!(code, 0, "{stderr}");
    assert!(!ballast(&world).exists(), "the ballast made the room");
    assert_eq!(world.status_json().0, Some(4), "the disk is still full");
    let token = one_token(&world.run(&["token"]));
    assert!(world.accepts(&token));

    // With the ballast spent and the disk full, the code is not exchanged at all: the
    // consent is not spent, and a new try once there is room works.
    disk.fill(0);
    let exchanges = world.fake.count(Endpoint::Token);
    let (code, stderr) = try_authorize(&world);
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("is full"), "{stderr}");
    assert_eq!(
        world.fake.count(Endpoint::Token),
        exchanges,
        "no code was exchanged"
    );
    disk.empty();
    wait_for("the agent sees room again", SHORT, || {
        world.status_json().0 == Some(0)
    });
    let (code, stderr) = try_authorize(&world);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(world.fake.dead_families(), 0);
}

#[test]
fn an_end_users_callback_on_a_full_disk_is_stored_or_left_unspent_for_later() {
    let Some(mut world) = support::receiver::World::on_small_disk(16) else {
        return;
    };
    let full = |world: &mut support::receiver::World| {
        world.disk.as_mut().expect("a small disk").fill(0);
    };
    // Ballast in hand: the callback's tokens are written in the room it frees.
    let link = world.link("support", "kim@acme.example");
    full(&mut world);
    let page = common::browser_get(&world.consent(&link, "kim"));
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    let token = world.ok(&[
        "token",
        "--integration",
        "support",
        "--user",
        "kim@acme.example",
    ]);
    assert!(!token.trim().is_empty());

    // Ballast spent, disk full: the callback is refused before the code is exchanged, its
    // link stays unspent, and the same callback works once there is room.
    let link = world.link("support", "lee@acme.example");
    full(&mut world);
    let exchanges = world.tokens();
    let callback = world.consent(&link, "lee");
    let page = common::browser_get(&callback);
    assert!(!page.starts_with("HTTP/1.1 200"), "{page}");
    assert_eq!(world.tokens(), exchanges, "no code was exchanged");
    world.disk.as_mut().expect("a small disk").empty();
    wait_for("the agent sees room again", SHORT, || {
        world.run(&["status"]).status.code() == Some(0)
    });
    let page = common::browser_get(&callback);
    assert!(
        page.starts_with("HTTP/1.1 200"),
        "the same callback, later: {page}"
    );
    world.ok(&[
        "token",
        "--integration",
        "support",
        "--user",
        "lee@acme.example",
    ]);
}

fn prlimit_fsize(pid: u32, limit: &str) {
    let out = std::process::Command::new("prlimit")
        .args(["--pid", &pid.to_string(), &format!("--fsize={limit}")])
        .output()
        .expect("run prlimit");
    assert!(out.status.success(), "prlimit: {}", text(&out.stderr));
}

#[test]
fn another_write_failure_than_a_full_disk_is_met_the_same_way() {
    // A file size limit stands for every I/O failure that is not ENOSPC (a quota, EIO): sled
    // refuses every write after one, and the agent must still keep the rotation.
    let world = World::new();
    world.fake.set_leeway(Duration::ZERO);
    world.custom("pre-authorized");
    world.authorize(&[]);
    world.sandbox.stop_agent();
    let mut agent = world.spawn_agent(&[]);
    world
        .fake
        .fail_next(Endpoint::Token, Fault::Slow(Duration::from_secs(3)), 1);
    let refreshing = spawn_piped(world.command(), &["token", "--min-valid", "86400"]);
    // While Atlassian takes its time, the agent may write no more than a byte per file.
    std::thread::sleep(Duration::from_secs(1));
    prlimit_fsize(agent.pid(), "1:unlimited");
    let out = refreshing.wait_with_output().expect("token");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("memory"),
        "{}",
        text(&out.stderr)
    );
    assert!(agent.running(), "the agent survives the failed writes");
    let (code, status) = world.status_json();
    assert_eq!(code, Some(4));
    assert_eq!(status_token(&status, "jira", "admin")["state"], "unsaved");

    // The limit lifted, the same agent writes the rotation by itself.
    prlimit_fsize(agent.pid(), "unlimited:unlimited");
    wait_for("the held grant is written", Duration::from_secs(30), || {
        let (_, status) = world.status_json();
        status_token(&status, "jira", "admin")["state"] == "valid"
    });
    let token = one_token(&world.run(&["token", "--min-valid", "86400"]));
    assert!(world.accepts(&token));
    assert_eq!(world.fake.dead_families(), 0, "no token family was killed");
    world.sandbox.stop_agent();
    assert!(agent.wait_exit().is_some());
    assert!(
        grant_is_alive(&world),
        "the stored refresh token is the live one"
    );
}
