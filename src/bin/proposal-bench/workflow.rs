//! Phase 3, the workflow: every client drives whole proposal lifecycles, receive → assign →
//! draft → sign → issue → copy, each call answered only once its batch is durable.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use proposal_service::grpc::code_name;
use proposal_service::pb;
use proposal_service::pb::proposal_service_client::ProposalServiceClient;
use serde::Serialize;
use tonic::Status;
use tonic::transport::Channel;

use crate::clients::run_clients;
use crate::loadgen::{Connection, CpuSample, CpuUse, ErrorCounts, LatencyRecorder, LatencySummary};

/// The six forward transitions of a lifecycle, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Receive,
    Assign,
    Draft,
    Sign,
    Issue,
    Copy,
}

impl Step {
    pub const ALL: [Step; 6] = [
        Step::Receive,
        Step::Assign,
        Step::Draft,
        Step::Sign,
        Step::Issue,
        Step::Copy,
    ];

    pub fn rpc(self) -> &'static str {
        match self {
            Step::Receive => "ReceiveProposal",
            Step::Assign => "AssignProposal",
            Step::Draft => "DraftReply",
            Step::Sign => "SignReply",
            Step::Issue => "IssueReply",
            Step::Copy => "CopyReply",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// `seed`'s characters, from its start and over again, as many as fit in `bytes`.
fn body_of(seed: &str, bytes: usize) -> String {
    let mut body = String::with_capacity(bytes);
    for c in seed.chars().cycle() {
        if body.len() + c.len_utf8() > bytes {
            break;
        }
        body.push(c);
    }
    body
}

/// What every lifecycle of this run shares. The run tag makes the committee, the document
/// numbers and the request ids unique to this run, so runs against the same server (or data
/// directory) never collide; the proposal number is unique within the run.
pub struct Plan {
    run: String,
    committee: String,
    pub body: String,
    next_number: AtomicU32,
}

impl Plan {
    pub fn new(reply_bytes: Option<u32>) -> Self {
        let run = uuid::Uuid::now_v7().simple().to_string();
        let seed = proposal_service::seed::proposal_228().body;
        Self {
            committee: format!("压测政协{run}"),
            run,
            body: match reply_bytes {
                Some(bytes) => body_of(&seed, bytes as usize),
                None => seed,
            },
            next_number: AtomicU32::new(1),
        }
    }

    fn request_id(&self, number: u32, step: Step) -> String {
        format!("{}-{number}-{}", self.run, step.rpc())
    }

    /// The request of `step` for proposal `number`, currently at `version`.
    fn request(&self, step: Step, number: u32, id: &str, version: u64) -> StepRequest {
        let request_id = self.request_id(number, step);
        let proposal_id = id.to_owned();
        let expected_version = Some(version);
        match step {
            Step::Receive => StepRequest::Receive(pb::ReceiveProposalRequest {
                committee: self.committee.clone(),
                session: "七届三次会议".into(),
                number,
                title: "关于加强我市环境保护的提案".into(),
                proposers: vec!["苏会兴".into()],
                content: "建议加强我市环境保护工作：强化大气、水、土壤污染防治，完善长效机制，加强社会共治。".into(),
                request_id,
                actor: "提案委登记员".into(),
                effective_date: String::new(),
                proposer_kind: pb::ProposerKind::Member as i32,
            }),
            Step::Assign => StepRequest::Assign(pb::AssignProposalRequest {
                proposal_id,
                handling_unit: "许昌市生态环境局".into(),
                due_date: "2019-12-31".into(),
                expected_version,
                request_id,
                actor: "提案委登记员".into(),
                effective_date: String::new(),
                ..Default::default()
            }),
            Step::Draft => StepRequest::Draft(pb::DraftReplyRequest {
                proposal_id,
                reply: Some(pb::Reply {
                    body: self.body.clone(),
                    result_code: pb::ResultCode::A as i32,
                    contact_unit: "许昌市生态环境局综合科".into(),
                    contact_phone: "6069516".into(),
                }),
                expected_version,
                request_id,
                actor: "承办单位经办人".into(),
                effective_date: String::new(),handling_unit: String::new(),
            }),
            Step::Sign => StepRequest::Sign(pb::SignReplyRequest {
                proposal_id,
                signer: "李光亚".into(),
                expected_version,
                request_id,
                actor: "承办单位领导".into(),
                effective_date: String::new(),handling_unit: String::new(),sign_date: String::new(),
            }),
            Step::Issue => StepRequest::Issue(pb::IssueReplyRequest {
                proposal_id,
                document_number: format!("许环〔{}〕{number}号", self.run),
                issue_date: "2019-09-29".into(),
                issuing_office: "许昌市生态环境局办公室".into(),
                expected_version,
                request_id,
                actor: "承办单位办公室".into(),
                effective_date: String::new(),handling_unit: String::new(),copy_to: Vec::new(),public: None,
            }),
            Step::Copy => StepRequest::Copy(pb::CopyReplyRequest {
                proposal_id,
                recipients: vec!["市政协提案委".into(), "市政府督查室".into()],
                expected_version,
                request_id,
                actor: "承办单位办公室".into(),
                effective_date: String::new(),handling_unit: String::new(),
            }),
        }
    }
}

/// A built request, so that building it (cloning a few KB) stays outside the timed call.
enum StepRequest {
    Receive(pb::ReceiveProposalRequest),
    Assign(pb::AssignProposalRequest),
    Draft(pb::DraftReplyRequest),
    Sign(pb::SignReplyRequest),
    Issue(pb::IssueReplyRequest),
    Copy(pb::CopyReplyRequest),
}

impl StepRequest {
    /// Sends the request; the proposal as the server left it, if the response carried one.
    async fn send(
        self,
        client: &mut ProposalServiceClient<Channel>,
    ) -> Result<Option<pb::Proposal>, Status> {
        Ok(match self {
            Self::Receive(r) => client.receive_proposal(r).await?.into_inner().proposal,
            Self::Assign(r) => client.assign_proposal(r).await?.into_inner().proposal,
            Self::Draft(r) => client.draft_reply(r).await?.into_inner().proposal,
            Self::Sign(r) => client.sign_reply(r).await?.into_inner().proposal,
            Self::Issue(r) => client.issue_reply(r).await?.into_inner().proposal,
            Self::Copy(r) => client.copy_reply(r).await?.into_inner().proposal,
        })
    }
}

/// What one workflow client (or all of them, merged) measured.
#[derive(Default)]
struct WorkflowTally {
    per_step: [LatencyRecorder; 6],
    lifecycles: u64,
    errors: ErrorCounts,
}

impl WorkflowTally {
    fn merge(&mut self, other: WorkflowTally) {
        for (mine, theirs) in self.per_step.iter_mut().zip(other.per_step) {
            mine.merge(theirs);
        }
        self.lifecycles += other.lifecycles;
        self.errors.merge(other.errors);
    }

    fn all(&self) -> LatencyRecorder {
        let mut all = LatencyRecorder::default();
        for step in &self.per_step {
            all.merge(step.clone());
        }
        all
    }
}

/// One workflow client: whole lifecycles back to back until `until`. A lifecycle cut short by
/// the end of the phase counts its transitions but not as a lifecycle; one that fails is
/// abandoned and the next one starts.
async fn workflow_client(connection: Connection, plan: Arc<Plan>, until: Instant) -> WorkflowTally {
    let mut client = connection.proposals;
    let mut tally = WorkflowTally::default();
    while Instant::now() < until {
        let number = plan.next_number.fetch_add(1, Ordering::Relaxed);
        if drive_lifecycle(&mut client, &plan, number, until, &mut tally).await {
            tally.lifecycles += 1;
        }
    }
    tally
}

/// Drives proposal `number` through the six transitions; true if it reached COPIED.
async fn drive_lifecycle(
    client: &mut ProposalServiceClient<Channel>,
    plan: &Plan,
    number: u32,
    until: Instant,
    tally: &mut WorkflowTally,
) -> bool {
    let mut id = String::new();
    let mut version = 0;
    for step in Step::ALL {
        if Instant::now() >= until {
            return false;
        }
        let request = plan.request(step, number, &id, version);
        let started = Instant::now();
        let result = request.send(client).await;
        let latency = started.elapsed();
        match result {
            Ok(Some(proposal)) if proposal.version == version + 1 => {
                tally.per_step[step.index()].record(latency);
                id = proposal.id;
                version = proposal.version;
            }
            Ok(_) => {
                tally.errors.add("UNEXPECTED_RESPONSE");
                return false;
            }
            Err(status) => {
                tally.errors.add(code_name(status.code()));
                return false;
            }
        }
    }
    true
}

/// What the workflow phase measured.
#[derive(Debug, Serialize)]
pub struct WorkflowReport {
    /// Successful transitions (calls), all six kinds together.
    pub transitions: u64,
    /// Lifecycles completed (all six transitions succeeded) within the phase.
    pub lifecycles: u64,
    pub elapsed_secs: f64,
    pub transitions_per_sec: f64,
    pub lifecycles_per_sec: f64,
    pub latency_ms: WorkflowLatency,
    pub errors: ErrorCounts,
    pub error_total: u64,
    pub cpu: CpuUse,
    /// `cpu.process_secs` per successful transition, in microseconds.
    pub cpu_us_per_transition: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct WorkflowLatency {
    pub all: LatencySummary,
    pub per_rpc: BTreeMap<&'static str, LatencySummary>,
}

pub async fn workflow(
    connections: &[Connection],
    plan: &Arc<Plan>,
    duration: Duration,
) -> WorkflowReport {
    let cpu_before = CpuSample::now();
    let (results, elapsed) = run_clients(connections, duration, |connection, until| {
        workflow_client(connection, Arc::clone(plan), until)
    })
    .await;
    let cpu = cpu_before.until(CpuSample::now());
    let mut tally = WorkflowTally::default();
    for client_tally in results {
        tally.merge(client_tally);
    }
    let all = tally.all();
    let secs = elapsed.as_secs_f64();
    WorkflowReport {
        transitions: all.count(),
        lifecycles: tally.lifecycles,
        elapsed_secs: secs,
        transitions_per_sec: all.count() as f64 / secs,
        lifecycles_per_sec: tally.lifecycles as f64 / secs,
        latency_ms: WorkflowLatency {
            all: all.summary(),
            per_rpc: Step::ALL
                .iter()
                .map(|step| (step.rpc(), tally.per_step[step.index()].summary()))
                .collect(),
        },
        error_total: tally.errors.total(),
        errors: tally.errors,
        cpu_us_per_transition: cpu.us_per_call(all.count()),
        cpu,
    }
}
