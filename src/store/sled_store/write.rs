//! The one way anything is written: an edit of one tree and that tree's seal in one sled
//! transaction, flushed, then the generation kept beside the key moved up. A write that finds
//! the disk full frees the ballast (for a grant) and opens sled again once there is room.

use std::sync::atomic::Ordering;

use sled::Transactional;
use sled::transaction::{
    ConflictableTransactionError, ConflictableTransactionResult, TransactionError,
    TransactionalTree,
};

use super::super::error::StoreError;
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
        // What was read before is stale from here until the write has ended, however it ends.
        let _changing = self.summaries.changing();
        let failure = match self.write_once(tree, &edit) {
            Ok(result) => return Ok(result),
            Err(failure) => failure,
        };
        // sled refuses every write after an I/O failure (its error sticks), whatever the
        // cause: it is opened again before the next write.
        if failure.wedges() {
            self.wedged.store(true, Ordering::SeqCst);
        }
        match failure {
            WriteFailure::OutOfRoom => {
                // Only a grant may use the ballast's room; it then tries once more in it.
                if stake == Stake::Other {
                    self.space.mark_full();
                    return Err(self.space.full_error());
                }
                self.space.ran_out();
                if !self.space.has_room() {
                    return Err(self.space.full_error());
                }
            }
            // Another I/O failure (a quota, EIO): a grant tries once more on a fresh handle.
            WriteFailure::Io(error) if stake == Stake::Grant => {
                crate::agent_log!("a write failed ({error}); opening the store again to retry it");
            }
            WriteFailure::Io(error) | WriteFailure::Store(error) => return Err(error),
        }
        self.unwedge()?;
        match self.write_once(tree, &edit) {
            Ok(result) => Ok(result),
            Err(failure) => {
                if failure.wedges() {
                    self.wedged.store(true, Ordering::SeqCst);
                }
                Err(match failure {
                    WriteFailure::OutOfRoom => self.space.full_error(),
                    WriteFailure::Io(error) | WriteFailure::Store(error) => error,
                })
            }
        }
    }

    /// Opens sled again after a write failed (for room, or another I/O error), once there is
    /// room to open it in.
    pub(super) fn unwedge(&self) -> Result<(), StoreError> {
        if !self.wedged.load(Ordering::SeqCst) {
            return Ok(());
        }
        if !self.space.has_room() {
            return Err(self.space.full_error());
        }
        // The open handle still serves reads: it is given up only for one that will work.
        if !self.space.can_write() {
            return Err(StoreError::Backend(format!(
                "the data directory {} does not take writes right now (a quota, a file size limit or a failing disk); jira-auth keeps what it holds and tries again",
                self.paths.data_dir.display()
            )));
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
    /// The disk (or the user's quota) has no room.
    OutOfRoom,
    /// Another I/O failure: sled refuses every write after it until opened again.
    Io(StoreError),
    /// Anything else (a record that does not decode): the handle is sound.
    Store(StoreError),
}

impl WriteFailure {
    fn of(error: sled::Error) -> WriteFailure {
        if space::is_out_of_room(&error) {
            WriteFailure::OutOfRoom
        } else if matches!(error, sled::Error::Io(_)) {
            WriteFailure::Io(error.into())
        } else {
            WriteFailure::Store(error.into())
        }
    }

    fn wedges(&self) -> bool {
        !matches!(self, WriteFailure::Store(_))
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
