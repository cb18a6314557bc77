//! A full disk never costs a grant: the data directory on a small tmpfs of its own, filled
//! with a file, while the real agent refreshes against the fake Atlassian with its reuse
//! leeway at zero (so a rotation that was lost would kill the grant at the next refresh).
//! Where the machine cannot mount a tmpfs (not root, no CAP_SYS_ADMIN), the tests say so on
//! stderr and stop there: they never pass without having filled a disk.

mod common;
mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::text;
use jira_auth::domain::Principal;
use serde_json::Value;
use support::fake_atlassian::*;
use support::world::*;

/// A tmpfs at the sandbox's data directory, unmounted when dropped (after its agent stopped).
struct SmallDisk {
    mount: PathBuf,
    fillers: Vec<PathBuf>,
}

impl SmallDisk {
    /// `None` (said loudly) where this machine cannot mount one.
    fn at(dir: &Path, megabytes: u32) -> Option<SmallDisk> {
        std::fs::create_dir_all(dir).expect("mount point");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={megabytes}m,mode=0700"))
            .arg("tmpfs")
            .arg(dir)
            .stdin(Stdio::null())
            .output();
        match mounted {
            Ok(out) if out.status.success() => Some(SmallDisk {
                mount: dir.to_owned(),
                fillers: Vec::new(),
            }),
            Ok(out) => {
                eprintln!(
                    "SKIPPED: cannot mount a tmpfs here ({}); this test needs root",
                    text(&out.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("SKIPPED: cannot run mount ({e}); this test needs root");
                None
            }
        }
    }

    /// Writes a new file until the disk refuses more, leaving `leave` bytes free (roughly:
    /// the file is cut back by that much once the disk is full).
    fn fill(&mut self, leave: u64) {
        let path = self.mount.join(format!("filler-{}", self.fillers.len()));
        let mut file = std::fs::File::create(&path).expect("filler");
        let chunk = vec![0x5a_u8; 64 * 1024];
        let mut written: u64 = 0;
        while file.write_all(&chunk).is_ok() {
            written += chunk.len() as u64;
        }
        // What a partial write got in counts too; then give back what was asked.
        let size = file.metadata().map(|m| m.len()).unwrap_or(written);
        file.set_len(size.saturating_sub(leave))
            .expect("cut the filler");
        file.sync_all().ok();
        self.fillers.push(path);
    }

    fn free(&self) -> u64 {
        let out = Command::new("df")
            .args(["--output=avail", "-B1"])
            .arg(&self.mount)
            .output()
            .expect("df");
        text(&out.stdout)
            .lines()
            .nth(1)
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(0)
    }

    fn empty(&mut self) {
        for filler in self.fillers.drain(..) {
            let _ = std::fs::remove_file(filler);
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        self.empty();
        let unmounted = Command::new("umount").arg(&self.mount).status();
        if !unmounted.is_ok_and(|s| s.success()) {
            // Something still holds a file there (an agent a failed test left): detach it.
            let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
        }
    }
}

/// A pre-authorized grant on a small disk; the fake kills a reused token family at once.
/// The world comes second so that it is dropped first: its agent stops before the unmount.
fn grant_on_small_disk() -> Option<(SmallDisk, World)> {
    let world = World::new();
    let disk = SmallDisk::at(&world.sandbox.data_dir(), 16)?;
    world.fake.set_leeway(Duration::ZERO);
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
    let refreshing = {
        let mut command = world.command();
        command
            .args(["token", "--min-valid", "86400"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command.spawn().expect("spawn token")
    };
    // While Atlassian takes its time, the disk fills up completely.
    std::thread::sleep(Duration::from_secs(1));
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
