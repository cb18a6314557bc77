//! The agent as other processes meet it: real `jira-auth agent` processes on real sockets in
//! temporary data directories. Started on demand by concurrent commands, killed, fed garbage,
//! visited by another uid, replaced when it speaks another protocol, idle, misconfigured
//! clients and clients that die mid-request.

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};

use common::agent::*;
use common::{Sandbox, text};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------
// Raw frames: a 4-byte big-endian length, then JSON.

/// Every frame until the agent closes the connection.
fn read_until_closed(stream: &mut UnixStream) -> Vec<Value> {
    std::iter::from_fn(|| read_frame(stream)).collect()
}

/// Reads the agent's hello frame; returns it.
fn agent_hello(stream: &mut UnixStream) -> Value {
    let hello = read_frame(stream).expect("the agent says hello first");
    assert_eq!(hello["frame"], "hello", "{hello}");
    hello
}

/// The frames of a refused connection: at most one, an error reply.
fn assert_refused_then_closed(frames: &[Value], case: &str) {
    assert!(frames.len() <= 1, "{case}: more than one frame: {frames:?}");
    if let Some(reply) = frames.first() {
        assert_eq!(reply["frame"], "reply", "{case}: {reply}");
        assert!(
            reply["result"].get("Err").is_some(),
            "{case}: the reply is not an error: {reply}"
        );
    }
}

/// An agent runs and answers: started on demand by `status --json`; its pid.
fn started_agent(sandbox: &Sandbox) -> u32 {
    status_json(sandbox);
    agent_pid(sandbox)
}

/// `sh -c SCRIPT` with the sandbox's environment.
fn shell(sandbox: &Sandbox, script: &str) -> Command {
    let mut command = Command::new("sh");
    command.arg("-c").arg(script);
    for (key, value) in sandbox.command().get_envs() {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    command
}

/// Deterministic noise (xorshift), so a failure can be replayed.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed.to_be_bytes()[0]
        })
        .collect()
}

// ---------------------------------------------------------------------------------------

#[test]
fn sixteen_commands_at_once_without_an_agent_all_succeed_and_leave_exactly_one_agent() {
    let sandbox = existing_store();
    let children: Vec<_> = (0..16)
        .map(|_| {
            sandbox
                .command()
                .args(["status", "--json"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn status --json")
        })
        .collect();
    for (i, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().expect("wait for status --json");
        assert_eq!(
            out.status.code(),
            Some(0),
            "command {i} failed: {}",
            text(&out.stderr)
        );
        let json: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("command {i} printed no JSON ({e}): {}", text(&out.stdout)));
        assert!(json["integrations"].is_array(), "command {i}: {json}");
    }
    // Agents that lost the store step aside by themselves.
    let data_dir = sandbox.data_dir();
    let settled = poll_until(|| agents_serving(&data_dir).len() == 1);
    let serving_now = agents_serving(&data_dir);
    assert!(
        settled,
        "expected exactly one agent serving the store, found {serving_now:?}; log:\n{}",
        std::fs::read_to_string(data_dir.join("agent.log")).unwrap_or_default()
    );
    assert_eq!(vec![agent_pid(&sandbox)], serving_now);
}

#[test]
fn agent_status_and_stop_report_no_agent_then_describe_and_stop_the_one_a_command_started() {
    let sandbox = existing_store();
    let socket = sandbox.data_dir().join("agent.sock");

    let out = sandbox.run(&["agent", "status"], "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("no agent is running"),
        "{}",
        text(&out.stderr)
    );
    let out = sandbox.run(&["agent", "stop"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!socket.exists(), "status and stop start no agent");

    status_json(&sandbox);
    let info = agent_info(&sandbox).expect("the command left an agent running");
    assert!(info["pid"].as_u64().is_some_and(|pid| pid > 0), "{info}");
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"), "{info}");
    assert_eq!(
        info["protocol"],
        jira_auth::agent::protocol::PROTOCOL_VERSION,
        "{info}"
    );
    assert!(info["clients"].as_u64().is_some_and(|n| n >= 1), "{info}");
    assert!(
        info["idle_exit_secs"].as_u64().is_some(),
        "an agent started on demand exits when idle: {info}"
    );
    let pid = agent_pid(&sandbox);
    assert!(alive(pid));

    let out = sandbox.run(&["agent", "stop"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = sandbox.run(&["agent", "status"], "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(!socket.exists(), "the stopped agent removed its socket");
    wait_until("the stopped agent has exited", || !alive(pid));
}

#[test]
fn a_killed_agent_leaves_a_stale_socket_that_the_next_command_replaces_with_the_data_intact() {
    let sandbox = existing_store();
    let out = add_profile(&sandbox, "survivor");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let old = agent_pid(&sandbox);

    kill9(old);
    wait_until("the killed agent is dead", || !alive(old));
    let socket = sandbox.data_dir().join("agent.sock");
    assert!(socket.exists(), "kill -9 leaves the socket file behind");
    // /proc shows the main thread a zombie while the other threads still hold the
    // descriptor table: the listening socket closes a moment later.
    wait_until("nobody answers on the stale socket", || {
        UnixStream::connect(&socket).is_err()
    });

    let status = status_json(&sandbox);
    assert_eq!(profile_names(&status), ["survivor"]);
    let new = agent_pid(&sandbox);
    assert_ne!(new, old, "a new agent serves the store");
    assert!(alive(new));
}

#[test]
fn garbage_on_the_socket_closes_that_connection_and_the_agent_serves_on() {
    let sandbox = existing_store();
    let pid = started_agent(&sandbox);

    // Noise, then end of input: whatever length its first bytes announce, the agent gives up.
    for seed in [1_u64, 7, 0x5eed] {
        let mut stream = connect(&sandbox);
        agent_hello(&mut stream);
        stream.write_all(&noise(300, seed)).expect("write noise");
        stream
            .shutdown(std::net::Shutdown::Write)
            .expect("shut down writing");
        let frames = read_until_closed(&mut stream);
        assert_refused_then_closed(&frames, &format!("noise {seed}"));
    }

    // Not jira-auth at all: an HTTP request (its first bytes announce a frame of ~1.2 GB).
    let mut stream = connect(&sandbox);
    agent_hello(&mut stream);
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .expect("write");
    let frames = read_until_closed(&mut stream);
    assert_refused_then_closed(&frames, "an HTTP request");

    // A header announcing 100 MiB: refused at once, without waiting for the body.
    let mut stream = connect(&sandbox);
    agent_hello(&mut stream);
    stream
        .write_all(&(100_u32 * 1024 * 1024).to_be_bytes())
        .expect("write header");
    let frames = read_until_closed(&mut stream);
    assert_refused_then_closed(&frames, "a 100 MiB header");
    assert_eq!(frames.len(), 1, "the agent says why: {frames:?}");

    // A well-formed frame with a request no agent knows, before hello and after it.
    let unknown = json!({"id": 1, "request": {"kind": "format_disk"}});
    let mut stream = connect(&sandbox);
    agent_hello(&mut stream);
    write_frame(&mut stream, &unknown);
    let frames = read_until_closed(&mut stream);
    assert_refused_then_closed(&frames, "an unknown request before hello");

    let mut stream = connect(&sandbox);
    agent_hello(&mut stream);
    write_frame(&mut stream, &client_hello(&sandbox));
    let greeted = read_frame(&mut stream).expect("a reply to hello");
    assert_eq!(
        greeted["result"],
        json!({"Ok": {"kind": "welcome", "notes": []}}),
        "{greeted}"
    );
    write_frame(&mut stream, &unknown);
    let frames = read_until_closed(&mut stream);
    assert_refused_then_closed(&frames, "an unknown request after hello");

    // A known request before hello.
    let mut stream = connect(&sandbox);
    agent_hello(&mut stream);
    write_frame(
        &mut stream,
        &json!({"id": 3, "request": {"kind": "status"}}),
    );
    let frames = read_until_closed(&mut stream);
    assert_refused_then_closed(&frames, "status before hello");

    // JSON that is no frame at all.
    let mut stream = connect(&sandbox);
    agent_hello(&mut stream);
    write_frame(&mut stream, &json!([1, 2, 3]));
    let frames = read_until_closed(&mut stream);
    assert_refused_then_closed(&frames, "a JSON array");

    status_json(&sandbox);
    assert_eq!(agent_pid(&sandbox), pid, "the same agent serves on");
}

/// Whether this process may become another user (it runs as root).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| text(&out.stdout).trim() == "0")
}

#[test]
fn a_process_of_another_uid_is_refused_and_the_agent_serves_its_owner_on() {
    use std::os::unix::process::CommandExt;
    if !is_root() {
        eprintln!("skipped: becoming uid 65534 needs root");
        return;
    }
    let sandbox = existing_store();
    let pid = started_agent(&sandbox);
    let data_dir = sandbox.data_dir();
    // Let the other user reach the socket, so only the agent itself can turn it away.
    for (path, mode) in [
        (sandbox.root.path().to_owned(), 0o755),
        (data_dir.clone(), 0o755),
        (data_dir.join("agent.sock"), 0o666),
    ] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    let mut command = sandbox.command();
    command
        .env("HOME", "/tmp")
        .current_dir("/")
        .uid(65534)
        .gid(65534);
    let out = common::run_with(
        command,
        &[
            "--data-dir",
            &data_dir.display().to_string(),
            "status",
            "--json",
        ],
        "",
    );
    let stderr = text(&out.stderr);
    // Each side refuses the other: the client sees a socket of uid 0, not its own.
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("served by uid 0"), "stderr: {stderr}");
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));

    // The client left at once; the agent still takes the connection and turns it away.
    let log = || std::fs::read_to_string(data_dir.join("agent.log")).expect("agent.log");
    wait_until("the agent has logged the refusal", || {
        log().contains("refused connection")
    });
    assert!(log().contains("uid 65534"), "log:\n{}", log());

    status_json(&sandbox);
    assert_eq!(agent_pid(&sandbox), pid, "the same agent serves on");
}

/// Hands everything under `root` to `uid` (and its group of the same number).
fn give_to(root: &std::path::Path, uid: u32) {
    let mut pending = vec![root.to_owned()];
    while let Some(path) = pending.pop() {
        std::os::unix::fs::lchown(&path, Some(uid), Some(uid)).expect("chown");
        if path.is_dir() {
            pending.extend(
                std::fs::read_dir(&path)
                    .expect("read dir")
                    .flatten()
                    .map(|e| e.path()),
            );
        }
    }
}

#[test]
fn a_non_root_client_of_another_uid_is_refused_by_a_non_root_agent() {
    use std::os::unix::process::CommandExt;
    // Two unprivileged users: the agent's and a stranger's. Root only sets the stage.
    const OWNER: u32 = 65533;
    const STRANGER: u32 = 65534;
    if !is_root() {
        eprintln!("skipped: becoming uids {OWNER} and {STRANGER} needs root");
        return;
    }
    let sandbox = existing_store();
    give_to(sandbox.root.path(), OWNER);
    let data_dir = sandbox.data_dir();
    let as_user = |uid: u32| {
        let mut command = sandbox.command();
        command
            .arg("--data-dir")
            .arg(&data_dir)
            .env("HOME", "/tmp")
            .current_dir("/")
            .uid(uid)
            .gid(uid);
        command
    };
    // Started by hand (killed on drop if the test fails half-way: the sandbox's own
    // `agent stop` runs as root and would be refused); its log goes to a file of the test's.
    let log_path = sandbox.root.path().join("agent.stderr");
    let mut agent = {
        let log = std::fs::File::create(&log_path).expect("create the agent's log");
        let mut command = as_user(OWNER);
        command
            .arg("agent")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        Reaped(command.spawn().expect("spawn the agent as its owner"))
    };
    let socket = data_dir.join("agent.sock");
    wait_until("the owner's agent answers", || {
        UnixStream::connect(&socket).is_ok()
    });
    let owner = common::run_with(as_user(OWNER), &["agent", "status", "--json"], "");
    assert_eq!(owner.status.code(), Some(0), "{}", text(&owner.stderr));
    let info: Value = serde_json::from_slice(&owner.stdout).expect("agent status JSON");
    assert_eq!(info["pid"], agent.pid(), "{info}");
    // Let the stranger reach the socket, so only the agent itself can turn it away.
    for (path, mode) in [
        (sandbox.root.path().to_owned(), 0o755),
        (data_dir.clone(), 0o755),
        (socket.clone(), 0o666),
    ] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    let out = common::run_with(as_user(STRANGER), &["status", "--json"], "");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains(&format!(
            "served by uid {OWNER}, not by this user (uid {STRANGER})"
        )),
        "stderr: {stderr}"
    );
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let log = || std::fs::read_to_string(&log_path).expect("the agent's log");
    // The test's own probe of the socket above (as root) is refused and logged too: wait
    // for the stranger's line itself, not for the first refusal.
    wait_until("the agent has logged the stranger's refusal", || {
        log().contains(&format!("uid {STRANGER} is not the agent's uid"))
    });

    // Its owner is served on by the same agent, and stops it.
    let status = common::run_with(as_user(OWNER), &["status", "--json"], "");
    assert_eq!(status.status.code(), Some(0), "{}", text(&status.stderr));
    let stop = common::run_with(as_user(OWNER), &["agent", "stop"], "");
    assert_eq!(stop.status.code(), Some(0), "{}", text(&stop.stderr));
    let exit = agent
        .wait_exit()
        .expect("the agent exits when its owner stops it");
    assert!(exit.success(), "{exit}");
}

#[test]
fn an_agent_started_on_demand_keeps_no_descriptor_of_the_command_that_started_it() {
    let sandbox = existing_store();
    let mut direct = sandbox.command();
    direct.args(["status", "--json"]);
    // Through a shell too, as scripts run it: `$(jira-auth status --json)` must return.
    let through_sh = shell(
        &sandbox,
        &format!("'{}' status --json", env!("CARGO_BIN_EXE_jira-auth")),
    );

    for (how, mut command) in [("directly", direct), ("through sh -c", through_sh)] {
        // Each run starts its own agent.
        sandbox.stop_agent();
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let (sender, ends) = std::sync::mpsc::channel();
        for (name, mut pipe) in [
            (
                "stdout",
                Box::new(child.stdout.take().expect("stdout")) as Box<dyn Read + Send>,
            ),
            ("stderr", Box::new(child.stderr.take().expect("stderr"))),
        ] {
            let sender = sender.clone();
            std::thread::spawn(move || {
                let mut all = Vec::new();
                let _ = pipe.read_to_end(&mut all);
                let _ = sender.send((name, all));
            });
        }
        let mut stdout = Vec::new();
        for _ in 0..2 {
            match ends.recv_timeout(WAIT) {
                Ok(("stdout", bytes)) => stdout = bytes,
                Ok(_) => {}
                Err(_) => panic!(
                    "{how}: the command's output never reached end of file: something it started holds the pipe"
                ),
            }
        }
        let status = child.wait().expect("wait");
        assert!(status.success(), "{how}: {status}");
        let json: Value = serde_json::from_slice(&stdout).expect("status JSON");
        assert!(json["profiles"].is_array());

        let pid = agent_pid(&sandbox);
        assert!(alive(pid), "{how}: the agent outlives its caller");
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).expect("read the agent's fds");
        let log = std::fs::canonicalize(sandbox.data_dir().join("agent.log")).expect("the log");
        let mut links = std::collections::BTreeMap::new();
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path()) {
                links.insert(
                    fd.file_name()
                        .to_string_lossy()
                        .parse::<u32>()
                        .unwrap_or(u32::MAX),
                    target.display().to_string(),
                );
            }
        }
        assert_eq!(
            links.get(&0).map(String::as_str),
            Some("/dev/null"),
            "{how}: {links:?}"
        );
        let log = log.display().to_string();
        assert_eq!(links.get(&1), Some(&log), "{how}: {links:?}");
        assert_eq!(links.get(&2), Some(&log), "{how}: {links:?}");
        assert!(
            !links.values().any(|target| target.starts_with("pipe:[")),
            "{how}: the agent holds a pipe: {links:?}"
        );
    }
}

#[test]
fn an_agent_speaking_another_protocol_is_replaced_by_one_speaking_ours() {
    let sandbox = existing_store();
    let mut old = sandbox.spawn_agent(&[("JIRA_AUTH_TEST_AGENT_PROTOCOL", "0")]);
    wait_until("the hand-started agent answers on its socket", || {
        UnixStream::connect(sandbox.data_dir().join("agent.sock")).is_ok_and(|mut stream| {
            stream.set_read_timeout(Some(WAIT)).expect("timeout");
            read_frame(&mut stream).is_some_and(|hello| hello["protocol"] == 0)
        })
    });

    status_json(&sandbox);
    let info = agent_info(&sandbox).expect("an agent runs");
    assert_eq!(
        info["protocol"],
        jira_auth::agent::protocol::PROTOCOL_VERSION,
        "{info}"
    );
    assert_ne!(info["pid"], old.pid(), "{info}");
    let exit = old.wait_exit();
    assert!(
        exit.is_some(),
        "the agent of protocol 0 is still running after it was replaced"
    );
}

#[test]
fn an_agent_started_on_demand_exits_when_idle_and_removes_its_socket() {
    let sandbox = existing_store();
    let socket = sandbox.data_dir().join("agent.sock");
    let out = common::run_with(
        {
            let mut command = sandbox.command();
            command.env("JIRA_AUTH_AGENT_IDLE", "1s");
            command
        },
        &["status", "--json"],
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Looking in /proc does not count as a client, so it does not keep the agent awake.
    let serving = agents_serving(&sandbox.data_dir());
    assert!(serving.len() <= 1, "{serving:?}");
    for pid in &serving {
        wait_until("the idle agent has exited", || !alive(*pid));
    }
    wait_until("the idle agent has removed its socket", || !socket.exists());
    let log = std::fs::read_to_string(sandbox.data_dir().join("agent.log")).expect("agent.log");
    assert!(log.contains("exits after 1s idle"), "log:\n{log}");
    assert!(log.contains("idle, exiting"), "log:\n{log}");
    assert!(agents_serving(&sandbox.data_dir()).is_empty());
}

#[test]
fn an_agent_started_by_hand_ignores_the_idle_limit_and_stays_until_stopped() {
    let sandbox = existing_store();
    let mut agent = sandbox.spawn_agent(&[("JIRA_AUTH_AGENT_IDLE", "1s")]);
    let socket = sandbox.data_dir().join("agent.sock");
    wait_until("the hand-started agent answers", || {
        UnixStream::connect(&socket).is_ok()
    });
    let info = agent_info(&sandbox).expect("the agent runs");
    assert_eq!(info["pid"], agent.pid(), "{info}");
    assert_eq!(info["idle_exit_secs"], Value::Null, "{info}");

    // A witness: an agent started on demand after this one, with the same limit, in a
    // sandbox of its own. Once it has left for being idle, the hand-started one has been
    // idle at least as long, twice over, and must still be there.
    let witness = existing_store();
    for _ in 0..2 {
        let out = common::run_with(
            {
                let mut command = witness.command();
                command.env("JIRA_AUTH_AGENT_IDLE", "1s");
                command
            },
            &["status", "--json"],
            "",
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let witness_socket = witness.data_dir().join("agent.sock");
        wait_until("the witness agent has left for being idle", || {
            !witness_socket.exists() && agents_serving(&witness.data_dir()).is_empty()
        });
    }
    let witnessed = std::fs::read_to_string(witness.data_dir().join("agent.log")).expect("log");
    assert_eq!(witnessed.matches("idle, exiting").count(), 2, "{witnessed}");
    assert!(agent.running(), "the hand-started agent exited on its own");
    assert!(socket.exists());

    let out = sandbox.run(&["agent", "stop"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let exit = agent.wait_exit().expect("the agent exits when stopped");
    assert!(exit.success(), "{exit}");
    assert!(!socket.exists());
}

#[test]
fn a_command_with_another_key_file_is_told_to_use_the_same_or_stop_the_agent() {
    let sandbox = existing_store();
    let out = add_profile(&sandbox, "kept");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let pid = agent_pid(&sandbox);

    let other_key = sandbox.root.path().join("elsewhere").join("other.key");
    let mut command = sandbox.command();
    command.env("JIRA_AUTH_KEY_FILE", &other_key);
    let out = common::run_with(command, &["status", "--json"], "");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("JIRA_AUTH_KEY_FILE"), "stderr: {stderr}");
    assert!(stderr.contains("agent stop"), "stderr: {stderr}");
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert!(
        !other_key.exists(),
        "no key was made for the refused client"
    );

    assert_eq!(profile_names(&status_json(&sandbox)), ["kept"]);
    assert_eq!(agent_pid(&sandbox), pid);
}

#[test]
fn clients_that_die_mid_request_leave_the_agent_serving_and_are_no_longer_counted() {
    let sandbox = existing_store();
    let out = add_profile(&sandbox, "steady");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let pid = agent_pid(&sandbox);

    // The hello below is the one a real client sends: the agent accepts it.
    let mut stream = connect(&sandbox);
    agent_hello(&mut stream);
    write_frame(&mut stream, &client_hello(&sandbox));
    let greeted = read_frame(&mut stream).expect("a reply to hello");
    assert_eq!(
        greeted["result"],
        json!({"Ok": {"kind": "welcome", "notes": []}}),
        "{greeted}"
    );
    drop(stream);

    let status = json!({"id": 1, "request": {"kind": "status"}});
    for round in 0..10 {
        // Asks, and leaves without reading the answer.
        let mut stream = connect(&sandbox);
        write_frame(&mut stream, &client_hello(&sandbox));
        write_frame(&mut stream, &status);
        drop(stream);
        // Leaves half-way through a frame.
        let mut stream = connect(&sandbox);
        write_frame(&mut stream, &client_hello(&sandbox));
        let body = serde_json::to_vec(&status).expect("json");
        let length = u32::try_from(body.len()).expect("small").to_be_bytes();
        stream.write_all(&length).expect("write length");
        stream
            .write_all(&body[..body.len() / 2])
            .unwrap_or_else(|e| panic!("round {round}: write half a frame: {e}"));
        drop(stream);
    }

    assert_eq!(profile_names(&status_json(&sandbox)), ["steady"]);
    assert_eq!(agent_pid(&sandbox), pid, "the same agent serves on");
    // Only `agent status` itself remains connected once the dead clients are cleaned up.
    wait_until("the agent counts only live clients", || {
        agent_info(&sandbox).is_some_and(|info| info["clients"] == 1)
    });
}
