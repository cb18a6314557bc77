//! One suite, two backends: every behaviour the services rely on, checked against sled (a temp
//! dir) and PostgreSQL (a throwaway cluster, one database per test), so the two keep the same
//! semantics. Then what only the shared store has: migrations under concurrent opens, a newer
//! schema and another key refused before anything is written, no secret in the database,
//! change notices, leases, and the database going away and coming back.

mod common;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use common::postgres::Cluster;
use common::{sample_integration, sample_profile, sample_tokens};
use jira_auth::domain::{Event, EventKind, Link, LinkOutcome, Mode, Principal, Secret, Timestamp};
use jira_auth::exit::{Exit, Exits};
use jira_auth::store::postgres::{PgOptions, PgStore};
use jira_auth::store::{
    Claim, Exchanged, OpenOptions, SledStore, Store, StoreError, StoreNotice, StorePaths,
};

/// One cluster for the whole file, stopped when the test process exits.
fn cluster() -> Option<&'static Cluster> {
    static CLUSTER: OnceLock<Option<Cluster>> = OnceLock::new();
    extern "C" fn stop() {
        if let Some(Some(cluster)) = CLUSTER.get() {
            cluster.stop_and_remove();
        }
    }
    CLUSTER
        .get_or_init(|| {
            let cluster = Cluster::start();
            if cluster.is_some() {
                // SAFETY: registering a plain extern "C" function with no arguments.
                unsafe { libc::atexit(stop) };
            }
            cluster
        })
        .as_ref()
}

/// A store of each kind, each empty, with the dir that holds its key.
struct Backends {
    _dir: tempfile::TempDir,
    stores: Vec<(&'static str, Arc<dyn Store>)>,
}

fn key_file(dir: &std::path::Path) -> std::path::PathBuf {
    dir.join("config").join("store.key")
}

fn backends() -> Backends {
    let dir = tempfile::tempdir().unwrap();
    let sled = SledStore::open(&OpenOptions::new(
        StorePaths {
            data_dir: dir.path().join("data"),
            key_file: key_file(dir.path()),
        },
        "test",
    ))
    .unwrap();
    let mut stores: Vec<(&'static str, Arc<dyn Store>)> = vec![("sled", Arc::new(sled))];
    if let Some(cluster) = cluster() {
        let pg = PgStore::open(&PgOptions {
            conninfo: cluster.database(),
            key_file: key_file(dir.path()),
        })
        .unwrap();
        stores.push(("postgres", Arc::new(pg)));
    }
    Backends { _dir: dir, stores }
}

fn now() -> Timestamp {
    Timestamp(1_800_000_000)
}

#[test]
fn profiles_and_integrations_round_trip_and_go() {
    for (kind, store) in backends().stores {
        let profile = sample_profile("acme");
        store.put_profile(&profile).unwrap();
        store.put_profile(&sample_profile("beta")).unwrap();
        assert_eq!(
            store.profile("acme").unwrap(),
            Some(profile.clone()),
            "{kind}"
        );
        let names: Vec<String> = store
            .profiles()
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["acme", "beta"], "{kind}");
        assert!(store.remove_profile("beta").unwrap(), "{kind}");
        assert!(
            !store.remove_profile("beta").unwrap(),
            "{kind}: gone already"
        );

        let integration = sample_integration("jira", Some("acme"));
        store.put_integration(&integration).unwrap();
        assert_eq!(
            store.integration("jira").unwrap(),
            Some(integration.clone()),
            "{kind}"
        );
        assert_eq!(store.integrations().unwrap(), vec![integration], "{kind}");
        assert!(store.remove_integration("jira").unwrap(), "{kind}");
        assert_eq!(store.integration("jira").unwrap(), None, "{kind}");
    }
}

#[test]
fn token_sets_round_trip_and_a_conditional_write_holds_only_on_its_grant() {
    for (kind, store) in backends().stores {
        let admin = sample_tokens("jira", Principal::Admin, now());
        let alice = sample_tokens("bots", Principal::User("alice".into()), now());
        store.put_token_set(&admin).unwrap();
        store.put_token_set(&alice).unwrap();
        assert_eq!(
            store.token_set("jira", &Principal::Admin).unwrap(),
            Some(admin.clone()),
            "{kind}"
        );
        let mut summaries = store.token_summaries().unwrap();
        summaries.sort_by_key(|s| s.integration.clone());
        assert_eq!(summaries, vec![alice.summary(), admin.summary()], "{kind}");
        let found = store
            .find_token_summary("bots", &mut |s| {
                s.principal == Principal::User("alice".into())
            })
            .unwrap();
        assert_eq!(found, Some(alice.summary()), "{kind}");
        assert_eq!(
            store.find_token_summary("bots", &mut |_| false).unwrap(),
            None,
            "{kind}"
        );
        assert_eq!(
            store
                .token_summary("bots", &Principal::User("alice".into()))
                .unwrap(),
            Some(alice.summary()),
            "{kind}"
        );
        assert_eq!(
            store.token_summary("bots", &Principal::Admin).unwrap(),
            None,
            "{kind}"
        );

        let mut rotated = admin.clone();
        rotated.refresh_token = Some(Secret::new("rotated-refresh"));
        rotated.rotated_at = now().plus_secs(60);
        assert!(
            !store
                .put_token_set_if(&rotated, Some(&Secret::new("not-the-stored-one")))
                .unwrap(),
            "{kind}"
        );
        assert!(
            store
                .put_token_set_if(&rotated, admin.refresh_token.as_ref())
                .unwrap(),
            "{kind}"
        );
        assert_eq!(
            store.token_set("jira", &Principal::Admin).unwrap(),
            Some(rotated.clone()),
            "{kind}"
        );
        assert!(
            !store
                .put_token_set_if(&rotated, admin.refresh_token.as_ref())
                .unwrap(),
            "{kind}: the old token is spent"
        );
        assert!(
            store.remove_token_set("jira", &Principal::Admin).unwrap(),
            "{kind}"
        );
        assert!(
            !store
                .put_token_set_if(&rotated, rotated.refresh_token.as_ref())
                .unwrap(),
            "{kind}: removed meanwhile"
        );
        assert_eq!(
            store.token_set("jira", &Principal::Admin).unwrap(),
            None,
            "{kind}"
        );
    }
}

fn event(at: i64, n: usize) -> Event {
    Event {
        at: Timestamp(at),
        integration: "jira".into(),
        principal: None,
        kind: EventKind::Refreshed,
        outcome: format!("event {n}"),
    }
}

#[test]
fn events_come_newest_first_and_trim_from_the_oldest_end() {
    for (kind, store) in backends().stores {
        assert_eq!(store.oldest_event().unwrap(), None, "{kind}");
        for n in 0..10 {
            store.append_event(&event(1_000 + n as i64, n)).unwrap();
        }
        let newest: Vec<String> = store
            .events(3)
            .unwrap()
            .into_iter()
            .map(|e| e.outcome)
            .collect();
        assert_eq!(newest, ["event 9", "event 8", "event 7"], "{kind}");
        assert_eq!(
            store.oldest_event().unwrap(),
            Some(Timestamp(1_000)),
            "{kind}"
        );
        // Older than 1003 go, two at a time at most.
        assert_eq!(
            store.trim_events(Timestamp(1_003), 100, 2).unwrap(),
            2,
            "{kind}"
        );
        assert_eq!(
            store.trim_events(Timestamp(1_003), 100, 2).unwrap(),
            1,
            "{kind}"
        );
        assert_eq!(
            store.trim_events(Timestamp(1_003), 100, 2).unwrap(),
            0,
            "{kind}"
        );
        // Beyond the newest 4, whatever their age.
        assert_eq!(
            store.trim_events(Timestamp(0), 4, 100).unwrap(),
            3,
            "{kind}"
        );
        let kept: Vec<String> = store
            .events(100)
            .unwrap()
            .into_iter()
            .map(|e| e.outcome)
            .collect();
        assert_eq!(kept, ["event 9", "event 8", "event 7", "event 6"], "{kind}");
    }
}

#[test]
fn refresh_marks_stay_until_done() {
    for (kind, store) in backends().stores {
        let alice = Principal::User("alice".into());
        store.refresh_started("jira", &alice, Timestamp(5)).unwrap();
        store
            .refresh_started("jira", &Principal::Admin, Timestamp(6))
            .unwrap();
        let mut marks = store.refreshes_interrupted().unwrap();
        marks.sort_by_key(|m| m.2);
        assert_eq!(
            marks,
            vec![
                ("jira".to_owned(), alice.clone(), Timestamp(5)),
                ("jira".to_owned(), Principal::Admin, Timestamp(6))
            ],
            "{kind}"
        );
        store.refresh_done("jira", &alice).unwrap();
        assert_eq!(store.refreshes_interrupted().unwrap().len(), 1, "{kind}");
    }
}

fn link(expires_at: i64) -> Link {
    Link {
        integration: "bots".into(),
        user: "alice".into(),
        created_at: Timestamp(100),
        expires_at: Timestamp(expires_at),
        outcome: LinkOutcome::Pending,
    }
}

#[test]
fn a_link_is_claimed_once_of_many_tries_at_once_and_expired_links_go() {
    for (kind, store) in backends().stores {
        store.put_link("d1", &link(10_000)).unwrap();
        store.put_link("old", &link(150)).unwrap();
        assert_eq!(store.link("d1").unwrap(), Some(link(10_000)), "{kind}");
        assert_eq!(store.links().unwrap().len(), 2, "{kind}");
        let tries: Vec<_> = (0..8)
            .map(|_| {
                let store = Arc::clone(&store);
                std::thread::spawn(move || store.claim_link("d1", Timestamp(200)).unwrap())
            })
            .collect();
        let claims: Vec<Claim> = tries.into_iter().map(|t| t.join().unwrap()).collect();
        let won = claims.iter().filter(|c| matches!(c, Claim::Won(_))).count();
        assert_eq!(won, 1, "{kind}: exactly one claim wins: {claims:?}");
        assert_eq!(
            store.claim_link("nope", Timestamp(200)).unwrap(),
            Claim::Unknown,
            "{kind}"
        );
        assert!(
            matches!(
                store.claim_link("old", Timestamp(200)).unwrap(),
                Claim::Spent(_)
            ),
            "{kind}: expired"
        );
        assert_eq!(
            store.remove_links_expired(Timestamp(200)).unwrap(),
            1,
            "{kind}"
        );
        assert_eq!(store.link("old").unwrap(), None, "{kind}");
    }
}

fn exchanged(id: &str) -> Exchanged {
    Exchanged {
        id: id.into(),
        integration: "bots".into(),
        principal: Principal::User("alice".into()),
        mode: Mode::UserAuthorized,
        renewing: false,
        app_label: "the profile \"acme\"".into(),
        app_scopes: vec!["read:jira-work".into()],
        access_token: Secret::new("exchanged-access"),
        expires_in: Some(3600),
        refresh_token: Some(Secret::new("exchanged-refresh")),
        granted_scopes: vec![],
        exchanged_at: Timestamp(500),
        link: None,
        sites: None,
        tries: 0,
        last_error: None,
        awaiting_site: false,
    }
}

#[test]
fn an_exchange_is_replaced_by_a_newer_one_and_ended_only_by_its_own_id() {
    for (kind, store) in backends().stores {
        let alice = Principal::User("alice".into());
        assert_eq!(
            store.put_exchanged(&exchanged("one")).unwrap(),
            None,
            "{kind}"
        );
        let replaced = store.put_exchanged(&exchanged("two")).unwrap();
        assert_eq!(replaced, Some(exchanged("one")), "{kind}");
        let mut tried = exchanged("one");
        tried.tries = 3;
        assert!(
            !store.update_exchanged(&tried).unwrap(),
            "{kind}: no longer stored"
        );
        let mut tried = exchanged("two");
        tried.tries = 3;
        assert!(store.update_exchanged(&tried).unwrap(), "{kind}");
        assert_eq!(
            store.exchanged("bots", &alice).unwrap(),
            Some(tried.clone()),
            "{kind}"
        );
        assert_eq!(store.exchanged_all().unwrap(), vec![tried], "{kind}");
        assert!(
            !store.remove_exchanged("bots", &alice, "one").unwrap(),
            "{kind}"
        );
        assert!(
            store.remove_exchanged("bots", &alice, "two").unwrap(),
            "{kind}"
        );
        assert_eq!(store.exchanged("bots", &alice).unwrap(), None, "{kind}");
    }
}

#[test]
fn a_moved_store_takes_no_new_outcome() {
    for (kind, store) in backends().stores {
        assert_eq!(store.moved_to().unwrap(), None, "{kind}");
        store.put_link("d1", &link(10_000)).unwrap();
        store.set_moved(Some("sled:/elsewhere")).unwrap();
        assert_eq!(
            store.moved_to().unwrap().as_deref(),
            Some("sled:/elsewhere"),
            "{kind}"
        );
        for refused in [
            store.refresh_started("jira", &Principal::Admin, now()),
            store.claim_link("d1", Timestamp(200)).map(drop),
            store.room_for_outcome(),
        ] {
            let error = refused.unwrap_err();
            assert!(matches!(error, StoreError::Moved { .. }), "{kind}: {error}");
            assert_eq!(error.exit(), Exit::Usage, "{kind}");
        }
        store.set_moved(None).unwrap();
        store.room_for_outcome().unwrap();
    }
}

#[test]
fn the_version_moves_with_every_write() {
    for (kind, store) in backends().stores {
        // The shared store's version is known once its notices are listened to.
        let before = wait_for(|| store.version()).unwrap_or_else(|| panic!("{kind}: no version"));
        store.put_profile(&sample_profile("acme")).unwrap();
        let after = store.version().unwrap();
        assert!(after > before, "{kind}: {before} -> {after}");
    }
}

/// Polls `probe` until it answers, for at most ten seconds (the LISTEN connection coming up).
fn wait_for<T>(mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(found) = probe() {
            return Some(found);
        }
        if std::time::Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// What only the shared store has.

fn pg(conninfo: &str, key_file: &std::path::Path) -> Result<PgStore, StoreError> {
    PgStore::open(&PgOptions {
        conninfo: conninfo.to_owned(),
        key_file: key_file.to_owned(),
    })
}

/// Runs SQL against the database as a test, outside jira-auth.
fn sql(conninfo: &str, statement: &str) -> Vec<tokio_postgres::Row> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(conninfo, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(connection);
        client.query(statement, &[]).await.expect(statement)
    })
}

#[test]
fn four_agents_opening_at_once_migrate_once() {
    let Some(cluster) = cluster() else { return };
    let conninfo = cluster.database();
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    // The first creates the key; the others open with the same file at once.
    drop(pg(&conninfo, &key).unwrap());
    sql(
        &conninfo,
        "DELETE FROM jira_auth_meta WHERE key = 'schema_version'",
    );
    sql(
        &conninfo,
        "DROP TABLE profiles, integrations, token_sets, events, refreshing, links, exchanged, keepalive_pace, grant_leases",
    );
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let (conninfo, key) = (conninfo.clone(), key.clone());
            std::thread::spawn(move || pg(&conninfo, &key).map(drop))
        })
        .collect();
    for open in opens {
        open.join().unwrap().expect("every agent opens");
    }
    let version = sql(
        &conninfo,
        "SELECT value FROM jira_auth_meta WHERE key = 'schema_version'",
    );
    assert_eq!(version[0].get::<_, String>(0), "1");
}

#[test]
fn a_newer_schema_and_another_key_are_refused_before_anything_is_written() {
    let Some(cluster) = cluster() else { return };
    let conninfo = cluster.database();
    let dir = tempfile::tempdir().unwrap();
    let store = pg(&conninfo, &key_file(dir.path())).unwrap();
    store.put_profile(&sample_profile("acme")).unwrap();
    drop(store);

    let other = tempfile::tempdir().unwrap();
    let before = sql(&conninfo, "SELECT count(*) FROM jira_auth_meta")[0].get::<_, i64>(0);
    let refused = pg(&conninfo, &key_file(other.path()))
        .err()
        .expect("another key is refused");
    let sentence = refused.to_string();
    assert!(
        matches!(refused, StoreError::DatabaseKey { .. }),
        "{sentence}"
    );
    assert_eq!(refused.exit(), Exit::Usage);
    assert!(sentence.contains("sealed with the key"), "{sentence}");
    assert!(
        sentence.contains(&key_file(other.path()).display().to_string()),
        "{sentence}"
    );
    assert!(!sentence.contains("password"), "{sentence}");
    let after = sql(&conninfo, "SELECT count(*) FROM jira_auth_meta")[0].get::<_, i64>(0);
    assert_eq!(before, after, "nothing written by the refused agent");
    assert_eq!(
        sql(&conninfo, "SELECT count(*) FROM profiles")[0].get::<_, i64>(0),
        1
    );

    sql(
        &conninfo,
        "UPDATE jira_auth_meta SET value = '99' WHERE key = 'schema_version'",
    );
    let refused = pg(&conninfo, &key_file(dir.path()))
        .err()
        .expect("a newer schema is refused");
    assert!(
        matches!(refused, StoreError::DatabaseSchemaTooNew { found: 99, .. }),
        "{refused}"
    );
    assert_eq!(refused.exit(), Exit::Usage);
}

#[test]
fn the_database_holds_no_secret_in_clear() {
    let Some(cluster) = cluster() else { return };
    let conninfo = cluster.database();
    let dir = tempfile::tempdir().unwrap();
    let store = pg(&conninfo, &key_file(dir.path())).unwrap();
    store.put_profile(&sample_profile("acme")).unwrap();
    store
        .put_token_set(&sample_tokens("jira", Principal::Admin, now()))
        .unwrap();
    store.put_exchanged(&exchanged("one")).unwrap();
    let dump: Vec<u8> = ["profiles", "token_sets", "exchanged"]
        .iter()
        .flat_map(|table| sql(&conninfo, &format!("SELECT record FROM {table}")))
        .flat_map(|row| row.get::<_, Vec<u8>>(0))
        .collect();
    let dump = String::from_utf8_lossy(&dump);
    for secret in [
        common::CLIENT_SECRET,
        common::ACCESS_TOKEN,
        common::REFRESH_TOKEN,
        "exchanged-access",
        "exchanged-refresh",
    ] {
        assert!(
            !dump.contains(secret),
            "{secret} is in the database in clear"
        );
    }
    // The plain columns say what status needs without the key.
    let row = &sql(
        &conninfo,
        "SELECT principal, site_url, has_refresh_token FROM token_sets",
    )[0];
    assert_eq!(row.get::<_, String>(0), "admin");
    assert_eq!(
        row.get::<_, Option<String>>(1).as_deref(),
        Some("https://acme.atlassian.net")
    );
    assert!(row.get::<_, bool>(2));
}

#[test]
fn a_write_on_one_agent_is_a_notice_on_another() {
    let Some(cluster) = cluster() else { return };
    let conninfo = cluster.database();
    let dir = tempfile::tempdir().unwrap();
    let a = pg(&conninfo, &key_file(dir.path())).unwrap();
    let b = pg(&conninfo, &key_file(dir.path())).unwrap();
    let mut notices = b.notices().expect("a shared store has notices");
    wait_for(|| b.version()).expect("b listens");
    let seen = b.version().unwrap();
    a.put_token_set(&sample_tokens("jira", Principal::Admin, now()))
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let notice = runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(10), notices.recv()).await })
        .expect("a notice within 10 s")
        .unwrap();
    assert_eq!(notice, StoreNotice::Changed("tokens:jira".into()));
    assert!(
        b.version().unwrap() > seen,
        "b's version moved with the notice"
    );
}

#[test]
fn a_lease_has_one_holder_until_it_is_given_back_or_runs_out() {
    let Some(cluster) = cluster() else { return };
    let conninfo = cluster.database();
    let dir = tempfile::tempdir().unwrap();
    let store = pg(&conninfo, &key_file(dir.path())).unwrap();
    let lease = Duration::from_secs(1);
    let admin = Principal::Admin;
    assert!(store.take_grant("jira", &admin, "host-a", lease).unwrap());
    assert!(
        !store.take_grant("jira", &admin, "host-b", lease).unwrap(),
        "held by a"
    );
    assert!(
        store.take_grant("jira", &admin, "host-a", lease).unwrap(),
        "a renews its own"
    );
    assert!(
        store.take_grant("bots", &admin, "host-b", lease).unwrap(),
        "another grant is free"
    );
    store.release_grant("jira", &admin, "host-b").unwrap();
    assert!(
        !store.take_grant("jira", &admin, "host-b", lease).unwrap(),
        "b cannot give back a's"
    );
    store.release_grant("jira", &admin, "host-a").unwrap();
    assert!(
        store.take_grant("jira", &admin, "host-b", lease).unwrap(),
        "given back"
    );
    // A holder that dies frees the grant when its lease runs out; the event is the clock.
    let taken = wait_for(|| {
        store
            .take_grant("jira", &admin, "host-c", lease)
            .unwrap()
            .then_some(())
    });
    assert!(taken.is_some(), "b's lease ran out");
}

#[test]
fn the_database_down_is_temporary_and_named_and_the_store_recovers_by_itself() {
    let Some(cluster) = cluster() else { return };
    // Its own cluster: stopping the shared one would fail the tests running beside.
    let Some(own) = Cluster::start() else { return };
    let _ = cluster;
    let conninfo = own.database();
    let dir = tempfile::tempdir().unwrap();
    let store = pg(&conninfo, &key_file(dir.path())).unwrap();
    store.put_profile(&sample_profile("acme")).unwrap();
    wait_for(|| store.version()).expect("listening");
    own.stop_fast();
    let error = store.profiles().unwrap_err();
    assert_eq!(error.exit(), Exit::Temporary, "{error}");
    assert!(
        error
            .to_string()
            .contains(&own.socket_dir().display().to_string()),
        "{error}"
    );
    assert!(
        matches!(store.put_profile(&sample_profile("beta")), Err(e) if e.exit() == Exit::Temporary)
    );
    wait_for(|| store.version().is_none().then_some(()))
        .expect("the lost notices make the version unknown");
    own.start_server();
    let profiles = wait_for(|| store.profiles().ok()).expect("the store works again");
    assert_eq!(profiles.len(), 1);
    wait_for(|| store.version()).expect("listening again");
}

#[test]
fn the_fleet_keeps_one_keepalive_pace() {
    for (kind, store) in backends().stores {
        let gap = Duration::from_millis(200);
        if kind == "sled" {
            assert_eq!(
                store.keepalive_slot(gap).unwrap(),
                None,
                "one agent keeps its own pace"
            );
            continue;
        }
        // Three agents asking at once get slots a gap apart, whoever asks.
        let waits: Vec<Duration> = (0..3)
            .map(|_| store.keepalive_slot(gap).unwrap().unwrap())
            .collect();
        assert!(
            waits[0] < waits[1] && waits[1] < waits[2],
            "{kind}: {waits:?}"
        );
        assert!(
            waits[2] >= Duration::from_millis(300),
            "{kind}: the third waits two gaps: {waits:?}"
        );
    }
}

#[test]
fn a_lost_notice_connection_is_said_and_comes_back_by_itself() {
    let Some(cluster) = cluster() else { return };
    let conninfo = cluster.database();
    let dir = tempfile::tempdir().unwrap();
    let store = pg(&conninfo, &key_file(dir.path())).unwrap();
    let mut notices = store.notices().unwrap();
    wait_for(|| store.version()).expect("listening");
    // An administrator (or a failover) ends the listening session.
    sql(
        &conninfo,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'",
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut heard = Vec::new();
    runtime.block_on(async {
        while heard.last() != Some(&StoreNotice::Back) {
            let notice = tokio::time::timeout(Duration::from_secs(15), notices.recv())
                .await
                .expect("a notice within 15 s")
                .unwrap();
            heard.push(notice);
        }
    });
    assert!(matches!(heard[0], StoreNotice::Lost(_)), "{heard:?}");
    assert!(store.version().is_some(), "known again once back");
    // And the store works throughout.
    store.put_profile(&sample_profile("acme")).unwrap();
}

#[test]
fn tls_is_spoken_as_libpq_means_each_sslmode() {
    if cluster().is_none() {
        return;
    }
    let port = common::free_port();
    let tls = Cluster::start_with_tls(port).expect("a cluster");
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let name = tls.database().split("dbname=").nth(1).unwrap().to_owned();
    let ca = tls.ca_file().display().to_string();
    let tcp = |host: &str, rest: &str| {
        format!("host={host} port={port} user=postgres dbname={name} {rest}")
    };
    // The server takes TCP only over TLS: these open because they speak it.
    for opens in [
        tcp(
            "localhost",
            &format!("sslmode=verify-full sslrootcert={ca}"),
        ),
        tcp("127.0.0.1", &format!("sslmode=verify-ca sslrootcert={ca}")),
        tcp("127.0.0.1", "sslmode=require"),
        format!("postgres://postgres@localhost:{port}/{name}?sslmode=verify-full&sslrootcert={ca}"),
    ] {
        let store = pg(&opens, &key).unwrap_or_else(|e| panic!("{opens}: {e}"));
        store.put_profile(&sample_profile("acme")).unwrap();
    }
    // And these are refused: no TLS, a name the certificate does not carry, an unknown CA.
    for refused in [
        tcp("127.0.0.1", "sslmode=disable"),
        tcp(
            "127.0.0.1",
            &format!("sslmode=verify-full sslrootcert={ca}"),
        ),
        tcp("localhost", "sslmode=verify-full"),
    ] {
        // A password (the server trusts, so it is never checked) that no sentence may show.
        let refused = format!("{refused} password=never-shown-0451");
        let error = pg(&refused, &key)
            .err()
            .unwrap_or_else(|| panic!("{refused} opened"));
        assert!(!error.to_string().contains("never-shown-0451"), "{error}");
    }
}

#[test]
fn a_request_the_database_ends_midway_is_temporary_and_named() {
    let Some(cluster) = cluster() else { return };
    let conninfo = cluster.database();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(pg(&conninfo, &key_file(dir.path())).unwrap());
    store.put_link("d1", &link(10_000)).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // A session of the test holds the link's row, so the store's claim waits on it.
    let (admin, connection) = runtime
        .block_on(tokio_postgres::connect(&conninfo, tokio_postgres::NoTls))
        .unwrap();
    runtime.spawn(connection);
    runtime
        .block_on(admin.batch_execute("BEGIN; SELECT * FROM links WHERE digest = 'd1' FOR UPDATE"))
        .unwrap();
    let claiming = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || store.claim_link("d1", Timestamp(200)))
    };
    // Then the server ends the waiting session, as a shutdown or a failover does.
    let waiting = "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()";
    let pid: i32 = wait_for(|| {
        runtime
            .block_on(admin.query_opt(waiting, &[]))
            .unwrap()
            .map(|row| row.get(0))
    })
    .expect("the claim waits on the row");
    runtime
        .block_on(admin.execute("SELECT pg_terminate_backend($1)", &[&pid]))
        .unwrap();
    let error = claiming.join().unwrap().expect_err("the claim was cut off");
    assert_eq!(error.exit(), Exit::Temporary, "{error}");
    assert!(
        error
            .to_string()
            .contains(&cluster.socket_dir().display().to_string()),
        "{error}"
    );
    runtime.block_on(admin.batch_execute("ROLLBACK")).unwrap();
    // Nothing was spent: the next try wins the link.
    assert!(matches!(
        store.claim_link("d1", Timestamp(200)).unwrap(),
        Claim::Won(_)
    ));
}

/// A database as an older jira-auth left it: its key recorded, its tables not yet made.
fn before_the_first_migration(conninfo: &str, key: &std::path::Path) {
    drop(pg(conninfo, key).unwrap());
    sql(
        conninfo,
        "DELETE FROM jira_auth_meta WHERE key = 'schema_version'",
    );
    sql(
        conninfo,
        "DROP TABLE profiles, integrations, token_sets, events, refreshing, links, exchanged, keepalive_pace, grant_leases",
    );
}

#[test]
fn another_key_is_refused_before_an_older_schema_is_migrated() {
    let Some(cluster) = cluster() else { return };
    let conninfo = cluster.database();
    let dir = tempfile::tempdir().unwrap();
    before_the_first_migration(&conninfo, &key_file(dir.path()));
    let other = tempfile::tempdir().unwrap();
    let refused = pg(&conninfo, &key_file(other.path()))
        .err()
        .expect("another key is refused");
    assert!(
        matches!(refused, StoreError::DatabaseKey { .. }),
        "{refused}"
    );
    let untouched = sql(
        &conninfo,
        "SELECT to_regclass('profiles') IS NULL, (SELECT count(*) FROM jira_auth_meta WHERE key = 'schema_version')",
    );
    assert!(untouched[0].get::<_, bool>(0), "no table was made");
    assert_eq!(untouched[0].get::<_, i64>(1), 0, "no version was written");
    // The fleet's key migrates it.
    drop(pg(&conninfo, &key_file(dir.path())).unwrap());
    assert_eq!(
        sql(
            &conninfo,
            "SELECT value FROM jira_auth_meta WHERE key = 'schema_version'"
        )[0]
        .get::<_, String>(0),
        "1"
    );
}

#[test]
fn a_migration_that_fails_says_why_and_leaves_the_database_as_it_was() {
    let Some(cluster) = cluster() else { return };
    let conninfo = cluster.database();
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    before_the_first_migration(&conninfo, &key);
    // A table of that name made by someone else stands in the migration's way.
    sql(&conninfo, "CREATE TABLE links (somebody text)");
    let refused = pg(&conninfo, &key).err().expect("the migration fails");
    let sentence = refused.to_string();
    assert!(sentence.contains("\"links\" already exists"), "{sentence}");
    let untouched = sql(
        &conninfo,
        "SELECT to_regclass('profiles') IS NULL, (SELECT count(*) FROM jira_auth_meta WHERE key = 'schema_version')",
    );
    assert!(
        untouched[0].get::<_, bool>(0),
        "the migration was undone whole"
    );
    assert_eq!(untouched[0].get::<_, i64>(1), 0);
    sql(&conninfo, "DROP TABLE links");
    drop(pg(&conninfo, &key).expect("opens once the way is clear"));
}

/// A database whose text sorts by an English collation (ICU), as an admin's server often
/// does (`initdb` in an `en_US.UTF-8` locale), unlike the test cluster's C default.
fn english_database(cluster: &Cluster) -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let name = format!("jira_auth_english_{}_{n}", std::process::id());
    sql(
        &cluster.conninfo("postgres"),
        &format!(
            "CREATE DATABASE {name} TEMPLATE template0 LOCALE 'C' LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
        ),
    );
    cluster.conninfo(&name)
}

#[test]
fn lists_come_in_the_same_order_from_both_whatever_the_databases_collation() {
    let Some(cluster) = cluster() else { return };
    let dir = tempfile::tempdir().unwrap();
    let sled = SledStore::open(&OpenOptions::new(
        StorePaths {
            data_dir: dir.path().join("data"),
            key_file: key_file(dir.path()),
        },
        "test",
    ))
    .unwrap();
    let pg = pg(&english_database(cluster), &key_file(dir.path())).unwrap();
    // Upper case, digits and punctuation: where byte order and English order part.
    let names = ["alice", "Bob", "bob-2", "bob1", "Zed", "_x"];
    let orders = |store: &dyn Store| {
        for name in names {
            store.put_profile(&sample_profile(name)).unwrap();
            store
                .put_integration(&sample_integration(name, None))
                .unwrap();
            let user = Principal::User(name.into());
            store
                .put_token_set(&sample_tokens("jira", user.clone(), now()))
                .unwrap();
            store.put_link(name, &link(10_000)).unwrap();
            store.refresh_started("jira", &user, now()).unwrap();
        }
        let keys = |principals: Vec<Principal>| -> Vec<String> {
            principals.iter().map(Principal::key).collect()
        };
        let first_bob = store
            .find_token_summary("jira", &mut |s| s.principal.key().contains("ob"))
            .unwrap()
            .map(|s| s.principal.key());
        (
            store
                .profiles()
                .unwrap()
                .into_iter()
                .map(|p| p.name)
                .collect::<Vec<_>>(),
            store
                .integrations()
                .unwrap()
                .into_iter()
                .map(|i| i.name)
                .collect::<Vec<_>>(),
            keys(
                store
                    .token_summaries()
                    .unwrap()
                    .into_iter()
                    .map(|s| s.principal)
                    .collect(),
            ),
            keys(
                store
                    .token_sets()
                    .unwrap()
                    .into_iter()
                    .map(|t| t.principal)
                    .collect(),
            ),
            store
                .links()
                .unwrap()
                .into_iter()
                .map(|(digest, _)| digest)
                .collect::<Vec<_>>(),
            keys(
                store
                    .refreshes_interrupted()
                    .unwrap()
                    .into_iter()
                    .map(|(_, principal, _)| principal)
                    .collect(),
            ),
            first_bob,
        )
    };
    let from_sled = orders(&sled);
    let mut bytes: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    bytes.sort();
    assert_eq!(from_sled.0, bytes, "sled lists in byte order");
    assert_eq!(orders(&pg), from_sled);
}

#[test]
fn the_admins_own_session_options_are_kept() {
    let Some(cluster) = cluster() else { return };
    let conninfo = cluster.database();
    // An admin who keeps jira-auth's tables in a schema of their own.
    sql(&conninfo, "CREATE SCHEMA fleet");
    let dir = tempfile::tempdir().unwrap();
    let store = pg(
        &format!("{conninfo} options='-c search_path=fleet'"),
        &key_file(dir.path()),
    )
    .unwrap();
    store.put_profile(&sample_profile("acme")).unwrap();
    let found = sql(
        &conninfo,
        "SELECT to_regclass('fleet.profiles') IS NOT NULL, to_regclass('public.profiles') IS NULL, (SELECT count(*) FROM fleet.profiles)",
    );
    assert!(found[0].get::<_, bool>(0), "the tables are in the schema");
    assert!(found[0].get::<_, bool>(1), "and not in public");
    assert_eq!(found[0].get::<_, i64>(2), 1);
}

#[test]
fn of_exchanges_stored_at_once_each_replaced_one_is_told_once() {
    for (kind, store) in backends().stores {
        let barrier = Arc::new(std::sync::Barrier::new(8));
        let puts: Vec<_> = (0..8)
            .map(|n| {
                let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    store.put_exchanged(&exchanged(&format!("e{n}"))).unwrap()
                })
            })
            .collect();
        let mut told: Vec<String> = puts
            .into_iter()
            .filter_map(|put| put.join().unwrap())
            .map(|replaced| replaced.id)
            .collect();
        // Every exchange but the one left stored was replaced, and its replacer said so.
        let kept = store
            .exchanged("bots", &Principal::User("alice".into()))
            .unwrap()
            .expect("one is stored")
            .id;
        told.push(kept);
        told.sort();
        let all: Vec<String> = (0..8).map(|n| format!("e{n}")).collect();
        assert_eq!(told, all, "{kind}");
    }
}

#[test]
fn a_summary_is_found_among_many_grants_where_it_is_and_not_where_it_is_not() {
    for (kind, store) in backends().stores {
        // More than a page of PostgreSQL's reading, in an order the numbers do not keep.
        for n in 0..450 {
            let mut tokens = sample_tokens("bots", Principal::User(format!("u{n}")), now());
            tokens.last_error = (n % 150 == 149).then(|| format!("failure {n}"));
            store.put_token_set(&tokens).unwrap();
        }
        store
            .put_token_set(&sample_tokens("jira", Principal::Admin, now()))
            .unwrap();
        let found = |wanted: &mut dyn FnMut(&jira_auth::domain::TokenSummary) -> bool| {
            store
                .find_token_summary("bots", wanted)
                .unwrap()
                .map(|s| s.principal.key())
        };
        // The first in key order of those that fit: "u149" < "u299" < "u449".
        assert_eq!(
            found(&mut |s| s.last_error.is_some()).as_deref(),
            Some("user:u149"),
            "{kind}"
        );
        assert_eq!(
            found(&mut |s| s.principal.key() == "user:u99").as_deref(),
            Some("user:u99"),
            "{kind}: the last in key order"
        );
        let mut read = 0;
        assert_eq!(
            found(&mut |s| {
                read += 1;
                s.principal == Principal::Admin
            }),
            None,
            "{kind}: another integration's grant is not among them"
        );
        assert_eq!(read, 450, "{kind}: each read once");
    }
}

#[test]
fn a_database_that_cannot_be_reached_at_open_is_temporary_and_named_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let nowhere = dir.path().join("no-server-here");
    let refused = pg(
        &format!(
            "host={} port=5432 user=postgres dbname=fleet password=hunter2-secret",
            nowhere.display()
        ),
        &key_file(dir.path()),
    )
    .err()
    .expect("nothing listens there");
    let sentence = refused.to_string();
    assert_eq!(refused.exit(), Exit::Temporary, "{sentence}");
    assert!(
        sentence.contains(&nowhere.display().to_string()) && sentence.contains("fleet"),
        "{sentence}"
    );
    assert!(!sentence.contains("hunter2"), "{sentence}");
    assert!(
        !key_file(dir.path()).exists(),
        "no key is made for a database never reached"
    );
}

#[test]
fn the_store_answers_from_tokios_blocking_pool_and_from_inside_another_runtime() {
    let Some(cluster) = cluster() else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(pg(&cluster.database(), &key_file(dir.path())).unwrap());
    store.put_profile(&sample_profile("acme")).unwrap();
    // The agent's own runtime: tokio's current-thread one (this crate has no other).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let names = runtime.block_on(async {
        let blocking = {
            let store = Arc::clone(&store);
            tokio::task::spawn_blocking(move || store.profiles().unwrap())
                .await
                .unwrap()
        };
        // Called straight from a task, as a careless caller would: it blocks the task but
        // neither panics nor deadlocks, since the store's runtime is its own.
        let inline = store.profiles().unwrap();
        (blocking.len(), inline.len())
    });
    assert_eq!(names, (1, 1));
}

#[test]
fn a_login_the_database_denies_is_the_admins_to_fix() {
    let Some(cluster) = cluster() else { return };
    let conninfo = cluster.database();
    let dir = tempfile::tempdir().unwrap();
    for (wrong, named) in [
        (conninfo.replace("user=postgres", "user=nobody"), "nobody"),
        (cluster.conninfo("no_such_database"), "no_such_database"),
    ] {
        let refused = pg(&wrong, &key_file(dir.path()))
            .err()
            .unwrap_or_else(|| panic!("{wrong} opened"));
        let sentence = refused.to_string();
        assert_eq!(refused.exit(), Exit::Usage, "{sentence}");
        assert!(sentence.contains(named), "{sentence}");
        assert!(sentence.contains("pg_hba.conf"), "{sentence}");
    }
}
