//! `jira-auth authorize`: the authorization URL alone on its own line on stderr, then the code
//! back through the loopback listener, a paste on stdin, or both at once; then the site, the
//! verification call and the stored token set. The agent holds the attempt (its state, the
//! listener, the tokens); this command prints, reads stdin and picks the site.

use std::io::{BufRead, IsTerminal, Write};

use crate::agent::AgentLink;
use crate::agent::SSH_HINT_LEAD;
use crate::agent::protocol::{AttemptView, ListenerView};
use crate::domain::Site;
use crate::service::authorize::{self, AuthorizeError};

use super::client::Client;
use super::failure::Failure;
use super::profile_input::MAX_STDIN;
use crate::exit::Exit;

/// How the code comes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Return {
    Paste,
    Listen,
    Both,
}

impl Return {
    /// From `--paste` and `--listen`: neither means both ways at once.
    pub fn of(paste: bool, listen: bool) -> Return {
        match (paste, listen) {
            (true, _) => Return::Paste,
            (_, true) => Return::Listen,
            _ => Return::Both,
        }
    }
}

pub struct AuthorizeArgs<'a> {
    pub integration: &'a str,
    pub user: Option<&'a str>,
    pub how: Return,
    pub site: Option<&'a str>,
}

pub fn run(client: &Client, args: &AuthorizeArgs<'_>) -> Result<(), Failure> {
    client.runtime.block_on(authorize(&client.link, args))
}

async fn authorize(link: &AgentLink, args: &AuthorizeArgs<'_>) -> Result<(), Failure> {
    let listen = args.how != Return::Paste;
    let attempt = link.prepare(args.integration, args.user, listen).await?;
    let listening = announce(&attempt, args.how)?;
    let sites = receive_and_exchange(link, &attempt, args.how, listening).await?;
    let site = pick_site(&sites, args.site)?;
    eprintln!("Checking access to {}…", site.url);
    let sentence = link.finish(&attempt.id, &site.id).await?;
    eprintln!("{sentence}");
    Ok(())
}

/// Prints the URL and how the code can come back; `true` when the listener is up.
fn announce(attempt: &AttemptView, how: Return) -> Result<bool, Failure> {
    eprintln!(
        "Open this URL in a browser and consent ({} for {}):",
        attempt.app_label, attempt.integration
    );
    eprintln!("{}", attempt.url);
    let listening = match (&attempt.listener, how) {
        (ListenerView::Listening { .. }, _) => {
            eprintln!("Waiting for the browser on {}", attempt.callback_url);
            if let Some(hint) = attempt.ssh_hint() {
                eprintln!("{SSH_HINT_LEAD}{hint}");
            }
            true
        }
        (ListenerView::Failed { sentence }, Return::Listen) => {
            return Err(Failure::new(Exit::Temporary, sentence.clone()));
        }
        (ListenerView::Failed { sentence }, _) => {
            eprintln!("{sentence}");
            false
        }
        (ListenerView::NotApplicable, Return::Listen) => {
            return Err(Failure::new(
                Exit::Usage,
                format!(
                    "--listen needs a loopback callback URL (http://localhost:PORT/...), but {} uses {}; paste the redirected URL instead (--paste)",
                    attempt.app_label, attempt.callback_url
                ),
            ));
        }
        (ListenerView::NotApplicable, _) => false,
    };
    if how != Return::Listen {
        eprintln!("Or paste the address the browser was sent to (or just the code), then Enter:");
    }
    Ok(listening)
}

/// Waits for the code by paste and listener at once, then has the agent exchange it.
async fn receive_and_exchange(
    link: &AgentLink,
    attempt: &AttemptView,
    how: Return,
    listening: bool,
) -> Result<Vec<Site>, Failure> {
    let pasted = async {
        if how == Return::Listen {
            std::future::pending::<Result<String, Failure>>().await
        } else {
            read_paste().await
        }
    };
    let arrived = async {
        if listening {
            link.await_callback(&attempt.id)
                .await
                .map_err(Failure::from)
        } else {
            std::future::pending().await
        }
    };
    let pasted = tokio::select! {
        line = pasted => Some(line?),
        arrived = arrived => {
            arrived?;
            None
        }
    };
    match pasted {
        Some(pasted) => {
            link.redeem(&attempt.id, pasted).await?;
        }
        None => eprintln!("The browser came back."),
    }
    eprintln!("Exchanging the code…");
    Ok(link.exchange(&attempt.id).await?)
}

/// One line from stdin: the redirected URL or a bare code. Blocking stdin is read on the
/// blocking pool so that the listener stays live meanwhile. Bytes are read and then judged,
/// so that binary input is bad input (exit 2), said as such.
async fn read_paste() -> Result<String, Failure> {
    let line = tokio::task::spawn_blocking(|| {
        use std::io::Read;
        let stdin = std::io::stdin();
        let mut lock = stdin.lock().take(MAX_STDIN);
        let mut line = Vec::new();
        loop {
            line.clear();
            match lock.read_until(b'\n', &mut line) {
                Ok(0) => return Ok(None),
                Ok(_) if line.iter().all(u8::is_ascii_whitespace) => {}
                Ok(_) => return Ok(Some(line)),
                Err(e) => return Err(e),
            }
        }
    })
    .await
    .map_err(|e| Failure {
        code: Exit::Failed,
        message: format!("reading stdin failed: {e}"),
    })?
    .map_err(|e| {
        Failure::new(
            Exit::Failed,
            format!("cannot read the pasted redirect from standard input: {e}"),
        )
    })?;
    let Some(line) = line else {
        return Err(Failure {
            code: Exit::Usage,
            message: "standard input ended before a redirected URL or code arrived".into(),
        });
    };
    paste_text(line)
}

/// The pasted line as text; too long or not text is bad input.
fn paste_text(line: Vec<u8>) -> Result<String, Failure> {
    if line.len() as u64 >= MAX_STDIN && !line.ends_with(b"\n") {
        return Err(Failure::new(
            Exit::Usage,
            "the pasted redirect is longer than 64 KiB, far more than any redirected URL; paste only the address from the browser's address bar (or just the code)",
        ));
    }
    String::from_utf8(line).map_err(|_| {
        Failure::new(Exit::Usage,
            "the pasted redirect is not UTF-8 text; paste the address the browser was sent to (or just the code) as text, from the browser's address bar",
        )
    })
}

/// The site to keep: the only one, the one --site names, or (on a terminal) the admin's pick.
fn pick_site(sites: &[Site], wanted: Option<&str>) -> Result<Site, Failure> {
    match authorize::choose_site(sites, wanted) {
        Err(AuthorizeError::SeveralSites(sites))
            if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() =>
        {
            ask_site(&sites)
        }
        other => Ok(other?),
    }
}

fn ask_site(sites: &[Site]) -> Result<Site, Failure> {
    let mut err = std::io::stderr();
    writeln!(err, "The token reaches several Jira sites:")?;
    for (n, site) in sites.iter().enumerate() {
        writeln!(err, "  {}. {}  {}", n + 1, site.url, site.name)?;
    }
    loop {
        write!(err, "Which one (1-{})? ", sites.len())?;
        err.flush()?;
        let mut line = String::new();
        if std::io::stdin().read_line(&mut line)? == 0 {
            return Err(AuthorizeError::SeveralSites(sites.to_vec()).into());
        }
        if let Some(site) = line
            .trim()
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|n| sites.get(n))
        {
            return Ok(site.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paste_that_is_not_text_or_too_long_is_bad_input() {
        let binary = paste_text(vec![b'c', b'o', 0xc3, 0x28, b'\n']).unwrap_err();
        assert_eq!(binary.code, Exit::Usage);
        assert!(
            binary
                .message
                .starts_with("the pasted redirect is not UTF-8 text")
        );
        let endless = vec![b'a'; usize::try_from(MAX_STDIN).unwrap()];
        let long = paste_text(endless).unwrap_err();
        assert_eq!(long.code, Exit::Usage);
        assert!(long.message.contains("longer than 64 KiB"));
        assert_eq!(paste_text(b"code=x\n".to_vec()).unwrap(), "code=x\n");
    }
}
