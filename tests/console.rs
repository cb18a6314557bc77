//! The real console in a real pseudo-terminal: start, help, quit, panic restore.

mod common;

use common::Sandbox;
use common::pty::PtySession;

#[test]
fn starts_shows_help_and_quits_cleanly() {
    let sandbox = Sandbox::new();
    let mut console = PtySession::spawn(&[], &sandbox.pty_env(), 100, 30);
    console.wait_for("Welcome to jira-auth");
    assert!(console.parser.lock().unwrap().screen().alternate_screen());
    assert!(console.parser.lock().unwrap().screen().bracketed_paste());
    console.send("?");
    console.wait_for("Keys: Home");
    console.send("?");
    // Help closes on any key; the home screen is back.
    console.wait_gone("Keys: Home");
    console.wait_for("Welcome to jira-auth");
    console.send("q");
    assert_eq!(console.wait_exit(), 0);
    let screen = console.parser.lock().unwrap();
    assert!(
        !screen.screen().alternate_screen(),
        "left the alternate screen"
    );
    assert!(!screen.screen().hide_cursor(), "cursor shown again");
    assert!(
        !screen.screen().bracketed_paste(),
        "bracketed paste switched off"
    );
    drop(screen);
    assert!(console.cooked(), "raw mode switched off");
}

#[test]
fn the_terminal_is_restored_after_a_panic() {
    let sandbox = Sandbox::new();
    let mut variables = sandbox.pty_env();
    variables.push(("JIRA_AUTH_TEST_PANIC_AFTER_FIRST_FRAME", "1".into()));
    let mut console = PtySession::spawn(&[], &variables, 100, 30);
    let code = console.wait_exit();
    assert_ne!(code, 0);
    console.wait_for_raw("test panic after the first frame");
    let parser = console.parser.lock().unwrap();
    let screen = parser.screen();
    assert!(!screen.alternate_screen());
    assert!(!screen.hide_cursor());
    assert!(!screen.bracketed_paste());
    assert!(
        screen
            .contents()
            .contains("test panic after the first frame"),
        "{}",
        screen.contents()
    );
    drop(parser);
    assert!(console.cooked());
}

#[test]
fn a_tiny_terminal_gets_a_notice_and_resizing_redraws() {
    let sandbox = Sandbox::new();
    let mut console = PtySession::spawn(&[], &sandbox.pty_env(), 50, 12);
    console.wait_for("Terminal too small");
    console
        .master
        .resize(portable_pty::PtySize {
            rows: 30,
            cols: 100,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    console
        .parser
        .lock()
        .unwrap()
        .screen_mut()
        .set_size(30, 100);
    console.wait_for("Welcome to jira-auth");
    console.send("q");
    assert_eq!(console.wait_exit(), 0);
}

#[test]
fn ctrl_c_quits() {
    let sandbox = Sandbox::new();
    let mut console = PtySession::spawn(&[], &sandbox.pty_env(), 100, 30);
    console.wait_for("Welcome to jira-auth");
    console.send("\x03");
    assert_eq!(console.wait_exit(), 0);
}
