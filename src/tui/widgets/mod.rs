//! Pieces several screens share.

pub mod qr;
pub mod text_field;

pub use text_field::TextField;
