//! `store copy`: every record reaches the target and reads back the same; the source is then
//! marked moved and refreshes nothing; a target that holds records is refused unless forced,
//! and a refused copy leaves the source as it was.

mod common;

use common::{Sandbox, sample_integration, sample_profile, sample_tokens, text};
use jira_auth::domain::{Event, EventKind, Mode, Principal, Timestamp};
use jira_auth::store::{OpenOptions, SledStore, Store, StorePaths};

fn seeded() -> Sandbox {
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
    let mut bots = sample_integration("bots", Some("acme"));
    bots.mode = Mode::UserAuthorized;
    store.put_integration(&bots).expect("integration");
    for n in 0..5 {
        store
            .put_token_set(&sample_tokens(
                "bots",
                Principal::User(format!("u{n}")),
                now,
            ))
            .expect("user grant");
    }
    store
        .append_event(&Event {
            at: now,
            integration: "jira".into(),
            principal: None,
            kind: EventKind::Authorized,
            outcome: "authorized".into(),
        })
        .expect("event");
    sandbox
}

fn other_store(sandbox: &Sandbox, dir: &str) -> (std::path::PathBuf, StorePaths) {
    let data_dir = sandbox.root.path().join(dir);
    let paths = StorePaths {
        data_dir: data_dir.clone(),
        key_file: sandbox.key_file(),
    };
    (data_dir, paths)
}

#[test]
fn a_copy_reads_back_the_same_and_the_source_then_refreshes_nothing() {
    let sandbox = seeded();
    let (target_dir, target_paths) = other_store(&sandbox, "moved");
    let to = format!("sled:{}", target_dir.display());
    let out = sandbox.run(&["store", "copy", "--to", &to], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let said = text(&out.stderr);
    assert!(
        said.contains("copied 1 profile(s), 2 integration(s), 6 grant(s), 0 link(s), 0 unfinished authorization(s) and 1 event(s)"),
        "{said}"
    );
    assert!(said.contains("marked moved"), "{said}");

    // The source refuses what would rotate a grant, naming where the store went.
    let out = sandbox.run(
        &["token", "--integration", "jira", "--min-valid", "86400"],
        "",
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains(&to), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "no token on stdout");
    // And a second copy is refused: copy from the new store instead.
    let (again, _) = other_store(&sandbox, "again");
    let out = sandbox.run(
        &[
            "store",
            "copy",
            "--to",
            &format!("sled:{}", again.display()),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("already copied"),
        "{}",
        text(&out.stderr)
    );

    // Every record reads back the same from the target, secrets included.
    let source = sandbox.open();
    let target = SledStore::open(&OpenOptions::new(target_paths, "test")).expect("target opens");
    assert_eq!(target.profiles().unwrap(), source.profiles().unwrap());
    assert_eq!(
        target.integrations().unwrap(),
        source.integrations().unwrap()
    );
    let sorted = |store: &SledStore| {
        let mut sets = store.token_sets().unwrap();
        sets.sort_by_key(|t| (t.integration.clone(), t.principal.key()));
        sets
    };
    assert_eq!(sorted(&target), sorted(&source));
    assert_eq!(target.events(10).unwrap(), source.events(10).unwrap());
    assert_eq!(target.moved_to().unwrap(), None, "the target is not moved");
    assert_eq!(source.moved_to().unwrap(), Some(to));
}

#[test]
fn a_target_with_records_is_refused_unless_forced_and_the_source_stays_as_it_was() {
    let sandbox = seeded();
    let (target_dir, target_paths) = other_store(&sandbox, "busy");
    {
        let target = SledStore::open(&OpenOptions::new(target_paths.clone(), "test")).unwrap();
        target.put_profile(&sample_profile("theirs")).unwrap();
    }
    let to = format!("sled:{}", target_dir.display());
    let out = sandbox.run(&["store", "copy", "--to", &to], "");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let said = text(&out.stderr);
    assert!(said.contains("already holds 1 profiles"), "{said}");
    assert!(said.contains("--force"), "{said}");
    // Copying into this very store is refused too.
    let out = sandbox.run(
        &[
            "store",
            "copy",
            "--to",
            &format!("sled:{}", sandbox.data_dir().display()),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("is this store"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(sandbox.open().moved_to().unwrap(), None, "nothing marked");

    let out = sandbox.run(&["store", "copy", "--to", &to, "--force"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let target = SledStore::open(&OpenOptions::new(target_paths, "test")).unwrap();
    let names: Vec<String> = target
        .profiles()
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["acme", "theirs"]);
    assert_eq!(target.token_summaries().unwrap().len(), 6);
    sandbox.stop_agent();
}
