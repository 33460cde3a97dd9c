//! The gRPC service: each method converts its request, calls the workflow, converts back, inside
//! one tracing span that records the method, the proposal and the outcome.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;
use tonic::{Code, Request, Response, Status};
use tracing::Instrument;

use super::convert::{
    history_request, list_events_request, list_request, read_target, watch_request,
};
use super::pb::{self, proposal_service_server::ProposalService};
use crate::app::{AppError, Submission, Workflow};
use crate::store::{StoreError, to_hex};

/// Serves `proposal.v1.ProposalService` over a [`Workflow`].
#[derive(Clone)]
pub struct ProposalApi {
    workflow: Arc<Workflow>,
    /// Bounds the calls in progress; a call beyond it is refused at once rather than queued.
    in_flight: Arc<Semaphore>,
    /// Bounds the open WatchEvents streams, which live long and so do not count as in flight.
    watchers: Arc<Semaphore>,
}

/// The most WatchEvents streams open at once; more are refused with RESOURCE_EXHAUSTED.
pub const MAX_WATCHERS: usize = 1024;

impl ProposalApi {
    /// `max_in_flight`: how many calls may be in progress at once; more get RESOURCE_EXHAUSTED.
    pub fn new(workflow: Arc<Workflow>, max_in_flight: usize) -> Self {
        Self {
            workflow,
            in_flight: Arc::new(Semaphore::new(max_in_flight)),
            watchers: Arc::new(Semaphore::new(MAX_WATCHERS)),
        }
    }

    /// Converts and executes one mutating request, returning the proposal after it.
    async fn execute<R>(&self, request: R) -> Result<pb::Proposal, AppError>
    where
        R: TryInto<Submission, Error = AppError>,
    {
        let submission = request.try_into()?;
        Ok(self.workflow.execute(submission).await?.into())
    }
}

impl ProposalApi {
    /// Runs one RPC inside its span, within the in-flight bound, and logs how it ended:
    /// rejections at info (they are expected outcomes), internal failures at error.
    async fn traced<T>(
        &self,
        method: &'static str,
        proposal_id: &str,
        work: impl Future<Output = Result<T, AppError>>,
    ) -> Result<Response<T>, Status> {
        let span = tracing::info_span!("rpc", method, proposal_id, code = tracing::field::Empty);
        let permit = self.in_flight.clone().try_acquire_owned();
        traced(span, async move {
            let _permit = permit.map_err(|_| AppError::Overloaded)?;
            work.await
        })
        .await
    }
}

async fn traced<T>(
    span: tracing::Span,
    work: impl Future<Output = Result<T, AppError>>,
) -> Result<Response<T>, Status> {
    async move {
        let started = Instant::now();
        let result = work.await.map_err(Status::from);
        let code = result.as_ref().map_or_else(Status::code, |_| Code::Ok);
        let elapsed_us = started.elapsed().as_micros() as u64;
        tracing::Span::current().record("code", tracing::field::debug(code));
        match &result {
            Ok(_) => tracing::info!(elapsed_us, "completed"),
            Err(status) if code == Code::Internal || code == Code::Unknown => {
                tracing::error!(elapsed_us, detail = status.message(), "failed")
            }
            Err(status) => tracing::info!(elapsed_us, detail = status.message(), "rejected"),
        }
        result.map(Response::new)
    }
    .instrument(span)
    .await
}

#[tonic::async_trait]
impl ProposalService for ProposalApi {
    async fn receive_proposal(
        &self,
        request: Request<pb::ReceiveProposalRequest>,
    ) -> Result<Response<pb::ReceiveProposalResponse>, Status> {
        let request = request.into_inner();
        self.traced("ReceiveProposal", "", async {
            let proposal = self.execute(request).await?;
            tracing::Span::current().record("proposal_id", proposal.id.as_str());
            Ok(pb::ReceiveProposalResponse {
                proposal: Some(proposal),
            })
        })
        .await
    }

    async fn assign_proposal(
        &self,
        request: Request<pb::AssignProposalRequest>,
    ) -> Result<Response<pb::AssignProposalResponse>, Status> {
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("AssignProposal", &id, async {
            let proposal = Some(self.execute(request).await?);
            Ok(pb::AssignProposalResponse { proposal })
        })
        .await
    }

    async fn return_proposal(
        &self,
        request: Request<pb::ReturnProposalRequest>,
    ) -> Result<Response<pb::ReturnProposalResponse>, Status> {
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("ReturnProposal", &id, async {
            let proposal = Some(self.execute(request).await?);
            Ok(pb::ReturnProposalResponse { proposal })
        })
        .await
    }

    async fn draft_reply(
        &self,
        request: Request<pb::DraftReplyRequest>,
    ) -> Result<Response<pb::DraftReplyResponse>, Status> {
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("DraftReply", &id, async {
            let proposal = Some(self.execute(request).await?);
            Ok(pb::DraftReplyResponse { proposal })
        })
        .await
    }

    async fn reject_draft(
        &self,
        request: Request<pb::RejectDraftRequest>,
    ) -> Result<Response<pb::RejectDraftResponse>, Status> {
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("RejectDraft", &id, async {
            let proposal = Some(self.execute(request).await?);
            Ok(pb::RejectDraftResponse { proposal })
        })
        .await
    }

    async fn sign_reply(
        &self,
        request: Request<pb::SignReplyRequest>,
    ) -> Result<Response<pb::SignReplyResponse>, Status> {
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("SignReply", &id, async {
            let proposal = Some(self.execute(request).await?);
            Ok(pb::SignReplyResponse { proposal })
        })
        .await
    }

    async fn issue_reply(
        &self,
        request: Request<pb::IssueReplyRequest>,
    ) -> Result<Response<pb::IssueReplyResponse>, Status> {
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("IssueReply", &id, async {
            let proposal = Some(self.execute(request).await?);
            Ok(pb::IssueReplyResponse { proposal })
        })
        .await
    }

    async fn copy_reply(
        &self,
        request: Request<pb::CopyReplyRequest>,
    ) -> Result<Response<pb::CopyReplyResponse>, Status> {
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("CopyReply", &id, async {
            let proposal = Some(self.execute(request).await?);
            Ok(pb::CopyReplyResponse { proposal })
        })
        .await
    }

    async fn get_proposal(
        &self,
        request: Request<pb::GetProposalRequest>,
    ) -> Result<Response<pb::GetProposalResponse>, Status> {
        let pb::GetProposalRequest { proposal_id } = request.into_inner();
        self.traced("GetProposal", &proposal_id, async {
            let proposal = self.workflow.get(read_target(&proposal_id)?)?;
            Ok(pb::GetProposalResponse {
                proposal: Some(proposal.into()),
            })
        })
        .await
    }

    async fn list_proposals(
        &self,
        request: Request<pb::ListProposalsRequest>,
    ) -> Result<Response<pb::ListProposalsResponse>, Status> {
        let request = request.into_inner();
        self.traced("ListProposals", "", async {
            let (filter, page) = list_request(request)?;
            let page = self.workflow.list(filter, page)?;
            Ok(pb::ListProposalsResponse {
                proposals: page.items.into_iter().map(Into::into).collect(),
                next_page_token: page.next_page_token.unwrap_or_default(),
            })
        })
        .await
    }

    async fn get_proposal_history(
        &self,
        request: Request<pb::GetProposalHistoryRequest>,
    ) -> Result<Response<pb::GetProposalHistoryResponse>, Status> {
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("GetProposalHistory", &id, async {
            let (id, page) = history_request(request)?;
            let page = self.workflow.history(id, page)?;
            Ok(pb::GetProposalHistoryResponse {
                events: page.items.into_iter().map(Into::into).collect(),
                next_page_token: page.next_page_token.unwrap_or_default(),
            })
        })
        .await
    }

    type WatchEventsStream = std::pin::Pin<
        Box<dyn tokio_stream::Stream<Item = Result<pb::WatchEventsResponse, Status>> + Send>,
    >;

    async fn list_events(
        &self,
        request: Request<pb::ListEventsRequest>,
    ) -> Result<Response<pb::ListEventsResponse>, Status> {
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("ListEvents", &id, async {
            let (filter, page) = list_events_request(request)?;
            let page = self.workflow.list_events(&filter, page)?;
            Ok(pb::ListEventsResponse {
                events: page.items.into_iter().map(Into::into).collect(),
                next_page_token: page.next_page_token.unwrap_or_default(),
            })
        })
        .await
    }

    async fn watch_events(
        &self,
        request: Request<pb::WatchEventsRequest>,
    ) -> Result<Response<Self::WatchEventsStream>, Status> {
        use tokio_stream::StreamExt;
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        let watchers = Arc::clone(&self.watchers);
        self.traced("WatchEvents", &id, async {
            // Held by the stream: a watcher counts against the bound until its stream ends.
            let permit = watchers
                .try_acquire_owned()
                .map_err(|_| AppError::Overloaded)?;
            let (after, filter) = watch_request(request)?;
            let events = self.workflow.watch(after, filter)?;
            let stream = tokio_stream::wrappers::ReceiverStream::new(events).map(move |event| {
                let _held = &permit;
                event
                    .map(|event| pb::WatchEventsResponse {
                        event: Some(event.into()),
                    })
                    .map_err(Status::from)
            });
            Ok(Box::pin(stream) as Self::WatchEventsStream)
        })
        .await
    }

    async fn verify_history(
        &self,
        _request: Request<pb::VerifyHistoryRequest>,
    ) -> Result<Response<pb::VerifyHistoryResponse>, Status> {
        let workflow = Arc::clone(&self.workflow);
        self.traced("VerifyHistory", "", async move {
            let report = tokio::task::spawn_blocking(move || workflow.verify())
                .await
                .map_err(|e| {
                    AppError::Storage(StoreError::Io(format!("verification task: {e}")))
                })??;
            if !report.problems.is_empty() {
                tracing::warn!(
                    problems = report.problems.len(),
                    first = report.problems[0],
                    "verification found mismatches"
                );
            }
            Ok(pb::VerifyHistoryResponse {
                ok: report.problems.is_empty(),
                events_checked: report.events,
                proposals_checked: report.proposals,
                first_mismatch: report.first_mismatch().unwrap_or_default().to_owned(),
                head_position: report.head.0,
                head_hash: to_hex(&report.head.1),
                problems: report.problems,
            })
        })
        .await
    }

    async fn render_reply(
        &self,
        request: Request<pb::RenderReplyRequest>,
    ) -> Result<Response<pb::RenderReplyResponse>, Status> {
        let pb::RenderReplyRequest { proposal_id } = request.into_inner();
        self.traced("RenderReply", &proposal_id, async {
            let rendered = self.workflow.render(read_target(&proposal_id)?)?;
            Ok(pb::RenderReplyResponse {
                text: rendered.text,
                document_number: rendered.document_number,
            })
        })
        .await
    }
}
