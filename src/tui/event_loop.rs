//! The loop: terminal events, effect results and the screen's own timer merged into one
//! stream of `Msg`. It sleeps until one of them arrives and draws once per batch, so an idle
//! console costs no CPU.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event, EventStream, KeyEventKind};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::app::{App, update};
use super::effects::EffectRunner;
use super::message::{Effect, Msg};
use super::terminal::TerminalGuard;
use super::theme::Theme;
use super::view::view;
use crate::agent::{AgentLink, Notice};
use crate::config::Endpoints;
use crate::domain::Timestamp;

/// What the console needs from `main`.
pub struct ConsoleOptions {
    pub endpoints: Endpoints,
    pub data_dir: String,
}

/// Runs the console against `link` (connected, subscribed to changes that arrive on
/// `notices`) until the user quits.
pub async fn run(
    link: Arc<AgentLink>,
    mut notices: mpsc::UnboundedReceiver<Notice>,
    options: ConsoleOptions,
) -> io::Result<()> {
    let mut guard = TerminalGuard::enter()?;
    let mut app = App::new(
        Theme::from_env(),
        options.endpoints.clone(),
        options.data_dir,
        Timestamp::now(),
    );
    app.shared.desktop_browser = super::browser::available_here();
    let (sender, mut results) = mpsc::unbounded_channel::<Msg>();
    let forward = sender.clone();
    tokio::spawn(async move {
        while let Some(notice) = notices.recv().await {
            if forward.send(Msg::Agent(notice)).is_err() {
                break;
            }
        }
    });
    let mut runner = EffectRunner::new(link, sender);
    for effect in app.init() {
        runner.spawn(effect);
    }
    let mut events = EventStream::new();
    let links = super::hyperlink::supported();
    draw(&mut guard, &app, links)?;
    debug_panic_after_first_frame();

    while !app.quit {
        let tick = app.next_tick();
        let msg = tokio::select! {
            event = events.next() => match event {
                Some(Ok(event)) => translate(event),
                Some(Err(e)) => return Err(e),
                None => break,
            },
            Some(msg) = results.recv() => Some(msg),
            () = sleep(tick), if tick.is_some() => Some(Msg::Tick(Timestamp::now())),
        };
        let Some(msg) = msg else { continue };
        let mut pending = vec![msg];
        // Coalesce: everything already waiting is handled before the next draw.
        while let Ok(msg) = results.try_recv() {
            pending.push(msg);
        }
        for msg in pending {
            for effect in update(&mut app, msg) {
                match effect {
                    Effect::ShowBare { text, what } => {
                        show_bare(&mut guard, &mut events, &text, &what).await?;
                    }
                    effect => runner.spawn(effect),
                }
            }
        }
        if !app.quit {
            draw(&mut guard, &app, links)?;
        }
    }
    Ok(())
}

/// One frame; then, where the terminal takes OSC 8, the URL on screen made one link.
fn draw(guard: &mut TerminalGuard, app: &App, links: bool) -> io::Result<()> {
    let frame = guard.terminal.draw(|frame| view(app, frame))?;
    if links
        && let Some(url) = app.screen().link_url(&app.shared)
        && let Some(pieces) = super::hyperlink::find(frame.buffer, &url)
    {
        super::hyperlink::write(&mut io::stdout(), &url, &pieces)?;
    }
    Ok(())
}

/// Leaves the alternate screen to print `text` as one line on the normal screen, waits for
/// any key, and comes back. Over SSH this is how a long URL reaches a laptop's browser whole:
/// the terminal wraps the line itself, so selecting it copies the exact URL.
async fn show_bare(
    guard: &mut TerminalGuard,
    events: &mut EventStream,
    text: &str,
    what: &str,
) -> io::Result<()> {
    use std::io::Write;
    let mut out = io::stdout();
    crossterm::execute!(
        out,
        crossterm::terminal::LeaveAlternateScreen,
        crossterm::cursor::Show
    )?;
    // Raw mode: every line ends in \r\n; the text itself is one line, nothing inside it.
    let text = crate::validate::text::sanitize(text, 16 * 1024);
    write!(
        out,
        "\r\n{text}\r\n\r\nThe {what} above is one line: select it with the mouse. Press any key to return.\r\n"
    )?;
    out.flush()?;
    while let Some(event) = events.next().await {
        match event? {
            Event::Key(key) if key.kind != KeyEventKind::Release => break,
            _ => {}
        }
    }
    crossterm::execute!(
        out,
        crossterm::terminal::EnterAlternateScreen,
        crossterm::terminal::Clear(crossterm::terminal::ClearType::All),
        crossterm::cursor::Hide
    )?;
    // Forget what was drawn so the next frame paints everything. (ratatui's own clear()
    // asks the terminal for the cursor position, an answer the event stream would swallow.)
    guard.terminal.swap_buffers();
    Ok(())
}

async fn sleep(duration: Option<Duration>) {
    tokio::time::sleep(duration.unwrap_or(Duration::MAX)).await;
}

/// Terminal events that matter; mouse moves and key releases are dropped without a redraw.
fn translate(event: Event) -> Option<Msg> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => Some(Msg::Key(key)),
        Event::Paste(text) => Some(Msg::Paste(text)),
        Event::Resize(..) => Some(Msg::Resized),
        _ => None,
    }
}

/// Tests prove the terminal is restored after a panic by setting this variable. The switch
/// exists only in debug builds, so a release binary carries no way to make it panic.
fn debug_panic_after_first_frame() {
    #[cfg(debug_assertions)]
    if std::env::var_os("JIRA_AUTH_TEST_PANIC_AFTER_FIRST_FRAME").is_some() {
        panic!("test panic after the first frame (JIRA_AUTH_TEST_PANIC_AFTER_FIRST_FRAME)");
    }
}
