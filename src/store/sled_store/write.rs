//! The one way anything is written: an edit of one tree and that tree's seal in one sled
//! transaction, flushed, then the generation kept beside the key moved up. A write that finds
//! the disk full frees the ballast (for a grant) and opens sled again once there is room.

use std::sync::atomic::Ordering;

use sled::Transactional;
use sled::transaction::{
    ConflictableTransactionError, ConflictableTransactionResult, TransactionError,
    TransactionalTree,
};

use super::super::StoreError;
use super::super::integrity::{Integrity, TreeSeal};
use super::super::space::{self, Stake};
use super::{INTEGRITY_KEY, SledStore, decode, encode};

/// One write's view of its tree: every change also moves the tree's seal.
pub(super) struct Edit<'a> {
    tree: &'a TransactionalTree,
    name: &'static str,
    seal: TreeSeal,
    changed: bool,
}

pub(super) type Tx<T> = ConflictableTransactionResult<T, StoreError>;

impl Edit<'_> {
    pub(super) fn get(&self, key: &[u8]) -> Tx<Option<sled::IVec>> {
        Ok(self.tree.get(key)?)
    }

    pub(super) fn insert(&mut self, key: &[u8], value: Vec<u8>) -> Tx<()> {
        if let Some(old) = self.tree.insert(key, value.as_slice())? {
            self.seal.remove(self.name, key, &old);
        }
        self.seal.add(self.name, key, &value);
        self.changed = true;
        Ok(())
    }

    pub(super) fn remove(&mut self, key: &[u8]) -> Tx<bool> {
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

pub(super) fn abort<T>(error: StoreError) -> Tx<T> {
    Err(ConflictableTransactionError::Abort(error))
}

impl SledStore {
    /// One write: the edit and the tree's new seal in one transaction, flushed, and the new
    /// generation recorded beside the key. A write that finds the disk full frees the ballast
    /// (for a grant), opens sled again and tries once more.
    pub(super) fn write<R>(
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
    pub(super) fn unwedge(&self) -> Result<(), StoreError> {
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

pub(super) fn full_disk_flag() -> Option<std::path::PathBuf> {
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
