//! How the embedded store lays a proposal's projection out: the small part every transition
//! changes (the status), apart from the large parts written once (the registration: title,
//! proposers, content) or only by a draft (the reply). A transition rewrites a few hundred bytes
//! instead of the whole proposal with its reply body.

use serde::{Deserialize, Serialize};

use crate::domain::{CalendarDate, Proposal, ProposalId, ProposalState, Reply, Timestamp};

/// What every transition rewrites, and what listings filter on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct StatusRecord {
    pub committee: String,
    pub session: String,
    pub number: u32,
    pub state: ProposalState,
    pub handling_unit: Option<String>,
    pub due_date: Option<CalendarDate>,
    pub signer: Option<String>,
    pub document_number: Option<String>,
    pub issue_date: Option<CalendarDate>,
    pub issuing_office: Option<String>,
    pub copied_to: Vec<String>,
    pub version: u64,
    pub received_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What registration fixes for good.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct RegistrationRecord {
    pub title: String,
    pub proposers: Vec<String>,
    pub content: String,
}

/// The status part of a proposal.
pub(super) fn status(proposal: &Proposal) -> StatusRecord {
    let Proposal {
        id: _,
        committee,
        session,
        number,
        title: _,
        proposers: _,
        content: _,
        state,
        handling_unit,
        due_date,
        reply: _,
        signer,
        document_number,
        issue_date,
        issuing_office,
        copied_to,
        version,
        received_at,
        updated_at,
    } = proposal;
    StatusRecord {
        committee: committee.clone(),
        session: session.clone(),
        number: *number,
        state: *state,
        handling_unit: handling_unit.clone(),
        due_date: *due_date,
        signer: signer.clone(),
        document_number: document_number.clone(),
        issue_date: *issue_date,
        issuing_office: issuing_office.clone(),
        copied_to: copied_to.clone(),
        version: *version,
        received_at: *received_at,
        updated_at: *updated_at,
    }
}

/// The registration part of a proposal.
pub(super) fn registration(proposal: &Proposal) -> RegistrationRecord {
    RegistrationRecord {
        title: proposal.title.clone(),
        proposers: proposal.proposers.clone(),
        content: proposal.content.clone(),
    }
}

/// The proposal the three parts describe.
pub(super) fn assemble(
    id: ProposalId,
    status: StatusRecord,
    registration: RegistrationRecord,
    reply: Option<Reply>,
) -> Proposal {
    let StatusRecord {
        committee,
        session,
        number,
        state,
        handling_unit,
        due_date,
        signer,
        document_number,
        issue_date,
        issuing_office,
        copied_to,
        version,
        received_at,
        updated_at,
    } = status;
    let RegistrationRecord {
        title,
        proposers,
        content,
    } = registration;
    Proposal {
        id,
        committee,
        session,
        number,
        title,
        proposers,
        content,
        state,
        handling_unit,
        due_date,
        reply,
        signer,
        document_number,
        issue_date,
        issuing_office,
        copied_to,
        version,
        received_at,
        updated_at,
    }
}
