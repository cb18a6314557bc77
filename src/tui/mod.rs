//! The console: terminal set-up and restore, the event loop, and the effect runner. State and
//! transitions live in `app`, drawing in `view`, each screen in `screens/`.

pub mod action;
pub mod app;
pub mod keymap;
pub mod message;
pub mod screens;
pub mod shared;
pub mod theme;
pub mod view;
pub mod widgets;

mod browser;
mod effects;
mod event_loop;
pub mod hyperlink;
mod terminal;

pub use app::{App, update};
pub use event_loop::{ConsoleOptions, run};
pub use message::{Effect, Msg};
pub use view::view;
