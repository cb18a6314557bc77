//! Pieces several screens share.

pub mod checklist;
pub mod confirm;
pub mod list_filter;
pub mod qr;
pub mod scope_picker;
pub mod text_field;

pub use confirm::Confirm;
pub use list_filter::{FilterKey, ListFilter};
pub use text_field::TextField;
