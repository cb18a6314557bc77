//! The command line's definition: clap's derive types, the examples in `--help`, and the
//! parse that prints a refusal safely.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::domain::Mode;

pub(super) const EXAMPLES: &str = "\
Examples:
  jira-auth                                   open the console
  jira-auth --data-dir /srv/jira-auth         open the console on another store
  printf %s \"$SECRET\" | jira-auth profile add --name acme \\
      --client-id Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56 --client-secret-stdin \\
      --scopes \"read:jira-work write:jira-work offline_access\"
  jira-auth setup --mode pre-authorized --profile acme
  jira-auth authorize                         URL on stderr; paste the redirect or let the
                                              loopback listener catch it
  jira-auth authorize --integration support --user alice@example.com --paste
  jira-auth profile list --json
  jira-auth status --json | jq '.integrations[].tokens[].state'
  jira-auth link --integration support --user U024BE7LH --wait
                                              a personal link for an end user; returns once
                                              they have authorized (exit 3: expired or declined)
  jira-auth serve --bind 127.0.0.1:8717 --trust-proxy 127.0.0.1
                                              the callback receiver, behind an HTTPS proxy
  jira-auth agent status                      the agent that owns the store (started on demand)

Exit codes: 0 ok, 1 failure, 2 bad usage or input, 3 re-authorization needed,
4 temporary failure (network, server, no agent reachable): retry later.";

#[derive(Debug, Parser)]
#[command(
    name = "jira-auth",
    version,
    about = "Set up and keep alive the OAuth 2.0 authorization of a Jira Cloud integration",
    long_about = "Set up and keep alive the OAuth 2.0 (3LO) authorization of a Jira Cloud integration.\n\nWithout a command, opens the console. The commands below are for scripts.",
    after_help = EXAMPLES
)]
pub struct Cli {
    /// Where the database lives [default: the platform data directory]
    #[arg(long, global = true, env = "JIRA_AUTH_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Where the store is: `sled` (in the data directory), or a PostgreSQL URL or connection string a fleet of hosts shares [default: sled]
    #[arg(
        long,
        global = true,
        env = "JIRA_AUTH_STORE",
        hide_env_values = true,
        value_name = "STORE"
    )]
    pub store: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage authorization profiles (your own Atlassian apps)
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Configure an integration: how Jira is authorized and through which app
    #[command(group(clap::ArgGroup::new("app").required(true).args(["system", "profile"])))]
    Setup {
        /// The integration to configure (1-64 letters, digits, - _ ., not starting with -)
        #[arg(long, default_value = crate::domain::DEFAULT_INTEGRATION, value_name = "NAME")]
        integration: String,
        /// pre-authorized: one token for everyone, authorized now; user-authorized: a token per end user
        #[arg(long, value_enum)]
        mode: ModeArg,
        /// Use this installation's preconfigured app (the system app file)
        #[arg(long)]
        system: bool,
        /// Use an authorization profile (your own Atlassian app)
        #[arg(long, value_name = "NAME")]
        profile: Option<String>,
    },
    /// Authorize an integration: prints the URL to open, takes the code back, stores the token
    #[command(group(clap::ArgGroup::new("return").args(["paste", "listen"])))]
    Authorize {
        /// The integration to authorize
        #[arg(long, default_value = crate::domain::DEFAULT_INTEGRATION, value_name = "NAME")]
        integration: String,
        /// The end user to authorize for (user-authorized integrations): their id as your system
        /// knows it, 1-256 characters of visible text
        #[arg(long, value_name = "ID")]
        user: Option<String>,
        /// Read the redirected URL (or the bare code) from stdin only
        #[arg(long)]
        paste: bool,
        /// Wait only on the loopback callback listener
        #[arg(long)]
        listen: bool,
        /// The Jira site to keep when the token reaches several (URL, host, name or cloud id)
        #[arg(long, value_name = "URL_OR_ID")]
        site: Option<String>,
    },
    /// Show every integration, its tokens' health and the profiles (no secrets)
    Status {
        /// Print JSON for scripts
        #[arg(long)]
        json: bool,
    },
    /// Print an access token for scripts: only the token on stdout, refreshed first when needed
    Token {
        /// The integration whose token to print
        #[arg(long, default_value = crate::domain::DEFAULT_INTEGRATION, value_name = "NAME")]
        integration: String,
        /// The end user whose token to print (user-authorized integrations)
        #[arg(long, value_name = "ID")]
        user: Option<String>,
        /// Refresh first when the token has fewer seconds than this left
        #[arg(long, default_value_t = 60, value_name = "SECONDS")]
        min_valid: u32,
        /// Print {access_token, expires_at, cloud_id, site_url, api_base} as JSON
        #[arg(long)]
        json: bool,
    },
    /// Call Jira's REST API with the grant's token, the way `gh api` calls GitHub's
    #[command(
        long_about = "Call Jira's REST API with the grant's token. PATH is under the grant's API base \
(https://api.atlassian.com/ex/jira/{cloud id}), e.g. /rest/api/3/myself; a full URL is taken only under that \
base, so the token never goes to another host. The token never appears in argv or the environment: the agent \
hands it to this process, refreshes it when Jira answers 401 (once, for a body that can be sent again), and \
Retry-After is honoured for 429 and 503 up to --max-wait.",
        after_help = API_EXAMPLES
    )]
    Api(ApiArgs),
    /// Serve Jira's REST API locally with the grant's token added, for any program
    #[command(
        long_about = "Serve the grant's Jira REST API on a local socket, adding the token to every request, so \
any program (curl, Python, a bot) calls http://jira/rest/api/3/... and never holds a token. By default a Unix \
socket in the data directory, private to this user (mode 0600, the caller's uid checked). --bind serves loopback \
TCP instead, where every local user can connect: then each request must carry the proxy key (written to a 0600 \
file) as `Authorization: Bearer <key>`. A 401 is answered by one refresh and one retry for a body that can be \
sent again; a 429 is passed through unless --retry-429 lets the proxy wait it out. One line per request goes to \
stderr: method, path without the query, status, time.",
        after_help = PROXY_EXAMPLES
    )]
    Proxy(ProxyArgs),
    /// Refresh now: the grants of one integration, or every grant
    #[command(group(clap::ArgGroup::new("which").args(["integration", "all"])))]
    Refresh {
        /// The integration whose grants to refresh [default: jira]
        #[arg(long, value_name = "NAME")]
        integration: Option<String>,
        /// Refresh every grant of every integration
        #[arg(long)]
        all: bool,
    },
    /// Print a personal authorization link for one end user of a user-authorized integration
    #[command(
        long_about = concat!(
            "Print a personal authorization link for one end user of a user-authorized integration. \
The link's state is unguessable, bound to the user and the integration, works once and expires (",
            crate::default_link_ttl_words!(),
            " unless --ttl says otherwise). The user's consent comes back to `jira-auth serve`, which stores \
their token; `token --user ID` then prints it."
        )
    )]
    Link {
        /// The user-authorized integration
        #[arg(long, default_value = crate::domain::DEFAULT_INTEGRATION, value_name = "NAME")]
        integration: String,
        /// The end user: their id as your system knows it (a chat id, an email), 1-256
        /// characters of visible text
        #[arg(long, value_name = "ID")]
        user: String,
        /// How long the link works: 1m to 7d, e.g. 30m, 2h
        #[arg(long, default_value = "30m", value_parser = parse_ttl, value_name = "DURATION")]
        ttl: std::time::Duration,
        /// Print {url, user, expires_at} as JSON
        #[arg(long)]
        json: bool,
        /// Then wait until the user's grant is stored (exit 0), or the link expires or is
        /// declined (exit 3)
        #[arg(long)]
        wait: bool,
    },
    /// Run the callback receiver end users' consent comes back to (behind an HTTPS proxy)
    #[command(
        long_about = "Run the callback receiver for end users. Register its public URL (your HTTPS reverse \
proxy in front of --bind) as the callback URL of the user-authorized integration's app. It answers that \
path and /healthz only, checks each link's state before anything reaches Atlassian, stores the user's \
token through the agent, and shows the user a plain page. Logs go to stderr, without query strings."
    )]
    Serve {
        /// The address to listen on, e.g. 127.0.0.1:8717 behind a proxy on the same host
        #[arg(long, value_name = "ADDR:PORT")]
        bind: std::net::SocketAddr,
        /// A proxy whose X-Forwarded-For is believed (repeat for several)
        #[arg(long, value_name = "ADDR")]
        trust_proxy: Vec<std::net::IpAddr>,
        /// Requests per minute one client address may make
        #[arg(long, default_value = "60", value_name = "N")]
        rate_limit: std::num::NonZeroU32,
    },
    /// Run the agent that owns the store and serves every other jira-auth process
    #[command(
        long_about = "Run the agent that owns the store: it alone opens the database and the sealing key, and \
serves the console and every command over a Unix socket in the data directory. Clients start one on \
demand (it then exits after JIRA_AUTH_AGENT_IDLE, default 10m, without clients); run by hand or by a \
service manager it stays until stopped."
    )]
    Agent {
        #[command(subcommand)]
        command: Option<AgentCommand>,
        /// Started by a client: exit when idle (JIRA_AUTH_AGENT_IDLE)
        #[arg(long, hide = true)]
        on_demand: bool,
        /// The start-up notice pipe a starting client handed over
        #[arg(long, hide = true, value_name = "FD")]
        notify_fd: Option<i32>,
        /// Open a store older than the generation kept beside the key (a log cut short, an old
        /// backup put back), after saying so in the log; grants rotated since that copy was
        /// made will need re-authorization
        #[arg(long)]
        accept_rollback: bool,
    },
    /// Move the store: copy every record to another store, check each, mark this one moved
    #[command(subcommand)]
    Store(StoreCommand),
    /// Print a shell completion script on stdout (see the README for where it goes)
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write one man page per command into DIR (for packaging: scripts/package.sh)
    #[command(hide = true)]
    Manpages {
        /// Where to write the pages (created if missing)
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

const API_EXAMPLES: &str = "\
Examples:
  jira-auth api /rest/api/3/myself
  jira-auth api /rest/api/3/project/search --paginate --jq '.[].key'
  jira-auth api /rest/api/3/search/jql -f jql='project = OPS' -f 'fields[]=summary' --jsonl
  jira-auth api /rest/api/3/issue -f 'fields[project][key]=OPS' -f 'fields[summary]=Disk full' \\
      -f 'fields[issuetype][name]=Task'
  jira-auth api -X PUT /rest/api/3/issue/OPS-1 --input update.json
  jira-auth api '/rest/api/3/attachment/content/10001?redirect=false' > report.pdf
  jira-auth api --integration support --user U024BE7LH /rest/api/3/myself

Exit codes: 0 for 2xx; 1 for another 4xx or a redirect (never followed); 2 bad usage;
3 re-authorization needed; 4 for 5xx, 429 or 503 past --max-wait, and network errors.";

const PROXY_EXAMPLES: &str = "\
Examples:
  jira-auth proxy &
  curl --unix-socket ~/.local/share/jira-auth/proxy.sock http://jira/rest/api/3/myself
  curl --unix-socket ~/.local/share/jira-auth/proxy.sock -H 'X-Jira-Auth-User: U024BE7LH' \\
      http://jira/rest/api/3/myself          # a user-authorized integration's end user
  jira-auth proxy --bind 127.0.0.1:8719 &
  curl -H \"Authorization: Bearer $(cat ~/.local/share/jira-auth/proxy.key)\" \\
      http://127.0.0.1:8719/rest/api/3/myself";

#[derive(Debug, clap::Args)]
pub struct ProxyArgs {
    /// The integration whose grant to use
    #[arg(long, default_value = crate::domain::DEFAULT_INTEGRATION, value_name = "NAME")]
    pub integration: String,
    /// The Unix socket to serve [default: proxy.sock in the data directory]
    #[arg(long, value_name = "PATH", conflicts_with = "bind")]
    pub socket: Option<PathBuf>,
    /// Serve loopback TCP at this address instead (127.0.0.1:PORT or [::1]:PORT; port 0
    /// picks one); every request must then carry the proxy key
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<std::net::SocketAddr>,
    /// Where --bind writes the proxy key (mode 0600) [default: proxy.key in the data directory]
    #[arg(long, value_name = "FILE", requires = "bind")]
    pub key_file: Option<PathBuf>,
    /// Wait out a 429's Retry-After (up to this long in all) and retry, instead of passing
    /// the 429 through
    #[arg(long, value_parser = parse_wait, value_name = "MAX_WAIT")]
    pub retry_429: Option<std::time::Duration>,
}

#[derive(Debug, clap::Args)]
pub struct ApiArgs {
    /// The integration whose grant to use
    #[arg(long, default_value = crate::domain::DEFAULT_INTEGRATION, value_name = "NAME")]
    pub integration: String,
    /// The end user whose grant to use (user-authorized integrations)
    #[arg(long, value_name = "ID")]
    pub user: Option<String>,
    /// The HTTP method [default: GET, or POST with fields or --input]
    #[arg(short = 'X', long, value_name = "METHOD")]
    pub method: Option<String>,
    /// A path under the grant's API base (/rest/api/3/...), or a full URL under it
    #[arg(value_name = "PATH")]
    pub path: String,
    /// A string field: key=value (nested: fields[summary]=..., arrays: labels[]=a)
    #[arg(short = 'f', long = "raw-field", value_name = "KEY=VALUE")]
    pub raw_field: Vec<String>,
    /// A typed field: true, false, null and numbers as JSON, @file (or @-) as the file's text
    #[arg(short = 'F', long = "field", value_name = "KEY=VALUE")]
    pub field: Vec<String>,
    /// Send this file (or - for stdin) as the body, as it is; fields then go to the query
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// A header to add, 'Name: value' (never Authorization: the grant's token is added)
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub header: Vec<String>,
    /// Print the status line and headers before the body
    #[arg(short = 'i', long)]
    pub include: bool,
    /// Follow every page (startAt/maxResults/total/isLast, or nextPageToken) and print the
    /// items of all pages as one JSON array
    #[arg(long)]
    pub paginate: bool,
    /// Follow every page and print one item per line as pages arrive (constant memory)
    #[arg(long, conflicts_with = "include")]
    pub jsonl: bool,
    /// Filter the output through a jq expression (jaq); strings print without quotes
    #[arg(short = 'q', long, value_name = "EXPR")]
    pub jq: Option<String>,
    /// The longest Retry-After of a 429 or 503 to wait out, in all (e.g. 30s, 2m; 0 never waits)
    #[arg(long, default_value = "60s", value_parser = parse_wait, value_name = "DURATION")]
    pub max_wait: std::time::Duration,
}

/// `60s`, `2m`, `0`: humantime's durations, or a bare number of seconds.
fn parse_wait(text: &str) -> Result<std::time::Duration, String> {
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(std::time::Duration::from_secs(secs));
    }
    humantime::parse_duration(text)
        .map_err(|e| format!("{e}; write a duration such as 30s, 2m or 0"))
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Show the running agent: pid, version, uptime, clients (exit 1 when none runs)
    Status {
        /// Print JSON for scripts
        #[arg(long)]
        json: bool,
    },
    /// Stop the running agent (exit 0 also when none ran)
    Stop,
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Copy every record to STORE through the agent, read each back, and mark this store moved
    /// (it then refreshes nothing, so two stores never rotate one grant)
    #[command(
        long_about = "Copy every record (profiles, integrations, grants, links, unfinished authorizations, \
the audit trail) to another store through the agent, read each one back from there and compare it, then \
mark this store moved: its agent refreshes and authorizes nothing more and tells clients where the store \
went. Both stores use the same key file. STORE is sled:DIR (a sled store in DIR), sled (this data \
directory, when the store is elsewhere) or a PostgreSQL URL or connection string."
    )]
    Copy {
        /// Where to copy to: sled:DIR, sled, or a PostgreSQL URL or connection string
        #[arg(long, value_name = "STORE")]
        to: String,
        /// Write into a store that already holds records
        #[arg(long)]
        force: bool,
    },
}

/// `30m`, `2h`, `1d`: humantime's durations.
fn parse_ttl(text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("{e}; write a duration such as 30m, 2h or 1d"))
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ModeArg {
    PreAuthorized,
    UserAuthorized,
}

impl From<ModeArg> for Mode {
    fn from(mode: ModeArg) -> Mode {
        match mode {
            ModeArg::PreAuthorized => Mode::PreAuthorized,
            ModeArg::UserAuthorized => Mode::UserAuthorized,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Create a profile from your Atlassian app; the secret is read from stdin, never argv
    #[command(
        after_help = "Atlassian's standard URLs are the defaults. --from-url takes the developer console's \
generated authorization URL and fills client id, scopes and callback URL from it; explicit flags win."
    )]
    Add(ProfileAddArgs),
    /// List the authorization profiles
    List {
        /// Print JSON for scripts
        #[arg(long)]
        json: bool,
    },
    /// Delete a profile (refused while an integration uses it)
    Rm {
        /// The profile's name
        name: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct ProfileAddArgs {
    /// A short name for the profile (1-64 letters, digits, - _ ., not starting with -)
    #[arg(long)]
    pub name: String,
    /// The app's Client ID (Settings page of your app, step iv)
    #[arg(long, required_unless_present = "from_url")]
    pub client_id: Option<String>,
    /// Read the client secret from standard input (step v); it never appears in argv
    #[arg(long, required = true)]
    pub client_secret_stdin: bool,
    /// Authorization URL [default: https://auth.atlassian.com/authorize?audience=api.atlassian.com]
    #[arg(long, value_name = "URL")]
    pub auth_url: Option<String>,
    /// Token request URL [default: https://auth.atlassian.com/oauth/token]
    #[arg(long, value_name = "URL")]
    pub token_url: Option<String>,
    /// Refresh token URL [default: the token URL]
    #[arg(long, value_name = "URL")]
    pub refresh_url: Option<String>,
    /// Scopes, separated by spaces or commas (step ix)
    #[arg(
        long,
        value_name = "\"S1 S2 ...\"",
        required_unless_present = "from_url"
    )]
    pub scopes: Option<String>,
    /// The callback URL registered in your app (step vi) [default: http://localhost:8717/callback]
    #[arg(long, value_name = "URL")]
    pub callback_url: Option<String>,
    /// The authorization URL generated by Atlassian's developer console (step vii-x)
    #[arg(long, value_name = "GENERATED_URL")]
    pub from_url: Option<String>,
}

/// The command line, parsed. clap echoes a refused argument as it was given, escape
/// sequences and all, so a refusal holding anything a terminal would act on is printed
/// sanitized, line by line, instead (with clap's exit code: 2 for bad usage).
pub fn parse() -> Cli {
    let cli = parse_args();
    if let Some(store) = &cli.store {
        // The flag is the variable: for every part of this process that resolves the store,
        // and for the agent it may start. Nothing else runs yet to read the environment.
        // SAFETY: called first in `main`, before any other thread exists.
        unsafe { std::env::set_var(crate::config::STORE_VAR, store) };
    }
    cli
}

fn parse_args() -> Cli {
    Cli::try_parse().unwrap_or_else(|error| {
        let plain = error.render().to_string();
        if crate::validate::text::is_printable(&plain) {
            error.exit()
        }
        let lines: Vec<String> = plain
            .lines()
            .map(|line| crate::validate::text::sanitize(line, crate::validate::text::URL_CAP))
            .collect();
        eprintln!("{}", lines.join("\n"));
        std::process::exit(error.exit_code())
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Cli, Command};

    /// `link --ttl`'s default is the service's: clap needs it as text, so the two are held
    /// together here.
    #[test]
    fn the_link_ttl_default_is_the_services() {
        let cli = Cli::parse_from(["jira-auth", "link", "--user", "alice"]);
        let Some(Command::Link { ttl, .. }) = cli.command else {
            panic!("parsed as link");
        };
        assert_eq!(
            i64::try_from(ttl.as_secs()).unwrap(),
            crate::service::links::DEFAULT_TTL_SECS
        );
    }
}
