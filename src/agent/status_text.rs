//! `status --json`'s text, kept between requests: with 10,000 users, building the report and
//! printing its 4 MB again took most of the request, for a text that changes only when the
//! store is written or a clock runs past a token's next state change. A leaf: the agent's
//! state holds one, the handler fills it.

use std::sync::{Mutex, PoisonError};

use super::protocol::StatusJson;
use crate::domain::Timestamp;

#[derive(Default)]
pub(super) struct KeptStatus {
    kept: Mutex<Option<Kept>>,
}

struct Kept {
    /// The store's version the text was built from.
    version: u64,
    /// The first instant the text may be wrong at without a write; `None`: never.
    until: Option<Timestamp>,
    json: StatusJson,
}

impl KeptStatus {
    /// The kept text, while the store is at the version it was built from and no state it
    /// shows has changed with the clock since.
    pub fn get(&self, version: Option<u64>, now: Timestamp) -> Option<StatusJson> {
        let version = version?;
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        kept.as_ref()
            .filter(|k| k.version == version && k.until.is_none_or(|until| now < until))
            .map(|k| k.json.clone())
    }

    /// Keeps `json` when the store was at one version from before the read that built it
    /// (`before`) to after it (`after`): a write in between may not show in it.
    pub fn keep(
        &self,
        before: Option<u64>,
        after: Option<u64>,
        until: Option<Timestamp>,
        json: &StatusJson,
    ) {
        let (Some(before), Some(after)) = (before, after) else {
            return;
        };
        if before != after {
            return;
        }
        *self.kept.lock().unwrap_or_else(PoisonError::into_inner) = Some(Kept {
            version: before,
            until,
            json: json.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &'static str) -> StatusJson {
        StatusJson {
            text: bytes::Bytes::from_static(text.as_bytes()),
            ..StatusJson::default()
        }
    }

    #[test]
    fn kept_until_a_write_or_the_next_change() {
        let kept = KeptStatus::default();
        let now = Timestamp(1_000);
        assert_eq!(kept.get(Some(4), now), None, "nothing kept yet");
        kept.keep(Some(4), Some(4), Some(now.plus_secs(60)), &json("a"));
        assert_eq!(kept.get(Some(4), now), Some(json("a")));
        assert_eq!(kept.get(Some(4), now.plus_secs(59)), Some(json("a")));
        assert_eq!(
            kept.get(Some(4), now.plus_secs(60)),
            None,
            "a state changed"
        );
        assert_eq!(kept.get(Some(6), now), None, "the store was written");
        assert_eq!(kept.get(None, now), None, "a store that cannot tell");
    }

    #[test]
    fn a_read_that_overlapped_a_write_is_not_kept() {
        let kept = KeptStatus::default();
        kept.keep(Some(4), Some(6), None, &json("a"));
        assert_eq!(kept.get(Some(6), Timestamp(0)), None);
        kept.keep(None, None, None, &json("a"));
        assert_eq!(kept.get(Some(6), Timestamp(0)), None);
        kept.keep(Some(6), Some(6), None, &json("b"));
        assert_eq!(
            kept.get(Some(6), Timestamp(i64::MAX)),
            Some(json("b")),
            "no clock changes it"
        );
    }
}
