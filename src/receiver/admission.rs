//! Who may hold one of the receiver's connections: a budget sized from the open-files limit,
//! shared so that one address cannot take it all. An address that is not a trusted proxy may
//! hold a few connections, fewer of them still waiting for their head; the last slots of the
//! budget are kept for addresses holding almost none (a browser's callback, a health check);
//! and once an address or the whole budget is close to full, new heads get less time.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;

/// Connections one address (not a trusted proxy) may hold open. A browser opens up to six per
/// host; this leaves room for an office of users behind one NAT address clicking at once.
pub const PER_ADDRESS_OPEN: usize = 64;
/// Of those, how many may still be waiting for their request head. A browser sends its head
/// as soon as it connects (a few idle pre-connections aside): only a stalling client needs more.
pub const PER_ADDRESS_HALF_SENT: usize = 32;
/// A browser sends its head at once; a client that does not is dropped after this.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// The head deadline once the address holds half its allowance or the budget is three
/// quarters used: still many round trips, but a stalling client frees its slot five times
/// as fast.
pub const PRESSED_HEAD_TIMEOUT: Duration = Duration::from_secs(2);
/// The most connections held at once, whatever the open-files limit allows: each costs a
/// task and buffers, and a callback receiver never needs more.
pub const MAX_CONNECTIONS: usize = 4096;
/// An address holding fewer connections than this may use the reserve: a browser's callback
/// and the favicon request beside it.
const RESERVE_HOLDER_MAX: usize = 2;

/// The numbers admission works with, derived once from the open-files limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Connections held at once, all addresses together.
    pub budget: usize,
    /// The last slots of the budget, only for addresses holding fewer than two connections.
    pub reserve: usize,
}

impl Limits {
    /// Leaves descriptors for what the receiver holds besides connections (stdio, the
    /// runtime, the agent link, the listener, the one being accepted and closed).
    pub fn for_open_files(limit: u64) -> Limits {
        let spare = (limit / 8).clamp(16, 256);
        let usable = usize::try_from(limit.saturating_sub(spare)).unwrap_or(usize::MAX);
        let budget = usable.clamp(8, MAX_CONNECTIONS);
        Limits {
            budget,
            reserve: (budget / 8).max(1),
        }
    }
}

/// Why a connection was closed at once; the sentence goes to the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "{address} holds {PER_ADDRESS_OPEN} open connections, the most one address may; its further connections are closed at once (if it is your reverse proxy, name it with --trust-proxy)"
    )]
    AddressOpen { address: IpAddr },
    #[error(
        "{address} holds {PER_ADDRESS_HALF_SENT} connections whose request has not arrived, the most one address may; its further connections are closed at once (if it is your reverse proxy, name it with --trust-proxy)"
    )]
    AddressHalfSent { address: IpAddr },
    #[error(
        "{address} holds connections and only the {reserve} kept for other clients are free; its further connections are closed at once"
    )]
    Reserve { address: IpAddr, reserve: usize },
    #[error(
        "all {budget} connections the receiver allows are open; new ones are closed at once until some finish"
    )]
    Full { budget: usize },
}

/// What one address holds now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Held {
    open: usize,
    half_sent: usize,
}

/// Whether a new connection from an address holding `held` is admitted, and with what head
/// deadline. `total` counts every address's connections; `trusted` exempts a proxy the admin
/// named from the per-address caps (it multiplexes many clients and keeps its own limits),
/// not from the budget or its reserve.
fn decide(
    limits: Limits,
    total: usize,
    held: Held,
    address: IpAddr,
    trusted: bool,
) -> Result<Duration, Refusal> {
    if total >= limits.budget {
        return Err(Refusal::Full {
            budget: limits.budget,
        });
    }
    if !trusted && held.open >= PER_ADDRESS_OPEN {
        return Err(Refusal::AddressOpen { address });
    }
    if !trusted && held.half_sent >= PER_ADDRESS_HALF_SENT {
        return Err(Refusal::AddressHalfSent { address });
    }
    if limits.budget - total <= limits.reserve && held.open >= RESERVE_HOLDER_MAX {
        return Err(Refusal::Reserve {
            address,
            reserve: limits.reserve,
        });
    }
    let budget_near = (total + 1) * 4 > limits.budget * 3;
    let address_near = !trusted
        && ((held.half_sent + 1) * 2 > PER_ADDRESS_HALF_SENT
            || (held.open + 1) * 2 > PER_ADDRESS_OPEN);
    Ok(if budget_near || address_near {
        PRESSED_HEAD_TIMEOUT
    } else {
        HEAD_TIMEOUT
    })
}

#[derive(Default)]
struct Counts {
    total: usize,
    /// Only addresses holding something: an entry goes with its last connection.
    by_address: HashMap<IpAddr, Held>,
}

/// The receiver's connection book: every accepted connection takes a [`Ticket`] or is closed.
pub struct Admission {
    limits: Limits,
    counts: Mutex<Counts>,
    /// Woken when the last connection ends, for the drain at shutdown.
    emptied: Notify,
    /// Refusals since the last [`Admission::refusals_this_minute`].
    refused: AtomicU64,
    /// Whether this episode's first refusal was logged already.
    told: AtomicBool,
}

impl Admission {
    pub fn new(limits: Limits) -> Arc<Admission> {
        Arc::new(Admission {
            limits,
            counts: Mutex::new(Counts::default()),
            emptied: Notify::new(),
            refused: AtomicU64::new(0),
            told: AtomicBool::new(false),
        })
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Counts never break mid-update (no code between a lock and its release panics), so a
    /// poisoned lock still guards consistent numbers.
    fn counts(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Admits a connection from `address` (already the counting key: IPv4, or an IPv6 /64),
    /// or says why not. A refusal's sentence is returned for logging only for the first one
    /// of an episode (until the next minute's summary), so a flood logs a line, not a flood.
    pub fn admit(
        self: &Arc<Admission>,
        address: IpAddr,
        trusted: bool,
    ) -> Result<Ticket, Option<Refusal>> {
        let mut counts = self.counts();
        let held = counts.by_address.get(&address).copied().unwrap_or_default();
        match decide(self.limits, counts.total, held, address, trusted) {
            Ok(head_deadline) => {
                counts.total += 1;
                let entry = counts.by_address.entry(address).or_default();
                entry.open += 1;
                entry.half_sent += 1;
                Ok(Ticket {
                    admission: Arc::clone(self),
                    address,
                    head_deadline,
                    head_arrived: AtomicBool::new(false),
                })
            }
            Err(refusal) => {
                drop(counts);
                self.refused.fetch_add(1, Ordering::Relaxed);
                let first = !self.told.swap(true, Ordering::Relaxed);
                Err(first.then_some(refusal))
            }
        }
    }

    /// How many connections were refused since the last call; the next refusal is logged again.
    pub fn refusals_this_minute(&self) -> u64 {
        self.told.store(false, Ordering::Relaxed);
        self.refused.swap(0, Ordering::Relaxed)
    }

    pub fn open(&self) -> usize {
        self.counts().total
    }

    /// Returns once no connection is held.
    pub async fn drained(&self) {
        loop {
            let emptied = self.emptied.notified();
            tokio::pin!(emptied);
            // Registered before the check, so a last connection ending in between still wakes us.
            emptied.as_mut().enable();
            if self.open() == 0 {
                return;
            }
            emptied.await;
        }
    }

    fn head_arrived(&self, address: IpAddr) {
        if let Some(held) = self.counts().by_address.get_mut(&address) {
            held.half_sent = held.half_sent.saturating_sub(1);
        }
    }

    fn release(&self, address: IpAddr, head_arrived: bool) {
        let mut counts = self.counts();
        counts.total = counts.total.saturating_sub(1);
        if let Some(held) = counts.by_address.get_mut(&address) {
            held.open = held.open.saturating_sub(1);
            if !head_arrived {
                held.half_sent = held.half_sent.saturating_sub(1);
            }
            if held.open == 0 {
                counts.by_address.remove(&address);
            }
        }
        let empty = counts.total == 0;
        drop(counts);
        if empty {
            self.emptied.notify_waiters();
        }
    }
}

/// One admitted connection's place in the book, given back when dropped.
pub struct Ticket {
    admission: Arc<Admission>,
    address: IpAddr,
    head_deadline: Duration,
    head_arrived: AtomicBool,
}

impl Ticket {
    /// How long this connection's request head may take.
    pub fn head_deadline(&self) -> Duration {
        self.head_deadline
    }

    /// The first request head is complete: the connection no longer counts as half-sent.
    pub fn head_arrived(&self) {
        if !self.head_arrived.swap(true, Ordering::AcqRel) {
            self.admission.head_arrived(self.address);
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.admission
            .release(self.address, *self.head_arrived.get_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    const ROOMY: Limits = Limits {
        budget: 1000,
        reserve: 100,
    };

    #[test]
    fn the_budget_follows_the_open_files_limit_within_bounds() {
        assert_eq!(
            Limits::for_open_files(1024),
            Limits {
                budget: 896,
                reserve: 112
            }
        );
        assert_eq!(Limits::for_open_files(1_048_576).budget, MAX_CONNECTIONS);
        assert_eq!(Limits::for_open_files(64).budget, 48);
        assert_eq!(
            Limits::for_open_files(10),
            Limits {
                budget: 8,
                reserve: 1
            }
        );
    }

    #[test]
    fn an_address_is_capped_on_open_and_on_half_sent_connections_unless_trusted() {
        let a = ip("198.51.100.7");
        let open = Held {
            open: PER_ADDRESS_OPEN,
            half_sent: 0,
        };
        let half = Held {
            open: PER_ADDRESS_HALF_SENT,
            half_sent: PER_ADDRESS_HALF_SENT,
        };
        assert_eq!(
            decide(ROOMY, 100, open, a, false),
            Err(Refusal::AddressOpen { address: a })
        );
        assert_eq!(
            decide(ROOMY, 100, half, a, false),
            Err(Refusal::AddressHalfSent { address: a })
        );
        assert!(decide(ROOMY, 100, open, a, true).is_ok());
        assert!(decide(ROOMY, 100, half, a, true).is_ok());
    }

    #[test]
    fn the_reserve_is_only_for_addresses_holding_almost_nothing() {
        let a = ip("198.51.100.7");
        let greedy = Held {
            open: RESERVE_HOLDER_MAX,
            half_sent: 0,
        };
        let fresh = Held::default();
        let browser = Held {
            open: 1,
            half_sent: 0,
        };
        // 900 held: 100 free, all of them the reserve.
        assert_eq!(
            decide(ROOMY, 900, greedy, a, false),
            Err(Refusal::Reserve {
                address: a,
                reserve: 100
            })
        );
        assert_eq!(
            decide(ROOMY, 900, greedy, a, true),
            Err(Refusal::Reserve {
                address: a,
                reserve: 100
            })
        );
        assert!(decide(ROOMY, 899, greedy, a, false).is_ok());
        assert!(decide(ROOMY, 999, fresh, a, false).is_ok());
        assert!(decide(ROOMY, 999, browser, a, false).is_ok());
        assert_eq!(
            decide(ROOMY, 1000, fresh, a, false),
            Err(Refusal::Full { budget: 1000 })
        );
    }

    #[test]
    fn heads_get_less_time_once_the_address_or_the_budget_is_near_full() {
        let a = ip("198.51.100.7");
        let calm = Held {
            open: 3,
            half_sent: 1,
        };
        assert_eq!(decide(ROOMY, 10, calm, a, false), Ok(HEAD_TIMEOUT));
        let stalling = Held {
            open: PER_ADDRESS_HALF_SENT / 2,
            half_sent: PER_ADDRESS_HALF_SENT / 2,
        };
        assert_eq!(
            decide(ROOMY, 10, stalling, a, false),
            Ok(PRESSED_HEAD_TIMEOUT)
        );
        let keeping = Held {
            open: PER_ADDRESS_OPEN / 2,
            half_sent: 0,
        };
        assert_eq!(
            decide(ROOMY, 10, keeping, a, false),
            Ok(PRESSED_HEAD_TIMEOUT)
        );
        // A trusted proxy is not near a cap it does not have; the budget still counts.
        assert_eq!(decide(ROOMY, 10, stalling, a, true), Ok(HEAD_TIMEOUT));
        assert_eq!(decide(ROOMY, 749, calm, a, false), Ok(HEAD_TIMEOUT));
        assert_eq!(decide(ROOMY, 750, calm, a, false), Ok(PRESSED_HEAD_TIMEOUT));
    }

    #[test]
    fn tickets_count_half_sent_until_the_head_arrives_and_give_everything_back() {
        let admission = Admission::new(ROOMY);
        let a = ip("198.51.100.7");
        let b = ip("203.0.113.9");
        let mut held = Vec::new();
        for _ in 0..PER_ADDRESS_HALF_SENT {
            held.push(admission.admit(a, false).expect("under the cap"));
        }
        // The first refusal carries its sentence, the next ones are only counted.
        assert_eq!(
            admission.admit(a, false).err(),
            Some(Some(Refusal::AddressHalfSent { address: a }))
        );
        assert_eq!(admission.admit(a, false).err(), Some(None));
        // Another address is not affected.
        let other = admission.admit(b, false).expect("another address");
        // Heads arriving free the half-sent allowance, not the open one.
        for ticket in &held {
            ticket.head_arrived();
            ticket.head_arrived();
        }
        held.push(admission.admit(a, false).expect("heads arrived"));
        assert_eq!(admission.open(), PER_ADDRESS_HALF_SENT + 2);
        assert_eq!(admission.refusals_this_minute(), 2);
        assert_eq!(admission.refusals_this_minute(), 0);
        drop(held);
        drop(other);
        assert_eq!(admission.open(), 0);
        assert!(admission.counts().by_address.is_empty());
    }

    #[tokio::test]
    async fn the_drain_ends_when_the_last_connection_does() {
        let admission = Admission::new(ROOMY);
        let ticket = admission.admit(ip("198.51.100.7"), false).unwrap();
        let waiter = {
            let admission = Arc::clone(&admission);
            tokio::spawn(async move { admission.drained().await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        drop(ticket);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("drained")
            .unwrap();
    }
}
