//! The single writer: one OS thread that takes every command waiting, decides each in arrival
//! order against the state left by the ones before it (committed or earlier in the same batch),
//! commits the whole batch in one store transaction with one flush, and only then answers.
//!
//! A single writer means positions are assigned without contention, uniqueness checks cannot
//! race, and sled's flush is never called concurrently. A lone command is committed at once: the
//! writer never waits to fill a batch.

use std::collections::HashMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot, watch};

use super::{AppError, Conflict, EventClock, Submission};
use crate::domain::{
    Claim, Command, Decision, Envelope, HandlingUnits, Proposal, ProposalId, RequestId, Rules,
    Timestamp, decide, fold, merge,
};
use crate::store::{
    Change, EventScope, Fingerprint, LoggedEvent, RequestKey, RequestRecord, Store, StoreError,
    View, request_key,
};

/// Commands waiting for the writer; a full queue makes callers wait (backpressure).
const QUEUE_CAPACITY: usize = 4096;
/// The most commands committed together.
pub const MAX_BATCH: usize = 512;

/// Hands every batch of waiting items to `commit` until the channel closes. A batch is all that
/// is waiting, at most `max`, taken without ever waiting to fill it: a lone item goes at once.
/// The writer's loop; the bench's storage floor batches with it too, so the two compare.
pub fn run_batches<T>(
    receiver: &mut mpsc::Receiver<T>,
    max: usize,
    mut commit: impl FnMut(Vec<T>),
) {
    while let Some(first) = receiver.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < max {
            match receiver.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        commit(batch);
    }
}

/// A command waiting for the writer, and where to send its outcome.
pub(super) struct Pending {
    submission: Submission,
    /// The submission's [`fingerprint`] when it has a `request_id`.
    fingerprint: Option<Fingerprint>,
    /// The proposal after the command, shared with the writer's own copies.
    respond: oneshot::Sender<Result<Arc<Proposal>, AppError>>,
}

impl Pending {
    /// A command for the writer. Built on the caller's task, which also hashes a keyed request
    /// here: that work stays off the single writer thread.
    pub(super) fn new(
        submission: Submission,
        respond: oneshot::Sender<Result<Arc<Proposal>, AppError>>,
    ) -> Self {
        let fingerprint = submission
            .request_id
            .is_some()
            .then(|| fingerprint(&submission));
        Self {
            submission,
            fingerprint,
            respond,
        }
    }
}

/// One committed batch's events, published to watchers once durable.
pub(crate) struct Committed {
    /// Each event with the units it concerns (see [`HandlingUnits::concerned`]), in log order.
    pub(crate) events: Vec<(LoggedEvent, Vec<String>)>,
    /// The batch's first and last positions.
    pub(crate) first: u64,
    pub(crate) last: u64,
}

/// Where the writer tells the rest of the application what became durable.
pub(super) struct Outlets {
    pub(super) failure: watch::Sender<Option<String>>,
    /// The last durable position.
    pub(super) durable: watch::Sender<u64>,
    /// The last position put into the store, moved before the batch becomes visible.
    pub(super) written: watch::Sender<u64>,
    /// Every committed batch, for watchers; sent only while someone listens.
    pub(super) committed: tokio::sync::broadcast::Sender<Arc<Committed>>,
}

/// The writer thread: it ends when every sender is gone, after its last batch and a flush,
/// whose outcome it returns.
pub(super) type WriterThread = std::thread::JoinHandle<Result<(), StoreError>>;

pub(super) async fn spawn(
    store: Arc<dyn Store>,
    outlets: Outlets,
    rules: Arc<Rules>,
) -> Result<(mpsc::Sender<Pending>, WriterThread), AppError> {
    let last_position = store.last_position().await?;
    let next_position = last_position + 1;
    // The clock starts after the last event recorded.
    let last = store
        .events(EventScope::All, last_position.saturating_sub(1), 1)
        .await?;
    let clock = EventClock::after(match last {
        events if !events.is_empty() => events[0].event.occurred_at,
        _ => Timestamp::from_unix_nanos(0),
    });
    // The writer is a thread of its own, never a runtime worker: it waits on the store's
    // futures with a runtime of its own (for sled they are ready at once; for a network
    // backend it waits there, and the batch is what amortises the round trips).
    // The runtime is built on the writer's thread and dropped there: a runtime may not be
    // dropped on a runtime worker. The thread says whether it could build one.
    let (sender, mut receiver) = mpsc::channel::<Pending>(QUEUE_CAPACITY);
    let (started, ready) = oneshot::channel::<Result<(), String>>();
    let thread = std::thread::Builder::new()
        .name("proposal-writer".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = started.send(Err(format!("building the writer's runtime: {e}")));
                    return Ok(());
                }
            };
            let _ = started.send(Ok(()));
            let mut writer = Writer {
                store,
                runtime,
                next_position,
                clock,
                rules,
                outlets,
                recent: HashMap::new(),
            };
            run_batches(&mut receiver, MAX_BATCH, |batch| writer.run(batch));
            writer.wait(writer.store.flush())
        })
        .map_err(|e| AppError::Internal(format!("starting the writer thread: {e}")))?;
    match ready.await {
        Ok(Ok(())) => Ok((sender, thread)),
        Ok(Err(e)) => Err(AppError::Internal(e)),
        Err(_) => Err(AppError::Internal(
            "the writer thread ended at start".into(),
        )),
    }
}

struct Writer {
    store: Arc<dyn Store>,
    /// Where the writer waits for the store's futures.
    runtime: tokio::runtime::Runtime,
    next_position: u64,
    clock: EventClock,
    /// The local rules commands are decided under.
    rules: Arc<Rules>,
    /// `failure` is set once a commit fails. From then on the writer refuses every command
    /// (fail-stop): after an I/O error the store's state on disk is uncertain, so only a
    /// restart, which recovers from what was flushed, may write again.
    outlets: Outlets,
    /// Projections as the last commits left them. The writer is the only writer, so an entry
    /// can only go stale through the writer itself; this saves decoding a proposal (reply body
    /// and all) from the store for every command on a recently touched proposal.
    recent: HashMap<ProposalId, Arc<Proposal>>,
}

/// The most projections [`Writer::recent`] keeps; it is emptied when full.
const RECENT_CAPACITY: usize = 4096;

/// What the commands decided so far in this batch have changed, so that later commands in the
/// batch see it exactly as if the earlier ones had been committed one by one.
#[derive(Default)]
struct Overlay {
    proposals: HashMap<ProposalId, Arc<Proposal>>,
    claims: HashMap<Claim, ProposalId>,
    requests: HashMap<RequestKey, (RequestRecord, Arc<Proposal>)>,
}

impl Writer {
    fn run(&mut self, batch: Vec<Pending>) {
        if let Some(failure) = self.outlets.failure.borrow().clone() {
            for pending in batch {
                let error = StoreError::Io(format!(
                    "an earlier commit failed ({failure}); restart the server to recover"
                ));
                let _ = pending.respond.send(Err(AppError::Storage(error)));
            }
            return;
        }
        // A caller that gave up (deadline, cancellation) before its command was decided gets
        // nothing applied: it was told the outcome is unknown, and now it is "not applied".
        let batch: Vec<Pending> = batch
            .into_iter()
            .filter(|pending| !pending.respond.is_closed())
            .collect();
        let mut overlay = Overlay::default();
        let mut changes = Vec::new();
        let mut outcomes = Vec::with_capacity(batch.len());
        let first_position = self.next_position;
        for pending in &batch {
            let outcome = self.prepare(pending, &mut overlay, &mut changes);
            outcomes.push(outcome);
        }
        if !changes.is_empty() {
            let started = std::time::Instant::now();
            // Before the batch becomes visible: a read that sees it then waits for its flush.
            self.outlets.written.send_replace(self.next_position - 1);
            match self.wait(self.store.commit(&changes)) {
                Ok(hashes) => {
                    metrics::histogram!(crate::metrics::COMMIT_SECONDS)
                        .record(started.elapsed().as_secs_f64());
                    metrics::histogram!(crate::metrics::COMMIT_BATCH_SIZE)
                        .record(changes.len() as f64);
                    self.publish(&changes, hashes);
                }
                Err(e) => {
                    tracing::error!(error = %e, commands = batch.len(), "commit failed; nothing in the batch was acknowledged; refusing all writes until restart");
                    self.next_position = first_position;
                    let message = e.to_string();
                    self.outlets.failure.send_replace(Some(message.clone()));
                    for pending in batch {
                        let error = StoreError::Io(message.clone());
                        let _ = pending.respond.send(Err(AppError::Storage(error)));
                    }
                    return;
                }
            }
        }
        if self.recent.len() + overlay.proposals.len() > RECENT_CAPACITY {
            self.recent.clear();
        }
        self.recent.extend(overlay.proposals);
        for (pending, outcome) in batch.into_iter().zip(outcomes) {
            // The caller may have gone away (deadline, cancelled); the change stands regardless.
            let _ = pending.respond.send(outcome);
        }
    }

    /// Tells metrics and watchers what a commit made durable. The durable position moves
    /// before the batch is sent: a watcher subscribes and then reads the durable position, so
    /// it either receives the batch or finds it in the store, never neither.
    fn publish(&self, changes: &[Change], hashes: Vec<crate::store::ChainHash>) {
        let events = changes.iter().flat_map(|change| &change.events);
        for event in events.clone() {
            metrics::counter!(crate::metrics::TRANSITIONS_TOTAL, "to_state" => event.to_state.as_str())
                .increment(1);
        }
        let last = self.next_position - 1;
        let before = self.outlets.durable.send_replace(last);
        metrics::counter!(crate::metrics::EVENTS_STORED_TOTAL).increment(last - before);
        if self.outlets.committed.receiver_count() == 0 {
            return;
        }
        let mut published = Vec::with_capacity(hashes.len());
        let mut hashes = hashes.into_iter();
        for change in changes {
            let mut units = HandlingUnits::of(change.before.as_deref());
            for event in &change.events {
                let logged = LoggedEvent {
                    event: event.clone(),
                    hash: hashes.next().unwrap_or_default(),
                };
                published.push((logged, units.concerned(&event.data)));
            }
        }
        let batch = Committed {
            first: before + 1,
            last,
            events: published,
        };
        // No receiver left is not an error: nobody is watching any more.
        let _ = self.outlets.committed.send(Arc::new(batch));
    }

    /// Decides one command against the committed state plus this batch's overlay. On success
    /// the change is queued for the batch's commit and the resulting proposal returned.
    fn prepare(
        &mut self,
        pending: &Pending,
        overlay: &mut Overlay,
        changes: &mut Vec<Change>,
    ) -> Result<Arc<Proposal>, AppError> {
        let Submission {
            proposal_id,
            command,
            expected_version,
            request_id,
            actor,
            effective_date,
            unit_scope,
        } = &pending.submission;
        // Idempotency keys are scoped by the actor: one caller's keys never meet another's.
        // The fingerprint (JSON and SHA-256 of the whole request) exists for keyed requests.
        let request_key = request_id
            .as_ref()
            .zip(pending.fingerprint)
            .map(|(r, fingerprint)| (r, request_key(actor, r.as_str()), fingerprint));
        if let Some((request_id, key, fingerprint)) = &request_key
            && let Some(replayed) = self.replay(request_id, key, fingerprint, overlay)?
        {
            return Ok(replayed);
        }

        let before = match proposal_id {
            Some(id) => Some(self.current(*id, overlay)?.ok_or(AppError::NotFound(*id))?),
            None => None,
        };
        // A unit's clerk who names no handling means its own unit's (the request is
        // fingerprinted as sent, so a retry from before this default still replays).
        let defaulted = unit_scope
            .as_ref()
            .and_then(|unit| command.with_unit(unit, before.as_deref()));
        let command = defaulted.as_ref().unwrap_or(command);
        // A unit-bound caller acts only on its own unit's handling: a co-unit may send its
        // opinion but not draft the lead's reply.
        if let Some(unit) = unit_scope {
            let acting = before.as_deref().and_then(|p| command.acting_unit(p));
            if acting != Some(unit.as_str()) {
                let handled = before.as_deref().is_some_and(|p| p.handled_by(unit));
                return Err(AppError::PermissionDenied(match (handled, acting) {
                    (false, _) => {
                        format!("{actor} acts for {unit}, which is not handling this proposal")
                    }
                    (true, Some(other)) => {
                        format!(
                            "{actor} acts for {unit}; this {} acts on {other}'s handling",
                            command.kind().rpc_name()
                        )
                    }
                    (true, None) => format!(
                        "{actor} acts for {unit}; this {} is not a unit's act",
                        command.kind().rpc_name()
                    ),
                }));
            }
        }
        if let (Some(expected), Some(current)) = (expected_version, &before)
            && *expected != current.version
        {
            return Err(AppError::VersionMismatch {
                expected: *expected,
                actual: current.version,
            });
        }
        let envelope = Envelope {
            proposal_id: before.as_ref().map_or_else(new_proposal_id, |p| p.id),
            position: self.next_position,
            occurred_at: self.clock.now(),
            effective_date: *effective_date,
            actor: actor.clone(),
            request_id: request_id.as_ref().map(|r| r.as_str().to_owned()),
        };
        // A merge records an event on each of the two proposals, in one act; every other
        // command one event on its own.
        let decided: [Option<(Option<Arc<Proposal>>, Decision)>; 2] = match command {
            Command::Merge {
                into_proposal_id, ..
            } => {
                let into = self
                    .current(*into_proposal_id, overlay)?
                    .ok_or(AppError::NotFound(*into_proposal_id))?;
                let [merged, joined] =
                    merge(before.as_deref(), &into, command, envelope, &self.rules)?;
                [Some((before, merged)), Some((Some(into), joined))]
            }
            _ => {
                let decision = decide(before.as_deref(), command, envelope, &self.rules)?;
                [Some((before, decision)), None]
            }
        };
        // Every claim is checked before anything is queued: a refusal changes nothing.
        let mut claims: [Option<Claim>; 2] = [None, None];
        for (claim, (_, decision)) in claims.iter_mut().zip(decided.iter().flatten()) {
            *claim = decision.event.data.claim();
            if let Some(claim) = claim {
                self.check_unique(claim, overlay)?;
            }
        }
        let mut answer = None;
        let mut request = request_key.map(|(_, key, fingerprint)| (key, fingerprint));
        for ((before, Decision { event, after }), claim) in
            decided.into_iter().flatten().zip(claims)
        {
            self.next_position += 1;
            let id = after.id;
            let after = Arc::new(after);
            if let Some(claim) = claim {
                overlay.claims.insert(claim, id);
            }
            // The request is remembered with the proposal it named, the first.
            let request = request.take().map(|(key, fingerprint)| {
                let record = RequestRecord {
                    fingerprint,
                    proposal_id: id,
                    version: after.version,
                };
                overlay
                    .requests
                    .insert(key.clone(), (record.clone(), Arc::clone(&after)));
                (key, record)
            });
            overlay.proposals.insert(id, Arc::clone(&after));
            answer.get_or_insert_with(|| Arc::clone(&after));
            changes.push(Change {
                before,
                after,
                events: vec![event],
                request,
            });
        }
        Ok(answer.expect("every command records at least one event"))
    }

    /// The original result of an earlier request with this key, or `None` if the key is new.
    fn replay(
        &self,
        request_id: &RequestId,
        key: &RequestKey,
        fingerprint: &Fingerprint,
        overlay: &Overlay,
    ) -> Result<Option<Arc<Proposal>>, AppError> {
        let (record, snapshot) = match overlay.requests.get(key) {
            Some((record, snapshot)) => (record.clone(), Some(Arc::clone(snapshot))),
            None => match self.wait(self.store.request(key))? {
                Some(record) => (record, None),
                None => return Ok(None),
            },
        };
        if record.fingerprint != *fingerprint {
            return Err(AppError::RequestIdReused {
                request_id: request_id.as_str().to_owned(),
            });
        }
        if let Some(snapshot) = snapshot {
            return Ok(Some(snapshot));
        }
        // The proposal exactly as the original request left it: its history up to that version.
        let history = self.wait(self.store.history(
            record.proposal_id,
            0,
            record.version as usize,
        ))?;
        let proposal = fold(history.iter().map(|logged| &logged.event))
            .filter(|p| p.version == record.version);
        match proposal {
            Some(proposal) => Ok(Some(Arc::new(proposal))),
            None => Err(AppError::Storage(StoreError::Corrupt(format!(
                "request {:?} names version {} of proposal {}, which its history does not reach",
                request_id.as_str(),
                record.version,
                record.proposal_id
            )))),
        }
    }

    fn current(
        &self,
        id: ProposalId,
        overlay: &Overlay,
    ) -> Result<Option<Arc<Proposal>>, AppError> {
        match overlay.proposals.get(&id).or_else(|| self.recent.get(&id)) {
            Some(proposal) => Ok(Some(Arc::clone(proposal))),
            None => Ok(self
                .wait(self.store.proposal(id, View::Full))?
                .map(Arc::new)),
        }
    }

    /// Enforces the rules that span proposals (see [`Claim`]): one proposal per (committee,
    /// session, number), one document per document number.
    fn check_unique(&self, claim: &Claim, overlay: &Overlay) -> Result<(), AppError> {
        let existing = match overlay.claims.get(claim) {
            Some(id) => Some(*id),
            None => self.wait(self.store.claimed_by(claim))?,
        };
        match existing {
            Some(existing) => Err(AppError::AlreadyExists(Conflict::of(
                claim.clone(),
                existing,
            ))),
            None => Ok(()),
        }
    }

    /// Waits for one of the store's futures on the writer's own runtime.
    fn wait<T>(&self, future: impl std::future::Future<Output = T>) -> T {
        self.runtime.block_on(future)
    }
}

/// A fresh id for a proposal being received now: UUIDv7, so ids sort in the order proposals were
/// received. The application layer makes ids; the domain only carries them.
pub fn new_proposal_id() -> ProposalId {
    ProposalId::from_bytes(*uuid::Uuid::now_v7().as_bytes())
}

/// SHA-256 of everything a request asks for, so a reused idempotency key with different
/// content is told apart from a true retry. Public for tools that write request records
/// themselves (bulk loading).
pub fn fingerprint(submission: &Submission) -> Fingerprint {
    Sha256::digest(fingerprinted(submission)).into()
}

/// The bytes a fingerprint hashes: JSON of the request's content (not its key, not the
/// caller's remit). Pinned by golden tests (`src/app/golden/`): if it changed, every retry
/// after an upgrade would be refused with REQUEST_ID_REUSED.
pub(super) fn fingerprinted(submission: &Submission) -> Vec<u8> {
    let Submission {
        proposal_id,
        command,
        expected_version,
        request_id: _,
        actor,
        effective_date,
        unit_scope: _,
    } = submission;
    // Without an effective date, the form from before effective dates existed.
    match effective_date {
        None => serde_json::to_vec(&(proposal_id, command, expected_version, actor)),
        Some(date) => serde_json::to_vec(&(proposal_id, command, expected_version, actor, date)),
    }
    .expect("commands always serialize")
}
