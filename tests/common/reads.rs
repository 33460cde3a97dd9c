//! Reading back what the service holds: one proposal, a history, a listing or the event log,
//! following page tokens to the end.

use proposal_service::pb;
use proposal_service::pb::proposal_service_client::ProposalServiceClient;
use tonic::Status;

use super::Transport;
use super::requests;

/// The proposal `id` as read alone (the full view); fails if the read fails.
pub async fn get<T: Transport>(client: &ProposalServiceClient<T>, id: &str) -> pb::Proposal {
    client
        .clone()
        .get_proposal(requests::get(id))
        .await
        .unwrap_or_else(|s| panic!("GetProposal {id} failed: {s:?}"))
        .into_inner()
        .proposal
        .expect("GetProposal returns the proposal")
}

/// Every page of a proposal's history with `page_size`, following the tokens to the end.
pub async fn history_pages<T: Transport>(
    client: &ProposalServiceClient<T>,
    id: &str,
    page_size: i32,
) -> Vec<Vec<pb::ProposalEvent>> {
    let mut client = client.clone();
    let mut pages = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .get_proposal_history(requests::history_page(id, page_size, &token))
            .await
            .unwrap_or_else(|s| panic!("GetProposalHistory {id} failed: {s:?}"))
            .into_inner();
        pages.push(page.events);
        if page.next_page_token.is_empty() {
            return pages;
        }
        assert!(pages.len() < 1000, "history paging never ends");
        token = page.next_page_token;
    }
}

/// Every page of `ListProposals` for `request` (its token replaced page by page).
pub async fn proposal_pages<T: Transport>(
    client: &ProposalServiceClient<T>,
    request: pb::ListProposalsRequest,
) -> Result<Vec<Vec<pb::Proposal>>, Status> {
    let mut client = client.clone();
    let mut pages = Vec::new();
    let mut page_token = request.page_token.clone();
    loop {
        let request = pb::ListProposalsRequest {
            page_token,
            ..request.clone()
        };
        let page = client.list_proposals(request).await?.into_inner();
        pages.push(page.proposals);
        if page.next_page_token.is_empty() {
            return Ok(pages);
        }
        assert!(pages.len() < 10_000, "list paging never ends");
        page_token = page.next_page_token;
    }
}

/// Every page of `ListEvents` for `request` (its token replaced page by page).
pub async fn event_pages<T: Transport>(
    client: &ProposalServiceClient<T>,
    request: pb::ListEventsRequest,
) -> Result<Vec<Vec<pb::ProposalEvent>>, Status> {
    let mut client = client.clone();
    let mut pages = Vec::new();
    let mut page_token = request.page_token.clone();
    loop {
        let request = pb::ListEventsRequest {
            page_token,
            ..request.clone()
        };
        let page = client.list_events(request).await?.into_inner();
        pages.push(page.events);
        if page.next_page_token.is_empty() {
            return Ok(pages);
        }
        assert!(
            pages.len() < 10_000,
            "ListEvents never reached its last page"
        );
        page_token = page.next_page_token;
    }
}

/// The whole event log in position order, as `client` may list it.
pub async fn whole_log<T: Transport>(client: &ProposalServiceClient<T>) -> Vec<pb::ProposalEvent> {
    let request = pb::ListEventsRequest {
        page_size: 100,
        ..Default::default()
    };
    event_pages(client, request)
        .await
        .unwrap_or_else(|s| panic!("listing the whole log: {s:?}"))
        .concat()
}

pub fn positions(events: &[pb::ProposalEvent]) -> Vec<u64> {
    events.iter().map(|e| e.position).collect()
}

/// One page of a proposal's history, or why it was refused.
pub async fn history_page<T: Transport>(
    client: &ProposalServiceClient<T>,
    id: &str,
    page_size: i32,
    page_token: &str,
) -> Result<pb::GetProposalHistoryResponse, Status> {
    let request = requests::history_page(id, page_size, page_token);
    Ok(client
        .clone()
        .get_proposal_history(request)
        .await?
        .into_inner())
}

/// The store's own check of the whole log (`VerifyHistory`); fails if the call fails.
pub async fn verify_history<T: Transport>(
    client: &ProposalServiceClient<T>,
) -> pb::VerifyHistoryResponse {
    client
        .clone()
        .verify_history(pb::VerifyHistoryRequest {})
        .await
        .unwrap_or_else(|s| panic!("VerifyHistory failed: {s:?}"))
        .into_inner()
}
