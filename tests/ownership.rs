//! Only the owner: a data directory, key or socket another user owns or may write is refused
//! with the fix, nothing is written through a link planted in the data directory, and an
//! agent socket served by another uid receives not one byte (the client secret least of all).
//! Becoming uid 65534 needs root: those tests skip loudly without it.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use common::agent::*;
use common::{Sandbox, text};

const NOBODY: u32 = 65534;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn chown(path: &Path, uid: u32) {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid C string and two integers.
    let done = unsafe { libc::lchown(c_path.as_ptr(), uid, uid) };
    assert_eq!(done, 0, "chown {}", path.display());
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Every name under `dir`, for "nothing was written".
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// `profile add` (the client secret on stdin): its exit code and stderr.
fn added(sandbox: &Sandbox) -> (Option<i32>, String) {
    let out = add_profile(sandbox, "acme");
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out.status.code(), stderr)
}

/// The command's exit code and stderr; it must not have panicked.
fn refused(sandbox: &Sandbox, args: &[&str], stdin: &str) -> (Option<i32>, String) {
    let out = sandbox.run(args, stdin);
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.stdout.is_empty(), "stdout: {}", text(&out.stdout));
    (out.status.code(), stderr)
}

#[test]
fn a_data_directory_of_another_uid_with_links_planted_inside_is_refused_and_nothing_is_written_through_them()
 {
    if !is_root() {
        eprintln!("SKIPPED: another uid's data directory needs root to make");
        return;
    }
    let sandbox = Sandbox::new();
    let data = sandbox.data_dir();
    std::fs::create_dir(&data).unwrap();
    chmod(&data, 0o700);
    // What the neighbour aims the links at: files of ours.
    let victim = sandbox.root.path().join("victim");
    std::fs::write(&victim, "root's own file\n").unwrap();
    for name in ["holder", "agent.log"] {
        std::os::unix::fs::symlink(&victim, data.join(name)).unwrap();
        chown(&data.join(name), NOBODY);
    }
    chown(&data, NOBODY);

    let (code, stderr) = added(&sandbox);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("belongs to uid 65534"), "{stderr}");
    assert!(
        stderr.contains(&format!("chown -R 0 {}", data.display())),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "root's own file\n"
    );
    assert_eq!(listing(&data), ["agent.log", "holder"], "nothing created");
    assert!(agents_serving(&data).is_empty(), "no agent started");

    // Made ours, the links alone are still refused, one by one, and never written through.
    chown(&data, 0);
    for name in ["agent.log", "holder"] {
        chown(&data.join(name), 0);
    }
    let (code, stderr) = added(&sandbox);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("is a symbolic link"), "{stderr}");
    std::fs::remove_file(data.join("holder")).unwrap();
    let (code, stderr) = added(&sandbox);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{} is a symbolic link",
            data.join("agent.log").display()
        )),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "root's own file\n"
    );
    assert!(!data.join("db").exists(), "the store was not opened");
    assert!(agents_serving(&data).is_empty(), "no agent serves");
}

#[test]
fn a_data_directory_others_may_write_is_refused_with_the_chmod_and_left_as_it_was() {
    let sandbox = existing_store();
    let data = sandbox.data_dir();
    chmod(&data, 0o770);
    let before = listing(&data);
    let (code, stderr) = refused(&sandbox, &["status"], "");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("mode 770"), "{stderr}");
    assert!(
        stderr.contains(&format!("chmod 700 {}", data.display())),
        "{stderr}"
    );
    assert_eq!(listing(&data), before, "no log, no socket, nothing");
    assert_eq!(
        std::fs::metadata(&data).unwrap().permissions().mode() & 0o777,
        0o770
    );

    chmod(&data, 0o700);
    status_json(&sandbox);
    sandbox.stop_agent();
}

#[test]
fn a_key_file_or_key_directory_of_another_uid_is_refused_with_the_chown() {
    if !is_root() {
        eprintln!("SKIPPED: another uid's key file needs root to make");
        return;
    }
    let sandbox = existing_store();
    let key = sandbox.key_file();
    let bytes = std::fs::read(&key).unwrap();
    chown(&key, NOBODY);
    let (code, stderr) = refused(&sandbox, &["status"], "");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{} belongs to uid 65534", key.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("chown 0 {}", key.display())),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&key).unwrap(), bytes, "the key is untouched");

    chown(&key, 0);
    let config = key.parent().unwrap();
    chown(config, NOBODY);
    let (code, stderr) = refused(&sandbox, &["status"], "");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{} belongs to uid 65534", config.display())),
        "{stderr}"
    );
    chown(config, 0);
    status_json(&sandbox);
    sandbox.stop_agent();
}

#[test]
fn a_socket_file_of_another_uid_in_the_data_directory_is_refused() {
    if !is_root() {
        eprintln!("SKIPPED: another uid's socket needs root to make");
        return;
    }
    let sandbox = existing_store();
    let socket = sandbox.data_dir().join("agent.sock");
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    chown(&socket, NOBODY);
    let (code, stderr) = refused(&sandbox, &["status"], "");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{} belongs to uid 65534", socket.display())),
        "{stderr}"
    );
    assert!(agents_serving(&sandbox.data_dir()).is_empty());
    std::fs::remove_file(&socket).unwrap();
}

/// A Unix socket bound at `path` by this process (root) but not listening yet.
fn bound_socket(path: &Path) -> OwnedFd {
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: socket returns a fresh descriptor or -1.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: just created, owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: sockaddr_un is plain data; zeroed is a valid empty address.
    let mut address: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    address.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_os_str().as_bytes();
    assert!(bytes.len() < address.sun_path.len(), "socket path too long");
    for (slot, byte) in address.sun_path.iter_mut().zip(bytes) {
        *slot = *byte as libc::c_char;
    }
    let length = u32::try_from(std::mem::size_of::<libc::sockaddr_un>()).unwrap();
    // SAFETY: a valid socket and address of the stated length.
    let done = unsafe { libc::bind(fd.as_raw_fd(), (&raw const address).cast(), length) };
    assert_eq!(done, 0, "bind: {}", std::io::Error::last_os_error());
    fd
}

/// Calls listen() as uid 65534 on the socket at descriptor 3, says "listening", then greets
/// every connection as an agent would (the frame in argv[1], hex) and counts the bytes each
/// sends, until stdin closes.
const IMPOSTOR: &str = r#"
import select, socket, sys
hello = bytes.fromhex(sys.argv[1])
s = socket.socket(fileno=3)
s.listen(16)
print("listening", flush=True)
connections = received = 0
open_ones = []
while True:
    ready, _, _ = select.select([s, sys.stdin] + open_ones, [], [], 5)
    if sys.stdin in ready:
        break
    if s in ready:
        c, _ = s.accept()
        connections += 1
        try:
            c.sendall(hello)
        except OSError:
            pass  # the client left first
        open_ones.append(c)
    for c in [c for c in open_ones if c in ready]:
        try:
            data = c.recv(65536)
        except OSError:
            data = b""
        received += len(data)
        if not data:
            open_ones.remove(c)
            c.close()
print(f"connections {connections} bytes {received}", flush=True)
"#;

/// The hello of a real agent, of a build newer than any (so no client asks it to make way):
/// without the peer check a client would take it at its word and send its own hello, then
/// its request.
fn greeting() -> String {
    use jira_auth::agent::protocol::{AgentFrame, AgentHello, Build, PROTOCOL_VERSION};
    let body = serde_json::to_vec(&AgentFrame::Hello(AgentHello {
        protocol: PROTOCOL_VERSION,
        build: Build {
            version: "99.0.0".into(),
            stamp: u64::MAX,
        },
        pid: 1,
    }))
    .unwrap();
    let mut frame = u32::try_from(body.len()).unwrap().to_be_bytes().to_vec();
    frame.extend(body);
    frame.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn an_agent_socket_served_by_another_uid_gets_not_one_byte_and_is_named() {
    let python = Path::new("/usr/bin/python3");
    if !is_root() || !python.exists() {
        eprintln!("SKIPPED: the impostor needs root (to become uid 65534) and /usr/bin/python3");
        return;
    }
    let sandbox = existing_store();
    let socket = sandbox.data_dir().join("agent.sock");
    let fd = bound_socket(&socket);
    let raw = fd.as_raw_fd();
    let mut impostor = Command::new("setpriv");
    impostor
        .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
        .arg(python)
        .args(["-c", IMPOSTOR])
        .arg(greeting())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    // SAFETY: dup2 between fork and exec, on a descriptor this process owns.
    unsafe {
        impostor.pre_exec(move || {
            // dup2 onto itself would keep close-on-exec set: clear it instead.
            let done = if raw == 3 {
                libc::fcntl(3, libc::F_SETFD, 0)
            } else {
                libc::dup2(raw, 3)
            };
            if done < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut impostor = Reaped(impostor.spawn().expect("start the impostor"));
    drop(fd);
    let mut said = BufReader::new(impostor.0.stdout.take().unwrap());
    let mut line = String::new();
    said.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "listening");

    for (code, stderr) in [added(&sandbox), refused(&sandbox, &["status"], "")] {
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains("served by uid 65534"), "{stderr}");
        assert!(stderr.contains("nothing was sent"), "{stderr}");
        assert!(!stderr.contains(SECRET76), "{stderr}");
    }

    // Closing its stdin ends the impostor, which then says what it got.
    drop(impostor.0.stdin.take());
    line.clear();
    said.read_line(&mut line).unwrap();
    let counts: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(counts.len(), 2, "impostor said: {line}");
    assert!(counts[0] >= 2, "both commands connected: {line}");
    assert_eq!(counts[1], 0, "the impostor received bytes: {line}");
    assert!(impostor.wait_exit().is_some_and(|s| s.success()));
    std::fs::remove_file(&socket).unwrap();
    let _ = std::io::stderr().flush();
}
