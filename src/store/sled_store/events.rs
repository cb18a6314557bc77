//! The event trail's retention in sled: trimming from the oldest end in bounded steps.

use crate::domain::{Event, Timestamp};

use super::super::error::StoreError;
use super::super::space::Stake;
use super::{EVENTS, SledStore, decode};

/// [`Store::trim_events`] for sled. The trail's keys are sled's monotonic ids, so the front
/// of the tree is its oldest end. The count's boundary is found from the newest end (`keep`
/// keys walked, no value read); ages are judged from the oldest end, which stops at the
/// first event young enough and within the count. An event written while the clock was set
/// back can thus shield older ones until it ages itself: the trail stays bounded by count.
/// The removals go as one batch, flushed once.
pub(super) fn trim_events(
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

pub(super) fn oldest_event(events: &sled::Tree) -> Result<Option<Timestamp>, StoreError> {
    events
        .first()?
        .map(|(_, value)| decode::<Event>(&value, "event").map(|event| event.at))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::super::*;
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
