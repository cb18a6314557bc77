//! The sled backend of [`Store`]: one tree per record kind, JSON values, secrets sealed, every
//! write a transaction with the store's integrity record (`integrity.rs`) and flushed before it
//! returns. A disk that runs out of room is met by the ballast (`space.rs`) and by reopening
//! sled, which refuses every write after a failed one until it is opened again.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::sync::atomic::Ordering;
use std::sync::{RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::Transactional;
use sled::transaction::{
    ConflictableTransactionError, ConflictableTransactionResult, TransactionError,
    TransactionalTree,
};

use crate::domain::{
    Event, Integration, Link, LinkOutcome, Principal, Profile, Timestamp, TokenSet, TokenSummary,
};

use super::generation::{self, GenerationFile};
use super::integrity::{Integrity, TreeSeal};
use super::records::{Exchanged, ExchangedRecord, ProfileRecord, TokenRecord, token_key};
use super::seal::{self, Sealer};
use super::space::{self, Space, Stake};
use super::{Claim, Holder, SCHEMA_VERSION, Store, StoreError, StorePaths};

const META: &str = "meta";
const PROFILES: &str = "profiles";
const INTEGRATIONS: &str = "integrations";
const TOKENS: &str = "tokens";
const EVENTS: &str = "events";
const REFRESHING: &str = "refreshing";
const LINKS: &str = "links";
/// Code exchanges written before their verification: see [`Exchanged`].
const EXCHANGED: &str = "exchanged";
/// Every tree that holds records; `meta` holds what proves them whole.
const DATA_TREES: [&str; 7] = [
    PROFILES,
    INTEGRATIONS,
    TOKENS,
    EVENTS,
    REFRESHING,
    LINKS,
    EXCHANGED,
];
const SCHEMA_KEY: &[u8] = b"schema_version";
const INTEGRITY_KEY: &[u8] = b"integrity";
const STORE_ID_KEY: &[u8] = b"store_id";
/// A sealed known value: proves on open that the key file is the one that sealed the store.
const KEY_CHECK: &[u8] = b"key_check";
const KEY_CHECK_CONTEXT: &str = "meta/key_check";
const KEY_CHECK_TEXT: &str = "jira-auth";

/// How to open the store.
#[derive(Clone, Debug)]
pub struct OpenOptions {
    pub paths: StorePaths,
    /// What this process is, for the busy message another process shows ("console", "status").
    pub role: String,
    /// How long to wait for another process to release the store before giving up.
    pub busy_wait: Duration,
    /// Open a store older than its generation says (`jira-auth agent --accept-rollback`).
    pub accept_rollback: bool,
}

impl OpenOptions {
    pub fn new(paths: StorePaths, role: &str) -> Self {
        OpenOptions {
            paths,
            role: role.to_owned(),
            busy_wait: Duration::from_secs(3),
            accept_rollback: false,
        }
    }
}

/// The open database and its trees; replaced whole when sled must be opened again.
struct Inner {
    db: sled::Db,
    meta: sled::Tree,
    profiles: sled::Tree,
    integrations: sled::Tree,
    tokens: sled::Tree,
    events: sled::Tree,
    refreshing: sled::Tree,
    links: sled::Tree,
    exchanged: sled::Tree,
}

impl Inner {
    fn of(db: sled::Db) -> Result<Inner, StoreError> {
        Ok(Inner {
            meta: db.open_tree(META)?,
            profiles: db.open_tree(PROFILES)?,
            integrations: db.open_tree(INTEGRATIONS)?,
            tokens: db.open_tree(TOKENS)?,
            events: db.open_tree(EVENTS)?,
            refreshing: db.open_tree(REFRESHING)?,
            links: db.open_tree(LINKS)?,
            exchanged: db.open_tree(EXCHANGED)?,
            db,
        })
    }

    fn tree(&self, name: &str) -> &sled::Tree {
        match name {
            PROFILES => &self.profiles,
            INTEGRATIONS => &self.integrations,
            TOKENS => &self.tokens,
            EVENTS => &self.events,
            REFRESHING => &self.refreshing,
            LINKS => &self.links,
            EXCHANGED => &self.exchanged,
            _ => &self.meta,
        }
    }
}

pub struct SledStore {
    /// What opening changed that a human should hear once (permissions tightened).
    notes: Vec<String>,
    paths: StorePaths,
    /// `None` only between a failed reopen and the next try.
    inner: RwLock<Option<Inner>>,
    sealer: Sealer,
    space: Space,
    generation: GenerationFile,
    /// A write failed for want of room: sled refuses every write until it is opened again,
    /// which waits until there is room (opening on a full disk can fail half-way). Reads go
    /// on meanwhile from the open handle.
    wedged: std::sync::atomic::AtomicBool,
    /// Debug builds only: while this file exists, every write fails as a full disk would
    /// (`JIRA_AUTH_TEST_FULL_DISK_FLAG`), so tests can land the failure between the checks.
    full_disk_flag: Option<std::path::PathBuf>,
    // Dropped last: removes the holder file once the store is closed.
    _holder: Holder,
}

/// One write's view of its tree: every change also moves the tree's seal.
pub(super) struct Edit<'a> {
    tree: &'a TransactionalTree,
    name: &'static str,
    seal: TreeSeal,
    changed: bool,
}

type Tx<T> = ConflictableTransactionResult<T, StoreError>;

impl Edit<'_> {
    fn get(&self, key: &[u8]) -> Tx<Option<sled::IVec>> {
        Ok(self.tree.get(key)?)
    }

    fn insert(&mut self, key: &[u8], value: Vec<u8>) -> Tx<()> {
        if let Some(old) = self.tree.insert(key, value.as_slice())? {
            self.seal.remove(self.name, key, &old);
        }
        self.seal.add(self.name, key, &value);
        self.changed = true;
        Ok(())
    }

    fn remove(&mut self, key: &[u8]) -> Tx<bool> {
        match self.tree.remove(key)? {
            Some(old) => {
                self.seal.remove(self.name, key, &old);
                self.changed = true;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

fn abort<T>(error: StoreError) -> Tx<T> {
    Err(ConflictableTransactionError::Abort(error))
}

impl SledStore {
    pub fn open(options: &OpenOptions) -> Result<Self, StoreError> {
        let paths = &options.paths;
        if super::paths::inside(&paths.key_file, &paths.data_dir) {
            return Err(StoreError::KeyInsideDataDir {
                key_file: paths.key_file.clone(),
                data_dir: paths.data_dir.clone(),
            });
        }
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&paths.data_dir)
            .map_err(|e| StoreError::Open {
                path: paths.data_dir.clone(),
                reason: e.to_string(),
            })?;
        let mut notes = super::paths::tighten(&paths.data_dir);
        // sled reads a log it cannot parse as an empty one; a database file that was there
        // before but holds no schema record is damaged, not new.
        let existed = paths.database().join("conf").exists();
        // sled may rewrite a log it cannot read while it opens it; keep the bytes so that a
        // store refused on open is left exactly as it was found.
        let before = existed.then(|| super::preserve::Preserved::read(&paths.database()));
        let restore_on = |error: StoreError| {
            if error.leaves_files_alone()
                && let Some(Some(before)) = &before
            {
                before.restore();
            }
            error
        };
        let db = open_waiting(paths, options.busy_wait).map_err(restore_on)?;
        let holder = Holder::claim(&paths.data_dir, &options.role);
        let opened = Inner::of(db).and_then(|inner| {
            let sealer = check(&inner, paths, existed)?;
            let (generation, note) = check_generation(&inner, paths, options.accept_rollback)?;
            Ok((inner, sealer, generation, note))
        });
        let (inner, sealer, generation, note) = match opened {
            Ok(opened) => opened,
            // The database is closed (dropped with `opened`) before its files are put back.
            Err(error) => return Err(restore_on(error)),
        };
        notes.extend(note);
        Ok(SledStore {
            notes,
            paths: paths.clone(),
            inner: RwLock::new(Some(inner)),
            sealer,
            space: Space::new(&paths.data_dir),
            generation,
            full_disk_flag: full_disk_flag(),
            wedged: std::sync::atomic::AtomicBool::new(false),
            _holder: holder,
        })
    }

    /// Sentences about what opening had to fix (say them once, then they are gone).
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    /// The open database, opened again first when a failed write left it closed.
    fn inner(&self) -> Result<RwLockReadGuard<'_, Option<Inner>>, StoreError> {
        {
            let guard = self.read();
            if guard.is_some() {
                return Ok(guard);
            }
        }
        self.reopen()?;
        Ok(self.read())
    }

    fn read(&self) -> RwLockReadGuard<'_, Option<Inner>> {
        // A writer that panicked left either the old or the new database in place: both sound.
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// sled refuses every write after one failed for want of room, until it is opened again;
    /// what it had flushed is all there, and the failed write is the caller's to retry.
    fn reopen(&self) -> Result<(), StoreError> {
        let mut guard = self
            .inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Close first: sled's file lock lets one handle hold the database at a time.
        *guard = None;
        let db = open_waiting(&self.paths, Duration::from_secs(3))?;
        *guard = Some(Inner::of(db)?);
        Ok(())
    }

    fn with<R>(&self, read: impl FnOnce(&Inner) -> Result<R, StoreError>) -> Result<R, StoreError> {
        let guard = self.inner()?;
        match guard.as_ref() {
            Some(inner) => read(inner),
            None => Err(StoreError::Backend("the database is closed".into())),
        }
    }

    /// One write: the edit and the tree's new seal in one transaction, flushed, and the new
    /// generation recorded beside the key. A write that finds the disk full frees the ballast
    /// (for a grant), opens sled again and tries once more.
    fn write<R>(
        &self,
        stake: Stake,
        tree: &'static str,
        edit: impl Fn(&mut Edit<'_>) -> Tx<R>,
    ) -> Result<R, StoreError> {
        self.space.before_write(stake)?;
        self.unwedge()?;
        match self.write_once(tree, &edit) {
            Err(WriteFailure::OutOfRoom) => {
                self.space.ran_out();
                self.wedged.store(true, Ordering::SeqCst);
                // The ballast is gone now: with the room it gave, a grant tries once more.
                if stake == Stake::Other || !self.space.has_room() {
                    return Err(self.space.full_error());
                }
                self.unwedge()?;
                match self.write_once(tree, &edit) {
                    Ok(result) => Ok(result),
                    Err(WriteFailure::OutOfRoom) => {
                        self.wedged.store(true, Ordering::SeqCst);
                        Err(self.space.full_error())
                    }
                    Err(WriteFailure::Store(error)) => Err(error),
                }
            }
            Err(WriteFailure::Store(error)) => Err(error),
            Ok(result) => Ok(result),
        }
    }

    /// Opens sled again after a write failed for room, once there is room to open it in.
    fn unwedge(&self) -> Result<(), StoreError> {
        if !self.wedged.load(Ordering::SeqCst) {
            return Ok(());
        }
        if !self.space.has_room() {
            return Err(self.space.full_error());
        }
        self.reopen()?;
        self.wedged.store(false, Ordering::SeqCst);
        Ok(())
    }

    fn write_once<R>(
        &self,
        tree: &'static str,
        edit: &impl Fn(&mut Edit<'_>) -> Tx<R>,
    ) -> Result<R, WriteFailure> {
        if self
            .full_disk_flag
            .as_ref()
            .is_some_and(|flag| flag.exists())
        {
            return Err(WriteFailure::OutOfRoom);
        }
        let guard = self.inner().map_err(WriteFailure::Store)?;
        let inner = guard.as_ref().ok_or_else(|| {
            WriteFailure::Store(StoreError::Backend("the database is closed".into()))
        })?;
        let outcome = (inner.tree(tree), &inner.meta).transaction(|(data, meta)| {
            let mut integrity = read_integrity(meta)?;
            let mut change = Edit {
                tree: data,
                name: tree,
                seal: integrity.trees.get(tree).copied().unwrap_or_default(),
                changed: false,
            };
            let result = edit(&mut change)?;
            if !change.changed {
                return Ok((result, None));
            }
            integrity.trees.insert(tree.to_owned(), change.seal);
            integrity.generation += 1;
            meta.insert(INTEGRITY_KEY, encode(&integrity).or_else(abort)?)?;
            Ok((result, Some(integrity.generation)))
        });
        let (result, generation) = match outcome {
            Ok(done) => done,
            Err(TransactionError::Abort(error)) => return Err(WriteFailure::Store(error)),
            Err(TransactionError::Storage(error)) => return Err(WriteFailure::of(error)),
        };
        if let Some(generation) = generation {
            inner.db.flush().map_err(WriteFailure::of)?;
            self.generation.record(generation);
        }
        Ok(result)
    }
}

fn full_disk_flag() -> Option<std::path::PathBuf> {
    #[cfg(debug_assertions)]
    if let Some(flag) = std::env::var_os("JIRA_AUTH_TEST_FULL_DISK_FLAG") {
        return Some(flag.into());
    }
    None
}

/// Why a write did not happen.
enum WriteFailure {
    OutOfRoom,
    Store(StoreError),
}

impl WriteFailure {
    fn of(error: sled::Error) -> WriteFailure {
        if space::is_out_of_room(&error) {
            WriteFailure::OutOfRoom
        } else {
            WriteFailure::Store(error.into())
        }
    }
}

fn read_integrity(meta: &TransactionalTree) -> Tx<Integrity> {
    match meta.get(INTEGRITY_KEY)? {
        Some(bytes) => decode(&bytes, "the integrity record").or_else(abort),
        None => abort(StoreError::Corrupt {
            record: "the integrity record".into(),
        }),
    }
}

/// sled takes an exclusive file lock; a second opener gets an I/O error naming it. Poll
/// until the holder lets go or the wait runs out.
fn open_waiting(paths: &StorePaths, wait: Duration) -> Result<sled::Db, StoreError> {
    let deadline = Instant::now() + wait;
    loop {
        match sled::Config::new().path(paths.database()).open() {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                if Instant::now() >= deadline {
                    return Err(StoreError::Busy {
                        data_dir: paths.data_dir.clone(),
                        holder: Holder::describe(&paths.data_dir),
                    });
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e @ (sled::Error::Corruption { .. } | sled::Error::ReportableBug(_))) => {
                return Err(StoreError::Damaged {
                    data_dir: paths.data_dir.clone(),
                    reason: e.to_string(),
                });
            }
            Err(e) if space::is_out_of_room(&e) => {
                return Err(StoreError::DiskFull {
                    data_dir: paths.data_dir.clone(),
                });
            }
            Err(e) => {
                return Err(StoreError::Open {
                    path: paths.database(),
                    reason: e.to_string(),
                });
            }
        }
    }
}

/// Everything opening proves before a record is served: the schema, the key, and that every
/// tree is whole. Returns the key's sealer.
fn check(inner: &Inner, paths: &StorePaths, existed: bool) -> Result<Sealer, StoreError> {
    let damaged = |reason: String| StoreError::Damaged {
        data_dir: paths.data_dir.clone(),
        reason,
    };
    let meta = &inner.meta;
    let found = match meta.get(SCHEMA_KEY)? {
        None if existed => {
            return Err(damaged(
                "an existing database holds no schema record".into(),
            ));
        }
        None => None,
        Some(bytes) => {
            let array: [u8; 4] = bytes
                .as_ref()
                .try_into()
                .map_err(|_| damaged("its schema record is malformed".into()))?;
            Some(u32::from_be_bytes(array))
        }
    };
    if let Some(found) = found
        && found > SCHEMA_VERSION
    {
        return Err(StoreError::SchemaTooNew {
            data_dir: paths.data_dir.clone(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    match (found, meta.get(INTEGRITY_KEY)?) {
        (Some(SCHEMA_VERSION), Some(bytes)) => {
            let integrity: Integrity = decode(&bytes, "the integrity record")
                .map_err(|_| damaged("its integrity record is malformed".into()))?;
            for name in DATA_TREES {
                let found = measure(inner.tree(name), name)?;
                if let Some(reason) = integrity.mismatch(name, found) {
                    return Err(damaged(reason));
                }
            }
        }
        (Some(SCHEMA_VERSION), None) => {
            return Err(damaged("its integrity record is missing".into()));
        }
        // A new store, or one written before integrity records (schema 1): measured as it is.
        _ => migrate(inner)?,
    }
    if meta.get(STORE_ID_KEY)?.is_none() {
        let mut id = [0u8; 8];
        getrandom::fill(&mut id).map_err(|e| StoreError::Random(e.to_string()))?;
        let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
        meta.insert(STORE_ID_KEY, id.as_bytes())?;
    }
    inner.db.flush()?;
    // Last: a new store that gets no key (a malformed key file) is still a sound empty one.
    unlock(meta, paths)
}

fn measure(tree: &sled::Tree, name: &str) -> Result<TreeSeal, StoreError> {
    let mut seal = TreeSeal::default();
    for entry in tree.iter() {
        let (key, value) = entry?;
        seal.add(name, &key, &value);
    }
    Ok(seal)
}

/// Brings a new store, or one of schema 1, to this schema: its trees measured into a first
/// integrity record.
fn migrate(inner: &Inner) -> Result<(), StoreError> {
    let mut integrity = Integrity {
        generation: 1,
        ..Integrity::default()
    };
    for name in DATA_TREES {
        integrity
            .trees
            .insert(name.to_owned(), measure(inner.tree(name), name)?);
    }
    inner.meta.insert(INTEGRITY_KEY, encode(&integrity)?)?;
    inner
        .meta
        .insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
    Ok(())
}

/// Compares the database's generation with the one kept beside the key: behind it, the
/// store was rolled back and is refused unless the admin accepts that.
fn check_generation(
    inner: &Inner,
    paths: &StorePaths,
    accept_rollback: bool,
) -> Result<(GenerationFile, Option<String>), StoreError> {
    let id = inner
        .meta
        .get(STORE_ID_KEY)?
        .map(|id| String::from_utf8_lossy(&id).into_owned())
        .unwrap_or_default();
    let integrity: Integrity = inner
        .meta
        .get(INTEGRITY_KEY)?
        .map(|bytes| decode(&bytes, "the integrity record"))
        .transpose()?
        .unwrap_or_default();
    let (file, kept) = GenerationFile::open(generation::path_for(&paths.key_file, &id));
    let mut note = None;
    if let Some(expected) = kept
        && integrity.generation < expected
    {
        if !accept_rollback {
            return Err(StoreError::RolledBack {
                data_dir: paths.data_dir.clone(),
                found: integrity.generation,
                expected,
                generation_file: file.path().to_owned(),
            });
        }
        note = Some(format!(
            "accepted a rolled-back store at {} (generation {}, {expected} was last written); grants rotated since the copy was made need re-authorization",
            paths.data_dir.display(),
            integrity.generation
        ));
    }
    if kept != Some(integrity.generation) {
        file.record(integrity.generation);
    }
    Ok((file, note))
}

/// Loads (or, for a new store, creates) the key and proves it opens this store. A store
/// that already holds a key check never gets a new key: that would orphan its secrets.
fn unlock(meta: &sled::Tree, paths: &StorePaths) -> Result<Sealer, StoreError> {
    let check = meta.get(KEY_CHECK)?;
    let key = match (seal::read_key(&paths.key_file)?, &check) {
        (Some(key), _) => key,
        (None, None) => seal::create_key(&paths.key_file)?,
        (None, Some(_)) => {
            return Err(StoreError::KeyMissing {
                data_dir: paths.data_dir.clone(),
                key_file: paths.key_file.clone(),
            });
        }
    };
    let sealer = Sealer::from_key(&key);
    match check {
        Some(sealed) => {
            if sealer.open(KEY_CHECK_CONTEXT, &sealed).as_deref() != Some(KEY_CHECK_TEXT) {
                return Err(StoreError::WrongKey {
                    data_dir: paths.data_dir.clone(),
                    key_file: paths.key_file.clone(),
                });
            }
        }
        None => {
            meta.insert(KEY_CHECK, sealer.seal(KEY_CHECK_CONTEXT, KEY_CHECK_TEXT)?)?;
            meta.flush()?;
        }
    }
    Ok(sealer)
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Backend(e.to_string()))
}

fn decode<T: DeserializeOwned>(bytes: &[u8], record: &str) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|_| StoreError::Corrupt {
        record: record.to_owned(),
    })
}

fn all<T: DeserializeOwned>(tree: &sled::Tree, kind: &str) -> Result<Vec<T>, StoreError> {
    tree.iter()
        .values()
        .map(|value| decode(&value?, kind))
        .collect()
}

impl Store for SledStore {
    fn profiles(&self) -> Result<Vec<Profile>, StoreError> {
        self.with(|inner| {
            all::<ProfileRecord>(&inner.profiles, "profile")?
                .into_iter()
                .map(|record| record.open(&self.sealer))
                .collect()
        })
    }

    fn profile(&self, name: &str) -> Result<Option<Profile>, StoreError> {
        self.with(|inner| {
            inner
                .profiles
                .get(name)?
                .map(|bytes| decode::<ProfileRecord>(&bytes, name)?.open(&self.sealer))
                .transpose()
        })
    }

    fn put_profile(&self, profile: &Profile) -> Result<(), StoreError> {
        let value = encode(&ProfileRecord::seal(profile, &self.sealer)?)?;
        self.write(Stake::Other, PROFILES, |edit| {
            edit.insert(profile.name.as_bytes(), value.clone())
        })
    }

    fn remove_profile(&self, name: &str) -> Result<bool, StoreError> {
        self.write(Stake::Other, PROFILES, |edit| edit.remove(name.as_bytes()))
    }

    fn integrations(&self) -> Result<Vec<Integration>, StoreError> {
        self.with(|inner| all(&inner.integrations, "integration"))
    }

    fn integration(&self, name: &str) -> Result<Option<Integration>, StoreError> {
        self.with(|inner| {
            inner
                .integrations
                .get(name)?
                .map(|bytes| decode(&bytes, name))
                .transpose()
        })
    }

    fn put_integration(&self, integration: &Integration) -> Result<(), StoreError> {
        let value = encode(integration)?;
        self.write(Stake::Other, INTEGRATIONS, |edit| {
            edit.insert(integration.name.as_bytes(), value.clone())
        })
    }

    fn remove_integration(&self, name: &str) -> Result<bool, StoreError> {
        self.write(Stake::Other, INTEGRATIONS, |edit| {
            edit.remove(name.as_bytes())
        })
    }

    fn token_sets(&self) -> Result<Vec<TokenSet>, StoreError> {
        self.with(|inner| {
            all::<TokenRecord>(&inner.tokens, "token set")?
                .into_iter()
                .map(|record| record.open(&self.sealer))
                .collect()
        })
    }

    fn token_summaries(&self) -> Result<Vec<TokenSummary>, StoreError> {
        self.with(|inner| {
            all::<TokenRecord>(&inner.tokens, "token set")?
                .into_iter()
                .map(TokenRecord::summary)
                .collect()
        })
    }

    fn find_token_summary(
        &self,
        integration: &str,
        wanted: &mut dyn FnMut(&TokenSummary) -> bool,
    ) -> Result<Option<TokenSummary>, StoreError> {
        self.with(|inner| {
            for entry in inner
                .tokens
                .scan_prefix(format!("{integration}\0").as_bytes())
            {
                let (_, bytes) = entry?;
                let summary = decode::<TokenRecord>(&bytes, "token set")?.summary()?;
                if wanted(&summary) {
                    return Ok(Some(summary));
                }
            }
            Ok(None)
        })
    }

    fn token_set(
        &self,
        integration: &str,
        principal: &Principal,
    ) -> Result<Option<TokenSet>, StoreError> {
        let key = token_key(integration, principal);
        self.with(|inner| {
            inner
                .tokens
                .get(key.as_bytes())?
                .map(|bytes| decode::<TokenRecord>(&bytes, &key)?.open(&self.sealer))
                .transpose()
        })
    }

    fn put_token_set(&self, tokens: &TokenSet) -> Result<(), StoreError> {
        let value = encode(&TokenRecord::seal(tokens, &self.sealer)?)?;
        let key = token_key(&tokens.integration, &tokens.principal);
        // A rotated refresh token must be durable before anyone uses the new access token:
        // it is the one write the ballast is kept for.
        self.write(Stake::Grant, TOKENS, |edit| {
            edit.insert(key.as_bytes(), value.clone())
        })
    }

    fn remove_token_set(
        &self,
        integration: &str,
        principal: &Principal,
    ) -> Result<bool, StoreError> {
        let key = token_key(integration, principal);
        self.write(Stake::Other, TOKENS, |edit| edit.remove(key.as_bytes()))
    }

    fn append_event(&self, event: &Event) -> Result<(), StoreError> {
        // sled's monotonic id keeps the trail in append order even within one second.
        let id = self.with(|inner| Ok(inner.db.generate_id()?))?;
        let value = encode(event)?;
        // Events tell what happened to grants: they may use the room kept for grants.
        self.write(Stake::Grant, EVENTS, |edit| {
            edit.insert(&id.to_be_bytes(), value.clone())
        })
    }

    fn events(&self, limit: usize) -> Result<Vec<Event>, StoreError> {
        self.with(|inner| {
            inner
                .events
                .iter()
                .rev()
                .take(limit)
                .map(|entry| decode(&entry?.1, "event"))
                .collect()
        })
    }

    fn refresh_started(
        &self,
        integration: &str,
        principal: &Principal,
        at: crate::domain::Timestamp,
    ) -> Result<(), StoreError> {
        let key = token_key(integration, principal);
        // A refresh starts only when its outcome can be written: with room on the disk, or
        // a ballast to free for it. The mark itself is part of keeping that outcome.
        self.space.room_for_outcome()?;
        self.write(Stake::Grant, REFRESHING, |edit| {
            edit.insert(key.as_bytes(), at.0.to_be_bytes().to_vec())
        })
    }

    fn refresh_done(&self, integration: &str, principal: &Principal) -> Result<(), StoreError> {
        let key = token_key(integration, principal);
        self.write(Stake::Grant, REFRESHING, |edit| {
            edit.remove(key.as_bytes()).map(drop)
        })
    }

    fn refreshes_interrupted(
        &self,
    ) -> Result<Vec<(String, Principal, crate::domain::Timestamp)>, StoreError> {
        self.with(|inner| {
            inner
                .refreshing
                .iter()
                .map(|entry| {
                    let (key, value) = entry?;
                    let corrupt = || StoreError::Corrupt {
                        record: "an unfinished refresh".into(),
                    };
                    let key = std::str::from_utf8(&key).map_err(|_| corrupt())?;
                    let (integration, principal) = key.split_once('\0').ok_or_else(corrupt)?;
                    let principal = Principal::from_key(principal).ok_or_else(corrupt)?;
                    let at: [u8; 8] = value.as_ref().try_into().map_err(|_| corrupt())?;
                    Ok((
                        integration.to_owned(),
                        principal,
                        crate::domain::Timestamp(i64::from_be_bytes(at)),
                    ))
                })
                .collect()
        })
    }

    fn put_link(&self, digest: &str, link: &Link) -> Result<(), StoreError> {
        let value = encode(link)?;
        self.write(Stake::Other, LINKS, |edit| {
            edit.insert(digest.as_bytes(), value.clone())
        })
    }

    fn link(&self, digest: &str) -> Result<Option<Link>, StoreError> {
        self.with(|inner| {
            inner
                .links
                .get(digest.as_bytes())?
                .map(|bytes| decode(&bytes, "link"))
                .transpose()
        })
    }

    fn links(&self) -> Result<Vec<(String, Link)>, StoreError> {
        self.with(|inner| {
            inner
                .links
                .iter()
                .map(|entry| {
                    let (key, value) = entry?;
                    Ok((
                        String::from_utf8_lossy(&key).into_owned(),
                        decode(&value, "link")?,
                    ))
                })
                .collect()
        })
    }

    fn claim_link(&self, digest: &str, now: Timestamp) -> Result<Claim, StoreError> {
        // One transaction reads and spends the link: of two callbacks, one wins.
        self.write(Stake::Other, LINKS, |edit| {
            let Some(old) = edit.get(digest.as_bytes())? else {
                return Ok(Claim::Unknown);
            };
            let link: Link = decode(&old, "link").or_else(abort)?;
            if link.outcome != LinkOutcome::Pending || link.is_expired(now) {
                return Ok(Claim::Spent(link));
            }
            let claimed = Link {
                outcome: LinkOutcome::Claimed { at: now },
                ..link.clone()
            };
            edit.insert(digest.as_bytes(), encode(&claimed).or_else(abort)?)?;
            Ok(Claim::Won(link))
        })
    }

    fn remove_links_expired(&self, before: Timestamp) -> Result<usize, StoreError> {
        let expired: Vec<sled::IVec> = self.with(|inner| {
            let mut expired = Vec::new();
            for entry in inner.links.iter() {
                let (key, value) = entry?;
                if decode::<Link>(&value, "link")?.expires_at < before {
                    expired.push(key);
                }
            }
            Ok(expired)
        })?;
        if expired.is_empty() {
            return Ok(0);
        }
        self.write(Stake::Other, LINKS, |edit| {
            let mut removed = 0;
            for key in &expired {
                if edit.remove(key)? {
                    removed += 1;
                }
            }
            Ok(removed)
        })
    }

    fn room_for_outcome(&self) -> Result<(), StoreError> {
        self.space.room_for_outcome()
    }

    fn disk_full(&self) -> Option<String> {
        self.space.full()
    }

    fn recover_space(&self) -> bool {
        // Reads come from the durable files again as soon as there is room.
        let _ = self.unwedge();
        self.space.refill()
    }

    fn put_exchanged(&self, exchanged: &Exchanged) -> Result<Option<Exchanged>, StoreError> {
        let value = encode(&ExchangedRecord::seal(exchanged, &self.sealer)?)?;
        let key = token_key(&exchanged.integration, &exchanged.principal);
        // Atlassian has spent the code: the tokens must be on disk before the next call, and
        // this is a write the ballast is kept for.
        let old = self.write(Stake::Grant, EXCHANGED, |edit| {
            let old = edit.get(key.as_bytes())?;
            edit.insert(key.as_bytes(), value.clone())?;
            Ok(old)
        })?;
        old.map(|bytes| decode::<ExchangedRecord>(&bytes, "exchange")?.open(&self.sealer))
            .transpose()
    }

    fn update_exchanged(&self, exchanged: &Exchanged) -> Result<bool, StoreError> {
        let key = token_key(&exchanged.integration, &exchanged.principal);
        let new = encode(&ExchangedRecord::seal(exchanged, &self.sealer)?)?;
        // One transaction reads and rewrites: only the exchange still stored is rewritten.
        self.write(Stake::Grant, EXCHANGED, |edit| {
            if !holds_exchange(edit, key.as_bytes(), &exchanged.id)? {
                return Ok(false);
            }
            edit.insert(key.as_bytes(), new.clone())?;
            Ok(true)
        })
    }

    fn remove_exchanged(
        &self,
        integration: &str,
        principal: &Principal,
        id: &str,
    ) -> Result<bool, StoreError> {
        let key = token_key(integration, principal);
        self.write(Stake::Grant, EXCHANGED, |edit| {
            if !holds_exchange(edit, key.as_bytes(), id)? {
                return Ok(false);
            }
            edit.remove(key.as_bytes())
        })
    }

    fn exchanged(
        &self,
        integration: &str,
        principal: &Principal,
    ) -> Result<Option<Exchanged>, StoreError> {
        let key = token_key(integration, principal);
        self.with(|inner| {
            inner
                .exchanged
                .get(key.as_bytes())?
                .map(|bytes| decode::<ExchangedRecord>(&bytes, "exchange")?.open(&self.sealer))
                .transpose()
        })
    }

    fn exchanged_all(&self) -> Result<Vec<Exchanged>, StoreError> {
        let mut all = self.with(|inner| {
            all::<ExchangedRecord>(&inner.exchanged, "exchange")?
                .into_iter()
                .map(|record| record.open(&self.sealer))
                .collect::<Result<Vec<_>, _>>()
        })?;
        all.sort_by_key(|e| e.exchanged_at);
        Ok(all)
    }

    fn trim_events(
        &self,
        before: Timestamp,
        keep: usize,
        at_most: usize,
    ) -> Result<usize, StoreError> {
        trim_events(self, before, keep, at_most)
    }

    fn oldest_event(&self) -> Result<Option<Timestamp>, StoreError> {
        self.with(|inner| oldest_event(&inner.events))
    }
}

/// Whether the exchange stored under `key` is the one with `id` (not a newer one).
fn holds_exchange(edit: &Edit<'_>, key: &[u8], id: &str) -> Tx<bool> {
    let Some(old) = edit.get(key)? else {
        return Ok(false);
    };
    Ok(decode::<ExchangedRecord>(&old, "exchange")
        .or_else(abort)?
        .id
        == id)
}

#[cfg(test)]
mod exchanged_tests {
    use super::*;
    use crate::domain::{Mode, Secret};
    use std::path::Path;

    fn store(dir: &Path) -> SledStore {
        let paths = StorePaths {
            data_dir: dir.join("data"),
            key_file: dir.join("key"),
        };
        SledStore::open(&OpenOptions::new(paths, "test")).unwrap()
    }

    fn exchanged(id: &str, user: &str, at: i64) -> Exchanged {
        Exchanged {
            id: id.into(),
            integration: "support".into(),
            principal: Principal::User(user.into()),
            mode: Mode::UserAuthorized,
            renewing: false,
            app_label: "the profile \"acme\"".into(),
            app_scopes: vec!["offline_access".into()],
            access_token: Secret::new(format!("access-of-{id}")),
            expires_in: Some(3600),
            refresh_token: Some(Secret::new(format!("refresh-of-{id}"))),
            granted_scopes: vec![],
            exchanged_at: Timestamp(at),
            link: Some("digest".into()),
            sites: None,
            tries: 0,
            last_error: None,
            awaiting_site: false,
        }
    }

    #[test]
    fn an_exchange_is_replaced_by_a_newer_one_and_ended_only_by_its_own_id() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let alice = Principal::User("alice".into());
        assert_eq!(
            store.put_exchanged(&exchanged("a1", "alice", 20)).unwrap(),
            None
        );
        store.put_exchanged(&exchanged("b1", "bob", 10)).unwrap();
        let replaced = store.put_exchanged(&exchanged("a2", "alice", 30)).unwrap();
        assert_eq!(replaced.map(|e| e.id), Some("a1".to_owned()));
        // The replaced exchange can neither be rewritten nor end the newer one.
        let mut stale = exchanged("a1", "alice", 20);
        stale.tries = 3;
        assert!(!store.update_exchanged(&stale).unwrap());
        assert!(!store.remove_exchanged("support", &alice, "a1").unwrap());
        let mut newer = exchanged("a2", "alice", 30);
        newer.tries = 1;
        assert!(store.update_exchanged(&newer).unwrap());
        assert_eq!(store.exchanged("support", &alice).unwrap(), Some(newer));
        let all: Vec<String> = store
            .exchanged_all()
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(all, ["b1", "a2"], "oldest first");
        assert!(store.remove_exchanged("support", &alice, "a2").unwrap());
        assert_eq!(store.exchanged("support", &alice).unwrap(), None);
    }

    #[test]
    fn an_exchanges_tokens_are_sealed_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        store.put_exchanged(&exchanged("a1", "alice", 20)).unwrap();
        store.put_exchanged(&exchanged("b1", "bob", 20)).unwrap();
        let key = |user: &str| token_key("support", &Principal::User(user.into()));
        let raw = |user: &str| -> serde_json::Value {
            let bytes = store
                .with(|inner| Ok(inner.exchanged.get(key(user))?))
                .unwrap()
                .unwrap();
            serde_json::from_slice(&bytes).unwrap()
        };
        let text = raw("alice").to_string();
        assert!(!text.contains("access-of-a1") && !text.contains("refresh-of-a1"));
        // Bob's sealed access token moved into Alice's record does not open there.
        let mut forged = raw("alice");
        forged["access_token"] = raw("bob")["access_token"].clone();
        store
            .with(|inner| {
                inner
                    .exchanged
                    .insert(key("alice"), serde_json::to_vec(&forged).unwrap())?;
                Ok(())
            })
            .unwrap();
        assert!(matches!(
            store.exchanged("support", &Principal::User("alice".into())),
            Err(StoreError::Unsealable { .. })
        ));
    }
}

/// [`Store::trim_events`] for sled. The trail's keys are sled's monotonic ids, so the front
/// of the tree is its oldest end. The count's boundary is found from the newest end (`keep`
/// keys walked, no value read); ages are judged from the oldest end, which stops at the
/// first event young enough and within the count. An event written while the clock was set
/// back can thus shield older ones until it ages itself: the trail stays bounded by count.
/// The removals go as one batch, flushed once.
fn trim_events(
    store: &SledStore,
    before: Timestamp,
    keep: usize,
    at_most: usize,
) -> Result<usize, StoreError> {
    if at_most == 0 {
        return Ok(0);
    }
    let due = store.with(|inner| {
        // The newest event beyond the count: it and every older one go.
        let beyond = inner.events.iter().keys().rev().nth(keep).transpose()?;
        let mut due = Vec::new();
        for entry in inner.events.iter() {
            if due.len() == at_most {
                break;
            }
            let (key, value) = entry?;
            let over_count = beyond.as_ref().is_some_and(|last| key <= *last);
            if !over_count {
                let event: Event = decode(&value, "event")?;
                if event.at >= before {
                    break;
                }
            }
            due.push(key);
        }
        Ok(due)
    })?;
    if due.is_empty() {
        return Ok(0);
    }
    // One transaction for the whole step, with the trail's seal: trimming is no damage.
    store.write(Stake::Other, EVENTS, |edit| {
        let mut removed = 0;
        for key in &due {
            if edit.remove(key)? {
                removed += 1;
            }
        }
        Ok(removed)
    })
}

fn oldest_event(events: &sled::Tree) -> Result<Option<Timestamp>, StoreError> {
    events
        .first()?
        .map(|(_, value)| decode::<Event>(&value, "event").map(|event| event.at))
        .transpose()
}

#[cfg(test)]
mod trim_tests {
    use super::*;
    use crate::domain::EventKind;
    use std::path::Path;

    fn store(root: &Path) -> SledStore {
        let paths = StorePaths {
            data_dir: root.join("data"),
            key_file: root.join("config").join("store.key"),
        };
        SledStore::open(&OpenOptions::new(paths, "test")).expect("open a store")
    }

    fn event(at: i64, n: usize) -> Event {
        Event {
            at: Timestamp(at),
            integration: "jira".into(),
            principal: Some("admin".into()),
            kind: EventKind::Refreshed,
            outcome: format!("refresh {n}"),
        }
    }

    fn outcomes(store: &SledStore) -> Vec<String> {
        let mut kept: Vec<String> = store
            .events(usize::MAX)
            .unwrap()
            .into_iter()
            .map(|e| e.outcome)
            .collect();
        kept.reverse();
        kept
    }

    #[test]
    fn old_events_go_oldest_first_in_bounded_steps() {
        let root = tempfile::tempdir().unwrap();
        let store = store(root.path());
        assert_eq!(store.oldest_event().unwrap(), None);
        assert_eq!(store.trim_events(Timestamp(1_000), 10, 100).unwrap(), 0);
        // Ten events a second apart, at 100..=109.
        for n in 0..10 {
            store
                .append_event(&event(100 + i64::try_from(n).unwrap(), n))
                .unwrap();
        }
        assert_eq!(store.oldest_event().unwrap(), Some(Timestamp(100)));
        // Everything before 106 is due (six events); two go per call.
        let cases: &[(usize, usize, Option<i64>)] = &[
            (2, 2, Some(102)),
            (2, 2, Some(104)),
            (2, 2, Some(106)),
            (2, 0, Some(106)),
        ];
        for (at_most, removed, oldest) in cases {
            assert_eq!(
                store.trim_events(Timestamp(106), 1_000, *at_most).unwrap(),
                *removed
            );
            assert_eq!(store.oldest_event().unwrap(), oldest.map(Timestamp));
        }
        assert_eq!(
            outcomes(&store),
            ["refresh 6", "refresh 7", "refresh 8", "refresh 9"]
        );
        // A step of nothing removes nothing, and a cut-off after every event empties the trail.
        assert_eq!(store.trim_events(Timestamp(1_000), 1_000, 0).unwrap(), 0);
        assert_eq!(store.trim_events(Timestamp(1_000), 1_000, 100).unwrap(), 4);
        assert_eq!(store.oldest_event().unwrap(), None);
    }

    #[test]
    fn a_trail_beyond_its_count_keeps_the_newest() {
        let root = tempfile::tempdir().unwrap();
        let store = store(root.path());
        // All at one second, so only the count can trim them.
        for n in 0..25 {
            store.append_event(&event(500, n)).unwrap();
        }
        let cases: &[(usize, usize, usize, usize)] = &[
            // keep, at most per call, removed, left
            (30, 100, 0, 25),
            (25, 100, 0, 25),
            (20, 3, 3, 22),
            (20, 100, 2, 20),
            (20, 100, 0, 20),
            (5, 100, 15, 5),
            (0, 100, 5, 0),
        ];
        for (keep, at_most, removed, left) in cases {
            assert_eq!(
                store.trim_events(Timestamp(0), *keep, *at_most).unwrap(),
                *removed,
                "keep {keep}"
            );
            assert_eq!(outcomes(&store).len(), *left, "keep {keep}");
        }
        for n in 0..8 {
            store
                .append_event(&event(600 + n, 100 + usize::try_from(n).unwrap()))
                .unwrap();
        }
        // Age and count together: before 603 (three events) and beyond the newest four.
        assert_eq!(store.trim_events(Timestamp(603), 4, 100).unwrap(), 4);
        assert_eq!(
            outcomes(&store),
            ["refresh 104", "refresh 105", "refresh 106", "refresh 107"]
        );
        assert_eq!(store.oldest_event().unwrap(), Some(Timestamp(604)));
    }
}
