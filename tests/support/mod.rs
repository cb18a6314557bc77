pub mod fake_atlassian;
pub mod receiver;
pub mod world;
