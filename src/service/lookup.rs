//! An integration found by name, or the one sentence for "there is none" that lists what
//! exists: every use case that looks one up builds its error here.

use crate::domain::Integration;
use crate::store::{Store, StoreError};
use crate::validate::text::quoted;

/// No integration has this name; `existing` is every name that does, sorted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("there is no integration named {}; {}", quoted(.name), existing_sentence(.existing))]
pub struct NoSuchIntegration {
    pub name: String,
    pub existing: Vec<String>,
}

impl NoSuchIntegration {
    /// The error for `name`, with the integrations the store holds.
    pub fn in_store(store: &dyn Store, name: &str) -> Result<NoSuchIntegration, StoreError> {
        let mut existing: Vec<String> = store.integrations()?.into_iter().map(|i| i.name).collect();
        existing.sort();
        Ok(NoSuchIntegration {
            name: name.to_owned(),
            existing,
        })
    }
}

fn existing_sentence(existing: &[String]) -> String {
    if existing.is_empty() {
        "none is set up yet: set one up first (`jira-auth setup`, or the console's set-up screens)"
            .to_owned()
    } else {
        let names: Vec<String> = existing
            .iter()
            .map(|name| crate::validate::text::sanitize(name, crate::validate::text::ID_CAP))
            .collect();
        format!("the integrations are: {}", names.join(", "))
    }
}

/// The integration named `name`, or [`NoSuchIntegration`] in the caller's error type.
pub fn integration<E>(store: &dyn Store, name: &str) -> Result<Integration, E>
where
    E: From<StoreError> + From<NoSuchIntegration>,
{
    match store.integration(name)? {
        Some(found) => Ok(found),
        None => Err(NoSuchIntegration::in_store(store, name)?.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sentence_lists_what_exists_or_says_there_is_none() {
        let none = NoSuchIntegration {
            name: "nope".into(),
            existing: Vec::new(),
        };
        assert_eq!(
            none.to_string(),
            "there is no integration named \"nope\"; none is set up yet: set one up first (`jira-auth setup`, or the console's set-up screens)"
        );
        let some = NoSuchIntegration {
            name: "nope".into(),
            existing: vec!["bots".into(), "jira".into()],
        };
        assert_eq!(
            some.to_string(),
            "there is no integration named \"nope\"; the integrations are: bots, jira"
        );
    }
}
