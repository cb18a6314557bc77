//! Authorization profiles: list, remove (refused while an integration uses the profile),
//! and add (with the validation of every field).

use crate::domain::Profile;
use crate::store::Store;

use super::ServiceError;

pub fn list(store: &dyn Store) -> Result<Vec<Profile>, ServiceError> {
    let mut profiles = store.profiles()?;
    profiles.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(profiles)
}

/// Removes a profile unless an integration still points at it.
pub fn remove(store: &dyn Store, name: &str) -> Result<(), ServiceError> {
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
