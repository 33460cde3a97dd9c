//! The indexes every backend keeps, as data: which entries a change adds and removes, and which
//! entries a proposal's whole history implies. Derived here once, from the domain (each event's
//! [`Claim`], [`event_unit`], the proposal's state and unit), for every backend: a backend only
//! maps an [`IndexEntry`] to its own layout (a sled tree and key, a table row), and `verify`
//! compares what a backend holds with [`entries_of`].

use super::Change;
use crate::domain::{Claim, Proposal, ProposalId, ProposalState, RecordedEvent, event_unit};

/// One index entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IndexEntry {
    /// A registry-wide value and the proposal that holds it (the number index, the document
    /// index): answers [`super::Store::claimed_by`].
    Claim(Claim, ProposalId),
    /// A proposal in a state: listings by state.
    State(ProposalState, ProposalId),
    /// A proposal a unit is handling: listings by unit.
    Unit(String, ProposalId),
    /// An event that concerns a unit (see [`event_unit`]), at its log position: the unit's audit
    /// trail and watch stream.
    UnitEvent {
        unit: String,
        position: u64,
        proposal_id: ProposalId,
        sequence: u64,
    },
}

/// The kinds of [`IndexEntry`]: a backend keeps each kind together (a sled tree, a table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IndexKind {
    ProposalNumber,
    DocumentNumber,
    State,
    Unit,
    UnitEvent,
}

impl IndexEntry {
    pub fn kind(&self) -> IndexKind {
        match self {
            Self::Claim(Claim::ProposalNumber { .. }, _) => IndexKind::ProposalNumber,
            Self::Claim(Claim::DocumentNumber(_), _) => IndexKind::DocumentNumber,
            Self::State(..) => IndexKind::State,
            Self::Unit(..) => IndexKind::Unit,
            Self::UnitEvent { .. } => IndexKind::UnitEvent,
        }
    }
}

/// What one change does to the indexes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct IndexChanges {
    pub removed: Vec<IndexEntry>,
    pub added: Vec<IndexEntry>,
}

/// The entries `change` removes and adds. Claims and unit events are never removed: a number
/// or document once taken stays taken, and the log is never rewritten.
pub fn changes_of(change: &Change) -> IndexChanges {
    let Change {
        before,
        after,
        events,
        request: _,
    } = change;
    let id = after.id;
    let mut changes = IndexChanges::default();
    let mut unit = before.as_ref().and_then(|b| b.handling_unit.clone());
    for event in events {
        event_entries(event, &mut unit, &mut changes.added);
    }
    if before.as_ref().map(|b| b.state) != Some(after.state) {
        if let Some(before) = before {
            changes.removed.push(IndexEntry::State(before.state, id));
        }
        changes.added.push(IndexEntry::State(after.state, id));
    }
    let unit_before = before.as_ref().and_then(|b| b.handling_unit.as_ref());
    if unit_before != after.handling_unit.as_ref() {
        if let Some(unit) = unit_before {
            changes.removed.push(IndexEntry::Unit(unit.clone(), id));
        }
        if let Some(unit) = &after.handling_unit {
            changes.added.push(IndexEntry::Unit(unit.clone(), id));
        }
    }
    changes
}

/// Every entry the history `events` of `proposal` (its fold) implies.
pub fn entries_of(proposal: &Proposal, events: &[RecordedEvent]) -> Vec<IndexEntry> {
    let mut entries = vec![IndexEntry::State(proposal.state, proposal.id)];
    if let Some(unit) = &proposal.handling_unit {
        entries.push(IndexEntry::Unit(unit.clone(), proposal.id));
    }
    let mut unit = None;
    for event in events {
        event_entries(event, &mut unit, &mut entries);
    }
    entries
}

/// The entries one event adds: its claim, and its place in a unit's trail. `unit` is the
/// proposal's unit before the event, moved past it.
fn event_entries(event: &RecordedEvent, unit: &mut Option<String>, entries: &mut Vec<IndexEntry>) {
    if let Some(claim) = event.data.claim() {
        entries.push(IndexEntry::Claim(claim, event.proposal_id));
    }
    if let Some(unit) = event_unit(unit, &event.data) {
        entries.push(IndexEntry::UnitEvent {
            unit,
            position: event.position,
            proposal_id: event.proposal_id,
            sequence: event.sequence,
        });
    }
}
