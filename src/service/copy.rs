//! `store copy`: every record of one store written into another and read back, one by one,
//! through the same key, before the source is marked moved. The marking comes first (the
//! caller sets it before calling [`copy`], and clears it if the copy fails), so no refresh
//! or code exchange can change the source while its records travel: two stores never rotate
//! one grant.

use crate::domain::Principal;
use crate::exit::{Exit, Exits};
use crate::store::{Store, StoreError};

/// What a copy wrote, each record read back and compared.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Copied {
    pub profiles: usize,
    pub integrations: usize,
    /// Token sets: each one unsealed from the target and compared with the source's.
    pub grants: usize,
    pub links: usize,
    pub exchanges: usize,
    pub events: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(
        "{target} already holds {what}; copy into an empty store, or pass --force to write over what is there"
    )]
    NotEmpty { target: String, what: String },
    #[error(
        "the copy in {target} does not match this store: {what}. This store is left as it was (not marked moved); look at the target before trying again"
    )]
    Mismatch { target: String, what: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Exits for CopyError {
    fn exit(&self) -> Exit {
        match self {
            CopyError::NotEmpty { .. } => Exit::Usage,
            CopyError::Mismatch { .. } => Exit::Failed,
            CopyError::Store(e) => e.exit(),
        }
    }
}

impl Copied {
    /// The sentence both faces print.
    pub fn sentence(&self, target: &str) -> String {
        format!(
            "copied {} profile(s), {} integration(s), {} grant(s), {} link(s), {} unfinished authorization(s) and {} event(s) to {target}, each read back and compared; this store is marked moved and refreshes nothing more. Point JIRA_AUTH_STORE (or --store) at {target} on every host, and restart their agents (`jira-auth agent stop`)",
            self.profiles, self.integrations, self.grants, self.links, self.exchanges, self.events
        )
    }
}

/// Copies every record of `from` into `to` (refusing a target that holds any profile,
/// integration or grant unless `force`), then reads each back from `to` and compares.
pub fn copy(
    from: &dyn Store,
    to: &dyn Store,
    target: &str,
    force: bool,
) -> Result<Copied, CopyError> {
    if !force {
        let held = [
            ("profiles", to.profiles()?.len()),
            ("integrations", to.integrations()?.len()),
            ("grants", to.token_summaries()?.len()),
        ];
        let what: Vec<String> = held
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(kind, n)| format!("{n} {kind}"))
            .collect();
        if !what.is_empty() {
            return Err(CopyError::NotEmpty {
                target: target.to_owned(),
                what: what.join(", "),
            });
        }
    }
    let records = Records::read(from)?;
    records.write(to)?;
    let copied = records.verify(to, target)?;
    let (counted_from, counted_to) = (from.token_summaries()?.len(), to.token_summaries()?.len());
    if !force && counted_from != counted_to {
        return Err(CopyError::Mismatch {
            target: target.to_owned(),
            what: format!("{counted_to} grants there, {counted_from} here"),
        });
    }
    Ok(copied)
}

fn principal_words(principal: &Principal) -> String {
    match principal {
        Principal::Admin => "everyone (pre-authorized)".to_owned(),
        Principal::User(id) => format!("user {}", crate::validate::text::quoted(id)),
    }
}

/// Every record of a store, read once.
struct Records {
    profiles: Vec<crate::domain::Profile>,
    integrations: Vec<crate::domain::Integration>,
    grants: Vec<crate::domain::TokenSet>,
    links: Vec<(String, crate::domain::Link)>,
    exchanges: Vec<crate::store::Exchanged>,
    marks: Vec<(String, Principal, crate::domain::Timestamp)>,
    /// Newest first, as the trail gives them.
    events: Vec<crate::domain::Event>,
}

impl Records {
    fn read(from: &dyn Store) -> Result<Records, StoreError> {
        Ok(Records {
            profiles: from.profiles()?,
            integrations: from.integrations()?,
            grants: from.token_sets()?,
            links: from.links()?,
            exchanges: from.exchanged_all()?,
            marks: from.refreshes_interrupted()?,
            events: from.events(usize::MAX)?,
        })
    }

    fn write(&self, to: &dyn Store) -> Result<(), StoreError> {
        for profile in &self.profiles {
            to.put_profile(profile)?;
        }
        for integration in &self.integrations {
            to.put_integration(integration)?;
        }
        for tokens in &self.grants {
            to.put_token_set(tokens)?;
        }
        for (digest, link) in &self.links {
            to.put_link(digest, link)?;
        }
        for exchanged in &self.exchanges {
            to.put_exchanged(exchanged)?;
        }
        for (integration, principal, at) in &self.marks {
            to.refresh_started(integration, principal, *at)?;
        }
        // Appended oldest first, so the copy keeps the trail's order.
        for event in self.events.iter().rev() {
            to.append_event(event)?;
        }
        Ok(())
    }

    /// Each record read back from `to` and compared with this copy.
    fn verify(&self, to: &dyn Store, target: &str) -> Result<Copied, CopyError> {
        let mut copied = Copied::default();
        let mismatch = |what: String| CopyError::Mismatch {
            target: target.to_owned(),
            what,
        };
        for profile in &self.profiles {
            if to.profile(&profile.name)?.as_ref() != Some(profile) {
                return Err(mismatch(format!("profile {}", profile.name)));
            }
            copied.profiles += 1;
        }
        for integration in &self.integrations {
            if to.integration(&integration.name)?.as_ref() != Some(integration) {
                return Err(mismatch(format!("integration {}", integration.name)));
            }
            copied.integrations += 1;
        }
        for tokens in &self.grants {
            if to
                .token_set(&tokens.integration, &tokens.principal)?
                .as_ref()
                != Some(tokens)
            {
                return Err(mismatch(format!(
                    "the grant of {} for {}",
                    tokens.integration,
                    principal_words(&tokens.principal)
                )));
            }
            copied.grants += 1;
        }
        for (digest, link) in &self.links {
            if to.link(digest)?.as_ref() != Some(link) {
                return Err(mismatch(format!("a link of {}", link.integration)));
            }
            copied.links += 1;
        }
        for exchanged in &self.exchanges {
            if to
                .exchanged(&exchanged.integration, &exchanged.principal)?
                .as_ref()
                != Some(exchanged)
            {
                return Err(mismatch(format!(
                    "an unfinished authorization of {}",
                    exchanged.integration
                )));
            }
            copied.exchanges += 1;
        }
        let written = to.events(usize::MAX)?;
        // With --force the target may have held events of its own: the copied ones are newest.
        if written.len() < self.events.len() || written[..self.events.len()] != self.events[..] {
            return Err(mismatch(format!(
                "the audit trail ({} events read back of {})",
                written.len().min(self.events.len()),
                self.events.len()
            )));
        }
        copied.events = self.events.len();
        Ok(copied)
    }
}
