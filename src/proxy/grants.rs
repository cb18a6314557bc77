//! The grants a proxy serves: the integration's one grant, or one per end user of a
//! user-authorized integration, each keeping its access token between requests so a request
//! costs the agent nothing while the token lasts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::agent::AgentLink;
use crate::config::Endpoints;
use crate::domain::Mode;
use crate::jira::{Grant, GrantToken};

/// Past this many end users the kept tokens are forgotten and asked for again: a caller
/// naming users at random must not grow the proxy without bound.
const MAX_KEPT: usize = 4096;

pub struct Grants {
    link: Arc<AgentLink>,
    endpoints: Endpoints,
    pub integration: String,
    pub mode: Mode,
    kept: Mutex<HashMap<Option<String>, Arc<GrantToken>>>,
}

impl Grants {
    pub fn new(link: AgentLink, endpoints: Endpoints, integration: String, mode: Mode) -> Grants {
        Grants {
            link: Arc::new(link),
            endpoints,
            integration,
            mode,
            kept: Mutex::new(HashMap::new()),
        }
    }

    /// The grant of `user` (none for a pre-authorized integration).
    pub fn of(&self, user: Option<&str>) -> Arc<GrantToken> {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let key = user.map(str::to_owned);
        if let Some(grant) = kept.get(&key) {
            return Arc::clone(grant);
        }
        if kept.len() >= MAX_KEPT {
            kept.clear();
        }
        let grant = Arc::new(GrantToken::new(
            Arc::clone(&self.link),
            self.endpoints.clone(),
            Grant {
                integration: self.integration.clone(),
                user: key.clone(),
            },
        ));
        kept.insert(key, Arc::clone(&grant));
        grant
    }
}
