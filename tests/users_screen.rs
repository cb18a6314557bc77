//! The Users screen driven by messages without a terminal: snapshots with many users, with a
//! filter, with a link handed out (and its QR code), while revoking and while asking for an
//! id; the keys that hand out links and revoke; a user appearing live.

mod common;

use common::ui::*;
use common::{sample_integration, sample_tokens, summaries};
use crossterm::event::KeyCode;
use jira_auth::domain::{Account, Mode, Principal, TokenSet};
use jira_auth::service::status::{self, StatusReport};
use jira_auth::tui::message::{IssuedLink, Outcome};
use jira_auth::tui::{App, Effect, Msg, update};

const URL: &str = "https://auth.atlassian.com/authorize?audience=api.atlassian.com&client_id=Fk12Cd34Ef56Gh78Ij90Kl12Mn34Op56&scope=read%3Ajira-work%20offline_access&redirect_uri=https%3A%2F%2Fjira-auth.acme.example%2Fcallback&state=Qm9yZWQ_b2Zfd2FpdGluZz8gVGhpcyBpcyBhIHRlc3Qu&response_type=code&prompt=consent";

fn user(n: usize) -> TokenSet {
    let mut tokens = sample_tokens(
        "support",
        Principal::User(format!("user-{n:05}@acme.example")),
        NOW.plus_secs(-(i64::try_from(n).unwrap() * 97) % 5000),
    );
    tokens.account = Some(Account {
        id: format!("5b10ac8d82e05b22cc7d{n:04}"),
        name: format!("Person {n}"),
    });
    match n % 7 {
        3 => {
            tokens.reauthorization_required = true;
            tokens.last_error = Some(
                "Atlassian refused the refresh token (invalid_grant): the user must consent again"
                    .into(),
            );
        }
        5 => tokens.access_expires_at = NOW.plus_secs(120),
        _ => {}
    }
    tokens
}

fn report(users: usize) -> StatusReport {
    let mut integration = sample_integration("support", None);
    integration.mode = Mode::UserAuthorized;
    let tokens: Vec<TokenSet> = (0..users).map(user).collect();
    status::build(&[integration], &summaries(&tokens), &[], NOW)
}

fn users_screen(users: usize) -> App {
    let mut app = app_with(report(users));
    press(&mut app, &[key('u')]);
    assert_eq!(app.screen().title(), "Users");
    app
}

fn issued(user: &str) -> Msg {
    Msg::Done(Outcome::LinkIssued(Ok(IssuedLink {
        integration: "support".into(),
        user: user.into(),
        url: URL.into(),
        issued_at: NOW,
        expires_at: NOW.plus_secs(1800),
    })))
}

#[test]
fn many_users_at_80x24_and_140x40() {
    let app = users_screen(500);
    insta::assert_snapshot!("users_many_80x24", draw(&app, 80, 24));
    insta::assert_snapshot!("users_many_140x40", draw(&app, 140, 40));
    insta::assert_snapshot!("users_many_160x40", draw(&app, 160, 40));
}

#[test]
fn the_filter_narrows_thousands_of_users_to_the_ones_that_match() {
    let mut app = users_screen(10_000);
    press(&mut app, &[key('/')]);
    press(&mut app, &typed("user-0424"));
    let screen = draw(&app, 100, 24);
    assert!(screen.contains("Users of support (10/10000)"), "{screen}");
    insta::assert_snapshot!("users_filtered_100x24", screen);
    // Enter keeps the filter; the state word matches too.
    press(&mut app, &[code(KeyCode::Enter)]);
    press(&mut app, &[code(KeyCode::Esc)]);
    press(&mut app, &[key('/')]);
    press(&mut app, &typed("re-authorize"));
    let screen = draw(&app, 100, 24);
    assert!(screen.contains("(1429/10000)"), "{screen}");
}

#[test]
fn a_new_link_for_the_selected_user_with_copy_bare_and_qr() {
    let mut app = users_screen(30);
    press(
        &mut app,
        &[
            code(KeyCode::Down),
            code(KeyCode::Down),
            code(KeyCode::Down),
        ],
    );
    let effects = press(&mut app, &[key('l')]);
    assert_eq!(
        effects,
        vec![Effect::IssueLink {
            integration: "support".into(),
            user: "user-00003@acme.example".into(),
        }]
    );
    update(&mut app, issued("user-00003@acme.example"));
    insta::assert_snapshot!("users_link_80x24", draw(&app, 80, 24));
    insta::assert_snapshot!("users_link_120x40", draw(&app, 120, 40));
    assert_eq!(app.screen().link_url(), Some(URL));
    assert_eq!(
        press(&mut app, &[key('c')]),
        vec![Effect::Copy {
            text: URL.into(),
            what: "link".into()
        }]
    );
    assert_eq!(
        press(&mut app, &[key('u')]),
        vec![Effect::ShowBare {
            text: URL.into(),
            what: "link".into()
        }]
    );
    press(&mut app, &[key('g')]);
    assert_eq!(app.screen().qr_url(), Some(URL));
    let qr = draw(&app, 100, 50);
    assert!(
        qr.contains('▀') || qr.contains('▄') || qr.contains('█'),
        "{qr}"
    );
    // Esc hides the code, then closes the link, then leaves.
    press(&mut app, &[code(KeyCode::Esc)]);
    assert_eq!(app.screen().qr_url(), None);
    assert_eq!(app.screen().link_url(), Some(URL));
    press(&mut app, &[code(KeyCode::Esc)]);
    assert_eq!(app.screen().link_url(), None);
    press(&mut app, &[code(KeyCode::Esc)]);
    assert_eq!(app.screen().title(), "Home");
}

#[test]
fn a_link_for_another_user_asks_their_id_and_refuses_an_empty_one() {
    let mut app = users_screen(3);
    press(&mut app, &[key('n')]);
    insta::assert_snapshot!("users_asking_80x24", draw(&app, 80, 24));
    assert!(press(&mut app, &[code(KeyCode::Enter)]).is_empty());
    // q is typed, not obeyed, while the id is asked for.
    let effects = press(&mut app, &typed("quinn@acme.example"));
    assert!(effects.is_empty());
    let effects = press(&mut app, &[code(KeyCode::Enter)]);
    assert_eq!(
        effects,
        vec![Effect::IssueLink {
            integration: "support".into(),
            user: "quinn@acme.example".into(),
        }]
    );
}

#[test]
fn revoking_asks_then_deletes_and_says_where_the_user_revokes_it_on_atlassian() {
    let mut app = users_screen(5);
    press(&mut app, &[code(KeyCode::Down)]);
    assert!(press(&mut app, &[key('d')]).is_empty());
    let screen = draw(&app, 80, 24);
    assert!(screen.contains("Connected apps"), "{screen}");
    insta::assert_snapshot!("users_revoking_80x24", screen);
    assert_eq!(
        press(&mut app, &[key('y')]),
        vec![Effect::DeleteTokens {
            integration: "support".into(),
            principal: "user:user-00001@acme.example".into(),
        }]
    );
    // "n" keeps it.
    press(&mut app, &[key('d')]);
    assert!(press(&mut app, &[key('n')]).is_empty());
}

#[test]
fn a_user_who_completes_consent_appears_without_a_key_press() {
    let mut app = users_screen(2);
    update(&mut app, issued("newcomer"));
    let before = draw(&app, 100, 30);
    assert!(before.contains("Waiting for newcomer"), "{before}");
    let mut integration = sample_integration("support", None);
    integration.mode = Mode::UserAuthorized;
    let mut tokens: Vec<TokenSet> = (0..2).map(user).collect();
    let mut newcomer = sample_tokens("support", Principal::User("newcomer".into()), NOW);
    newcomer.account = Some(Account {
        id: "acct-new".into(),
        name: "New Person".into(),
    });
    tokens.push(newcomer);
    let fresh = status::build(&[integration], &summaries(&tokens), &[], NOW);
    update(&mut app, Msg::StatusLoaded(Ok(fresh)));
    let after = draw(&app, 100, 30);
    assert!(after.contains("(3/3)"), "{after}");
    assert!(after.contains("newcomer"), "{after}");
    assert!(
        after.contains("✓ newcomer authorized as New Person"),
        "{after}"
    );
}

#[test]
fn a_pre_authorized_integration_has_no_users_screen() {
    let mut app = app_with(populated());
    press(&mut app, &[key('u')]);
    assert_eq!(app.screen().title(), "Home");
    let screen = draw(&app, 120, 32);
    assert!(
        screen.contains("pre-authorized: one token serves everyone"),
        "{screen}"
    );
}
