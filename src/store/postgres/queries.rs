//! The [`Store`] methods over SQL: each a query or one transaction, every write notifying the
//! other agents as it commits. What `PgStore` is and how it opens is in `mod.rs`.
//!
//! Lists sort by `COLLATE "C"`, byte order, as sled's keys do: the database's own collation
//! (often English, which folds case and skips punctuation) would give each backend its own
//! order, and `find_token_summary` its own first match.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::broadcast;

use super::{Failure, PgStore, decode, encode, schema};
use crate::domain::{
    Event, Integration, Link, LinkOutcome, Principal, Profile, Secret, Timestamp, TokenSet,
    TokenSummary,
};
use crate::store::contract::{Claim, Store, StoreNotice};
use crate::store::error::StoreError;
use crate::store::records::{Exchanged, ExchangedRecord, ProfileRecord, TokenRecord};
use crate::store::seal::Sealer;

/// Tells the other agents, in the writing transaction (sent when it commits).
async fn notify(client: &impl deadpool_postgres::GenericClient, what: &str) -> Result<(), Failure> {
    client
        .execute("SELECT pg_notify($1, $2)", &[&schema::CHANNEL, &what])
        .await?;
    Ok(())
}

fn clamp(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// A table of records by name: the same four statements for profiles and integrations,
/// every write notifying the other agents with the table's name.
#[derive(Clone, Copy)]
struct Named(&'static str);

const PROFILES: Named = Named("profiles");
const INTEGRATIONS: Named = Named("integrations");

impl Named {
    fn all(self, store: &PgStore) -> Result<Vec<Vec<u8>>, StoreError> {
        let sql = format!("SELECT record FROM {} ORDER BY name COLLATE \"C\"", self.0);
        store.run(move |client| async move {
            Ok(client
                .query(&sql, &[])
                .await?
                .iter()
                .map(|row| row.get(0))
                .collect())
        })
    }

    fn one(self, store: &PgStore, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let sql = format!("SELECT record FROM {} WHERE name = $1", self.0);
        let name = name.to_owned();
        store.run(move |client| async move {
            Ok(client
                .query_opt(&sql, &[&name])
                .await?
                .map(|row| row.get(0)))
        })
    }

    fn put(self, store: &PgStore, name: &str, record: Vec<u8>) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO {} (name, record) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET record = EXCLUDED.record",
            self.0
        );
        let (name, table) = (name.to_owned(), self.0);
        store.write(move |mut client| async move {
            let tx = client.transaction().await?;
            tx.execute(&sql, &[&name, &record]).await?;
            notify(&tx, table).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn remove(self, store: &PgStore, name: &str) -> Result<bool, StoreError> {
        let sql = format!("DELETE FROM {} WHERE name = $1", self.0);
        let (name, table) = (name.to_owned(), self.0);
        store.write(move |mut client| async move {
            let tx = client.transaction().await?;
            let removed = tx.execute(&sql, &[&name]).await?;
            notify(&tx, table).await?;
            tx.commit().await?;
            Ok(removed > 0)
        })
    }
}

impl Store for PgStore {
    fn profiles(&self) -> Result<Vec<Profile>, StoreError> {
        PROFILES
            .all(self)?
            .iter()
            .map(|bytes| decode::<ProfileRecord>(bytes, "profile")?.open(&self.sealer))
            .collect()
    }

    fn profile(&self, name: &str) -> Result<Option<Profile>, StoreError> {
        PROFILES
            .one(self, name)?
            .map(|bytes| decode::<ProfileRecord>(&bytes, name)?.open(&self.sealer))
            .transpose()
    }

    fn put_profile(&self, profile: &Profile) -> Result<(), StoreError> {
        let record = encode(&ProfileRecord::seal(profile, &self.sealer)?)?;
        PROFILES.put(self, &profile.name, record)
    }

    fn remove_profile(&self, name: &str) -> Result<bool, StoreError> {
        PROFILES.remove(self, name)
    }

    fn integrations(&self) -> Result<Vec<Integration>, StoreError> {
        INTEGRATIONS
            .all(self)?
            .iter()
            .map(|b| decode(b, "integration"))
            .collect()
    }

    fn integration(&self, name: &str) -> Result<Option<Integration>, StoreError> {
        INTEGRATIONS
            .one(self, name)?
            .map(|bytes| decode(&bytes, name))
            .transpose()
    }

    fn put_integration(&self, integration: &Integration) -> Result<(), StoreError> {
        INTEGRATIONS.put(self, &integration.name, encode(integration)?)
    }

    fn remove_integration(&self, name: &str) -> Result<bool, StoreError> {
        INTEGRATIONS.remove(self, name)
    }

    fn token_sets(&self) -> Result<Vec<TokenSet>, StoreError> {
        self.token_records()?
            .into_iter()
            .map(|record| record.open(&self.sealer))
            .collect()
    }

    fn token_summaries(&self) -> Result<Vec<TokenSummary>, StoreError> {
        self.token_records()?
            .into_iter()
            .map(TokenRecord::summary)
            .collect()
    }

    fn find_token_summary(
        &self,
        integration: &str,
        wanted: &mut dyn FnMut(&TokenSummary) -> bool,
    ) -> Result<Option<TokenSummary>, StoreError> {
        // Read a page at a time in key order, so that a question the first grants answer (a
        // receiver completing thousands of users asks one per user) costs a page, not all.
        let mut after = String::new();
        loop {
            let page = self.token_page(integration, &after)?;
            for (_, bytes) in &page {
                let summary = decode::<TokenRecord>(bytes, "token set")?.summary()?;
                if wanted(&summary) {
                    return Ok(Some(summary));
                }
            }
            match page.last() {
                Some((last, _)) if page.len() == TOKEN_PAGE => after.clone_from(last),
                _ => return Ok(None),
            }
        }
    }

    fn token_summary(
        &self,
        integration: &str,
        principal: &Principal,
    ) -> Result<Option<TokenSummary>, StoreError> {
        // One row by its key: a grant among 10,000 costs one row, not the integration's all.
        self.token_record(integration, principal)?
            .map(TokenRecord::summary)
            .transpose()
    }

    fn token_set(
        &self,
        integration: &str,
        principal: &Principal,
    ) -> Result<Option<TokenSet>, StoreError> {
        self.token_record(integration, principal)?
            .map(|record| record.open(&self.sealer))
            .transpose()
    }

    fn put_token_set(&self, tokens: &TokenSet) -> Result<(), StoreError> {
        let row = TokenRow::of(tokens, &self.sealer)?;
        self.write(|mut client| async move {
            let tx = client.transaction().await?;
            row.upsert(&tx).await?;
            notify(&tx, &format!("tokens:{}", row.integration)).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn put_token_set_if(
        &self,
        tokens: &TokenSet,
        from: Option<&Secret>,
    ) -> Result<bool, StoreError> {
        let row = TokenRow::of(tokens, &self.sealer)?;
        let from = from.map(|s| s.expose().to_owned());
        let sealer = Arc::clone(&self.sealer);
        self.write(move |mut client| async move {
            let tx = client.transaction().await?;
            let Some(old) = tx
                .query_opt(
                    "SELECT record FROM token_sets WHERE integration = $1 AND principal = $2 FOR UPDATE",
                    &[&row.integration, &row.principal],
                )
                .await?
            else {
                return Ok(false);
            };
            let stored = decode::<TokenRecord>(old.get(0), "token set")?.open(&sealer)?;
            if stored.refresh_token.as_ref().map(Secret::expose) != from.as_deref() {
                return Ok(false);
            }
            row.upsert(&tx).await?;
            notify(&tx, &format!("tokens:{}", row.integration)).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    fn remove_token_set(
        &self,
        integration: &str,
        principal: &Principal,
    ) -> Result<bool, StoreError> {
        let (integration, principal) = (integration.to_owned(), principal.key());
        self.write(|mut client| async move {
            let tx = client.transaction().await?;
            let removed = tx
                .execute(
                    "DELETE FROM token_sets WHERE integration = $1 AND principal = $2",
                    &[&integration, &principal],
                )
                .await?;
            notify(&tx, &format!("tokens:{integration}")).await?;
            tx.commit().await?;
            Ok(removed > 0)
        })
    }

    fn append_event(&self, event: &Event) -> Result<(), StoreError> {
        let record = encode(event)?;
        let at = event.at.0;
        self.write(move |mut client| async move {
            let tx = client.transaction().await?;
            tx.execute(
                "INSERT INTO events (at, record) VALUES ($1, $2)",
                &[&at, &record],
            )
            .await?;
            notify(&tx, "events").await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn events(&self, limit: usize) -> Result<Vec<Event>, StoreError> {
        let limit = clamp(limit);
        let rows: Vec<Vec<u8>> = self.run(move |client| async move {
            Ok(client
                .query(
                    "SELECT record FROM events ORDER BY id DESC LIMIT $1",
                    &[&limit],
                )
                .await?
                .iter()
                .map(|row| row.get(0))
                .collect())
        })?;
        rows.iter().map(|b| decode(b, "event")).collect()
    }

    fn trim_events(
        &self,
        before: Timestamp,
        keep: usize,
        at_most: usize,
    ) -> Result<usize, StoreError> {
        if at_most == 0 {
            return Ok(0);
        }
        let (keep, at_most, before) = (clamp(keep), clamp(at_most), before.0);
        // As sled does: from the oldest end, every event beyond the newest `keep`, and older
        // ones while they are older than `before`, stopping at the first that is neither.
        self.write(move |mut client| async move {
            let tx = client.transaction().await?;
            let beyond: Option<i64> = tx
                .query_opt(
                    "SELECT id FROM events ORDER BY id DESC OFFSET $1 LIMIT 1",
                    &[&keep],
                )
                .await?
                .map(|row| row.get(0));
            let oldest = tx
                .query(
                    "SELECT id, at FROM events ORDER BY id LIMIT $1",
                    &[&at_most],
                )
                .await?;
            let mut due: Vec<i64> = Vec::new();
            for row in &oldest {
                let (id, at): (i64, i64) = (row.get(0), row.get(1));
                let over_count = beyond.is_some_and(|last| id <= last);
                if !over_count && at >= before {
                    break;
                }
                due.push(id);
            }
            if due.is_empty() {
                return Ok(0);
            }
            let removed = tx
                .execute("DELETE FROM events WHERE id = ANY($1)", &[&due])
                .await?;
            tx.commit().await?;
            Ok(usize::try_from(removed).unwrap_or(usize::MAX))
        })
    }

    fn oldest_event(&self) -> Result<Option<Timestamp>, StoreError> {
        self.run(|client| async move {
            Ok(client
                .query_opt("SELECT at FROM events ORDER BY id LIMIT 1", &[])
                .await?
                .map(|row| Timestamp(row.get(0))))
        })
    }

    fn refresh_started(
        &self,
        integration: &str,
        principal: &Principal,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.not_moved()?;
        let (integration, principal) = (integration.to_owned(), principal.key());
        self.write(move |client| async move {
            client
                .execute(
                    "INSERT INTO refreshing (integration, principal, started_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (integration, principal) DO UPDATE SET started_at = EXCLUDED.started_at",
                    &[&integration, &principal, &at.0],
                )
                .await?;
            Ok(())
        })
    }

    fn refresh_done(&self, integration: &str, principal: &Principal) -> Result<(), StoreError> {
        let (integration, principal) = (integration.to_owned(), principal.key());
        self.write(move |client| async move {
            client
                .execute(
                    "DELETE FROM refreshing WHERE integration = $1 AND principal = $2",
                    &[&integration, &principal],
                )
                .await?;
            Ok(())
        })
    }

    fn refreshes_interrupted(&self) -> Result<Vec<(String, Principal, Timestamp)>, StoreError> {
        let rows: Vec<(String, String, i64)> = self.run(|client| async move {
            Ok(client
                .query(
                    "SELECT integration, principal, started_at FROM refreshing \
                     ORDER BY integration COLLATE \"C\", principal COLLATE \"C\"",
                    &[],
                )
                .await?
                .iter()
                .map(|row| (row.get(0), row.get(1), row.get(2)))
                .collect())
        })?;
        rows.into_iter()
            .map(|(integration, principal, at)| {
                let principal =
                    Principal::from_key(&principal).ok_or_else(|| StoreError::Corrupt {
                        record: "an unfinished refresh".into(),
                    })?;
                Ok((integration, principal, Timestamp(at)))
            })
            .collect()
    }

    fn put_link(&self, digest: &str, link: &Link) -> Result<(), StoreError> {
        let record = encode(link)?;
        let (digest, expires_at) = (digest.to_owned(), link.expires_at.0);
        self.write(move |mut client| async move {
            let tx = client.transaction().await?;
            tx.execute(
                "INSERT INTO links (digest, record, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (digest) DO UPDATE SET record = EXCLUDED.record, expires_at = EXCLUDED.expires_at",
                &[&digest, &record, &expires_at],
            )
            .await?;
            notify(&tx, "links").await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn link(&self, digest: &str) -> Result<Option<Link>, StoreError> {
        let digest = digest.to_owned();
        let row: Option<Vec<u8>> = self.run(move |client| async move {
            Ok(client
                .query_opt("SELECT record FROM links WHERE digest = $1", &[&digest])
                .await?
                .map(|row| row.get(0)))
        })?;
        row.map(|b| decode(&b, "link")).transpose()
    }

    fn links(&self) -> Result<Vec<(String, Link)>, StoreError> {
        let rows: Vec<(String, Vec<u8>)> = self.run(|client| async move {
            Ok(client
                .query(
                    "SELECT digest, record FROM links ORDER BY digest COLLATE \"C\"",
                    &[],
                )
                .await?
                .iter()
                .map(|row| (row.get(0), row.get(1)))
                .collect())
        })?;
        rows.into_iter()
            .map(|(digest, bytes)| Ok((digest, decode(&bytes, "link")?)))
            .collect()
    }

    fn claim_link(&self, digest: &str, now: Timestamp) -> Result<Claim, StoreError> {
        self.not_moved()?;
        let digest = digest.to_owned();
        // One transaction, the row locked: of two callbacks on two hosts, one wins.
        self.write(move |mut client| async move {
            let tx = client.transaction().await?;
            let Some(row) = tx
                .query_opt(
                    "SELECT record FROM links WHERE digest = $1 FOR UPDATE",
                    &[&digest],
                )
                .await?
            else {
                return Ok(Claim::Unknown);
            };
            let link: Link = decode(row.get(0), "link")?;
            if link.outcome != LinkOutcome::Pending || link.is_expired(now) {
                return Ok(Claim::Spent(link));
            }
            let claimed = Link {
                outcome: LinkOutcome::Claimed { at: now },
                ..link.clone()
            };
            tx.execute(
                "UPDATE links SET record = $2 WHERE digest = $1",
                &[&digest, &encode(&claimed)?],
            )
            .await?;
            notify(&tx, "links").await?;
            tx.commit().await?;
            Ok(Claim::Won(link))
        })
    }

    fn remove_links_expired(&self, before: Timestamp) -> Result<usize, StoreError> {
        self.write(move |mut client| async move {
            let tx = client.transaction().await?;
            let removed = tx
                .execute("DELETE FROM links WHERE expires_at < $1", &[&before.0])
                .await?;
            if removed > 0 {
                notify(&tx, "links").await?;
            }
            tx.commit().await?;
            Ok(usize::try_from(removed).unwrap_or(usize::MAX))
        })
    }

    /// The database has no local disk to fill: a store whose records moved is the one
    /// reason to refuse an outcome here.
    fn room_for_outcome(&self) -> Result<(), StoreError> {
        self.not_moved()
    }

    fn disk_full(&self) -> Option<String> {
        None
    }

    fn recover_space(&self) -> bool {
        true
    }

    fn put_exchanged(&self, exchanged: &Exchanged) -> Result<Option<Exchanged>, StoreError> {
        let record = encode(&ExchangedRecord::seal(exchanged, &self.sealer)?)?;
        let (integration, principal, id, at) = (
            exchanged.integration.clone(),
            exchanged.principal.key(),
            exchanged.id.clone(),
            exchanged.exchanged_at.0,
        );
        // As sled's transaction does: whoever replaces an exchange gets it back, even when two
        // are stored at once on an empty grant. A lock on no row guards nothing, so the insert
        // comes first (it waits for a concurrent one to commit, then yields), and only a row
        // that is there is locked, read and replaced.
        let old: Option<Vec<u8>> = self.write(move |mut client| async move {
            let tx = client.transaction().await?;
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] =
                [&integration, &principal, &id, &at, &record];
            for _ in 0..3 {
                let inserted = tx
                    .query_opt(
                        "INSERT INTO exchanged (integration, principal, id, exchanged_at, record) \
                         VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (integration, principal) DO NOTHING RETURNING 1",
                        &params,
                    )
                    .await?
                    .is_some();
                let old = if inserted {
                    None
                } else {
                    let Some(row) = tx
                        .query_opt(
                            "SELECT record FROM exchanged WHERE integration = $1 AND principal = $2 FOR UPDATE",
                            &params[..2],
                        )
                        .await?
                    else {
                        // Ended between the two statements: store it afresh.
                        continue;
                    };
                    tx.execute(
                        "UPDATE exchanged SET id = $3, exchanged_at = $4, record = $5 \
                         WHERE integration = $1 AND principal = $2",
                        &params,
                    )
                    .await?;
                    Some(row.get(0))
                };
                notify(&tx, "exchanged").await?;
                tx.commit().await?;
                return Ok(old);
            }
            Err(StoreError::Backend(
                "an exchange was stored and ended again three times while this one was written; try again".into(),
            )
            .into())
        })?;
        old.map(|b| decode::<ExchangedRecord>(&b, "exchange")?.open(&self.sealer))
            .transpose()
    }

    fn update_exchanged(&self, exchanged: &Exchanged) -> Result<bool, StoreError> {
        let record = encode(&ExchangedRecord::seal(exchanged, &self.sealer)?)?;
        let (integration, principal, id, at) = (
            exchanged.integration.clone(),
            exchanged.principal.key(),
            exchanged.id.clone(),
            exchanged.exchanged_at.0,
        );
        self.write(move |mut client| async move {
            let tx = client.transaction().await?;
            let updated = tx
                .execute(
                    "UPDATE exchanged SET record = $4, exchanged_at = $5 WHERE integration = $1 AND principal = $2 AND id = $3",
                    &[&integration, &principal, &id, &record, &at],
                )
                .await?;
            notify(&tx, "exchanged").await?;
            tx.commit().await?;
            Ok(updated > 0)
        })
    }

    fn remove_exchanged(
        &self,
        integration: &str,
        principal: &Principal,
        id: &str,
    ) -> Result<bool, StoreError> {
        let (integration, principal, id) = (integration.to_owned(), principal.key(), id.to_owned());
        self.write(move |mut client| async move {
            let tx = client.transaction().await?;
            let removed = tx
                .execute(
                    "DELETE FROM exchanged WHERE integration = $1 AND principal = $2 AND id = $3",
                    &[&integration, &principal, &id],
                )
                .await?;
            notify(&tx, "exchanged").await?;
            tx.commit().await?;
            Ok(removed > 0)
        })
    }

    fn exchanged(
        &self,
        integration: &str,
        principal: &Principal,
    ) -> Result<Option<Exchanged>, StoreError> {
        let (integration, principal) = (integration.to_owned(), principal.key());
        let row: Option<Vec<u8>> = self.run(move |client| async move {
            Ok(client
                .query_opt(
                    "SELECT record FROM exchanged WHERE integration = $1 AND principal = $2",
                    &[&integration, &principal],
                )
                .await?
                .map(|row| row.get(0)))
        })?;
        row.map(|b| decode::<ExchangedRecord>(&b, "exchange")?.open(&self.sealer))
            .transpose()
    }

    fn exchanged_all(&self) -> Result<Vec<Exchanged>, StoreError> {
        let rows: Vec<Vec<u8>> = self.run(|client| async move {
            Ok(client
                .query("SELECT record FROM exchanged ORDER BY exchanged_at, integration COLLATE \"C\", principal COLLATE \"C\"", &[])
                .await?
                .iter()
                .map(|row| row.get(0))
                .collect())
        })?;
        let mut all = rows
            .iter()
            .map(|b| decode::<ExchangedRecord>(b, "exchange")?.open(&self.sealer))
            .collect::<Result<Vec<_>, _>>()?;
        all.sort_by_key(|e| e.exchanged_at);
        Ok(all)
    }

    fn moved_to(&self) -> Result<Option<String>, StoreError> {
        self.run(|client| async move {
            Ok(client
                .query_opt(
                    "SELECT value FROM jira_auth_meta WHERE key = 'moved_to'",
                    &[],
                )
                .await?
                .map(|row| row.get(0)))
        })
    }

    fn set_moved(&self, to: Option<&str>) -> Result<(), StoreError> {
        let to = to.map(str::to_owned);
        self.write(move |mut client| async move {
            let tx = client.transaction().await?;
            match &to {
                Some(to) => {
                    tx.execute(
                        "INSERT INTO jira_auth_meta (key, value) VALUES ('moved_to', $1) \
                         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                        &[to],
                    )
                    .await?;
                }
                None => {
                    tx.execute("DELETE FROM jira_auth_meta WHERE key = 'moved_to'", &[])
                        .await?;
                }
            }
            notify(&tx, "moved").await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn take_grant(
        &self,
        integration: &str,
        principal: &Principal,
        holder: &str,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let (integration, principal, holder) =
            (integration.to_owned(), principal.key(), holder.to_owned());
        let secs = lease.as_secs_f64();
        // The database's clock judges every lease, so the hosts' clocks need not agree.
        self.run(move |client| async move {
            Ok(client
                .query_opt(
                    "INSERT INTO grant_leases (integration, principal, holder, expires_at) \
                     VALUES ($1, $2, $3, now() + make_interval(secs => $4)) \
                     ON CONFLICT (integration, principal) DO UPDATE \
                     SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at \
                     WHERE grant_leases.expires_at < now() OR grant_leases.holder = EXCLUDED.holder \
                     RETURNING holder",
                    &[&integration, &principal, &holder, &secs],
                )
                .await?
                .is_some())
        })
    }

    fn release_grant(
        &self,
        integration: &str,
        principal: &Principal,
        holder: &str,
    ) -> Result<(), StoreError> {
        let (integration, principal, holder) =
            (integration.to_owned(), principal.key(), holder.to_owned());
        self.run(move |client| async move {
            client
                .execute(
                    "DELETE FROM grant_leases WHERE integration = $1 AND principal = $2 AND holder = $3",
                    &[&integration, &principal, &holder],
                )
                .await?;
            Ok(())
        })
    }

    fn keepalive_slot(&self, gap: Duration) -> Result<Option<Duration>, StoreError> {
        let secs = gap.as_secs_f64();
        // One row holds the fleet's next free slot; each agent takes the next one and waits
        // for it, by the database's clock.
        let wait: f64 = self.run(move |client| async move {
            Ok(client
                .query_one(
                    "INSERT INTO keepalive_pace (one, next_at) VALUES (true, now() + make_interval(secs => $1)) \
                     ON CONFLICT (one) DO UPDATE \
                     SET next_at = greatest(keepalive_pace.next_at, now()) + make_interval(secs => $1) \
                     RETURNING extract(epoch FROM (next_at - now()))::float8 - $1",
                    &[&secs],
                )
                .await?
                .get(0))
        })?;
        Ok(Some(
            Duration::try_from_secs_f64(wait.max(0.0)).unwrap_or_default(),
        ))
    }

    fn shared(&self) -> bool {
        true
    }

    fn notices(&self) -> Option<broadcast::Receiver<StoreNotice>> {
        Some(self.notices.subscribe())
    }

    fn version(&self) -> Option<u64> {
        // While the notices are lost another agent's write would go unseen.
        self.listening
            .load(Ordering::SeqCst)
            .then(|| self.version.load(Ordering::SeqCst))
    }
}

/// How many token records [`Store::find_token_summary`] reads at a time.
const TOKEN_PAGE: usize = 200;

impl PgStore {
    /// One grant's sealed record, by its key.
    fn token_record(
        &self,
        integration: &str,
        principal: &Principal,
    ) -> Result<Option<TokenRecord>, StoreError> {
        let (integration, principal) = (integration.to_owned(), principal.key());
        let row: Option<Vec<u8>> = self.run(|client| async move {
            Ok(client
                .query_opt(
                    "SELECT record FROM token_sets WHERE integration = $1 AND principal = $2",
                    &[&integration, &principal],
                )
                .await?
                .map(|row| row.get(0)))
        })?;
        row.map(|bytes| decode(&bytes, "token set")).transpose()
    }

    /// The next [`TOKEN_PAGE`] token records of `integration` after the principal `after`
    /// (`""` is before every key), in key order, with their principals.
    fn token_page(
        &self,
        integration: &str,
        after: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let (integration, after) = (integration.to_owned(), after.to_owned());
        let limit = clamp(TOKEN_PAGE);
        self.run(move |client| async move {
            Ok(client
                .query(
                    "SELECT principal, record FROM token_sets \
                     WHERE integration = $1 AND principal COLLATE \"C\" > $2 \
                     ORDER BY principal COLLATE \"C\" LIMIT $3",
                    &[&integration, &after, &limit],
                )
                .await?
                .iter()
                .map(|row| (row.get(0), row.get(1)))
                .collect())
        })
    }

    /// Every token record, in key order.
    fn token_records(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let rows: Vec<Vec<u8>> = self.run(move |client| async move {
            Ok(client
                .query(
                    "SELECT record FROM token_sets ORDER BY integration COLLATE \"C\", principal COLLATE \"C\"",
                    &[],
                )
                .await?
                .iter()
                .map(|row| row.get(0))
                .collect())
        })?;
        rows.iter().map(|b| decode(b, "token set")).collect()
    }
}

/// A token set as its row holds it: the sealed record and the plain columns beside it.
struct TokenRow {
    integration: String,
    principal: String,
    record: Vec<u8>,
    access_expires_at: i64,
    consented_at: i64,
    rotated_at: i64,
    has_refresh_token: bool,
    reauthorization_required: bool,
    site_url: Option<String>,
    last_error: Option<String>,
}

impl TokenRow {
    fn of(tokens: &TokenSet, sealer: &Sealer) -> Result<TokenRow, StoreError> {
        Ok(TokenRow {
            integration: tokens.integration.clone(),
            principal: tokens.principal.key(),
            record: encode(&TokenRecord::seal(tokens, sealer)?)?,
            access_expires_at: tokens.access_expires_at.0,
            consented_at: tokens.consented_at.0,
            rotated_at: tokens.rotated_at.0,
            has_refresh_token: tokens.refresh_token.is_some(),
            reauthorization_required: tokens.reauthorization_required,
            site_url: tokens.site.as_ref().map(|s| s.url.clone()),
            last_error: tokens.last_error.clone(),
        })
    }

    async fn upsert(&self, tx: &deadpool_postgres::Transaction<'_>) -> Result<(), Failure> {
        tx.execute(
            "INSERT INTO token_sets (integration, principal, record, access_expires_at, consented_at, rotated_at, \
             has_refresh_token, reauthorization_required, site_url, last_error) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (integration, principal) DO UPDATE SET record = EXCLUDED.record, \
             access_expires_at = EXCLUDED.access_expires_at, consented_at = EXCLUDED.consented_at, \
             rotated_at = EXCLUDED.rotated_at, has_refresh_token = EXCLUDED.has_refresh_token, \
             reauthorization_required = EXCLUDED.reauthorization_required, site_url = EXCLUDED.site_url, \
             last_error = EXCLUDED.last_error",
            &[
                &self.integration,
                &self.principal,
                &self.record,
                &self.access_expires_at,
                &self.consented_at,
                &self.rotated_at,
                &self.has_refresh_token,
                &self.reauthorization_required,
                &self.site_url,
                &self.last_error,
            ],
        )
        .await?;
        Ok(())
    }
}
