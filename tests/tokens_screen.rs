//! The Tokens and Events screens driven by messages without a terminal: snapshots at 80x24
//! (a default SSH terminal) and larger, and the keys that refresh, re-authorize and delete.

mod common;

use common::ui::*;
use crossterm::event::KeyCode;
use jira_auth::tui::message::Outcome;
use jira_auth::tui::{App, Effect, Msg, update};

fn home() -> App {
    app_with(populated())
}

#[test]
fn tokens_open_on_the_grant_that_needs_a_hand_and_reauthorize_in_two_keys() {
    let mut app = home();
    let home_screen = draw(&app, 120, 32);
    assert!(
        home_screen.contains("⚠ [t a] support: user bob"),
        "{home_screen}"
    );
    let effects = press(&mut app, &[key('t'), key('a')]);
    assert_eq!(
        effects,
        vec![Effect::PrepareAuthorize {
            integration: "support".into(),
            user: Some("bob".into()),
        }],
        "two keys from Home re-authorize the dead grant"
    );
    assert_eq!(app.screen().title(), "Authorize");
    // Done (or Esc) comes back to the Tokens screen.
    update(
        &mut app,
        Msg::Done(Outcome::AuthorizeFinished(Ok("Authorized.".into()))),
    );
    press(&mut app, &[code(KeyCode::Esc)]);
    assert_eq!(app.screen().title(), "Tokens");
}

#[test]
fn the_tokens_screen_at_80x24_and_120x32() {
    let mut app = home();
    press(&mut app, &[key('t')]);
    insta::assert_snapshot!("tokens_80x24", draw(&app, 80, 24));
    insta::assert_snapshot!("tokens_120x32", draw(&app, 120, 32));
    // The countdown moves with the clock, once a second while the screen is up.
    assert_eq!(app.next_tick(), Some(std::time::Duration::from_secs(1)));
    update(&mut app, Msg::Tick(NOW.plus_secs(61)));
    insta::assert_snapshot!("tokens_a_minute_later", draw(&app, 120, 32));
}

#[test]
fn refresh_delete_and_filter_on_the_tokens_screen() {
    let mut app = home();
    press(&mut app, &[key('t'), code(KeyCode::Up), code(KeyCode::Up)]);
    let effects = press(&mut app, &[key('r')]);
    assert_eq!(
        effects,
        vec![Effect::RefreshGrant {
            integration: "jira".into(),
            principal: "admin".into(),
        }]
    );
    let effects = press(&mut app, &[key('d')]);
    assert!(effects.is_empty(), "asks first");
    insta::assert_snapshot!("tokens_delete_asks", draw(&app, 80, 24));
    let effects = press(&mut app, &[key('n')]);
    assert!(effects.is_empty(), "any other key keeps it");
    let effects = press(&mut app, &[key('d'), key('y')]);
    assert_eq!(
        effects,
        vec![Effect::DeleteTokens {
            integration: "jira".into(),
            principal: "admin".into(),
        }]
    );
    press(&mut app, &[key('/')]);
    press(&mut app, &typed("alice"));
    let screen = draw(&app, 120, 32);
    assert!(screen.contains("Tokens (1/3)"), "{screen}");
    assert!(
        screen.contains("alice") && !screen.contains("bob "),
        "{screen}"
    );
}

#[test]
fn the_events_screen_loads_filters_and_follows_changes() {
    let mut app = home();
    let effects = press(&mut app, &[key('e')]);
    assert_eq!(effects, vec![Effect::LoadEvents { limit: 500 }]);
    insta::assert_snapshot!("events_loading", draw(&app, 80, 24));
    update(
        &mut app,
        Msg::Done(Outcome::EventsLoaded(Ok(
            common::states::sample_events_page(),
        ))),
    );
    insta::assert_snapshot!("events_80x24", draw(&app, 80, 24));
    insta::assert_snapshot!("events_120x32", draw(&app, 120, 32));
    press(&mut app, &[key('/')]);
    press(&mut app, &typed("failed"));
    let screen = draw(&app, 120, 32);
    assert!(
        screen.contains("(1)") && screen.contains("invalid_grant"),
        "{screen}"
    );
    // Another process changed the store: the trail reloads while it is on screen.
    let effects = update(&mut app, Msg::Agent(jira_auth::agent::Notice::Changed));
    assert!(
        effects.contains(&Effect::LoadEvents { limit: 500 }),
        "{effects:?}"
    );
}

#[test]
fn a_long_token_list_scrolls_with_the_selection() {
    use jira_auth::domain::{Mode, Principal};
    use jira_auth::service::status;
    let mut integration = common::sample_integration("bots", None);
    integration.mode = Mode::UserAuthorized;
    let tokens: Vec<_> = (0..300)
        .map(|n| common::sample_tokens("bots", Principal::User(format!("user-{n:03}")), NOW))
        .collect();
    let mut app = app_with(status::build(
        &[integration],
        &common::summaries(&tokens),
        &[],
        NOW,
    ));
    press(&mut app, &[key('t')]);
    let downs: Vec<Msg> = (0..250).map(|_| code(KeyCode::Down)).collect();
    press(&mut app, &downs);
    let screen = draw(&app, 80, 24);
    assert!(
        screen.contains("user-250"),
        "the selected row is drawn: {screen}"
    );
    assert!(!screen.contains("user-000"), "rows above scroll away");
    let effects = press(&mut app, &[key('r')]);
    assert_eq!(
        effects,
        vec![Effect::RefreshGrant {
            integration: "bots".into(),
            principal: "user:user-250".into(),
        }]
    );
}

#[test]
fn a_burst_of_change_notices_costs_one_load_in_flight_and_one_after() {
    use jira_auth::agent::Notice;
    let mut app = home();
    let changed = || Msg::Agent(Notice::Changed);
    assert_eq!(update(&mut app, changed()), vec![Effect::LoadStatus]);
    assert!(update(&mut app, changed()).is_empty(), "one load in flight");
    assert!(update(&mut app, changed()).is_empty());
    let loaded = || Msg::StatusLoaded(Ok(populated()));
    assert_eq!(
        update(&mut app, loaded()),
        vec![Effect::LoadStatus],
        "the changes that came meanwhile are read once more"
    );
    assert!(update(&mut app, loaded()).is_empty(), "and then it rests");
    assert_eq!(update(&mut app, changed()), vec![Effect::LoadStatus]);
}

#[test]
fn at_80x24_home_keeps_the_token_state_and_time_left_whole() {
    let app = home();
    let screen = draw(&app, 80, 24);
    assert!(screen.contains("valid · 50m left"), "{screen}");
    assert!(
        !screen.contains("Enabled"),
        "the Enabled column gives way first"
    );
    assert!(
        draw(&app, 120, 32).contains("Enabled"),
        "wide terminals show it"
    );
}
