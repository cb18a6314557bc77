//! What every use case runs against: the store, the endpoints, and the system app, read once
//! and read again only when its file changes. One method per use case, with typed inputs:
//! the agent parses a request's strings once, at its edge, and calls the method; the rules
//! (a name checked before it is used, a stored secret kept by an edit, revoking withdrawing
//! links) live here, not in the agent's dispatcher.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use crate::atlassian::Endpoints;
use crate::atlassian::client::AppCredentials;
use crate::domain::{Event, Integration, Principal, Profile, Timestamp, TokenSet};
use crate::store::{Store, StoreError};
use crate::validate::{Finding, IdentifierError, identifier};

use super::ServiceError;
use super::authorize::{Attempt, AuthorizeError};
use super::draft::ProfileDraft;
use super::links::{Issued, LinkError, Redeemable, Refusal, Routes};
use super::refresh::{RefreshError, Start};
use super::setup::{SetupPlan, SetupResult};
use super::status::StatusReport;
use super::system_app::{self, SystemApp, SystemAppError};

/// The store, the endpoints and the system app every use case needs.
pub struct Context {
    store: Arc<dyn Store>,
    endpoints: Endpoints,
    /// Where the system app's file is (`JIRA_AUTH_SYSTEM_APP`, read once: the agent's
    /// environment does not change, and its hello names the same path).
    system_app_path: PathBuf,
    system_app: Mutex<Option<Loaded>>,
    /// How many times the file was read and checked.
    #[cfg(test)]
    loads: std::sync::atomic::AtomicUsize,
}

/// The system app as last read, and the file it was read from.
struct Loaded {
    stamp: Stamp,
    app: Result<SystemApp, SystemAppError>,
}

/// What tells a rewritten file from the one read: its path, and its inode, length and times
/// (`None` while it cannot be looked at: missing, or its directory unreadable).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Stamp {
    path: PathBuf,
    file: Option<(u64, u64, i64, i64, i64, i64)>,
}

impl Stamp {
    fn of(path: &std::path::Path) -> Stamp {
        let file = std::fs::metadata(path).ok().map(|m| {
            (
                m.ino(),
                m.len(),
                m.mtime(),
                m.mtime_nsec(),
                m.ctime(),
                m.ctime_nsec(),
            )
        });
        Stamp {
            path: path.to_owned(),
            file,
        }
    }
}

/// The stored profile as the edit form opens it: its secret stays behind until revealed.
pub struct OpenedProfile {
    pub draft: ProfileDraft,
    pub has_secret: bool,
}

/// The newest events, and what the trail keeps.
pub struct Events {
    pub events: Vec<Event>,
    pub oldest: Option<Timestamp>,
}

/// The most events one request returns.
const MAX_EVENTS: usize = 10_000;

impl Context {
    /// The context of this process: the system app where `JIRA_AUTH_SYSTEM_APP` says.
    pub fn new(store: Arc<dyn Store>, endpoints: Endpoints) -> Context {
        Context::with_system_app_at(store, endpoints, system_app::path_from_env())
    }

    pub fn with_system_app_at(
        store: Arc<dyn Store>,
        endpoints: Endpoints,
        system_app_path: PathBuf,
    ) -> Context {
        Context {
            store,
            endpoints,
            system_app_path,
            system_app: Mutex::new(None),
            #[cfg(test)]
            loads: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    pub fn shared_store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// The system app, read and checked once per version of its file: one `stat` per call,
    /// the TOML read and validated again only when the file changed (or appeared, or went).
    pub fn system_app(&self) -> Result<SystemApp, SystemAppError> {
        let stamp = Stamp::of(&self.system_app_path);
        let mut loaded = self
            .system_app
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match loaded.as_ref() {
            Some(held) if held.stamp == stamp => held.app.clone(),
            _ => {
                #[cfg(test)]
                self.loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let app = system_app::load(&stamp.path, &self.endpoints);
                *loaded = Some(Loaded {
                    stamp,
                    app: app.clone(),
                });
                app
            }
        }
    }

    /// The system app, or the sentence that says why there is none: what the use cases that
    /// may pick it take.
    pub fn system_app_or_reason(&self) -> Result<SystemApp, String> {
        self.system_app().map_err(|e| e.to_string())
    }

    pub fn status(&self, now: Timestamp) -> Result<StatusReport, ServiceError> {
        Ok(super::status::status(self.store(), now)?)
    }

    /// The status at `now`, and until when no clock changes it (see
    /// [`super::status::status_until`]).
    pub fn status_until(
        &self,
        now: Timestamp,
    ) -> Result<(StatusReport, Option<Timestamp>), ServiceError> {
        Ok(super::status::status_until(self.store(), now)?)
    }

    pub fn add_profile(
        &self,
        draft: &ProfileDraft,
        now: Timestamp,
    ) -> Result<(Profile, Vec<Finding>), ServiceError> {
        super::profiles::add(self.store(), draft, &self.endpoints, now)
    }

    /// Saves an edited profile over `original`. An edit that leaves the secret empty keeps
    /// the stored one when `keep_secret` (the form never held it); the name to replace is
    /// checked before it is used to find that secret.
    pub fn replace_profile(
        &self,
        original: &str,
        mut draft: ProfileDraft,
        keep_secret: bool,
        now: Timestamp,
    ) -> Result<Profile, ServiceError> {
        identifier::profile_name(original).map_err(IdentifierError::as_lookup)?;
        if keep_secret
            && draft.client_secret.is_empty()
            && let Some(stored) = self.store.profile(original)?
        {
            draft.client_secret = stored.client_secret;
        }
        super::profiles::replace(self.store(), original, &draft, &self.endpoints, now)
    }

    /// The stored profile for the edit form, without its secret.
    pub fn open_profile(&self, name: &str) -> Result<OpenedProfile, ServiceError> {
        let profile = super::profiles::get(self.store(), name)?;
        let mut draft = ProfileDraft::from_profile(&profile);
        draft.client_secret = crate::domain::Secret::new(String::new());
        Ok(OpenedProfile {
            draft,
            has_secret: !profile.client_secret.is_empty(),
        })
    }

    /// The stored profile's client secret, for the reveal key.
    pub fn reveal_secret(&self, name: &str) -> Result<String, ServiceError> {
        let profile = super::profiles::get(self.store(), name)?;
        Ok(profile.client_secret.expose().to_owned())
    }

    pub fn remove_profile(&self, name: &str) -> Result<(), ServiceError> {
        super::profiles::remove(self.store(), name)
    }

    pub fn setup(&self, plan: &SetupPlan, now: Timestamp) -> Result<SetupResult, ServiceError> {
        let system = self.system_app_or_reason();
        super::setup::apply(
            self.store(),
            plan,
            system.as_ref().map_err(Clone::clone),
            now,
        )
    }

    /// The newest `limit` events (at most [`MAX_EVENTS`]) and the oldest one kept.
    pub fn events(&self, limit: usize) -> Result<Events, ServiceError> {
        Ok(Events {
            events: self.store.events(limit.min(MAX_EVENTS))?,
            oldest: self.store.oldest_event()?,
        })
    }

    /// Deletes a token set. A link handed out before the revocation must not grant again:
    /// an end user's links are withdrawn with their token.
    pub fn delete_tokens(
        &self,
        integration: &str,
        principal: &Principal,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        super::tokens::delete(self.store(), integration, principal, now)?;
        if let Principal::User(user) = principal {
            super::links::withdraw(self.store(), integration, user, now)?;
        }
        Ok(())
    }

    /// The integration and the token set `user` names in it, as stored (one read of each).
    pub fn find_token(
        &self,
        integration: &str,
        user: Option<&str>,
    ) -> Result<(Integration, TokenSet), RefreshError> {
        super::refresh::find(self.store(), integration, user)
    }

    /// The grants a refresh request names (every one when neither is named), sorted. A
    /// principal of `Some(None)` is a key that names no grant: it matches none.
    pub fn refresh_targets(
        &self,
        integration: Option<&str>,
        principal: Option<Option<&Principal>>,
    ) -> Result<Vec<(String, Principal)>, RefreshError> {
        if let Some(name) = integration
            && self.store.integration(name)?.is_none()
        {
            return Err(super::lookup::NoSuchIntegration::in_store(self.store(), name)?.into());
        }
        let mut grants: Vec<_> = self
            .store
            .token_summaries()?
            .into_iter()
            .filter(|t| integration.is_none_or(|name| t.integration == name))
            .filter(|t| principal.is_none_or(|p| p == Some(&t.principal)))
            .map(|t| (t.integration, t.principal))
            .collect();
        grants.sort();
        Ok(grants)
    }

    /// An authorization attempt for `integration` (and `user`, when it is user-authorized).
    pub fn prepare_attempt(
        &self,
        integration: &str,
        user: Option<&str>,
    ) -> Result<Attempt, AuthorizeError> {
        let system = self.system_app_or_reason();
        super::authorize::prepare(
            self.store(),
            integration,
            user,
            system.as_ref().map_err(Clone::clone),
        )
    }

    /// What the token endpoint needs from the app `integration` authorizes with.
    pub fn credentials_of(&self, integration: &str) -> Result<AppCredentials, AuthorizeError> {
        let found = super::lookup::integration::<AuthorizeError>(self.store(), integration)?;
        let system = self.system_app_or_reason();
        let (_, app) =
            super::app::app_of(self.store(), &found, system.as_ref().map_err(Clone::clone))?;
        Ok(super::app::credentials(&app)?)
    }

    /// Step 1 of a refresh (see [`super::refresh::begin`]), with this context's system app.
    pub fn begin_refresh(
        &self,
        integration: &str,
        principal: &Principal,
        min_valid: Option<i64>,
        found: Option<Integration>,
        now: Timestamp,
    ) -> Result<Start, RefreshError> {
        super::refresh::begin(
            self.store(),
            integration,
            principal,
            min_valid,
            found,
            || self.system_app_or_reason(),
            now,
        )
    }

    /// A link for an end user of `integration`; with `sweep`, the long-expired links go
    /// first.
    pub fn issue_link(
        &self,
        integration: &str,
        user: &str,
        ttl_secs: i64,
        sweep: bool,
        now: Timestamp,
    ) -> Result<Issued, LinkError> {
        if sweep {
            super::links::prune(self.store(), now)?;
        }
        let system = self.system_app_or_reason();
        super::links::issue(
            self.store(),
            integration,
            user,
            ttl_secs,
            system.as_ref().map_err(Clone::clone),
            Timestamp::now(),
        )
    }

    /// Which integration each callback path serves.
    pub fn callback_routes(&self) -> Result<Routes, StoreError> {
        let system = self.system_app_or_reason();
        super::links::callback_routes(self.store(), system.as_ref().map_err(Clone::clone))
    }

    /// The link a receiver's `state` redeems, among the integrations its path `served`.
    pub fn redeem_link(
        &self,
        state: &str,
        served: &[String],
        now: Timestamp,
    ) -> Result<Result<Redeemable, Refusal>, LinkError> {
        let system = self.system_app_or_reason();
        super::links::redeem(
            self.store(),
            state,
            served,
            system.as_ref().map_err(Clone::clone),
            now,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{OpenOptions, SledStore, StorePaths};

    fn example() -> String {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/system-app.example.toml");
        std::fs::read_to_string(path).unwrap()
    }

    fn context(dir: &std::path::Path) -> Context {
        let paths = StorePaths {
            data_dir: dir.join("data"),
            key_file: dir.join("key"),
        };
        let store = SledStore::open(&OpenOptions::new(paths, "test")).unwrap();
        Context::with_system_app_at(
            Arc::new(store),
            Endpoints::default(),
            dir.join("system-app.toml"),
        )
    }

    fn loads(context: &Context) -> usize {
        context.loads.load(std::sync::atomic::Ordering::SeqCst)
    }

    #[test]
    fn the_system_app_is_read_once_per_version_of_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let context = context(dir.path());
        let missing = context.system_app().unwrap_err();
        assert!(
            matches!(missing, SystemAppError::Missing { .. }),
            "{missing}"
        );
        assert!(context.system_app().is_err());
        assert_eq!(loads(&context), 1, "a missing file is not looked for twice");

        let path = dir.path().join("system-app.toml");
        std::fs::write(&path, example()).unwrap();
        assert_eq!(context.system_app().unwrap().name, "Acme Jira connector");
        for _ in 0..5 {
            context.system_app().unwrap();
        }
        assert_eq!(loads(&context), 2, "one read for the file as it is");

        // Rewritten (another file put in its place, as deployment tools do): read again.
        let next = dir.path().join("next.toml");
        std::fs::write(&next, example().replace("Acme Jira connector", "Beta")).unwrap();
        std::fs::rename(&next, &path).unwrap();
        assert_eq!(context.system_app().unwrap().name, "Beta");
        assert_eq!(loads(&context), 3);

        std::fs::remove_file(&path).unwrap();
        assert!(matches!(
            context.system_app(),
            Err(SystemAppError::Missing { .. })
        ));
    }
}
