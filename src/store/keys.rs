//! The key layout of the embedded store. Integers are big-endian and fixed-width so that keys
//! sort numerically; strings inside composite keys are length-prefixed so that one key can never
//! be a prefix of another by accident.

use crate::domain::{ProposalId, ProposalState};

/// `id ++ sequence` → the event recorded there: one proposal's events are adjacent, in order,
/// so its history is one range read and its registration and reply sit beside each other.
pub(super) fn event(id: ProposalId, sequence: u64) -> [u8; 24] {
    let mut key = [0; 24];
    key[..16].copy_from_slice(id.as_bytes());
    key[16..].copy_from_slice(&sequence.to_be_bytes());
    key
}

/// The proposal and sequence encoded by [`event`], if `key` is one.
pub(super) fn event_parts(key: &[u8]) -> Option<(ProposalId, u64)> {
    let key: &[u8; 24] = key.try_into().ok()?;
    let (id, sequence) = key.split_at(16);
    Some((
        ProposalId::from_bytes(id.try_into().ok()?),
        u64::from_be_bytes(sequence.try_into().ok()?),
    ))
}

/// `position` → the [`event`] key of the event recorded there: the log, in order.
pub(super) fn log(position: u64) -> [u8; 8] {
    position.to_be_bytes()
}

/// The position encoded by [`log`], if `key` is one.
pub(super) fn position(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.try_into().ok()?))
}

/// `id` → the proposal's current state.
pub(super) fn proposal(id: ProposalId) -> [u8; 16] {
    *id.as_bytes()
}

/// The proposal id at the end of an index key.
pub(super) fn trailing_id(key: &[u8]) -> Option<ProposalId> {
    let start = key.len().checked_sub(16)?;
    Some(ProposalId::from_bytes(key[start..].try_into().ok()?))
}

fn push_str(key: &mut Vec<u8>, text: &str) {
    let len = u32::try_from(text.len()).expect("field limits keep strings far below 4 GiB");
    key.extend_from_slice(&len.to_be_bytes());
    key.extend_from_slice(text.as_bytes());
}

/// Prefix of the number index for a committee, or for a committee and session.
pub(super) fn number_prefix(committee: &str, session: Option<&str>) -> Vec<u8> {
    let mut key = Vec::new();
    push_str(&mut key, committee);
    if let Some(session) = session {
        push_str(&mut key, session);
    }
    key
}

/// `committee ++ session ++ number` → id: the proposal's identity, and listings by committee.
pub(super) fn number(committee: &str, session: &str, number: u32) -> Vec<u8> {
    let mut key = number_prefix(committee, Some(session));
    key.extend_from_slice(&number.to_be_bytes());
    key
}

/// `document_number` → id: a document number is issued once.
pub(super) fn document(document_number: &str) -> Vec<u8> {
    document_number.as_bytes().to_vec()
}

fn state_byte(state: ProposalState) -> u8 {
    match state {
        ProposalState::Received => 1,
        ProposalState::Assigned => 2,
        ProposalState::Drafted => 3,
        ProposalState::Signed => 4,
        ProposalState::Issued => 5,
        ProposalState::Copied => 6,
        ProposalState::NotAccepted => 7,
        ProposalState::Merged => 8,
        ProposalState::Closed => 9,
    }
}

/// Prefix of the state index for one state.
pub(super) fn state_prefix(state: ProposalState) -> [u8; 1] {
    [state_byte(state)]
}

/// `state ++ id` → (): proposals in a state, in the order they were received.
pub(super) fn state(state: ProposalState, id: ProposalId) -> [u8; 17] {
    let mut key = [0; 17];
    key[0] = state_byte(state);
    key[1..].copy_from_slice(id.as_bytes());
    key
}

/// Prefix of the unit index for one handling unit.
pub(super) fn unit_prefix(unit: &str) -> Vec<u8> {
    let mut key = Vec::new();
    push_str(&mut key, unit);
    key
}

/// `unit ++ id` → (): proposals a unit is handling, in the order they were received.
pub(super) fn unit(unit: &str, id: ProposalId) -> Vec<u8> {
    let mut key = unit_prefix(unit);
    key.extend_from_slice(id.as_bytes());
    key
}

/// `unit ++ position` → the [`event`] key: the events of proposals a unit was handling, in log
/// order. Shares [`unit_prefix`] with the unit index.
pub(super) fn unit_event(unit: &str, position: u64) -> Vec<u8> {
    let mut key = unit_prefix(unit);
    key.extend_from_slice(&position.to_be_bytes());
    key
}

/// `committee ++ session ++ id` → the proposal's statistics facts: a session's facts are one
/// range, under [`number_prefix`] of the committee and session.
pub(super) fn facts(committee: &str, session: &str, id: ProposalId) -> Vec<u8> {
    let mut key = number_prefix(committee, Some(session));
    key.extend_from_slice(id.as_bytes());
    key
}

/// `request_id` → what the request produced.
pub(super) fn request(request_id: &str) -> Vec<u8> {
    request_id.as_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_sequences_sort_numerically_past_one_byte() {
        let id = ProposalId::from_bytes([7; 16]);
        assert!(log(255) < log(256));
        assert!(event(id, 255) < event(id, 256));
        assert_eq!(position(&log(300)), Some(300));
        assert_eq!(event_parts(&event(id, 300)), Some((id, 300)));
        assert_eq!(event_parts(&log(300)), None);
    }

    #[test]
    fn one_proposals_events_sort_before_the_next_proposals() {
        let (first, second) = (
            ProposalId::from_bytes([1; 16]),
            ProposalId::from_bytes([2; 16]),
        );
        assert!(event(first, u64::MAX) < event(second, 1));
    }

    #[test]
    fn a_unit_is_never_a_prefix_of_another_units_keys() {
        let id = ProposalId::from_bytes([1; 16]);
        assert!(!unit("许昌市生态环境局二", id).starts_with(&unit_prefix("许昌市生态环境局")));
        assert_eq!(trailing_id(&unit("许昌市生态环境局", id)), Some(id));
    }

    #[test]
    fn a_sessions_facts_are_under_its_prefix_and_no_other_sessions() {
        let id = ProposalId::from_bytes([1; 16]);
        let key = facts("许昌市政协", "七届三次会议", id);
        assert!(key.starts_with(&number_prefix("许昌市政协", Some("七届三次会议"))));
        assert!(!key.starts_with(&number_prefix("许昌市政协", Some("七届三"))));
        assert_eq!(trailing_id(&key), Some(id));
    }
}
