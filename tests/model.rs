mod common;

// Model-based property test: random sequences of commands (valid and invalid, all eight
// mutating RPCs, against a pool of two or three proposals, with random expected versions,
// retried and reused idempotency keys, duplicate numbers and document numbers) are sent to the
// real service over gRPC and to a small reference model written here from the proto's
// comments. Every answer must be the one the model predicts, and at the end every proposal,
// its history and the listing must be what the model holds.
//
// The model shares no code with the service: its own states, its own transition table, its own
// idea of which request is invalid. One server serves every case; each case works in its own
// committee, with its own document numbers and request ids, so cases never interfere.
//
// `PROPTEST_CASES=500 cargo test --test model` runs more cases.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};

use common::{Client, TestServer};
use proposal_service::pb;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};
use tonic::{Code, Status};
use tonic_types::StatusExt;

const SESSION: &str = "七届三次会议";
const ACTORS: [&str; 2] = ["提案办理员", "clerk-2"];

/// Cases per run: 24 unless PROPTEST_CASES says otherwise.
fn config(default_cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(default_cases);
    Config {
        cases,
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        max_shrink_iters: 2048,
        ..Config::default()
    }
}

// ----- The reference model ------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum St {
    Received,
    Assigned,
    Drafted,
    Signed,
    Issued,
    Copied,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    Receive,
    Assign,
    Return,
    Draft,
    RejectDraft,
    Sign,
    Issue,
    Copy,
}

const KINDS: [Kind; 8] = [
    Kind::Receive,
    Kind::Assign,
    Kind::Return,
    Kind::Draft,
    Kind::RejectDraft,
    Kind::Sign,
    Kind::Issue,
    Kind::Copy,
];

/// The lifecycle as the proto describes it: (command, from, to). Nothing else is allowed.
const TABLE: [(Kind, Option<St>, St); 9] = [
    (Kind::Receive, None, St::Received),
    (Kind::Assign, Some(St::Received), St::Assigned),
    (Kind::Return, Some(St::Assigned), St::Received),
    (Kind::Draft, Some(St::Assigned), St::Drafted),
    (Kind::Draft, Some(St::Drafted), St::Drafted),
    (Kind::RejectDraft, Some(St::Drafted), St::Assigned),
    (Kind::Sign, Some(St::Drafted), St::Signed),
    (Kind::Issue, Some(St::Signed), St::Issued),
    (Kind::Copy, Some(St::Issued), St::Copied),
];

fn next(kind: Kind, from: Option<St>) -> Option<St> {
    TABLE
        .iter()
        .find(|(k, f, _)| *k == kind && *f == from)
        .map(|(_, _, to)| *to)
}

/// The usual next step from `state` (what a well-behaved client would send).
fn forward(state: Option<St>) -> Kind {
    match state {
        None => Kind::Receive,
        Some(St::Received) => Kind::Assign,
        Some(St::Assigned) => Kind::Draft,
        Some(St::Drafted) => Kind::Sign,
        Some(St::Signed) => Kind::Issue,
        Some(St::Issued | St::Copied) => Kind::Copy,
    }
}

fn st_pb(state: St) -> pb::ProposalState {
    match state {
        St::Received => pb::ProposalState::Received,
        St::Assigned => pb::ProposalState::Assigned,
        St::Drafted => pb::ProposalState::Drafted,
        St::Signed => pb::ProposalState::Signed,
        St::Issued => pb::ProposalState::Issued,
        St::Copied => pb::ProposalState::Copied,
    }
}

fn st_name(state: St) -> &'static str {
    match state {
        St::Received => "RECEIVED",
        St::Assigned => "ASSIGNED",
        St::Drafted => "DRAFTED",
        St::Signed => "SIGNED",
        St::Issued => "ISSUED",
        St::Copied => "COPIED",
    }
}

/// A proposal as the model sees it: the fields the commands set and clear.
#[derive(Clone, Debug, PartialEq)]
struct Snap {
    state: St,
    version: u64,
    title: String,
    handling_unit: Option<String>,
    due_date: Option<String>,
    reply_body: Option<String>,
    signer: Option<String>,
    document_number: Option<String>,
    copied_to: Vec<String>,
}

#[derive(Clone, Debug)]
struct ModelEvent {
    kind: Kind,
    from: Option<St>,
    to: St,
    actor: String,
    request_id: String,
}

#[derive(Clone, Debug)]
struct Slot {
    /// The id the service gave it (learnt from the Receive's answer).
    id: Option<String>,
    now: Snap,
    events: Vec<ModelEvent>,
}

/// What an accepted request with a request_id left behind: the request (without the key), the
/// proposal it acted on and the proposal just after it.
#[derive(Clone, Debug)]
struct RequestRecord {
    content: Sent,
    slot: usize,
    after: Snap,
}

#[derive(Default, Debug)]
struct Model {
    /// Slot `i` is the proposal numbered `i + 1` in the case's committee.
    slots: Vec<Option<Slot>>,
    documents: HashSet<String>,
    requests: HashMap<(String, String), RequestRecord>,
    /// Slots in the order they were received.
    received_order: Vec<usize>,
}

/// Who a request is about, as the test built it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Target {
    /// ReceiveProposal for the slot's number.
    New(usize),
    /// The real id of a received slot.
    Real(usize),
    /// A well-formed id that names no proposal (the slot was not received yet).
    Unknown,
}

/// What the test knows about a request beyond its bytes.
#[derive(Clone, Debug)]
struct Meta {
    kind: Kind,
    target: Target,
    /// The field the request gets wrong on purpose, as the service should name it.
    invalid: Option<&'static str>,
}

/// The answer the model predicts.
#[derive(Clone, Debug, PartialEq)]
enum Expect {
    Ok {
        slot: usize,
        after: Snap,
        /// A new proposal: its id is learnt from the answer.
        created: bool,
    },
    Invalid(&'static str),
    RequestIdReused,
    NotFound,
    VersionMismatch {
        current: u64,
    },
    InvalidTransition {
        current: St,
        command: Kind,
    },
    DuplicateNumber,
    DuplicateDocument,
}

impl Model {
    fn new(pool: usize) -> Self {
        Self {
            slots: vec![None; pool],
            ..Self::default()
        }
    }

    /// Predicts the answer to `sent` and, when it is accepted, applies it.
    fn step(&mut self, meta: &Meta, sent: &Sent) -> Expect {
        if let Some(field) = meta.invalid {
            return Expect::Invalid(field);
        }
        let request_id = sent.request_id().to_owned();
        let content = sent.without_request_id();
        // The service keeps idempotency keys per actor.
        let key = (sent.actor().to_owned(), request_id.clone());
        if !request_id.is_empty()
            && let Some(record) = self.requests.get(&key)
        {
            if record.content == content {
                return Expect::Ok {
                    slot: record.slot,
                    after: record.after.clone(),
                    created: false,
                };
            }
            return Expect::RequestIdReused;
        }
        let (slot, before) = match meta.target {
            Target::New(slot) => {
                if self.slots[slot].is_some() {
                    return Expect::DuplicateNumber;
                }
                (slot, None)
            }
            Target::Unknown => return Expect::NotFound,
            Target::Real(slot) => {
                let now = self.slots[slot].as_ref().expect("received").now.clone();
                if let Some(expected) = sent.expected_version()
                    && expected != now.version
                {
                    return Expect::VersionMismatch {
                        current: now.version,
                    };
                }
                (slot, Some(now))
            }
        };
        let from = before.as_ref().map(|s| s.state);
        let Some(to) = next(meta.kind, from) else {
            return Expect::InvalidTransition {
                current: from.expect("Receive is always allowed on no proposal"),
                command: meta.kind,
            };
        };
        if let Sent::Issue(r) = sent
            && self.documents.contains(&r.document_number)
        {
            return Expect::DuplicateDocument;
        }

        let mut after = before.clone().unwrap_or(Snap {
            state: to,
            version: 0,
            title: String::new(),
            handling_unit: None,
            due_date: None,
            reply_body: None,
            signer: None,
            document_number: None,
            copied_to: Vec::new(),
        });
        let some = |text: &str| (!text.is_empty()).then(|| text.to_owned());
        match sent {
            Sent::Receive(r) => after.title.clone_from(&r.title),
            Sent::Assign(r) => {
                after.handling_unit = Some(r.handling_unit.clone());
                after.due_date = some(&r.due_date);
            }
            Sent::Return(_) => {
                after.handling_unit = None;
                after.due_date = None;
            }
            Sent::Draft(r) => {
                after.reply_body = Some(r.reply.as_ref().expect("valid").body.clone());
            }
            Sent::RejectDraft(_) => after.reply_body = None,
            Sent::Sign(r) => after.signer = Some(r.signer.clone()),
            Sent::Issue(r) => {
                after.document_number = Some(r.document_number.clone());
                self.documents.insert(r.document_number.clone());
            }
            Sent::Copy(r) => after.copied_to.clone_from(&r.recipients),
        }
        after.state = to;
        after.version += 1;
        let event = ModelEvent {
            kind: meta.kind,
            from,
            to,
            actor: sent.actor().to_owned(),
            request_id: request_id.clone(),
        };
        let created = before.is_none();
        match &mut self.slots[slot] {
            Some(existing) => {
                existing.now = after.clone();
                existing.events.push(event);
            }
            empty => {
                *empty = Some(Slot {
                    id: None,
                    now: after.clone(),
                    events: vec![event],
                });
                self.received_order.push(slot);
            }
        }
        if !request_id.is_empty() {
            self.requests.insert(
                key,
                RequestRecord {
                    content,
                    slot,
                    after: after.clone(),
                },
            );
        }
        Expect::Ok {
            slot,
            after,
            created,
        }
    }
}

// ----- Requests -------------------------------------------------------------------------------

/// A request as sent.
#[derive(Clone, Debug, PartialEq)]
enum Sent {
    Receive(pb::ReceiveProposalRequest),
    Assign(pb::AssignProposalRequest),
    Return(pb::ReturnProposalRequest),
    Draft(pb::DraftReplyRequest),
    RejectDraft(pb::RejectDraftRequest),
    Sign(pb::SignReplyRequest),
    Issue(pb::IssueReplyRequest),
    Copy(pb::CopyReplyRequest),
}

macro_rules! each {
    ($sent:expr, $r:ident => $body:expr) => {
        match $sent {
            Sent::Receive($r) => $body,
            Sent::Assign($r) => $body,
            Sent::Return($r) => $body,
            Sent::Draft($r) => $body,
            Sent::RejectDraft($r) => $body,
            Sent::Sign($r) => $body,
            Sent::Issue($r) => $body,
            Sent::Copy($r) => $body,
        }
    };
}

impl Sent {
    fn request_id(&self) -> &str {
        each!(self, r => &r.request_id)
    }

    fn actor(&self) -> &str {
        each!(self, r => &r.actor)
    }

    fn set_request_id(&mut self, request_id: String) {
        each!(self, r => r.request_id = request_id)
    }

    fn without_request_id(&self) -> Sent {
        let mut content = self.clone();
        content.set_request_id(String::new());
        content
    }

    fn proposal_id_mut(&mut self) -> Option<&mut String> {
        match self {
            Sent::Receive(_) => None,
            Sent::Assign(r) => Some(&mut r.proposal_id),
            Sent::Return(r) => Some(&mut r.proposal_id),
            Sent::Draft(r) => Some(&mut r.proposal_id),
            Sent::RejectDraft(r) => Some(&mut r.proposal_id),
            Sent::Sign(r) => Some(&mut r.proposal_id),
            Sent::Issue(r) => Some(&mut r.proposal_id),
            Sent::Copy(r) => Some(&mut r.proposal_id),
        }
    }

    fn expected_version(&self) -> Option<u64> {
        match self {
            Sent::Receive(_) => None,
            Sent::Assign(r) => r.expected_version,
            Sent::Return(r) => r.expected_version,
            Sent::Draft(r) => r.expected_version,
            Sent::RejectDraft(r) => r.expected_version,
            Sent::Sign(r) => r.expected_version,
            Sent::Issue(r) => r.expected_version,
            Sent::Copy(r) => r.expected_version,
        }
    }

    async fn send(&self, client: &mut Client) -> Result<pb::Proposal, Status> {
        let proposal = match self.clone() {
            Sent::Receive(r) => client.receive_proposal(r).await?.into_inner().proposal,
            Sent::Assign(r) => client.assign_proposal(r).await?.into_inner().proposal,
            Sent::Return(r) => client.return_proposal(r).await?.into_inner().proposal,
            Sent::Draft(r) => client.draft_reply(r).await?.into_inner().proposal,
            Sent::RejectDraft(r) => client.reject_draft(r).await?.into_inner().proposal,
            Sent::Sign(r) => client.sign_reply(r).await?.into_inner().proposal,
            Sent::Issue(r) => client.issue_reply(r).await?.into_inner().proposal,
            Sent::Copy(r) => client.copy_reply(r).await?.into_inner().proposal,
        };
        proposal.ok_or_else(|| Status::internal("test: an OK answer without a proposal"))
    }
}

// ----- Generated operations -------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum KindChoice {
    /// The usual next step for the target's current state.
    Forward,
    Exactly(Kind),
}

#[derive(Clone, Copy, Debug)]
enum Payload {
    /// Valid fields; the number picks among a few values (document numbers collide on purpose).
    Valid(u8),
    /// One field wrong; the number picks which.
    Invalid(u8),
}

#[derive(Clone, Copy, Debug)]
enum Version {
    None,
    Current,
    /// Off the current version by this much.
    Stale(i8),
}

#[derive(Clone, Copy, Debug)]
enum Rid {
    None,
    Fresh,
    /// The key of an earlier request, on this (usually different) request.
    ReuseOf(Index),
}

#[derive(Clone, Debug)]
enum Op {
    Command {
        kind: KindChoice,
        slot: usize,
        payload: Payload,
        version: Version,
        actor: usize,
        rid: Rid,
    },
    /// Sends an earlier request that carried a request_id again, unchanged.
    Retry(Index),
}

fn op() -> impl Strategy<Value = Op> {
    let kind = prop_oneof![
        3 => Just(KindChoice::Forward),
        2 => prop::sample::select(KINDS.to_vec()).prop_map(KindChoice::Exactly),
    ];
    let payload = prop_oneof![
        8 => (0u8..6).prop_map(Payload::Valid),
        1 => (0u8..4).prop_map(Payload::Invalid),
    ];
    let version = prop_oneof![
        3 => Just(Version::None),
        3 => Just(Version::Current),
        1 => prop::sample::select(vec![-2i8, -1, 1, 3]).prop_map(Version::Stale),
    ];
    let rid = prop_oneof![
        4 => Just(Rid::None),
        3 => Just(Rid::Fresh),
        1 => any::<Index>().prop_map(Rid::ReuseOf),
    ];
    let command = (kind, 0usize..3, payload, version, 0usize..ACTORS.len(), rid).prop_map(
        |(kind, slot, payload, version, actor, rid)| Op::Command {
            kind,
            slot,
            payload,
            version,
            actor,
            rid,
        },
    );
    prop_oneof![
        9 => command,
        1 => any::<Index>().prop_map(Op::Retry),
    ]
}

fn scenario() -> impl Strategy<Value = (usize, Vec<Op>)> {
    (2usize..=3, prop::collection::vec(op(), 1..=32))
}

/// Everything one case needs to name its requests.
struct Case {
    committee: String,
    prefix: String,
}

impl Case {
    fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Self {
            committee: format!("模型测试政协{n}"),
            prefix: format!("case{n}"),
        }
    }

    /// A well-formed id no proposal has (UUIDv7 ids from the service have version nibble 7).
    fn unknown_id(&self, slot: usize) -> String {
        format!("00000000-0000-4000-8000-{slot:012x}")
    }

    fn document(&self, n: u8) -> String {
        format!("{}许环〔2019〕{}号", self.prefix, n % 2)
    }
}

/// Builds the concrete request for a generated command, given what the model knows now.
#[allow(clippy::too_many_arguments)]
fn build(
    case: &Case,
    model: &Model,
    kind: Kind,
    slot: usize,
    payload: Payload,
    version: Version,
    actor: usize,
    request_id: String,
) -> (Meta, Sent) {
    let (v, bad) = match payload {
        Payload::Valid(v) => (v, None),
        Payload::Invalid(b) => (0, Some(b)),
    };
    let pick = |options: &[&str]| options[v as usize % options.len()].to_owned();
    let (proposal_id, current, target) = match &model.slots[slot] {
        _ if kind == Kind::Receive => (String::new(), 0, Target::New(slot)),
        Some(s) => (
            s.id.clone().expect("id learnt"),
            s.now.version,
            Target::Real(slot),
        ),
        None => (case.unknown_id(slot), 1, Target::Unknown),
    };
    let expected_version = match version {
        Version::None => None,
        Version::Current => Some(current),
        Version::Stale(by) => Some((current as i64 + i64::from(by)).max(0) as u64),
    };
    let actor = ACTORS[actor].to_owned();
    let mut invalid = None;
    let mut sent = match kind {
        Kind::Receive => Sent::Receive(pb::ReceiveProposalRequest {
            committee: case.committee.clone(),
            session: SESSION.into(),
            number: slot as u32 + 1,
            title: pick(&["关于加强我市环境保护的提案", "关于改善交通的提案"]),
            proposers: if v % 3 == 0 {
                vec!["苏会兴".into(), "李明".into()]
            } else {
                vec!["苏会兴".into()]
            },
            content: "加强环境保护。\n第二段".into(),
            request_id: String::new(),
            actor: actor.clone(),
        }),
        Kind::Assign => Sent::Assign(pb::AssignProposalRequest {
            proposal_id: proposal_id.clone(),
            handling_unit: pick(&["许昌市生态环境局", "许昌市住房和城乡建设局"]),
            due_date: pick(&["", "2019-08-31", "2020-02-29"]),
            expected_version,
            request_id: String::new(),
            actor: actor.clone(),
        }),
        Kind::Return => Sent::Return(pb::ReturnProposalRequest {
            proposal_id: proposal_id.clone(),
            reason: pick(&["不属于本单位职责", "请改派"]),
            expected_version,
            request_id: String::new(),
            actor: actor.clone(),
        }),
        Kind::Draft => Sent::Draft(pb::DraftReplyRequest {
            proposal_id: proposal_id.clone(),
            reply: Some(pb::Reply {
                body: pick(&["现答复如下：\n一、工作开展情况", "修改稿"]),
                result_code: [pb::ResultCode::A, pb::ResultCode::B, pb::ResultCode::C]
                    [v as usize % 3]
                    .into(),
                contact_unit: "许昌市生态环境局综合科".into(),
                contact_phone: pick(&["6069516", ""]),
            }),
            expected_version,
            request_id: String::new(),
            actor: actor.clone(),
        }),
        Kind::RejectDraft => Sent::RejectDraft(pb::RejectDraftRequest {
            proposal_id: proposal_id.clone(),
            reason: pick(&["请补充下一步打算", "数据有误"]),
            expected_version,
            request_id: String::new(),
            actor: actor.clone(),
        }),
        Kind::Sign => Sent::Sign(pb::SignReplyRequest {
            proposal_id: proposal_id.clone(),
            signer: pick(&["李光亚", "王五"]),
            expected_version,
            request_id: String::new(),
            actor: actor.clone(),
        }),
        Kind::Issue => Sent::Issue(pb::IssueReplyRequest {
            proposal_id: proposal_id.clone(),
            document_number: case.document(v),
            issue_date: "2019-09-29".into(),
            issuing_office: "许昌市生态环境局办公室".into(),
            expected_version,
            request_id: String::new(),
            actor: actor.clone(),
        }),
        Kind::Copy => Sent::Copy(pb::CopyReplyRequest {
            proposal_id: proposal_id.clone(),
            recipients: if v % 2 == 0 {
                vec!["市政协提案委".into(), "市政府督查室".into()]
            } else {
                vec!["市政协提案委".into()]
            },
            expected_version,
            request_id: String::new(),
            actor: actor.clone(),
        }),
    };
    if let Some(bad) = bad {
        invalid = Some(spoil(&mut sent, bad));
    }
    sent.set_request_id(request_id);
    (
        Meta {
            kind,
            target,
            invalid,
        },
        sent,
    )
}

/// Makes one field of a valid request invalid; returns the field's name.
fn spoil(sent: &mut Sent, bad: u8) -> &'static str {
    if bad == 0 {
        each!(sent, r => r.actor = "  ".into());
        return "actor";
    }
    if bad == 3 {
        if let Sent::Receive(r) = sent {
            r.number = 0;
            return "number";
        }
        if let Some(id) = sent.proposal_id_mut() {
            *id = "not-a-uuid".into();
        }
        return "proposal_id";
    }
    let first = bad == 1;
    match sent {
        Sent::Receive(r) if first => {
            r.title = "标题\u{7}".into();
            "title"
        }
        Sent::Receive(r) => {
            r.proposers = vec!["苏会兴".into(), "苏会兴".into()];
            "proposers[1]"
        }
        Sent::Assign(r) if first => {
            r.handling_unit = String::new();
            "handling_unit"
        }
        Sent::Assign(r) => {
            r.due_date = "2019-02-29".into();
            "due_date"
        }
        Sent::Return(r) if first => {
            r.reason = " \n ".into();
            "reason"
        }
        Sent::Return(r) => {
            r.reason = "理".repeat(5001);
            "reason"
        }
        Sent::Draft(r) if first => {
            r.reply = None;
            "reply"
        }
        Sent::Draft(r) => {
            r.reply.as_mut().expect("valid").result_code = 0;
            "reply.result_code"
        }
        Sent::RejectDraft(r) if first => {
            r.reason = String::new();
            "reason"
        }
        Sent::RejectDraft(r) => {
            r.reason = "不\u{0}行".into();
            "reason"
        }
        Sent::Sign(r) if first => {
            r.signer = String::new();
            "signer"
        }
        Sent::Sign(r) => {
            r.signer = "王".repeat(201);
            "signer"
        }
        Sent::Issue(r) if first => {
            r.issue_date = "2019-9-29".into();
            "issue_date"
        }
        Sent::Issue(r) => {
            r.document_number = String::new();
            "document_number"
        }
        Sent::Copy(r) if first => {
            r.recipients = Vec::new();
            "recipients"
        }
        Sent::Copy(r) => {
            r.recipients = vec!["市政协提案委".into(), "市政协提案委".into()];
            "recipients[1]"
        }
    }
}

// ----- Checking answers -----------------------------------------------------------------------

fn fail(message: String) -> TestCaseError {
    TestCaseError::fail(message)
}

fn short(value: &impl std::fmt::Debug) -> String {
    format!("{value:?}").chars().take(400).collect()
}

/// Compares a proposal as the service returned it with the model's.
fn same_proposal(
    case: &Case,
    slot: usize,
    id: Option<&str>,
    model: &Snap,
    actual: &pb::Proposal,
) -> Result<(), String> {
    let reply_body = actual.reply.as_ref().map(|r| r.body.clone());
    let none_if_empty = |text: &str| (!text.is_empty()).then(|| text.to_owned());
    let observed = Snap {
        state: match actual.state() {
            pb::ProposalState::Received => St::Received,
            pb::ProposalState::Assigned => St::Assigned,
            pb::ProposalState::Drafted => St::Drafted,
            pb::ProposalState::Signed => St::Signed,
            pb::ProposalState::Issued => St::Issued,
            pb::ProposalState::Copied => St::Copied,
            pb::ProposalState::Unspecified => {
                return Err(format!("state UNSPECIFIED in {}", short(actual)));
            }
        },
        version: actual.version,
        title: actual.title.clone(),
        handling_unit: none_if_empty(&actual.handling_unit),
        due_date: none_if_empty(&actual.due_date),
        reply_body,
        signer: none_if_empty(&actual.signer),
        document_number: none_if_empty(&actual.document_number),
        copied_to: actual.copied_to.clone(),
    };
    if &observed != model {
        return Err(format!(
            "slot {slot}: the service has\n  {observed:?}\nthe model has\n  {model:?}"
        ));
    }
    if (
        actual.committee.as_str(),
        actual.session.as_str(),
        actual.number,
    ) != (case.committee.as_str(), SESSION, slot as u32 + 1)
    {
        return Err(format!(
            "slot {slot}: wrong registration in {}",
            short(actual)
        ));
    }
    if let Some(id) = id
        && actual.id != id
    {
        return Err(format!("slot {slot}: id {} instead of {id}", actual.id));
    }
    Ok(())
}

fn error_reason(status: &Status) -> Option<(String, HashMap<String, String>)> {
    status
        .get_details_error_info()
        .map(|info| (info.reason, info.metadata))
}

/// Checks an answer against the prediction (except an accepted proposal's id, which the caller
/// checks or learns).
fn check_answer(
    case: &Case,
    model: &Model,
    expect: &Expect,
    answer: &Result<pb::Proposal, Status>,
) -> Result<(), String> {
    let status = match (expect, answer) {
        (Expect::Ok { slot, after, .. }, Ok(proposal)) => {
            let id = model.slots[*slot].as_ref().and_then(|s| s.id.as_deref());
            return same_proposal(case, *slot, id, after, proposal);
        }
        (_, Ok(proposal)) => return Err(format!("accepted: {}", short(proposal))),
        (Expect::Ok { .. }, Err(status)) => return Err(format!("refused: {status:?}")),
        (_, Err(status)) => status,
    };
    let (code, reason) = match expect {
        Expect::Ok { .. } => unreachable!(),
        Expect::Invalid(field) => {
            let fields: Vec<String> = status
                .get_details_bad_request()
                .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
                .unwrap_or_default();
            if status.code() != Code::InvalidArgument || !fields.iter().any(|f| f == field) {
                return Err(format!(
                    "expected INVALID_ARGUMENT naming {field}, got {status:?}"
                ));
            }
            return Ok(());
        }
        Expect::RequestIdReused => (Code::InvalidArgument, "REQUEST_ID_REUSED"),
        Expect::NotFound => (Code::NotFound, ""),
        Expect::VersionMismatch { .. } => (Code::Aborted, "VERSION_MISMATCH"),
        Expect::InvalidTransition { .. } => (Code::FailedPrecondition, "INVALID_TRANSITION"),
        Expect::DuplicateNumber => (Code::AlreadyExists, "DUPLICATE_PROPOSAL_NUMBER"),
        Expect::DuplicateDocument => (Code::AlreadyExists, "DUPLICATE_DOCUMENT_NUMBER"),
    };
    if status.code() != code {
        return Err(format!("expected {code:?} {reason}, got {status:?}"));
    }
    if reason.is_empty() {
        return Ok(());
    }
    let Some((actual_reason, metadata)) = error_reason(status) else {
        return Err(format!("expected ErrorInfo {reason}, got {status:?}"));
    };
    if actual_reason != reason {
        return Err(format!("expected reason {reason}, got {status:?}"));
    }
    let wanted: Vec<(&str, String)> = match expect {
        Expect::VersionMismatch { current } => vec![("currentVersion", current.to_string())],
        Expect::InvalidTransition { current, command } => vec![
            ("currentState", st_name(*current).to_owned()),
            ("command", rpc_name(*command).to_owned()),
        ],
        _ => Vec::new(),
    };
    for (key, value) in wanted {
        if metadata.get(key) != Some(&value) {
            return Err(format!("expected {key}={value} in {status:?}"));
        }
    }
    Ok(())
}

fn rpc_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Receive => "ReceiveProposal",
        Kind::Assign => "AssignProposal",
        Kind::Return => "ReturnProposal",
        Kind::Draft => "DraftReply",
        Kind::RejectDraft => "RejectDraft",
        Kind::Sign => "SignReply",
        Kind::Issue => "IssueReply",
        Kind::Copy => "CopyReply",
    }
}

fn event_kind(event: &pb::ProposalEvent) -> Option<Kind> {
    use pb::proposal_event::Data;
    Some(match event.data.as_ref()? {
        Data::Received(_) => Kind::Receive,
        Data::Assigned(_) => Kind::Assign,
        Data::Returned(_) => Kind::Return,
        Data::Drafted(_) => Kind::Draft,
        Data::DraftRejected(_) => Kind::RejectDraft,
        Data::Signed(_) => Kind::Sign,
        Data::Issued(_) => Kind::Issue,
        Data::Copied(_) => Kind::Copy,
    })
}

/// Reads back every proposal, its history and the committee's listing, and compares them with
/// the model.
async fn check_final(client: &mut Client, case: &Case, model: &Model) -> Result<(), String> {
    for (slot, entry) in model.slots.iter().enumerate() {
        let Some(entry) = entry else {
            let request = pb::GetProposalRequest {
                proposal_id: case.unknown_id(slot),
                ..Default::default()
            };
            match client.get_proposal(request).await {
                Err(status) if status.code() == Code::NotFound => continue,
                other => return Err(format!("slot {slot} was never received: {other:?}")),
            }
        };
        let id = entry.id.clone().expect("id learnt");
        let request = pb::GetProposalRequest {
            proposal_id: id.clone(),
            ..Default::default()
        };
        let got = client
            .get_proposal(request)
            .await
            .map_err(|s| format!("GetProposal {id}: {s:?}"))?
            .into_inner()
            .proposal
            .ok_or("GetProposal without a proposal")?;
        same_proposal(case, slot, Some(&id), &entry.now, &got)
            .map_err(|e| format!("GetProposal: {e}"))?;

        // The whole history, a page of 7 at a time to exercise paging too.
        let mut events = Vec::new();
        let mut page_token = String::new();
        loop {
            let request = pb::GetProposalHistoryRequest {
                proposal_id: id.clone(),
                page_size: 7,
                page_token,
            };
            let page = client
                .get_proposal_history(request)
                .await
                .map_err(|s| format!("GetProposalHistory {id}: {s:?}"))?
                .into_inner();
            events.extend(page.events);
            if page.next_page_token.is_empty() {
                break;
            }
            if events.len() > 1000 {
                return Err("the history pages never end".into());
            }
            page_token = page.next_page_token;
        }
        if events.len() != entry.events.len() {
            return Err(format!(
                "slot {slot}: {} events, the model has {}:\n{}\n{:?}",
                events.len(),
                entry.events.len(),
                short(&events.iter().map(event_kind).collect::<Vec<_>>()),
                entry.events.iter().map(|e| e.kind).collect::<Vec<_>>()
            ));
        }
        let mut last_position = 0;
        for (i, (actual, model)) in events.iter().zip(&entry.events).enumerate() {
            let from = model.from.map_or(pb::ProposalState::Unspecified, st_pb);
            let observed = (
                actual.proposal_id.as_str(),
                actual.sequence,
                event_kind(actual),
                actual.from_state(),
                actual.to_state(),
                actual.actor.as_str(),
                actual.request_id.as_str(),
            );
            let wanted = (
                id.as_str(),
                i as u64 + 1,
                Some(model.kind),
                from,
                st_pb(model.to),
                model.actor.as_str(),
                model.request_id.as_str(),
            );
            if observed != wanted {
                return Err(format!(
                    "slot {slot} event {}: got {observed:?}, the model has {wanted:?}",
                    i + 1
                ));
            }
            if actual.position <= last_position {
                return Err(format!("slot {slot}: positions do not increase"));
            }
            last_position = actual.position;
            if let Some(pb::proposal_event::Data::Drafted(d)) = &actual.data
                && d.revision != (model.from == Some(St::Drafted))
            {
                return Err(format!(
                    "slot {slot} event {}: revision {}",
                    i + 1,
                    d.revision
                ));
            }
        }
    }

    // Ids are UUIDv7, so they sort in the order the proposals were received (ARCHITECTURE.md).
    let ids: Vec<String> = model
        .received_order
        .iter()
        .map(|slot| model.slots[*slot].as_ref().unwrap().id.clone().unwrap())
        .collect();
    if !ids.is_sorted() {
        return Err(format!("ids received in this order do not sort: {ids:?}"));
    }
    // The committee's listing holds exactly the received proposals, and filtered by state
    // exactly those in that state. (The order is not part of the contract: filtered by
    // committee alone it follows the proposal numbers, by state the order of receipt.)
    for state in [None].into_iter().chain(
        [
            St::Received,
            St::Assigned,
            St::Drafted,
            St::Signed,
            St::Issued,
            St::Copied,
        ]
        .map(Some),
    ) {
        let request = pb::ListProposalsRequest {
            state: state.map_or(pb::ProposalState::Unspecified, st_pb).into(),
            committee: case.committee.clone(),
            page_size: 1000,
            ..Default::default()
        };
        let mut listed: Vec<String> = client
            .list_proposals(request)
            .await
            .map_err(|s| format!("ListProposals: {s:?}"))?
            .into_inner()
            .proposals
            .into_iter()
            .map(|p| p.id)
            .collect();
        listed.sort();
        let wanted: Vec<String> = model
            .received_order
            .iter()
            .zip(&ids)
            .filter(|(slot, _)| {
                state.is_none_or(|s| model.slots[**slot].as_ref().unwrap().now.state == s)
            })
            .map(|(_, id)| id.clone())
            .collect();
        if listed != wanted {
            return Err(format!(
                "ListProposals(state {state:?}) gave {listed:?}, the model has {wanted:?}"
            ));
        }
    }
    Ok(())
}

/// Runs one generated scenario against the service and the model.
async fn run_case(client: &mut Client, pool: usize, ops: &[Op]) -> Result<(), TestCaseError> {
    let case = Case::new();
    let mut model = Model::new(pool);
    // Requests that carried a request_id, for retries and reuse.
    let mut keyed: Vec<(Meta, Sent)> = Vec::new();
    let mut log: Vec<String> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let (meta, sent) = match op {
            Op::Retry(pick) => {
                if keyed.is_empty() {
                    continue;
                }
                keyed[pick.index(keyed.len())].clone()
            }
            Op::Command {
                kind,
                slot,
                payload,
                version,
                actor,
                rid,
            } => {
                let slot = slot % pool;
                let kind = match kind {
                    KindChoice::Exactly(kind) => *kind,
                    KindChoice::Forward => forward(model.slots[slot].as_ref().map(|s| s.now.state)),
                };
                let request_id = match rid {
                    Rid::None => String::new(),
                    Rid::ReuseOf(pick) if !keyed.is_empty() => {
                        keyed[pick.index(keyed.len())].1.request_id().to_owned()
                    }
                    Rid::Fresh | Rid::ReuseOf(_) => format!("{}-op{i}", case.prefix),
                };
                build(
                    &case, &model, kind, slot, *payload, *version, *actor, request_id,
                )
            }
        };
        let expect = model.step(&meta, &sent);
        let answer = sent.send(client).await;
        log.push(format!(
            "#{i} {:?} {:?} rid={:?} v={:?} -> expected {}",
            meta.kind,
            meta.target,
            sent.request_id(),
            sent.expected_version(),
            short(&expect).chars().take(60).collect::<String>()
        ));
        let context = || format!("{}\nat step #{i}: {}", log.join("\n"), short(&sent));
        check_answer(&case, &model, &expect, &answer)
            .map_err(|e| fail(format!("{}\n{e}", context())))?;
        if let (
            Expect::Ok {
                slot,
                created: true,
                ..
            },
            Ok(proposal),
        ) = (&expect, &answer)
        {
            let taken = model
                .slots
                .iter()
                .filter_map(|s| s.as_ref()?.id.as_deref())
                .any(|id| id == proposal.id);
            if taken || proposal.id.len() != 36 {
                return Err(fail(format!("{}\nbad new id {:?}", context(), proposal.id)));
            }
            model.slots[*slot].as_mut().unwrap().id = Some(proposal.id.clone());
        }
        if !sent.request_id().is_empty() {
            keyed.push((meta, sent));
        }
    }
    check_final(client, &case, &model)
        .await
        .map_err(|e| fail(format!("{}\nat the end: {e}", log.join("\n"))))
}

#[test]
fn the_service_behaves_like_the_model() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut server = runtime.block_on(TestServer::start());
    let client = server.client.clone();
    let mut runner = TestRunner::new(config(24));
    let result = runner.run(&scenario(), |(pool, ops)| {
        let mut client = client.clone();
        runtime.block_on(run_case(&mut client, pool, &ops))
    });
    runtime.block_on(server.stop());
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// The model itself, on a fixed scenario: guards the oracle against being vacuous.
#[test]
fn the_model_predicts_the_documented_lifecycle() {
    let case = Case::new();
    let mut model = Model::new(2);
    let send = |model: &mut Model, kind: Kind, slot: usize, version: Version, rid: &str| {
        let (meta, sent) = build(
            &case,
            model,
            kind,
            slot,
            Payload::Valid(0),
            version,
            0,
            rid.to_owned(),
        );
        let expect = model.step(&meta, &sent);
        if let Expect::Ok {
            slot,
            created: true,
            ..
        } = expect
        {
            model.slots[slot].as_mut().unwrap().id = Some(format!("id-{slot}"));
        }
        expect
    };
    let ok_in = |e: &Expect, state: St, version: u64| matches!(e, Expect::Ok { after, .. } if after.state == state && after.version == version);
    assert_eq!(
        send(&mut model, Kind::Assign, 0, Version::None, ""),
        Expect::NotFound
    );
    assert!(ok_in(
        &send(&mut model, Kind::Receive, 0, Version::None, "k1"),
        St::Received,
        1
    ));
    assert!(ok_in(
        &send(&mut model, Kind::Receive, 0, Version::None, "k1"),
        St::Received,
        1
    ));
    assert_eq!(
        send(&mut model, Kind::Receive, 0, Version::None, ""),
        Expect::DuplicateNumber
    );
    assert_eq!(
        send(&mut model, Kind::Sign, 0, Version::None, "k1"),
        Expect::RequestIdReused
    );
    assert_eq!(
        send(&mut model, Kind::Sign, 0, Version::Stale(1), ""),
        Expect::VersionMismatch { current: 1 }
    );
    assert_eq!(
        send(&mut model, Kind::Sign, 0, Version::Current, ""),
        Expect::InvalidTransition {
            current: St::Received,
            command: Kind::Sign
        }
    );
    for (kind, state, version) in [
        (Kind::Assign, St::Assigned, 2),
        (Kind::Draft, St::Drafted, 3),
        (Kind::Draft, St::Drafted, 4),
        (Kind::RejectDraft, St::Assigned, 5),
        (Kind::Return, St::Received, 6),
        (Kind::Assign, St::Assigned, 7),
        (Kind::Draft, St::Drafted, 8),
        (Kind::Sign, St::Signed, 9),
        (Kind::Issue, St::Issued, 10),
        (Kind::Copy, St::Copied, 11),
    ] {
        let e = send(&mut model, kind, 0, Version::Current, "");
        assert!(ok_in(&e, state, version), "{kind:?}: {e:?}");
    }
    for kind in KINDS {
        let e = send(&mut model, kind, 0, Version::None, "");
        assert!(
            matches!(
                e,
                Expect::InvalidTransition { .. } | Expect::DuplicateNumber
            ),
            "{kind:?} after COPIED: {e:?}"
        );
    }
    // A second proposal reaching IssueReply with the same document number collides.
    for kind in [Kind::Receive, Kind::Assign, Kind::Draft, Kind::Sign] {
        assert!(matches!(
            send(&mut model, kind, 1, Version::None, ""),
            Expect::Ok { .. }
        ));
    }
    assert_eq!(
        send(&mut model, Kind::Issue, 1, Version::None, ""),
        Expect::DuplicateDocument
    );
}
