//! Hostile and broken input at every entry point of the real binary: identifiers with escape
//! sequences, bidi controls and invisible characters, oversized ids, bytes that are not text
//! on stdin and in argv. Each is refused with exit 2 and a sentence, nothing is stored under
//! a changed value, and no output ever carries a byte a terminal would act on.

mod common;
mod support;

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::process::{Output, Stdio};

use common::{Interactive, Sandbox, text};
use jira_auth::store::Store;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use support::fake_atlassian::{CLIENT_SECRET, Endpoint, Fault};
use support::world::{SCOPES, World};

const CALLBACK: &str = "https://jira-auth.acme.example/callback";

/// The shared world with the profile `acme` and the user-authorized integration
/// `support` through it.
fn world() -> World {
    let world = World::with_callback(CALLBACK);
    world.profile(CLIENT_SECRET, SCOPES);
    world.setup("support", "user-authorized");
    world
}

/// What only these tests do with the shared world.
impl World {
    /// Runs the binary with `args` (any bytes but NUL), feeding `stdin` and closing it.
    fn run_bytes<A: AsRef<OsStr>>(&self, args: &[A], stdin: &[u8]) -> Output {
        use std::io::Write;
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn jira-auth");
        let mut input = child.stdin.take().expect("stdin");
        let stdin = stdin.to_vec();
        // A command may exit before it reads everything: a broken pipe is its business.
        let writer = std::thread::spawn(move || {
            let _ = input.write_all(&stdin);
        });
        let out = child.wait_with_output().expect("wait for jira-auth");
        let _ = writer.join();
        out
    }

    fn profile_names(&self) -> Vec<String> {
        let out = self.run_bytes(&["profile", "list", "--json"], b"");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let profiles: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        profiles
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// The characters a terminal acts on or nobody can see, in what a command printed: C0 but
/// `\n`, DEL, C1, bidi and other format characters. Also any raw ESC byte.
fn hidden_in(bytes: &[u8]) -> Option<char> {
    if bytes.contains(&0x1b) {
        return Some('\u{1b}');
    }
    String::from_utf8_lossy(bytes).chars().find(|&c| {
        (c.is_control() && c != '\n')
            || matches!(
                c,
                '\u{ad}'
                    | '\u{61c}'
                    | '\u{200b}'..='\u{200f}'
                    | '\u{2028}'..='\u{202e}'
                    | '\u{2060}'..='\u{206f}'
                    | '\u{feff}'
                    | '\u{e0000}'..='\u{e007f}'
            )
    })
}

/// A clean outcome: an exit code DESIGN.md gives for input (never 1 or a panic), and nothing
/// on stdout or stderr that a terminal would act on.
fn assert_clean(out: &Output, what: &str) {
    let code = out.status.code();
    assert!(
        matches!(code, Some(0 | 2 | 3 | 4)),
        "{what}: exit {code:?}\nstderr: {}",
        text(&out.stderr)
    );
    for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert_eq!(
            hidden_in(bytes),
            None,
            "{what}: {name} carries a hidden character: {:?}",
            text(bytes)
        );
    }
}

/// Exit 2, a clean stderr that says `says`.
fn assert_refused(out: &Output, says: &str, what: &str) {
    assert_clean(out, what);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
    assert!(
        stderr.contains(says),
        "{what}: expected {says:?} in {stderr}"
    );
}

const EVIL_USER: &str = "eve\u{1b}]0;owned\u{7}\u{1b}[2J";

/// A data directory whose name holds escape sequences: every sentence that names it (a store
/// not there yet, one that cannot be created, no agent running) reaches the terminal with no
/// byte a terminal would act on, and the path still shows.
#[test]
fn a_data_dir_holding_escapes_never_reaches_the_terminal_raw() {
    let sandbox = Sandbox::new();
    let missing = sandbox
        .root
        .path()
        .join("evil\u{1b}]0;pwned\u{7}\u{1b}[2J")
        .join("data");
    // A regular file where a directory must be: nothing can be created beneath it.
    let blocker = sandbox.root.path().join("file\u{1b}[31m\u{9b}6n");
    std::fs::write(&blocker, b"").unwrap();
    let blocked = blocker.join("data");
    let cases: [(&std::path::Path, &[&str], &str); 4] = [
        (&missing, &["status"], "nothing is configured"),
        (&missing, &["agent", "status"], "no agent is running"),
        (&blocked, &["token"], "file"),
        (&blocked, &["agent"], "cannot create the data directory"),
    ];
    for (dir, args, says) in cases {
        let out = sandbox
            .command()
            .arg("--data-dir")
            .arg(dir)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run jira-auth");
        let what = format!("{args:?}");
        for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            assert_eq!(
                hidden_in(bytes),
                None,
                "{what}: {name} carries a hidden character: {:?}",
                text(bytes)
            );
        }
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(says) && stderr.contains(sandbox.root.path().to_str().unwrap()),
            "{what}: {stderr}"
        );
    }
    assert!(!missing.exists(), "a read-only command created nothing");
}

/// A setting out of range stops an agent before it touches the store, and the client that
/// started it shows why (exit 2), the hostile value written out harmlessly.
#[test]
fn a_setting_out_of_range_is_refused_by_the_agent_the_client_starts() {
    let sandbox = common::agent::existing_store();
    let cases = [
        ("JIRA_AUTH_KEEPALIVE_RATE", "1e-30", "0.01 to 100"),
        ("JIRA_AUTH_ROTATE_AFTER", "0s", "at least 1d and under 90d"),
        ("JIRA_AUTH_EVENTS_MAX", "\u{1b}[31m5", "100 to 10000000"),
        ("JIRA_AUTH_EVENTS_KEEP", "1h", "1d to 3650d"),
        ("JIRA_AUTH_AGENT_IDLE", "0s", "1s to 7d"),
    ];
    for (name, value, range) in cases {
        let out = sandbox
            .command()
            .env(name, value)
            .args(["status"])
            .stdin(Stdio::null())
            .output()
            .expect("run jira-auth");
        let what = format!("{name}={value:?}");
        assert_refused(&out, range, &what);
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(name) && stderr.contains("e.g."),
            "{what}: {stderr}"
        );
        assert!(
            !sandbox.data_dir().join("agent.sock").exists(),
            "{what}: no agent serves"
        );
        // Run by hand, the agent refuses the same way.
        let out = sandbox
            .command()
            .env(name, value)
            .arg("agent")
            .stdin(Stdio::null())
            .output()
            .expect("run jira-auth agent");
        assert_refused(&out, range, &what);
    }
    // Good values are taken: the agent starts, answers, and is stopped.
    let out = sandbox
        .command()
        .env("JIRA_AUTH_KEEPALIVE_RATE", "0.5")
        .env("JIRA_AUTH_EVENTS_MAX", "1000")
        .args(["status"])
        .stdin(Stdio::null())
        .output()
        .expect("run jira-auth");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    sandbox.stop_agent();
}

#[test]
fn a_user_id_with_escapes_is_refused_before_anything_is_stored() {
    let world = world();
    let out = world.run_bytes(
        &[
            "authorize",
            "--integration",
            "support",
            "--user",
            EVIL_USER,
            "--paste",
        ],
        b"",
    );
    assert_refused(&out, "The user id \"eve\\u{1b}]0;owned", "escapes");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("escape sequence"), "{stderr}");
    assert!(
        !stderr.lines().any(|l| l.starts_with("http")),
        "refused before an authorization URL was made: {stderr}"
    );

    let huge = "a".repeat(100 * 1024);
    let out = world.run_bytes(
        &[
            "authorize",
            "--integration",
            "support",
            "--user",
            huge.as_str(),
        ],
        b"",
    );
    assert_refused(&out, "limit is 256", "a 100 KB user id");
    assert!(
        out.stderr.len() < 1024,
        "the echo is capped: {}",
        out.stderr.len()
    );

    for args in [&["status"][..], &["status", "--json"][..]] {
        let out = world.run_bytes(args, b"");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_clean(&out, &args.join(" "));
        assert!(!text(&out.stdout).contains("eve"), "{}", text(&out.stdout));
    }
    let status = world.run_bytes(&["status", "--json"], b"");
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(json["integrations"][0]["tokens"], serde_json::json!([]));
    assert!(world.sandbox.open().token_sets().unwrap().is_empty());
}

#[test]
fn a_profile_name_with_escapes_is_refused_not_saved_under_a_cleaned_name() {
    let world = world();
    for name in ["acme2\u{1b}[31m", "\u{1b}]0;x\u{7}acme2", "acme2\u{9b}2J"] {
        let mut args = world.fake.profile_add_args(CALLBACK, "read:jira-work");
        args[3] = name.to_owned();
        let out = world.run_bytes(&args, CLIENT_SECRET.as_bytes());
        assert_refused(&out, "The profile name", name);
        assert!(text(&out.stderr).contains("escape sequence"));
    }
    assert_eq!(world.profile_names(), ["acme"], "nothing was saved");

    let out = world.run_bytes(&["profile", "rm", "acme\u{1b}[2J"], b"");
    assert_refused(&out, "No profile can have such a name", "rm");
    assert_eq!(world.profile_names(), ["acme"]);
}

#[test]
fn bidi_controls_and_invisible_characters_are_refused_in_every_identifier() {
    let world = world();
    let hostile = [
        ("acme\u{202e}", "bidi control U+202E"),
        ("ac\u{2066}me", "bidi control U+2066"),
        ("acme\u{200f}", "bidi control U+200F"),
        ("ac\u{200b}me", "invisible character U+200B"),
        ("ac\u{200d}me", "invisible character U+200D"),
        ("\u{feff}acme", "invisible character U+FEFF"),
        ("ac\u{2060}me", "invisible character U+2060"),
        ("ac\u{ad}me", "invisible character U+00AD"),
    ];
    for (bad, reason) in hostile {
        let mut add = world.fake.profile_add_args(CALLBACK, "read:jira-work");
        add[3] = bad.to_owned();
        let out = world.run_bytes(&add, CLIENT_SECRET.as_bytes());
        assert_refused(&out, "The profile name", bad);
        assert!(text(&out.stderr).contains(reason), "{}", text(&out.stderr));

        let entries: [(&[&str], &str); 5] = [
            (
                &[
                    "setup",
                    "--integration",
                    bad,
                    "--mode",
                    "user-authorized",
                    "--profile",
                    "acme",
                ],
                "The integration name",
            ),
            (
                &["setup", "--mode", "user-authorized", "--profile", bad],
                "The profile name",
            ),
            (
                &["authorize", "--integration", bad, "--paste"],
                "The integration name",
            ),
            (
                &[
                    "authorize",
                    "--integration",
                    "support",
                    "--user",
                    bad,
                    "--paste",
                ],
                "The user id",
            ),
            (&["profile", "rm", bad], "The profile name"),
        ];
        for (args, says) in entries {
            let out = world.run_bytes(args, b"");
            assert_refused(&out, says, &format!("{args:?}"));
            assert!(text(&out.stderr).contains(reason), "{}", text(&out.stderr));
        }
    }
    assert_eq!(world.profile_names(), ["acme"]);
    let status = world.run_bytes(&["status", "--json"], b"");
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(json["integrations"].as_array().unwrap().len(), 1);
}

#[test]
fn a_user_id_with_spaces_and_letters_from_anywhere_is_fine() {
    let world = world();
    let mut run = Interactive::spawn(
        world.command(),
        &[
            "authorize",
            "--integration",
            "support",
            "--user",
            "Zoë Ångström (李)",
            "--paste",
        ],
    );
    let url = run.url();
    let redirect = world.fake.consent(&url);
    run.send_line(&redirect);
    let (code, _, stderr) = run.finish();
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("for user Zoë Ångström (李)"), "{stderr}");
    let out = world.run_bytes(
        &[
            "authorize",
            "--integration",
            "support",
            "--user",
            " bob",
            "--paste",
        ],
        b"",
    );
    assert_refused(&out, "starts or ends with whitespace", "a leading space");
}

#[test]
fn bytes_that_are_not_text_are_bad_input_at_each_entry_point() {
    let world = world();
    let mut add = world.fake.profile_add_args(CALLBACK, "read:jira-work");
    add[3] = "binary".to_owned();
    let out = world.run_bytes(&add, b"ATOA\xff\xfe\x00secret");
    assert_refused(
        &out,
        "the client secret on standard input is not UTF-8 text",
        "secret",
    );
    assert_eq!(world.profile_names(), ["acme"]);

    let out = world.run_bytes(
        &[
            "authorize",
            "--integration",
            "support",
            "--user",
            "bob",
            "--paste",
        ],
        b"http://x/cb?code=\xc3\x28&state=y\n",
    );
    assert_refused(&out, "the pasted redirect is not UTF-8 text", "paste");

    for at in [3usize, 5] {
        let mut args: Vec<OsString> = [
            "authorize",
            "--integration",
            "support",
            "--user",
            "bob",
            "--paste",
        ]
        .map(OsString::from)
        .to_vec();
        args[at] = OsString::from_vec(b"bo\xffb".to_vec());
        let out = world.run_bytes(&args, b"");
        assert_clean(&out, "argv");
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    }
    let out = world.run_bytes(&["authorize", "--user", "-\u{1b}[2J"], b"");
    assert_clean(&out, "an option-like value clap refuses");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn trouble_on_atlassians_side_is_temporary_not_bad_input() {
    let world = world();
    let authorize = [
        "authorize",
        "--integration",
        "support",
        "--user",
        "bob",
        "--paste",
    ];

    // The redirect says server_error: consent again in a moment.
    let mut run = Interactive::spawn(world.command(), &authorize);
    let url = run.url();
    let state = url::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    run.send_line(&format!(
        "{CALLBACK}?error=temporarily_unavailable&error_description=busy&state={state}"
    ));
    let (code, _, stderr) = run.finish();
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("temporarily_unavailable") && stderr.contains("try again"));

    // The token endpoint answers 400 server_error (with escapes in its description).
    world
        .fake
        .fail_next(Endpoint::Token, Fault::EvilDescription, 1);
    let mut run = Interactive::spawn(world.command(), &authorize);
    let url = run.url();
    run.send_line(&world.fake.consent(&url));
    let (code, stdout, stderr) = run.finish();
    assert_eq!(code, 4, "{stderr}");
    assert!(
        stderr.contains("server_error") && stderr.contains("temporary"),
        "{stderr}"
    );
    assert_eq!(hidden_in(stderr.as_bytes()), None, "{stderr:?}");
    assert_eq!(hidden_in(stdout.as_bytes()), None, "{stdout:?}");
    assert!(world.sandbox.open().token_sets().unwrap().is_empty());
}

/// Where arbitrary bytes go in.
#[derive(Clone, Copy, Debug)]
enum Entry {
    ProfileName,
    SetupIntegration,
    SetupProfile,
    AuthorizeIntegration,
    UserId,
    ProfileRm,
    PastedRedirect,
    ClientSecret,
}

const ENTRIES: [Entry; 8] = [
    Entry::ProfileName,
    Entry::SetupIntegration,
    Entry::SetupProfile,
    Entry::AuthorizeIntegration,
    Entry::UserId,
    Entry::ProfileRm,
    Entry::PastedRedirect,
    Entry::ClientSecret,
];

const PIECES: &[&[u8]] = &[
    b"acme",
    b"bob",
    b"-",
    b".",
    b"_",
    b" ",
    b"@",
    b"\n",
    b"\r\n",
    b"code=",
    b"?code=abcdefgh1234&state=x",
    b"\x1b[2J",
    b"\x1b]0;owned\x07",
    b"\x1bP",
    "\u{202e}".as_bytes(),
    "\u{200b}".as_bytes(),
    "\u{feff}".as_bytes(),
    "\u{ad}".as_bytes(),
    b"\xff",
    b"\xfe",
    b"\xc3\x28",
    b"\xed\xa0\x80",
    "Zoë".as_bytes(),
];

/// Arbitrary bytes, weighted towards what breaks terminals and decoders: every C0 and C1
/// control (C1 both as UTF-8 and as a raw byte), escape sequences, bidi and zero-width
/// characters, invalid UTF-8, and plain text around them; also values clap reads as options
/// (it echoes those), and plain values that are accepted, so the paths past the checks run.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => prop::sample::select(PIECES.to_vec()).prop_map(<[u8]>::to_vec),
        2 => (0u8..0x20).prop_map(|b| vec![b]),
        1 => (0x80u8..0xa0).prop_map(|b| vec![0xc2, b]),
        1 => (0x7fu8..0xa0).prop_map(|b| vec![b]),
        1 => any::<u8>().prop_map(|b| vec![b]),
    ];
    let hostile = prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat());
    prop_oneof![
        4 => hostile.clone(),
        1 => hostile.prop_map(|bytes| [&b"-"[..], &bytes].concat()),
        1 => "[a-zA-Z0-9._-]{1,12}".prop_map(String::into_bytes),
        1 => "[A-Za-z0-9]{8,24}\n?".prop_map(String::into_bytes),
    ]
}

/// Runs one entry point with `bytes` in it.
fn feed(world: &World, entry: Entry, bytes: &[u8]) -> Output {
    // argv cannot hold NUL; stdin can.
    let arg = OsStr::from_bytes(bytes).to_owned();
    let arg = OsString::from_vec(arg.into_vec().into_iter().filter(|b| *b != 0).collect());
    let os = |args: &[&str]| -> Vec<OsString> { args.iter().map(OsString::from).collect() };
    let with = |mut args: Vec<OsString>, at: usize| {
        args[at] = arg.clone();
        args
    };
    let mut add: Vec<OsString> = world
        .fake
        .profile_add_args(CALLBACK, "read:jira-work")
        .into_iter()
        .map(OsString::from)
        .collect();
    let authorize = os(&[
        "authorize",
        "--integration",
        "support",
        "--user",
        "bob",
        "--paste",
    ]);
    match entry {
        Entry::ProfileName => world.run_bytes(&with(add, 3), CLIENT_SECRET.as_bytes()),
        Entry::SetupIntegration => world.run_bytes(
            &with(
                os(&[
                    "setup",
                    "--integration",
                    "",
                    "--mode",
                    "user-authorized",
                    "--profile",
                    "acme",
                ]),
                2,
            ),
            b"",
        ),
        Entry::SetupProfile => world.run_bytes(
            &with(
                os(&[
                    "setup",
                    "--integration",
                    "other",
                    "--mode",
                    "user-authorized",
                    "--profile",
                    "",
                ]),
                6,
            ),
            b"",
        ),
        Entry::AuthorizeIntegration => world.run_bytes(&with(authorize, 2), b""),
        Entry::UserId => world.run_bytes(&with(authorize, 4), b""),
        Entry::ProfileRm => world.run_bytes(&with(os(&["profile", "rm", ""]), 2), b""),
        Entry::PastedRedirect => world.run_bytes(&authorize, bytes),
        Entry::ClientSecret => {
            add[3] = OsString::from("fuzzed");
            world.run_bytes(&add, bytes)
        }
    }
}

#[test]
fn arbitrary_bytes_at_any_entry_point_exit_cleanly_and_print_nothing_hidden() {
    let world = world();
    let mut runner = TestRunner::new(Config {
        // Each case spawns the binary; the pure validators have their own many-case
        // properties (src/validate/proptests.rs).
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (prop::sample::select(ENTRIES.to_vec()), hostile_bytes());
    let outcome = runner.run(&strategy, |(entry, bytes)| {
        let out = feed(&world, entry, &bytes);
        let code = out.status.code();
        prop_assert!(
            matches!(code, Some(0 | 2 | 3 | 4)),
            "{entry:?} {bytes:?}: exit {code:?}\nstderr: {}",
            text(&out.stderr)
        );
        for (name, printed) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            prop_assert_eq!(
                hidden_in(printed),
                None,
                "{:?} {:?}: {} {:?}",
                entry,
                bytes,
                name,
                text(printed)
            );
        }
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
    // Whatever was accepted is readable back, cleanly.
    let out = world.run_bytes(&["status"], b"");
    assert_clean(&out, "status after the run");
    let out = world.run_bytes(&["status", "--json"], b"");
    assert_clean(&out, "status --json after the run");
}
