//! The sled backend of [`Store`]: one tree per record kind, JSON values, secrets sealed,
//! every write flushed before it returns.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::domain::{
    Event, Integration, Link, LinkOutcome, Principal, Profile, Timestamp, TokenSet, TokenSummary,
};

use super::records::{ProfileRecord, TokenRecord, token_key};
use super::seal::{self, Sealer};
use super::{Claim, Holder, SCHEMA_VERSION, Store, StoreError, StorePaths};

const META: &str = "meta";
const PROFILES: &str = "profiles";
const INTEGRATIONS: &str = "integrations";
const TOKENS: &str = "tokens";
const EVENTS: &str = "events";
const REFRESHING: &str = "refreshing";
const LINKS: &str = "links";
const SCHEMA_KEY: &[u8] = b"schema_version";
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
}

impl OpenOptions {
    pub fn new(paths: StorePaths, role: &str) -> Self {
        OpenOptions {
            paths,
            role: role.to_owned(),
            busy_wait: Duration::from_secs(3),
        }
    }
}

pub struct SledStore {
    /// What opening changed that a human should hear once (permissions tightened).
    notes: Vec<String>,
    db: sled::Db,
    sealer: Sealer,
    profiles: sled::Tree,
    integrations: sled::Tree,
    tokens: sled::Tree,
    events: sled::Tree,
    refreshing: sled::Tree,
    links: sled::Tree,
    // Dropped after `db`'s trees: removes the holder file once the store is closed.
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
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&paths.data_dir)
            .map_err(|e| StoreError::Open {
                path: paths.data_dir.clone(),
                reason: e.to_string(),
            })?;
        let notes = super::paths::tighten(&paths.data_dir);
        // sled reads a log it cannot parse as an empty one; a database file that was there
        // before but holds no schema record is damaged, not new.
        let existed = paths.database().join("conf").exists();
        // sled may rewrite a log it cannot read while it opens it; keep the bytes so that a
        // damaged store is left exactly as it was found.
        let before = existed.then(|| super::preserve::Preserved::read(&paths.database()));
        let restore_on = |error: StoreError| {
            if let (StoreError::Damaged { .. }, Some(Some(before))) = (&error, &before) {
                before.restore();
            }
            error
        };
        let db = open_waiting(paths, options.busy_wait).map_err(restore_on)?;
        let holder = Holder::claim(&paths.data_dir, &options.role);
        let meta = db.open_tree(META)?;
        if let Err(error) = check_schema(&meta, &paths.data_dir, existed) {
            drop(meta);
            drop(db);
            return Err(restore_on(error));
        }
        let sealer = unlock(&meta, paths)?;
        Ok(SledStore {
            notes,
            profiles: db.open_tree(PROFILES)?,
            integrations: db.open_tree(INTEGRATIONS)?,
            tokens: db.open_tree(TOKENS)?,
            events: db.open_tree(EVENTS)?,
            refreshing: db.open_tree(REFRESHING)?,
            links: db.open_tree(LINKS)?,
            db,
            sealer,
            _holder: holder,
        })
    }

    /// Sentences about what opening had to fix (say them once, then they are gone).
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
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
            Err(e) => {
                return Err(StoreError::Open {
                    path: paths.database(),
                    reason: e.to_string(),
                });
            }
        }
    }
}

fn check_schema(meta: &sled::Tree, data_dir: &Path, existed: bool) -> Result<(), StoreError> {
    let found = match meta.get(SCHEMA_KEY)? {
        None if existed => {
            return Err(StoreError::Damaged {
                data_dir: data_dir.to_owned(),
                reason: "an existing database holds no schema record".into(),
            });
        }
        None => {
            meta.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
            return Ok(());
        }
        Some(bytes) => {
            let array: [u8; 4] = bytes.as_ref().try_into().map_err(|_| StoreError::Corrupt {
                record: "schema version".into(),
            })?;
            u32::from_be_bytes(array)
        }
    };
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            data_dir: data_dir.to_owned(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    migrate(meta, found)
}

/// The migration hook: upgrade a store written by an older build, one version at a time.
/// Version 1 is the first schema, so there is nothing to upgrade yet.
fn migrate(meta: &sled::Tree, from: u32) -> Result<(), StoreError> {
    if from < SCHEMA_VERSION {
        meta.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
    }
    Ok(())
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
        all::<ProfileRecord>(&self.profiles, "profile")?
            .into_iter()
            .map(|record| record.open(&self.sealer))
            .collect()
    }

    fn profile(&self, name: &str) -> Result<Option<Profile>, StoreError> {
        self.profiles
            .get(name)?
            .map(|bytes| decode::<ProfileRecord>(&bytes, name)?.open(&self.sealer))
            .transpose()
    }

    fn put_profile(&self, profile: &Profile) -> Result<(), StoreError> {
        let record = ProfileRecord::seal(profile, &self.sealer)?;
        self.profiles
            .insert(profile.name.as_str(), encode(&record)?)?;
        self.flush()
    }

    fn remove_profile(&self, name: &str) -> Result<bool, StoreError> {
        let removed = self.profiles.remove(name)?.is_some();
        self.flush()?;
        Ok(removed)
    }

    fn integrations(&self) -> Result<Vec<Integration>, StoreError> {
        all(&self.integrations, "integration")
    }

    fn integration(&self, name: &str) -> Result<Option<Integration>, StoreError> {
        self.integrations
            .get(name)?
            .map(|bytes| decode(&bytes, name))
            .transpose()
    }

    fn put_integration(&self, integration: &Integration) -> Result<(), StoreError> {
        self.integrations
            .insert(integration.name.as_str(), encode(integration)?)?;
        self.flush()
    }

    fn remove_integration(&self, name: &str) -> Result<bool, StoreError> {
        let removed = self.integrations.remove(name)?.is_some();
        self.flush()?;
        Ok(removed)
    }

    fn token_sets(&self) -> Result<Vec<TokenSet>, StoreError> {
        all::<TokenRecord>(&self.tokens, "token set")?
            .into_iter()
            .map(|record| record.open(&self.sealer))
            .collect()
    }

    fn token_summaries(&self) -> Result<Vec<TokenSummary>, StoreError> {
        all::<TokenRecord>(&self.tokens, "token set")?
            .into_iter()
            .map(TokenRecord::summary)
            .collect()
    }

    fn find_token_summary(
        &self,
        integration: &str,
        wanted: &mut dyn FnMut(&TokenSummary) -> bool,
    ) -> Result<Option<TokenSummary>, StoreError> {
        for entry in self
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
    }

    fn token_set(
        &self,
        integration: &str,
        principal: &Principal,
    ) -> Result<Option<TokenSet>, StoreError> {
        let key = token_key(integration, principal);
        self.tokens
            .get(key.as_bytes())?
            .map(|bytes| decode::<TokenRecord>(&bytes, &key)?.open(&self.sealer))
            .transpose()
    }

    fn put_token_set(&self, tokens: &TokenSet) -> Result<(), StoreError> {
        let record = TokenRecord::seal(tokens, &self.sealer)?;
        let key = token_key(&tokens.integration, &tokens.principal);
        self.tokens.insert(key.as_bytes(), encode(&record)?)?;
        // A rotated refresh token must be durable before anyone uses the new access token.
        self.flush()
    }

    fn remove_token_set(
        &self,
        integration: &str,
        principal: &Principal,
    ) -> Result<bool, StoreError> {
        let removed = self
            .tokens
            .remove(token_key(integration, principal).as_bytes())?
            .is_some();
        self.flush()?;
        Ok(removed)
    }

    fn append_event(&self, event: &Event) -> Result<(), StoreError> {
        // sled's monotonic id keeps the trail in append order even within one second.
        let id = self.db.generate_id()?;
        self.events.insert(id.to_be_bytes(), encode(event)?)?;
        self.flush()
    }

    fn events(&self, limit: usize) -> Result<Vec<Event>, StoreError> {
        self.events
            .iter()
            .rev()
            .take(limit)
            .map(|entry| decode(&entry?.1, "event"))
            .collect()
    }

    fn refresh_started(
        &self,
        integration: &str,
        principal: &Principal,
        at: crate::domain::Timestamp,
    ) -> Result<(), StoreError> {
        let key = token_key(integration, principal);
        self.refreshing
            .insert(key.as_bytes(), &at.0.to_be_bytes())?;
        self.flush()
    }

    fn refresh_done(&self, integration: &str, principal: &Principal) -> Result<(), StoreError> {
        self.refreshing
            .remove(token_key(integration, principal).as_bytes())?;
        self.flush()
    }

    fn refreshes_interrupted(
        &self,
    ) -> Result<Vec<(String, Principal, crate::domain::Timestamp)>, StoreError> {
        self.refreshing
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
    }

    fn put_link(&self, digest: &str, link: &Link) -> Result<(), StoreError> {
        self.links.insert(digest.as_bytes(), encode(link)?)?;
        self.flush()
    }

    fn link(&self, digest: &str) -> Result<Option<Link>, StoreError> {
        self.links
            .get(digest.as_bytes())?
            .map(|bytes| decode(&bytes, "link"))
            .transpose()
    }

    fn links(&self) -> Result<Vec<(String, Link)>, StoreError> {
        self.links
            .iter()
            .map(|entry| {
                let (key, value) = entry?;
                Ok((
                    String::from_utf8_lossy(&key).into_owned(),
                    decode(&value, "link")?,
                ))
            })
            .collect()
    }

    fn claim_link(&self, digest: &str, now: Timestamp) -> Result<Claim, StoreError> {
        loop {
            let Some(old) = self.links.get(digest.as_bytes())? else {
                return Ok(Claim::Unknown);
            };
            let link: Link = decode(&old, "link")?;
            if link.outcome != LinkOutcome::Pending || link.is_expired(now) {
                return Ok(Claim::Spent(link));
            }
            let claimed = Link {
                outcome: LinkOutcome::Claimed { at: now },
                ..link.clone()
            };
            let swapped = self.links.compare_and_swap(
                digest.as_bytes(),
                Some(old),
                Some(encode(&claimed)?),
            )?;
            // Lost to another writer: read again and judge what it left.
            if swapped.is_ok() {
                self.flush()?;
                return Ok(Claim::Won(link));
            }
        }
    }

    fn remove_links_expired(&self, before: Timestamp) -> Result<usize, StoreError> {
        let mut removed = 0;
        for entry in self.links.iter() {
            let (key, value) = entry?;
            let link: Link = decode(&value, "link")?;
            if link.expires_at < before {
                self.links.remove(key)?;
                removed += 1;
            }
        }
        if removed > 0 {
            self.flush()?;
        }
        Ok(removed)
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
        oldest_event(&self.events)
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
    // The newest event beyond the count: it and every older one go.
    let beyond = store.events.iter().keys().rev().nth(keep).transpose()?;
    let mut batch = sled::Batch::default();
    let mut removed = 0;
    for entry in store.events.iter() {
        if removed == at_most {
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
        batch.remove(key);
        removed += 1;
    }
    if removed > 0 {
        store.events.apply_batch(batch)?;
        store.flush()?;
    }
    Ok(removed)
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
