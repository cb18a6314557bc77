//! Opening proves the store before a record is served: sled's lock won, the schema known,
//! every tree matching its seal, the generation not behind the one kept beside the key, and
//! the key the one that sealed the store. A store of an older schema is measured into this one.

use std::time::{Duration, Instant};

use super::super::error::StoreError;
use super::super::generation::{self, GenerationFile};
use super::super::holder::Holder;
use super::super::integrity::{Integrity, TreeSeal};
use super::super::paths::StorePaths;
use super::super::seal::{self, Sealer};
use super::super::space;
use super::{
    DATA_TREES, INTEGRITY_KEY, Inner, KEY_CHECK, KEY_CHECK_CONTEXT, KEY_CHECK_TEXT, SCHEMA_KEY,
    SCHEMA_VERSION, STORE_ID_KEY, decode, encode,
};

/// sled takes an exclusive file lock; a second opener gets an I/O error naming it. Poll
/// until the holder lets go or the wait runs out.
pub(super) fn open_waiting(paths: &StorePaths, wait: Duration) -> Result<sled::Db, StoreError> {
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
pub(super) fn check(
    inner: &Inner,
    paths: &StorePaths,
    existed: bool,
) -> Result<Sealer, StoreError> {
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
pub(super) fn check_generation(
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
    let (file, kept) =
        GenerationFile::open(generation::path_for(&paths.key_file, &id), &paths.data_dir);
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
