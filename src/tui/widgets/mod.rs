//! Pieces several screens share.

pub mod checklist;
pub mod qr;
pub mod scope_picker;
pub mod text_field;

pub use text_field::TextField;
