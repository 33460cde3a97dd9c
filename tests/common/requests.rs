//! One set of requests for every RPC, valid in every field and seeded from proposal No. 228
//! (`proposal_service::seed`). A test changes what it needs with struct update syntax, with
//! [`edited`], or with the [`CommandFields`] setters (`by`, `keyed`, `expecting`).

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use proposal_service::pb;
use proposal_service::pb::proposal_service_client::ProposalServiceClient;
use proposal_service::seed::{self, Seed};
use prost::Message;
use tonic::Status;

use super::Transport;
use super::lifecycle::Command;

pub static SEED: LazyLock<Seed> = LazyLock::new(seed::proposal_228);

/// The actor of the commands built here (a receive keeps the seed's registrar).
pub const ACTOR: &str = "提案办理员";
/// The due date the seed's unit was given.
pub const DUE_DATE: &str = "2019-08-31";
/// Why the builders' proposals are returned and their drafts rejected.
pub const RETURN_REASON: &str = "不属于本单位职责";
pub const REJECT_REASON: &str = "请补充下一步打算";
/// Why the builders' refused proposals are not accepted, and where they go instead.
pub const REFUSE_REASON: &str = "属于个人诉求，不予立案";
pub const FORWARDED_TO: &str = "市信访局";

/// A proposal number no test of this binary has used yet (unique is all a test needs).
pub fn next_number() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// `request` after `change`: one field made different, for a case of a table.
pub fn edited<T>(mut request: T, change: impl FnOnce(&mut T)) -> T {
    change(&mut request);
    request
}

/// Who registers in the kit's requests, as in the seed's office.
pub const REGISTRAR_ACTOR: &str = "提案委登记员";

pub fn receive(number: u32) -> pb::ReceiveProposalRequest {
    pb::ReceiveProposalRequest {
        number,
        actor: REGISTRAR_ACTOR.into(),
        ..SEED.registration().into()
    }
}

/// Assigns `p` to the seed's unit.
pub fn assign(p: &pb::Proposal) -> pb::AssignProposalRequest {
    assign_to(p, &SEED.handling_unit)
}

pub fn assign_to(p: &pb::Proposal, unit: &str) -> pb::AssignProposalRequest {
    pb::AssignProposalRequest {
        proposal_id: p.id.clone(),
        handling_unit: unit.into(),
        due_date: DUE_DATE.into(),
        expected_version: None,
        request_id: String::new(),
        actor: ACTOR.into(),
        effective_date: String::new(),
        co_units: Vec::new(),
        co_due_date: String::new(),
        split_units: Vec::new(),
    }
}

/// Assigns `p` to the seed's unit leading, with `co_units` co-handling.
pub fn assign_with_co(p: &pb::Proposal, co_units: &[&str]) -> pb::AssignProposalRequest {
    pb::AssignProposalRequest {
        co_units: co_units.iter().map(|u| u.to_string()).collect(),
        ..assign(p)
    }
}

pub fn return_(p: &pb::Proposal) -> pb::ReturnProposalRequest {
    pb::ReturnProposalRequest {
        proposal_id: p.id.clone(),
        reason: RETURN_REASON.into(),
        expected_version: None,
        request_id: String::new(),
        actor: ACTOR.into(),
        effective_date: String::new(),
    }
}

/// Drafts the seed's reply.
pub fn draft(p: &pb::Proposal) -> pb::DraftReplyRequest {
    pb::DraftReplyRequest {
        proposal_id: p.id.clone(),
        reply: Some(SEED.reply().into()),
        expected_version: None,
        request_id: String::new(),
        actor: ACTOR.into(),
        effective_date: String::new(),
        handling_unit: String::new(),
    }
}

pub fn reject(p: &pb::Proposal) -> pb::RejectDraftRequest {
    pb::RejectDraftRequest {
        proposal_id: p.id.clone(),
        reason: REJECT_REASON.into(),
        expected_version: None,
        request_id: String::new(),
        actor: ACTOR.into(),
        effective_date: String::new(),
        handling_unit: String::new(),
    }
}

pub fn sign(p: &pb::Proposal) -> pb::SignReplyRequest {
    pb::SignReplyRequest {
        proposal_id: p.id.clone(),
        signer: SEED.signer.clone(),
        expected_version: None,
        request_id: String::new(),
        actor: ACTOR.into(),
        effective_date: String::new(),
        handling_unit: String::new(),
        sign_date: String::new(),
    }
}

/// Issues `p` under a document number of its own (`许环〔2019〕<number>号`), so that two
/// proposals never collide unless a test wants them to.
pub fn issue(p: &pb::Proposal) -> pb::IssueReplyRequest {
    pb::IssueReplyRequest {
        proposal_id: p.id.clone(),
        document_number: format!("许环〔2019〕{}号", p.number),
        issue_date: SEED.issue_date.clone(),
        issuing_office: SEED.issuing_office.clone(),
        expected_version: None,
        request_id: String::new(),
        actor: ACTOR.into(),
        effective_date: String::new(),
        handling_unit: String::new(),
        copy_to: Vec::new(),
        public: None,
    }
}

pub fn copy(p: &pb::Proposal) -> pb::CopyReplyRequest {
    pb::CopyReplyRequest {
        proposal_id: p.id.clone(),
        recipients: SEED.recipients.clone(),
        expected_version: None,
        request_id: String::new(),
        actor: ACTOR.into(),
        effective_date: String::new(),
        handling_unit: String::new(),
    }
}

/// The committee does not accept `p`, and forwards it as an opinion.
pub fn refuse(p: &pb::Proposal) -> pb::RefuseProposalRequest {
    pb::RefuseProposalRequest {
        proposal_id: p.id.clone(),
        reason: REFUSE_REASON.into(),
        forwarded_to: FORWARDED_TO.into(),
        expected_version: None,
        request_id: String::new(),
        actor: REGISTRAR_ACTOR.into(),
        effective_date: String::new(),
    }
}

/// The handling unit signs for `p` (its one unit).
pub fn acknowledge(p: &pb::Proposal) -> pb::AcknowledgeAssignmentRequest {
    pb::AcknowledgeAssignmentRequest {
        proposal_id: p.id.clone(),
        handling_unit: String::new(),
        expected_version: None,
        request_id: String::new(),
        actor: ACTOR.into(),
        effective_date: String::new(),
    }
}

/// What the builders' units say of their contacts with the proposers.
pub const CONTACT_SUMMARY: &str = "电话联系苏会兴委员，沟通答复意见";

/// The handling unit phoned every proposer of `p`, on the act's day.
pub fn contact(p: &pb::Proposal) -> pb::RecordContactRequest {
    pb::RecordContactRequest {
        proposal_id: p.id.clone(),
        handling_unit: String::new(),
        contact_date: String::new(),
        method: pb::ContactMethod::Phone as i32,
        proposers: Vec::new(),
        summary: CONTACT_SUMMARY.into(),
        expected_version: None,
        request_id: String::new(),
        actor: ACTOR.into(),
        effective_date: String::new(),
    }
}

/// The due date the builders' extension requests ask for: 61 days after [`DUE_DATE`].
pub const EXTENDED_DUE_DATE: &str = "2019-10-31";

pub fn request_extension(p: &pb::Proposal) -> pb::RequestExtensionRequest {
    pb::RequestExtensionRequest {
        proposal_id: p.id.clone(),
        handling_unit: String::new(),
        new_due_date: EXTENDED_DUE_DATE.into(),
        reason: "需会同有关部门实地调研".into(),
        expected_version: None,
        request_id: String::new(),
        actor: ACTOR.into(),
        effective_date: String::new(),
    }
}

/// The office approves `p`'s pending extension request.
pub fn decide_extension(p: &pb::Proposal) -> pb::DecideExtensionRequest {
    pb::DecideExtensionRequest {
        proposal_id: p.id.clone(),
        handling_unit: String::new(),
        approve: true,
        note: "同意延期".into(),
        expected_version: None,
        request_id: String::new(),
        actor: REGISTRAR_ACTOR.into(),
        effective_date: String::new(),
    }
}

/// The seed's unit asks to give `p` back.
pub fn request_return(p: &pb::Proposal) -> pb::RequestReturnRequest {
    pb::RequestReturnRequest {
        proposal_id: p.id.clone(),
        handling_unit: String::new(),
        reason: RETURN_REASON.into(),
        expected_version: None,
        request_id: String::new(),
        actor: ACTOR.into(),
        effective_date: String::new(),
    }
}

/// A co-unit of `p` sends the lead its opinion; an empty unit is the one co-unit.
pub fn submit_opinion(p: &pb::Proposal, unit: &str) -> pb::SubmitOpinionRequest {
    pb::SubmitOpinionRequest {
        proposal_id: p.id.clone(),
        handling_unit: unit.into(),
        body: OPINION_BODY.into(),
        document_number: String::new(),
        contact_person: "王明".into(),
        contact_phone: "2966021".into(),
        expected_version: None,
        request_id: String::new(),
        actor: ACTOR.into(),
        effective_date: String::new(),
    }
}

/// The registrar merges `p` into `into` (并案).
pub fn merge(p: &pb::Proposal, into: &pb::Proposal) -> pb::MergeProposalRequest {
    pb::MergeProposalRequest {
        proposal_id: p.id.clone(),
        into_proposal_id: into.id.clone(),
        note: "内容相近，并案办理".into(),
        expected_version: None,
        request_id: String::new(),
        actor: REGISTRAR_ACTOR.into(),
        effective_date: String::new(),
    }
}

/// The office records `p`'s first proposer's verdict: basically satisfied.
pub fn record_feedback(p: &pb::Proposal) -> pb::RecordFeedbackRequest {
    verdict(p, pb::Satisfaction::BasicallySatisfied)
}

/// The office records `p`'s first proposer's verdict at `satisfaction`.
pub fn verdict(p: &pb::Proposal, satisfaction: pb::Satisfaction) -> pb::RecordFeedbackRequest {
    pb::RecordFeedbackRequest {
        proposal_id: p.id.clone(),
        proposer: p.proposers.first().cloned().unwrap_or_default(),
        satisfaction: satisfaction as i32,
        attitude: pb::Satisfaction::Satisfied as i32,
        comment: "希望加快落实".into(),
        expected_version: None,
        request_id: String::new(),
        actor: REGISTRAR_ACTOR.into(),
        effective_date: String::new(),
    }
}

/// The office closes `p` (办结).
pub fn close(p: &pb::Proposal) -> pb::CloseProposalRequest {
    pb::CloseProposalRequest {
        proposal_id: p.id.clone(),
        note: "办理完毕".into(),
        expected_version: None,
        request_id: String::new(),
        actor: REGISTRAR_ACTOR.into(),
        effective_date: String::new(),
    }
}

/// The office makes `p` a key proposal (重点提案).
pub fn set_key(p: &pb::Proposal) -> pb::SetKeyProposalRequest {
    pb::SetKeyProposalRequest {
        proposal_id: p.id.clone(),
        key: true,
        supervisor: "市政协副主席王明".into(),
        note: String::new(),
        expected_version: None,
        request_id: String::new(),
        actor: REGISTRAR_ACTOR.into(),
        effective_date: String::new(),
    }
}

/// The office reopens `p` (重新办理), the new reply due by the rules.
pub fn reopen(p: &pb::Proposal) -> pb::ReopenProposalRequest {
    pb::ReopenProposalRequest {
        proposal_id: p.id.clone(),
        reason: "提案人对答复不满意".into(),
        due_date: String::new(),
        expected_version: None,
        request_id: String::new(),
        actor: REGISTRAR_ACTOR.into(),
        effective_date: String::new(),
    }
}

/// The body of [`submit_opinion`]'s opinion.
pub const OPINION_BODY: &str = "建议将大气污染防治资金纳入年度预算统筹安排。";

/// The office approves `p`'s pending return request: back to RECEIVED.
pub fn decide_return(p: &pb::Proposal) -> pb::DecideReturnRequest {
    pb::DecideReturnRequest {
        proposal_id: p.id.clone(),
        handling_unit: String::new(),
        approve: true,
        note: "同意退回".into(),
        reassign_to: String::new(),
        due_date: String::new(),
        expected_version: None,
        request_id: String::new(),
        actor: REGISTRAR_ACTOR.into(),
        effective_date: String::new(),
    }
}

pub fn get(id: &str) -> pb::GetProposalRequest {
    pb::GetProposalRequest {
        proposal_id: id.into(),
        ..Default::default()
    }
}

/// A proposal's whole history in one page (the tests' histories fit).
pub fn history(id: &str) -> pb::GetProposalHistoryRequest {
    history_page(id, 1000, "")
}

pub fn history_page(id: &str, page_size: i32, page_token: &str) -> pb::GetProposalHistoryRequest {
    pb::GetProposalHistoryRequest {
        proposal_id: id.into(),
        page_size,
        page_token: page_token.into(),
    }
}

/// Every proposal, in full, in one page (the tests' listings fit).
pub fn list_all() -> pb::ListProposalsRequest {
    pb::ListProposalsRequest {
        page_size: 1000,
        view: pb::ProposalView::Full as i32,
        ..Default::default()
    }
}

/// The whole log from the start, narrowed to `handling_unit` when it is not empty.
pub fn watch(handling_unit: &str) -> pb::WatchEventsRequest {
    pb::WatchEventsRequest {
        after_position: 0,
        proposal_id: String::new(),
        kinds: Vec::new(),
        handling_unit: handling_unit.into(),
    }
}

pub fn render(id: &str) -> pb::RenderReplyRequest {
    pb::RenderReplyRequest {
        round: 0,
        proposal_id: id.into(),
        handling_unit: String::new(),
    }
}

/// The fields every command request has, with setters that read as a sentence:
/// `sign(&p).by("王五").keyed("sign-once").expecting(3)`.
pub trait CommandFields: Sized {
    /// `None` for a receive, which names no proposal.
    fn proposal_id_mut(&mut self) -> Option<&mut String>;
    fn actor_mut(&mut self) -> &mut String;
    fn request_id_mut(&mut self) -> &mut String;
    /// `None` for a receive, which has no version to expect.
    fn expected_version_mut(&mut self) -> Option<&mut Option<u64>>;
    fn effective_date_mut(&mut self) -> &mut String;

    /// The request dated `date` (YYYY-MM-DD): the day the act happened in the office.
    fn dated(mut self, date: &str) -> Self {
        *self.effective_date_mut() = date.into();
        self
    }

    /// The request sent under `actor`'s name (empty: the caller's principal).
    fn by(mut self, actor: &str) -> Self {
        *self.actor_mut() = actor.into();
        self
    }

    /// The request with an idempotency key.
    fn keyed(mut self, request_id: &str) -> Self {
        *self.request_id_mut() = request_id.into();
        self
    }

    /// The request made conditional on the proposal's version.
    fn expecting(mut self, version: u64) -> Self {
        *self
            .expected_version_mut()
            .expect("a receive expects no version") = Some(version);
        self
    }
}

macro_rules! command_fields {
    (receive: $receive:ty; on_existing: $($request:ty),*) => {
        impl CommandFields for $receive {
            fn proposal_id_mut(&mut self) -> Option<&mut String> {
                None
            }
            fn actor_mut(&mut self) -> &mut String {
                &mut self.actor
            }
            fn request_id_mut(&mut self) -> &mut String {
                &mut self.request_id
            }
            fn expected_version_mut(&mut self) -> Option<&mut Option<u64>> {
                None
            }
            fn effective_date_mut(&mut self) -> &mut String {
                &mut self.effective_date
            }
        }
        $(
            impl CommandFields for $request {
                fn proposal_id_mut(&mut self) -> Option<&mut String> {
                    Some(&mut self.proposal_id)
                }
                fn actor_mut(&mut self) -> &mut String {
                    &mut self.actor
                }
                fn request_id_mut(&mut self) -> &mut String {
                    &mut self.request_id
                }
                fn expected_version_mut(&mut self) -> Option<&mut Option<u64>> {
                    Some(&mut self.expected_version)
                }
                fn effective_date_mut(&mut self) -> &mut String {
                    &mut self.effective_date
                }
            }
        )*
    };
}

command_fields!(
    receive: pb::ReceiveProposalRequest;
    on_existing: pb::AssignProposalRequest, pb::ReturnProposalRequest, pb::DraftReplyRequest,
    pb::RejectDraftRequest, pb::SignReplyRequest, pb::IssueReplyRequest, pb::CopyReplyRequest,
    pb::RefuseProposalRequest, pb::AcknowledgeAssignmentRequest, pb::RecordContactRequest,
    pb::RequestExtensionRequest, pb::DecideExtensionRequest, pb::RequestReturnRequest,
    pb::DecideReturnRequest, pb::SubmitOpinionRequest, pb::MergeProposalRequest,
    pb::RecordFeedbackRequest, pb::CloseProposalRequest, pb::SetKeyProposalRequest,
    pb::ReopenProposalRequest
);

/// Defines [`CommandRequest`] with one variant per `Variant(request type)`, and a `From` for
/// each request type.
macro_rules! command_request {
    ($($variant:ident($request:ty)),*) => {
        /// The request of any of the nine commands, so that tables and generated cases can mix
        /// them.
        #[derive(Clone, Debug, PartialEq)]
        pub enum CommandRequest {
            $($variant($request)),*
        }

        $(
            impl From<$request> for CommandRequest {
                fn from(request: $request) -> Self {
                    Self::$variant(request)
                }
            }
        )*
    };
}

command_request!(
    Receive(pb::ReceiveProposalRequest),
    Assign(pb::AssignProposalRequest),
    Return(pb::ReturnProposalRequest),
    Draft(pb::DraftReplyRequest),
    RejectDraft(pb::RejectDraftRequest),
    Sign(pb::SignReplyRequest),
    Issue(pb::IssueReplyRequest),
    Copy(pb::CopyReplyRequest),
    Refuse(pb::RefuseProposalRequest),
    Acknowledge(pb::AcknowledgeAssignmentRequest),
    Contact(pb::RecordContactRequest),
    RequestExtension(pb::RequestExtensionRequest),
    DecideExtension(pb::DecideExtensionRequest),
    RequestReturn(pb::RequestReturnRequest),
    DecideReturn(pb::DecideReturnRequest),
    SubmitOpinion(pb::SubmitOpinionRequest),
    Merge(pb::MergeProposalRequest),
    RecordFeedback(pb::RecordFeedbackRequest),
    Close(pb::CloseProposalRequest),
    SetKey(pb::SetKeyProposalRequest),
    Reopen(pb::ReopenProposalRequest)
);

/// Runs `$body` with `$r` bound to the request inside any [`CommandRequest`].
macro_rules! each_command {
    ($request:expr, $r:ident => $body:expr) => {
        match $request {
            $crate::common::requests::CommandRequest::Receive($r) => $body,
            $crate::common::requests::CommandRequest::Assign($r) => $body,
            $crate::common::requests::CommandRequest::Return($r) => $body,
            $crate::common::requests::CommandRequest::Draft($r) => $body,
            $crate::common::requests::CommandRequest::RejectDraft($r) => $body,
            $crate::common::requests::CommandRequest::Sign($r) => $body,
            $crate::common::requests::CommandRequest::Issue($r) => $body,
            $crate::common::requests::CommandRequest::Copy($r) => $body,
            $crate::common::requests::CommandRequest::Refuse($r) => $body,
            $crate::common::requests::CommandRequest::Acknowledge($r) => $body,
            $crate::common::requests::CommandRequest::Contact($r) => $body,
            $crate::common::requests::CommandRequest::RequestExtension($r) => $body,
            $crate::common::requests::CommandRequest::DecideExtension($r) => $body,
            $crate::common::requests::CommandRequest::RequestReturn($r) => $body,
            $crate::common::requests::CommandRequest::DecideReturn($r) => $body,
            $crate::common::requests::CommandRequest::SubmitOpinion($r) => $body,
            $crate::common::requests::CommandRequest::Merge($r) => $body,
            $crate::common::requests::CommandRequest::RecordFeedback($r) => $body,
            $crate::common::requests::CommandRequest::Close($r) => $body,
            $crate::common::requests::CommandRequest::SetKey($r) => $body,
            $crate::common::requests::CommandRequest::Reopen($r) => $body,
        }
    };
}
pub(crate) use each_command;

impl CommandRequest {
    /// A request for `command` on `p`, valid in every field (whether `p`'s state allows it is
    /// up to the test); for a receive, the seed under `p`'s number.
    pub fn valid(command: Command, p: &pb::Proposal) -> Self {
        match command {
            Command::Receive => Self::Receive(receive(p.number)),
            Command::Assign => Self::Assign(assign(p)),
            Command::Return => Self::Return(return_(p)),
            Command::Draft => Self::Draft(draft(p)),
            Command::RejectDraft => Self::RejectDraft(reject(p)),
            Command::Sign => Self::Sign(sign(p)),
            Command::Issue => Self::Issue(issue(p)),
            Command::Copy => Self::Copy(copy(p)),
            Command::Refuse => Self::Refuse(refuse(p)),
            Command::Acknowledge => Self::Acknowledge(acknowledge(p)),
            Command::Contact => Self::Contact(contact(p)),
            Command::RequestExtension => Self::RequestExtension(request_extension(p)),
            Command::DecideExtension => Self::DecideExtension(decide_extension(p)),
            Command::RequestReturn => Self::RequestReturn(request_return(p)),
            Command::DecideReturn => Self::DecideReturn(decide_return(p)),
            Command::SubmitOpinion => Self::SubmitOpinion(submit_opinion(p, "")),
            // Into itself: valid fields, refused as MERGE_NOT_ALLOWED (see [`merge`]).
            Command::Merge => Self::Merge(merge(p, p)),
            Command::RecordFeedback => Self::RecordFeedback(record_feedback(p)),
            Command::Close => Self::Close(close(p)),
            Command::SetKey => Self::SetKey(set_key(p)),
            // Refused unless a proposer is recorded not satisfied (NO_DISSATISFACTION).
            Command::Reopen => Self::Reopen(reopen(p)),
        }
    }

    pub fn command(&self) -> Command {
        match self {
            Self::Receive(_) => Command::Receive,
            Self::Assign(_) => Command::Assign,
            Self::Return(_) => Command::Return,
            Self::Draft(_) => Command::Draft,
            Self::RejectDraft(_) => Command::RejectDraft,
            Self::Sign(_) => Command::Sign,
            Self::Issue(_) => Command::Issue,
            Self::Copy(_) => Command::Copy,
            Self::Refuse(_) => Command::Refuse,
            Self::Acknowledge(_) => Command::Acknowledge,
            Self::Contact(_) => Command::Contact,
            Self::RequestExtension(_) => Command::RequestExtension,
            Self::DecideExtension(_) => Command::DecideExtension,
            Self::RequestReturn(_) => Command::RequestReturn,
            Self::DecideReturn(_) => Command::DecideReturn,
            Self::SubmitOpinion(_) => Command::SubmitOpinion,
            Self::Merge(_) => Command::Merge,
            Self::RecordFeedback(_) => Command::RecordFeedback,
            Self::Close(_) => Command::Close,
            Self::SetKey(_) => Command::SetKey,
            Self::Reopen(_) => Command::Reopen,
        }
    }

    pub fn actor(&self) -> &str {
        each_command!(self, r => &r.actor)
    }

    pub fn request_id(&self) -> &str {
        each_command!(self, r => &r.request_id)
    }

    pub fn effective_date(&self) -> &str {
        each_command!(self, r => &r.effective_date)
    }

    /// `None` for a receive, which names no proposal.
    pub fn proposal_id(&self) -> Option<&str> {
        match self {
            Self::Receive(_) => None,
            Self::Assign(r) => Some(&r.proposal_id),
            Self::Return(r) => Some(&r.proposal_id),
            Self::Draft(r) => Some(&r.proposal_id),
            Self::RejectDraft(r) => Some(&r.proposal_id),
            Self::Sign(r) => Some(&r.proposal_id),
            Self::Issue(r) => Some(&r.proposal_id),
            Self::Copy(r) => Some(&r.proposal_id),
            Self::Refuse(r) => Some(&r.proposal_id),
            Self::Acknowledge(r) => Some(&r.proposal_id),
            Self::Contact(r) => Some(&r.proposal_id),
            Self::RequestExtension(r) => Some(&r.proposal_id),
            Self::DecideExtension(r) => Some(&r.proposal_id),
            Self::RequestReturn(r) => Some(&r.proposal_id),
            Self::DecideReturn(r) => Some(&r.proposal_id),
            Self::SubmitOpinion(r) => Some(&r.proposal_id),
            Self::Merge(r) => Some(&r.proposal_id),
            Self::RecordFeedback(r) => Some(&r.proposal_id),
            Self::Close(r) => Some(&r.proposal_id),
            Self::SetKey(r) => Some(&r.proposal_id),
            Self::Reopen(r) => Some(&r.proposal_id),
        }
    }

    /// `None` for a receive, and for a command sent unconditionally.
    pub fn expected_version(&self) -> Option<u64> {
        match self {
            Self::Receive(_) => None,
            Self::Assign(r) => r.expected_version,
            Self::Return(r) => r.expected_version,
            Self::Draft(r) => r.expected_version,
            Self::RejectDraft(r) => r.expected_version,
            Self::Sign(r) => r.expected_version,
            Self::Issue(r) => r.expected_version,
            Self::Copy(r) => r.expected_version,
            Self::Refuse(r) => r.expected_version,
            Self::Acknowledge(r) => r.expected_version,
            Self::Contact(r) => r.expected_version,
            Self::RequestExtension(r) => r.expected_version,
            Self::DecideExtension(r) => r.expected_version,
            Self::RequestReturn(r) => r.expected_version,
            Self::DecideReturn(r) => r.expected_version,
            Self::SubmitOpinion(r) => r.expected_version,
            Self::Merge(r) => r.expected_version,
            Self::RecordFeedback(r) => r.expected_version,
            Self::Close(r) => r.expected_version,
            Self::SetKey(r) => r.expected_version,
            Self::Reopen(r) => r.expected_version,
        }
    }

    pub fn proposal_id_mut(&mut self) -> Option<&mut String> {
        each_command!(self, r => r.proposal_id_mut())
    }

    /// The request dated `date` (YYYY-MM-DD).
    pub fn dated(mut self, date: &str) -> Self {
        each_command!(&mut self, r => *r.effective_date_mut() = date.into());
        self
    }

    pub fn set_actor(&mut self, actor: &str) {
        each_command!(self, r => *r.actor_mut() = actor.into())
    }

    pub fn set_request_id(&mut self, request_id: &str) {
        each_command!(self, r => *r.request_id_mut() = request_id.into())
    }

    pub fn by(mut self, actor: &str) -> Self {
        self.set_actor(actor);
        self
    }

    pub fn keyed(mut self, request_id: &str) -> Self {
        self.set_request_id(request_id);
        self
    }

    pub fn expecting(mut self, version: u64) -> Self {
        each_command!(&mut self, r => {
            *r.expected_version_mut().expect("a receive expects no version") = Some(version)
        });
        self
    }

    /// The same request without its idempotency key: what a retry must repeat.
    pub fn without_request_id(&self) -> Self {
        self.clone().keyed("")
    }

    pub fn encode_to_vec(&self) -> Vec<u8> {
        each_command!(self, r => r.encode_to_vec())
    }

    pub fn encoded_len(&self) -> usize {
        each_command!(self, r => r.encoded_len())
    }

    /// Sends the request; an accepted command answers with the proposal after it (`None` if
    /// the answer left it out, which the service never does).
    pub async fn send<T: Transport>(
        self,
        client: &mut ProposalServiceClient<T>,
    ) -> Result<Option<pb::Proposal>, Status> {
        self.send_within(client, None).await
    }

    /// [`CommandRequest::send`] with a deadline (`grpc-timeout`) when `deadline` is set.
    pub async fn send_within<T: Transport>(
        self,
        client: &mut ProposalServiceClient<T>,
        deadline: Option<Duration>,
    ) -> Result<Option<pb::Proposal>, Status> {
        fn call<M>(message: M, deadline: Option<Duration>) -> tonic::Request<M> {
            let mut request = tonic::Request::new(message);
            if let Some(deadline) = deadline {
                request.set_timeout(deadline);
            }
            request
        }
        // `send!(rpc(message))`: the call, and the proposal out of its answer.
        macro_rules! send {
            ($rpc:ident($message:expr)) => {
                client
                    .$rpc(call($message, deadline))
                    .await?
                    .into_inner()
                    .proposal
            };
        }
        Ok(match self {
            Self::Receive(r) => send!(receive_proposal(r)),
            Self::Assign(r) => send!(assign_proposal(r)),
            Self::Return(r) => send!(return_proposal(r)),
            Self::Draft(r) => send!(draft_reply(r)),
            Self::RejectDraft(r) => send!(reject_draft(r)),
            Self::Sign(r) => send!(sign_reply(r)),
            Self::Issue(r) => send!(issue_reply(r)),
            Self::Copy(r) => send!(copy_reply(r)),
            Self::Refuse(r) => send!(refuse_proposal(r)),
            Self::Acknowledge(r) => send!(acknowledge_assignment(r)),
            Self::Contact(r) => send!(record_contact(r)),
            Self::RequestExtension(r) => send!(request_extension(r)),
            Self::DecideExtension(r) => send!(decide_extension(r)),
            Self::RequestReturn(r) => send!(request_return(r)),
            Self::DecideReturn(r) => send!(decide_return(r)),
            Self::SubmitOpinion(r) => send!(submit_opinion(r)),
            Self::Merge(r) => send!(merge_proposal(r)),
            Self::RecordFeedback(r) => send!(record_feedback(r)),
            Self::Close(r) => send!(close_proposal(r)),
            Self::SetKey(r) => send!(set_key_proposal(r)),
            Self::Reopen(r) => send!(reopen_proposal(r)),
        })
    }

    /// Sends a request that must be accepted; returns the proposal after it.
    pub async fn expect_proposal<T: Transport>(
        self,
        client: &mut ProposalServiceClient<T>,
        what: &str,
    ) -> pb::Proposal {
        let command = self.command();
        self.send(client)
            .await
            .unwrap_or_else(|s| panic!("{what}: {command:?}: {s:?}"))
            .unwrap_or_else(|| panic!("{what}: {command:?} answered without the proposal"))
    }
}
