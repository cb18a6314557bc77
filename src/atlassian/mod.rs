//! The Atlassian 3LO protocol: endpoints (with the test override), the authorization URL,
//! redirect parsing, code exchange, refresh, accessible-resources, myself, and the
//! classification of what Atlassian answers.

pub mod endpoints;

pub use endpoints::Endpoints;
