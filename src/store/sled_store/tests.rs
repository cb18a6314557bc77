//! The exchanged tree: replaced only by a newer exchange, ended only by its own id, sealed to its record.

use super::*;
use crate::domain::{Mode, Secret, TokenSet};
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

#[test]
fn the_kept_summaries_follow_every_write_to_the_token_tree() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let now = Timestamp(1_700_000_000);
    let mut tokens = TokenSet::sample(now);
    store.put_token_set(&tokens).unwrap();
    assert_eq!(store.token_summaries().unwrap(), vec![tokens.summary()]);
    // A rotation, a conditional write and a removal each show at the next read.
    tokens.rotated_at = now.plus_secs(60);
    store.put_token_set(&tokens).unwrap();
    assert_eq!(store.token_summaries().unwrap(), vec![tokens.summary()]);
    let mut next = tokens.clone();
    next.rotated_at = now.plus_secs(120);
    assert!(
        store
            .put_token_set_if(&next, tokens.refresh_token.as_ref())
            .unwrap()
    );
    assert_eq!(store.token_summaries().unwrap(), vec![next.summary()]);
    assert!(
        store
            .remove_token_set(&next.integration, &next.principal)
            .unwrap()
    );
    assert_eq!(store.token_summaries().unwrap(), vec![]);
}
