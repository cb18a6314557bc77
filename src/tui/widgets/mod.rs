//! Pieces several screens share.

pub mod text_field;

pub use text_field::TextField;
