pub mod browser;
pub mod fake_atlassian;
pub mod proxy_process;
pub mod receiver;
pub mod world;

// Here rather than in `fake_atlassian.rs`, which the benches include without `common`.
impl fake_atlassian::FakeAtlassian {
    /// The binary with `sandbox`'s store, pointed at this fake, outside any SSH session (so
    /// what `authorize` says is the same wherever the tests run).
    pub fn command_in(&self, sandbox: &crate::common::Sandbox) -> std::process::Command {
        let mut command = sandbox.command();
        command
            .env("JIRA_AUTH_ATLASSIAN_AUTH_URL", self.auth_url())
            .env("JIRA_AUTH_ATLASSIAN_API_URL", self.api_url())
            .env_remove("SSH_CONNECTION");
        command
    }
}
