//! Every screen drawn on ratatui's TestBackend at a fixed size and compared with a reviewed
//! snapshot. Time is fixed, so countdowns are stable.

mod common;

use common::ui::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use jira_auth::atlassian::Endpoints;
use jira_auth::service::status::StatusReport;
use jira_auth::tui::theme::Theme;
use jira_auth::tui::{App, Msg, update};

#[test]
fn home_before_the_store_answers() {
    let app = App::new(
        Theme::monochrome(),
        Endpoints::default(),
        "/var/lib/jira-auth".into(),
        NOW,
    );
    insta::assert_snapshot!(draw(&app, 80, 20));
}

#[test]
fn home_empty_tells_a_first_time_user_what_to_do() {
    insta::assert_snapshot!(draw(&app_with(StatusReport::default()), 80, 20));
}

#[test]
fn home_with_integrations_profiles_and_an_alert() {
    insta::assert_snapshot!(draw(&app_with(populated()), 100, 24));
}

#[test]
fn home_when_the_disk_is_full_and_a_grant_is_held_unsaved() {
    let mut report = populated();
    report.disk_full = Some(
        "the disk holding /var/lib/jira-auth is full, so nothing more can be written there; free space on it (`df -h /var/lib/jira-auth`): jira-auth carries on by itself once there is room, and no grant it holds is lost meanwhile".into(),
    );
    let admin = &mut report.integrations[0].tokens[0];
    admin.state = jira_auth::domain::TokenState::Unsaved;
    admin.last_error = Some(
        "the disk holding /var/lib/jira-auth is full; free space there and jira-auth writes it by itself".into(),
    );
    insta::assert_snapshot!(draw(&app_with(report), 100, 24));
}

#[test]
fn home_when_the_store_cannot_be_read() {
    let mut app = App::new(
        Theme::monochrome(),
        Endpoints::default(),
        "/var/lib/jira-auth".into(),
        NOW,
    );
    update(
        &mut app,
        Msg::StatusLoaded(Err("the store failed: disk full".into())),
    );
    insta::assert_snapshot!(draw(&app, 80, 20));
}

#[test]
fn help_overlay_lists_every_key_of_the_screen() {
    let mut app = app_with(populated());
    update(&mut app, key('?'));
    assert!(app.help_open);
    insta::assert_snapshot!(draw(&app, 100, 24));
    update(&mut app, key('x'));
    assert!(!app.help_open, "any key closes help");
    assert!(!app.quit);
}

#[test]
fn too_small_terminal_says_so() {
    insta::assert_snapshot!(draw(&app_with(populated()), 59, 15));
}

#[test]
fn override_banner_shows_on_every_screen() {
    let endpoints =
        Endpoints::from_overrides(Some("http://127.0.0.1:1"), Some("http://127.0.0.1:2"));
    let mut app = App::new(Theme::monochrome(), endpoints, "/tmp/x".into(), NOW);
    update(&mut app, Msg::StatusLoaded(Ok(StatusReport::default())));
    insta::assert_snapshot!(draw(&app, 90, 18));
}

#[test]
fn q_quits_and_ctrl_c_quits() {
    let mut app = app_with(StatusReport::default());
    update(&mut app, key('q'));
    assert!(app.quit);
    let mut app = app_with(StatusReport::default());
    update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
    );
    assert!(app.quit);
}
