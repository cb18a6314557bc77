//! The repository the services work against ([`Store`]), and what its answers are made of.
//! A leaf: both backends implement it without importing the module that declares them.

use crate::domain::{
    Event, Integration, Link, Principal, Profile, Timestamp, TokenSet, TokenSummary,
};

use super::error::StoreError;
use super::records::Exchanged;

/// The repository the services work against. Writes return only after the data is durable.
pub trait Store: Send + Sync {
    fn profiles(&self) -> Result<Vec<Profile>, StoreError>;
    fn profile(&self, name: &str) -> Result<Option<Profile>, StoreError>;
    fn put_profile(&self, profile: &Profile) -> Result<(), StoreError>;
    /// `true` when there was such a profile.
    fn remove_profile(&self, name: &str) -> Result<bool, StoreError>;

    fn integrations(&self) -> Result<Vec<Integration>, StoreError>;
    fn integration(&self, name: &str) -> Result<Option<Integration>, StoreError>;
    fn put_integration(&self, integration: &Integration) -> Result<(), StoreError>;
    fn remove_integration(&self, name: &str) -> Result<bool, StoreError>;

    fn token_sets(&self) -> Result<Vec<TokenSet>, StoreError>;
    /// Every token set without its secrets: nothing is unsealed.
    fn token_summaries(&self) -> Result<Vec<TokenSummary>, StoreError>;
    /// The first token set of `integration`, without its secrets, that `wanted` accepts;
    /// reading stops there, so a question one grant answers costs one grant's read.
    fn find_token_summary(
        &self,
        integration: &str,
        wanted: &mut dyn FnMut(&TokenSummary) -> bool,
    ) -> Result<Option<TokenSummary>, StoreError>;
    /// One grant without its secrets: nothing is unsealed.
    fn token_summary(
        &self,
        integration: &str,
        principal: &Principal,
    ) -> Result<Option<TokenSummary>, StoreError> {
        self.find_token_summary(integration, &mut |t| &t.principal == principal)
    }
    fn token_set(
        &self,
        integration: &str,
        principal: &Principal,
    ) -> Result<Option<TokenSet>, StoreError>;
    fn put_token_set(&self, tokens: &TokenSet) -> Result<(), StoreError>;
    /// Writes the outcome of a refresh only while the store still holds the grant that
    /// refresh began from (its refresh token was `from`), in one transaction; `false` when the
    /// grant was deleted or replaced (a new consent) meanwhile, and nothing is written.
    fn put_token_set_if(
        &self,
        tokens: &TokenSet,
        from: Option<&crate::domain::Secret>,
    ) -> Result<bool, StoreError>;
    fn remove_token_set(
        &self,
        integration: &str,
        principal: &Principal,
    ) -> Result<bool, StoreError>;

    fn append_event(&self, event: &Event) -> Result<(), StoreError>;
    /// The newest `limit` events, newest first.
    fn events(&self, limit: usize) -> Result<Vec<Event>, StoreError>;
    /// Removes events oldest first: those before `before`, and those beyond the newest
    /// `keep`, at most `at_most` in one call so a caller can bound each step. Returns how
    /// many went; fewer than `at_most` means nothing more is due.
    fn trim_events(
        &self,
        before: Timestamp,
        keep: usize,
        at_most: usize,
    ) -> Result<usize, StoreError>;
    /// When the oldest kept event happened; `None` while the trail is empty.
    fn oldest_event(&self) -> Result<Option<Timestamp>, StoreError>;

    /// Notes, durably, that a refresh of this grant is about to reach Atlassian: if the
    /// process dies before [`Store::refresh_done`], the next one retries within Atlassian's
    /// reuse leeway instead of leaving the rotation unclaimed.
    fn refresh_started(
        &self,
        integration: &str,
        principal: &Principal,
        at: crate::domain::Timestamp,
    ) -> Result<(), StoreError>;
    fn refresh_done(&self, integration: &str, principal: &Principal) -> Result<(), StoreError>;
    /// Refreshes that started and never finished (the process died in between).
    fn refreshes_interrupted(
        &self,
    ) -> Result<Vec<(String, Principal, crate::domain::Timestamp)>, StoreError>;

    /// Saves a link under `digest` (of its state), replacing what was there.
    fn put_link(&self, digest: &str, link: &Link) -> Result<(), StoreError>;
    fn link(&self, digest: &str) -> Result<Option<Link>, StoreError>;
    /// Every stored link with its digest.
    fn links(&self) -> Result<Vec<(String, Link)>, StoreError>;
    /// Spends a pending link atomically: of two callbacks carrying one state, one wins.
    fn claim_link(&self, digest: &str, now: Timestamp) -> Result<Claim, StoreError>;
    /// Forgets links that expired before `before`; returns how many.
    fn remove_links_expired(&self, before: Timestamp) -> Result<usize, StoreError>;

    /// Before asking Atlassian for what it rotates or spends (a refresh, a code exchange):
    /// `Ok` when the outcome can be written, because the disk has room or a ballast to free.
    fn room_for_outcome(&self) -> Result<(), StoreError>;
    /// The sentence for a full disk, while the disk is full.
    fn disk_full(&self) -> Option<String>;
    /// Looks for room again (and makes the ballast again); `true` when the disk is not full.
    fn recover_space(&self) -> bool;
    /// Writes (sealed, flushed) what a code exchange bought, before anything else is asked
    /// of Atlassian; replaces an older exchange of the same grant and returns it.
    fn put_exchanged(&self, exchanged: &Exchanged) -> Result<Option<Exchanged>, StoreError>;
    /// Rewrites an exchange (its sites, tries, state) only while it is still the one stored
    /// for its grant; `false` when a newer exchange replaced it or it was ended.
    fn update_exchanged(&self, exchanged: &Exchanged) -> Result<bool, StoreError>;
    /// Removes the exchange `id` of this grant, and only that one; `true` when it was there.
    fn remove_exchanged(
        &self,
        integration: &str,
        principal: &Principal,
        id: &str,
    ) -> Result<bool, StoreError>;
    /// The exchange stored for this grant, if any.
    fn exchanged(
        &self,
        integration: &str,
        principal: &Principal,
    ) -> Result<Option<Exchanged>, StoreError>;
    /// Every stored exchange, oldest first.
    fn exchanged_all(&self) -> Result<Vec<Exchanged>, StoreError>;

    /// Where this store's records were copied to (`store copy`), once they were: a store
    /// that moved takes no new outcome (no refresh starts, no code is exchanged), so two
    /// stores never rotate one grant.
    fn moved_to(&self) -> Result<Option<String>, StoreError>;
    /// Marks the store moved to `to` (what may be shown of the target), or not (`None`),
    /// durably.
    fn set_moved(&self, to: Option<&str>) -> Result<(), StoreError>;

    /// Takes this grant for one refresh across every agent that shares the store, for at most
    /// `lease` (a holder that dies frees it then): `false` while another holder has it. A
    /// store one agent alone opens has nobody to share with, and always gives it.
    fn take_grant(
        &self,
        _integration: &str,
        _principal: &Principal,
        _holder: &str,
        _lease: std::time::Duration,
    ) -> Result<bool, StoreError> {
        Ok(true)
    }

    /// Gives the grant back, if `holder` still has it.
    fn release_grant(
        &self,
        _integration: &str,
        _principal: &Principal,
        _holder: &str,
    ) -> Result<(), StoreError> {
        Ok(())
    }

    /// For a store several agents share: how long this agent waits before its next
    /// keep-alive refresh, so that the fleet together keeps `gap` between any two of them.
    /// `None`: one agent alone keeps its own pace.
    fn keepalive_slot(
        &self,
        _gap: std::time::Duration,
    ) -> Result<Option<std::time::Duration>, StoreError> {
        Ok(None)
    }

    /// Whether other agents (on other hosts) write this store too.
    fn shared(&self) -> bool {
        false
    }

    /// What other agents of a shared store change, as it happens; `None` for a store only
    /// this process writes.
    fn notices(&self) -> Option<tokio::sync::broadcast::Receiver<StoreNotice>> {
        None
    }

    /// A number that moves on before and after every write, so a caller may keep what it
    /// derived from a read while two readings, one before its read and one after, agree
    /// with the current one. `None`: this store cannot tell (others write it too).
    fn version(&self) -> Option<u64> {
        None
    }
}

/// A change another agent of a shared store made, or the news that changes may be missed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreNotice {
    /// Something was written: what (`tokens`, `links`, `profiles`, ...), for the log.
    Changed(String),
    /// The channel that carries changes was lost (the sentence says why): until it is back,
    /// what was read may be stale.
    Lost(String),
    /// The channel is back: read everything again.
    Back,
}

/// What claiming a link found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// No link has this state.
    Unknown,
    /// It was pending and is now this caller's to complete.
    Won(Link),
    /// It was spent, finished or expired already: as it is.
    Spent(Link),
}
