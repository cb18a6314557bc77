//! What `profile add` reads: the draft from its flags (and a generated URL), and the client
//! secret from stdin, never argv, where `ps` and shell history would keep it.

use crate::config::Endpoints;
use crate::domain::Secret;
use crate::service::draft::ProfileDraft;

use super::args::ProfileAddArgs;
use super::failure::Failure;
use crate::exit::Exit;

/// The draft `profile add` describes: defaults, then the generated URL, then explicit flags.
pub(super) fn profile_draft(
    args: &ProfileAddArgs,
    endpoints: &Endpoints,
) -> Result<ProfileDraft, Failure> {
    let mut draft = ProfileDraft::new(endpoints);
    draft.name = args.name.clone();
    if let Some(url) = &args.from_url {
        let generated = crate::validate::generated::parse(url, endpoints).ok_or_else(|| Failure {
            code: Exit::Usage,
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

/// The most read from standard input: far more than any secret or redirected URL, and a
/// bound on what a wrong pipe can make this process hold.
pub(super) const MAX_STDIN: u64 = 64 * 1024;

/// The client secret from stdin: a pipe is read whole, a terminal without echo. Bytes are
/// read and then judged, so that binary input is bad input (exit 2), said as such.
fn read_secret() -> Result<Secret, Failure> {
    use std::io::{BufRead, IsTerminal, Read};
    let stdin = std::io::stdin();
    let mut bytes = Vec::new();
    let read = if stdin.is_terminal() {
        eprint!("Client secret (not shown): ");
        let _echo = super::tty::EchoOff::new();
        let read = stdin.lock().take(MAX_STDIN).read_until(b'\n', &mut bytes);
        eprintln!();
        read
    } else {
        stdin.lock().take(MAX_STDIN).read_to_end(&mut bytes)
    };
    read.map_err(|e| {
        Failure::new(
            Exit::Failed,
            format!("cannot read the client secret from standard input: {e}"),
        )
    })?;
    let text = secret_text(bytes)?;
    let text = text.trim_end_matches(['\n', '\r']).to_owned();
    if text.trim().is_empty() {
        return Err(Failure {
            code: Exit::Usage,
            message: "Client secret: nothing arrived on standard input. Pipe it in, e.g. `printf %s \"$SECRET\" | jira-auth profile add ... --client-secret-stdin` (step v).".into(),
        });
    }
    Ok(Secret::new(text))
}

/// The secret's bytes as text. The message never shows them: they may be the secret.
fn secret_text(bytes: Vec<u8>) -> Result<String, Failure> {
    String::from_utf8(bytes).map_err(|_| {
        Failure::new(Exit::Usage,
            "the client secret on standard input is not UTF-8 text; pipe in the Secret exactly as your app's Settings page shows it (step v), e.g. `printf %s \"$SECRET\" | jira-auth profile add ... --client-secret-stdin`",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_that_are_not_text_are_bad_input() {
        let refused = secret_text(vec![b'A', 0xff, 0xfe, b'B']).unwrap_err();
        assert_eq!(refused.code, Exit::Usage);
        assert!(
            refused
                .message
                .starts_with("the client secret on standard input is not UTF-8 text")
        );
        assert_eq!(secret_text(b"ATOA-x".to_vec()).unwrap(), "ATOA-x");
    }
}
