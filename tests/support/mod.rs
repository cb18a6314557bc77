pub mod fake_atlassian;
pub mod world;
