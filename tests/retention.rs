//! The audit trail's retention, end to end: a store seeded with events past both limits is
//! trimmed by the real agent in the background, soon after it starts, while it keeps
//! answering; the console's Events screen says what is kept and how far back it goes.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::agent::Reaped;
use common::pty::PtySession;
use common::{Sandbox, text};
use jira_auth::domain::{Event, EventKind, Timestamp};
use jira_auth::store::Store;

const DAY: i64 = 86_400;
/// Events older than the default 90 days.
const OLD: usize = 2_500;
/// Recent events, more than the count the test allows.
const RECENT: usize = 1_500;
const MAX: usize = 1_000;

fn event(at: Timestamp, n: usize) -> Event {
    Event {
        at,
        integration: "jira".into(),
        principal: Some("admin".into()),
        kind: EventKind::Refreshed,
        outcome: format!("refresh {n}"),
    }
}

#[test]
fn the_agent_trims_the_trail_by_age_and_count_while_it_answers() {
    let sandbox = Sandbox::new();
    let now = Timestamp::now();
    {
        let store = sandbox.open();
        let seeding = Instant::now();
        for n in 0..OLD {
            let age = 200 * DAY - i64::try_from(n).unwrap();
            store.append_event(&event(now.plus_secs(-age), n)).unwrap();
        }
        for n in 0..RECENT {
            let age = 3_600 - i64::try_from(n).unwrap();
            store
                .append_event(&event(now.plus_secs(-age), OLD + n))
                .unwrap();
        }
        eprintln!("seeded {} events in {:?}", OLD + RECENT, seeding.elapsed());
        assert_eq!(store.events(usize::MAX).unwrap().len(), OLD + RECENT);
    }

    // Started by hand (so it never exits idle), its log kept for a failure's message.
    let log_file = sandbox.root.path().join("agent.err");
    let mut command = sandbox.command();
    command
        .arg("agent")
        .env("JIRA_AUTH_EVENTS_MAX", MAX.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_file).unwrap());
    let mut agent = Reaped(command.spawn().expect("spawn jira-auth agent"));
    let log = || std::fs::read_to_string(&log_file).unwrap_or_default();
    // It trims soon after it starts, in batches, and answers every command meanwhile.
    let started = Instant::now();
    let mut answered = 0;
    while !log().contains("trimmed") {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no trim in 60 s: {}",
            log()
        );
        assert!(agent.running(), "the agent exited: {}", log());
        let asked = Instant::now();
        let out = sandbox.run(&["status", "--json"], "");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(
            asked.elapsed() < Duration::from_secs(10),
            "status took {:?}",
            asked.elapsed()
        );
        answered += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!(
        "trimmed within {:?} of the start, {answered} status answers meanwhile; {}",
        started.elapsed(),
        log()
            .lines()
            .find(|l| l.contains("trimmed"))
            .unwrap_or_default()
    );
    assert!(
        log().contains(&format!("trimmed {} event(s)", OLD + RECENT - MAX)),
        "{}",
        log()
    );

    // The Events screen says how far back the trail goes: the oldest kept is the first
    // recent event beyond the count.
    let oldest = now.plus_secs(-3_600 + i64::try_from(RECENT - MAX).unwrap());
    let mut console = PtySession::spawn(&[], &sandbox.pty_env(), 120, 40);
    console.wait_for("Welcome to jira-auth");
    console.send("e");
    console.wait_for(&format!(
        "kept: 90 days or 1,000 events; oldest {}",
        &oldest.rfc3339()[..10]
    ));
    console.send("q");
    assert_eq!(console.wait_exit(), 0);

    sandbox.stop_agent();
    assert!(agent.wait_exit().is_some(), "the agent stopped");
    // The newest MAX events stay; every old one went.
    let store = sandbox.open();
    let kept: Vec<String> = store
        .events(usize::MAX)
        .unwrap()
        .into_iter()
        .map(|e| e.outcome)
        .collect();
    let expected: Vec<String> = (OLD + RECENT - MAX..OLD + RECENT)
        .rev()
        .map(|n| format!("refresh {n}"))
        .collect();
    assert_eq!(kept, expected);
    assert_eq!(store.oldest_event().unwrap(), Some(oldest));
}
