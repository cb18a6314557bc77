//! The real console in a pseudo-terminal authorizing against the fake Atlassian: the URL read
//! off the screen, consent in the fake browser, the code back by paste or by the listener.

mod common;
mod support;

use common::pty::PtySession;
use common::{browser_get, run_with, text};
use support::world::World;

/// The console in a `cols`x`rows` pty with `env`, on the Authorize screen once its listener
/// is up (from Home, where the integration is not authorized yet).
fn console_at_authorize(env: &[(&str, String)], cols: u16, rows: u16) -> PtySession {
    let mut console = PtySession::spawn(&[], env, cols, rows);
    console.wait_for("not authorized");
    console.send("a");
    console.wait_for("Listening on");
    console
}

/// The authorization URL as the screen shows it: the lines under the panel title, joined.
fn url_on_screen(console: &PtySession) -> String {
    let screen = console.screen();
    let mut lines = screen
        .lines()
        .skip_while(|l| !l.contains("1. Open this URL"))
        .skip(1);
    let mut url = String::new();
    for line in lines.by_ref() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("c copy") {
            break;
        }
        url.push_str(line);
    }
    assert!(url.starts_with("http"), "no URL on screen:\n{screen}");
    url
}

#[test]
fn authorize_in_the_console_by_pasting_the_redirect() {
    let world = World::new();
    world.custom("pre-authorized");
    let mut console = console_at_authorize(&world.pty_env(), 120, 40);
    console.wait_for("TEST ENDPOINTS");
    let redirect = world.fake.consent(&url_on_screen(&console));
    console.paste(&redirect);
    console.send("\r");
    console.wait_for("Authorized as Ada Admin on acme");
    console.send("\r");
    console.wait_for("valid ·");
    console.send("q");
    assert_eq!(console.wait_exit(), 0);
}

#[test]
fn authorize_in_the_console_through_the_listener() {
    let world = World::new();
    world.custom("pre-authorized");
    let mut console = console_at_authorize(&world.pty_env(), 120, 40);
    let redirect = world.fake.consent(&url_on_screen(&console));
    let answer = browser_get(&redirect);
    assert!(answer.contains("close this tab"), "{answer}");
    console.wait_for("Authorized as Ada Admin on acme");
    console.send("\x1b");
    console.wait_for("valid ·");
    console.send("q");
    assert_eq!(console.wait_exit(), 0);
}

#[test]
fn esc_cancels_and_frees_the_port() {
    let world = World::new();
    world.custom("pre-authorized");
    let mut console = console_at_authorize(&world.pty_env(), 120, 40);
    console.send("\x1b");
    console.wait_for("not authorized");
    let port = url::Url::parse(&world.callback).unwrap().port().unwrap();
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "the listener still answers after Esc"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    console.send("q");
    assert_eq!(console.wait_exit(), 0);
}

/// From the Authorize screen: authorizes by paste and comes back to Home.
fn authorize_in_console(world: &World, console: &mut PtySession) {
    let redirect = world.fake.consent(&url_on_screen(console));
    console.paste(&redirect);
    console.send("\r");
    console.wait_for("Authorized as Ada Admin on acme");
    console.send("\r");
    console.wait_for("valid ·");
}

#[test]
fn scripts_use_the_token_while_the_console_is_open_and_it_shows_their_refresh() {
    let world = World::new();
    world.custom("pre-authorized");
    let mut console = console_at_authorize(&world.pty_env(), 120, 40);
    authorize_in_console(&world, &mut console);
    console.send("e");
    console.wait_for("Events, newest first");
    let out = run_with(world.command(), &["token"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 1);
    let out = run_with(world.command(), &["status", "--json"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run_with(world.command(), &["refresh", "--all"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // No key pressed: the agent's change notice brings the refresh onto the open screen.
    console.wait_for("refreshed");
    console.send("q");
    assert_eq!(console.wait_exit(), 0);
}

#[test]
fn a_revoked_grant_raises_the_alert_and_two_keys_start_reauthorizing() {
    let world = World::new();
    world.custom("pre-authorized");
    let mut console = console_at_authorize(&world.pty_env(), 120, 40);
    authorize_in_console(&world, &mut console);
    world.fake.revoke_all();
    let out = run_with(world.command(), &["refresh", "--all"], "");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    console.wait_for("must be authorized again");
    console.wait_for("[t a]");
    console.send("t");
    console.wait_for("re-authorize");
    console.send("a");
    console.wait_for("Listening on");
    console.send("\x1b");
    console.wait_for("Tokens (");
    console.send("q");
    assert_eq!(console.wait_exit(), 0);
}

#[test]
fn the_bare_url_is_one_line_on_the_normal_screen_and_any_key_returns() {
    let world = World::new();
    world.custom("pre-authorized");
    let mut console = console_at_authorize(&world.pty_env(), 100, 30);
    let url = url_on_screen(&console);
    let before = console.raw.lock().unwrap().len();
    console.send("u");
    console.wait_for_raw("select it with the mouse");
    let bytes = console.raw.lock().unwrap()[before..].to_vec();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let left = text
        .find("\x1b[?1049l")
        .expect("it leaves the alternate screen");
    let line = format!("\r\n{url}\r\n");
    let at = text.find(&line).expect("the URL alone on one line");
    assert!(at > left, "printed on the normal screen");
    assert!(
        !url.contains('\x1b') && !url.contains('\n'),
        "nothing inside the URL"
    );
    console.send("x");
    console.wait_for("Listening on");
    console.send("\x1b");
    console.wait_for("not authorized");
    console.send("q");
    assert_eq!(console.wait_exit(), 0);
}

#[test]
fn the_url_is_one_osc8_link_across_its_lines_where_the_terminal_takes_it() {
    let world = World::new();
    world.custom("pre-authorized");
    let mut env = world.pty_env();
    env.push(("JIRA_AUTH_HYPERLINKS", "1".into()));
    let mut console = console_at_authorize(&env, 100, 30);
    let url = url_on_screen(&console);
    let opening = format!("\x1b]8;;{url}\x1b\\");
    console.wait_for_raw(&opening);
    let raw = String::from_utf8_lossy(&console.raw.lock().unwrap()).into_owned();
    let links = raw.matches(&opening).count();
    assert!(links >= 2, "one link on each wrapped line ({links})");
    // What the links hold, joined, is the URL itself.
    let mut joined = String::new();
    for part in raw.split(&opening).skip(1).take(links) {
        let (text, _) = part
            .split_once("\x1b]8;;\x1b\\")
            .expect("each link is closed");
        joined.push_str(text);
        if joined.len() >= url.len() {
            break;
        }
    }
    assert_eq!(joined, url);
    console.send("\x1b");
    console.wait_for("not authorized");
    console.send("q");
    assert_eq!(console.wait_exit(), 0);
}

#[test]
fn no_osc8_is_written_where_the_terminal_is_not_known_to_take_it() {
    let world = World::new();
    world.custom("pre-authorized");
    let mut console = console_at_authorize(&world.pty_env(), 100, 30);
    let raw = String::from_utf8_lossy(&console.raw.lock().unwrap()).into_owned();
    assert!(!raw.contains("\x1b]8;;"), "no hyperlink escapes");
    console.send("\x1b");
    console.wait_for("not authorized");
    console.send("q");
    assert_eq!(console.wait_exit(), 0);
}
