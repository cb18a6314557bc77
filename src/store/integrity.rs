//! What proves the store whole on open: for every tree, its record count and an
//! order-free digest of its records (the XOR of one hash per key and value), kept in the
//! meta tree and changed in the same transaction as the records, and a generation that every
//! write moves up. A missing, truncated or altered tree no longer matches its digest; an older
//! copy that matches (a log cut back to an earlier point, an old backup) shows by its
//! generation, which is also kept outside the data directory (`generation.rs`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One tree's count and digest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeSeal {
    pub count: u64,
    #[serde(with = "hex16")]
    pub digest: [u8; 16],
}

impl TreeSeal {
    /// Adds or takes away one record: XOR is its own inverse, so both are the same step.
    fn toggle(&mut self, hash: [u8; 16]) {
        for (d, h) in self.digest.iter_mut().zip(hash) {
            *d ^= h;
        }
    }

    pub fn add(&mut self, tree: &str, key: &[u8], value: &[u8]) {
        self.toggle(entry_hash(tree, key, value));
        self.count += 1;
    }

    pub fn remove(&mut self, tree: &str, key: &[u8], value: &[u8]) {
        self.toggle(entry_hash(tree, key, value));
        self.count = self.count.saturating_sub(1);
    }
}

/// The meta record: the generation and every tree's seal.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integrity {
    pub generation: u64,
    pub trees: BTreeMap<String, TreeSeal>,
}

impl Integrity {
    /// The first tree whose records do not match what was recorded, with what was found.
    pub fn mismatch(&self, tree: &str, found: TreeSeal) -> Option<String> {
        let expected = self.trees.get(tree).copied().unwrap_or_default();
        (expected != found).then(|| {
            format!(
                "tree {tree} holds {} record(s) that do not match the {} recorded",
                found.count, expected.count
            )
        })
    }
}

/// The hash of one record, bound to its tree and with the key's length in front so that no
/// two different records share an input.
fn entry_hash(tree: &str, key: &[u8], value: &[u8]) -> [u8; 16] {
    let mut hasher = Sha256::new();
    hasher.update(tree.as_bytes());
    hasher.update([0]);
    hasher.update((key.len() as u64).to_be_bytes());
    hasher.update(key);
    hasher.update(value);
    let full = hasher.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

mod hex16 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8; 16], serializer: S) -> Result<S::Ok, S::Error> {
        let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        serializer.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<[u8; 16], D::Error> {
        let text = String::deserialize(deserializer)?;
        let mut out = [0u8; 16];
        if text.len() != 32 || !text.is_ascii() {
            return Err(serde::de::Error::custom("a digest of 32 hex digits"));
        }
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[i * 2..i * 2 + 2], 16)
                .map_err(serde::de::Error::custom)?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measure<'a>(tree: &str, records: impl Iterator<Item = (&'a [u8], &'a [u8])>) -> TreeSeal {
        let mut seal = TreeSeal::default();
        for (key, value) in records {
            seal.add(tree, key, value);
        }
        seal
    }

    #[test]
    fn the_digest_follows_the_records_not_their_order() {
        let records = [
            (b"a".as_slice(), b"1".as_slice()),
            (b"b", b"2"),
            (b"c", b"3"),
        ];
        let forward = measure("t", records.iter().copied());
        let backward = measure("t", records.iter().rev().copied());
        assert_eq!(forward, backward);
        let mut edited = forward;
        edited.remove("t", b"b", b"2");
        edited.add("t", b"b", b"22");
        assert_ne!(edited, forward);
        edited.remove("t", b"b", b"22");
        edited.add("t", b"b", b"2");
        assert_eq!(edited, forward, "undoing an edit restores the seal");
        assert_ne!(
            measure("t", records[..2].iter().copied()),
            forward,
            "a missing record shows"
        );
        assert_ne!(
            measure("u", records.iter().copied()),
            forward,
            "records moved to another tree show"
        );
    }

    #[test]
    fn the_record_reads_back() {
        let mut integrity = Integrity {
            generation: 7,
            ..Integrity::default()
        };
        integrity.trees.insert(
            "tokens".into(),
            measure("tokens", [(b"k".as_slice(), b"v".as_slice())].into_iter()),
        );
        let json = serde_json::to_vec(&integrity).unwrap();
        assert_eq!(
            serde_json::from_slice::<Integrity>(&json).unwrap(),
            integrity
        );
    }
}
