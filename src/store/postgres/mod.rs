//! The shared store: PostgreSQL, for a fleet of hosts that each run an agent against one
//! database. Records are sealed exactly as in sled, with the same key file on every host,
//! so the database alone reveals no secret; a key check in the database refuses an agent
//! with another key before it writes anything. Every write notifies the other agents
//! (LISTEN/NOTIFY, [`listen`]); a grant's refresh is taken with a lease row
//! ([`Store::take_grant`]) so the fleet makes one refresh per grant.

mod bridge;
pub mod conninfo;
mod listen;
mod queries;
mod schema;
mod tls;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::broadcast;

use super::contract::{Store, StoreNotice};
use super::error::StoreError;
use super::seal::{self, Sealer};
use bridge::Bridge;

/// How to reach the database, and the key that seals its records.
#[derive(Clone, Debug)]
pub struct PgOptions {
    /// `JIRA_AUTH_STORE`'s text: a libpq connection string or a `postgres://` URL.
    pub conninfo: String,
    pub key_file: PathBuf,
}

pub struct PgStore {
    bridge: Bridge,
    pool: Pool,
    sealer: Arc<Sealer>,
    /// `host=... dbname=...`, for sentences.
    shown: Arc<str>,
    /// Moved on by every write of this agent and every notice from another; `version()` is
    /// `None` while the notices are lost, so nothing kept is trusted then.
    version: Arc<AtomicU64>,
    listening: Arc<AtomicBool>,
    notices: broadcast::Sender<StoreNotice>,
}

/// The key's name in the database: a digest of it, never the key.
fn key_id(key: &[u8; seal::KEY_LEN]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::new()
        .chain_update(b"jira-auth key id\0")
        .chain_update(key)
        .finalize();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

fn os_user() -> String {
    // SAFETY: getpwuid returns a pointer into static storage or null; read at once.
    unsafe {
        let entry = libc::getpwuid(libc::geteuid());
        if !entry.is_null() && !(*entry).pw_name.is_null() {
            return std::ffi::CStr::from_ptr((*entry).pw_name)
                .to_string_lossy()
                .into_owned();
        }
    }
    std::env::var("USER").unwrap_or_else(|_| "postgres".to_owned())
}

/// Whether a failure is the database being away rather than refusing: no answer at all (the
/// connection closed, I/O, TLS, a timeout), or a SQLSTATE that says the server is shutting
/// down, starting, out of room or connections, or a standby after a failover, or that the
/// request was cut short by a timeout or a deadlock; each passes by itself, so it is temporary.
fn is_away(code: Option<&str>, closed: bool) -> bool {
    let Some(code) = code else {
        return true;
    };
    closed
        || code.starts_with("08")
        || code.starts_with("53")
        || matches!(
            code,
            // admin_shutdown, crash_shutdown, cannot_connect_now
            "57P01" | "57P02" | "57P03"
            // query_canceled (statement_timeout), lock_not_available
            | "57014" | "55P03"
            // serialization_failure, deadlock_detected
            | "40001" | "40P01"
            // read_only_sql_transaction: a standby, while the failover finishes
            | "25006"
        )
}

/// A failure of the database: temporary when it could not be reached or went away, else a
/// refusal, with the database named (never its password).
fn db_error(shown: &str, error: &tokio_postgres::Error) -> StoreError {
    let code = error.code().map(|c| c.code());
    let reason = error
        .as_db_error()
        .map_or_else(|| error.to_string(), |db| db.message().to_owned());
    let reason = crate::validate::text::sanitize(&reason, crate::validate::text::SENTENCE_CAP);
    let database = shown.to_owned();
    if is_away(code, error.is_closed()) {
        StoreError::DatabaseUnreachable { database, reason }
    } else if is_denied(code) {
        StoreError::DatabaseDenied { database, reason }
    } else {
        StoreError::DatabaseRefused { database, reason }
    }
}

/// Whether the server refused this host's login or its rights: a wrong password, a role or
/// database that does not exist, no pg_hba.conf line, a table the role may not use. No retry
/// helps; the admin must change the setting (exit 2, as for any setting that does not fit).
fn is_denied(code: Option<&str>) -> bool {
    code.is_some_and(|code| code.starts_with("28") || matches!(code, "3D000" | "42501"))
}

fn pool_error(shown: &str, error: deadpool_postgres::PoolError) -> StoreError {
    match error {
        deadpool_postgres::PoolError::Backend(e) => db_error(shown, &e),
        other => StoreError::DatabaseUnreachable {
            database: shown.to_owned(),
            reason: crate::validate::text::sanitize(
                &other.to_string(),
                crate::validate::text::SENTENCE_CAP,
            ),
        },
    }
}

/// What every session of the store is given: a cut network shows within half a minute, not
/// hours (15 s idle, then three probes 5 s apart; unacknowledged data times out after 30 s),
/// and no statement runs past 15 s. The admin's own `options` (a `search_path`, say) are kept,
/// after ours, so an admin's own `statement_timeout` wins.
fn tune(config: &mut tokio_postgres::Config) {
    let options = match config.get_options() {
        Some(theirs) if !theirs.trim().is_empty() => format!("{STATEMENT_TIMEOUT} {theirs}"),
        _ => STATEMENT_TIMEOUT.to_owned(),
    };
    config
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(15))
        .keepalives_interval(Duration::from_secs(5))
        .keepalives_retries(3)
        .tcp_user_timeout(Duration::from_secs(30))
        .options(options);
}

const STATEMENT_TIMEOUT: &str = "-c statement_timeout=15000";

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Backend(e.to_string()))
}

fn decode<T: DeserializeOwned>(bytes: &[u8], record: &str) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|_| StoreError::Corrupt {
        record: record.to_owned(),
    })
}

/// What a query's future returns: the driver's error is turned into a sentence after.
enum Failure {
    Db(tokio_postgres::Error),
    Store(StoreError),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Failure {
        Failure::Db(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        Failure::Store(e)
    }
}

type Client = deadpool_postgres::Object;

impl PgStore {
    pub fn open(options: &PgOptions) -> Result<PgStore, StoreError> {
        let home = directories::BaseDirs::new().map(|d| d.home_dir().to_owned());
        let resolved = conninfo::resolve(
            &options.conninfo,
            &|name| std::env::var(name).ok(),
            home.as_deref(),
            &os_user(),
        )
        .map_err(|e| StoreError::DatabaseSetting(e.to_string()))?;
        let shown: Arc<str> = Arc::from(resolved.shown.as_str());
        let connector = tls::connector(&resolved.tls).map_err(StoreError::DatabaseSetting)?;
        let mut config = resolved.config;
        tune(&mut config);
        let manager = Manager::from_config(
            config.clone(),
            connector.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(8)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(10)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| StoreError::DatabaseSetting(e.to_string()))?;
        let bridge = Bridge::start().map_err(|e| StoreError::Backend(e.to_string()))?;
        let store_key = seal::read_key(&options.key_file)?;
        let (notices, _) = broadcast::channel(1024);
        let mut store = PgStore {
            bridge,
            pool,
            sealer: Arc::new(Sealer::from_key(&[0; seal::KEY_LEN])),
            shown,
            version: Arc::new(AtomicU64::new(0)),
            listening: Arc::new(AtomicBool::new(false)),
            notices,
        };
        // The key is judged before anything is written, migrations included: an agent with
        // another key (or a newer build's) must not change the fleet's database.
        let key = store.unlock(store_key, &options.key_file)?;
        store.migrate(key_id(&key), &options.key_file)?;
        store.sealer = Arc::new(Sealer::from_key(&key));
        store.bridge.spawn(listen::run(listen::Listener {
            config,
            connector,
            notices: store.notices.clone(),
            version: Arc::clone(&store.version),
            listening: Arc::clone(&store.listening),
        }));
        Ok(store)
    }

    /// What may be shown of the database: `host=... port=... dbname=... user=...`.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Runs `work` with a pooled connection on the store's runtime.
    fn run<T, F, Fut>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Client) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<T, Failure>> + Send,
    {
        let pool = self.pool.clone();
        let shown = Arc::clone(&self.shown);
        self.bridge
            .run(async move {
                let client = pool.get().await.map_err(|e| pool_error(&shown, e))?;
                let result = work(client).await.map_err(|failure| match failure {
                    Failure::Db(e) => db_error(&shown, &e),
                    Failure::Store(e) => e,
                });
                // A session the server ended (a shutdown, a failover, a terminated backend)
                // can look alive for a moment after its last answer, and would be handed to
                // the next request: every idle session is let go, and new ones are made.
                if matches!(result, Err(StoreError::DatabaseUnreachable { .. })) {
                    pool.retain(|_, _| false);
                }
                result
            })
            .unwrap_or_else(|| Err(StoreError::Backend("the store is closing".into())))
    }

    /// [`Self::run`] for a write: the version moves before and after it, however it ends.
    fn write<T, F, Fut>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Client) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<T, Failure>> + Send,
    {
        self.version.fetch_add(1, Ordering::SeqCst);
        let result = self.run(work);
        self.version.fetch_add(1, Ordering::SeqCst);
        result
    }

    /// Brings the schema to this build's and records the key's id, in one transaction under a
    /// transaction-scoped advisory lock: four agents starting at once migrate once, the lock
    /// goes with the transaction however it ends, and a refusal or a failed migration leaves
    /// the database as it was. The version and the key are judged again under the lock, as
    /// another agent may have moved them since [`Self::unlock`] read them.
    fn migrate(&self, id: String, key_file: &std::path::Path) -> Result<(), StoreError> {
        let shown = Arc::clone(&self.shown);
        let key_file = key_file.to_owned();
        self.write(move |mut client| async move {
            let tx = client.transaction().await?;
            tx.execute(
                "SELECT pg_advisory_xact_lock($1)",
                &[&schema::MIGRATION_LOCK],
            )
            .await?;
            tx.batch_execute(schema::META).await?;
            let found = schema_version(&tx).await?;
            too_new(&shown, found)?;
            let stored = stored_key_id(&tx).await?;
            if let Some(expected) = stored.as_ref().filter(|expected| **expected != id) {
                return Err(wrong_key(&shown, expected, &id, &key_file).into());
            }
            for (from, migration) in schema::MIGRATIONS.iter().enumerate().skip(found as usize) {
                tx.batch_execute(migration).await?;
                tx.execute(
                    "INSERT INTO jira_auth_meta (key, value) VALUES ('schema_version', $1) \
                     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                    &[&(from + 1).to_string()],
                )
                .await?;
            }
            if stored.is_none() {
                tx.execute(
                    "INSERT INTO jira_auth_meta (key, value) VALUES ('key_id', $1)",
                    &[&id],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// The key this database was sealed with, checked against the key file, by reading
    /// alone: a newer schema or another key is refused here, before anything is written. A
    /// database with no key yet takes this one (created if the file is missing).
    fn unlock(
        &self,
        key: Option<[u8; seal::KEY_LEN]>,
        key_file: &std::path::Path,
    ) -> Result<[u8; seal::KEY_LEN], StoreError> {
        let shown = Arc::clone(&self.shown);
        let stored: Option<String> = self.run(move |client| async move {
            let exists: bool = client
                .query_one("SELECT to_regclass('jira_auth_meta') IS NOT NULL", &[])
                .await?
                .get(0);
            if !exists {
                return Ok(None);
            }
            too_new(&shown, schema_version(&client).await?)?;
            stored_key_id(&client).await
        })?;
        let key = match (key, &stored) {
            (Some(key), _) => key,
            (None, None) => seal::create_key(key_file)?,
            (None, Some(expected)) => {
                return Err(StoreError::DatabaseKey {
                    database: self.shown.to_string(),
                    expected: expected.clone(),
                    found: "no key (the file is missing)".to_owned(),
                    key_file: key_file.to_owned(),
                });
            }
        };
        match stored {
            Some(expected) if expected != key_id(&key) => {
                Err(wrong_key(&self.shown, &expected, &key_id(&key), key_file))
            }
            _ => Ok(key),
        }
    }

    fn not_moved(&self) -> Result<(), StoreError> {
        match self.moved_to()? {
            Some(to) => Err(StoreError::Moved { to }),
            None => Ok(()),
        }
    }
}

async fn schema_version(client: &impl deadpool_postgres::GenericClient) -> Result<i32, Failure> {
    Ok(client
        .query_opt(
            "SELECT value FROM jira_auth_meta WHERE key = 'schema_version'",
            &[],
        )
        .await?
        .map_or(0, |row| row.get::<_, String>(0).parse().unwrap_or(i32::MAX)))
}

async fn stored_key_id(
    client: &impl deadpool_postgres::GenericClient,
) -> Result<Option<String>, Failure> {
    Ok(client
        .query_opt("SELECT value FROM jira_auth_meta WHERE key = 'key_id'", &[])
        .await?
        .map(|row| row.get(0)))
}

fn too_new(shown: &str, found: i32) -> Result<(), StoreError> {
    if found > schema::VERSION {
        return Err(StoreError::DatabaseSchemaTooNew {
            database: shown.to_owned(),
            found,
            supported: schema::VERSION,
        });
    }
    Ok(())
}

fn wrong_key(shown: &str, expected: &str, id: &str, key_file: &std::path::Path) -> StoreError {
    StoreError::DatabaseKey {
        database: shown.to_owned(),
        expected: expected.to_owned(),
        found: format!("the key {id}"),
        key_file: key_file.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{is_away, is_denied, tune};

    #[test]
    fn the_admins_options_follow_the_stores_own() {
        let cases: &[(Option<&str>, &str)] = &[
            (None, "-c statement_timeout=15000"),
            (Some("  "), "-c statement_timeout=15000"),
            (
                Some("-c search_path=fleet"),
                "-c statement_timeout=15000 -c search_path=fleet",
            ),
        ];
        for (theirs, expected) in cases {
            let mut config = tokio_postgres::Config::new();
            if let Some(theirs) = theirs {
                config.options(*theirs);
            }
            tune(&mut config);
            assert_eq!(config.get_options(), Some(*expected), "{theirs:?}");
            assert_eq!(
                config.get_keepalives_retries(),
                Some(3),
                "a dead peer is given up on"
            );
        }
    }

    #[test]
    fn the_database_away_is_told_from_a_refusal() {
        let cases: &[(Option<&str>, bool, bool)] = &[
            // code, connection closed, away
            (None, false, true),
            (None, true, true),
            (Some("08006"), false, true),
            (Some("57P01"), false, true),
            (Some("57P03"), false, true),
            (Some("53300"), false, true),
            (Some("57014"), false, true),
            (Some("40P01"), false, true),
            (Some("25006"), false, true),
            (Some("42P07"), true, true),
            // A refusal stays one: a table in the way, a broken constraint, a dropped database.
            (Some("42P07"), false, false),
            (Some("23505"), false, false),
            (Some("57P04"), false, false),
        ];
        for (code, closed, away) in cases {
            assert_eq!(is_away(*code, *closed), *away, "{code:?} closed={closed}");
        }
        // The login or the rights, which the admin must change.
        for (code, denied) in [
            (Some("28P01"), true),
            (Some("28000"), true),
            (Some("3D000"), true),
            (Some("42501"), true),
            (Some("42P07"), false),
            (None, false),
        ] {
            assert_eq!(is_denied(code), denied, "{code:?}");
        }
    }
}
