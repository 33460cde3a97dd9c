//! The application layer: runs commands through the single writer (which decides with the
//! domain core and commits with the store), and serves reads straight from the store. Knows
//! neither protobuf nor sled.

mod clock;
mod error;
mod events;
#[cfg(test)]
mod golden;
mod paging;
mod writer;

use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, mpsc, watch};

use crate::domain::statistics::{SessionStatistics, statistics_of_facts};
use crate::domain::{
    CalendarDate, Command, FieldViolation, HandlingRole, NotRenderable, Proposal, ProposalId,
    ProposalState, ProposerKind, RenderedReply, RequestId, Rules, Timestamp, in_round,
    render_reply_to, reply_of,
};
use crate::store::{ListQuery, LoggedEvent, Store, Verification, View};

pub use clock::EventClock;
pub use error::{AppError, Conflict};
pub use events::EventFilter;
pub use paging::PageRequest;
pub use writer::{MAX_BATCH, fingerprint, new_proposal_id, run_batches};

/// A command with everything the workflow needs to apply it once and exactly once.
#[derive(Clone, Debug)]
pub struct Submission {
    /// The proposal to act on; `None` only for [`Command::Receive`], which creates one.
    pub proposal_id: Option<ProposalId>,
    pub command: Command,
    /// When set, the command applies only if the proposal is at exactly this version.
    pub expected_version: Option<u64>,
    pub request_id: Option<RequestId>,
    pub actor: String,
    /// The day the act happened in the office; `None` means today in the rules' time zone.
    pub effective_date: Option<CalendarDate>,
    /// When set, the command applies only to a proposal this unit is handling at the moment it
    /// is decided (the remit of a unit-bound caller); otherwise PERMISSION_DENIED.
    pub unit_scope: Option<String>,
}

/// What [`Workflow::statistics`] counts: one session's proposals, as of a day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatisticsQuery {
    pub committee: String,
    pub session: String,
    /// Already checked to be no later than today.
    pub as_of: CalendarDate,
    /// Also one row per unit.
    pub by_unit: bool,
}

/// Filters for [`Workflow::list`]; unset ones match everything.
#[derive(Clone, Debug, Default)]
pub struct ProposalFilter {
    pub state: Option<ProposalState>,
    pub handling_unit: Option<String>,
    pub committee: Option<String>,
    pub session: Option<String>,
    pub proposer_kind: Option<ProposerKind>,
    /// Only proposals overdue on this day ([`Proposal::is_overdue_on`]).
    pub overdue_on: Option<CalendarDate>,
    /// Only proposals with a handling in this role (of `handling_unit`, if set).
    pub handling_role: Option<HandlingRole>,
    /// Only key proposals (重点提案).
    pub key_only: bool,
    /// Only proposals this member or collective made.
    pub proposer: Option<String>,
}

/// A page of results and the token for the next one (`None` on the last page).
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_token: Option<String>,
}

/// The proposal workflow: what the gRPC layer (and any other front end) calls.
pub struct Workflow {
    store: Arc<dyn Store>,
    failure: watch::Receiver<Option<String>>,
    /// The last durable position, as the writer reports it.
    durable: watch::Receiver<u64>,
    /// The last position the writer has put into the store or is about to: it moves before a
    /// batch becomes visible to reads, `durable` once it is on disk. See [`Workflow::settle`].
    written: watch::Receiver<u64>,
    /// Every committed batch, for watchers.
    committed: broadcast::Sender<Arc<writer::Committed>>,
    /// Set when the server stops: ends every watch stream.
    closing: watch::Sender<bool>,
    submissions: Mutex<Option<mpsc::Sender<writer::Pending>>>,
    writer: Mutex<Option<writer::WriterThread>>,
    /// The local rules every command is decided under.
    rules: Arc<Rules>,
}

/// Listing page sizes: the default, and the most one page may hold.
const LIST_PAGE: (usize, usize) = (50, 1000);
const HISTORY_PAGE: (usize, usize) = (100, 1000);

impl Workflow {
    /// Starts the writer thread over `store`, under the default rules.
    pub async fn start(store: Arc<dyn Store>) -> Result<Self, AppError> {
        Self::start_with(store, Rules::default()).await
    }

    /// Starts the writer thread over `store`, deciding every command under `rules`.
    pub async fn start_with(store: Arc<dyn Store>, rules: Rules) -> Result<Self, AppError> {
        let rules = Arc::new(rules);
        let (failure_sender, failure) = watch::channel(None);
        let last_position = store.last_position().await?;
        let (durable_sender, durable) = watch::channel(last_position);
        let (written_sender, written) = watch::channel(last_position);
        let (committed, _) = broadcast::channel(events::LIVE_BATCHES);
        let outlets = writer::Outlets {
            failure: failure_sender,
            durable: durable_sender,
            written: written_sender,
            committed: committed.clone(),
        };
        let (sender, thread) =
            writer::spawn(Arc::clone(&store), outlets, Arc::clone(&rules)).await?;
        Ok(Self {
            store,
            failure,
            durable,
            written,
            committed,
            closing: watch::Sender::new(false),
            submissions: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(thread)),
            rules,
        })
    }

    /// The rules commands are decided under.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Today in the rules' time zone, by the wall clock: the date an undated command gets.
    pub fn today(&self) -> CalendarDate {
        self.rules.date_at(clock::wall_clock_nanos())
    }

    /// Applies a command and returns the proposal as it is after it, once its events are durable.
    /// A retried request (same `request_id`, same content) returns the original result instead.
    pub async fn execute(&self, submission: Submission) -> Result<Proposal, AppError> {
        let sender = lock(&self.submissions)
            .clone()
            .ok_or(AppError::ShuttingDown)?;
        let (respond, response) = tokio::sync::oneshot::channel();
        sender
            .send(writer::Pending::new(submission, respond))
            .await
            .map_err(|_| AppError::ShuttingDown)?;
        let proposal = response.await.map_err(|_| AppError::ShuttingDown)??;
        // The writer keeps the proposal it answers with; the copy is made here, off its thread.
        Ok(Arc::unwrap_or_clone(proposal))
    }

    /// The proposal as it stands, as much of it as `view` asks for (once durable: see
    /// [`Workflow::settle`]).
    pub async fn get(&self, id: ProposalId, view: View) -> Result<Proposal, AppError> {
        let proposal = self.store.proposal(id, view).await?;
        self.settle().await?;
        proposal.ok_or(AppError::NotFound(id))
    }

    /// Waits until everything the reads made so far may have seen is durable, so that a read
    /// never answers with a change that a crash could still undo (one the writer has put into
    /// the store but not yet flushed). The wait is at most the flush in progress; it fails if
    /// that flush fails. Call it after reading the store, before answering.
    async fn settle(&self) -> Result<(), AppError> {
        // `written` moves before a batch becomes visible, so a batch the read saw is counted.
        let seen = *self.written.borrow();
        let mut durable = self.durable.clone();
        if *durable.borrow() >= seen {
            return Ok(());
        }
        let mut failure = self.failure.clone();
        tokio::select! {
            settled = durable.wait_for(|d| *d >= seen) => {
                settled.map(|_| ()).map_err(|_| AppError::ShuttingDown)
            }
            failed = failure.wait_for(Option::is_some) => {
                let cause = failed.map_or_else(|_| "the writer stopped".to_owned(), |f| {
                    f.clone().unwrap_or_default()
                });
                Err(AppError::Storage(crate::store::StoreError::Io(format!(
                    "the changes this read saw were never made durable ({cause})"
                ))))
            }
        }
    }

    /// A session's figures as of a day, from the facts the store keeps per proposal (one read
    /// of the session's facts, no event), once what it read is durable.
    pub async fn statistics(&self, query: &StatisticsQuery) -> Result<SessionStatistics, AppError> {
        let facts = self
            .store
            .session_facts(&query.committee, &query.session)
            .await?;
        self.settle().await?;
        let rules = Arc::clone(&self.rules);
        Ok(statistics_of_facts(
            &facts,
            query.as_of,
            query.by_unit,
            &|instant: Timestamp| rules.date_at(instant.unix_nanos()),
        ))
    }

    pub async fn list(
        &self,
        filter: ProposalFilter,
        view: View,
        page: PageRequest,
    ) -> Result<Page<Proposal>, AppError> {
        let ProposalFilter {
            state,
            handling_unit,
            committee,
            session,
            proposer_kind,
            overdue_on,
            handling_role,
            key_only,
            proposer,
        } = filter;
        let overdue_text = overdue_on.map(|d| d.to_string()).unwrap_or_default();
        let scope = paging::scope(&[
            state.map_or("", |s| s.as_str()),
            handling_unit.as_deref().unwrap_or(""),
            committee.as_deref().unwrap_or(""),
            session.as_deref().unwrap_or(""),
            proposer_kind.map_or("", |k| k.as_str()),
            &overdue_text,
            handling_role.map_or("", |r| r.as_str()),
            if key_only { "key" } else { "" },
            proposer.as_deref().unwrap_or(""),
        ]);
        let (limit, after) = page.resolve(LIST_PAGE, scope)?;
        let query = ListQuery {
            state,
            handling_unit,
            committee,
            session,
            proposer_kind,
            overdue_on,
            handling_role,
            key_only,
            proposer,
            limit,
            after,
            view,
        };
        let listed = self.store.list(&query).await?;
        self.settle().await?;
        Ok(Page {
            items: listed.proposals,
            next_page_token: listed.next.map(|cursor| paging::token(scope, &cursor)),
        })
    }

    /// A page of the history of `current`, the proposal as the caller just read it (any view:
    /// only its id and version are used, the version to know whether another page follows).
    pub async fn history(
        &self,
        current: &Proposal,
        page: PageRequest,
    ) -> Result<Page<LoggedEvent>, AppError> {
        let id = current.id;
        let scope = paging::scope(&[&id.to_string()]);
        let (limit, after) = page.resolve(HISTORY_PAGE, scope)?;
        let after_sequence = match after {
            None => 0,
            Some(cursor) => cursor
                .try_into()
                .map(u64::from_be_bytes)
                .map_err(|_| paging::bad_token())?,
        };
        let events = self.store.history(id, after_sequence, limit).await?;
        self.settle().await?;
        let next_page_token = events
            .last()
            .filter(|last| last.event.sequence < current.version && events.len() == limit)
            .map(|last| paging::token(scope, &last.event.sequence.to_be_bytes()));
        Ok(Page {
            items: events,
            next_page_token,
        })
    }

    /// The official document answering `proposal` (read in the full view): its own reply if it
    /// is ISSUED or COPIED; for a MERGED one, the reply of the proposal it was merged into,
    /// addressed to its own proposers. On a split proposal, `handling_unit`'s reply (empty: the
    /// `caller_unit`'s if it is one of the split units, else the one replying unit).
    pub async fn render(
        &self,
        proposal: &Proposal,
        handling_unit: &str,
        caller_unit: Option<&str>,
        round: Option<u32>,
    ) -> Result<RenderedReply, AppError> {
        let id = proposal.id;
        let fetched;
        let answering = match proposal.merged_into {
            Some(into) => {
                fetched = self.get(into, View::Full).await?;
                &fetched
            }
            None => proposal,
        };
        let answering = in_round(answering, round).ok_or_else(|| {
            AppError::InvalidArgument(vec![FieldViolation::new(
                "round",
                format!(
                    "names round {}; the proposal is in round {}",
                    round.unwrap_or_default(),
                    answering.round()
                ),
            )])
        })?;
        let answering = answering.as_ref();
        // A split unit's staff who name no unit mean their own unit's reply.
        let handling_unit = match caller_unit {
            Some(own)
                if handling_unit.is_empty()
                    && answering.handling(own).is_some_and(|h| h.split.is_some()) =>
            {
                own
            }
            _ => handling_unit,
        };
        let answering = reply_of(answering, handling_unit).map_err(AppError::Precondition)?;
        render_reply_to(&answering, proposal).map_err(|e| match e {
            NotRenderable::NotIssued { state } => AppError::NotIssued { state },
            // An issued proposal lacking a printed field: the stored projection is damaged.
            incomplete @ NotRenderable::Incomplete { .. } => AppError::Storage(
                crate::store::StoreError::Corrupt(format!("proposal {id}: {incomplete}")),
            ),
        })
    }

    /// Recomputes the hash chain and every projection and index from the events. Reads the
    /// whole store: a backend that works inline (sled) holds the thread that polls it, so run
    /// it on a blocking task.
    pub async fn verify(&self) -> Result<Verification, AppError> {
        Ok(self.store.verify().await?)
    }

    /// Ends every watch stream (with [`AppError::ShuttingDown`]); the server calls this when it
    /// starts to stop, since open streams would otherwise hold the shutdown until its grace
    /// period ends.
    pub fn close_streams(&self) {
        self.closing.send_replace(true);
    }

    /// Reports a storage failure: `None` while healthy, then the first commit error. After a
    /// failure every command is refused until the server restarts.
    pub fn storage_failure(&self) -> watch::Receiver<Option<String>> {
        self.failure.clone()
    }

    /// Stops taking commands, lets the writer finish those already queued, and waits for its
    /// final flush. Blocks the calling thread: call it off the async runtime. Idempotent;
    /// commands submitted afterwards fail with [`AppError::ShuttingDown`].
    pub fn shutdown(&self) -> Result<(), AppError> {
        self.close_streams();
        drop(lock(&self.submissions).take());
        match lock(&self.writer).take().map(std::thread::JoinHandle::join) {
            None => Ok(()),
            Some(Ok(flushed)) => Ok(flushed?),
            Some(Err(_)) => Err(AppError::Internal("the writer thread panicked".into())),
        }
    }
}

impl Drop for Workflow {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            tracing::error!(error = %e, "flushing at shutdown failed");
        }
    }
}

/// Locks a mutex, recovering from poisoning: the guarded values stay valid if a holder panicked.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
