//! The real console in a pseudo-terminal walking the seed's Custom path: a profile created
//! by typing and by a bracketed paste of the generated authorization URL, the callback URL
//! copied over OSC 52, then picked for a pre-authorized integration.

mod common;

use common::pty::PtySession;
use common::{Sandbox, text};

const GENERATED: &str = "https://auth.atlassian.com/authorize?audience=api.atlassian.com&client_id=Zz12Cd34Ef56Gh78Ij90Kl12Mn34Op56&scope=read%3Ajira-work%20manage%3Ajira-project&redirect_uri=http%3A%2F%2Flocalhost%3A8717%2Fcallback&state=${YOUR_USER_BOUND_VALUE}&response_type=code&prompt=consent";
const SECRET: &str = "ATOAabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-abcdefgh";

#[test]
fn a_custom_profile_by_typing_and_pasting_then_a_pre_authorized_integration() {
    let sandbox = Sandbox::new();
    let mut console = PtySession::spawn(&[], &sandbox.pty_env(), 120, 40);
    console.wait_for("Welcome to jira-auth");
    console.send("s");
    console.wait_for("Name the integration");
    console.send("\r");
    console.wait_for("How will Jira be authorized?");
    console.send("\r");
    console.wait_for("Which app?");
    console.wait_for("System (unavailable)");
    console.send("\x1b[B\r");
    console.wait_for("Which authorization profile?");
    console.send("\r");
    console.wait_for("New authorization profile");

    console.send("acme\t\t");
    console.paste(GENERATED);
    console.wait_for("Filled the client ID");
    console.wait_for("Zz12Cd34Ef56Gh78Ij90Kl12Mn34Op56");
    console.send("\t");
    console.send(SECRET);
    console.wait_for("Ctrl-R shows it");
    assert!(!console.screen().contains(SECRET), "the secret is masked");

    // Copy the callback URL: no display here, so it travels as OSC 52.
    console.send("\x19");
    console.wait_for("Copied the callback URL");
    let osc52 = format!("\x1b]52;c;{}", base64("http://localhost:8717/callback"));
    console.wait_for_raw(&osc52);

    // Pre-authorized: the picker adds offline_access.
    console.send("\x10");
    console.wait_for("Added offline_access");
    // A lone ESC followed at once by another key reads as Alt+key: wait for the redraw.
    console.send("\x1b");
    console.wait_for("Developer console");
    console.send("\x13");
    console.wait_for("Which authorization profile?");
    console.wait_for("acme");
    console.send("\r");
    console.wait_for("Review and save");
    console.send("\r");
    console.wait_for("Authorize jira");
    console.send("\x1b");
    console.wait_for("not authorized");
    console.send("q");
    assert_eq!(console.wait_exit(), 0);

    let out = sandbox.run(&["status", "--json"], "");
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out.stderr)));
    assert_eq!(json["integrations"][0]["mode"], "pre-authorized");
    assert_eq!(json["integrations"][0]["profile"], "acme");
    let profile = &json["profiles"][0];
    assert_eq!(profile["client_id"], "Zz12Cd34Ef56Gh78Ij90Kl12Mn34Op56");
    assert_eq!(
        profile["scopes"],
        serde_json::json!(["read:jira-work", "manage:jira-project", "offline_access"])
    );
    let stored = sandbox.open();
    use jira_auth::store::Store;
    assert_eq!(
        stored
            .profile("acme")
            .unwrap()
            .unwrap()
            .client_secret
            .expose(),
        SECRET
    );
}

#[test]
fn a_profile_typed_field_by_field_from_the_profiles_screen() {
    let sandbox = Sandbox::new();
    let mut console = PtySession::spawn(&[], &sandbox.pty_env(), 120, 40);
    console.wait_for("Welcome to jira-auth");
    console.send("pn");
    console.wait_for("New authorization profile");
    console.send("typed\t\tAb12Cd34Ef56Gh78Ij90Kl12Mn34Op56\t");
    console.send(SECRET);
    console.send("\t\t\t\t\tread:jira-work write:jira-work");
    console.send("\x13");
    console.wait_for("Saved the profile \"typed\"");
    console.wait_for("Profiles (1/1)");
    console.send("\x1b");
    console.wait_for("Authorization profiles");
    console.send("q");
    assert_eq!(console.wait_exit(), 0);
    use jira_auth::store::Store;
    let profile = sandbox.open().profile("typed").unwrap().unwrap();
    assert_eq!(profile.scopes, ["read:jira-work", "write:jira-work"]);
}

fn base64(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
