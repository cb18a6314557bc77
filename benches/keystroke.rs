//! Keystroke-to-frame time on the profile form: one message through `update` plus a full
//! draw on a 120x40 TestBackend, the work the console does between a key and its frame.
//! Cases: a 4 KiB paste into a URL field (cleaning, generated-URL detection, validation of
//! every field) and a keystroke in the scope filter over the whole catalog.
//! Run: cargo bench --bench keystroke

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use jira_auth::atlassian::Endpoints;
use jira_auth::domain::{Mode, Timestamp};
use jira_auth::service::draft::ProfileDraft;
use jira_auth::service::status::StatusReport;
use jira_auth::tui::screens::Screen;
use jira_auth::tui::screens::profile_form::ProfileForm;
use jira_auth::tui::theme::Theme;
use jira_auth::tui::{App, Msg, update, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const RUNS: usize = 200;

fn form_app() -> App {
    let mut app = App::new(
        Theme::from_env(),
        Endpoints::default(),
        "/tmp".into(),
        Timestamp(1_700_000_000),
    );
    update(&mut app, Msg::StatusLoaded(Ok(StatusReport::default())));
    let draft = ProfileDraft::new(&app.shared.endpoints);
    app.stack
        .push(Screen::ProfileForm(Box::new(ProfileForm::new(
            draft,
            None,
            Some(Mode::PreAuthorized),
        ))));
    app
}

fn key(code: KeyCode, modifiers: KeyModifiers) -> Msg {
    Msg::Key(KeyEvent::new(code, modifiers))
}

/// Times `msg` then a frame, on a fresh app prepared by `setup` each run.
fn measure(name: &str, setup: impl Fn() -> App, msg: impl Fn() -> Msg) {
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("backend");
    let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let mut app = setup();
        terminal.draw(|frame| view(&app, frame)).expect("draw");
        let message = msg();
        let started = Instant::now();
        update(&mut app, message);
        terminal.draw(|frame| view(&app, frame)).expect("draw");
        times.push(started.elapsed());
    }
    times.sort();
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "{name}: median {:.0} µs, p95 {:.0} µs, max {:.0} µs ({RUNS} runs)",
        micros(times[RUNS / 2]),
        micros(times[RUNS * 95 / 100]),
        micros(times[RUNS - 1])
    );
}

fn main() {
    let paste = {
        let head = "https://auth.atlassian.com/authorize?audience=api.atlassian.com&x=";
        format!("{head}{}", "a".repeat(4096 - head.len()))
    };
    assert_eq!(paste.len(), 4096);
    measure(
        "4 KiB paste into the authorization URL field",
        || {
            let mut app = form_app();
            // Name, mechanism, client id, secret, callback: five Tabs to the authorization URL.
            for _ in 0..5 {
                update(&mut app, key(KeyCode::Tab, KeyModifiers::NONE));
            }
            update(&mut app, key(KeyCode::Char('u'), KeyModifiers::CONTROL));
            app
        },
        || Msg::Paste(paste.clone()),
    );
    measure(
        "keystroke in the scope filter (whole catalog listed)",
        || {
            let mut app = form_app();
            update(&mut app, key(KeyCode::Char('p'), KeyModifiers::CONTROL));
            app
        },
        || key(KeyCode::Char('i'), KeyModifiers::NONE),
    );
    measure("typing one character in a form field", form_app, || {
        key(KeyCode::Char('a'), KeyModifiers::NONE)
    });
}
