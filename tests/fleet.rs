//! A fleet: four hosts (four data directories, four agents) on one PostgreSQL database and
//! one fake Atlassian. One refresh per grant across the fleet however many ask at once; a
//! killed lease holder's grant completed by another host; the database stopped under use
//! and back without restarting an agent; the keep-alive shared, not repeated; another key
//! refused; `store copy` both ways.

mod common;
mod support;

use std::process::{Command, Output};
use std::time::Duration;

use common::postgres::Cluster;
use common::{Interactive, Sandbox, free_port, run_with, text};
use jira_auth::domain::Principal;
use jira_auth::store::{OpenOptions, SledStore, Store};
use support::fake_atlassian::*;
use support::world::{CLOUD_ID, SHORT, one_token, wait_for};

/// One host of the fleet: its own data directory and agent, the fleet's database and key.
struct Host {
    sandbox: Sandbox,
    store: String,
    fake_urls: (String, String),
    env: Vec<(&'static str, String)>,
}

impl Host {
    fn command(&self) -> Command {
        let mut command = self.sandbox.command();
        command
            .env("JIRA_AUTH_STORE", &self.store)
            .env("JIRA_AUTH_ATLASSIAN_AUTH_URL", &self.fake_urls.0)
            .env("JIRA_AUTH_ATLASSIAN_API_URL", &self.fake_urls.1)
            .env_remove("SSH_CONNECTION");
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        run_with(self.command(), args, "")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    fn agent_pid(&self) -> i32 {
        let info: serde_json::Value =
            serde_json::from_str(&self.ok(&["agent", "status", "--json"])).unwrap();
        i32::try_from(info["pid"].as_u64().unwrap()).unwrap()
    }
}

/// The profile `acme` for the fake's app with `callback`, added through `host`.
fn add_profile(host: &Host, fake: &FakeAtlassian, callback: &str) {
    let args = fake.profile_add_args(callback, "read:jira-work offline_access");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run_with(host.command(), &args, CLIENT_SECRET);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// `integration` set up pre-authorized through `acme` and authorized by paste, on `host`.
fn authorize(host: &Host, fake: &FakeAtlassian, integration: &str) {
    host.ok(&[
        "setup",
        "--integration",
        integration,
        "--mode",
        "pre-authorized",
        "--profile",
        "acme",
    ]);
    let mut run = Interactive::spawn(
        host.command(),
        &["authorize", "--integration", integration, "--paste"],
    );
    let url = run.url();
    run.send_line(&fake.consent(&url));
    let (code, _, stderr) = run.finish();
    assert_eq!(code, 0, "authorize {integration} failed: {stderr}");
}

struct Fleet {
    hosts: Vec<Host>,
    fake: FakeAtlassian,
    callback: String,
    cluster: Cluster,
    store: String,
}

impl Fleet {
    /// `n` hosts on a new database, the first one's key file copied to the others; `None`
    /// when PostgreSQL is to be skipped.
    fn new(n: usize) -> Option<Fleet> {
        let cluster = Cluster::start()?;
        let store = cluster.database();
        let callback = format!("http://localhost:{}/callback", free_port());
        let fake = FakeAtlassian::start(&callback);
        let urls = (fake.auth_url(), fake.api_url());
        let hosts: Vec<Host> = (0..n)
            .map(|_| Host {
                sandbox: Sandbox::new(),
                store: store.clone(),
                fake_urls: urls.clone(),
                env: Vec::new(),
            })
            .collect();
        let fleet = Fleet {
            hosts,
            fake,
            callback,
            cluster,
            store,
        };
        // The first agent makes the key; the fleet's config management hands it out.
        fleet.hosts[0].ok(&["status"]);
        for host in &fleet.hosts[1..] {
            let to = host.sandbox.key_file();
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(fleet.hosts[0].sandbox.key_file(), &to).unwrap();
        }
        Some(fleet)
    }

    /// The profile `acme`, the integration `jira` (pre-authorized) and its grant, through
    /// host A.
    fn authorized(&self) {
        add_profile(&self.hosts[0], &self.fake, &self.callback);
        authorize(&self.hosts[0], &self.fake, "jira");
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for host in &self.hosts {
            host.sandbox.stop_agent();
        }
    }
}

#[test]
fn sixty_four_tokens_on_four_hosts_cost_one_refresh() {
    let Some(fleet) = Fleet::new(4) else { return };
    // Authorized with a token that is nearly spent, so every `token` below wants a new one;
    // the refresh makes one good for an hour.
    fleet.fake.set_access_ttl(30);
    fleet.authorized();
    fleet.fake.set_access_ttl(3600);
    for host in &fleet.hosts {
        host.ok(&["status"]);
    }
    let before = fleet.fake.refresh_requests();
    let runs: Vec<_> = (0..64)
        .map(|n| {
            let mut command = fleet.hosts[n % 4].command();
            command.args(["token", "--min-valid", "60"]);
            command
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn token")
        })
        .collect();
    let tokens: Vec<String> = runs
        .into_iter()
        .map(|child| one_token(&child.wait_with_output().expect("token")))
        .collect();
    assert_eq!(
        fleet.fake.refresh_requests() - before,
        1,
        "one refresh across the fleet"
    );
    assert_eq!(fleet.fake.dead_families(), 0, "no refresh token reused");
    let first = &tokens[0];
    assert!(
        tokens.iter().all(|t| t == first),
        "every caller got the one new token"
    );
    assert_eq!(fleet.fake.myself_status(CLOUD_ID, first), 200);
}

#[test]
fn a_holder_killed_mid_refresh_leaves_the_grant_to_another_host() {
    let Some(mut fleet) = Fleet::new(2) else {
        return;
    };
    for host in &mut fleet.hosts {
        // Leases of two seconds, so the killed holder's runs out quickly.
        host.env.push(("JIRA_AUTH_TEST_LEASE_SECS", "2".into()));
        host.sandbox.stop_agent();
    }
    fleet.fake.set_access_ttl(30);
    fleet.authorized();
    fleet.fake.set_access_ttl(3600);
    let (a, b) = (&fleet.hosts[0], &fleet.hosts[1]);
    b.ok(&["status"]);
    // A's refresh hangs at Atlassian; A's agent is killed while it holds the lease.
    fleet
        .fake
        .set_delay(Endpoint::Token, Some(Duration::from_secs(30)));
    let before = fleet.fake.refresh_requests();
    let pid = a.agent_pid();
    let mut waiting = a.command();
    let waiting = waiting
        .args(["token", "--min-valid", "60"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_for("A's refresh reaches Atlassian", SHORT, || fleet
        .fake
        .refresh_requests()
        > before));
    // SAFETY: a signal to a process this test started.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let _ = common::agent::Reaped(waiting).wait_exit();
    fleet.fake.set_delay(Endpoint::Token, None);
    // B waits out A's lease, then refreshes with the stored token, within the leeway.
    let token = one_token(&b.run(&["token", "--min-valid", "60"]));
    assert_eq!(fleet.fake.myself_status(CLOUD_ID, &token), 200);
    assert_eq!(fleet.fake.dead_families(), 0, "the grant is alive");
    let status: serde_json::Value = serde_json::from_str(&b.ok(&["status", "--json"])).unwrap();
    assert_eq!(status["integrations"][0]["tokens"][0]["state"], "valid");
}

#[test]
fn the_database_stopped_under_use_is_survived_and_recovered_without_restarting_agents() {
    let Some(fleet) = Fleet::new(2) else { return };
    fleet.authorized();
    let (a, b) = (&fleet.hosts[0], &fleet.hosts[1]);
    let token = one_token(&a.run(&["token"]));
    b.ok(&["status"]);
    let pids = (a.agent_pid(), b.agent_pid());
    fleet.cluster.stop_fast();

    // A hands out the token it holds, saying so on stderr only.
    let out = a.run(&["token"]);
    assert_eq!(one_token(&out), token);
    let said = text(&out.stderr);
    assert!(said.contains("memory"), "{said}");
    // Writes and refreshes are temporary failures that name the database.
    for args in [
        &[
            "setup",
            "--integration",
            "other",
            "--mode",
            "pre-authorized",
            "--profile",
            "acme",
        ][..],
        &["refresh", "--integration", "jira"][..],
        &["status"][..],
    ] {
        let out = b.run(args);
        assert_eq!(
            out.status.code(),
            Some(4),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains("PostgreSQL"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }

    fleet.cluster.start_server();
    assert!(wait_for("the fleet works again", SHORT, || b
        .run(&["status"])
        .status
        .code()
        == Some(0)));
    b.ok(&[
        "setup",
        "--integration",
        "other",
        "--mode",
        "pre-authorized",
        "--profile",
        "acme",
    ]);
    let token_after = one_token(&b.run(&["token"]));
    assert_eq!(fleet.fake.myself_status(CLOUD_ID, &token_after), 200);
    assert_eq!((a.agent_pid(), b.agent_pid()), pids, "no agent restarted");
    assert_eq!(fleet.fake.dead_families(), 0);
}

#[test]
fn due_grants_are_refreshed_once_across_the_fleet() {
    let Some(mut fleet) = Fleet::new(4) else {
        return;
    };
    // Six grants, each due a quarter of its life before it ends: within seconds.
    fleet.fake.set_access_ttl(8);
    fleet.authorized();
    let a = &fleet.hosts[0];
    let names = ["j2", "j3", "j4", "j5", "j6"];
    for name in names {
        authorize(a, &fleet.fake, name);
    }
    // No agent runs while the count starts: host a's, up since the authorizations, may have
    // been refreshing the first grants (their tokens lasted 8 s) with tokens that short.
    for host in &mut fleet.hosts {
        host.sandbox.stop_agent();
        host.env.push(("JIRA_AUTH_KEEPALIVE_RATE", "20".into()));
    }
    fleet.fake.set_access_ttl(3600);
    let before = fleet.fake.refreshed().len();
    // Four keep-alives watch the same six grants.
    for host in &fleet.hosts {
        host.ok(&["status"]);
    }
    assert!(wait_for(
        "the keep-alives refreshed all six grants",
        SHORT,
        || { fleet.fake.refreshed().len() - before >= 6 }
    ));
    // The other agents came due at the same instants; what must not happen is a second
    // refresh of any, and the absence of an event can only be watched for a while: two
    // seconds, twenty times their lease polling.
    std::thread::sleep(Duration::from_secs(2));
    for host in &fleet.hosts {
        let status: serde_json::Value =
            serde_json::from_str(&host.ok(&["status", "--json"])).unwrap();
        for integration in status["integrations"].as_array().unwrap() {
            assert_eq!(integration["tokens"][0]["state"], "valid", "{integration}");
        }
    }
    let refreshed = fleet.fake.refreshed().split_off(before);
    let mut per_grant = std::collections::BTreeMap::<u64, usize>::new();
    for r in &refreshed {
        *per_grant.entry(r.family).or_default() += 1;
    }
    let logs: String = fleet.hosts.iter().map(|h| h.sandbox.agent_log()).collect();
    assert!(
        per_grant.len() == 6 && per_grant.values().all(|&n| n == 1),
        "each grant refreshed once, by one host: {refreshed:?}\n{logs}"
    );
    assert_eq!(fleet.fake.dead_families(), 0);
}

#[test]
fn a_host_with_another_key_is_refused_before_it_writes() {
    let Some(fleet) = Fleet::new(1) else { return };
    fleet.authorized();
    let stranger = Host {
        sandbox: Sandbox::new(),
        store: fleet.store.clone(),
        fake_urls: (fleet.fake.auth_url(), fleet.fake.api_url()),
        env: Vec::new(),
    };
    let out = stranger.run(&["status"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let said = text(&out.stderr);
    assert!(said.contains("sealed with the key"), "{said}");
    assert!(said.contains("install the fleet's key file"), "{said}");
    // The fleet goes on.
    let token = one_token(&fleet.hosts[0].run(&["token"]));
    assert_eq!(fleet.fake.myself_status(CLOUD_ID, &token), 200);
}

#[test]
fn a_store_copied_from_sled_to_postgres_and_back_reads_the_same() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let target = cluster.database();
    let callback = format!("http://localhost:{}/callback", free_port());
    let fake = FakeAtlassian::start(&callback);
    let sled_host = Host {
        sandbox: Sandbox::new(),
        store: "sled".into(),
        fake_urls: (fake.auth_url(), fake.api_url()),
        env: Vec::new(),
    };
    add_profile(&sled_host, &fake, &callback);
    authorize(&sled_host, &fake, "jira");

    let out = sled_host.run(&["store", "copy", "--to", &target]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("1 grant(s)"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !text(&out.stderr).contains("password"),
        "{}",
        text(&out.stderr)
    );

    // A host on the database serves the copy: the same grant, working.
    let pg_host = Host {
        sandbox: Sandbox::new(),
        store: target.clone(),
        fake_urls: sled_host.fake_urls.clone(),
        env: Vec::new(),
    };
    std::fs::create_dir_all(pg_host.sandbox.key_file().parent().unwrap()).unwrap();
    std::fs::copy(sled_host.sandbox.key_file(), pg_host.sandbox.key_file()).unwrap();
    let token = one_token(&pg_host.run(&["token"]));
    assert_eq!(fake.myself_status(CLOUD_ID, &token), 200);
    // The sled store is marked moved: it refreshes nothing.
    let out = sled_host.run(&["refresh", "--integration", "jira"]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("marked moved"),
        "{}",
        text(&out.stderr)
    );

    // And back: from the database into a new sled store, by the database's agent.
    let back = pg_host.sandbox.root.path().join("back");
    let out = pg_host.run(&["store", "copy", "--to", &format!("sled:{}", back.display())]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    pg_host.sandbox.stop_agent();
    sled_host.sandbox.stop_agent();
    let copy = SledStore::open(&OpenOptions::new(
        jira_auth::store::StorePaths {
            data_dir: back,
            key_file: pg_host.sandbox.key_file(),
        },
        "test",
    ))
    .unwrap();
    let grant = copy
        .token_set("jira", &Principal::Admin)
        .unwrap()
        .expect("the grant");
    assert_eq!(grant.access_token.expose(), token);
    assert_eq!(copy.moved_to().unwrap(), None);
}

/// A GET to the receiver on `port`, answered whole.
fn get(port: u16, target: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to serve");
    stream
        .set_read_timeout(Some(Duration::from_secs(40)))
        .expect("timeout");
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: jira-auth.example\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn a_link_made_on_one_host_is_completed_through_another_hosts_receiver() {
    let Some(mut fleet) = Fleet::new(3) else {
        return;
    };
    // Host C runs the receiver; the fake's app and the profile point at it.
    let log = std::sync::Arc::default();
    let (serve, port) = support::receiver::spawn_serve(&|| fleet.hosts[2].command(), 0, &[], &log);
    fleet.callback = format!("http://127.0.0.1:{port}/callback");
    fleet.fake.set_redirect_uri(&fleet.callback);
    let (a, b) = (&fleet.hosts[0], &fleet.hosts[1]);
    add_profile(a, &fleet.fake, &fleet.callback);
    a.ok(&[
        "setup",
        "--integration",
        "support",
        "--mode",
        "user-authorized",
        "--profile",
        "acme",
    ]);
    let status: serde_json::Value = serde_json::from_str(&b.ok(&["status", "--json"])).unwrap();
    assert_eq!(
        status["integrations"][0]["tokens"],
        serde_json::json!([]),
        "B sees no user yet"
    );

    // The link is made and waited for on A; the user comes back through C.
    let mut waiting = Interactive::spawn(
        a.command(),
        &[
            "link",
            "--integration",
            "support",
            "--user",
            "alice",
            "--wait",
        ],
    );
    waiting.close_stdin();
    waiting.wait_line("waiting for user");
    let url = waiting.stdout_line();
    let location = fleet.fake.consent(&format!("{url}&fake_account=alice"));
    let location = url::Url::parse(&location).expect("callback URL");
    let page = get(
        port,
        &format!(
            "{}?{}",
            location.path(),
            location.query().unwrap_or_default()
        ),
    );
    assert!(page.contains("Jira is connected"), "{page}");
    let (code, _, stderr) = waiting.finish();
    assert_eq!(
        code, 0,
        "link --wait on A ends when C stores the grant: {stderr}"
    );
    // B, which did nothing, knows the user; A hands out the user's token.
    let status: serde_json::Value = serde_json::from_str(&b.ok(&["status", "--json"])).unwrap();
    assert_eq!(
        status["integrations"][0]["tokens"][0]["principal"],
        "user:alice"
    );
    let token = one_token(&a.run(&["token", "--integration", "support", "--user", "alice"]));
    assert_eq!(fleet.fake.myself_status(CLOUD_ID, &token), 200);
    drop(serve);
    let _ = &mut fleet;
}

#[test]
fn a_rotation_the_database_could_not_take_is_held_and_written_when_it_is_back() {
    let Some(fleet) = Fleet::new(1) else { return };
    fleet.fake.set_access_ttl(30);
    fleet.authorized();
    fleet.fake.set_access_ttl(3600);
    let a = &fleet.hosts[0];
    a.ok(&["status"]);
    // Atlassian answers the refresh slowly; the database stops before the answer is written.
    fleet
        .fake
        .set_delay(Endpoint::Token, Some(Duration::from_secs(2)));
    let before = fleet.fake.refresh_requests();
    let mut asking = a.command();
    let asking = asking
        .args(["token", "--min-valid", "60"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_for("the refresh reaches Atlassian", SHORT, || fleet
        .fake
        .refresh_requests()
        > before));
    fleet.cluster.stop_fast();
    let out = asking.wait_with_output().unwrap();
    fleet.fake.set_delay(Endpoint::Token, None);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("in memory"),
        "{}",
        text(&out.stderr)
    );
    // Atlassian rotated: the only live refresh token is in the agent's memory until the
    // database is back, then it is written by itself.
    fleet.cluster.start_server();
    assert!(wait_for("the held rotation is written", SHORT, || {
        let out = a.run(&["status", "--json"]);
        out.status.code() == Some(0)
            && serde_json::from_slice::<serde_json::Value>(&out.stdout)
                .is_ok_and(|s| s["integrations"][0]["tokens"][0]["state"] == "valid")
    }));
    let token = one_token(&a.run(&["token"]));
    assert_eq!(fleet.fake.myself_status(CLOUD_ID, &token), 200);
    // The stored refresh token is the live one: a forced refresh works and kills nothing.
    a.ok(&["refresh", "--integration", "jira"]);
    assert_eq!(fleet.fake.dead_families(), 0, "no grant lost");
}

#[test]
fn a_console_on_one_host_shows_what_another_host_changed_unasked() {
    let Some(fleet) = Fleet::new(2) else { return };
    let (a, b) = (&fleet.hosts[0], &fleet.hosts[1]);
    let mut env = b.sandbox.pty_env();
    env.push(("JIRA_AUTH_STORE", b.store.clone()));
    env.push(("JIRA_AUTH_ATLASSIAN_AUTH_URL", b.fake_urls.0.clone()));
    env.push(("JIRA_AUTH_ATLASSIAN_API_URL", b.fake_urls.1.clone()));
    let mut console = common::pty::PtySession::spawn(&[], &env, 120, 40);
    console.wait_for("Welcome to jira-auth");
    // A profile added on host A appears on host B's console, no key pressed there.
    add_profile(a, &fleet.fake, &fleet.callback);
    console.wait_for("acme");
    a.ok(&[
        "setup",
        "--integration",
        "jira",
        "--mode",
        "pre-authorized",
        "--profile",
        "acme",
    ]);
    console.wait_for("Custom (acme)");
    console.send("q");
    assert_eq!(console.wait_exit(), 0);
}
