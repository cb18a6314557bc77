//! The sled backend of [`Store`]: one tree per record kind, JSON values, secrets sealed, every
//! write a transaction with the store's integrity record (`integrity.rs`) and flushed before it
//! returns (`write.rs`); opening proves the store whole first (`open.rs`). A disk that runs out
//! of room is met by the ballast (`space.rs`) and by reopening sled, which refuses every write
//! after a failed one until it is opened again.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::sync::{RwLock, RwLockReadGuard};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::domain::{
    Event, Integration, Link, LinkOutcome, Principal, Profile, Timestamp, TokenSet, TokenSummary,
};

use super::contract::{Claim, Store};
use super::error::StoreError;
use super::generation::GenerationFile;
use super::holder::Holder;
use super::paths::StorePaths;
use super::records::{Exchanged, ExchangedRecord, ProfileRecord, TokenRecord, token_key};
use super::seal::Sealer;
use super::space::{Space, Stake};

mod events;
mod open;
mod summaries;
#[cfg(test)]
mod tests;
mod write;

use events::{oldest_event, trim_events};
use open::{check, check_generation, open_waiting};
use write::{Edit, Tx, abort, full_disk_flag};

/// The schema this build reads and writes. Bump it with a migration in `open::migrate`.
/// Version 2 added the integrity record; a store of version 1 is measured into one on open.
pub const SCHEMA_VERSION: u32 = 2;

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
/// Where the records went (`store copy`): see [`Store::moved_to`].
const MOVED_KEY: &[u8] = b"moved_to";
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
    /// The token summaries as last read, while no write changed them.
    summaries: summaries::Summaries,
    // Dropped last: removes the holder file once the store is closed.
    _holder: Holder,
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
        // A store that lived here and is gone is refused before anything is created: it must
        // not come back as an empty one.
        let mut notes = Vec::new();
        if let Some(error) = super::vanished(paths) {
            match (&error, options.accept_rollback) {
                (
                    StoreError::Vanished {
                        generation_file, ..
                    },
                    true,
                ) => {
                    let _ = fs::remove_file(generation_file);
                    notes.push(format!(
                        "accepted that the store at {} is gone: starting afresh, every grant needs authorizing again",
                        paths.data_dir.display()
                    ));
                }
                _ => return Err(error),
            }
        }
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&paths.data_dir)
            .map_err(|e| StoreError::Open {
                path: paths.data_dir.clone(),
                reason: e.to_string(),
            })?;
        notes.extend(super::paths::tighten(&paths.data_dir));
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
            summaries: summaries::Summaries::default(),
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

    /// `Err(Moved)` once `store copy` moved the records elsewhere.
    fn not_moved(&self) -> Result<(), StoreError> {
        match self.moved_to()? {
            Some(to) => Err(StoreError::Moved { to }),
            None => Ok(()),
        }
    }

    fn with<R>(&self, read: impl FnOnce(&Inner) -> Result<R, StoreError>) -> Result<R, StoreError> {
        let guard = self.inner()?;
        match guard.as_ref() {
            Some(inner) => read(inner),
            None => Err(StoreError::Backend("the database is closed".into())),
        }
    }
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
        self.summaries.get(|| {
            self.with(|inner| {
                all::<TokenRecord>(&inner.tokens, "token set")?
                    .into_iter()
                    .map(TokenRecord::summary)
                    .collect()
            })
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

    fn token_summary(
        &self,
        integration: &str,
        principal: &Principal,
    ) -> Result<Option<TokenSummary>, StoreError> {
        let key = token_key(integration, principal);
        self.with(|inner| {
            inner
                .tokens
                .get(key.as_bytes())?
                .map(|bytes| decode::<TokenRecord>(&bytes, &key)?.summary())
                .transpose()
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

    fn put_token_set_if(
        &self,
        tokens: &TokenSet,
        from: Option<&crate::domain::Secret>,
    ) -> Result<bool, StoreError> {
        let value = encode(&TokenRecord::seal(tokens, &self.sealer)?)?;
        let key = token_key(&tokens.integration, &tokens.principal);
        let from = from.map(|secret| secret.expose().to_owned());
        self.write(Stake::Grant, TOKENS, |edit| {
            let Some(old) = edit.get(key.as_bytes())? else {
                return Ok(false);
            };
            let stored = decode::<TokenRecord>(&old, &key)
                .and_then(|record| record.open(&self.sealer))
                .or_else(abort)?;
            if stored.refresh_token.as_ref().map(|s| s.expose()) != from.as_deref() {
                return Ok(false);
            }
            edit.insert(key.as_bytes(), value.clone())?;
            Ok(true)
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
        // A refresh starts only when its outcome can be written: in this store (not one
        // whose records moved), with room on the disk, or a ballast to free for it. The mark
        // itself is part of keeping that outcome.
        self.not_moved()?;
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
        // Spending a link leads to a code exchange: it happens only when the exchange's answer
        // can be written, and it may use the ballast's room, as the answer will. One
        // transaction reads and spends the link: of two callbacks, one wins.
        self.not_moved()?;
        self.space.room_for_outcome()?;
        self.write(Stake::Grant, LINKS, |edit| {
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
        self.not_moved()?;
        self.space.room_for_outcome()
    }

    fn moved_to(&self) -> Result<Option<String>, StoreError> {
        self.with(|inner| {
            inner
                .meta
                .get(MOVED_KEY)?
                .map(|bytes| decode::<String>(&bytes, "the moved mark"))
                .transpose()
        })
    }

    fn set_moved(&self, to: Option<&str>) -> Result<(), StoreError> {
        // Beside the key check in `meta`, outside the data trees' seals: it says where the
        // records are, not what they are.
        let _changing = self.summaries.changing();
        self.with(|inner| {
            match to {
                Some(to) => {
                    inner.meta.insert(MOVED_KEY, encode(&to)?)?;
                }
                None => {
                    inner.meta.remove(MOVED_KEY)?;
                }
            }
            inner.db.flush()?;
            Ok(())
        })
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

    fn version(&self) -> Option<u64> {
        // Only this process writes the store (its holder file says so).
        Some(self.summaries.version())
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
