//! Reading the event log across proposals: audit queries ([`Workflow::list_events`]) and the
//! live stream for other systems ([`Workflow::watch`]).
//!
//! Both read the log in position order, which is also time order (the writer never lets event
//! times run backwards), from the narrowest index that fits: one unit's events, one proposal's
//! history, or the whole log. Only durable events are ever delivered.

use std::sync::Arc;

use tokio::sync::{broadcast, mpsc, watch};

use super::writer::Committed;
use super::{AppError, Page, PageRequest, Workflow, paging};
use crate::domain::{EventKind, ProposalId, ProposalState, Timestamp};
use crate::store::{EventScope, LoggedEvent, Store};

/// Filters for [`Workflow::list_events`] and [`Workflow::watch`]; unset ones match everything,
/// set ones must all match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only events at or after this time.
    pub occurred_after: Option<Timestamp>,
    /// Only events before this time.
    pub occurred_before: Option<Timestamp>,
    pub actor: Option<String>,
    /// Only events of these kinds; empty for every kind.
    pub kinds: Vec<EventKind>,
    /// Only events of proposals this unit was handling when they occurred.
    pub handling_unit: Option<String>,
    /// Only events that brought their proposal to this state.
    pub to_state: Option<ProposalState>,
    pub proposal_id: Option<ProposalId>,
}

impl EventFilter {
    /// The narrowest part of the log that holds every match.
    fn scope(&self) -> EventScope<'_> {
        match (&self.handling_unit, self.proposal_id) {
            (Some(unit), _) => EventScope::Unit(unit),
            (None, Some(id)) => EventScope::Proposal(id),
            (None, None) => EventScope::All,
        }
    }

    /// Whether an event read from [`Self::scope`] matches (the scope itself checked the unit).
    fn matches(&self, logged: &LoggedEvent) -> bool {
        let Self {
            occurred_after,
            occurred_before,
            actor,
            kinds,
            handling_unit: _,
            to_state,
            proposal_id,
        } = self;
        let event = &logged.event;
        occurred_after.is_none_or(|t| event.occurred_at >= t)
            && occurred_before.is_none_or(|t| event.occurred_at < t)
            && actor.as_deref().is_none_or(|a| a == event.actor)
            && (kinds.is_empty() || kinds.contains(&event.data.kind()))
            && to_state.is_none_or(|s| s == event.to_state)
            && proposal_id.is_none_or(|id| id == event.proposal_id)
    }

    /// Whether a live event matches, the units it concerns given by the writer.
    fn matches_live(&self, logged: &LoggedEvent, units: &[String]) -> bool {
        self.handling_unit
            .as_deref()
            .is_none_or(|u| units.iter().any(|unit| unit == u))
            && self.matches(logged)
    }

    /// What a page token is bound to: every filter.
    fn paging_scope(&self) -> paging::Scope {
        // Sorted: the same kinds in another order are the same query.
        let mut kinds: Vec<String> = self.kinds.iter().map(|k| format!("{k:?}")).collect();
        kinds.sort();
        paging::scope(&[
            &self
                .occurred_after
                .map_or(String::new(), |t| t.unix_nanos().to_string()),
            &self
                .occurred_before
                .map_or(String::new(), |t| t.unix_nanos().to_string()),
            self.actor.as_deref().unwrap_or(""),
            &kinds.join(","),
            self.handling_unit.as_deref().unwrap_or(""),
            self.to_state.map_or("", |s| s.as_str()),
            &self.proposal_id.map_or(String::new(), |id| id.to_string()),
        ])
    }
}

/// Event listings: the default page size and the most one page may hold.
const EVENTS_PAGE: (usize, usize) = (100, 1000);
/// The most events one listing page examines, so that a narrow filter over a long log answers
/// in bounded time (with a short page and a next-page token) instead of scanning it all.
const SCAN_BUDGET: usize = 10_000;
/// The most events read from the store at a time while listing or catching a watcher up. A
/// listing reads a page's worth first (events are read one by one through the log, so reading
/// ahead costs), then twice as many each time a narrow filter leaves the page short.
const READ_CHUNK: usize = 256;
/// Events queued for one watcher's connection before its reader waits for the client.
const WATCH_QUEUE: usize = 64;
/// Committed batches kept for watchers; one that falls further behind catches up from the store.
pub(super) const LIVE_BATCHES: usize = 128;

impl Workflow {
    /// A page of the log's events that match `filter`, in log order. A page examines at most
    /// [`SCAN_BUDGET`] events, so it may hold fewer than asked (even none) and still have a
    /// next page.
    pub async fn list_events(
        &self,
        filter: &EventFilter,
        page: PageRequest,
    ) -> Result<Page<LoggedEvent>, AppError> {
        let (limit, cursor) = page.resolve(EVENTS_PAGE, filter.paging_scope())?;
        let durable = *self.durable.borrow();
        let mut after = match cursor {
            Some(cursor) => cursor
                .try_into()
                .map(u64::from_be_bytes)
                .map_err(|_| paging::bad_token())?,
            None => match filter.occurred_after {
                Some(time) => first_at_or_after(self.store.as_ref(), time, durable)
                    .await?
                    .saturating_sub(1),
                None => 0,
            },
        };
        let scope = filter.scope();
        let mut items = Vec::new();
        let mut examined = 0;
        let mut chunk_size = limit.clamp(1, READ_CHUNK);
        loop {
            let chunk = self.store.events(scope, after, chunk_size).await?;
            let exhausted = chunk.len() < chunk_size;
            chunk_size = (chunk_size * 2).min(READ_CHUNK);
            for logged in chunk {
                let position = logged.event.position;
                let past_end = position > durable
                    || filter
                        .occurred_before
                        .is_some_and(|t| logged.event.occurred_at >= t);
                if past_end {
                    return Ok(Page {
                        items,
                        next_page_token: None,
                    });
                }
                if filter.matches(&logged) {
                    items.push(logged);
                }
                after = position;
                examined += 1;
                if items.len() == limit || examined == SCAN_BUDGET {
                    let more = !self.store.events(scope, after, 1).await?.is_empty();
                    let next =
                        more.then(|| paging::token(filter.paging_scope(), &after.to_be_bytes()));
                    let next_page_token = next.filter(|_| after < durable);
                    return Ok(Page {
                        items,
                        next_page_token,
                    });
                }
            }
            if exhausted {
                return Ok(Page {
                    items,
                    next_page_token: None,
                });
            }
        }
    }

    /// Streams the events after `after_position` that match `filter`: first those already
    /// durable, then each new one as it becomes durable, in log order, with no gap and no
    /// duplicate. A watcher that cannot keep up (its client reads slowly) falls back to
    /// reading the store, so it never holds writers back or grows memory without bound. The
    /// stream ends with [`AppError::ShuttingDown`] when the server stops.
    pub fn watch(
        &self,
        after_position: u64,
        filter: EventFilter,
    ) -> Result<mpsc::Receiver<Result<LoggedEvent, AppError>>, AppError> {
        // Subscribe before reading the durable position: see `Writer::publish`.
        let live = self.committed.subscribe();
        let last = *self.durable.borrow();
        if after_position > last {
            return Err(AppError::BeyondLog {
                requested: after_position,
                last,
            });
        }
        let (sender, receiver) = mpsc::channel(WATCH_QUEUE);
        let watcher = Watcher {
            store: Arc::clone(&self.store),
            durable: self.durable.clone(),
            closing: self.closing.subscribe(),
            filter,
            sender,
            seen: after_position,
        };
        tokio::spawn(watcher.run(live));
        Ok(receiver)
    }
}

/// The first position whose event occurred at or after `time` (one past `durable` if none),
/// by binary search: positions run 1, 2, 3, ... and event times never decrease along them.
async fn first_at_or_after(
    store: &dyn Store,
    time: Timestamp,
    durable: u64,
) -> Result<u64, AppError> {
    let (mut low, mut high) = (1, durable + 1);
    while low < high {
        let middle = low + (high - low) / 2;
        let before = match store.events(EventScope::All, middle - 1, 1).await?.first() {
            Some(logged) => logged.event.occurred_at < time,
            None => false,
        };
        if before {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    Ok(low)
}

/// Why a watcher stopped delivering.
enum Stop {
    /// The client went away: nothing more to do.
    Gone,
    /// The server is stopping: tell the client.
    Closing,
}

/// One watcher's state, run as its own task.
struct Watcher {
    store: Arc<dyn Store>,
    durable: watch::Receiver<u64>,
    closing: watch::Receiver<bool>,
    filter: EventFilter,
    sender: mpsc::Sender<Result<LoggedEvent, AppError>>,
    /// Every position up to this one was delivered or skipped by the filter.
    seen: u64,
}

impl Watcher {
    async fn run(mut self, mut live: broadcast::Receiver<Arc<Committed>>) {
        let stop = loop {
            if let Err(stop) = self.catch_up().await {
                break stop;
            }
            match self.follow(&mut live).await {
                Ok(()) => {} // Fell behind the live batches: catch up from the store again.
                Err(stop) => break stop,
            }
        };
        if let Stop::Closing = stop {
            let _ = self.sender.send(Err(AppError::ShuttingDown)).await;
        }
    }

    /// Delivers the durable events after `seen` from the store.
    async fn catch_up(&mut self) -> Result<(), Stop> {
        let scope_filter = self.filter.clone();
        let scope = scope_filter.scope();
        loop {
            let durable = *self.durable.borrow();
            if self.seen >= durable {
                return Ok(());
            }
            let chunk = match self.store.events(scope, self.seen, READ_CHUNK).await {
                Ok(chunk) => chunk,
                Err(e) => {
                    let _ = self.sender.send(Err(e.into())).await;
                    return Err(Stop::Gone);
                }
            };
            let exhausted = chunk.len() < READ_CHUNK;
            for logged in chunk {
                if logged.event.position > durable {
                    // Every event of the scope up to `durable` was seen; the rest comes live
                    // (or in the next round, once durable).
                    self.seen = durable;
                    break;
                }
                let position = logged.event.position;
                if self.filter.matches(&logged) {
                    self.deliver(logged).await?;
                }
                self.seen = position;
            }
            if exhausted {
                // Nothing more in this scope up to `durable` (scopes other than the whole log
                // skip positions).
                self.seen = self.seen.max(durable);
            }
        }
    }

    /// Delivers live batches until the watcher falls behind them or finds a gap.
    async fn follow(&mut self, live: &mut broadcast::Receiver<Arc<Committed>>) -> Result<(), Stop> {
        loop {
            let batch = tokio::select! {
                batch = live.recv() => batch,
                _ = self.closing.wait_for(|closing| *closing) => return Err(Stop::Closing),
                () = self.sender.closed() => return Err(Stop::Gone),
            };
            let batch = match batch {
                Ok(batch) => batch,
                Err(broadcast::error::RecvError::Lagged(_)) => return Ok(()),
                Err(broadcast::error::RecvError::Closed) => return Err(Stop::Closing),
            };
            if batch.last <= self.seen {
                continue; // Already read from the store.
            }
            if batch.first > self.seen + 1 {
                return Ok(()); // Missed batches: the store has them.
            }
            for (logged, units) in &batch.events {
                if logged.event.position > self.seen && self.filter.matches_live(logged, units) {
                    self.deliver(logged.clone()).await?;
                }
            }
            self.seen = batch.last;
        }
    }

    /// Hands one event to the client's queue, waiting while it is full, unless the client
    /// leaves or the server stops meanwhile.
    async fn deliver(&mut self, logged: LoggedEvent) -> Result<(), Stop> {
        tokio::select! {
            sent = self.sender.send(Ok(logged)) => sent.map_err(|_| Stop::Gone),
            _ = self.closing.wait_for(|closing| *closing) => Err(Stop::Closing),
        }
    }
}
