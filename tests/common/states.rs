//! Every screen in each of its main states, built by driving `App` with messages, and the
//! helpers that build them. One catalogue serves the 80x24 snapshots and the width walk, so
//! a new screen (or state) is one more entry in [`catalogue`].

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use jira_auth::agent::protocol::{AttemptView, EventTrail, ListenerView};
use jira_auth::atlassian::Endpoints;
use jira_auth::domain::{Account, Event, EventKind, Mode, Principal, Site, TokenSet};
use jira_auth::service::authorize::authorization_url;
use jira_auth::service::draft::ProfileDraft;
use jira_auth::service::status::{self, StatusReport};
use jira_auth::tui::message::{
    EventsPage, IssuedLink, ListenerEnd, Outcome, Prepared, StepFailure,
};
use jira_auth::tui::screens::Screen;
use jira_auth::tui::screens::profile_form::ProfileForm;
use jira_auth::tui::theme::Theme;
use jira_auth::tui::{App, Effect, Msg, update};

use super::ui::*;
use super::{sample_integration, sample_profile, sample_tokens, summaries};

pub const STATE: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
pub const ATTEMPT: &str = "attempt-1";
pub const ID: &str = "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56";
pub const SECRET: &str =
    "ATOAabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-abcdefgh";
pub const GENERATED: &str = "https://auth.atlassian.com/authorize?audience=api.atlassian.com&client_id=Zz12Cd34Ef56Gh78Ij90Kl12Mn34Op56&scope=read%3Ajira-work%20manage%3Ajira-project&redirect_uri=http%3A%2F%2Flocalhost%3A8717%2Fcallback&state=${YOUR_USER_BOUND_VALUE}&response_type=code&prompt=consent";

pub fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

pub fn done(app: &mut App, outcome: Outcome) -> Vec<Effect> {
    update(app, Msg::Done(outcome))
}

// ----- Home, help, profiles -----

pub fn home_loading() -> App {
    App::new(
        Theme::monochrome(),
        Endpoints::default(),
        "/var/lib/jira-auth".into(),
        NOW,
    )
}

pub fn home_error() -> App {
    let mut app = home_loading();
    update(
        &mut app,
        Msg::StatusLoaded(Err("the store failed: disk full".into())),
    );
    app
}

pub fn home_override_banner() -> App {
    let endpoints =
        Endpoints::from_overrides(Some("http://127.0.0.1:1"), Some("http://127.0.0.1:2"));
    let mut app = App::new(Theme::monochrome(), endpoints, "/tmp/x".into(), NOW);
    update(&mut app, Msg::StatusLoaded(Ok(StatusReport::default())));
    app
}

pub fn help_on_home() -> App {
    let mut app = app_with(populated());
    update(&mut app, key('?'));
    app
}

/// Profiles alone, `false` ones without offline_access.
pub fn profiles_only(names: &[(&str, bool)]) -> StatusReport {
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

pub fn profiles_list() -> App {
    let mut report = populated();
    report
        .profiles
        .extend(profiles_only(&[("spare", true), ("zeta", true)]).profiles);
    let mut app = app_with(report);
    press(&mut app, &[key('p')]);
    app
}

pub fn profiles_filtered() -> App {
    let mut app = profiles_list();
    press(&mut app, &[key('/')]);
    press(&mut app, &typed("sp"));
    app
}

pub fn profiles_delete_asks() -> App {
    let mut app = profiles_filtered();
    press(&mut app, &[code(KeyCode::Enter), key('d')]);
    app
}

// ----- The profile form -----

pub fn form_app(mode: Option<Mode>) -> App {
    let mut app = app_with(StatusReport::default());
    let draft = ProfileDraft::new(&app.shared.endpoints);
    app.stack
        .push(Screen::ProfileForm(Box::new(ProfileForm::new(
            draft, None, mode,
        ))));
    app
}

/// Types `text` into the focused field, then Tab.
pub fn fill(app: &mut App, text: &str) {
    press(app, &typed(text));
    press(app, &[code(KeyCode::Tab)]);
}

/// Every field filled and good; the focus ends on the scopes.
pub fn valid(app: &mut App) {
    fill(app, "acme");
    press(app, &[code(KeyCode::Tab)]);
    fill(app, ID);
    fill(app, SECRET);
    press(
        app,
        &[
            code(KeyCode::Tab),
            code(KeyCode::Tab),
            code(KeyCode::Tab),
            code(KeyCode::Tab),
        ],
    );
    press(app, &typed("read:jira-work write:jira-work offline_access"));
}

pub fn form_new() -> App {
    form_app(Some(Mode::PreAuthorized))
}

pub fn form_valid() -> App {
    let mut app = form_new();
    valid(&mut app);
    app
}

/// Focus on the last field (Shift-Tab from the first wraps round to it).
pub fn form_last_field() -> App {
    let mut app = form_valid();
    while !matches!(app.screen(), Screen::ProfileForm(form) if form.focused() == *jira_auth::tui::screens::profile_form::ROWS.last().unwrap())
    {
        press(&mut app, &[code(KeyCode::Tab)]);
    }
    app
}

/// Back on the first field after the whole form was filled.
pub fn form_first_field() -> App {
    let mut app = form_last_field();
    press(&mut app, &[code(KeyCode::Tab)]);
    app
}

pub fn form_findings() -> App {
    let mut app = form_app(Some(Mode::UserAuthorized));
    fill(&mut app, "acme");
    press(&mut app, &[code(KeyCode::Tab)]);
    fill(&mut app, "short-id");
    fill(&mut app, "odd-secret");
    press(&mut app, &[code(KeyCode::Tab)]);
    // Authorization URL without the audience: a notice; then a lookalike token URL: an error.
    press(&mut app, &[ctrl('u')]);
    fill(&mut app, "https://auth.atlassian.com/authorize");
    press(&mut app, &[ctrl('u')]);
    fill(
        &mut app,
        "https://auth.atlassian.com.evil.example/oauth/token",
    );
    app
}

/// The secret typed into its field, masked.
pub fn form_secret_masked() -> App {
    let mut app = form_app(None);
    press(
        &mut app,
        &[code(KeyCode::Tab), code(KeyCode::Tab), code(KeyCode::Tab)],
    );
    press(&mut app, &typed("s3cret-value"));
    app
}

pub fn form_secret_revealed() -> App {
    let mut app = form_secret_masked();
    press(&mut app, &[ctrl('r')]);
    app
}

pub fn form_after_generated_paste() -> App {
    let mut app = form_new();
    press(&mut app, &[code(KeyCode::Tab), code(KeyCode::Tab)]);
    update(
        &mut app,
        Msg::Paste(format!(
            "  \"{}\n{}\"  ",
            &GENERATED[..60],
            &GENERATED[60..]
        )),
    );
    app
}

pub fn form_scope_picker() -> App {
    let mut app = form_new();
    press(&mut app, &[ctrl('p')]);
    app
}

pub fn form_discard_asks() -> App {
    let mut app = form_app(None);
    press(&mut app, &typed("acme"));
    press(&mut app, &[code(KeyCode::Esc)]);
    app
}

/// A stored profile as the agent opens it for editing: everything but the secret.
pub fn form_stored_secret() -> App {
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

// ----- The wizard -----

fn wizard_from(report: StatusReport, keys: &[Msg]) -> App {
    let mut app = app_with(report);
    press(&mut app, keys);
    app
}

fn two_profiles() -> StatusReport {
    profiles_only(&[("acme", true), ("legacy", false)])
}

pub fn wizard_name() -> App {
    wizard_from(two_profiles(), &[key('n')])
}

pub fn wizard_mode() -> App {
    wizard_from(two_profiles(), &[key('n'), code(KeyCode::Enter)])
}

pub fn wizard_app_without_system() -> App {
    let enter = code(KeyCode::Enter);
    wizard_from(two_profiles(), &[key('n'), enter.clone(), enter])
}

/// System chosen on a host that has none: the reason under the choices.
pub fn wizard_system_unavailable() -> App {
    let mut app = app_with(two_profiles());
    app.shared.system_app = Err("no system app on this host: /etc/jira-auth/system-app.toml does not exist; create it from assets/system-app.example.toml, or set JIRA_AUTH_SYSTEM_APP".into());
    let enter = code(KeyCode::Enter);
    press(&mut app, &[key('n'), enter.clone(), enter.clone(), enter]);
    app
}

pub fn wizard_app_with_system() -> App {
    let mut app = app_with(StatusReport::default());
    with_system_app(&mut app);
    let enter = code(KeyCode::Enter);
    press(
        &mut app,
        &[key('s'), enter.clone(), code(KeyCode::Down), enter],
    );
    app
}

pub fn wizard_profiles() -> App {
    let mut app = wizard_app_without_system();
    press(&mut app, &[code(KeyCode::Down), code(KeyCode::Enter)]);
    app
}

pub fn wizard_profile_without_offline_access() -> App {
    let mut app = wizard_profiles();
    press(&mut app, &[code(KeyCode::Down), code(KeyCode::Enter)]);
    app
}

pub fn wizard_confirm_pre_authorized() -> App {
    let mut app = wizard_profiles();
    press(&mut app, &[code(KeyCode::Enter)]);
    app
}

/// The summary of a user-authorized set-up through the system app: the end-user link.
pub fn wizard_confirm_user_authorized() -> App {
    let mut app = wizard_app_with_system();
    press(&mut app, &[code(KeyCode::Enter)]);
    app
}

/// jira (pre-authorized through Custom, one token) moved to System: what it drops.
pub fn wizard_confirm_change() -> App {
    let mut app = app_with(populated());
    with_system_app(&mut app);
    let enter = code(KeyCode::Enter);
    press(
        &mut app,
        &[enter.clone(), enter.clone(), code(KeyCode::Up), enter],
    );
    app
}

pub fn wizard_confirm_change_prompt() -> App {
    let mut app = wizard_confirm_change();
    press(&mut app, &[code(KeyCode::Enter)]);
    app
}

// ----- Authorize -----

pub fn attempt(mode: Mode, principal: Principal, listener: ListenerView) -> Box<Prepared> {
    let app = sample_profile("acme");
    let ssh_hint = matches!(listener, ListenerView::Listening { .. })
        .then(|| "ssh -L 8765:localhost:8765 ada@203.0.113.7".to_owned());
    Box::new(Prepared {
        attempt: AttemptView {
            id: ATTEMPT.into(),
            integration: "jira".into(),
            mode,
            principal: principal.key(),
            app_label: "the profile \"acme\"".into(),
            url: authorization_url(&app, STATE).to_string(),
            callback_url: app.callback_url,
            renewing: false,
            listener,
        },
        ssh_hint,
    })
}

pub fn site(id: &str, name: &str) -> Site {
    Site {
        id: id.into(),
        url: format!("https://{name}.atlassian.net"),
        name: name.into(),
    }
}

/// Home with one integration of `mode`, then `a`.
pub fn authorize_opened(mode: Mode) -> (App, Vec<Effect>) {
    let mut integration = sample_integration("jira", Some("acme"));
    integration.mode = mode;
    let mut app = app_with(status::build(
        &[integration],
        &[],
        &[sample_profile("acme")],
        NOW,
    ));
    let effects = press(&mut app, &[key('a')]);
    (app, effects)
}

/// The URL is out and the listener waits; returns the effects that answered.
pub fn authorize_ready(app: &mut App) -> Vec<Effect> {
    done(
        app,
        Outcome::AuthorizePrepared(Ok(attempt(
            Mode::PreAuthorized,
            Principal::Admin,
            ListenerView::Listening { port: 8765 },
        ))),
    )
}

pub fn authorize_preparing() -> App {
    authorize_opened(Mode::PreAuthorized).0
}

pub fn authorize_ask_user() -> App {
    authorize_opened(Mode::UserAuthorized).0
}

pub fn authorize_waiting() -> App {
    let mut app = authorize_preparing();
    authorize_ready(&mut app);
    app
}

pub fn authorize_paste_refused() -> App {
    let mut app = authorize_waiting();
    update(
        &mut app,
        Msg::Paste("http://localhost:8765/callback?code=abc&state=old".into()),
    );
    press(&mut app, &[code(KeyCode::Enter)]);
    done(
        &mut app,
        Outcome::PasteChecked(Err(
            "the pasted address belongs to another authorization attempt (its state does not match)".into(),
        )),
    );
    app
}

pub fn authorize_listener_failed() -> App {
    let mut app = authorize_preparing();
    done(
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
    app
}

pub fn authorize_busy() -> App {
    let mut app = authorize_waiting();
    done(&mut app, Outcome::CodeReceived(ListenerEnd::Code));
    app
}

pub fn authorize_choose_site() -> App {
    let mut app = authorize_busy();
    done(
        &mut app,
        Outcome::Exchanged(Ok(vec![site("1", "acme"), site("2", "beta")])),
    );
    app
}

pub fn authorize_failed_retry() -> App {
    let mut app = authorize_waiting();
    let effects = done(&mut app, Outcome::CodeReceived(ListenerEnd::Code));
    let retry = effects
        .into_iter()
        .find(|e| matches!(e, Effect::Exchange { .. }))
        .expect("the code is exchanged");
    done(
        &mut app,
        Outcome::Exchanged(Err(StepFailure {
            sentence: "Atlassian had a problem (HTTP 500): \"Internal error\". This is temporary: try again in a moment; nothing was lost".into(),
            retry: Some(Box::new(retry)),
        })),
    );
    app
}

pub fn authorize_declined() -> App {
    let mut app = authorize_waiting();
    done(
        &mut app,
        Outcome::CodeReceived(ListenerEnd::Declined(
            "consent was declined: the user chose Cancel".into(),
        )),
    );
    app
}

pub fn authorize_done() -> App {
    let mut app = authorize_busy();
    done(&mut app, Outcome::Exchanged(Ok(vec![site("1", "acme")])));
    done(
        &mut app,
        Outcome::AuthorizeFinished(Ok(
            "Authorized as Ada Admin on acme (https://acme.atlassian.net); jira is enabled.".into(),
        )),
    );
    app
}

pub fn authorize_qr() -> App {
    let mut app = authorize_waiting();
    press(&mut app, &[key('g')]);
    app
}

// ----- Tokens and events -----

pub fn tokens() -> App {
    let mut app = app_with(populated());
    press(&mut app, &[key('t')]);
    app
}

pub fn tokens_delete_asks() -> App {
    let mut app = tokens();
    press(&mut app, &[code(KeyCode::Up), code(KeyCode::Up), key('d')]);
    app
}

pub fn tokens_filtered() -> App {
    let mut app = tokens();
    press(&mut app, &[key('/')]);
    press(&mut app, &typed("alice"));
    app
}

pub fn sample_events() -> Vec<Event> {
    let event = |offset: i64, kind, principal: Option<&str>, outcome: &str| Event {
        at: NOW.plus_secs(offset),
        integration: "jira".into(),
        principal: principal.map(str::to_owned),
        kind,
        outcome: outcome.into(),
    };
    vec![
        event(-60, EventKind::Refreshed, Some("admin"), "valid for 1h 0m"),
        event(
            -3_600,
            EventKind::RefreshFailed,
            Some("user:bob"),
            "Atlassian refused the refresh token (invalid_grant)",
        ),
        event(
            -86_400,
            EventKind::Authorized,
            Some("admin"),
            "as Ada Admin on https://acme.atlassian.net",
        ),
        event(
            -90_000,
            EventKind::Configured,
            None,
            "pre-authorized through Custom (acme)",
        ),
    ]
}

/// The sample events as the agent answers them: with the default retention, the oldest
/// sample event the oldest kept.
pub fn sample_events_page() -> EventsPage {
    EventsPage {
        events: sample_events(),
        trail: Some(EventTrail {
            keep_secs: 90 * 86_400,
            max_events: 100_000,
            oldest: Some(NOW.plus_secs(-90_000)),
        }),
    }
}

pub fn events_loading() -> App {
    let mut app = app_with(populated());
    press(&mut app, &[key('e')]);
    app
}

pub fn events() -> App {
    let mut app = events_loading();
    done(&mut app, Outcome::EventsLoaded(Ok(sample_events_page())));
    app
}

pub fn events_empty() -> App {
    let mut app = events_loading();
    done(
        &mut app,
        Outcome::EventsLoaded(Ok(EventsPage {
            events: Vec::new(),
            trail: Some(EventTrail {
                keep_secs: 90 * 86_400,
                max_events: 100_000,
                oldest: None,
            }),
        })),
    );
    app
}

/// A named way to reach one screen state.
pub type Entry = (&'static str, fn() -> App);

// ----- Users -----

pub const USER_LINK: &str = "https://auth.atlassian.com/authorize?audience=api.atlassian.com&client_id=Fk12Cd34Ef56Gh78Ij90Kl12Mn34Op56&scope=read%3Ajira-work%20offline_access&redirect_uri=https%3A%2F%2Fjira-auth.acme.example%2Fcallback&state=Qm9yZWQ_b2Zfd2FpdGluZz8gVGhpcyBpcyBhIHRlc3Qu&response_type=code&prompt=consent";

/// End user `n` of `support`: every seventh needs a new consent, every seventh expires soon.
pub fn end_user(n: usize) -> TokenSet {
    let mut tokens = sample_tokens(
        "support",
        Principal::User(format!("user-{n:05}@acme.example")),
        NOW.plus_secs(-(i64::try_from(n).unwrap_or(0) * 97) % 5000),
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

/// The user-authorized `support` with `users` end users.
pub fn users_report(users: usize) -> StatusReport {
    let mut integration = sample_integration("support", None);
    integration.mode = Mode::UserAuthorized;
    let tokens: Vec<TokenSet> = (0..users).map(end_user).collect();
    status::build(&[integration], &summaries(&tokens), &[], NOW)
}

/// Home, then `u`: the Users screen of `support`.
pub fn users_of(users: usize) -> App {
    let mut app = app_with(users_report(users));
    press(&mut app, &[key('u')]);
    app
}

/// The agent's answer to a link for `user`.
pub fn link_issued(user: &str) -> Msg {
    Msg::Done(Outcome::LinkIssued(Ok(IssuedLink {
        integration: "support".into(),
        user: user.into(),
        url: USER_LINK.into(),
        issued_at: NOW,
        expires_at: NOW.plus_secs(1800),
    })))
}

pub fn users_many() -> App {
    users_of(500)
}

pub fn users_none() -> App {
    users_of(0)
}

pub fn users_filtered() -> App {
    let mut app = users_of(500);
    press(&mut app, &[key('/')]);
    press(&mut app, &typed("re-auth"));
    app
}

pub fn users_link() -> App {
    let mut app = users_of(30);
    press(&mut app, &[code(KeyCode::Down), key('l')]);
    update(&mut app, link_issued("user-00001@acme.example"));
    app
}

pub fn users_link_qr() -> App {
    let mut app = users_link();
    press(&mut app, &[key('g')]);
    app
}

pub fn users_asking() -> App {
    let mut app = users_of(3);
    press(&mut app, &[key('n')]);
    app
}

pub fn users_revoking() -> App {
    let mut app = users_of(5);
    press(&mut app, &[code(KeyCode::Down), key('d')]);
    app
}

/// Every screen and its main states. A new screen adds its entries here: the 80x24
/// snapshots and the width walk then cover it.
pub fn catalogue() -> Vec<Entry> {
    vec![
        ("home_loading", home_loading),
        ("home_empty", || app_with(StatusReport::default())),
        ("home_with_data_and_alert", || app_with(populated())),
        ("home_error", home_error),
        ("home_override_banner", home_override_banner),
        ("help", help_on_home),
        ("profiles_list", profiles_list),
        ("profiles_filtered", profiles_filtered),
        ("profiles_delete_asks", profiles_delete_asks),
        ("form_new", form_new),
        ("form_valid", form_valid),
        ("form_first_field", form_first_field),
        ("form_last_field", form_last_field),
        ("form_findings", form_findings),
        ("form_secret_masked", form_secret_masked),
        ("form_secret_revealed", form_secret_revealed),
        ("form_after_generated_paste", form_after_generated_paste),
        ("form_scope_picker", form_scope_picker),
        ("form_discard_asks", form_discard_asks),
        ("form_stored_secret", form_stored_secret),
        ("wizard_name", wizard_name),
        ("wizard_mode", wizard_mode),
        ("wizard_app_without_system", wizard_app_without_system),
        ("wizard_system_unavailable", wizard_system_unavailable),
        ("wizard_app_with_system", wizard_app_with_system),
        ("wizard_profiles", wizard_profiles),
        (
            "wizard_profile_without_offline_access",
            wizard_profile_without_offline_access,
        ),
        (
            "wizard_confirm_pre_authorized",
            wizard_confirm_pre_authorized,
        ),
        (
            "wizard_confirm_user_authorized",
            wizard_confirm_user_authorized,
        ),
        ("wizard_confirm_change", wizard_confirm_change),
        ("wizard_confirm_change_prompt", wizard_confirm_change_prompt),
        ("authorize_ask_user", authorize_ask_user),
        ("authorize_preparing", authorize_preparing),
        ("authorize_waiting", authorize_waiting),
        ("authorize_paste_refused", authorize_paste_refused),
        ("authorize_listener_failed", authorize_listener_failed),
        ("authorize_busy", authorize_busy),
        ("authorize_choose_site", authorize_choose_site),
        ("authorize_failed_retry", authorize_failed_retry),
        ("authorize_declined", authorize_declined),
        ("authorize_done", authorize_done),
        ("authorize_qr", authorize_qr),
        ("tokens", tokens),
        ("tokens_delete_asks", tokens_delete_asks),
        ("tokens_filtered", tokens_filtered),
        ("events_loading", events_loading),
        ("events", events),
        ("events_empty", events_empty),
        ("users_many", users_many),
        ("users_none", users_none),
        ("users_filtered", users_filtered),
        ("users_link", users_link),
        ("users_link_qr", users_link_qr),
        ("users_asking", users_asking),
        ("users_revoking", users_revoking),
    ]
}
