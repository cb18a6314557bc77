//! Every screen state of the catalogue at 80x24, a default SSH terminal, compared with a
//! reviewed snapshot (the other tests snapshot the same states at larger sizes). One test
//! per state, named after it, so a failure names the state that drifted; the snapshot files
//! keep the names the catalogue gives (`at_80x24__<state>.snap`).

mod common;

use common::states::catalogue;
use common::ui::draw;

/// Draws the catalogue's `state` at 80x24 and compares it with its snapshot.
fn snapshot(state: &str) {
    let (_, build) = catalogue()
        .into_iter()
        .find(|(name, _)| *name == state)
        .unwrap_or_else(|| panic!("{state} is not in the catalogue (tests/common/states.rs)"));
    insta::assert_snapshot!(state, draw(&build(), 80, 24));
}

/// One `#[test]` per state, and the list of them, so a state added to the catalogue
/// without its test here is caught by `every_catalogue_state_has_its_test`.
macro_rules! states {
    ($($state:ident),* $(,)?) => {
        $(
            #[test]
            fn $state() {
                snapshot(stringify!($state));
            }
        )*
        const TESTED: &[&str] = &[$(stringify!($state)),*];
    };
}

states![
    home_loading,
    home_empty,
    home_with_data_and_alert,
    home_error,
    home_override_banner,
    help,
    profiles_list,
    profiles_filtered,
    profiles_delete_asks,
    form_new,
    form_valid,
    form_first_field,
    form_last_field,
    form_findings,
    form_secret_masked,
    form_secret_revealed,
    form_after_generated_paste,
    form_scope_picker,
    form_discard_asks,
    form_stored_secret,
    wizard_name,
    wizard_mode,
    wizard_app_without_system,
    wizard_system_unavailable,
    wizard_app_with_system,
    wizard_profiles,
    wizard_profile_without_offline_access,
    wizard_confirm_pre_authorized,
    wizard_confirm_user_authorized,
    wizard_confirm_change,
    wizard_confirm_change_prompt,
    authorize_ask_user,
    authorize_preparing,
    authorize_waiting,
    authorize_paste_refused,
    authorize_listener_failed,
    authorize_busy,
    authorize_choose_site,
    authorize_failed_retry,
    authorize_declined,
    authorize_done,
    authorize_qr,
    tokens,
    tokens_delete_asks,
    tokens_filtered,
    events_loading,
    events,
    events_empty,
    users_many,
    users_none,
    users_filtered,
    users_link,
    users_link_qr,
    users_asking,
    users_revoking,
];

#[test]
fn every_catalogue_state_has_its_test() {
    let catalogued: Vec<&str> = catalogue().into_iter().map(|(name, _)| name).collect();
    assert_eq!(
        catalogued, TESTED,
        "tests/at_80x24.rs lists one test per catalogue state, in the catalogue's order"
    );
}
