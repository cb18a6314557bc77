//! What a screen asks of the app after handling a key. A leaf, generic over what is pushed:
//! each screen returns `Action<S>` for the stack's screen type `S`, and a screen that opens
//! another asks only that `S` can be made from it (`S: From<Box<Wizard>>`), so no screen
//! names the stack or imports the module above it.

use super::message::Effect;

#[derive(Debug)]
pub enum Action<S> {
    /// Open another screen on top of this one.
    Push(S),
    /// Close this screen, back to the one below.
    Pop,
    /// Run an effect.
    Run(Effect),
    /// Say something on the status line.
    Say(String),
    /// Say that something went wrong, on the status line.
    Warn(String),
    /// Leave the console.
    Quit,
}
