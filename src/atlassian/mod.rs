//! The Atlassian 3LO protocol: endpoints (with the test override), the authorization URL,
//! redirect parsing, code exchange, refresh, accessible-resources, myself, and the
//! classification of what Atlassian answers.

pub mod authorize;
pub mod client;
pub mod endpoints;
pub mod errors;
pub mod redirect;
pub mod resources;
pub mod state;

pub use endpoints::Endpoints;
