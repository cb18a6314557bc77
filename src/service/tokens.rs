//! Token sets as the Tokens screen manages them: deleting one is local (the grant stays on
//! Atlassian's side until the user revokes it there), and always an event.

use crate::domain::{Event, EventKind, Principal, Timestamp};
use crate::store::Store;

use super::ServiceError;

/// Deletes the token set of `principal` (a key: `admin` or `user:ID`) in `integration`.
pub fn delete(
    store: &dyn Store,
    integration: &str,
    principal: &str,
    now: Timestamp,
) -> Result<(), ServiceError> {
    let who = Principal::from_key(principal)
        .ok_or_else(|| ServiceError::Refused(format!("{principal:?} names no token set")))?;
    if !store.remove_token_set(integration, &who)? {
        return Err(ServiceError::Refused(format!(
            "{integration} has no token for {principal} (deleted already?)"
        )));
    }
    store.append_event(&Event {
        at: now,
        integration: integration.to_owned(),
        principal: Some(who.key()),
        kind: EventKind::Deleted,
        outcome: "deleted in jira-auth; revoke the grant on Atlassian's side too (account settings, Connected apps)".into(),
    })?;
    Ok(())
}
