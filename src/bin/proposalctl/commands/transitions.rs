//! The mutating subcommands, one per RPC that records an event. Each prints the proposal as the
//! server says it is after the change (text: a summary; `--json`: the whole proposal).

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::{ArgGroup, Args};
use proposal_service::pb;

use crate::connection::{Server, ServerArgs};
use crate::failure::Failure;
use crate::output::Output;
use crate::values::{ResultArg, proto_flag};
use crate::{json, text};

/// Who records the change, and its idempotency key.
#[derive(Args, Debug)]
pub struct Recording {
    /// Who performs the action; recorded in the event.
    #[arg(long, env = "PROPOSAL_ACTOR")]
    pub actor: String,
    /// Idempotency key: repeating a request with its key returns the first result and records
    /// nothing new.
    #[arg(long, value_name = "KEY")]
    pub request_id: Option<String>,
    /// The day the act happened in the office, YYYY-MM-DD (default: today in the server's
    /// rules' time zone). Not in the future, not before the proposal's previous act.
    #[arg(long, value_name = "DATE")]
    pub effective_date: Option<String>,
}

/// The proposal a change is about.
#[derive(Args, Debug)]
pub struct Target {
    /// The proposal's id (a UUID, as `receive` and `list` print it).
    pub proposal_id: String,
    /// Refuse the change (ABORTED) unless the proposal is at this version, i.e. unchanged since
    /// it was read.
    #[arg(long, value_name = "VERSION")]
    pub expected_version: Option<u64>,
    #[command(flatten)]
    pub recording: Recording,
}

#[derive(Args, Debug)]
#[command(group(ArgGroup::new("text").required(true).args(["content", "content_file"])))]
pub struct ReceiveProposal {
    /// The CPPCC committee, e.g. 许昌市政协.
    #[arg(long)]
    committee: String,
    /// The session, e.g. 七届三次会议.
    #[arg(long)]
    session: String,
    /// The proposal's number within the session, e.g. 228; unique with committee and session.
    #[arg(long)]
    number: u32,
    /// The title, e.g. 关于加强我市环境保护的提案.
    #[arg(long)]
    title: String,
    /// A proposer (委员), or the collective's name; repeat for several.
    #[arg(long = "proposer", value_name = "NAME", required = true)]
    proposers: Vec<String>,
    /// Who made the proposal (default: member); a collective is greeted by its name.
    #[arg(long, value_parser = proto_flag::<pb::ProposerKind>(), ignore_case = true, value_name = "KIND")]
    proposer_kind: Option<pb::ProposerKind>,
    /// The proposal's text.
    #[arg(long)]
    content: Option<String>,
    /// Read the proposal's text from a file (`-`: stdin); sent exactly as read.
    #[arg(long, value_name = "PATH")]
    content_file: Option<PathBuf>,
    #[command(flatten)]
    recording: Recording,
}

impl ReceiveProposal {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let content = match (self.content, &self.content_file) {
            (Some(content), _) => content,
            (None, Some(path)) => read_text(path, "content file")?,
            (None, None) => String::new(),
        };
        let server = Server::connect(server).await?;
        let request = pb::ReceiveProposalRequest {
            committee: self.committee,
            session: self.session,
            number: self.number,
            title: self.title,
            proposers: self.proposers,
            content,
            proposer_kind: self.proposer_kind.map_or(0, |kind| kind as i32),
            request_id: self.recording.request_id.unwrap_or_default(),
            actor: self.recording.actor,
            effective_date: self.recording.effective_date.unwrap_or_default(),
        };
        let response = server
            .client()
            .receive_proposal(server.call(request))
            .await?;
        changed(output, response.into_inner().proposal)
    }
}

#[derive(Args, Debug)]
pub struct AssignProposal {
    #[command(flatten)]
    target: Target,
    /// The handling unit (承办单位), e.g. 许昌市生态环境局.
    #[arg(long)]
    handling_unit: String,
    /// The reply due date (办理期限), YYYY-MM-DD.
    #[arg(long, value_name = "DATE")]
    due_date: Option<String>,
    /// A co-handling unit (会办单位), which sends the handling unit its opinion; repeat for
    /// several. With any, the handling unit leads (主办) and replies.
    #[arg(long = "co-unit", value_name = "UNIT")]
    co_units: Vec<String>,
    /// The day the co-units' opinions are due, YYYY-MM-DD, not after the reply's due date
    /// (default: the rules' co_opinion_days after the effective date).
    #[arg(long, value_name = "DATE", requires = "co_units")]
    co_due_date: Option<String>,
    /// A further unit that replies on its own (分办), as the handling unit then does; repeat
    /// for several. Not with --co-unit.
    #[arg(long = "split-unit", value_name = "UNIT", conflicts_with = "co_units")]
    split_units: Vec<String>,
}

impl AssignProposal {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let server = Server::connect(server).await?;
        let Target {
            proposal_id,
            expected_version,
            recording,
        } = self.target;
        let request = pb::AssignProposalRequest {
            proposal_id,
            handling_unit: self.handling_unit,
            due_date: self.due_date.unwrap_or_default(),
            co_units: self.co_units,
            co_due_date: self.co_due_date.unwrap_or_default(),
            expected_version,
            request_id: recording.request_id.unwrap_or_default(),
            actor: recording.actor,
            effective_date: recording.effective_date.unwrap_or_default(),
            split_units: self.split_units,
        };
        let response = server
            .client()
            .assign_proposal(server.call(request))
            .await?;
        changed(output, response.into_inner().proposal)
    }
}

#[derive(Args, Debug)]
pub struct ReturnProposal {
    #[command(flatten)]
    target: Target,
    /// Why the assignment is withdrawn.
    #[arg(long)]
    reason: String,
}

impl ReturnProposal {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let server = Server::connect(server).await?;
        let Target {
            proposal_id,
            expected_version,
            recording,
        } = self.target;
        let request = pb::ReturnProposalRequest {
            proposal_id,
            reason: self.reason,
            expected_version,
            request_id: recording.request_id.unwrap_or_default(),
            actor: recording.actor,
            effective_date: recording.effective_date.unwrap_or_default(),
        };
        let response = server
            .client()
            .return_proposal(server.call(request))
            .await?;
        changed(output, response.into_inner().proposal)
    }
}

#[derive(Args, Debug)]
pub struct DraftReply {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    unit: Unit,
    /// The file holding the reply body (`-`: stdin), sent byte for byte as UTF-8 text.
    #[arg(long, value_name = "PATH")]
    body_file: PathBuf,
    /// The handling result (办理结果): A solved or adopted, B being solved or planned, C cannot
    /// be solved now (the reply explains why), D kept for reference where the rules allow it.
    #[arg(
        long = "result",
        value_enum,
        ignore_case = true,
        value_name = "A|B|C|D"
    )]
    result_code: ResultArg,
    /// The unit the proposer may contact, e.g. 许昌市生态环境局综合科.
    #[arg(long)]
    contact_unit: Option<String>,
    /// The contact unit's phone, e.g. 6069516.
    #[arg(long)]
    contact_phone: Option<String>,
}

impl DraftReply {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let body = read_text(&self.body_file, "body file")?;
        let server = Server::connect(server).await?;
        let Target {
            proposal_id,
            expected_version,
            recording,
        } = self.target;
        let request = pb::DraftReplyRequest {
            proposal_id,
            reply: Some(pb::Reply {
                body,
                result_code: self.result_code.to_pb() as i32,
                contact_unit: self.contact_unit.unwrap_or_default(),
                contact_phone: self.contact_phone.unwrap_or_default(),
            }),
            expected_version,
            request_id: recording.request_id.unwrap_or_default(),
            actor: recording.actor,
            effective_date: recording.effective_date.unwrap_or_default(),
            handling_unit: self.unit.handling_unit.unwrap_or_default(),
        };
        let response = server.client().draft_reply(server.call(request)).await?;
        changed(output, response.into_inner().proposal)
    }
}

#[derive(Args, Debug)]
pub struct RejectDraft {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    unit: Unit,
    /// Why the signer sends the draft back.
    #[arg(long)]
    reason: String,
}

impl RejectDraft {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let server = Server::connect(server).await?;
        let Target {
            proposal_id,
            expected_version,
            recording,
        } = self.target;
        let request = pb::RejectDraftRequest {
            proposal_id,
            reason: self.reason,
            expected_version,
            request_id: recording.request_id.unwrap_or_default(),
            actor: recording.actor,
            effective_date: recording.effective_date.unwrap_or_default(),
            handling_unit: self.unit.handling_unit.unwrap_or_default(),
        };
        let response = server.client().reject_draft(server.call(request)).await?;
        changed(output, response.into_inner().proposal)
    }
}

#[derive(Args, Debug)]
pub struct SignReply {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    unit: Unit,
    /// The leader who approves the reply (签发人), e.g. 李光亚.
    #[arg(long)]
    signer: String,
    /// The day the leader signed (成文日期), YYYY-MM-DD: the document's date line. Default: the
    /// effective date.
    #[arg(long, value_name = "DATE")]
    sign_date: Option<String>,
}

impl SignReply {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let server = Server::connect(server).await?;
        let Target {
            proposal_id,
            expected_version,
            recording,
        } = self.target;
        let request = pb::SignReplyRequest {
            proposal_id,
            signer: self.signer,
            expected_version,
            request_id: recording.request_id.unwrap_or_default(),
            actor: recording.actor,
            effective_date: recording.effective_date.unwrap_or_default(),
            handling_unit: self.unit.handling_unit.unwrap_or_default(),
            sign_date: self.sign_date.unwrap_or_default(),
        };
        let response = server.client().sign_reply(server.call(request)).await?;
        changed(output, response.into_inner().proposal)
    }
}

#[derive(Args, Debug)]
pub struct IssueReply {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    unit: Unit,
    /// The document number (文号), e.g. 许环〔2019〕13号; one document per number.
    #[arg(long)]
    document_number: String,
    /// The issue date, YYYY-MM-DD.
    #[arg(long, value_name = "DATE")]
    issue_date: String,
    /// The issuing office, e.g. 许昌市生态环境局办公室.
    #[arg(long)]
    issuing_office: String,
    /// A name on the document's 抄送 line, e.g. 市政协提案委; repeat for several, in order.
    /// Default: the rules' copy_to and, for a lead unit's reply, its co-units.
    #[arg(long = "copy-to", value_name = "NAME")]
    copy_to: Vec<String>,
    /// Whether the reply may be published (公开). Default: the rules' public_by_default.
    #[arg(long, value_name = "BOOL")]
    public: Option<bool>,
}

impl IssueReply {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let server = Server::connect(server).await?;
        let Target {
            proposal_id,
            expected_version,
            recording,
        } = self.target;
        let request = pb::IssueReplyRequest {
            proposal_id,
            document_number: self.document_number,
            issue_date: self.issue_date,
            issuing_office: self.issuing_office,
            expected_version,
            request_id: recording.request_id.unwrap_or_default(),
            actor: recording.actor,
            effective_date: recording.effective_date.unwrap_or_default(),
            handling_unit: self.unit.handling_unit.unwrap_or_default(),
            copy_to: self.copy_to,
            public: self.public,
        };
        let response = server.client().issue_reply(server.call(request)).await?;
        changed(output, response.into_inner().proposal)
    }
}

#[derive(Args, Debug)]
pub struct CopyReply {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    unit: Unit,
    /// A recipient of a copy (抄送), e.g. 市政协提案委; repeat for several. Default: the
    /// document's 抄送 line. The proposers are always served, with the feedback form.
    #[arg(long = "recipient", value_name = "NAME")]
    recipients: Vec<String>,
}

impl CopyReply {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let server = Server::connect(server).await?;
        let Target {
            proposal_id,
            expected_version,
            recording,
        } = self.target;
        let request = pb::CopyReplyRequest {
            proposal_id,
            recipients: self.recipients,
            expected_version,
            request_id: recording.request_id.unwrap_or_default(),
            actor: recording.actor,
            effective_date: recording.effective_date.unwrap_or_default(),
            handling_unit: self.unit.handling_unit.unwrap_or_default(),
        };
        let response = server.client().copy_reply(server.call(request)).await?;
        changed(output, response.into_inner().proposal)
    }
}

#[derive(Args, Debug)]
pub struct RefuseProposal {
    #[command(flatten)]
    target: Target,
    /// Why the committee does not accept it; the proposer is told.
    #[arg(long)]
    reason: String,
    /// Where the content goes as an opinion instead, e.g. 市政府办公室.
    #[arg(long, value_name = "UNIT")]
    forwarded_to: Option<String>,
}

impl RefuseProposal {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let server = Server::connect(server).await?;
        let Target {
            proposal_id,
            expected_version,
            recording,
        } = self.target;
        let request = pb::RefuseProposalRequest {
            proposal_id,
            reason: self.reason,
            forwarded_to: self.forwarded_to.unwrap_or_default(),
            expected_version,
            request_id: recording.request_id.unwrap_or_default(),
            actor: recording.actor,
            effective_date: recording.effective_date.unwrap_or_default(),
        };
        let response = server
            .client()
            .refuse_proposal(server.call(request))
            .await?;
        changed(output, response.into_inner().proposal)
    }
}

#[derive(Args, Debug)]
pub struct RecordFeedback {
    #[command(flatten)]
    target: Target,
    /// The proposer whose form this is (one of the proposal's proposers; a collective by its
    /// name).
    #[arg(long)]
    proposer: String,
    /// The verdict on the result: satisfied, basically-satisfied or not-satisfied.
    #[arg(long, value_parser = proto_flag::<pb::Satisfaction>(), ignore_case = true)]
    satisfaction: pb::Satisfaction,
    /// The verdict on the unit's attitude, where the form asks.
    #[arg(long, value_parser = proto_flag::<pb::Satisfaction>(), ignore_case = true)]
    attitude: Option<pb::Satisfaction>,
    /// What the proposer wrote.
    #[arg(long)]
    comment: Option<String>,
}

impl RecordFeedback {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let server = Server::connect(server).await?;
        let Target {
            proposal_id,
            expected_version,
            recording,
        } = self.target;
        let request = pb::RecordFeedbackRequest {
            proposal_id,
            proposer: self.proposer,
            satisfaction: self.satisfaction as i32,
            attitude: self.attitude.map_or(0, |a| a as i32),
            comment: self.comment.unwrap_or_default(),
            expected_version,
            request_id: recording.request_id.unwrap_or_default(),
            actor: recording.actor,
            effective_date: recording.effective_date.unwrap_or_default(),
        };
        let response = server
            .client()
            .record_feedback(server.call(request))
            .await?;
        changed(output, response.into_inner().proposal)
    }
}

#[derive(Args, Debug)]
pub struct CloseProposal {
    #[command(flatten)]
    target: Target,
    /// Why or how it closes.
    #[arg(long)]
    note: Option<String>,
}

impl CloseProposal {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let server = Server::connect(server).await?;
        let Target {
            proposal_id,
            expected_version,
            recording,
        } = self.target;
        let request = pb::CloseProposalRequest {
            proposal_id,
            note: self.note.unwrap_or_default(),
            expected_version,
            request_id: recording.request_id.unwrap_or_default(),
            actor: recording.actor,
            effective_date: recording.effective_date.unwrap_or_default(),
        };
        let response = server.client().close_proposal(server.call(request)).await?;
        changed(output, response.into_inner().proposal)
    }
}

#[derive(Args, Debug)]
pub struct ReopenProposal {
    #[command(flatten)]
    target: Target,
    /// Why it is handled again, e.g. the proposer's objection (required).
    #[arg(long)]
    reason: String,
    /// The new reply's due date, YYYY-MM-DD (default: the rules' redo_months after the act).
    #[arg(long, value_name = "DATE")]
    due: Option<String>,
}

impl ReopenProposal {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let server = Server::connect(server).await?;
        let Target {
            proposal_id,
            expected_version,
            recording,
        } = self.target;
        let request = pb::ReopenProposalRequest {
            proposal_id,
            reason: self.reason,
            due_date: self.due.unwrap_or_default(),
            expected_version,
            request_id: recording.request_id.unwrap_or_default(),
            actor: recording.actor,
            effective_date: recording.effective_date.unwrap_or_default(),
        };
        let response = server
            .client()
            .reopen_proposal(server.call(request))
            .await?;
        changed(output, response.into_inner().proposal)
    }
}

#[derive(Args, Debug)]
pub struct SetKeyProposal {
    #[command(flatten)]
    target: Target,
    /// No longer a key proposal.
    #[arg(long, conflicts_with = "supervisor")]
    not_key: bool,
    /// The supervising leader (督办领导), e.g. 市政协副主席王明.
    #[arg(long)]
    supervisor: Option<String>,
    #[arg(long)]
    note: Option<String>,
}

impl SetKeyProposal {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let server = Server::connect(server).await?;
        let Target {
            proposal_id,
            expected_version,
            recording,
        } = self.target;
        let request = pb::SetKeyProposalRequest {
            proposal_id,
            key: !self.not_key,
            supervisor: self.supervisor.unwrap_or_default(),
            note: self.note.unwrap_or_default(),
            expected_version,
            request_id: recording.request_id.unwrap_or_default(),
            actor: recording.actor,
            effective_date: recording.effective_date.unwrap_or_default(),
        };
        let response = server
            .client()
            .set_key_proposal(server.call(request))
            .await?;
        changed(output, response.into_inner().proposal)
    }
}

/// The handling unit a unit's act is about.
#[derive(Args, Debug)]
pub struct Unit {
    /// The handling unit (承办单位) concerned, e.g. 许昌市生态环境局 (default: the proposal's
    /// one replying unit; a split proposal's reply names its unit).
    #[arg(long, visible_alias = "unit", value_name = "UNIT")]
    pub handling_unit: Option<String>,
}

#[derive(Args, Debug)]
pub struct AcknowledgeAssignment {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    unit: Unit,
}

impl AcknowledgeAssignment {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let server = Server::connect(server).await?;
        let Target {
            proposal_id,
            expected_version,
            recording,
        } = self.target;
        let request = pb::AcknowledgeAssignmentRequest {
            proposal_id,
            handling_unit: self.unit.handling_unit.unwrap_or_default(),
            expected_version,
            request_id: recording.request_id.unwrap_or_default(),
            actor: recording.actor,
            effective_date: recording.effective_date.unwrap_or_default(),
        };
        let response = server
            .client()
            .acknowledge_assignment(server.call(request))
            .await?;
        changed(output, response.into_inner().proposal)
    }
}

#[derive(Args, Debug)]
pub struct RecordContact {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    unit: Unit,
    /// How the unit reached the proposers.
    #[arg(long, value_parser = proto_flag::<pb::ContactMethod>(), ignore_case = true)]
    method: pb::ContactMethod,
    /// The day of the contact, YYYY-MM-DD (default: the effective date); not before the
    /// assignment.
    #[arg(long = "date", value_name = "DATE")]
    contact_date: Option<String>,
    /// A proposer contacted, one of the proposal's; repeat for several (default: all of them).
    #[arg(long = "proposer", value_name = "NAME")]
    proposers: Vec<String>,
    /// What was discussed.
    #[arg(long)]
    summary: String,
}

impl RecordContact {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let server = Server::connect(server).await?;
        let Target {
            proposal_id,
            expected_version,
            recording,
        } = self.target;
        let request = pb::RecordContactRequest {
            proposal_id,
            handling_unit: self.unit.handling_unit.unwrap_or_default(),
            contact_date: self.contact_date.unwrap_or_default(),
            method: self.method as i32,
            proposers: self.proposers,
            summary: self.summary,
            expected_version,
            request_id: recording.request_id.unwrap_or_default(),
            actor: recording.actor,
            effective_date: recording.effective_date.unwrap_or_default(),
        };
        let response = server.client().record_contact(server.call(request)).await?;
        changed(output, response.into_inner().proposal)
    }
}

#[derive(Args, Debug)]
pub struct RequestExtension {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    unit: Unit,
    /// The due date asked for, YYYY-MM-DD: after the one in force, and at most the rules'
    /// max_extension_days beyond the assignment's.
    #[arg(long, value_name = "DATE")]
    new_due_date: String,
    /// Why more time is needed.
    #[arg(long)]
    reason: String,
}

impl RequestExtension {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let server = Server::connect(server).await?;
        let Target {
            proposal_id,
            expected_version,
            recording,
        } = self.target;
        let request = pb::RequestExtensionRequest {
            proposal_id,
            handling_unit: self.unit.handling_unit.unwrap_or_default(),
            new_due_date: self.new_due_date,
            reason: self.reason,
            expected_version,
            request_id: recording.request_id.unwrap_or_default(),
            actor: recording.actor,
            effective_date: recording.effective_date.unwrap_or_default(),
        };
        let response = server
            .client()
            .request_extension(server.call(request))
            .await?;
        changed(output, response.into_inner().proposal)
    }
}

#[derive(Args, Debug)]
#[command(group(ArgGroup::new("decision").required(true).args(["approve", "refuse"])))]
pub struct DecideExtension {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    unit: Unit,
    /// Grant the requested due date.
    #[arg(long)]
    approve: bool,
    /// Refuse it; the due date in force stays.
    #[arg(long)]
    refuse: bool,
    /// The office's note on its decision.
    #[arg(long)]
    note: Option<String>,
}

impl DecideExtension {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let server = Server::connect(server).await?;
        let Target {
            proposal_id,
            expected_version,
            recording,
        } = self.target;
        let request = pb::DecideExtensionRequest {
            proposal_id,
            handling_unit: self.unit.handling_unit.unwrap_or_default(),
            // The "decision" group lets exactly one of --approve and --refuse through.
            approve: self.approve,
            note: self.note.unwrap_or_default(),
            expected_version,
            request_id: recording.request_id.unwrap_or_default(),
            actor: recording.actor,
            effective_date: recording.effective_date.unwrap_or_default(),
        };
        let response = server
            .client()
            .decide_extension(server.call(request))
            .await?;
        changed(output, response.into_inner().proposal)
    }
}

#[derive(Args, Debug)]
pub struct RequestReturn {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    unit: Unit,
    /// Why the proposal is outside the unit's remit.
    #[arg(long)]
    reason: String,
}

impl RequestReturn {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let server = Server::connect(server).await?;
        let Target {
            proposal_id,
            expected_version,
            recording,
        } = self.target;
        let request = pb::RequestReturnRequest {
            proposal_id,
            handling_unit: self.unit.handling_unit.unwrap_or_default(),
            reason: self.reason,
            expected_version,
            request_id: recording.request_id.unwrap_or_default(),
            actor: recording.actor,
            effective_date: recording.effective_date.unwrap_or_default(),
        };
        let response = server.client().request_return(server.call(request)).await?;
        changed(output, response.into_inner().proposal)
    }
}

#[derive(Args, Debug)]
#[command(group(ArgGroup::new("decision").required(true).args(["approve", "refuse"])))]
pub struct DecideReturn {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    unit: Unit,
    /// Take the proposal back from the unit: → RECEIVED, or with --reassign-to straight to
    /// another unit.
    #[arg(long)]
    approve: bool,
    /// Refuse the request; the proposal stays with the unit.
    #[arg(long)]
    refuse: bool,
    /// The office's note on its decision.
    #[arg(long)]
    note: Option<String>,
    /// With --approve: hand the proposal at once to this unit (ASSIGNED, a new handling).
    #[arg(long, value_name = "UNIT", conflicts_with = "refuse")]
    reassign_to: Option<String>,
    /// The new assignment's due date, YYYY-MM-DD (default: the rules' reply_months after the
    /// effective date).
    #[arg(long, value_name = "DATE", requires = "reassign_to")]
    due_date: Option<String>,
}

impl DecideReturn {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let server = Server::connect(server).await?;
        let Target {
            proposal_id,
            expected_version,
            recording,
        } = self.target;
        let request = pb::DecideReturnRequest {
            proposal_id,
            handling_unit: self.unit.handling_unit.unwrap_or_default(),
            // The "decision" group lets exactly one of --approve and --refuse through.
            approve: self.approve,
            note: self.note.unwrap_or_default(),
            reassign_to: self.reassign_to.unwrap_or_default(),
            due_date: self.due_date.unwrap_or_default(),
            expected_version,
            request_id: recording.request_id.unwrap_or_default(),
            actor: recording.actor,
            effective_date: recording.effective_date.unwrap_or_default(),
        };
        let response = server.client().decide_return(server.call(request)).await?;
        changed(output, response.into_inner().proposal)
    }
}

#[derive(Args, Debug)]
#[command(group(ArgGroup::new("text").required(true).args(["body", "body_file"])))]
pub struct SubmitOpinion {
    #[command(flatten)]
    target: Target,
    /// The co-handling unit (会办单位) giving its opinion, e.g. 许昌市水利局 (default: the
    /// proposal's one co-unit; a caller bound to a unit always speaks for its own).
    #[arg(long, visible_alias = "unit", value_name = "UNIT")]
    handling_unit: Option<String>,
    /// The opinion's text.
    #[arg(long)]
    body: Option<String>,
    /// Read the opinion's text from a file (`-`: stdin); sent exactly as read.
    #[arg(long, value_name = "PATH")]
    body_file: Option<PathBuf>,
    /// The opinion's own document number (文号), if it was issued as a document.
    #[arg(long)]
    document_number: Option<String>,
    /// Who at the co-unit the lead unit may ask, e.g. 王伟.
    #[arg(long)]
    contact_person: String,
    /// Their phone, e.g. 6069516.
    #[arg(long)]
    contact_phone: String,
}

impl SubmitOpinion {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let body = match (self.body, &self.body_file) {
            (Some(body), _) => body,
            (None, Some(path)) => read_text(path, "body file")?,
            (None, None) => String::new(),
        };
        let server = Server::connect(server).await?;
        let Target {
            proposal_id,
            expected_version,
            recording,
        } = self.target;
        let request = pb::SubmitOpinionRequest {
            proposal_id,
            handling_unit: self.handling_unit.unwrap_or_default(),
            body,
            document_number: self.document_number.unwrap_or_default(),
            contact_person: self.contact_person,
            contact_phone: self.contact_phone,
            expected_version,
            request_id: recording.request_id.unwrap_or_default(),
            actor: recording.actor,
            effective_date: recording.effective_date.unwrap_or_default(),
        };
        let response = server.client().submit_opinion(server.call(request)).await?;
        changed(output, response.into_inner().proposal)
    }
}

#[derive(Args, Debug)]
pub struct MergeProposal {
    #[command(flatten)]
    target: Target,
    /// The id of the proposal it is merged into, which then answers both: of the same committee
    /// and session, RECEIVED or ASSIGNED, not merged itself.
    #[arg(long = "into", value_name = "ID")]
    into_proposal_id: String,
    /// Why they are merged, e.g. 内容相近，并案办理.
    #[arg(long)]
    note: Option<String>,
}

impl MergeProposal {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let server = Server::connect(server).await?;
        let Target {
            proposal_id,
            expected_version,
            recording,
        } = self.target;
        let request = pb::MergeProposalRequest {
            proposal_id,
            into_proposal_id: self.into_proposal_id,
            note: self.note.unwrap_or_default(),
            expected_version,
            request_id: recording.request_id.unwrap_or_default(),
            actor: recording.actor,
            effective_date: recording.effective_date.unwrap_or_default(),
        };
        let response = server.client().merge_proposal(server.call(request)).await?;
        changed(output, response.into_inner().proposal)
    }
}

/// Prints the proposal a change left behind.
fn changed(output: &Output, proposal: Option<pb::Proposal>) -> Result<(), Failure> {
    let proposal =
        proposal.ok_or_else(|| Failure::BadAnswer("no proposal in the answer".into()))?;
    output.result(
        || text::proposal(&proposal, false),
        || json::proposal(&proposal),
    )
}

/// Reads a UTF-8 text file, or stdin for `-`, without changing a byte.
fn read_text(path: &Path, what: &str) -> Result<String, Failure> {
    let (bytes, name) = if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| Failure::Usage(format!("cannot read the {what} from stdin: {e}")))?;
        (bytes, "stdin".to_owned())
    } else {
        let bytes = std::fs::read(path).map_err(|e| {
            Failure::Usage(format!("cannot read the {what} {}: {e}", path.display()))
        })?;
        (bytes, path.display().to_string())
    };
    String::from_utf8(bytes)
        .map_err(|e| Failure::Usage(format!("the {what} ({name}) is not UTF-8 text: {e}")))
}
