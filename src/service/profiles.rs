//! Authorization profiles: list, get, remove (refused while an integration uses the profile),
//! add and replace (with the validation of every field). A name that is looked up goes
//! through the identifier rule too: the agent does not trust its clients.

use crate::atlassian::Endpoints;
use crate::domain::{Profile, Timestamp};
use crate::store::Store;
use crate::validate::{Catalog, Finding, IdentifierError, Severity, identifier};

use super::ServiceError;
use super::draft::ProfileDraft;

/// Checks and saves a new profile. Returns the profile and the findings that did not stop it
/// (warnings and notices), for the caller to show.
pub fn add(
    store: &dyn Store,
    draft: &ProfileDraft,
    endpoints: &Endpoints,
    now: Timestamp,
) -> Result<(Profile, Vec<Finding>), ServiceError> {
    let check = draft.check(endpoints, Catalog::builtin(), now);
    let Some(profile) = check.profile else {
        return Err(ServiceError::Invalid(check.findings));
    };
    if store.profile(&profile.name)?.is_some() {
        return Err(ServiceError::ProfileExists(profile.name));
    }
    store.put_profile(&profile)?;
    let remarks = check
        .findings
        .into_iter()
        .filter(|f| f.severity != Severity::Error)
        .collect();
    Ok((profile, remarks))
}

/// Saves an edited profile over `original` (which may have been renamed).
pub fn replace(
    store: &dyn Store,
    original: &str,
    draft: &ProfileDraft,
    endpoints: &Endpoints,
    now: Timestamp,
) -> Result<Profile, ServiceError> {
    identifier::profile_name(original).map_err(IdentifierError::as_lookup)?;
    let check = draft.check(endpoints, Catalog::builtin(), now);
    let Some(profile) = check.profile else {
        return Err(ServiceError::Invalid(check.findings));
    };
    if profile.name != original {
        if store.profile(&profile.name)?.is_some() {
            return Err(ServiceError::ProfileExists(profile.name));
        }
        if let Some(integration) = store
            .integrations()?
            .into_iter()
            .find(|i| i.app.profile() == Some(original))
        {
            return Err(ServiceError::ProfileInUse {
                profile: original.to_owned(),
                integration: integration.name,
            });
        }
    }
    store.put_profile(&profile)?;
    if profile.name != original {
        store.remove_profile(original)?;
    }
    Ok(profile)
}

pub fn list(store: &dyn Store) -> Result<Vec<Profile>, ServiceError> {
    let mut profiles = store.profiles()?;
    profiles.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(profiles)
}

/// The stored profile named `name`: for the edit form and the reveal key.
pub fn get(store: &dyn Store, name: &str) -> Result<Profile, ServiceError> {
    identifier::profile_name(name).map_err(IdentifierError::as_lookup)?;
    store
        .profile(name)?
        .ok_or_else(|| ServiceError::ProfileNotFound(name.to_owned()))
}

/// Removes a profile unless an integration still points at it.
pub fn remove(store: &dyn Store, name: &str) -> Result<(), ServiceError> {
    identifier::profile_name(name).map_err(IdentifierError::as_lookup)?;
    if let Some(integration) = store
        .integrations()?
        .into_iter()
        .find(|i| i.app.profile() == Some(name))
    {
        return Err(ServiceError::ProfileInUse {
            profile: name.to_owned(),
            integration: integration.name,
        });
    }
    if store.remove_profile(name)? {
        Ok(())
    } else {
        Err(ServiceError::ProfileNotFound(name.to_owned()))
    }
}
