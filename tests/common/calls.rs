//! Any RPC that answers with a proposal (or refuses), so that a table can mix commands and
//! reads, with the checks that go with them: a call that must succeed, one that must be
//! refused, what the service holds before and after, and calls raced from many connections.

use std::sync::Arc;

use proposal_service::pb;
use tokio::sync::Barrier;
use tokio::task::JoinSet;
use tonic::Status;

use super::lifecycle::{self, State};
use super::requests::{self, CommandRequest};
use super::status::describe;
use super::{Client, TestServer};

/// A call of a table: a command, or a read of one proposal, its history or a listing.
#[derive(Clone, Debug)]
pub enum Call {
    Command(CommandRequest),
    Get(pb::GetProposalRequest),
    History(pb::GetProposalHistoryRequest),
    List(pb::ListProposalsRequest),
}

macro_rules! command_call {
    ($($request:ty),*) => {
        $(
            impl From<$request> for Call {
                fn from(request: $request) -> Self {
                    Call::Command(request.into())
                }
            }
        )*
    };
}

command_call!(
    CommandRequest,
    pb::ReceiveProposalRequest,
    pb::AssignProposalRequest,
    pb::ReturnProposalRequest,
    pb::DraftReplyRequest,
    pb::RejectDraftRequest,
    pb::SignReplyRequest,
    pb::IssueReplyRequest,
    pb::CopyReplyRequest,
    pb::RefuseProposalRequest,
    pb::AcknowledgeAssignmentRequest,
    pb::RecordContactRequest,
    pb::RequestExtensionRequest,
    pb::DecideExtensionRequest,
    pb::RequestReturnRequest,
    pb::DecideReturnRequest,
    pb::SubmitOpinionRequest,
    pb::MergeProposalRequest
);

/// Sends `call`; a successful call that returns a proposal yields it.
pub async fn send(client: &mut Client, call: Call) -> Result<Option<pb::Proposal>, Status> {
    let proposal = match call {
        Call::Command(request) => request.send(client).await?,
        Call::Get(r) => client.get_proposal(r).await?.into_inner().proposal,
        Call::History(r) => {
            client.get_proposal_history(r).await?;
            return Ok(None);
        }
        Call::List(r) => {
            client.list_proposals(r).await?;
            return Ok(None);
        }
    };
    Ok(Some(
        proposal.expect("a successful call returns the proposal"),
    ))
}

/// Sends a call that must succeed and return a proposal.
pub async fn ok(client: &mut Client, call: impl Into<Call>) -> pb::Proposal {
    let call = call.into();
    let what = describe(&call, 300);
    match send(client, call).await {
        Ok(Some(proposal)) => proposal,
        Ok(None) => panic!("{what} returned no proposal"),
        Err(status) => panic!("{what} failed: {status:?}"),
    }
}

/// Sends a call that must fail.
pub async fn refused(client: &mut Client, call: impl Into<Call>) -> Status {
    let call = call.into();
    let what = describe(&call, 300);
    match send(client, call).await {
        Ok(answer) => panic!("{what} was accepted: {}", describe(&answer, 300)),
        Err(status) => status,
    }
}

/// `count` proposals driven to `state` side by side (each successful call costs a round trip).
pub async fn drive_all(client: &Client, state: State, count: usize) -> Vec<pb::Proposal> {
    let mut tasks = JoinSet::new();
    for _ in 0..count {
        let mut client = client.clone();
        tasks.spawn(async move { lifecycle::drive(&mut client, state).await });
    }
    tasks.join_all().await
}

/// A proposal's whole history, which must fit one page.
pub async fn events(client: &mut Client, id: &str) -> Vec<pb::ProposalEvent> {
    let page = client
        .get_proposal_history(requests::history(id))
        .await
        .unwrap()
        .into_inner();
    assert!(
        page.next_page_token.is_empty(),
        "the tests' histories fit one page"
    );
    page.events
}

/// Every proposal as listed, in full: comparing two listings shows whether any proposal was
/// added or changed in between (an appended event changes the proposal's version).
pub async fn listing(client: &mut Client) -> Vec<pb::Proposal> {
    let page = client
        .list_proposals(requests::list_all())
        .await
        .unwrap()
        .into_inner();
    assert!(
        page.next_page_token.is_empty(),
        "the tests' listings fit one page"
    );
    page.proposals
}

/// One proposal as read alone, and its whole history.
pub async fn trace(client: &mut Client, id: &str) -> (pb::Proposal, Vec<pb::ProposalEvent>) {
    (
        ok(client, Call::Get(requests::get(id))).await,
        events(client, id).await,
    )
}

/// `count` clients, each on its own connection.
pub async fn clients(server: &TestServer, count: usize) -> Vec<Client> {
    let mut clients = Vec::with_capacity(count);
    for _ in 0..count {
        clients.push(server.connect().await);
    }
    clients
}

/// Sends each call from its own client, all released at once.
pub async fn race(
    clients: &[Client],
    calls: Vec<Call>,
) -> Vec<Result<Option<pb::Proposal>, Status>> {
    let barrier = Arc::new(Barrier::new(calls.len()));
    let mut tasks = JoinSet::new();
    for (client, call) in clients.iter().cloned().zip(calls) {
        let barrier = Arc::clone(&barrier);
        tasks.spawn(async move {
            let mut client = client;
            barrier.wait().await;
            send(&mut client, call).await
        });
    }
    tasks.join_all().await
}
