//! The console's authorize screen, driven by messages without a terminal: each phase
//! snapshot-tested, and the flow of effects from URL to stored token.

mod common;

use common::states::{ATTEMPT, STATE, attempt, authorize_opened, authorize_ready, done, site};
use common::ui::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use jira_auth::agent::protocol::ListenerView;
use jira_auth::domain::{Mode, Principal};
use jira_auth::tui::message::{ListenerEnd, Outcome, StepFailure};
use jira_auth::tui::{App, Effect, Msg, update};

/// Home with one integration in `mode`, then `a`.
fn opened(mode: Mode) -> (App, Vec<Effect>) {
    authorize_opened(mode)
}

/// The URL is out and the listener waits.
fn ready(app: &mut App) {
    let effects = authorize_ready(app);
    assert!(
        matches!(&effects[..], [Effect::AwaitCallback { attempt }] if attempt == ATTEMPT),
        "the listener's wait starts at once: {effects:?}"
    );
}

#[test]
fn from_url_to_stored_token_by_paste() {
    let (mut app, effects) = opened(Mode::PreAuthorized);
    assert_eq!(
        effects,
        vec![Effect::PrepareAuthorize {
            integration: "jira".into(),
            user: None
        }]
    );
    insta::assert_snapshot!("authorize_preparing", draw(&app, 100, 30));
    ready(&mut app);
    insta::assert_snapshot!("authorize_waiting", draw(&app, 100, 30));

    let effects = press(&mut app, &[key('c')]);
    assert!(matches!(&effects[..], [Effect::Copy { text, .. }] if text.contains("client_id=")));

    // A stale redirect pasted: the agent refuses it, the screen says why, nothing exchanged.
    let effects = update(
        &mut app,
        Msg::Paste("http://localhost:8765/callback?code=abc&state=old".into()),
    );
    assert!(effects.is_empty());
    let effects = press(&mut app, &[code(KeyCode::Enter)]);
    assert!(
        matches!(&effects[..], [Effect::SubmitPaste { attempt, text }] if attempt == ATTEMPT && text.contains("state=old")),
        "{effects:?}"
    );
    let effects = done(
        &mut app,
        Outcome::PasteChecked(Err(
            "the pasted address belongs to another authorization attempt (its state does not match)".into(),
        )),
    );
    assert!(effects.is_empty());
    assert!(draw(&app, 100, 30).contains("another authorization attempt"));

    press(
        &mut app,
        &[Msg::Key(KeyEvent::new(
            KeyCode::Char('u'),
            KeyModifiers::CONTROL,
        ))],
    );
    update(
        &mut app,
        Msg::Paste(format!(
            "http://localhost:8765/callback?code=the-code&state={STATE}"
        )),
    );
    let effects = press(&mut app, &[code(KeyCode::Enter)]);
    assert!(
        matches!(&effects[..], [Effect::SubmitPaste { text, .. }] if text.contains("code=the-code")),
        "{effects:?}"
    );
    let effects = done(&mut app, Outcome::PasteChecked(Ok(())));
    assert_eq!(
        effects,
        vec![Effect::Exchange {
            attempt: ATTEMPT.into()
        }]
    );
    insta::assert_snapshot!("authorize_busy", draw(&app, 100, 30));

    let effects = done(&mut app, Outcome::Exchanged(Ok(vec![site("1", "acme")])));
    assert!(
        matches!(&effects[..], [Effect::FinishAuthorize { site, .. }] if site == "1"),
        "one site is taken"
    );
    let effects = done(
        &mut app,
        Outcome::AuthorizeFinished(Ok(
            "Authorized as Ada Admin on acme (https://acme.atlassian.net); jira is enabled.".into(),
        )),
    );
    assert!(
        effects.is_empty(),
        "the agent's change notice reloads the status"
    );
    insta::assert_snapshot!("authorize_done", draw(&app, 100, 30));
    press(&mut app, &[code(KeyCode::Enter)]);
    assert_eq!(app.screen().title(), "Home");
}

#[test]
fn the_listener_brings_the_code_and_several_sites_are_offered() {
    let (mut app, _) = opened(Mode::PreAuthorized);
    ready(&mut app);
    let effects = done(&mut app, Outcome::CodeReceived(ListenerEnd::Code));
    assert_eq!(
        effects,
        vec![Effect::Exchange {
            attempt: ATTEMPT.into()
        }]
    );
    done(
        &mut app,
        Outcome::Exchanged(Ok(vec![site("1", "acme"), site("2", "beta")])),
    );
    insta::assert_snapshot!("authorize_choose_site", draw(&app, 100, 30));
    let effects = press(&mut app, &[code(KeyCode::Down), code(KeyCode::Enter)]);
    assert!(matches!(&effects[..], [Effect::FinishAuthorize { site, .. }] if site == "2"));
}

#[test]
fn a_temporary_failure_offers_a_retry_that_loses_nothing() {
    let (mut app, _) = opened(Mode::PreAuthorized);
    ready(&mut app);
    let effects = done(&mut app, Outcome::CodeReceived(ListenerEnd::Code));
    let retry = effects
        .into_iter()
        .find(|e| matches!(e, Effect::Exchange { .. }))
        .unwrap();
    done(
        &mut app,
        Outcome::Exchanged(Err(StepFailure {
            sentence: "Atlassian had a problem (HTTP 500): \"Internal error\". This is temporary: try again in a moment; nothing was lost".into(),
            retry: Some(Box::new(retry.clone())),
        })),
    );
    insta::assert_snapshot!("authorize_failed_retry", draw(&app, 100, 30));
    let effects = press(&mut app, &[key('r')]);
    assert_eq!(effects, vec![retry]);
}

#[test]
fn declined_consent_and_a_failed_listener_are_explained() {
    let (mut app, _) = opened(Mode::PreAuthorized);
    let effects = done(
        &mut app,
        Outcome::AuthorizePrepared(Ok(attempt(
            Mode::PreAuthorized,
            Principal::Admin,
            ListenerView::Failed {
                sentence: "port 8765 is taken by another program; paste the redirected URL instead"
                    .into(),
            },
        ))),
    );
    assert!(effects.is_empty(), "no listener to wait on");
    assert!(draw(&app, 100, 30).contains("port 8765 is taken"));
    let (mut app, _) = opened(Mode::PreAuthorized);
    ready(&mut app);
    done(
        &mut app,
        Outcome::CodeReceived(ListenerEnd::Declined(
            "consent was declined: the user chose Cancel".into(),
        )),
    );
    let screen = draw(&app, 100, 30);
    assert!(
        screen.contains("Not authorized") && screen.contains("consent was declined"),
        "{screen}"
    );
}

#[test]
fn user_authorized_asks_whose_token_first() {
    let (mut app, effects) = opened(Mode::UserAuthorized);
    assert!(effects.is_empty());
    insta::assert_snapshot!("authorize_ask_user", draw(&app, 100, 30));
    let effects = press(&mut app, &[code(KeyCode::Enter)]);
    assert!(effects.is_empty(), "an empty id is refused");
    press(&mut app, &typed("alice@example.com"));
    let effects = press(&mut app, &[code(KeyCode::Enter)]);
    assert_eq!(
        effects,
        vec![Effect::PrepareAuthorize {
            integration: "jira".into(),
            user: Some("alice@example.com".into())
        }]
    );
}

#[test]
fn a_user_id_with_hidden_characters_gets_the_cli_sentence() {
    for (typed_id, shown) in [
        ("eve\u{200b}", "U+200B"),
        ("bob\u{202e}moc", "bidi control U+202E"),
        (" alice", "starts or ends with whitespace"),
    ] {
        let (mut app, _) = opened(Mode::UserAuthorized);
        press(&mut app, &typed(typed_id));
        let effects = press(&mut app, &[code(KeyCode::Enter)]);
        assert!(effects.is_empty(), "{typed_id:?} is refused: {effects:?}");
        let screen = draw(&app, 200, 30);
        assert!(
            screen.contains("The user id") && screen.contains(shown),
            "{typed_id:?}:\n{screen}"
        );
        assert!(!screen.contains('\u{200b}') && !screen.contains('\u{202e}'));
    }
}

#[test]
fn the_qr_code_and_its_too_small_notice() {
    let (mut app, _) = opened(Mode::PreAuthorized);
    ready(&mut app);
    press(&mut app, &[key('g')]);
    // Alone on the screen, the code fits wherever its own size does (its rows plus the
    // caption, at least the console's minimum), and nothing else is drawn.
    let lines = jira_auth::tui::widgets::qr::lines(&url_of(&app)).unwrap();
    let (width, height) = jira_auth::tui::widgets::qr::size(&lines);
    let exact = draw(&app, width.max(60), (height + 1).max(16));
    assert!(
        exact.contains('▀') || exact.contains('▄'),
        "the code is drawn: {exact}"
    );
    assert!(exact.contains("any key returns"), "{exact}");
    assert!(!exact.contains("jira-auth ·"), "alone: no title, no footer");
    assert!(
        draw(&app, 120, 50).contains('▄'),
        "a 120x50 terminal shows it"
    );
    insta::assert_snapshot!("authorize_qr_too_small", draw(&app, 80, 24));
    // Any key brings the screen back.
    let effects = press(&mut app, &[key('x')]);
    assert!(effects.is_empty());
    assert!(draw(&app, 100, 30).contains("1. Open this URL"));
}

fn url_of(app: &App) -> String {
    match app.screen() {
        jira_auth::tui::screens::Screen::Authorize(screen) => {
            screen.attempt.as_ref().unwrap().url.clone()
        }
        other => panic!("not the authorize screen: {}", other.title()),
    }
}

#[test]
fn esc_cancels_everything_in_flight() {
    let (mut app, _) = opened(Mode::PreAuthorized);
    ready(&mut app);
    let effects = press(&mut app, &[code(KeyCode::Esc)]);
    assert_eq!(
        effects,
        vec![Effect::CancelAuthorize {
            attempt: Some(ATTEMPT.into())
        }]
    );
    assert_eq!(app.screen().title(), "Home");
}

#[test]
fn the_drawn_url_is_found_whole_for_its_hyperlink() {
    let (mut app, _) = opened(Mode::PreAuthorized);
    ready(&mut app);
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(100, 30)).unwrap();
    let frame = terminal.draw(|f| jira_auth::tui::view(&app, f)).unwrap();
    let url = url_of(&app);
    let pieces = jira_auth::tui::hyperlink::find(frame.buffer, &url).expect("found whole");
    assert_eq!(
        pieces.iter().map(|p| p.text.as_str()).collect::<String>(),
        url
    );
}
