//! Shell completions and man pages, generated from the clap definitions so they never drift
//! from the code: `jira-auth completions SHELL` prints a script, and the hidden
//! `jira-auth manpages DIR` writes one page per command for packaging (scripts/package.sh).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::CommandFactory;

use super::args::{Cli, EXAMPLES};
use super::failure::Failure;
use crate::exit::Exit;

/// The variables that change where jira-auth looks or how it behaves: the man page's
/// ENVIRONMENT section (README's Environment table says the same for readers of the repo).
pub const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "JIRA_AUTH_DATA_DIR",
        "Where the database lives (same as --data-dir).",
    ),
    (
        "JIRA_AUTH_KEY_FILE",
        "The sealing key file; never inside the data directory.",
    ),
    (
        "JIRA_AUTH_STORE",
        "sled (the default: the data directory) or a PostgreSQL connection string or URL a fleet \
of hosts shares (same as --store); PG* variables and ~/.pgpass fill what it leaves out.",
    ),
    (
        "JIRA_AUTH_SYSTEM_APP",
        "The system app file (default /etc/jira-auth/system-app.toml).",
    ),
    (
        "JIRA_AUTH_AGENT_IDLE",
        "How long an agent started on demand stays without clients (default 10m; 1s to 7d).",
    ),
    (
        "JIRA_AUTH_ROTATE_AFTER",
        "The agent rotates a grant whose refresh token is this old (default 60d; at least 1d, \
under 90d).",
    ),
    (
        "JIRA_AUTH_KEEPALIVE_RATE",
        "Refreshes per second the agent's keep-alive makes at most (default 2; 0.01 to 100).",
    ),
    (
        "JIRA_AUTH_EVENTS_KEEP",
        "How far back the audit trail goes (default 90d; 1d to 3650d).",
    ),
    (
        "JIRA_AUTH_EVENTS_MAX",
        "How many events the audit trail keeps at most (default 100000; 100 to 10000000).",
    ),
    (
        "JIRA_AUTH_ATLASSIAN_AUTH_URL, JIRA_AUTH_ATLASSIAN_API_URL",
        "Test only: replace https://auth.atlassian.com and https://api.atlassian.com; \
the console then shows a warning banner on every screen.",
    ),
    (
        "JIRA_AUTH_HYPERLINKS",
        "1 makes the authorization URL one OSC 8 link, 0 never; unset, on where the terminal \
supports it.",
    ),
    (
        "NO_COLOR",
        "No colours; meaning stays in bold, reverse and text.",
    ),
];

const FILES: &[(&str, &str)] = &[
    (
        "~/.local/share/jira-auth/",
        "The data directory (0700): the database in db/, the agent's socket agent.sock and \
the log agent.log of an agent started on demand.",
    ),
    (
        "~/.config/jira-auth/store.key",
        "The sealing key (0600). Lose it and the stored secrets are gone.",
    ),
    (
        "/etc/jira-auth/system-app.toml",
        "The preconfigured system app of this installation, if any.",
    ),
];

/// Prints the completion script for `shell` on stdout.
pub fn completions(shell: clap_complete::Shell) -> Result<(), Failure> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "jira-auth", &mut script);
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&script)?;
    stdout.flush()?;
    Ok(())
}

/// `jira-auth manpages DIR`: writes the pages and prints each one's path.
pub fn print_man_pages(dir: &Path) -> Result<(), Failure> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    for page in write_man_pages(dir)? {
        writeln!(stdout, "{}", page.display())?;
    }
    Ok(())
}

/// Writes a man page for the program and for every visible command under it into `dir`
/// (created if missing): `jira-auth.1`, `jira-auth-profile.1`, `jira-auth-profile-add.1`, ...
pub fn write_man_pages(dir: &Path) -> Result<Vec<PathBuf>, Failure> {
    let cannot = |e: std::io::Error| {
        Failure::new(
            Exit::Failed,
            format!(
                "cannot write the man pages into {}: {e}; pass a directory you can write",
                dir.display()
            ),
        )
    };
    std::fs::create_dir_all(dir).map_err(cannot)?;
    // Built once with the help subcommand off, so every page carries its full name
    // (jira-auth-profile-add) and no page is made for `help`.
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    let source = format!("jira-auth {}", env!("CARGO_PKG_VERSION"));
    let mut written = Vec::new();
    let mut pending = vec![root];
    while let Some(command) = pending.pop() {
        pending.extend(
            command
                .get_subcommands()
                .filter(|sub| !sub.is_hide_set())
                .cloned(),
        );
        let is_root = written.is_empty();
        // The program's examples are laid out by hand: the page gets them unfilled, in its
        // own EXAMPLES section, instead of clap_mangen's filled EXTRA.
        let command = if is_root {
            command.after_help(None::<&str>)
        } else {
            command
        };
        let man = clap_mangen::Man::new(command)
            .source(source.clone())
            .manual("jira-auth manual");
        let path = dir.join(man.get_filename());
        let mut page = Vec::new();
        man.render(&mut page).map_err(cannot)?;
        if is_root {
            page.extend_from_slice(root_sections().as_bytes());
        }
        std::fs::write(&path, page).map_err(cannot)?;
        written.push(path);
    }
    Ok(written)
}

/// ENVIRONMENT, FILES and EXIT STATUS for the program's own page, in roff.
fn root_sections() -> String {
    let examples = EXAMPLES.split("\n\nExit codes").next().unwrap_or(EXAMPLES);
    let mut roff = String::from(".SH EXAMPLES\n.nf\n");
    for line in examples
        .lines()
        .skip_while(|line| line.starts_with("Examples"))
    {
        roff.push_str(&escape(line));
        roff.push('\n');
    }
    roff.push_str(".fi\n");
    let mut section = |title: &str, entries: &[(&str, &str)]| {
        roff.push_str(&format!(".SH {title}\n"));
        for (name, meaning) in entries {
            roff.push_str(&format!(
                ".TP\n\\fB{}\\fR\n{}\n",
                escape(name),
                escape(meaning)
            ));
        }
    };
    section("ENVIRONMENT", ENVIRONMENT);
    section("FILES", FILES);
    section(
        "EXIT STATUS",
        &[
            ("0", "Success."),
            ("1", "Any other failure."),
            ("2", "Bad usage or invalid input."),
            ("3", "Re-authorization needed: a grant needs a new consent."),
            (
                "4",
                "Temporary failure (network, server 5xx, no agent reachable): retry later.",
            ),
        ],
    );
    roff
}

/// Text safe in a roff line: backslashes doubled, and a leading `.` or `'` (which roff would
/// read as a request) guarded with a zero-width character.
fn escape(text: &str) -> String {
    let text = text.replace('\\', "\\\\").replace('-', "\\-");
    if text.starts_with('.') || text.starts_with('\'') {
        format!("\\&{text}")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roff_requests_and_dashes_in_text_are_escaped() {
        assert_eq!(escape(".hidden"), "\\&.hidden");
        assert_eq!(escape("--data-dir"), "\\-\\-data\\-dir");
        assert_eq!(escape("a\\b"), "a\\\\b");
    }
}
