//! The verification every backend runs, written once over a small read interface ([`Audit`]):
//! the hash chain is recomputed over the log in position order; then each proposal's history is
//! checked as `decide` would have recorded it ([`check_recorded`]), folded, and everything
//! derived from it (the stored projection, every index entry of [`index::entries_of`], the
//! request records) is compared with what the backend holds; last, the backend reports what it
//! holds beyond all that. A backend supplies raw reads and says how its own layout can be
//! damaged; it never re-implements the checks. Memory stays bounded by one proposal's history.

use std::collections::{HashMap, HashSet};

use super::chain::{self, ChainHash, GENESIS};
use super::index::{self, IndexEntry, IndexKind};
use super::{RequestKey, RequestRecord, StoreError};
use crate::domain::statistics::ProposalFacts;
use crate::domain::{
    EVENT_SCHEMA_VERSION, EventData, Proposal, ProposalId, RecordedEvent, apply, check_recorded,
    fold,
};

/// What a verification found.
#[derive(Debug, Default)]
pub struct Verification {
    pub events: u64,
    pub proposals: u64,
    /// The last event's position and chain hash.
    pub head: (u64, ChainHash),
    /// Disagreements found, in words, chain breaks first in log order; empty when the store is
    /// consistent. At most [`MAX_PROBLEMS`].
    pub problems: Vec<String>,
}

impl Verification {
    /// The first disagreement found, if any.
    pub fn first_mismatch(&self) -> Option<&str> {
        self.problems.first().map(String::as_str)
    }

    /// Records a problem (the first [`MAX_PROBLEMS`] are kept).
    pub fn problem(&mut self, text: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(text);
        }
    }
}

/// The most problems reported, so one systematic fault does not flood the report.
pub const MAX_PROBLEMS: usize = 100;

/// One entry of the log as a backend keeps it.
pub struct LogEntry {
    /// The position the entry is filed under, if its key reads as one.
    pub filed_at: Option<u64>,
    /// The stored event it names: its stored chain hash and canonical bytes, or why it cannot be
    /// read (missing, truncated), in words.
    pub stored: Result<(ChainHash, Vec<u8>), String>,
}

/// How many entries of each kind the events explain: what a backend must hold, no more.
#[derive(Debug, Default)]
pub struct Expected {
    pub events: u64,
    pub proposals: u64,
    pub requests: u64,
    /// One statistics facts record per proposal.
    pub facts: u64,
    pub index: HashMap<IndexKind, u64>,
}

/// Called with each proposal's stored history (`None` when it could not be read whole).
pub type HistoryVisitor<'a> = dyn FnMut(ProposalId, Option<Vec<RecordedEvent>>, &mut Verification) -> Result<(), StoreError>
    + 'a;

/// What the verification reads from a backend.
pub trait Audit {
    /// Visits the log in the order the backend keeps it (by position).
    fn walk_log(
        &self,
        visit: &mut dyn FnMut(LogEntry) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;

    /// Visits every stored event, one proposal at a time, in sequence order. An event that
    /// cannot be read, or is filed under another proposal's key, is reported here and makes
    /// that proposal's history `None` (it is not checked further). Returns how many events the
    /// backend holds.
    fn walk_histories(
        &self,
        report: &mut Verification,
        visit: &mut HistoryVisitor<'_>,
    ) -> Result<u64, StoreError>;

    /// Compares the stored projection of `proposal` (the fold of `events`) with it, and
    /// reports each difference, including how the backend's own split of it is damaged.
    fn check_projection(
        &self,
        proposal: &Proposal,
        events: &[RecordedEvent],
        report: &mut Verification,
    ) -> Result<(), StoreError>;

    /// Whether the backend holds `facts` as the statistics facts of `proposal` (they are
    /// [`ProposalFacts::of_history`] of its events): `None` if so, else the problem in words.
    fn check_facts(
        &self,
        proposal: &Proposal,
        facts: &ProposalFacts,
    ) -> Result<Option<String>, StoreError>;

    /// Whether the backend holds `entry` exactly: `None` if so, else the problem in words.
    fn check_entry(&self, entry: &IndexEntry) -> Result<Option<String>, StoreError>;

    /// The request record stored under `key`: `None` if there is none, the problem in words if
    /// it cannot be read.
    fn stored_request(
        &self,
        key: &RequestKey,
    ) -> Result<Option<Result<RequestRecord, String>>, StoreError>;

    /// Reports what the backend holds beyond `expected` (entries no event explains).
    fn check_surplus(
        &self,
        expected: &Expected,
        report: &mut Verification,
    ) -> Result<(), StoreError>;
}

/// Recomputes the chain, every projection and every index from the events, and compares.
pub fn verify(store: &impl Audit) -> Result<Verification, StoreError> {
    let mut report = Verification {
        head: (0, GENESIS),
        ..Default::default()
    };
    verify_chain(store, &mut report)?;
    let mut expected = Expected::default();
    let mut requests: HashMap<RequestKey, (ProposalId, u64)> = HashMap::new();
    // Both sides of each merge: (merged, into, position of the merged proposal's event), and
    // (merged, into, position of the other's).
    let mut merges: Vec<(ProposalId, ProposalId, u64)> = Vec::new();
    let mut joins: HashSet<(ProposalId, ProposalId, u64)> = HashSet::new();
    let stored_events = store.walk_histories(&mut report, &mut |id, events, report| {
        let Some(events) = events else {
            return Ok(());
        };
        report.proposals += 1;
        verify_proposal(store, id, &events, &mut expected, report)?;
        for event in &events {
            // A merge's request is remembered with the merged proposal, not the other side.
            if let Some(request_id) = &event.request_id
                && !matches!(event.data, EventData::MergeJoined { .. })
            {
                let key = RequestKey::new(&event.actor, request_id);
                requests.insert(key, (id, event.sequence));
            }
            match &event.data {
                EventData::ProposalMerged {
                    into_proposal_id, ..
                } => merges.push((id, *into_proposal_id, event.position)),
                EventData::MergeJoined { merged } => {
                    joins.insert((merged.id, id, event.position));
                }
                _ => {}
            }
        }
        Ok(())
    })?;
    // A merge is one act on two proposals: each side at consecutive positions.
    for (merged, into, position) in merges {
        if !joins.remove(&(merged, into, position + 1)) {
            report.problem(format!(
                "proposal {merged} was merged into {into} at position {position}, which does not \
                 record it at position {}",
                position + 1
            ));
        }
    }
    for (merged, into, position) in joins {
        report.problem(format!(
            "proposal {into} records {merged} merged into it at position {position}, which \
             {merged}'s history does not record"
        ));
    }
    if stored_events != report.events {
        report.problem(format!(
            "events holds {stored_events} entries, the log names {}",
            report.events
        ));
    }
    for (key, (id, version)) in &requests {
        let shown = key.as_str().replace('\0', "/");
        match store.stored_request(key)? {
            Some(Err(problem)) => report.problem(problem),
            Some(Ok(record)) if (record.proposal_id, record.version) == (*id, *version) => {}
            Some(Ok(_)) => report.problem(format!(
                "requests entry {shown:?} differs from the fold of the events"
            )),
            None => report.problem(format!("requests lacks the entry for {shown:?}")),
        }
    }
    expected.requests = requests.len() as u64;
    expected.events = report.events;
    store.check_surplus(&expected, &mut report)?;
    Ok(report)
}

/// Walks the log in order: positions 1, 2, 3, ..., each naming a stored event that says that
/// position, and each event's hash the link of its predecessor's hash and its own bytes.
fn verify_chain(store: &impl Audit, report: &mut Verification) -> Result<(), StoreError> {
    let mut previous = GENESIS;
    store.walk_log(&mut |LogEntry { filed_at, stored }| {
        report.events += 1;
        if filed_at != Some(report.events) {
            report.problem(format!(
                "the log's entry number {} is at position {filed_at:?}: positions must run 1, 2, 3, ... without gaps",
                report.events
            ));
        }
        let (hash, bytes) = match stored {
            Ok(stored) => stored,
            Err(problem) => {
                report.problem(problem);
                return Ok(());
            }
        };
        let computed = chain::link(&previous, &bytes);
        if computed != hash {
            report.problem(format!(
                "the event at position {} does not match its hash: stored {}, its bytes and predecessor give {}",
                filed_at.unwrap_or(0),
                chain::to_hex(&hash),
                chain::to_hex(&computed)
            ));
        }
        // Continue from the stored hash, so one altered event is reported once.
        previous = hash;
        report.head = (filed_at.unwrap_or(0), hash);
        match serde_json::from_slice::<RecordedEvent>(&bytes) {
            Ok(event) if Some(event.position) != filed_at => report.problem(format!(
                "the event stored at position {filed_at:?} says position {}",
                event.position
            )),
            Ok(event) if event.schema > EVENT_SCHEMA_VERSION => report.problem(format!(
                "the event at position {} has schema {}, newer than this build's {}",
                event.position, event.schema, EVENT_SCHEMA_VERSION
            )),
            Ok(_) => {}
            Err(e) => report.problem(format!("position {filed_at:?}: an event: {e}")),
        }
        Ok(())
    })
}

/// Checks one proposal: its history is one `decide` could have recorded, its projection is the
/// fold of it, and every index entry it implies is present.
fn verify_proposal(
    store: &impl Audit,
    id: ProposalId,
    events: &[RecordedEvent],
    expected: &mut Expected,
    report: &mut Verification,
) -> Result<(), StoreError> {
    check_path(id, events, report);
    let Some(proposal) = fold(events.iter()) else {
        return Ok(());
    };
    expected.proposals += 1;
    store.check_projection(&proposal, events, report)?;
    expected.facts += 1;
    if let Some(problem) = store.check_facts(&proposal, &ProposalFacts::of_history(events))? {
        report.problem(problem);
    }
    for entry in index::entries_of(&proposal, events) {
        *expected.index.entry(entry.kind()).or_default() += 1;
        if let Some(problem) = store.check_entry(&entry)? {
            report.problem(problem);
        }
    }
    Ok(())
}

/// Checks that a proposal's events are a history `decide` could have recorded, event by event
/// (the same check an import makes: [`check_recorded`]). Folds on past a bad event, so that every
/// problem of the history is reported.
fn check_path(id: ProposalId, events: &[RecordedEvent], report: &mut Verification) {
    let mut proposal = None;
    for event in events {
        if let Err(problem) = check_recorded(proposal.as_ref(), event) {
            report.problem(format!(
                "proposal {id}: event {} at position {}: {problem}",
                event.sequence, event.position
            ));
        }
        proposal = Some(apply(proposal, event));
    }
}
