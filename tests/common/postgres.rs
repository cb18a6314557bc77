//! A throwaway PostgreSQL for the fleet tests: `initdb` into a temp dir, a server that
//! listens only on a Unix socket in that dir (no port to collide on), `pg_ctl start -w`,
//! one database per test; stopped and removed when dropped. The binaries come from the
//! Debian `postgresql` package (found in PATH or /usr/lib/postgresql/*/bin). As root, the
//! server runs as the `postgres` user, since `initdb` refuses root.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// The uid and gid the server runs as, when this process is root.
    owner: Option<(u32, u32)>,
    databases: AtomicUsize,
    /// The server's port: its socket's name, and its TCP port with TLS.
    port: u16,
}

/// Where the server's binaries are, if anywhere: the Debian package's own directory first
/// (the newest version), else the first PATH entry that holds all of them.
fn binaries() -> Option<PathBuf> {
    let complete = |dir: &Path| {
        ["initdb", "pg_ctl", "createdb"]
            .iter()
            .all(|b| dir.join(b).is_file())
    };
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| complete(bin))
        .collect();
    versions.sort();
    if let Some(newest) = versions.pop() {
        return Some(newest);
    }
    let path = std::env::var("PATH").ok()?;
    std::env::split_paths(&path).find(|dir| complete(dir))
}

fn postgres_user() -> Option<(u32, u32)> {
    let name = std::ffi::CString::new("postgres").ok()?;
    // SAFETY: getpwnam returns static storage or null; read at once.
    unsafe {
        let entry = libc::getpwnam(name.as_ptr());
        (!entry.is_null()).then(|| ((*entry).pw_uid, (*entry).pw_gid))
    }
}

impl Cluster {
    /// A running cluster, or `None` when the tests are told to skip without PostgreSQL
    /// (`JIRA_AUTH_SKIP_POSTGRES=1`; the caller says it skipped). Without the binaries and
    /// that variable, the test fails with the package to install.
    pub fn start() -> Option<Cluster> {
        Cluster::start_with(None)
    }

    /// A cluster that also listens on 127.0.0.1:`port` and takes TCP connections only over
    /// TLS (`hostssl`), with a server certificate for `localhost` signed by a CA of its own
    /// (`ca_file()`), made with the `openssl` command.
    pub fn start_with_tls(port: u16) -> Option<Cluster> {
        Cluster::start_with(Some(port))
    }

    fn start_with(tls: Option<u16>) -> Option<Cluster> {
        let Some(bin) = binaries() else {
            if std::env::var("JIRA_AUTH_SKIP_POSTGRES").as_deref() == Ok("1") {
                eprintln!(
                    "skipped: no PostgreSQL here, and JIRA_AUTH_SKIP_POSTGRES=1 says to skip"
                );
                return None;
            }
            panic!(
                "the fleet tests need PostgreSQL's server binaries (initdb, pg_ctl): install the Debian package `postgresql` (`apt-get install postgresql`), or set JIRA_AUTH_SKIP_POSTGRES=1 to skip these tests"
            );
        };
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        let owner = if root {
            Some(
                postgres_user()
                    .expect("a `postgres` user to run the server as (initdb refuses root)"),
            )
        } else {
            None
        };
        let dir = tempfile::Builder::new()
            .prefix("jira-auth-pg")
            .tempdir()
            .expect("temp dir");
        let cluster = Cluster {
            dir,
            bin,
            owner,
            databases: AtomicUsize::new(0),
            port: tls.unwrap_or(5432),
        };
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(cluster.dir.path(), Some(uid), Some(gid)).expect("chown");
        }
        cluster.as_server(&[
            "initdb",
            "-D",
            &cluster.data().display().to_string(),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        ]);
        let config = format!(
            "listen_addresses = ''\nunix_socket_directories = '{}'\nfsync = off\nmax_connections = 200\n",
            cluster.dir.path().display()
        );
        let config = match tls {
            None => config,
            Some(port) => {
                cluster.make_certificates();
                std::fs::write(
                    cluster.data().join("pg_hba.conf"),
                    "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
                )
                .expect("pg_hba.conf");
                config.replace("listen_addresses = ''", "listen_addresses = '127.0.0.1'")
                    + &format!(
                        "port = {port}\nssl = on\nssl_cert_file = '{dir}/server.crt'\nssl_key_file = '{dir}/server.key'\n",
                        dir = cluster.dir.path().display()
                    )
            }
        };
        std::fs::OpenOptions::new()
            .append(true)
            .open(cluster.data().join("postgresql.conf"))
            .and_then(|mut f| std::io::Write::write_all(&mut f, config.as_bytes()))
            .expect("postgresql.conf");
        cluster.start_server();
        Some(cluster)
    }

    /// The CA that signed the server's certificate (PEM), for `sslrootcert`.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    /// A CA, and a certificate for `localhost` it signs, the key readable by the server only.
    fn make_certificates(&self) {
        let dir = self.dir.path();
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .expect("the openssl command (package openssl)");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=jira-auth test CA",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ]);
        std::fs::write(dir.join("san.ext"), "subjectAltName=DNS:localhost\n").expect("san.ext");
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ]);
        use std::os::unix::fs::PermissionsExt;
        let key = dir.join("server.key");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("key mode");
        if let Some((uid, gid)) = self.owner {
            for file in ["server.key", "server.crt", "ca.crt"] {
                std::os::unix::fs::chown(dir.join(file), Some(uid), Some(gid)).expect("chown");
            }
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// Runs one of the server's binaries, as the server's user; panics with its output.
    fn as_server(&self, args: &[&str]) {
        let program = self.bin.join(args[0]);
        let mut command = match self.owner {
            Some(_) => {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(&program);
                c
            }
            None => Command::new(&program),
        };
        let output = command
            .args(&args[1..])
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .expect("run a PostgreSQL binary");
        assert!(
            output.status.success(),
            "{} failed: {}{}",
            args[0],
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Starts the server and waits until it takes connections (`pg_ctl -w`).
    pub fn start_server(&self) {
        self.as_server(&[
            "pg_ctl",
            "-D",
            &self.data().display().to_string(),
            "-l",
            &self.log().display().to_string(),
            "-w",
            "start",
        ]);
    }

    /// Stops the server as an administrator would for maintenance (`pg_ctl stop -m fast`).
    pub fn stop_fast(&self) {
        self.as_server(&[
            "pg_ctl",
            "-D",
            &self.data().display().to_string(),
            "-m",
            "fast",
            "-w",
            "stop",
        ]);
    }

    /// Stops the server and removes its directory: for a cluster kept in a static, which is
    /// never dropped (called at the test process's exit).
    pub fn stop_and_remove(&self) {
        self.stop_immediately();
        let _ = std::fs::remove_dir_all(self.dir.path());
    }

    fn stop_immediately(&self) {
        let mut command = match self.owner {
            Some(_) => {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"])
                    .arg(self.bin.join("pg_ctl"));
                c
            }
            None => Command::new(self.bin.join("pg_ctl")),
        };
        let _ = command
            .args(["-D"])
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    /// A new, empty database; its connection string.
    pub fn database(&self) -> String {
        let n = self.databases.fetch_add(1, Ordering::SeqCst);
        let name = format!("jira_auth_{}_{n}", std::process::id());
        self.as_server(&[
            "createdb",
            "-h",
            &self.dir.path().display().to_string(),
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
            &name,
        ]);
        self.conninfo(&name)
    }

    pub fn conninfo(&self, dbname: &str) -> String {
        format!(
            "host={} port={} user=postgres dbname={dbname}",
            self.dir.path().display(),
            self.port
        )
    }

    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop_immediately();
    }
}
