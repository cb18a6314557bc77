//! Damage is never silence: a database that was corrupted, cut short or rolled back to an
//! older copy is refused with its files left byte for byte as they were, and never served as
//! an empty or older store. Opened in-process for the many random cases, and through the
//! real binary for the sentences, the exit codes and `agent --accept-rollback`.

mod common;

use std::path::{Path, PathBuf};

use common::{Sandbox, sample_integration, sample_profile, sample_tokens, text};
use jira_auth::domain::{Event, EventKind, Principal, Timestamp};
use jira_auth::store::{OpenOptions, SledStore, Store, StoreError};
use proptest::prelude::*;

/// A store with some of every record, written record by record as the agent would.
fn seeded() -> Sandbox {
    let sandbox = Sandbox::new();
    let store = sandbox.open();
    let now = Timestamp::now();
    store.put_profile(&sample_profile("acme")).unwrap();
    store
        .put_integration(&sample_integration("jira", Some("acme")))
        .unwrap();
    for n in 0..12 {
        let tokens = sample_tokens("jira", Principal::User(format!("user-{n}")), now);
        store.put_token_set(&tokens).unwrap();
        store
            .append_event(&Event {
                at: now,
                integration: "jira".into(),
                principal: Some(tokens.principal.key()),
                kind: EventKind::Authorized,
                outcome: format!("as user {n}"),
            })
            .unwrap();
    }
    drop(store);
    // A second session rotates every grant, as the keep-alive does: the log then holds
    // older refresh tokens that a log cut short could bring back.
    let store = sandbox.open();
    for mut tokens in store.token_sets().unwrap() {
        tokens.refresh_token = Some(jira_auth::domain::Secret::new(format!(
            "rotated-{}",
            tokens.principal.key()
        )));
        store.put_token_set(&tokens).unwrap();
    }
    sandbox
}

/// Everything a store holds, as text, secrets opened: two stores that print alike hold alike.
fn contents(store: &SledStore) -> String {
    let mut tokens: Vec<String> = store
        .token_sets()
        .unwrap()
        .iter()
        .map(|t| {
            format!(
                "{} {} {:?}",
                t.integration,
                t.principal.key(),
                t.refresh_token.as_ref().map(|s| s.expose().to_owned())
            )
        })
        .collect();
    tokens.sort();
    format!(
        "{:?}\n{:?}\n{tokens:?}\n{:?}",
        store.profiles().unwrap(),
        store.integrations().unwrap(),
        store.events(1000).unwrap()
    )
}

fn db_files(sandbox: &Sandbox) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = common::all_bytes_under(&sandbox.data_dir().join("db"));
    files.sort();
    files
}

fn open(sandbox: &Sandbox) -> Result<SledStore, StoreError> {
    SledStore::open(&OpenOptions::new(sandbox.paths(), "test"))
}

/// The one property: a damaged store opens as exactly what it held, or is refused with its
/// files untouched. Never as less.
fn assert_whole_or_refused(sandbox: &Sandbox, expected: &str, what: &str) {
    let before = db_files(sandbox);
    match open(sandbox) {
        Ok(store) => assert_eq!(
            contents(&store),
            expected,
            "{what}: the store opened holding something else than it did"
        ),
        Err(error) => {
            // Seen with --nocapture: how the cases split between refusals of each kind.
            eprintln!(
                "{what}: refused: {}",
                error.to_string().split(':').next().unwrap_or("")
            );
            assert!(
                matches!(
                    error,
                    StoreError::Damaged { .. } | StoreError::RolledBack { .. }
                ),
                "{what}: refused for another reason: {error}"
            );
            assert_eq!(
                db_files(sandbox),
                before,
                "{what}: the refusal changed the files"
            );
        }
    }
}

/// xorshift noise: the same damage for the same seed.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn db_file(sandbox: &Sandbox) -> PathBuf {
    sandbox.data_dir().join("db").join("db")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_blocks_written_over_the_database_never_open_it_as_less(
        seed in any::<u64>(),
        blocks in 1usize..50,
    ) {
        let sandbox = seeded();
        let expected = contents(&sandbox.open());
        let file = db_file(&sandbox);
        let mut bytes = std::fs::read(&file).unwrap();
        let junk = noise(seed, blocks * 24);
        for block in 0..blocks {
            let at = usize::from(u16::from_be_bytes([junk[block * 24], junk[block * 24 + 1]]))
                * bytes.len() / 65_536;
            let end = (at + 16).min(bytes.len());
            bytes[at..end].copy_from_slice(&junk[block * 24 + 8..block * 24 + 8 + (end - at)]);
        }
        std::fs::write(&file, &bytes).unwrap();
        assert_whole_or_refused(&sandbox, &expected, "random blocks");
    }

    #[test]
    fn a_database_cut_short_never_opens_as_less(cut in 1usize..4096, half in any::<bool>()) {
        let sandbox = seeded();
        let expected = contents(&sandbox.open());
        let file = db_file(&sandbox);
        let bytes = std::fs::read(&file).unwrap();
        // sled's file is a whole segment of which the log uses the front: cut what is used.
        let used = bytes.iter().rposition(|b| *b != 0).map_or(0, |last| last + 1);
        let keep = if half { used / 2 } else { used.saturating_sub(cut) };
        std::fs::write(&file, &bytes[..keep]).unwrap();
        assert_whole_or_refused(&sandbox, &expected, "cut short");
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn put_back(sandbox: &Sandbox, copy: &Path) {
    let db = sandbox.data_dir().join("db");
    std::fs::remove_dir_all(&db).unwrap();
    copy_dir(copy, &db);
}

#[test]
fn an_older_copy_put_back_is_refused_in_process() {
    let sandbox = seeded();
    let copy = sandbox.root.path().join("backup");
    copy_dir(&sandbox.data_dir().join("db"), &copy);
    {
        let store = sandbox.open();
        let mut rotated = sample_tokens("jira", Principal::User("user-0".into()), Timestamp::now());
        rotated.refresh_token = Some(jira_auth::domain::Secret::new("rotated-since-the-copy"));
        store.put_token_set(&rotated).unwrap();
    }
    put_back(&sandbox, &copy);
    let before = db_files(&sandbox);
    let error = open(&sandbox).err().expect("an older copy is refused");
    assert!(
        matches!(error, StoreError::RolledBack { .. }),
        "refused as rolled back: {error}"
    );
    assert_eq!(db_files(&sandbox), before, "the copy is left as it was");

    let mut accepting = OpenOptions::new(sandbox.paths(), "test");
    accepting.accept_rollback = true;
    let mut store = SledStore::open(&accepting).expect("accepted");
    assert!(
        store.take_notes().iter().any(|n| n.contains("rolled-back")),
        "the acceptance is said"
    );
    drop(store);
    open(&sandbox).expect("once accepted, the copy is the store");
}

#[test]
fn a_rolled_back_store_is_refused_by_every_command_until_accepted() {
    let sandbox = Sandbox::new();
    let add = |name: &str| {
        let out = common::agent::add_profile(&sandbox, name);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    };
    add("first");
    sandbox.stop_agent();
    let copy = sandbox.root.path().join("backup");
    copy_dir(&sandbox.data_dir().join("db"), &copy);
    add("second");
    sandbox.stop_agent();
    put_back(&sandbox, &copy);
    let before = db_files(&sandbox);

    for args in [&["status"][..], &["profile", "list", "--json"], &["token"]] {
        let out = sandbox.run(args, "");
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("rolled back")
                && stderr.contains("Nothing was changed")
                && stderr.contains("--accept-rollback"),
            "{args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}: nothing is served");
    }
    assert_eq!(db_files(&sandbox), before, "refusals change nothing");

    let mut agent = accepting_agent(&sandbox);
    let names = common::agent::profile_names(&common::agent::status_json(&sandbox));
    assert_eq!(names, ["first"], "the older copy is served once accepted");
    sandbox.stop_agent();
    assert!(agent.wait_exit().is_some());
    let out = sandbox.run(&["status"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn a_store_whose_database_is_gone_is_refused_not_served_empty() {
    let sandbox = Sandbox::new();
    let out = common::agent::add_profile(&sandbox, "first");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    sandbox.stop_agent();
    let db = sandbox.data_dir().join("db");
    std::fs::remove_dir_all(&db).unwrap();
    for args in [&["status"][..], &["profile", "list", "--json"]] {
        let out = sandbox.run(args, "");
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("is gone") && stderr.contains("--accept-rollback"),
            "{args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}: nothing is served");
    }
    assert!(!db.exists(), "nothing was created");

    // Starting afresh is a choice the admin makes once, and says.
    let mut agent = accepting_agent(&sandbox);
    let names = common::agent::profile_names(&common::agent::status_json(&sandbox));
    assert!(names.is_empty(), "a new, empty store: {names:?}");
    sandbox.stop_agent();
    assert!(agent.wait_exit().is_some());
    let out = sandbox.run(&["status"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// `jira-auth agent --accept-rollback` started by hand, once it answers.
fn accepting_agent(sandbox: &Sandbox) -> common::agent::Reaped {
    let mut command = sandbox.command();
    command
        .args(["agent", "--accept-rollback"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let agent = common::agent::Reaped(command.spawn().expect("spawn the agent"));
    common::agent::wait_until("the accepting agent answers", || {
        common::agent::agent_info(sandbox).is_some()
    });
    agent
}
