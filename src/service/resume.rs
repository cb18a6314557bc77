//! What resuming a stored, unverified exchange decides, apart from the calls to Atlassian
//! the agent makes between these steps: whether there is anything left to do, which site it
//! is stored for, and the last checks before its token set is written.

use crate::domain::{Mode, Site, Timestamp, TokenSet};
use crate::store::{Exchanged, Store, StoreError};

use super::authorize::{self, AuthorizeError, Authorized};
use super::links;
use crate::atlassian::resources::Myself;

/// Whether a stored exchange is still to be verified.
pub enum Standing {
    /// Its integration was removed or changed its mode: it ends, with this sentence.
    Changed(String),
    /// Its token set is stored already (its record is removed now): nothing is left to do.
    Stored(Box<TokenSet>),
    /// Still to be verified.
    Pending,
}

/// Where `exchanged` stands: its integration as it was, and its token set not yet written.
pub fn standing(store: &dyn Store, exchanged: &Exchanged) -> Result<Standing, StoreError> {
    let same_setup = store
        .integration(&exchanged.integration)?
        .is_some_and(|i| i.mode == exchanged.mode);
    let current = store.token_set(&exchanged.integration, &exchanged.principal)?;
    if !same_setup {
        return Ok(Standing::Changed(format!(
            "the integration {} was removed or changed its mode before this authorization was verified, so nothing was stored",
            crate::validate::text::quoted(&exchanged.integration)
        )));
    }
    match current.filter(|t| already_stored(t, exchanged)) {
        Some(tokens) => {
            store.remove_exchanged(&exchanged.integration, &exchanged.principal, &exchanged.id)?;
            Ok(Standing::Stored(Box::new(tokens)))
        }
        None => Ok(Standing::Pending),
    }
}

/// The site `exchanged` is stored for, among the `sites` its consent reaches.
pub fn site_choice(
    store: &dyn Store,
    exchanged: &Exchanged,
    sites: &[Site],
) -> Result<SiteChoice, StoreError> {
    let previous = store
        .token_set(&exchanged.integration, &exchanged.principal)?
        .and_then(|t| t.site);
    let for_user = match exchanged.mode {
        Mode::UserAuthorized => Some(links::site_for_user(store, &exchanged.integration, sites)?),
        Mode::PreAuthorized => None,
    };
    Ok(choose_on_resume(
        exchanged.mode,
        sites,
        previous.as_ref(),
        for_user,
    ))
}

/// How writing a verified exchange's token set ended.
pub enum Finished {
    /// An end user's id is held by another Atlassian account: refused, with the sentence.
    AccountChanged(String),
    /// A newer exchange replaced this one while Atlassian answered: it is the one to finish.
    Superseded,
    Done(Box<Authorized>),
}

/// Writes the token set of a verified exchange, unless a check says otherwise.
pub fn finish(
    store: &dyn Store,
    exchanged: &Exchanged,
    site: Site,
    myself: Myself,
    now: Timestamp,
) -> Result<Finished, AuthorizeError> {
    // A user id keeps the Atlassian account it was first granted by: a link forwarded to
    // someone else must not swap whose Jira the bot acts as.
    if let Some(sentence) = links::account_changed_for(
        store,
        &exchanged.integration,
        &exchanged.principal,
        &myself.account_id,
    )? {
        return Ok(Finished::AccountChanged(sentence));
    }
    let still = store
        .exchanged(&exchanged.integration, &exchanged.principal)?
        .is_some_and(|e| e.id == exchanged.id);
    if !still {
        return Ok(Finished::Superseded);
    }
    Ok(Finished::Done(Box::new(authorize::finish(
        store, exchanged, site, myself, now,
    )?)))
}

/// Where a resumed exchange is stored, from what is known without a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SiteChoice {
    Site(Site),
    Await,
    Refuse(String),
}

/// The site of a resumed exchange: for an end user, the rule of their integration (the site
/// its first consent fixed, see [`links::site_for_user`]); for the admin, the only site, or
/// the one the grant being replaced is on; otherwise a person chooses.
pub fn choose_on_resume(
    mode: Mode,
    sites: &[Site],
    previous: Option<&Site>,
    for_user: Option<Result<Site, String>>,
) -> SiteChoice {
    match (mode, for_user) {
        (Mode::UserAuthorized, Some(Ok(site))) => SiteChoice::Site(site),
        (Mode::UserAuthorized, Some(Err(sentence))) => SiteChoice::Refuse(sentence),
        _ => match sites {
            [] => SiteChoice::Refuse(AuthorizeError::NoSites.to_string()),
            [only] => SiteChoice::Site(only.clone()),
            _ => previous
                .and_then(|p| sites.iter().find(|s| s.id == p.id))
                .cloned()
                .map_or(SiteChoice::Await, SiteChoice::Site),
        },
    }
}

/// Whether `tokens` already holds what `exchanged` bought (an agent stored the token set and
/// died before removing the record), or something newer: either way nothing is left to do.
pub fn already_stored(tokens: &TokenSet, exchanged: &Exchanged) -> bool {
    tokens.access_token.expose() == exchanged.access_token.expose()
        || tokens
            .refresh_token
            .as_ref()
            .zip(exchanged.refresh_token.as_ref())
            .is_some_and(|(a, b)| a.expose() == b.expose())
        // Refreshed since it was stored, its tokens differ but its consent time names it.
        || tokens.consented_at >= exchanged.exchanged_at
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Principal, Secret};
    use crate::store::Exchanged;

    fn site(id: &str) -> Site {
        Site {
            id: id.into(),
            url: format!("https://{id}.atlassian.net"),
            name: id.into(),
        }
    }

    #[test]
    fn a_resumed_admin_exchange_takes_the_only_site_or_the_one_it_replaces() {
        let (a, b) = (site("acme"), site("beta"));
        let pre = Mode::PreAuthorized;
        assert_eq!(
            choose_on_resume(pre, std::slice::from_ref(&a), None, None),
            SiteChoice::Site(a.clone())
        );
        let both = [a.clone(), b.clone()];
        assert_eq!(choose_on_resume(pre, &both, None, None), SiteChoice::Await);
        assert_eq!(
            choose_on_resume(pre, &both, Some(&b), None),
            SiteChoice::Site(b.clone())
        );
        // A previous site the new consent does not reach decides nothing.
        assert_eq!(
            choose_on_resume(pre, &both, Some(&site("gamma")), None),
            SiteChoice::Await
        );
        assert!(matches!(
            choose_on_resume(pre, &[], None, None),
            SiteChoice::Refuse(_)
        ));
    }

    #[test]
    fn a_resumed_user_exchange_follows_its_integrations_site_rule() {
        let (a, b) = (site("acme"), site("beta"));
        let user = Mode::UserAuthorized;
        assert_eq!(
            choose_on_resume(user, &[a.clone(), b.clone()], None, Some(Ok(b.clone()))),
            SiteChoice::Site(b)
        );
        assert_eq!(
            choose_on_resume(user, &[a], None, Some(Err("elsewhere".into()))),
            SiteChoice::Refuse("elsewhere".into())
        );
    }

    fn exchanged(at: Timestamp) -> Exchanged {
        Exchanged {
            id: "x".into(),
            integration: "jira".into(),
            principal: Principal::Admin,
            mode: Mode::PreAuthorized,
            renewing: false,
            app_label: "the profile \"acme\"".into(),
            app_scopes: vec![],
            access_token: Secret::new("at-new"),
            expires_in: Some(3600),
            refresh_token: Some(Secret::new("rt-new")),
            granted_scopes: vec![],
            exchanged_at: at,
            link: None,
            sites: None,
            tries: 0,
            last_error: None,
            awaiting_site: false,
        }
    }

    fn tokens(access: &str, refresh: &str, consented_at: Timestamp) -> TokenSet {
        TokenSet {
            access_token: Secret::new(access),
            refresh_token: Some(Secret::new(refresh)),
            ..TokenSet::sample(consented_at)
        }
    }

    #[test]
    fn a_token_set_written_before_the_crash_is_not_written_again() {
        let at = Timestamp(1_700_000_000);
        let new = exchanged(at);
        assert!(already_stored(&tokens("at-new", "rt-old", at), &new));
        // Refreshed since it was stored: the consent time still names it.
        assert!(already_stored(&tokens("at-2", "rt-2", at), &new));
        assert!(already_stored(
            &tokens("at-3", "rt-3", at.plus_secs(5)),
            &new
        ));
        // The grant being replaced: older, other tokens.
        assert!(!already_stored(
            &tokens("at-old", "rt-old", at.plus_secs(-60)),
            &new
        ));
    }
}
