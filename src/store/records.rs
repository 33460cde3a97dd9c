//! How the embedded store lays a proposal's projection out: the small part every transition
//! changes (the status, with the title and proposers that listings show) is stored; the two
//! large parts (the proposal's content and the reply in force) are not copied but read from the
//! events that carry them, which the status points at. A transition rewrites a few hundred
//! bytes, a reply body is stored once, in its event, and a basic view of a proposal (everything
//! but those two parts) is one read.

use serde::{Deserialize, Serialize};

use super::{RequestRecord, StoreError};
use crate::domain::{
    CalendarDate, Closure, FeedbackRecord, Handling, KeyDesignation, LargeParts, MergedProposal,
    Proposal, ProposalId, ProposalState, ProposerKind, RecordedEvent, Refusal, Reply, Round,
    Timestamp,
};

/// A request record as stored: the fingerprint (32 bytes) ++ the proposal id (16 bytes) ++ the
/// version (u64 BE). One is written per keyed command, so it is kept small: 56 bytes, where
/// JSON with the fingerprint in hex took about 150.
pub(super) fn encode_request(record: &RequestRecord) -> Vec<u8> {
    let RequestRecord {
        fingerprint,
        proposal_id,
        version,
    } = record;
    [
        fingerprint.as_slice(),
        proposal_id.as_bytes(),
        &version.to_be_bytes(),
    ]
    .concat()
}

/// Reads what [`encode_request`] wrote.
pub(super) fn decode_request(bytes: &[u8]) -> Result<RequestRecord, StoreError> {
    let malformed = || StoreError::Corrupt(format!("a request record of {} bytes", bytes.len()));
    let bytes: &[u8; 56] = bytes.try_into().map_err(|_| malformed())?;
    let (fingerprint, rest) = bytes.split_first_chunk::<32>().ok_or_else(malformed)?;
    let (id, version) = rest.split_first_chunk::<16>().ok_or_else(malformed)?;
    Ok(RequestRecord {
        fingerprint: *fingerprint,
        proposal_id: ProposalId::from_bytes(*id),
        version: u64::from_be_bytes(version.try_into().map_err(|_| malformed())?),
    })
}

/// What every transition rewrites, what listings filter on and what a basic view shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct StatusRecord {
    pub committee: String,
    pub session: String,
    pub number: u32,
    /// Copied from the registration (bounded by the domain's limits) so that a listing shows
    /// them without reading the `ProposalReceived` event.
    pub title: String,
    pub proposers: Vec<String>,
    /// Store format 5 records lack it: members.
    #[serde(default, skip_serializing_if = "ProposerKind::is_member")]
    pub proposer_kind: ProposerKind,
    pub state: ProposalState,
    pub handling_unit: Option<String>,
    pub due_date: Option<CalendarDate>,
    pub signer: Option<String>,
    /// Absent before signing, and in format 6 records (before sign dates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_date: Option<CalendarDate>,
    pub document_number: Option<String>,
    pub issue_date: Option<CalendarDate>,
    pub issuing_office: Option<String>,
    /// Absent before issue, and in format 6 records (before the 抄送 line was recorded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub copy_to: Vec<String>,
    /// Absent unless public.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub public: bool,
    pub copied_to: Vec<String>,
    /// Absent in format 5 records (before refusals), and for every accepted proposal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
    /// Absent in format 5 records (before effective dates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_act_date: Option<CalendarDate>,
    /// Format 6: absent while RECEIVED or NOT_ACCEPTED.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub handlings: Vec<Handling>,
    /// Absent unless merged (并案), either way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<ProposalId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged: Vec<MergedProposal>,
    /// Absent unless a key proposal (重点提案).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<KeyDesignation>,
    /// Absent until a proposer's verdict is recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feedback: Vec<FeedbackRecord>,
    /// Absent unless CLOSED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closure: Option<Closure>,
    /// Absent until reopened (重新办理): the rounds before, their replies in full (a reopening
    /// is rare, and an earlier reply must stay readable without following its events).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rounds: Vec<Round>,
    pub version: u64,
    pub received_at: Timestamp,
    pub updated_at: Timestamp,
    /// Where the parts that are not copied are: the events that carry them.
    pub sources: Sources,
}

/// The sequences (within the proposal's own history) of the events a proposal's large parts are
/// read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Sources {
    /// The `ProposalReceived` event: the content (and the title and proposers, also copied).
    pub registration: u64,
    /// The `ReplyDrafted` event whose reply is in force; none before a draft and after a
    /// rejection.
    pub reply: Option<u64>,
}

impl Sources {
    /// The sources after `events` (one proposal's, in order), starting from `before` (none for
    /// a proposal the events create).
    pub(super) fn after<'a>(
        before: Option<Sources>,
        events: impl IntoIterator<Item = &'a RecordedEvent>,
    ) -> Option<Sources> {
        let mut sources = before;
        for event in events {
            match event.data.large_parts() {
                LargeParts::SetsContent => {
                    sources = Some(Sources {
                        registration: event.sequence,
                        reply: None,
                    });
                }
                LargeParts::SetsReply => {
                    if let Some(sources) = &mut sources {
                        sources.reply = Some(event.sequence);
                    }
                }
                LargeParts::ClearsReply => {
                    if let Some(sources) = &mut sources {
                        sources.reply = None;
                    }
                }
                LargeParts::Unchanged => {}
            }
        }
        sources
    }
}

/// The status part of a proposal, whose large parts are in the events `sources` names.
pub(super) fn status(proposal: &Proposal, sources: Sources) -> StatusRecord {
    let Proposal {
        id: _,
        committee,
        session,
        number,
        title,
        proposers,
        proposer_kind,
        content: _,
        state,
        handling_unit,
        due_date,
        reply: _,
        signer,
        sign_date,
        document_number,
        issue_date,
        issuing_office,
        copy_to,
        public,
        copied_to,
        refusal,
        merged_into,
        merged,
        key,
        feedback,
        closure,
        rounds,
        handlings,
        last_act_date,
        version,
        received_at,
        updated_at,
    } = proposal;
    StatusRecord {
        committee: committee.clone(),
        session: session.clone(),
        number: *number,
        title: title.clone(),
        proposers: proposers.clone(),
        proposer_kind: *proposer_kind,
        state: *state,
        handling_unit: handling_unit.clone(),
        due_date: *due_date,
        signer: signer.clone(),
        sign_date: *sign_date,
        document_number: document_number.clone(),
        issue_date: *issue_date,
        issuing_office: issuing_office.clone(),
        copy_to: copy_to.clone(),
        public: *public,
        copied_to: copied_to.clone(),
        refusal: refusal.clone(),
        last_act_date: *last_act_date,
        merged_into: *merged_into,
        merged: merged.clone(),
        key: key.clone(),
        feedback: feedback.clone(),
        closure: closure.clone(),
        rounds: rounds.clone(),
        handlings: handlings.clone(),
        version: *version,
        received_at: *received_at,
        updated_at: *updated_at,
        sources,
    }
}

/// The proposal the status and the two large parts describe. For a basic view the content is
/// empty and the reply `None`: see [`crate::store::View::Basic`].
pub(super) fn assemble(
    id: ProposalId,
    status: StatusRecord,
    content: String,
    reply: Option<Reply>,
) -> Proposal {
    let StatusRecord {
        committee,
        session,
        number,
        title,
        proposers,
        proposer_kind,
        state,
        handling_unit,
        due_date,
        signer,
        sign_date,
        document_number,
        issue_date,
        issuing_office,
        copy_to,
        public,
        copied_to,
        refusal,
        last_act_date,
        merged_into,
        merged,
        key,
        feedback,
        closure,
        rounds,
        handlings,
        version,
        received_at,
        updated_at,
        sources: _,
    } = status;
    Proposal {
        rounds,
        id,
        committee,
        session,
        number,
        title,
        proposers,
        proposer_kind,
        content,
        state,
        handling_unit,
        due_date,
        reply,
        signer,
        sign_date,
        document_number,
        issue_date,
        issuing_office,
        copy_to,
        public,
        copied_to,
        refusal,
        merged_into,
        merged,
        key,
        feedback,
        closure,
        handlings,
        last_act_date,
        version,
        received_at,
        updated_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_record_round_trips_in_56_bytes() {
        let record = RequestRecord {
            fingerprint: std::array::from_fn(|i| i as u8),
            proposal_id: ProposalId::from_bytes([9; 16]),
            version: 300,
        };
        let bytes = encode_request(&record);
        assert_eq!(bytes.len(), 56);
        assert_eq!(decode_request(&bytes).unwrap(), record);
        for length in [0, 55, 57] {
            let error = decode_request(&vec![0; length]).unwrap_err().to_string();
            assert!(error.contains(&format!("{length} bytes")), "{error}");
        }
    }
}
