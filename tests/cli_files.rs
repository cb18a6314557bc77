//! The key and the store's files as a careful user or a local neighbour meets them: a key
//! that is not a key, a key others can read or kept inside the data directory, loose
//! permissions, a damaged database, and read-only commands on a store that does not exist.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::*;

fn add_profile(sandbox: &Sandbox) -> std::process::Output {
    sandbox.run(
        &[
            "profile",
            "add",
            "--name",
            "acme",
            "--client-id",
            "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56",
            "--client-secret-stdin",
            "--scopes",
            "read:jira-work offline_access",
        ],
        CLIENT_SECRET,
    )
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn chmod(path: &std::path::Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn a_key_file_that_is_not_a_key_exits_2_with_the_key_sentence() {
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.key_file().parent().unwrap()).unwrap();
    std::fs::write(sandbox.key_file(), [0xff, 0x00, 0xfe, 0x1b, 0x80, 0x7f]).unwrap();
    chmod(&sandbox.key_file(), 0o600);
    let out = add_profile(&sandbox);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("is not a jira-auth key"));

    std::fs::remove_file(sandbox.key_file()).unwrap();
    std::fs::create_dir(sandbox.key_file()).unwrap();
    let out = add_profile(&sandbox);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("is not a jira-auth key"));
    assert!(!contains(&out.stderr, "panicked"));
}

#[test]
fn a_key_inside_the_data_directory_is_refused() {
    let sandbox = Sandbox::new();
    let mut command = sandbox.command();
    command.env("JIRA_AUTH_KEY_FILE", sandbox.data_dir().join("store.key"));
    let out = run_with(
        command,
        &[
            "profile",
            "add",
            "--name",
            "acme",
            "--client-id",
            "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56",
            "--client-secret-stdin",
            "--scopes",
            "read:jira-work offline_access",
        ],
        CLIENT_SECRET,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("is inside the data directory"), "{stderr}");
    assert!(
        !sandbox.data_dir().join("store.key").exists(),
        "no key made there"
    );
    assert!(!sandbox.data_dir().join("db").exists(), "no store made");
}

#[test]
fn a_key_others_can_read_is_refused_with_the_fix() {
    let sandbox = Sandbox::new();
    assert_eq!(add_profile(&sandbox).status.code(), Some(0));
    sandbox.stop_agent();
    chmod(&sandbox.key_file(), 0o644);
    let out = sandbox.run(&["status"], "");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("can be read by others") && stderr.contains("chmod 600"),
        "{stderr}"
    );
    chmod(&sandbox.key_file(), 0o600);
    let out = sandbox.run(&["profile", "list", "--json"], "");
    assert_eq!(out.status.code(), Some(0), "nothing was lost");
    assert!(text(&out.stdout).contains("acme"));
}

#[test]
fn loose_permissions_on_the_store_are_tightened_and_said_once() {
    let sandbox = Sandbox::new();
    assert_eq!(add_profile(&sandbox).status.code(), Some(0));
    sandbox.stop_agent();
    let db_file = sandbox.data_dir().join("db").join("db");
    chmod(&sandbox.data_dir(), 0o755);
    chmod(&sandbox.data_dir().join("db"), 0o755);
    chmod(&db_file, 0o644);
    // Root reads anything: prove the loose mode with an ordinary user first.
    let nobody_reads = || {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "cat"])
            .arg(&db_file)
            .output()
            .map(|o| o.status.success())
    };
    let before = nobody_reads();
    let out = sandbox.run(&["status"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("was readable by others") && stderr.contains("made it 700"),
        "{stderr}"
    );
    assert_eq!(mode(&sandbox.data_dir()), 0o700);
    assert_eq!(mode(&db_file), 0o600);
    match (before, nobody_reads()) {
        (Ok(true), Ok(false)) => {}
        (Ok(before), Ok(after)) => {
            panic!("uid 65534 could read the db before: {before}, after: {after}")
        }
        _ => eprintln!("note: setpriv is not available; the uid check was skipped"),
    }
    sandbox.stop_agent();
    let out = sandbox.run(&["status"], "");
    assert!(
        !text(&out.stderr).contains("readable by others"),
        "said once: {}",
        text(&out.stderr)
    );
}

#[test]
fn a_damaged_database_is_named_with_what_to_do_and_exit_1() {
    let sandbox = Sandbox::new();
    assert_eq!(add_profile(&sandbox).status.code(), Some(0));
    sandbox.stop_agent();
    let db_file = sandbox.data_dir().join("db").join("db");
    let size = std::fs::metadata(&db_file).unwrap().len() as usize;
    // Noise from a fixed xorshift: the same damage on every run.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let garbage: Vec<u8> = (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&db_file, &garbage).unwrap();
    let out = sandbox.run(&["status"], "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("is damaged")
            && stderr.contains("nothing was changed")
            && stderr.contains("backup"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("Read corrupted data"),
        "no sled internals: {stderr}"
    );
    assert_eq!(
        std::fs::read(&db_file).unwrap(),
        garbage,
        "nothing was changed"
    );
}

#[test]
fn read_only_commands_on_a_store_that_does_not_exist_create_nothing() {
    let sandbox = Sandbox::new();
    for (args, stdout) in [
        (&["status"][..], ""),
        (
            &["status", "--json"][..],
            r#"{"integrations":[],"profiles":[]}"#,
        ),
        (&["profile", "list"][..], ""),
        (&["profile", "list", "--json"][..], "[]"),
        (&["agent", "stop"][..], ""),
    ] {
        let out = sandbox.run(args, "");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert_eq!(text(&out.stdout).trim(), stdout, "{args:?}");
        if args[0] != "agent" {
            assert!(
                text(&out.stderr).contains("nothing is configured at"),
                "{args:?}: {}",
                text(&out.stderr)
            );
        }
        assert!(
            !sandbox.data_dir().exists(),
            "{args:?} created the data dir"
        );
        assert!(!sandbox.key_file().exists(), "{args:?} created a key");
    }
    for args in [
        &["token"][..],
        &["token", "--json"][..],
        &["refresh", "--all"][..],
    ] {
        let out = sandbox.run(args, "");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(text(&out.stderr).contains("nothing is configured at"));
        assert!(out.stdout.is_empty());
        assert!(
            !sandbox.data_dir().exists(),
            "{args:?} created the data dir"
        );
    }
    let out = sandbox.run(&["agent", "status"], "");
    assert_eq!(out.status.code(), Some(1), "no agent was started");
}
