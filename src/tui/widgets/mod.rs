//! Pieces several screens share.

pub mod checklist;
pub mod confirm;
pub mod fit;
pub mod list_filter;
pub mod qr;
pub mod scope_picker;
pub mod text_field;
pub mod url_keys;

pub use confirm::Confirm;
pub use fit::{columns_that_fit, fit, wrap_words};
pub use list_filter::{FilterKey, ListFilter};
pub use text_field::TextField;
pub use url_keys::UrlKey;
