//! The gRPC service: each method checks the caller's remit, converts its request, calls the
//! workflow and converts back, inside one tracing span that records the method, the caller, the
//! proposal and the outcome.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::sync::Semaphore;
use tonic::{Code, Request, Response, Status};
use tracing::Instrument;

use super::convert::{
    get_request, history_request, list_events_request, list_request, render_request,
    statistics_request, statistics_response, watch_request,
};
use super::pb::{self, proposal_service_server::ProposalService};
use crate::app::{AppError, EventFilter, Submission, Workflow};
use crate::auth::{Action, Grant, Principal, Standing, grant};
use crate::domain::{Command, CommandKind, ProposalId, Rules};
use crate::store::{View, to_hex};

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

    /// Checks the caller's remit, settles the recorded actor, converts and executes one
    /// mutating request, and returns the proposal after it.
    async fn execute<R>(
        &self,
        principal: &Principal,
        action: Action,
        mut request: R,
    ) -> Result<pb::Proposal, AppError>
    where
        R: TryInto<Submission, Error = AppError> + Acting,
    {
        let grant = allowed(principal, action, self.workflow.rules())?;
        settle_actor(principal, request.actor())?;
        let mut submission: Submission = request.try_into()?;
        match grant {
            Grant::OwnUnit(unit) => submission.unit_scope = Some(unit),
            // A proposer gives its own verdict, on its own proposals (their proposers never
            // change, so reading first decides it for good).
            Grant::OwnProposals(name) => {
                let own_verdict = matches!(
                    &submission.command,
                    Command::RecordFeedback { feedback } if feedback.proposer == name
                );
                if !own_verdict {
                    return Err(AppError::PermissionDenied(format!(
                        "{name} gives only its own verdict"
                    )));
                }
                if let Some(id) = submission.proposal_id {
                    self.readable(principal, id, View::Basic).await?;
                }
            }
            Grant::Everywhere => {}
        }
        Ok(self.workflow.execute(submission).await?.into())
    }

    /// Reads a proposal the caller may see: a unit-bound caller only its unit's proposals.
    async fn readable(
        &self,
        principal: &Principal,
        id: ProposalId,
        view: View,
    ) -> Result<crate::domain::Proposal, AppError> {
        let proposal = self.workflow.get(id, view).await?;
        let grant = allowed(principal, Action::ReadProposals, self.workflow.rules())?;
        if let Grant::OwnProposals(name) = &grant
            && !proposal.proposers.contains(name)
        {
            return Err(AppError::PermissionDenied(format!(
                "{name} reads only the proposals it made"
            )));
        }
        if let Grant::OwnUnit(unit) = grant
            && !proposal.handled_by(&unit)
        {
            // A proposal merged into one the unit handles is answered by the unit: its
            // proposers and content are the unit's to read.
            let answered = match proposal.merged_into {
                Some(into) => self
                    .workflow
                    .get(into, View::Basic)
                    .await?
                    .handled_by(&unit),
                None => false,
            };
            if !answered {
                return Err(AppError::PermissionDenied(format!(
                    "{} reads only the proposals {unit} is handling",
                    principal.name
                )));
            }
        }
        Ok(proposal)
    }
}

/// The caller's grant for `action`, or PERMISSION_DENIED.
fn allowed(principal: &Principal, action: Action, rules: &Rules) -> Result<Grant, AppError> {
    grant(principal, action, rules).map_err(|denied| AppError::PermissionDenied(denied.to_string()))
}

/// A unit-bound caller's filter: its own unit, whatever it asked for (asking for another unit is
/// denied rather than silently narrowed).
fn narrow(principal: &Principal, grant: Grant, unit: &mut Option<String>) -> Result<(), AppError> {
    if let Grant::OwnUnit(own) = grant {
        match unit {
            Some(asked) if *asked != own => {
                return Err(AppError::PermissionDenied(format!(
                    "{} reads only what {own} is handling, not {asked}",
                    principal.name
                )));
            }
            _ => *unit = Some(own),
        }
    }
    Ok(())
}

/// The event log names who really acted: an authenticated caller's requests may leave `actor`
/// empty or give its own name, and are recorded under its name. Only the local development
/// principal (no principals file) records the actor its requests name.
fn settle_actor(principal: &Principal, actor: &mut String) -> Result<(), AppError> {
    if principal.names_actors {
        return Ok(());
    }
    if actor.is_empty() {
        actor.clone_from(&principal.name);
    }
    if *actor != principal.name {
        // Quote only the start of the name: `actor` is not validated yet and may be long.
        let named: String = actor.chars().take(64).collect();
        return Err(AppError::PermissionDenied(format!(
            "{} may not act as {named:?}: leave actor empty or give your own name",
            principal.name
        )));
    }
    Ok(())
}

/// The authenticated caller.
fn caller<T>(request: &Request<T>) -> Result<Principal, Status> {
    standing(request).map(|standing| standing.principal)
}

/// The caller's standing, which the server's authentication interceptor put in the request.
fn standing<T>(request: &Request<T>) -> Result<Standing, Status> {
    request
        .extensions()
        .get::<Standing>()
        .cloned()
        .ok_or_else(|| Status::from(AppError::Unauthenticated("no authenticated caller".into())))
}

/// A mutating request: it names the actor to record.
trait Acting {
    fn actor(&mut self) -> &mut String;
}

macro_rules! acting {
    ($($request:ty),* $(,)?) => {
        $(impl Acting for $request {
            fn actor(&mut self) -> &mut String {
                &mut self.actor
            }
        })*
    };
}

acting!(
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
    pb::MergeProposalRequest,
    pb::RecordFeedbackRequest,
    pb::CloseProposalRequest,
    pb::SetKeyProposalRequest,
    pb::ReopenProposalRequest,
);

impl ProposalApi {
    /// Runs one RPC inside its span, within the in-flight bound, and logs how it ended:
    /// rejections at info (they are expected outcomes), internal failures at error.
    async fn traced<T>(
        &self,
        method: &'static str,
        principal: &Principal,
        proposal_id: &str,
        work: impl Future<Output = Result<T, AppError>>,
    ) -> Result<Response<T>, Status> {
        let span = tracing::info_span!(
            "rpc",
            method,
            principal = principal.name.as_str(),
            proposal_id,
            code = tracing::field::Empty
        );
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
        let principal = caller(&request)?;
        let request = request.into_inner();
        self.traced("ReceiveProposal", &principal, "", async {
            let proposal = self
                .execute(&principal, Action::Change(CommandKind::Receive), request)
                .await?;
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
        let principal = caller(&request)?;
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("AssignProposal", &principal, &id, async {
            let proposal = Some(
                self.execute(&principal, Action::Change(CommandKind::Assign), request)
                    .await?,
            );
            Ok(pb::AssignProposalResponse { proposal })
        })
        .await
    }

    async fn return_proposal(
        &self,
        request: Request<pb::ReturnProposalRequest>,
    ) -> Result<Response<pb::ReturnProposalResponse>, Status> {
        let principal = caller(&request)?;
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("ReturnProposal", &principal, &id, async {
            let proposal = Some(
                self.execute(&principal, Action::Change(CommandKind::Return), request)
                    .await?,
            );
            Ok(pb::ReturnProposalResponse { proposal })
        })
        .await
    }

    async fn draft_reply(
        &self,
        request: Request<pb::DraftReplyRequest>,
    ) -> Result<Response<pb::DraftReplyResponse>, Status> {
        let principal = caller(&request)?;
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("DraftReply", &principal, &id, async {
            let proposal = Some(
                self.execute(&principal, Action::Change(CommandKind::Draft), request)
                    .await?,
            );
            Ok(pb::DraftReplyResponse { proposal })
        })
        .await
    }

    async fn reject_draft(
        &self,
        request: Request<pb::RejectDraftRequest>,
    ) -> Result<Response<pb::RejectDraftResponse>, Status> {
        let principal = caller(&request)?;
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("RejectDraft", &principal, &id, async {
            let proposal = Some(
                self.execute(
                    &principal,
                    Action::Change(CommandKind::RejectDraft),
                    request,
                )
                .await?,
            );
            Ok(pb::RejectDraftResponse { proposal })
        })
        .await
    }

    async fn sign_reply(
        &self,
        request: Request<pb::SignReplyRequest>,
    ) -> Result<Response<pb::SignReplyResponse>, Status> {
        let principal = caller(&request)?;
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("SignReply", &principal, &id, async {
            let proposal = Some(
                self.execute(&principal, Action::Change(CommandKind::Sign), request)
                    .await?,
            );
            Ok(pb::SignReplyResponse { proposal })
        })
        .await
    }

    async fn issue_reply(
        &self,
        request: Request<pb::IssueReplyRequest>,
    ) -> Result<Response<pb::IssueReplyResponse>, Status> {
        let principal = caller(&request)?;
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("IssueReply", &principal, &id, async {
            let proposal = Some(
                self.execute(&principal, Action::Change(CommandKind::Issue), request)
                    .await?,
            );
            Ok(pb::IssueReplyResponse { proposal })
        })
        .await
    }

    async fn copy_reply(
        &self,
        request: Request<pb::CopyReplyRequest>,
    ) -> Result<Response<pb::CopyReplyResponse>, Status> {
        let principal = caller(&request)?;
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("CopyReply", &principal, &id, async {
            let proposal = Some(
                self.execute(&principal, Action::Change(CommandKind::Copy), request)
                    .await?,
            );
            Ok(pb::CopyReplyResponse { proposal })
        })
        .await
    }

    async fn record_feedback(
        &self,
        request: Request<pb::RecordFeedbackRequest>,
    ) -> Result<Response<pb::RecordFeedbackResponse>, Status> {
        let principal = caller(&request)?;
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("RecordFeedback", &principal, &id, async {
            let proposal = Some(
                self.execute(
                    &principal,
                    Action::Change(CommandKind::RecordFeedback),
                    request,
                )
                .await?,
            );
            Ok(pb::RecordFeedbackResponse { proposal })
        })
        .await
    }

    async fn close_proposal(
        &self,
        request: Request<pb::CloseProposalRequest>,
    ) -> Result<Response<pb::CloseProposalResponse>, Status> {
        let principal = caller(&request)?;
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("CloseProposal", &principal, &id, async {
            let proposal = Some(
                self.execute(&principal, Action::Change(CommandKind::Close), request)
                    .await?,
            );
            Ok(pb::CloseProposalResponse { proposal })
        })
        .await
    }

    async fn reopen_proposal(
        &self,
        request: Request<pb::ReopenProposalRequest>,
    ) -> Result<Response<pb::ReopenProposalResponse>, Status> {
        let principal = caller(&request)?;
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("ReopenProposal", &principal, &id, async {
            let proposal = Some(
                self.execute(&principal, Action::Change(CommandKind::Reopen), request)
                    .await?,
            );
            Ok(pb::ReopenProposalResponse { proposal })
        })
        .await
    }

    async fn set_key_proposal(
        &self,
        request: Request<pb::SetKeyProposalRequest>,
    ) -> Result<Response<pb::SetKeyProposalResponse>, Status> {
        let principal = caller(&request)?;
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("SetKeyProposal", &principal, &id, async {
            let proposal = Some(
                self.execute(&principal, Action::Change(CommandKind::SetKey), request)
                    .await?,
            );
            Ok(pb::SetKeyProposalResponse { proposal })
        })
        .await
    }

    async fn refuse_proposal(
        &self,
        request: Request<pb::RefuseProposalRequest>,
    ) -> Result<Response<pb::RefuseProposalResponse>, Status> {
        let principal = caller(&request)?;
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("RefuseProposal", &principal, &id, async {
            let proposal = Some(
                self.execute(&principal, Action::Change(CommandKind::Refuse), request)
                    .await?,
            );
            Ok(pb::RefuseProposalResponse { proposal })
        })
        .await
    }

    async fn acknowledge_assignment(
        &self,
        request: Request<pb::AcknowledgeAssignmentRequest>,
    ) -> Result<Response<pb::AcknowledgeAssignmentResponse>, Status> {
        let principal = caller(&request)?;
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("AcknowledgeAssignment", &principal, &id, async {
            let proposal = Some(
                self.execute(
                    &principal,
                    Action::Change(CommandKind::Acknowledge),
                    request,
                )
                .await?,
            );
            Ok(pb::AcknowledgeAssignmentResponse { proposal })
        })
        .await
    }

    async fn record_contact(
        &self,
        request: Request<pb::RecordContactRequest>,
    ) -> Result<Response<pb::RecordContactResponse>, Status> {
        let principal = caller(&request)?;
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("RecordContact", &principal, &id, async {
            let proposal = Some(
                self.execute(&principal, Action::Change(CommandKind::Contact), request)
                    .await?,
            );
            Ok(pb::RecordContactResponse { proposal })
        })
        .await
    }

    async fn request_extension(
        &self,
        request: Request<pb::RequestExtensionRequest>,
    ) -> Result<Response<pb::RequestExtensionResponse>, Status> {
        let principal = caller(&request)?;
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("RequestExtension", &principal, &id, async {
            let proposal = Some(
                self.execute(
                    &principal,
                    Action::Change(CommandKind::RequestExtension),
                    request,
                )
                .await?,
            );
            Ok(pb::RequestExtensionResponse { proposal })
        })
        .await
    }

    async fn decide_extension(
        &self,
        request: Request<pb::DecideExtensionRequest>,
    ) -> Result<Response<pb::DecideExtensionResponse>, Status> {
        let principal = caller(&request)?;
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("DecideExtension", &principal, &id, async {
            let proposal = Some(
                self.execute(
                    &principal,
                    Action::Change(CommandKind::DecideExtension),
                    request,
                )
                .await?,
            );
            Ok(pb::DecideExtensionResponse { proposal })
        })
        .await
    }

    async fn request_return(
        &self,
        request: Request<pb::RequestReturnRequest>,
    ) -> Result<Response<pb::RequestReturnResponse>, Status> {
        let principal = caller(&request)?;
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("RequestReturn", &principal, &id, async {
            let proposal = Some(
                self.execute(
                    &principal,
                    Action::Change(CommandKind::RequestReturn),
                    request,
                )
                .await?,
            );
            Ok(pb::RequestReturnResponse { proposal })
        })
        .await
    }

    async fn decide_return(
        &self,
        request: Request<pb::DecideReturnRequest>,
    ) -> Result<Response<pb::DecideReturnResponse>, Status> {
        let principal = caller(&request)?;
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("DecideReturn", &principal, &id, async {
            let proposal = Some(
                self.execute(
                    &principal,
                    Action::Change(CommandKind::DecideReturn),
                    request,
                )
                .await?,
            );
            Ok(pb::DecideReturnResponse { proposal })
        })
        .await
    }

    async fn merge_proposal(
        &self,
        request: Request<pb::MergeProposalRequest>,
    ) -> Result<Response<pb::MergeProposalResponse>, Status> {
        let principal = caller(&request)?;
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("MergeProposal", &principal, &id, async {
            let proposal = Some(
                self.execute(&principal, Action::Change(CommandKind::Merge), request)
                    .await?,
            );
            Ok(pb::MergeProposalResponse { proposal })
        })
        .await
    }

    async fn submit_opinion(
        &self,
        request: Request<pb::SubmitOpinionRequest>,
    ) -> Result<Response<pb::SubmitOpinionResponse>, Status> {
        let principal = caller(&request)?;
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("SubmitOpinion", &principal, &id, async {
            let proposal = Some(
                self.execute(
                    &principal,
                    Action::Change(CommandKind::SubmitOpinion),
                    request,
                )
                .await?,
            );
            Ok(pb::SubmitOpinionResponse { proposal })
        })
        .await
    }

    async fn get_proposal(
        &self,
        request: Request<pb::GetProposalRequest>,
    ) -> Result<Response<pb::GetProposalResponse>, Status> {
        let principal = caller(&request)?;
        let request = request.into_inner();
        self.traced("GetProposal", &principal, &request.proposal_id, async {
            let (id, view) = get_request(&request)?;
            let proposal = self.readable(&principal, id, view).await?;
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
        let principal = caller(&request)?;
        let request = request.into_inner();
        self.traced("ListProposals", &principal, "", async {
            let grant = allowed(&principal, Action::ReadProposals, self.workflow.rules())?;
            let (mut filter, view, page) = list_request(request)?;
            match grant {
                Grant::OwnProposals(name) => match &filter.proposer {
                    Some(asked) if *asked != name => {
                        return Err(AppError::PermissionDenied(format!(
                            "{name} lists only the proposals it made, not {asked}'s"
                        )));
                    }
                    _ => filter.proposer = Some(name),
                },
                grant => narrow(&principal, grant, &mut filter.handling_unit)?,
            }
            let page = self.workflow.list(filter, view, page).await?;
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
        let principal = caller(&request)?;
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("GetProposalHistory", &principal, &id, async {
            let (id, page) = history_request(request)?;
            // Only the handling unit and the version matter here: the basic view is one read.
            let current = self.readable(&principal, id, View::Basic).await?;
            let page = self.workflow.history(&current, page).await?;
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
        let principal = caller(&request)?;
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        self.traced("ListEvents", &principal, &id, async {
            let grant = allowed(&principal, Action::ReadEvents, self.workflow.rules())?;
            let (mut filter, page) = list_events_request(request)?;
            narrow_events(&principal, grant, &mut filter)?;
            let page = self.workflow.list_events(&filter, page).await?;
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
        let standing = standing(&request)?;
        let principal = standing.principal.clone();
        let request = request.into_inner();
        let id = request.proposal_id.clone();
        let watchers = Arc::clone(&self.watchers);
        self.traced("WatchEvents", &principal, &id, async {
            let grant = allowed(&principal, Action::ReadEvents, self.workflow.rules())?;
            // Held by the stream: a watcher counts against the bound until its stream ends.
            let permit = watchers
                .try_acquire_owned()
                .map_err(|_| AppError::Overloaded)?;
            let (after, mut filter) = watch_request(request)?;
            narrow_events(&principal, grant, &mut filter)?;
            let events = self.workflow.watch(after, filter)?;
            let stream = tokio_stream::wrappers::ReceiverStream::new(events).map(move |event| {
                let _held = &permit;
                event
                    .map(|event| pb::WatchEventsResponse {
                        event: Some(event.into()),
                    })
                    .map_err(Status::from)
            });
            let name = principal.name.clone();
            let lost = Box::pin(async move {
                standing.lost().await;
                tracing::info!(
                    principal = name,
                    "watch stream ended: its credentials were revoked or changed"
                );
            });
            let stream = UntilLost {
                items: stream,
                lost,
                ended: false,
            };
            Ok(Box::pin(stream) as Self::WatchEventsStream)
        })
        .await
    }

    async fn verify_history(
        &self,
        request: Request<pb::VerifyHistoryRequest>,
    ) -> Result<Response<pb::VerifyHistoryResponse>, Status> {
        let principal = caller(&request)?;
        let pb::VerifyHistoryRequest {} = request.into_inner();
        let workflow = Arc::clone(&self.workflow);
        self.traced("VerifyHistory", &principal, "", async {
            allowed(&principal, Action::Verify, self.workflow.rules())?;
            // Verification reads everything; a backend that works inline holds the thread that
            // polls it, so it runs on a blocking task, never a runtime worker.
            let runtime = tokio::runtime::Handle::current();
            let report = tokio::task::spawn_blocking(move || runtime.block_on(workflow.verify()))
                .await
                .map_err(|e| AppError::Internal(format!("the verification task failed: {e}")))??;
            if let Some(first) = report.first_mismatch() {
                tracing::warn!(
                    problems = report.problems.len(),
                    first,
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
        let principal = caller(&request)?;
        let request = request.into_inner();
        let proposal_id = request.proposal_id.clone();
        self.traced("RenderReply", &principal, &proposal_id, async {
            let (id, handling_unit, round) = render_request(request)?;
            let proposal = self.readable(&principal, id, View::Full).await?;
            let own = match allowed(&principal, Action::ReadProposals, self.workflow.rules())? {
                Grant::OwnUnit(unit) => Some(unit),
                _ => None,
            };
            let rendered = self
                .workflow
                .render(&proposal, &handling_unit, own.as_deref(), round)
                .await?;
            Ok(pb::RenderReplyResponse {
                text: rendered.text,
                document_number: rendered.document_number,
            })
        })
        .await
    }

    async fn get_statistics(
        &self,
        request: Request<pb::GetStatisticsRequest>,
    ) -> Result<Response<pb::GetStatisticsResponse>, Status> {
        let principal = caller(&request)?;
        let request = request.into_inner();
        self.traced("GetStatistics", &principal, "", async {
            allowed(&principal, Action::ReadStatistics, self.workflow.rules())?;
            let query = statistics_request(request, self.workflow.today())?;
            let statistics = self.workflow.statistics(&query).await?;
            Ok(statistics_response(query, statistics))
        })
        .await
    }

    async fn get_rules(
        &self,
        request: Request<pb::GetRulesRequest>,
    ) -> Result<Response<pb::GetRulesResponse>, Status> {
        let principal = caller(&request)?;
        let pb::GetRulesRequest {} = request.into_inner();
        self.traced("GetRules", &principal, "", async {
            // Whoever may read proposals may read the rules they are handled under.
            allowed(&principal, Action::ReadProposals, self.workflow.rules())?;
            Ok(pb::GetRulesResponse {
                rules: Some(self.workflow.rules().into()),
                today: self.workflow.today().to_string(),
            })
        })
        .await
    }
}

/// Event reads of a unit-bound caller: only the events of proposals its unit was handling.
fn narrow_events(
    principal: &Principal,
    grant: Grant,
    filter: &mut EventFilter,
) -> Result<(), AppError> {
    narrow(principal, grant, &mut filter.handling_unit)
}

pin_project_lite::pin_project! {
    /// A response stream that ends with UNAUTHENTICATED, before any further item, once `lost`
    /// resolves: a long call does not outlive its caller's credentials.
    struct UntilLost<S> {
        #[pin]
        items: S,
        lost: Pin<Box<dyn Future<Output = ()> + Send>>,
        ended: bool,
    }
}

impl<S, T> tokio_stream::Stream for UntilLost<S>
where
    S: tokio_stream::Stream<Item = Result<T, Status>>,
{
    type Item = Result<T, Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        if *this.ended {
            return Poll::Ready(None);
        }
        if this.lost.as_mut().poll(cx).is_ready() {
            *this.ended = true;
            let revoked = AppError::Unauthenticated(
                "the credentials this stream was opened with were revoked or changed; open it \
                 again with valid ones"
                    .into(),
            );
            return Poll::Ready(Some(Err(Status::from(revoked))));
        }
        this.items.poll_next(cx)
    }
}
