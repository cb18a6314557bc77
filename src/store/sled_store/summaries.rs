//! The token summaries, kept between reads: `status` with 10,000 users would otherwise
//! decode every token record on every call (a third of its time). Only the agent opens the
//! store, and every change passes [`SledStore::write`], which moves the store's version on
//! before and after it writes: a read that overlaps a write is not kept. The same version
//! tells the agent whether what it derived from an earlier read still holds.
//!
//! [`SledStore::write`]: super::SledStore

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::domain::TokenSummary;

#[derive(Default)]
pub(super) struct Summaries {
    /// Moved on by every write, before it starts and after it ends.
    version: AtomicU64,
    kept: Mutex<Option<(u64, Vec<TokenSummary>)>>,
}

/// A write in progress: the kept copy is stale from its start to its end.
pub(super) struct Changing<'a>(&'a Summaries);

impl Drop for Changing<'_> {
    fn drop(&mut self) {
        self.0.version.fetch_add(1, Ordering::SeqCst);
    }
}

impl Summaries {
    /// The store's version now: equal readings with no write between.
    pub(super) fn version(&self) -> u64 {
        self.version.load(Ordering::SeqCst)
    }

    pub(super) fn changing(&self) -> Changing<'_> {
        self.version.fetch_add(1, Ordering::SeqCst);
        Changing(self)
    }

    /// The kept summaries while no write came between, else `read`'s (kept if no write
    /// overlapped it).
    pub(super) fn get<E>(
        &self,
        read: impl FnOnce() -> Result<Vec<TokenSummary>, E>,
    ) -> Result<Vec<TokenSummary>, E> {
        let before = self.version.load(Ordering::SeqCst);
        if let Some((version, summaries)) = self.lock().as_ref()
            && *version == before
        {
            return Ok(summaries.clone());
        }
        let summaries = read()?;
        if self.version.load(Ordering::SeqCst) == before {
            *self.lock() = Some((before, summaries.clone()));
        }
        Ok(summaries)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(u64, Vec<TokenSummary>)>> {
        // A poisoned copy is dropped, not trusted: the next read rebuilds it.
        self.kept.lock().unwrap_or_else(|poisoned| {
            let mut guard = poisoned.into_inner();
            *guard = None;
            guard
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Principal, Timestamp, TokenSet};

    fn summary(n: u64) -> TokenSummary {
        let mut set = TokenSet::sample(Timestamp(1_700_000_000 + n as i64));
        set.principal = Principal::User(format!("user-{n}"));
        set.summary()
    }

    #[test]
    fn a_read_is_kept_until_a_write() {
        let summaries = Summaries::default();
        let mut reads = 0;
        let mut read = |n| {
            reads += 1;
            Ok::<_, ()>(vec![summary(n)])
        };
        assert_eq!(summaries.get(|| read(1)).unwrap(), vec![summary(1)]);
        assert_eq!(summaries.get(|| read(2)).unwrap(), vec![summary(1)], "kept");
        drop(summaries.changing());
        assert_eq!(
            summaries.get(|| read(3)).unwrap(),
            vec![summary(3)],
            "read again"
        );
        assert_eq!(reads, 2);
    }

    #[test]
    fn a_read_that_overlaps_a_write_is_not_kept() {
        let summaries = Summaries::default();
        let writing = summaries.changing();
        assert_eq!(
            summaries
                .get(|| Ok::<_, ()>(vec![summary(1)]))
                .unwrap()
                .len(),
            1
        );
        drop(writing);
        let fresh = summaries.get(|| Ok::<_, ()>(vec![summary(2)])).unwrap();
        assert_eq!(fresh, vec![summary(2)], "the overlapping read was dropped");
        let during = summaries.changing();
        let read = summaries.get(|| Ok::<_, ()>(vec![summary(3)])).unwrap();
        assert_eq!(
            read,
            vec![summary(3)],
            "a write in progress makes the copy stale"
        );
        drop(during);
    }
}
