//! The indexes every backend keeps, as data: which entries a change adds and removes, and which
//! entries a proposal's whole history implies. Derived here once, from the domain (each event's
//! [`Claim`], [`HandlingUnits`], the proposal's state and units), for every backend: a backend only
//! maps an [`IndexEntry`] to its own layout (a sled tree and key, a table row), and `verify`
//! compares what a backend holds with [`entries_of`].

use super::Change;
use crate::domain::{Claim, HandlingUnits, Proposal, ProposalId, ProposalState, RecordedEvent};

/// One index entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IndexEntry {
    /// A registry-wide value and the proposal that holds it (the number index, the document
    /// index): answers [`super::Store::claimed_by`].
    Claim(Claim, ProposalId),
    /// A proposal in a state: listings by state.
    State(ProposalState, ProposalId),
    /// A proposal a unit is handling, in any role: listings by unit.
    Unit(String, ProposalId),
    /// An event that concerns a unit (see [`HandlingUnits::concerned`]), at its log position: the unit's audit
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
    let mut units = HandlingUnits::of(before.as_deref());
    for event in events {
        event_entries(event, &mut units, &mut changes.added);
    }
    if before.as_ref().map(|b| b.state) != Some(after.state) {
        if let Some(before) = before {
            changes.removed.push(IndexEntry::State(before.state, id));
        }
        changes.added.push(IndexEntry::State(after.state, id));
    }
    let units_before = before.as_deref().map_or(&[][..], |b| &b.handlings[..]);
    for gone in units_before.iter().filter(|h| !after.handled_by(&h.unit)) {
        changes
            .removed
            .push(IndexEntry::Unit(gone.unit.clone(), id));
    }
    for new in after
        .handlings
        .iter()
        .filter(|h| !units_before.iter().any(|b| b.unit == h.unit))
    {
        changes.added.push(IndexEntry::Unit(new.unit.clone(), id));
    }
    changes
}

/// Every entry the history `events` of `proposal` (its fold) implies.
pub fn entries_of(proposal: &Proposal, events: &[RecordedEvent]) -> Vec<IndexEntry> {
    let mut entries = vec![IndexEntry::State(proposal.state, proposal.id)];
    for handling in &proposal.handlings {
        entries.push(IndexEntry::Unit(handling.unit.clone(), proposal.id));
    }
    let mut units = HandlingUnits::default();
    for event in events {
        event_entries(event, &mut units, &mut entries);
    }
    entries
}

/// The entries one event adds: its claim, and its place in the trail of each unit it concerns.
/// `units` are the proposal's units before the event, moved past it.
fn event_entries(event: &RecordedEvent, units: &mut HandlingUnits, entries: &mut Vec<IndexEntry>) {
    if let Some(claim) = event.data.claim() {
        entries.push(IndexEntry::Claim(claim, event.proposal_id));
    }
    for unit in units.concerned(&event.data) {
        entries.push(IndexEntry::UnitEvent {
            unit,
            position: event.position,
            proposal_id: event.proposal_id,
            sequence: event.sequence,
        });
    }
}
