//! The sealed sled store, for real, in a temporary directory.

mod common;

use jira_auth::exit::{Exit, Exits};
use std::os::unix::fs::PermissionsExt;

use common::*;
use jira_auth::domain::{Event, EventKind, Principal, Timestamp};
use jira_auth::store::{OpenOptions, SledStore, Store, StoreError};

#[test]
fn records_survive_close_and_reopen() {
    let sandbox = Sandbox::new();
    let now = Timestamp(1_700_000_000);
    let profile = sample_profile("acme");
    let integration = sample_integration("jira", Some("acme"));
    let admin = sample_tokens("jira", Principal::Admin, now);
    let alice = sample_tokens("jira", Principal::User("alice".into()), now);
    {
        let store = sandbox.open();
        store.put_profile(&profile).unwrap();
        store.put_integration(&integration).unwrap();
        store.put_token_set(&admin).unwrap();
        store.put_token_set(&alice).unwrap();
        for outcome in ["first", "second"] {
            store
                .append_event(&Event {
                    at: now,
                    integration: "jira".into(),
                    principal: Some("admin".into()),
                    kind: EventKind::Authorized,
                    outcome: outcome.into(),
                })
                .unwrap();
        }
    }
    let store = sandbox.open();
    assert_eq!(store.profile("acme").unwrap(), Some(profile));
    assert_eq!(store.integrations().unwrap(), vec![integration]);
    assert_eq!(
        store.token_set("jira", &Principal::Admin).unwrap(),
        Some(admin)
    );
    assert_eq!(store.token_sets().unwrap().len(), 2);
    let events = store.events(10).unwrap();
    assert_eq!(
        events
            .iter()
            .map(|e| e.outcome.as_str())
            .collect::<Vec<_>>(),
        ["second", "first"]
    );
    assert!(
        store
            .remove_token_set("jira", &Principal::User("alice".into()))
            .unwrap()
    );
    assert!(
        !store
            .remove_token_set("jira", &Principal::User("alice".into()))
            .unwrap()
    );
    assert!(store.remove_profile("acme").unwrap());
    assert_eq!(store.profile("acme").unwrap(), None);
}

#[test]
fn no_secret_reaches_the_data_dir_in_clear() {
    let sandbox = Sandbox::new();
    {
        let store = sandbox.open();
        store.put_profile(&sample_profile("acme")).unwrap();
        store
            .put_token_set(&sample_tokens("jira", Principal::Admin, Timestamp::now()))
            .unwrap();
    }
    let files = all_bytes_under(&sandbox.data_dir());
    assert!(!files.is_empty());
    for (path, bytes) in &files {
        for secret in [CLIENT_SECRET, ACCESS_TOKEN, REFRESH_TOKEN] {
            assert!(
                !contains(bytes, secret),
                "{} holds a secret in clear",
                path.display()
            );
        }
    }
    // The client id is not secret: proves the scan reads the records at all.
    assert!(
        files
            .iter()
            .any(|(_, bytes)| contains(bytes, "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56"))
    );
}

#[test]
fn data_dir_and_key_file_are_private() {
    let sandbox = Sandbox::new();
    drop(sandbox.open());
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&sandbox.data_dir()), 0o700);
    assert_eq!(mode(&sandbox.key_file()), 0o600);
    assert!(!sandbox.key_file().starts_with(sandbox.data_dir()));
}

#[test]
fn a_wrong_key_is_refused_and_the_data_survives() {
    let sandbox = Sandbox::new();
    {
        let store = sandbox.open();
        store.put_profile(&sample_profile("acme")).unwrap();
    }
    let right_key = std::fs::read(sandbox.key_file()).unwrap();
    std::fs::write(sandbox.key_file(), "ab".repeat(32)).unwrap();
    let error = SledStore::open(&OpenOptions::new(sandbox.paths(), "test"))
        .err()
        .unwrap();
    assert!(matches!(error, StoreError::WrongKey { .. }), "{error}");
    assert_eq!(error.exit(), Exit::Usage);

    std::fs::remove_file(sandbox.key_file()).unwrap();
    let error = SledStore::open(&OpenOptions::new(sandbox.paths(), "test"))
        .err()
        .unwrap();
    assert!(matches!(error, StoreError::KeyMissing { .. }), "{error}");
    assert!(
        !sandbox.key_file().exists(),
        "a missing key is never silently replaced"
    );

    std::fs::write(sandbox.key_file(), right_key).unwrap();
    // Restored by hand, as a careful admin would: private again.
    std::fs::set_permissions(
        sandbox.key_file(),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let store = sandbox.open();
    assert_eq!(
        store
            .profile("acme")
            .unwrap()
            .unwrap()
            .client_secret
            .expose(),
        CLIENT_SECRET
    );
}

#[test]
fn a_busy_store_fails_after_a_short_wait_naming_the_holder() {
    let sandbox = Sandbox::new();
    let _held = sandbox.open();
    let mut options = OpenOptions::new(sandbox.paths(), "second");
    options.busy_wait = std::time::Duration::from_millis(300);
    let started = std::time::Instant::now();
    let error = SledStore::open(&options).err().unwrap();
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    assert_eq!(error.exit(), Exit::Temporary);
    let sentence = error.to_string();
    assert!(
        sentence.contains(&format!("process {}", std::process::id())),
        "{sentence}"
    );
    assert!(sentence.contains("in use"), "{sentence}");
}
