//! The set-up wizard and the profiles list, driven by keys without a terminal: every step
//! snapshot-tested, and the rules (Esc keeps choices, nothing saved before the confirm,
//! offline_access for pre-authorized, changes that drop tokens ask first).

mod common;

use common::ui::*;
use common::*;
use crossterm::event::KeyCode;
use jira_auth::domain::{AppRef, Mode};
use jira_auth::service::setup::SetupPlan;
use jira_auth::service::status::{self, StatusReport};
use jira_auth::tui::message::Outcome;
use jira_auth::tui::screens::Screen;
use jira_auth::tui::screens::wizard::Step;
use jira_auth::tui::{App, Effect, Msg, update};

fn wizard_step(app: &App) -> Step {
    match app.screen() {
        Screen::Wizard(wizard) => wizard.step(),
        other => panic!("expected the wizard, found {}", other.title()),
    }
}

fn profiles_only(names: &[(&str, bool)]) -> StatusReport {
    let profiles: Vec<_> = names
        .iter()
        .map(|(name, offline)| {
            let mut profile = sample_profile(name);
            if !offline {
                profile.scopes.retain(|s| s != "offline_access");
            }
            profile
        })
        .collect();
    status::build(&[], &[], &profiles, NOW)
}

#[test]
fn every_step_of_a_new_pre_authorized_custom_setup() {
    let mut app = app_with(profiles_only(&[("acme", true), ("legacy", false)]));
    press(&mut app, &[key('n')]);
    assert_eq!(wizard_step(&app), Step::Name);
    insta::assert_snapshot!("wizard_1_name", draw(&app, 100, 24));
    press(&mut app, &[code(KeyCode::Enter)]);
    assert_eq!(wizard_step(&app), Step::Mode);
    insta::assert_snapshot!("wizard_2_mode", draw(&app, 100, 24));
    press(&mut app, &[code(KeyCode::Enter)]);
    insta::assert_snapshot!("wizard_3_app_without_system", draw(&app, 100, 24));
    // System is unavailable on this host: choosing it says why and stays.
    press(&mut app, &[code(KeyCode::Enter)]);
    assert_eq!(wizard_step(&app), Step::App);
    assert!(draw(&app, 100, 24).contains("System is not available"));
    press(&mut app, &[code(KeyCode::Down), code(KeyCode::Enter)]);
    assert_eq!(wizard_step(&app), Step::Profile);
    insta::assert_snapshot!("wizard_4_profiles", draw(&app, 100, 24));
    // "legacy" lacks offline_access: refused with the reason for pre-authorized.
    press(&mut app, &[code(KeyCode::Down), code(KeyCode::Enter)]);
    assert_eq!(wizard_step(&app), Step::Profile);
    insta::assert_snapshot!(
        "wizard_4_profile_without_offline_access",
        draw(&app, 100, 24)
    );
    let effects = press(&mut app, &[code(KeyCode::Up), code(KeyCode::Enter)]);
    assert!(
        effects.is_empty(),
        "nothing is saved before the confirm: {effects:?}"
    );
    assert_eq!(wizard_step(&app), Step::Confirm);
    insta::assert_snapshot!("wizard_5_confirm_pre_authorized", draw(&app, 100, 24));
    let effects = press(&mut app, &[code(KeyCode::Enter)]);
    assert_eq!(
        effects,
        vec![Effect::SaveIntegration {
            plan: SetupPlan {
                integration: "jira".into(),
                mode: Mode::PreAuthorized,
                app: AppRef::Custom("acme".into())
            }
        }]
    );
    // Saved: the seed's next step, Authorize, opens at once.
    let effects = update(
        &mut app,
        Msg::Done(Outcome::IntegrationSaved(Ok("jira".into()))),
    );
    assert_eq!(
        effects,
        vec![Effect::PrepareAuthorize {
            integration: "jira".into(),
            user: None
        },]
    );
    assert_eq!(app.screen().title(), "Authorize");
    assert_eq!(app.stack.len(), 2, "the wizard is gone, Home is below");
    assert!(
        app.shared
            .status
            .as_ref()
            .unwrap()
            .text
            .contains("authorize it now")
    );
}

#[test]
fn esc_steps_back_keeping_every_choice() {
    let mut app = app_with(profiles_only(&[("acme", true)]));
    press(&mut app, &[key('n')]);
    press(
        &mut app,
        &[
            code(KeyCode::Backspace),
            code(KeyCode::Backspace),
            code(KeyCode::Backspace),
            code(KeyCode::Backspace),
        ],
    );
    press(&mut app, &typed("crm"));
    press(
        &mut app,
        &[
            code(KeyCode::Enter),
            code(KeyCode::Down),
            code(KeyCode::Enter),
        ],
    );
    assert_eq!(wizard_step(&app), Step::App);
    press(&mut app, &[code(KeyCode::Esc)]);
    assert_eq!(wizard_step(&app), Step::Mode);
    let screen = draw(&app, 100, 24);
    assert!(screen.contains("Set up crm"), "{screen}");
    assert!(
        screen.contains("› Allow users to authorize"),
        "the choice is kept:\n{screen}"
    );
    press(&mut app, &[code(KeyCode::Esc), code(KeyCode::Esc)]);
    assert_eq!(app.screen().title(), "Home");
}

#[test]
fn user_authorized_through_the_system_app() {
    let mut app = app_with(StatusReport::default());
    with_system_app(&mut app);
    press(
        &mut app,
        &[
            key('s'),
            code(KeyCode::Enter),
            code(KeyCode::Down),
            code(KeyCode::Enter),
        ],
    );
    insta::assert_snapshot!("wizard_3_app_with_system", draw(&app, 100, 24));
    press(&mut app, &[code(KeyCode::Enter)]);
    assert_eq!(wizard_step(&app), Step::Confirm);
    insta::assert_snapshot!(
        "wizard_5_confirm_user_authorized_system",
        draw(&app, 100, 24)
    );
    let effects = press(&mut app, &[code(KeyCode::Enter)]);
    assert!(matches!(
        &effects[..],
        [Effect::SaveIntegration { plan }] if plan.app == AppRef::System && plan.mode == Mode::UserAuthorized
    ));
}

#[test]
fn changing_the_app_says_what_it_drops_and_asks_first() {
    let mut app = app_with(populated());
    with_system_app(&mut app);
    // jira: pre-authorized through Custom (acme) with one token. Move it to System.
    press(&mut app, &[code(KeyCode::Enter)]);
    assert_eq!(wizard_step(&app), Step::Mode);
    press(
        &mut app,
        &[
            code(KeyCode::Enter),
            code(KeyCode::Up),
            code(KeyCode::Enter),
        ],
    );
    assert_eq!(wizard_step(&app), Step::Confirm);
    insta::assert_snapshot!("wizard_5_confirm_change", draw(&app, 100, 24));
    let effects = press(&mut app, &[code(KeyCode::Enter)]);
    assert!(effects.is_empty());
    insta::assert_snapshot!("wizard_5_confirm_change_prompt", draw(&app, 100, 24));
    let effects = press(&mut app, &[key('n')]);
    assert!(effects.is_empty(), "any key but y keeps things as they are");
    let effects = press(&mut app, &[code(KeyCode::Enter), key('y')]);
    assert!(
        matches!(&effects[..], [Effect::SaveIntegration { plan }] if plan.app == AppRef::System)
    );
}

#[test]
fn a_taken_name_is_refused() {
    let mut app = app_with(populated());
    press(&mut app, &[key('n')]);
    press(
        &mut app,
        &[code(KeyCode::Backspace), code(KeyCode::Backspace)],
    );
    assert!(draw(&app, 100, 24).contains("Set up jira"));
    press(&mut app, &[code(KeyCode::Enter)]);
    assert_eq!(wizard_step(&app), Step::Name);
    assert!(draw(&app, 100, 24).contains("exists"));
}

#[test]
fn a_name_with_hidden_characters_gets_the_cli_sentence() {
    let mut app = app_with(populated());
    press(&mut app, &[key('n')]);
    for _ in 0..8 {
        press(&mut app, &[code(KeyCode::Backspace)]);
    }
    press(&mut app, &typed("sup\u{200b}port"));
    press(&mut app, &[code(KeyCode::Enter)]);
    assert_eq!(wizard_step(&app), Step::Name, "the name step stays");
    let screen = draw(&app, 200, 24);
    assert!(
        screen.contains("The integration name") && screen.contains("invisible character U+200B"),
        "{screen}"
    );
}

#[test]
fn profiles_list_filters_and_refuses_deleting_a_profile_in_use() {
    let mut report = populated();
    report
        .profiles
        .extend(profiles_only(&[("spare", true), ("zeta", true)]).profiles);
    let mut app = app_with(report);
    press(&mut app, &[key('p')]);
    assert_eq!(app.screen().title(), "Profiles");
    insta::assert_snapshot!("profiles_list", draw(&app, 100, 24));
    press(&mut app, &[key('d')]);
    assert!(
        app.shared
            .status
            .as_ref()
            .unwrap()
            .text
            .contains("used by the integration \"jira\"")
    );
    press(&mut app, &[key('/')]);
    press(&mut app, &typed("sp"));
    insta::assert_snapshot!("profiles_filtered", draw(&app, 100, 24));
    press(&mut app, &[code(KeyCode::Enter), key('d')]);
    assert!(draw(&app, 100, 24).contains("Delete the profile \"spare\"?"));
    let effects = press(&mut app, &[key('y')]);
    assert_eq!(
        effects,
        vec![Effect::DeleteProfile {
            name: "spare".into()
        }]
    );
    let effects = press(&mut app, &[key('e')]);
    assert_eq!(
        effects,
        vec![Effect::OpenProfile {
            name: "spare".into(),
            mode: None
        }]
    );
}

#[test]
fn the_end_user_link_preview_is_the_url_authorize_builds() {
    let mut app = app_with(profiles_only(&[("acme", true)]));
    press(
        &mut app,
        &[
            key('n'),
            code(KeyCode::Enter),
            code(KeyCode::Down),
            code(KeyCode::Enter),
        ],
    );
    press(
        &mut app,
        &[
            code(KeyCode::Down),
            code(KeyCode::Enter),
            code(KeyCode::Enter),
        ],
    );
    assert_eq!(wizard_step(&app), Step::Confirm);
    let screen: String = draw(&app, 400, 30)
        .lines()
        .map(|l| l.trim_matches('"').trim())
        .collect::<Vec<_>>()
        .join("\n");
    let shown = screen
        .lines()
        .find(|l| l.starts_with("https://"))
        .expect("a link preview")
        .to_owned();
    let real = jira_auth::service::authorize::authorization_url(&sample_profile("acme"), "abc");
    assert_eq!(shown.replace("FRESH-FOR-EACH-USER", "abc"), real.as_str());
}

#[test]
fn a_long_reason_for_no_system_app_wraps_instead_of_running_off_the_edge() {
    let mut app = app_with(profiles_only(&[("acme", true)]));
    app.shared.system_app = Err("no system app on this host: /etc/jira-auth/system-app.toml does not exist; create it from assets/system-app.example.toml, or set JIRA_AUTH_SYSTEM_APP".into());
    press(
        &mut app,
        &[key('n'), code(KeyCode::Enter), code(KeyCode::Enter)],
    );
    let screen = draw(&app, 100, 24);
    let joined: String = screen
        .lines()
        .map(|l| l.trim_matches('"').trim())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        joined.contains("or set JIRA_AUTH_SYSTEM_APP"),
        "the whole reason is on screen:\n{screen}"
    );
}

#[test]
fn the_end_user_link_is_copied_shown_bare_and_linked_like_the_authorization_url() {
    use common::states::{wizard_confirm_pre_authorized, wizard_confirm_user_authorized};
    let mut app = wizard_confirm_user_authorized();
    let link = app
        .screen()
        .link_url(&app.shared)
        .expect("the summary shows the end user's link");
    assert!(link.contains("state=FRESH-FOR-EACH-USER"), "{link}");
    assert_eq!(
        press(&mut app, &[key('c')]),
        vec![Effect::Copy {
            text: link.clone(),
            what: "end user's link".into()
        }]
    );
    assert_eq!(
        press(&mut app, &[key('u')]),
        vec![Effect::ShowBare {
            text: link.clone(),
            what: "end user's link".into()
        }]
    );
    let screen = draw(&app, 80, 24);
    assert!(screen.contains("u bare URL"), "{screen}");
    // Drawn soft-wrapped, whole, at one column: the loop can make it one OSC 8 link.
    for width in [80, 100, 140] {
        let buffer = draw_buffer(&app, width, 24);
        let pieces = jira_auth::tui::hyperlink::find(&buffer, &link)
            .unwrap_or_else(|| panic!("the link is drawn whole at {width} columns"));
        assert_eq!(
            pieces.iter().map(|p| p.text.as_str()).collect::<String>(),
            link
        );
    }
    // A pre-authorized summary has no end-user link, and c and u do nothing there.
    let mut app = wizard_confirm_pre_authorized();
    assert_eq!(app.screen().link_url(&app.shared), None);
    assert!(press(&mut app, &[key('c'), key('u')]).is_empty());
}
