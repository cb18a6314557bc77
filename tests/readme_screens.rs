//! The README's pictures of the main screens (Home with an alert, the profile form with its
//! checklist, Authorize with both ways back, Tokens), captured from the real binary in a
//! pseudo-terminal over a seeded store. The test fails when the README or docs/screens/
//! drift from what the binary draws; `scripts/screenshots.sh` (which sets
//! JIRA_AUTH_UPDATE_SCREENSHOTS=1) rewrites both instead.
//!
//! Nothing here reaches Atlassian: the seeded grants are not due for a refresh and Authorize
//! only builds its URL and listens. What changes from run to run is made fixed in the picture
//! (the authorization URL's state, the callback port when 8717 is taken) or ignored in the
//! comparison (countdowns and ages, which move with the clock).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::pty::{PtySession, WAIT};
use common::{Sandbox, sample_integration, sample_profile, sample_tokens, text};
use jira_auth::domain::{Mode, Principal, Timestamp};
use jira_auth::store::Store;

/// Wide enough for the profile form's checklist beside its fields, as in the snapshot tests.
const COLS: u16 = 120;
const ROWS: u16 = 24;
/// The callback port the pictures show.
const PICTURED_PORT: u16 = 8717;
/// The developer console's generated authorization URL, as an admin would paste it.
const GENERATED_URL: &str = "https://auth.atlassian.com/authorize?audience=api.atlassian.com\
&client_id=Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56&scope=read%3Ajira-work%20write%3Ajira-work\
%20offline_access&redirect_uri=http%3A%2F%2Flocalhost%3A8717%2Fcallback\
&state=$%7BYOUR_USER_BOUND_VALUE%7D&response_type=code&prompt=consent";

struct Picture {
    name: &'static str,
    text: String,
}

#[test]
fn the_readme_shows_the_screens_as_the_binary_draws_them() {
    let pictures = capture();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme_path = root.join("README.md");
    let readme = std::fs::read_to_string(&readme_path).expect("read README.md");
    if std::env::var_os("JIRA_AUTH_UPDATE_SCREENSHOTS").is_some() {
        let dir = root.join("docs/screens");
        std::fs::create_dir_all(&dir).expect("create docs/screens");
        let mut updated = readme;
        for picture in &pictures {
            std::fs::write(dir.join(format!("{}.txt", picture.name)), &picture.text)
                .expect("write a picture");
            updated = splice(&updated, picture.name, &picture.text);
        }
        std::fs::write(&readme_path, updated).expect("write README.md");
        return;
    }
    let mut drifted = Vec::new();
    for picture in &pictures {
        let file = root.join(format!("docs/screens/{}.txt", picture.name));
        let stored = std::fs::read_to_string(&file).unwrap_or_default();
        let shown = block(&readme, picture.name).unwrap_or_default();
        if comparable(&stored) != comparable(&picture.text)
            || comparable(&shown) != comparable(&picture.text)
        {
            drifted.push(format!(
                "{} now looks like this:\n{}",
                picture.name, picture.text
            ));
        }
    }
    assert!(
        drifted.is_empty(),
        "README's pictures differ from the binary; run scripts/screenshots.sh and review \
         the diff.\n{}",
        drifted.join("\n")
    );
}

/// Drives the console through the four screens and returns their pictures.
fn capture() -> Vec<Picture> {
    let port = free_port_near(PICTURED_PORT);
    let sandbox = Sandbox::new();
    seed(&sandbox, port);
    // The first client starts the agent, which makes the files the test wrote private and
    // says so; that notice belongs to this command, not to the pictures.
    let out = sandbox.run(&["status"], "");
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(3),
        "{}",
        text(&out.stderr)
    );
    let mut console = PtySession::spawn(&[], &sandbox.pty_env(), COLS, ROWS);
    let home = settled(&console, "must be authorized again");
    console.send("t");
    let tokens = settled(&console, "Tokens (3/3)");
    console.send("\x1b");
    settled(&console, "must be authorized again");
    // Home's selection is still the first integration, the pre-authorized one.
    console.send("a");
    let authorize = settled(&console, "Listening on");
    let authorize = fixed_port(&fixed_state(&authorize), port);
    console.send("\x1b");
    settled(&console, "must be authorized again");
    console.send("p");
    settled(&console, "Profiles");
    console.send("n");
    settled(&console, "New authorization profile");
    console.send("ops");
    focus(&mut console, "Authorization URL");
    console.paste(GENERATED_URL);
    settled(&console, "Filled the client ID");
    // On to the next field, so the pasted one shows from its start.
    console.send("\t");
    let form = settled(&console, "Filled the client ID");
    // Ctrl-C: quit now, the half-filled form is not saved.
    console.send("\x03");
    assert_eq!(console.wait_exit(), 0);
    [
        ("home", home),
        ("profile-form", form),
        ("authorize", authorize),
        ("tokens", tokens),
    ]
    .into_iter()
    .map(|(name, screen)| Picture {
        name,
        text: picture(&screen),
    })
    .collect()
}

/// Two integrations through one profile: a pre-authorized one with a valid token, and a
/// user-authorized one where one user's grant died (Home's alert).
fn seed(sandbox: &Sandbox, port: u16) {
    let store = sandbox.open();
    let mut profile = sample_profile("acme");
    profile.callback_url = format!("http://localhost:{port}/callback");
    store.put_profile(&profile).expect("seed the profile");
    store
        .put_integration(&sample_integration("jira", Some("acme")))
        .expect("seed jira");
    let mut support = sample_integration("support", Some("acme"));
    support.mode = Mode::UserAuthorized;
    store.put_integration(&support).expect("seed support");
    let now = Timestamp::now();
    const DAY: i64 = 86_400;
    // Ages half an hour past a whole day, so "days left" (rounded down) cannot tick over
    // between seeding and drawing.
    const HALF_HOUR: i64 = 1_800;
    // Expiries half a minute past a whole minute, so countdowns read the same for a while.
    let mut admin = sample_tokens(
        "jira",
        Principal::Admin,
        now.plus_secs(-3 * DAY - HALF_HOUR),
    );
    admin.access_expires_at = now.plus_secs(2 * 3600 + 30 * 60 + 30);
    let mut alice = sample_tokens(
        "support",
        Principal::User("alice@acme.example".into()),
        now.plus_secs(-20 * DAY - HALF_HOUR),
    );
    alice.access_expires_at = now.plus_secs(5 * 3600 + 12 * 60 + 30);
    let mut bob = sample_tokens(
        "support",
        Principal::User("bob@acme.example".into()),
        now.plus_secs(-95 * DAY - HALF_HOUR),
    );
    bob.access_expires_at = now.plus_secs(-DAY);
    bob.reauthorization_required = true;
    bob.last_error = Some("Atlassian refused the refresh token (invalid_grant)".into());
    for tokens in [admin, alice, bob] {
        store.put_token_set(&tokens).expect("seed tokens");
    }
}

/// The screen once it shows `marker` and the frame is whole (a frame can arrive in pieces).
fn settled(console: &PtySession, marker: &str) -> String {
    console.wait_drawn(marker)
}

/// Tabs through the profile form until the field labelled `label` has the focus marker.
fn focus(console: &mut PtySession, label: &str) {
    for _ in 0..12 {
        let screen = settled(console, label);
        let focused = screen
            .lines()
            .any(|line| line.contains(label) && line.trim_start().starts_with('›'));
        if focused {
            return;
        }
        console.send("\t");
        let started = Instant::now();
        while console.screen() == screen {
            assert!(started.elapsed() < WAIT, "Tab moved nothing:\n{screen}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("never reached {label}:\n{}", console.screen());
}

/// A loopback port from `wanted` up that nothing listens on, of the same width, so the
/// picture can show `wanted` without moving a character.
fn free_port_near(wanted: u16) -> u16 {
    (wanted..wanted + 80)
        .find(|port| std::net::TcpListener::bind(("127.0.0.1", *port)).is_ok())
        .expect("a free port near 8717")
}

fn fixed_port(screen: &str, port: u16) -> String {
    screen
        .replace(&format!(":{port}/"), &format!(":{PICTURED_PORT}/"))
        .replace(&format!("%3A{port}%2F"), &format!("%3A{PICTURED_PORT}%2F"))
}

/// The authorization URL's state is new each time: the same number of `x` stand in for it,
/// across the lines the URL wraps over.
fn fixed_state(screen: &str) -> String {
    let mut lines: Vec<String> = screen.lines().map(str::to_owned).collect();
    let Some(first) = lines
        .iter()
        .position(|l| l.trim_start().starts_with("https://"))
    else {
        return screen.to_owned();
    };
    let last = lines[first..]
        .iter()
        .position(|l| l.trim().is_empty())
        .map_or(lines.len(), |n| first + n);
    let parts: Vec<(usize, String)> = lines[first..last]
        .iter()
        .map(|l| {
            let body = l.trim();
            (l.find(body).unwrap_or(0), body.to_owned())
        })
        .collect();
    let mut url: String = parts.iter().map(|(_, body)| body.as_str()).collect();
    if let Some(at) = url.find("state=") {
        let start = at + "state=".len();
        let end = url[start..].find('&').map_or(url.len(), |n| start + n);
        url.replace_range(start..end, &"x".repeat(end - start));
    }
    let mut rest = url.as_str();
    for (line, (indent, body)) in lines[first..last].iter_mut().zip(&parts) {
        let (piece, tail) = rest.split_at(body.len().min(rest.len()));
        *line = format!("{}{piece}", " ".repeat(*indent));
        rest = tail;
    }
    lines.join("\n")
}

/// The screen as a picture: no trailing blanks on a line, no blank lines at the end.
fn picture(screen: &str) -> String {
    let lines: Vec<&str> = screen.lines().map(str::trim_end).collect();
    let keep = lines
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(0, |n| n + 1);
    let mut text = lines[..keep].join("\n");
    text.push('\n');
    text
}

/// What must not drift: the words and their order. Countdowns and ages ("2h 30m", "95d",
/// "47m 30s") move with the clock, and a wider number moves the spaces after it.
fn comparable(picture: &str) -> String {
    let mut out = String::new();
    let mut chars = picture.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            let mut digits = c.to_string();
            while let Some(d) = chars.next_if(char::is_ascii_digit) {
                digits.push(d);
            }
            let unit = chars.peek().copied();
            let after_unit = {
                let mut ahead = chars.clone();
                ahead.next();
                ahead.next()
            };
            let is_duration = matches!(unit, Some('d' | 'h' | 'm' | 's'))
                && !after_unit.is_some_and(char::is_alphanumeric);
            if is_duration {
                chars.next();
                out.push('#');
            } else {
                out.push_str(&digits);
            }
        } else {
            out.push(c);
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

const FENCE: &str = "```";

fn markers(name: &str) -> (String, String) {
    (
        format!("<!-- screen:{name} (scripts/screenshots.sh rewrites this block) -->"),
        format!("<!-- /screen:{name} -->"),
    )
}

/// The picture between `name`'s markers in the README.
fn block(readme: &str, name: &str) -> Option<String> {
    let (open, close) = markers(name);
    let start = readme.find(&open)? + open.len();
    let end = start + readme[start..].find(&close)?;
    let inner = readme[start..end].trim();
    let inner = inner
        .strip_prefix(&format!("{FENCE}text"))?
        .strip_suffix(FENCE)?;
    Some(inner.trim_start_matches('\n').to_owned())
}

/// The README with `name`'s block holding `picture`; the block must exist (it says where
/// on the page the picture goes).
fn splice(readme: &str, name: &str, picture: &str) -> String {
    let (open, close) = markers(name);
    let start = readme
        .find(&open)
        .unwrap_or_else(|| panic!("README.md has no {open} marker: add one where it belongs"))
        + open.len();
    let end = start
        + readme[start..]
            .find(&close)
            .unwrap_or_else(|| panic!("README.md has no {close} marker"));
    format!(
        "{}\n{FENCE}text\n{picture}{FENCE}\n{}",
        &readme[..start],
        &readme[end..]
    )
}

#[test]
fn countdowns_are_ignored_and_words_are_not() {
    assert_eq!(
        comparable("valid · 2h 30m left  |"),
        comparable("valid · 2h 29m left |")
    );
    assert_eq!(comparable("idle 95d; 270 of 365"), "idle #; 270 of 365");
    assert_eq!(comparable("Ab12Cd34 47m 30s"), "Ab12Cd34 # #");
    assert_ne!(
        comparable("valid · 2h left"),
        comparable("expired · 2h left")
    );
    assert_eq!(comparable("8717/callback"), "8717/callback");
}

#[test]
fn the_state_is_masked_across_wrapped_lines() {
    let screen = " title\n https://a/x?s=1&state=abcd\n ef12&response=code\n\n c copy";
    assert_eq!(
        fixed_state(screen),
        " title\n https://a/x?s=1&state=xxxx\n xxxx&response=code\n\n c copy"
    );
}
