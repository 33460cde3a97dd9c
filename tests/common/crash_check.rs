//! The crash test's ledger and its check while the server is down: what each client was told
//! ([`Slot`], [`Shared`]), and [`check_directory`], which opens the directory a killed server
//! left and checks it against all of it: `verify()` finds no problem, every acknowledged
//! transition is in its history at exactly the acknowledged version, every proposal is at its
//! last acknowledged version or at most the one unanswered call beyond it, no position and no
//! request id appears twice (but a merge's, on each of its two proposals), and no event is there
//! that nobody asked for. [`CrashCall`] is the kit's retried call with what a split proposal
//! (分办) or a merge (并案) adds.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64};

use proposal_service::domain::{EventKind, ProposalId, ProposalState, RecordedEvent};
use proposal_service::store::{SledOptions, SledStore, View, request_key};

use super::retried::{Ack, Call};

/// One call of the crash test: the kit's retried call, with what a split proposal (分办) or a
/// merge (并案) adds to its request, and the state it leaves its proposal in. Retried with
/// exactly this content until answered.
#[derive(Clone, Debug)]
pub struct CrashCall {
    pub call: Call,
    /// An assignment's split units (each replies on its own, as its handling_unit does).
    pub split_units: &'static [&'static str],
    /// The unit a command on the reply or a unit's record names (empty: none).
    pub handling_unit: &'static str,
    /// A merge: the proposal merged into, its version before the merge and its state (which
    /// the join keeps).
    pub into: Option<(ProposalId, u64, ProposalState)>,
    /// The state the call leaves its proposal in: a split proposal stands where its least
    /// advanced unit does.
    pub target: ProposalState,
}

impl CrashCall {
    pub fn describe(&self) -> String {
        let mut text = self.call.describe();
        if !self.split_units.is_empty() {
            text.push_str(&format!(" split with {:?}", self.split_units));
        }
        if !self.handling_unit.is_empty() {
            text.push_str(&format!(" for {}", self.handling_unit));
        }
        if let Some((into, version, _)) = self.into {
            text.push_str(&format!(" into {into} at version {version}"));
        }
        text
    }
}

/// What one client shares with the test.
#[derive(Default)]
pub struct Slot {
    /// Every acknowledged transition; a merge's is two, its join of the other proposal
    /// (`MergeJoined`, under the same request id) after it.
    pub acks: Mutex<Vec<Ack>>,
    /// The call a kill left without an answer, while the client waits for the next server.
    pub pending: Mutex<Option<CrashCall>>,
    /// The last server (epoch) whose kill this client has noticed; it then makes no call until
    /// a newer server is published.
    pub parked: AtomicU64,
    /// The client has finished (stopped, or failed and reported why).
    pub done: AtomicBool,
    pub interrupted: AtomicU64,
    pub retried: AtomicU64,
    pub already_applied: AtomicU64,
}

pub struct Shared {
    pub seed: u64,
    pub slots: Vec<Slot>,
    /// Every server up to this epoch has been killed (set just before SIGKILL is sent).
    pub killed: AtomicU64,
    /// Set on the last server: finish the call at hand (and any retry), start no new one.
    pub stop: AtomicBool,
    pub failures: Mutex<Vec<String>>,
}

impl Shared {
    pub fn fail_if_any(&self) {
        let failures = self.failures.lock().unwrap();
        assert!(
            failures.is_empty(),
            "seed {:#x} (replay with PROPOSAL_CRASH_SEED={:#x}):\n{}",
            self.seed,
            self.seed,
            failures.join("\n")
        );
    }
}

/// One server's life: its number and where it listens.
#[derive(Clone, Copy, Debug)]
pub struct Epoch {
    pub number: u64,
    pub addr: SocketAddr,
}

/// What a check of the stopped server's directory found.
pub struct Checked {
    pub events: u64,
    pub proposals: u64,
    /// Unanswered calls found applied / found not applied.
    pub applied: u64,
    pub not_applied: u64,
}

/// Opens the directory the server left and checks it against what the clients were told.
/// Records in each pending call whether it had been applied. Every problem found is returned.
pub fn check_directory(dir: &Path, shared: &Shared) -> Result<Checked, Vec<String>> {
    let store = SledStore::open(dir, &SledOptions::default())
        .map_err(|e| vec![format!("the directory does not open: {e}")])?;
    let mut problems = Vec::new();
    let verification = store
        .verify()
        .map_err(|e| vec![format!("verify failed to read the store: {e}")])?;
    problems.extend(verification.problems.iter().map(|p| format!("verify: {p}")));

    let mut histories: HashMap<ProposalId, Vec<RecordedEvent>> = HashMap::new();
    let mut history = |id: ProposalId| -> Result<Vec<RecordedEvent>, String> {
        if let Some(events) = histories.get(&id) {
            return Ok(events.clone());
        }
        let events: Vec<RecordedEvent> = store
            .history(id, 0, usize::MAX)
            .map_err(|e| format!("reading the history of {id}: {e}"))?
            .into_iter()
            .map(|logged| logged.event)
            .collect();
        histories.insert(id, events.clone());
        Ok(events)
    };

    // Every acknowledged transition is in its history at exactly the acknowledged version.
    let acks: Vec<Ack> = shared
        .slots
        .iter()
        .flat_map(|s| s.acks.lock().unwrap().clone())
        .collect();
    // The last acknowledged version and state of every proposal a client was told about.
    let mut last: HashMap<ProposalId, (u64, ProposalState)> = HashMap::new();
    // Every request id that may appear in the store: acknowledged, or found applied below.
    let mut explained: HashSet<String> = HashSet::new();
    // The request ids of merges, which append an event to each of two proposals.
    let mut merges: HashSet<String> = HashSet::new();
    for ack in &acks {
        let events = history(ack.proposal).map_err(|e| vec![e])?;
        match events.get(ack.version as usize - 1) {
            None => problems.push(format!(
                "LOST: {:?} of proposal {} was acknowledged at version {} (request id {}), but its history has {} events",
                ack.kind,
                ack.proposal,
                ack.version,
                ack.request_id,
                events.len()
            )),
            Some(event) => {
                let found = (event.sequence, event.data.kind(), event.request_id.as_deref(), event.to_state);
                let want = (ack.version, ack.kind, Some(ack.request_id.as_str()), ack.state);
                if found != want {
                    problems.push(format!(
                        "proposal {} at version {}: acknowledged {want:?}, stored {found:?}",
                        ack.proposal, ack.version
                    ));
                }
            }
        }
        let entry = last.entry(ack.proposal).or_insert((0, ack.state));
        if ack.version > entry.0 {
            *entry = (ack.version, ack.state);
        }
        // A merge's join is recorded under the merge's request id, which names the proposal
        // merged.
        if ack.kind == EventKind::MergeJoined {
            continue;
        }
        if ack.kind == EventKind::ProposalMerged {
            merges.insert(ack.request_id.clone());
        }
        // Idempotency records are kept per actor: the one recorded on the acknowledged event.
        let actor = events
            .get(ack.version as usize - 1)
            .map_or("", |event| event.actor.as_str());
        match store.request(&request_key(actor, &ack.request_id)) {
            Ok(Some(record))
                if (record.proposal_id, record.version) == (ack.proposal, ack.version) => {}
            other => problems.push(format!(
                "request {} was acknowledged as version {} of {}, its record is {other:?}",
                ack.request_id, ack.version, ack.proposal
            )),
        }
        if !explained.insert(ack.request_id.clone()) {
            problems.push(format!("request {} was acknowledged twice", ack.request_id));
        }
    }

    // Each unanswered call was applied or not, as a whole: if applied, exactly one version
    // beyond the last acknowledged, as the right event.
    let mut beyond: HashMap<ProposalId, (u64, ProposalState)> = HashMap::new();
    let (mut applied, mut not_applied) = (0, 0);
    for slot in &shared.slots {
        let mut pending = slot.pending.lock().unwrap();
        let Some(sent) = pending.as_mut() else {
            continue;
        };
        let (into, target) = (sent.into, sent.target);
        let call = &mut sent.call;
        let record = store
            .request(&request_key(call.step.actor, &call.request_id))
            .map_err(|e| vec![format!("reading request {}: {e}", call.request_id)])?;
        let Some(record) = record else {
            call.found_applied = Some(false);
            not_applied += 1;
            continue;
        };
        call.found_applied = Some(true);
        applied += 1;
        explained.insert(call.request_id.clone());
        // A merge applied joined the other proposal too, one version beyond what it was.
        if let Some((into, version, state)) = into {
            merges.insert(call.request_id.clone());
            beyond.insert(into, (version + 1, state));
        }
        if call.proposal.is_some_and(|id| id != record.proposal_id)
            || record.version != call.expected_version + 1
        {
            problems.push(format!(
                "unanswered {} is recorded as version {} of {}",
                call.describe(),
                record.version,
                record.proposal_id
            ));
            continue;
        }
        let events = history(record.proposal_id).map_err(|e| vec![e])?;
        match events.get(record.version as usize - 1) {
            Some(event)
                if event.data.kind() == call.kind()
                    && event.request_id.as_deref() == Some(call.request_id.as_str()) => {}
            other => problems.push(format!(
                "unanswered {} is recorded, but its history holds {other:?} there",
                call.describe()
            )),
        }
        beyond.insert(record.proposal_id, (record.version, target));
    }

    // Every proposal stands at its last acknowledged version, or at the one unanswered call
    // beyond it; nothing else was added.
    let known: BTreeSet<ProposalId> = last.keys().chain(beyond.keys()).copied().collect();
    for id in &known {
        let stored = match store.proposal(*id, View::Full) {
            Ok(Some(p)) => p,
            other => {
                problems.push(format!(
                    "proposal {id} was acknowledged, the store has {other:?}"
                ));
                continue;
            }
        };
        let want = match (beyond.get(id), last.get(id)) {
            (Some(b), Some(l)) if b.0 == l.0 + 1 => *b,
            (Some(b), None) if b.0 == 1 => *b,
            (Some(b), l) => {
                problems.push(format!(
                    "proposal {id}: an unanswered call applied as version {} after acknowledged {l:?}",
                    b.0
                ));
                continue;
            }
            (None, Some(l)) => *l,
            (None, None) => unreachable!("known proposals come from one of the two"),
        };
        if (stored.version, stored.state) != want {
            problems.push(format!(
                "proposal {id} is at version {} {:?}; the clients were told {want:?} (or one unanswered call beyond)",
                stored.version, stored.state
            ));
        }
    }

    // No position twice, none missing; every request id exactly once, and explained.
    let mut positions = BTreeSet::new();
    let mut request_ids: HashMap<String, u32> = HashMap::new();
    for id in &known {
        for event in history(*id).map_err(|e| vec![e])? {
            if !positions.insert(event.position) {
                problems.push(format!("position {} appears twice", event.position));
            }
            match &event.request_id {
                Some(request_id) => *request_ids.entry(request_id.clone()).or_default() += 1,
                None => problems.push(format!(
                    "proposal {id} event {} has no request id",
                    event.sequence
                )),
            }
        }
    }
    let expected_positions: BTreeSet<u64> = (1..=verification.events).collect();
    if positions != expected_positions {
        problems.push(format!(
            "the known proposals hold {} positions ({:?}..{:?}); the log has {} events",
            positions.len(),
            positions.first(),
            positions.last(),
            verification.events
        ));
    }
    if verification.proposals != known.len() as u64 {
        problems.push(format!(
            "the store holds {} proposals, the clients know of {}",
            verification.proposals,
            known.len()
        ));
    }
    for (request_id, count) in &request_ids {
        if *count != 1 + u32::from(merges.contains(request_id)) {
            problems.push(format!("request {request_id} appended {count} events"));
        }
        if !explained.contains(request_id) {
            problems.push(format!(
                "request {request_id} is in the store but was neither acknowledged nor pending"
            ));
        }
    }
    if problems.is_empty() {
        Ok(Checked {
            events: verification.events,
            proposals: verification.proposals,
            applied,
            not_applied,
        })
    } else {
        Err(problems)
    }
}
