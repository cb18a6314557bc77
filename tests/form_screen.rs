//! The authorization-profile form driven by keys and pastes, without a terminal: each state
//! snapshot-tested (empty, valid, each kind of finding, secret masked and shown, the scope
//! picker, narrow), and the rules (generated URL fill, offline_access, Esc, Ctrl-S).

mod common;

use common::states::{GENERATED, ID, SECRET, ctrl, fill, form_app, form_findings, valid};
use common::ui::*;
use crossterm::event::KeyCode;
use jira_auth::domain::Mode;
use jira_auth::service::draft::ProfileDraft;
use jira_auth::service::status::StatusReport;
use jira_auth::tui::message::Outcome;
use jira_auth::tui::screens::Screen;
use jira_auth::tui::screens::profile_form::ProfileForm;
use jira_auth::tui::{App, Effect, Msg, update};
use jira_auth::validate::Field;

fn form(app: &App) -> &ProfileForm {
    match app.screen() {
        Screen::ProfileForm(form) => form,
        other => panic!("expected the form, found {}", other.title()),
    }
}

#[test]
fn a_new_form_is_quiet_until_touched() {
    let app = form_app(Some(Mode::PreAuthorized));
    insta::assert_snapshot!("form_new", draw(&app, 120, 32));
}

#[test]
fn a_valid_form_saves_through_the_effect() {
    let mut app = form_app(Some(Mode::PreAuthorized));
    valid(&mut app);
    insta::assert_snapshot!("form_valid", draw(&app, 120, 32));
    let effects = press(&mut app, &[ctrl('s')]);
    let [
        Effect::SaveProfile {
            draft,
            original: None,
            keep_secret: false,
        },
    ] = &effects[..]
    else {
        panic!("expected a save, got {effects:?}");
    };
    assert_eq!(draft.name, "acme");
    assert_eq!(draft.client_secret.expose(), SECRET);
    update(
        &mut app,
        Msg::Done(Outcome::ProfileSaved(Ok("acme".into()))),
    );
    assert_eq!(app.screen().title(), "Home", "a saved form closes");
}

#[test]
fn each_kind_of_finding_shows_under_its_field() {
    // A short id, an odd secret, an authorization URL without the audience (a notice) and a
    // lookalike token URL (an error).
    let mut app = form_findings();
    insta::assert_snapshot!("form_findings", draw(&app, 120, 32));
    let effects = press(&mut app, &[ctrl('s')]);
    assert!(effects.is_empty(), "errors block the save");
    assert_eq!(
        form(&app).focused(),
        Field::TokenUrl,
        "the first field in error gets the focus"
    );
}

#[test]
fn the_secret_is_masked_until_revealed() {
    let mut app = form_app(None);
    press(
        &mut app,
        &[code(KeyCode::Tab), code(KeyCode::Tab), code(KeyCode::Tab)],
    );
    press(&mut app, &typed("s3cret-value"));
    let masked = draw(&app, 120, 32);
    assert!(!masked.contains("s3cret-value") && masked.contains("••••"));
    insta::assert_snapshot!("form_secret_masked", masked);
    press(&mut app, &[ctrl('r')]);
    insta::assert_snapshot!("form_secret_revealed", draw(&app, 120, 32));
}

#[test]
fn a_pasted_generated_url_fills_four_fields() {
    let mut app = form_app(Some(Mode::PreAuthorized));
    press(&mut app, &[code(KeyCode::Tab), code(KeyCode::Tab)]);
    update(
        &mut app,
        Msg::Paste(format!(
            "  \"{}\n{}\"  ",
            &GENERATED[..60],
            &GENERATED[60..]
        )),
    );
    let draft = form(&app).draft();
    assert_eq!(draft.client_id, "Zz12Cd34Ef56Gh78Ij90Kl12Mn34Op56");
    assert_eq!(draft.scopes, "read:jira-work manage:jira-project");
    assert_eq!(draft.callback_url, "http://localhost:8717/callback");
    assert!(!draft.authorization_url.contains("YOUR_USER_BOUND_VALUE"));
    insta::assert_snapshot!("form_after_generated_paste", draw(&app, 120, 32));
}

#[test]
fn pasted_control_characters_never_land() {
    let mut app = form_app(None);
    update(&mut app, Msg::Paste("ac\u{1b}[31mme\u{7}".into()));
    assert_eq!(form(&app).draft().name, "acme");
    update(&mut app, Msg::Paste("x".repeat(5000)));
    assert_eq!(
        form(&app).draft().name,
        "acme",
        "an oversized paste changes nothing"
    );
}

#[test]
fn pre_authorized_needs_offline_access_and_the_picker_adds_it() {
    let mut app = form_app(Some(Mode::PreAuthorized));
    fill(&mut app, "acme");
    press(&mut app, &[code(KeyCode::Tab)]);
    fill(&mut app, ID);
    fill(&mut app, SECRET);
    press(
        &mut app,
        &[
            code(KeyCode::Tab),
            code(KeyCode::Tab),
            code(KeyCode::Tab),
            code(KeyCode::Tab),
        ],
    );
    press(&mut app, &typed("read:jira-work"));
    let effects = press(&mut app, &[ctrl('s')]);
    assert!(effects.is_empty());
    assert!(
        draw(&app, 120, 32).contains("offline_access"),
        "the refusal says why"
    );
    press(&mut app, &[ctrl('p')]);
    press(&mut app, &typed("jira-w"));
    insta::assert_snapshot!("form_scope_picker", draw(&app, 120, 32));
    press(&mut app, &[code(KeyCode::Esc)]);
    assert_eq!(form(&app).draft().scopes, "read:jira-work offline_access");
    let effects = press(&mut app, &[ctrl('s')]);
    assert!(matches!(&effects[..], [Effect::SaveProfile { .. }]));
}

#[test]
fn user_authorized_only_recommends_offline_access() {
    let mut app = form_app(Some(Mode::UserAuthorized));
    fill(&mut app, "acme");
    press(&mut app, &[code(KeyCode::Tab)]);
    fill(&mut app, ID);
    fill(&mut app, SECRET);
    press(
        &mut app,
        &[
            code(KeyCode::Tab),
            code(KeyCode::Tab),
            code(KeyCode::Tab),
            code(KeyCode::Tab),
        ],
    );
    press(&mut app, &typed("read:jira-work"));
    let effects = press(&mut app, &[ctrl('s')]);
    assert!(
        matches!(&effects[..], [Effect::SaveProfile { .. }]),
        "{effects:?}"
    );
}

#[test]
fn select_all_and_free_entry_in_the_picker() {
    let mut app = form_app(None);
    press(&mut app, &[ctrl('p'), ctrl('a')]);
    press(&mut app, &typed("read:brand-new:jira"));
    press(&mut app, &[code(KeyCode::Enter), code(KeyCode::Enter)]);
    let scopes = form(&app).draft().scopes;
    assert!(
        scopes.contains("manage:jira-webhook") && scopes.ends_with("read:brand-new:jira"),
        "{scopes}"
    );
}

#[test]
fn the_callback_is_copied_and_read_only_until_advanced() {
    let mut app = form_app(None);
    let effects = press(&mut app, &[ctrl('y')]);
    assert_eq!(
        effects,
        vec![Effect::Copy {
            text: "http://localhost:8717/callback".into(),
            what: "callback URL".into()
        }]
    );
    assert!(!form(&app).steps()[4].done);
    update(
        &mut app,
        Msg::Done(Outcome::Copied {
            what: "callback URL".into(),
            note: "no clipboard reachable".into(),
            delivered: false,
        }),
    );
    assert!(
        !form(&app).steps()[4].done,
        "a copy that went nowhere does not tick step vi"
    );
    assert!(app.shared.status.as_ref().unwrap().error);
    update(
        &mut app,
        Msg::Done(Outcome::Copied {
            what: "callback URL".into(),
            note: "sent by OSC 52".into(),
            delivered: true,
        }),
    );
    assert!(form(&app).steps()[4].done, "step vi ticks after a copy");
    assert_eq!(
        app.shared.status.as_ref().unwrap().text,
        "Copied the callback URL: sent by OSC 52"
    );
    for _ in 0..4 {
        press(&mut app, &[code(KeyCode::Tab)]);
    }
    assert_eq!(form(&app).focused(), Field::CallbackUrl);
    press(&mut app, &[key('x')]);
    assert_eq!(
        form(&app).draft().callback_url,
        "http://localhost:8717/callback"
    );
    press(&mut app, &[ctrl('e'), ctrl('u')]);
    press(&mut app, &typed("https://jira-auth.acme.example/cb"));
    assert_eq!(
        form(&app).draft().callback_url,
        "https://jira-auth.acme.example/cb"
    );
}

#[test]
fn esc_asks_before_dropping_changes() {
    let mut app = form_app(None);
    press(&mut app, &[code(KeyCode::Esc)]);
    assert_eq!(
        app.screen().title(),
        "Home",
        "an untouched form just closes"
    );
    let mut app = form_app(None);
    press(&mut app, &typed("acme"));
    press(&mut app, &[code(KeyCode::Esc)]);
    assert!(draw(&app, 120, 32).contains("Drop the changes"));
    press(&mut app, &[key('n')]);
    assert_eq!(app.screen().title(), "Profile");
    press(&mut app, &[code(KeyCode::Esc), key('y')]);
    assert_eq!(app.screen().title(), "Home");
}

#[test]
fn q_and_question_mark_are_typed_in_the_form() {
    let mut app = form_app(None);
    press(&mut app, &typed("q?"));
    assert!(!app.quit && !app.help_open);
    assert_eq!(form(&app).draft().name, "q?");
}

#[test]
fn a_narrow_terminal_puts_the_checklist_below() {
    let mut app = form_app(Some(Mode::PreAuthorized));
    valid(&mut app);
    insta::assert_snapshot!("form_narrow", draw(&app, 80, 40));
}

/// A stored profile as the agent opens it for editing: everything but the secret.
fn stored_app() -> App {
    let mut app = app_with(StatusReport::default());
    let mut draft = ProfileDraft::new(&app.shared.endpoints);
    draft.name = "acme".into();
    draft.client_id = ID.into();
    draft.scopes = "read:jira-work offline_access".into();
    app.stack
        .push(Screen::ProfileForm(Box::new(ProfileForm::opened(
            &draft,
            Some(Mode::PreAuthorized),
            true,
        ))));
    app
}

#[test]
fn an_edited_profile_keeps_its_stored_secret_unseen_until_revealed() {
    let mut app = stored_app();
    let screen = draw(&app, 120, 32);
    insta::assert_snapshot!("form_stored_secret", screen);
    assert!(screen.contains("stored · Ctrl-R shows it"), "{screen}");
    assert!(
        form(&app)
            .check()
            .is_none_or(|c| c.errors().next().is_none())
    );

    // Saving untouched keeps the stored secret: the agent fills it in.
    let effects = press(&mut app, &[ctrl('s')]);
    let [
        Effect::SaveProfile {
            draft,
            original: Some(original),
            keep_secret: true,
        },
    ] = &effects[..]
    else {
        panic!("expected a save keeping the secret, got {effects:?}");
    };
    assert_eq!(original, "acme");
    assert!(draft.client_secret.is_empty(), "the form never had it");

    // Ctrl-R asks the agent for it, and only then shows it.
    let mut app = stored_app();
    let effects = press(&mut app, &[ctrl('r')]);
    assert_eq!(
        effects,
        vec![Effect::RevealSecret {
            name: "acme".into()
        }]
    );
    update(
        &mut app,
        Msg::Done(Outcome::SecretRevealed(Ok(SECRET.into()))),
    );
    let form_now = form(&app);
    assert_eq!(
        form_now.field(Field::ClientSecret).map(|f| f.value()),
        Some(SECRET),
        "revealed on request"
    );
    assert!(!form_now.keeps_stored_secret());
    assert!(
        draw(&app, 120, 32).contains("ATOAabcdefgh"),
        "shown, not masked"
    );
    // The revealed secret is not an edit: Esc leaves without asking.
    press(&mut app, &[code(KeyCode::Esc)]);
    assert_eq!(app.screen().title(), "Home");
}

#[test]
fn at_80x24_every_field_is_on_screen_when_focused() {
    let mut app = form_app(Some(Mode::PreAuthorized));
    valid(&mut app);
    for _ in 0..jira_auth::tui::screens::profile_form::ROWS.len() {
        press(&mut app, &[code(KeyCode::Tab)]);
        let label = form(&app).focused().label();
        let screen = draw(&app, 80, 24);
        let row = screen
            .lines()
            // The pointer opens the focused row (the title's breadcrumb has one too).
            .find(|line| line.starts_with("\" ›"))
            .unwrap_or_else(|| panic!("no focused row for {label}:\n{screen}"));
        assert!(row.contains(label), "{label} is the focused row:\n{screen}");
    }
}
