//! Token sets as the Tokens screen manages them: deleting one is local (the grant stays on
//! Atlassian's side until the user revokes it there), and always an event.

use crate::domain::{Event, EventKind, Principal, Timestamp};
use crate::store::Store;

use super::ServiceError;

/// The token set a key (`admin` or `user:ID`) names: a request's key parsed once, at the
/// agent's edge.
pub fn principal(key: &str) -> Result<Principal, ServiceError> {
    Principal::from_key(key)
        .ok_or_else(|| ServiceError::Refused(format!("{key:?} names no token set")))
}

/// Deletes the token set of `who` in `integration`.
pub fn delete(
    store: &dyn Store,
    integration: &str,
    who: &Principal,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let principal = who.key();
    // A consent exchanged and not yet verified is this grant too: the resume must not bring
    // back what the admin deleted.
    let pending = match store.exchanged(integration, who)? {
        Some(exchanged) => store.remove_exchanged(integration, who, &exchanged.id)?,
        None => false,
    };
    if !store.remove_token_set(integration, who)? && !pending {
        return Err(ServiceError::Refused(format!(
            "{integration} has no token for {principal} (deleted already?)"
        )));
    }
    store.append_event(&Event {
        at: now,
        integration: integration.to_owned(),
        principal: Some(principal),
        kind: EventKind::Deleted,
        outcome: "deleted in jira-auth; revoke the grant on Atlassian's side too (account settings, Connected apps)".into(),
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Mode, Secret, TokenSet};
    use crate::store::{Exchanged, OpenOptions, SledStore, StorePaths};

    fn store(dir: &std::path::Path) -> SledStore {
        let paths = StorePaths {
            data_dir: dir.join("data"),
            key_file: dir.join("key"),
        };
        SledStore::open(&OpenOptions::new(paths, "test")).unwrap()
    }

    fn pending(user: &str) -> Exchanged {
        Exchanged {
            id: format!("exchange-of-{user}"),
            integration: "jira".into(),
            principal: Principal::User(user.into()),
            mode: Mode::UserAuthorized,
            renewing: false,
            app_label: "the profile \"acme\"".into(),
            app_scopes: vec!["offline_access".into()],
            access_token: Secret::new("at"),
            expires_in: Some(3600),
            refresh_token: Some(Secret::new("rt")),
            granted_scopes: vec![],
            exchanged_at: Timestamp(1_700_000_000),
            link: None,
            sites: None,
            tries: 0,
            last_error: None,
            awaiting_site: false,
        }
    }

    #[test]
    fn deleting_a_grant_also_ends_its_consent_still_being_verified() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let now = Timestamp(1_700_000_100);
        let kim = Principal::User("kim".into());
        store
            .put_token_set(&TokenSet {
                integration: "jira".into(),
                principal: kim.clone(),
                ..TokenSet::sample(now)
            })
            .unwrap();
        store.put_exchanged(&pending("kim")).unwrap();
        delete(&store, "jira", &kim, now).unwrap();
        assert!(store.token_set("jira", &kim).unwrap().is_none());
        assert!(store.exchanged("jira", &kim).unwrap().is_none());

        // A user whose only grant is a consent still being verified can be deleted too.
        store.put_exchanged(&pending("lee")).unwrap();
        let lee = Principal::User("lee".into());
        delete(&store, "jira", &lee, now).unwrap();
        assert!(store.exchanged("jira", &lee).unwrap().is_none());
        assert!(
            delete(&store, "jira", &lee, now).is_err(),
            "deleted already"
        );
    }
}
