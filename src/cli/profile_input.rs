//! What `profile add` reads: the draft from its flags (and a generated URL), and the client
//! secret from stdin, never argv, where `ps` and shell history would keep it.

use crate::atlassian::Endpoints;
use crate::domain::Secret;
use crate::service::draft::ProfileDraft;

use super::{Failure, ProfileAddArgs};

/// The draft `profile add` describes: defaults, then the generated URL, then explicit flags.
pub(super) fn profile_draft(
    args: &ProfileAddArgs,
    endpoints: &Endpoints,
) -> Result<ProfileDraft, Failure> {
    let mut draft = ProfileDraft::new(endpoints);
    draft.name = args.name.clone();
    if let Some(url) = &args.from_url {
        let generated = crate::validate::generated::parse(url, endpoints).ok_or_else(|| Failure {
            code: 2,
            message: "--from-url is not a generated authorization URL (it needs client_id and redirect_uri); copy it again from your app's Authorization page".into(),
        })?;
        draft.apply_generated(&generated);
    }
    let overrides = [
        (&args.client_id, &mut draft.client_id),
        (&args.auth_url, &mut draft.authorization_url),
        (&args.token_url, &mut draft.token_url),
        (&args.refresh_url, &mut draft.refresh_url),
        (&args.scopes, &mut draft.scopes),
        (&args.callback_url, &mut draft.callback_url),
    ];
    for (flag, field) in overrides {
        if let Some(value) = flag {
            value.clone_into(field);
        }
    }
    draft.client_secret = read_secret()?;
    Ok(draft)
}

/// The client secret from stdin: a pipe is read whole, a terminal without echo.
fn read_secret() -> Result<Secret, Failure> {
    use std::io::{IsTerminal, Read};
    let stdin = std::io::stdin();
    let mut text = String::new();
    if stdin.is_terminal() {
        eprint!("Client secret (not shown): ");
        let _echo = super::tty::EchoOff::new();
        stdin.read_line(&mut text)?;
        eprintln!();
    } else {
        stdin.lock().take(64 * 1024).read_to_string(&mut text)?;
    }
    let text = text.trim_end_matches(['\n', '\r']).to_owned();
    if text.trim().is_empty() {
        return Err(Failure {
            code: 2,
            message: "Client secret: nothing arrived on standard input. Pipe it in, e.g. `printf %s \"$SECRET\" | jira-auth profile add ... --client-secret-stdin` (step v).".into(),
        });
    }
    Ok(Secret::new(text))
}
