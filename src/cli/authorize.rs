//! `jira-auth authorize`: the authorization URL alone on its own line on stderr, then the code
//! back through the loopback listener, a paste on stdin, or both at once; then the site, the
//! verification call and the stored token set. The store is opened only to prepare and to
//! finish, never while a human is in the browser.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use crate::atlassian::redirect::{self, RedirectError};
use crate::atlassian::{Endpoints, client};
use crate::callback::{self, Callback};
use crate::domain::{Site, Timestamp};
use crate::service::authorize::{self, Attempt, AuthorizeError};
use crate::service::system_app;

use super::{Failure, open_store};

/// How the code comes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Return {
    Paste,
    Listen,
    Both,
}

pub struct AuthorizeArgs<'a> {
    pub integration: &'a str,
    pub user: Option<&'a str>,
    pub how: Return,
    pub site: Option<&'a str>,
}

impl From<AuthorizeError> for Failure {
    fn from(e: AuthorizeError) -> Self {
        Failure {
            code: e.exit_code(),
            message: e.to_string(),
        }
    }
}

impl From<RedirectError> for Failure {
    fn from(e: RedirectError) -> Self {
        Failure {
            code: e.exit_code(),
            message: e.to_string(),
        }
    }
}

pub fn run(data_dir: Option<&Path>, args: &AuthorizeArgs<'_>) -> Result<(), Failure> {
    let endpoints = Endpoints::from_env();
    let attempt = {
        let store = open_store(data_dir, "authorize")?;
        let system = system_app::load_from_env(&endpoints).map_err(|e| e.to_string());
        authorize::prepare(
            &store,
            args.integration,
            args.user,
            system.as_ref().map_err(Clone::clone),
        )?
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (grant, site) = runtime.block_on(async {
        let code = receive_code(&attempt, args.how).await?;
        let http = client::http_client();
        eprintln!("Exchanging the code…");
        let grant = authorize::exchange(&http, &endpoints, &attempt, &code).await?;
        let site = pick_site(&grant.sites, args.site)?;
        eprintln!("Checking access to {}…", site.url);
        let myself = authorize::verify(&http, &endpoints, &grant, &site).await?;
        Ok::<_, Failure>(((grant, myself), site))
    })?;
    let (grant, myself) = grant;
    let store = open_store(data_dir, "authorize")?;
    let done = authorize::finish(&store, &attempt, grant, site, myself, Timestamp::now())?;
    eprintln!(
        "Authorized as {} on {} ({}); {} {} is enabled.",
        done.myself.display_name,
        done.site.name,
        done.site.url,
        attempt.integration,
        attempt.principal
    );
    Ok(())
}

/// Prints the URL and waits for the code by the chosen way(s).
async fn receive_code(attempt: &Attempt, how: Return) -> Result<String, Failure> {
    eprintln!(
        "Open this URL in a browser and consent ({} for {}):",
        attempt.app_label, attempt.integration
    );
    eprintln!("{}", attempt.url);
    let target = callback::loopback_target(&attempt.app.callback_url);
    let listener = match (how, &target) {
        (Return::Paste, _) => None,
        (Return::Listen, None) => {
            return Err(Failure {
                code: 2,
                message: format!(
                    "--listen needs a loopback callback URL (http://localhost:PORT/...), but {} uses {}; paste the redirected URL instead (--paste)",
                    attempt.app_label, attempt.app.callback_url
                ),
            });
        }
        (_, None) => None,
        (_, Some(target)) => match callback::bind(target, attempt.state.clone()).await {
            Ok(listener) => {
                eprintln!("Waiting for the browser on {}", attempt.app.callback_url);
                if let Some(hint) = callback::ssh_forward_hint_from_env(listener.port()) {
                    eprintln!("Over SSH, forward the port first, on your laptop: {hint}");
                }
                Some(listener)
            }
            Err(e) if how == Return::Listen => {
                return Err(Failure {
                    code: 4,
                    message: e.to_string(),
                });
            }
            Err(e) => {
                eprintln!("{e}");
                None
            }
        },
    };
    if how != Return::Listen {
        eprintln!("Or paste the address the browser was sent to (or just the code), then Enter:");
    }
    let pasted = async {
        if how == Return::Listen {
            std::future::pending::<Result<String, Failure>>().await
        } else {
            read_paste(&attempt.state).await
        }
    };
    let listened = async {
        match listener {
            Some(listener) => match listener.wait(callback::DEFAULT_TIMEOUT).await {
                Ok(Callback::Code(code)) => Ok(code),
                Ok(Callback::Denied { error, description }) => {
                    Err(Failure::from(RedirectError::Declined {
                        error,
                        description,
                    }))
                }
                Err(e) => Err(Failure {
                    code: 4,
                    message: e.to_string(),
                }),
            },
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        code = pasted => code,
        code = listened => code,
    }
}

/// One line from stdin: the redirected URL or a bare code. Blocking stdin is read on the
/// blocking pool so that the listener stays live meanwhile.
async fn read_paste(state: &str) -> Result<String, Failure> {
    let line = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        let stdin = std::io::stdin();
        let mut lock = stdin.lock();
        loop {
            line.clear();
            match lock.read_line(&mut line) {
                Ok(0) => return Ok(None),
                Ok(_) if line.trim().is_empty() => {}
                Ok(_) => return Ok(Some(line)),
                Err(e) => return Err(e),
            }
        }
    })
    .await
    .map_err(|e| Failure {
        code: 1,
        message: format!("reading stdin failed: {e}"),
    })??;
    let Some(line) = line else {
        return Err(Failure {
            code: 2,
            message: "standard input ended before a redirected URL or code arrived".into(),
        });
    };
    Ok(redirect::parse_redirect(&line, state)?)
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
