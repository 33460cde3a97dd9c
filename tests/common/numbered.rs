//! Proposals identified by number along the forward path, for tests that must know exactly which
//! calls were applied: the call that takes proposal No. `number` to `version` always carries
//! request id `n{number}/v{version}` ([`request_id`]), so a retry repeats it exactly and a
//! history can be compared with the path it should hold ([`path_to`]), over gRPC or straight
//! from a stopped server's store. The requests are the kit's ([`requests`]), each sent by its
//! role's actor ([`actor_of`]).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use proposal_service::domain::{Claim, ProposalId};
use proposal_service::pb;
use proposal_service::store::{SledOptions, SledStore};
use tonic::Status;

use super::Client;
use super::bounded::within;
use super::lifecycle::{self, State};
use super::requests::{self, CommandFields, CommandRequest, SEED};
use super::tracked::{REGISTRAR, actor_of};

/// A proposal's whole forward path: registration, then five transitions, so version 6 is last.
pub const LAST_VERSION: u64 = 6;

/// The request id of the call that takes proposal No. `number` to `version`.
pub fn request_id(number: u32, version: u64) -> String {
    format!("n{number}/v{version}")
}

/// The registration of No. `number` (the seed's, under that number), as [`advance`] sends it.
pub fn registration(number: u32) -> pb::ReceiveProposalRequest {
    requests::receive(number)
        .by(REGISTRAR)
        .keyed(&request_id(number, 1))
}

/// Sends the call that takes proposal No. `number` (id `proposal_id`, or a new one when
/// `version` is 1) to `version`, with request id [`request_id`]`(number, version)`, and with
/// `deadline` as its `grpc-timeout` when set.
pub async fn advance(
    client: &Client,
    proposal_id: &str,
    number: u32,
    version: u64,
    deadline: Option<Duration>,
) -> Result<pb::Proposal, Status> {
    let request = if version == 1 {
        CommandRequest::from(registration(number))
    } else {
        let command = (version as usize)
            .checked_sub(2)
            .and_then(|step| lifecycle::path_to(State::Copied).get(step))
            .unwrap_or_else(|| panic!("no call leads to version {version}"));
        // The builders read only the proposal's id and number.
        let proposal = pb::Proposal {
            id: proposal_id.to_owned(),
            number,
            ..Default::default()
        };
        CommandRequest::valid(*command, &proposal)
            .by(actor_of(*command))
            .keyed(&request_id(number, version))
    };
    let proposal = request
        .send_within(&mut client.clone(), deadline)
        .await?
        .expect("a mutating call returns the proposal");
    assert_eq!(proposal.number, number, "the call acted on No. {number}");
    assert_eq!(proposal.version, version, "No. {number} reached {version}");
    Ok(proposal)
}

/// The request ids of the forward path of No. `number` up to `version`.
pub fn path_to(number: u32, version: u64) -> Vec<String> {
    (1..=version).map(|v| request_id(number, v)).collect()
}

/// The claim of proposal `number` of the seed's session.
pub fn number_claim(number: u32) -> Claim {
    Claim::ProposalNumber {
        committee: SEED.committee.clone(),
        session: SEED.session.clone(),
        number,
    }
}

/// Every stored proposal, by number, read page by page.
pub async fn stored(client: &Client) -> BTreeMap<u32, pb::Proposal> {
    let mut client = client.clone();
    let mut all = BTreeMap::new();
    let mut page_token = String::new();
    for _ in 0..100 {
        let request = pb::ListProposalsRequest {
            page_size: 1000,
            page_token,
            ..Default::default()
        };
        let page = within("ListProposals", client.list_proposals(request))
            .await
            .expect("ListProposals")
            .into_inner();
        for proposal in page.proposals {
            let number = proposal.number;
            assert!(
                all.insert(number, proposal).is_none(),
                "No. {number} is listed twice"
            );
        }
        if page.next_page_token.is_empty() {
            return all;
        }
        page_token = page.next_page_token;
    }
    panic!("more than 100 pages of proposals");
}

/// The request ids of a proposal's history, in order, read over gRPC; checks the sequences.
pub async fn history_request_ids(client: &Client, proposal_id: &str) -> Vec<String> {
    let response = within(
        "GetProposalHistory",
        client
            .clone()
            .get_proposal_history(requests::history(proposal_id)),
    )
    .await
    .expect("GetProposalHistory")
    .into_inner();
    assert!(response.next_page_token.is_empty(), "one page holds it");
    for (index, event) in response.events.iter().enumerate() {
        assert_eq!(event.sequence, index as u64 + 1, "{proposal_id}: sequence");
    }
    response.events.into_iter().map(|e| e.request_id).collect()
}

/// Opens a stopped server's data directory and checks that every projection and index agrees
/// with the events; returns the store and how many proposals it holds.
pub fn open_and_verify(dir: &Path) -> (SledStore, u64) {
    let store = SledStore::open(dir, &SledOptions::default()).expect("reopening the store");
    let report = store.verify().expect("verifying the store");
    assert!(
        report.problems.is_empty(),
        "the store is inconsistent after shutdown: {:#?}",
        report.problems
    );
    (store, report.proposals)
}

/// The request ids of a proposal's stored history, read straight from the store.
pub fn stored_request_ids(store: &SledStore, proposal_id: &str) -> Vec<String> {
    let id = ProposalId::parse(proposal_id).expect("a proposal id");
    let events = store.history(id, 0, 10_000).expect("reading a history");
    for (index, logged) in events.iter().enumerate() {
        assert_eq!(
            logged.event.sequence,
            index as u64 + 1,
            "{proposal_id}: sequence"
        );
    }
    events
        .into_iter()
        .map(|logged| logged.event.request_id.unwrap_or_default())
        .collect()
}
