//! The grants `token` last handed out, kept in the agent's memory. Two uses: while the
//! store's version says nothing was written since, `token` answers from here without reading
//! the store (on PostgreSQL, a round trip saved on every call); and while the store cannot be
//! reached at all (the database is down), a still-valid access token is handed out from here
//! with a note, since Atlassian keeps honouring it until it expires whatever the store says.
//! Nothing here is ever written back: it is a copy, never the grant.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::domain::{Integration, TokenSet};

/// What `token` is asked: the integration and the user as given.
type Asked = (String, Option<String>);

#[derive(Default)]
pub(super) struct TokenCache {
    kept: Mutex<HashMap<Asked, Kept>>,
}

struct Kept {
    /// The store's version when the grant was read; `None`: it could not tell.
    version: Option<u64>,
    integration: Integration,
    tokens: TokenSet,
}

/// A cap on what is kept: every user of a large user-authorized integration asking once
/// would otherwise keep them all; past it the map starts again.
const MOST: usize = 20_000;

impl TokenCache {
    /// The grant as read at `version`, while the store is still at it.
    pub fn current(
        &self,
        integration: &str,
        user: Option<&str>,
        version: Option<u64>,
    ) -> Option<(Integration, TokenSet)> {
        let version = version?;
        let kept = self.lock();
        let found = kept.get(&(integration.to_owned(), user.map(str::to_owned)))?;
        (found.version == Some(version)).then(|| (found.integration.clone(), found.tokens.clone()))
    }

    /// The grant last handed out for this question, however old (for a store that cannot be
    /// reached): the caller checks it is still valid.
    pub fn last(&self, integration: &str, user: Option<&str>) -> Option<TokenSet> {
        self.lock()
            .get(&(integration.to_owned(), user.map(str::to_owned)))
            .map(|k| k.tokens.clone())
    }

    pub fn keep(
        &self,
        integration: &str,
        user: Option<&str>,
        version: Option<u64>,
        found: &Integration,
        tokens: &TokenSet,
    ) {
        let mut kept = self.lock();
        if kept.len() >= MOST {
            kept.clear();
        }
        kept.insert(
            (integration.to_owned(), user.map(str::to_owned)),
            Kept {
                version,
                integration: found.clone(),
                tokens: tokens.clone(),
            },
        );
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Asked, Kept>> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Mode, Timestamp};

    fn integration() -> Integration {
        Integration {
            name: "jira".into(),
            mode: Mode::PreAuthorized,
            app: crate::domain::AppRef::System,
            enabled: true,
            updated_at: Timestamp(0),
        }
    }

    #[test]
    fn current_only_at_the_version_it_was_read_and_last_whatever_the_version() {
        let cache = TokenCache::default();
        let tokens = TokenSet::sample(Timestamp(1_000));
        assert!(
            cache.current("jira", None, Some(1)).is_none(),
            "nothing kept"
        );
        cache.keep("jira", None, Some(1), &integration(), &tokens);
        assert_eq!(
            cache.current("jira", None, Some(1)).map(|k| k.1),
            Some(tokens.clone())
        );
        assert!(
            cache.current("jira", None, Some(2)).is_none(),
            "written since"
        );
        assert!(
            cache.current("jira", None, None).is_none(),
            "a store that cannot tell"
        );
        assert!(
            cache.current("jira", Some("alice"), Some(1)).is_none(),
            "another question"
        );
        assert_eq!(cache.last("jira", None), Some(tokens));
        assert_eq!(cache.last("other", None), None);
    }
}
