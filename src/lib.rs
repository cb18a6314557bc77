//! jira-auth: sets up and keeps alive the OAuth 2.0 (3LO) authorization of a Jira Cloud
//! integration, from a keyboard-driven console or from scripts.

pub mod agent;
pub mod atlassian;
pub mod callback;
pub mod cli;
pub mod clipboard;
pub mod config;
pub mod domain;
pub mod exit;
pub mod jira;
pub mod limits;
pub mod log;
pub mod proxy;
pub mod receiver;
pub mod service;
pub mod store;
pub mod tui;
pub mod validate;
