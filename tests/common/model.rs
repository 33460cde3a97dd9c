//! The reference model of the model-based test (`model.rs`, `model_oracle.rs`): a small model
//! of the service written from the proto's comments, with the kit's lifecycle table
//! (tests/common/lifecycle.rs) and its own idea of which request is invalid; it shares no code
//! with the service. It predicts the answer to every request and holds what the service must
//! hold afterwards. Also the generated operations and the requests built from them.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};

use proposal_service::pb;
use proptest::prelude::*;
use proptest::sample::Index;

use super::lifecycle::{Command, STATES, State, forward};
use super::requests::CommandRequest;

pub const SESSION: &str = "七届三次会议";
pub const ACTORS: [&str; 2] = ["提案办理员", "clerk-2"];
/// The day every generated act is dated (so that defaults computed from it are known).
pub const EFFECTIVE_DATE: &str = "2019-06-10";
/// An assignment without a due date on [`EFFECTIVE_DATE`] is due the default three months later.
pub const DEFAULT_DUE_DATE: &str = "2019-09-10";

// ----- The reference model ------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
pub struct Snap {
    pub state: State,
    pub version: u64,
    pub title: String,
    pub handling_unit: Option<String>,
    pub due_date: Option<String>,
    pub reply_body: Option<String>,
    pub signer: Option<String>,
    pub document_number: Option<String>,
    /// The issued document's 抄送 line.
    pub copy_to: Vec<String>,
    pub copied_to: Vec<String>,
    /// The sole handling's records: receipt, how many contacts, the due date asked for by a
    /// pending extension request.
    pub acknowledged: bool,
    pub contacts: usize,
    pub pending_extension: Option<String>,
    /// Whether the unit's request to return the proposal waits for the office.
    pub pending_return: bool,
    /// The due date the assignment set (extensions are capped from it).
    pub original_due_date: Option<String>,
    /// The co-units (会办) of a lead assignment, and those whose opinion is not in yet.
    pub co_units: Vec<String>,
    pub opinions_pending: Vec<String>,
    /// 并案: the id of the proposal this one was merged into, and the ids merged into it.
    pub merged_into: Option<String>,
    pub merged: Vec<String>,
    /// 分办: the SPLIT handlings, in the service's order (empty unless split). The proposal's
    /// state is the least advanced one's; its own reply fields and the sole handling's records
    /// above stay empty, each part holds its own.
    pub splits: Vec<Part>,
    pub proposers: Vec<String>,
    /// 重点提案.
    pub key: bool,
    /// The round of handling: 1, and one more per reopening (重新办理).
    pub round: u32,
    /// The current round's verdicts, in order: the proposer and the satisfaction's number.
    pub verdicts: Vec<(String, i32)>,
}

/// One SPLIT handling (分办): where its own reply stands, and the unit's own records.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    pub unit: String,
    /// ASSIGNED to COPIED, on its own.
    pub state: State,
    pub due_date: Option<String>,
    pub original_due_date: Option<String>,
    pub reply_body: Option<String>,
    pub signer: Option<String>,
    pub document_number: Option<String>,
    /// The issued document's 抄送 line.
    pub copy_to: Vec<String>,
    pub copied_to: Vec<String>,
    pub acknowledged: bool,
    pub contacts: usize,
    pub pending_extension: Option<String>,
    pub pending_return: bool,
}

impl Part {
    /// A split handling just opened, due on `due_date`.
    pub fn assigned(unit: &str, due_date: &str) -> Self {
        Self {
            unit: unit.to_owned(),
            state: State::Assigned,
            due_date: Some(due_date.to_owned()),
            original_due_date: Some(due_date.to_owned()),
            reply_body: None,
            signer: None,
            document_number: None,
            copy_to: Vec::new(),
            copied_to: Vec::new(),
            acknowledged: false,
            contacts: 0,
            pending_extension: None,
            pending_return: false,
        }
    }
}

/// Where a state stands on the forward path (a split handling is always on it).
fn rank(state: State) -> usize {
    STATES
        .iter()
        .position(|s| *s == state)
        .unwrap_or(STATES.len())
}

/// The state of the least and of the most advanced split handling (`None` without any).
pub fn split_states(splits: &[Part]) -> Option<(State, State)> {
    let least = splits.iter().map(|p| p.state).min_by_key(|s| rank(*s))?;
    let most = splits.iter().map(|p| p.state).max_by_key(|s| rank(*s))?;
    Some((least, most))
}

/// The units of the model's split assignments: `handling_unit` (one of the first two) with the
/// other of the two, and the third in a three-way split.
pub const SPLIT_UNITS: [&str; 3] = [
    "许昌市生态环境局",
    "许昌市住房和城乡建设局",
    "许昌市交通运输局",
];
/// A unit that handles none of the model's proposals.
pub const STRANGER: &str = "许昌市财政局";

/// The commands on the reply, which on a split proposal act on one unit's.
fn on_reply(kind: Command) -> bool {
    matches!(
        kind,
        Command::Draft | Command::RejectDraft | Command::Sign | Command::Issue | Command::Copy
    )
}

/// The `handling_unit` a request names (empty: none), for the requests that have one.
pub fn named_unit(sent: &CommandRequest) -> Option<&str> {
    match sent {
        CommandRequest::Draft(r) => Some(&r.handling_unit),
        CommandRequest::RejectDraft(r) => Some(&r.handling_unit),
        CommandRequest::Sign(r) => Some(&r.handling_unit),
        CommandRequest::Issue(r) => Some(&r.handling_unit),
        CommandRequest::Copy(r) => Some(&r.handling_unit),
        CommandRequest::Acknowledge(r) => Some(&r.handling_unit),
        CommandRequest::Contact(r) => Some(&r.handling_unit),
        CommandRequest::RequestExtension(r) => Some(&r.handling_unit),
        CommandRequest::DecideExtension(r) => Some(&r.handling_unit),
        CommandRequest::RequestReturn(r) => Some(&r.handling_unit),
        CommandRequest::DecideReturn(r) => Some(&r.handling_unit),
        CommandRequest::SubmitOpinion(r) => Some(&r.handling_unit),
        _ => None,
    }
}

/// The co-unit the model's lead assignments name.
pub const CO_UNIT: &str = "许昌市发展和改革委员会";

#[derive(Clone, Debug)]
pub struct ModelEvent {
    pub kind: Command,
    pub from: Option<State>,
    pub to: State,
    pub actor: String,
    pub request_id: String,
    /// A command on the reply: the split unit whose reply it is (empty: the one replying
    /// unit's, the proposal's own).
    pub handling_unit: String,
    /// A draft replacing a draft (of the same unit).
    pub revision: bool,
}

#[derive(Clone, Debug)]
pub struct Slot {
    /// The id the service gave it (learnt from the Receive's answer).
    pub id: Option<String>,
    pub now: Snap,
    pub events: Vec<ModelEvent>,
}

/// What an accepted request with a request_id left behind: the request (without the key), the
/// proposal it acted on and the proposal just after it.
#[derive(Clone, Debug)]
pub struct RequestRecord {
    pub content: CommandRequest,
    pub slot: usize,
    pub after: Snap,
}

#[derive(Default, Debug)]
pub struct Model {
    /// Slot `i` is the proposal numbered `i + 1` in the case's committee.
    pub slots: Vec<Option<Slot>>,
    pub documents: HashSet<String>,
    pub requests: HashMap<(String, String), RequestRecord>,
    /// Slots in the order they were received.
    pub received_order: Vec<usize>,
}

/// Who a request is about, as the test built it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    /// ReceiveProposal for the slot's number.
    New(usize),
    /// The real id of a received slot.
    Real(usize),
    /// A well-formed id that names no proposal (the slot was not received yet).
    Unknown,
}

/// What the test knows about a request beyond its bytes.
#[derive(Clone, Debug)]
pub struct Meta {
    pub kind: Command,
    pub target: Target,
    /// The field the request gets wrong on purpose, as the service should name it.
    pub invalid: Option<&'static str>,
    /// For a merge: the proposal merged into.
    pub into: Option<Target>,
}

/// The answer the model predicts.
#[derive(Clone, Debug, PartialEq)]
pub enum Expect {
    Ok {
        slot: usize,
        after: Box<Snap>,
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
        current: State,
        command: Command,
    },
    DuplicateNumber,
    DuplicateDocument,
    /// FAILED_PRECONDITION with this reason: what the handling holds forbids it.
    Precondition(&'static str),
    /// ALREADY_EXISTS, FEEDBACK_RECORDED: the proposer's verdict on this round is in.
    FeedbackRecorded,
}

/// Days from 0000-03-01 to a `YYYY-MM-DD` date: enough calendar for the extension cap.
fn day_number(date: &str) -> i64 {
    let part = |range: std::ops::Range<usize>| date[range].parse::<i64>().expect("a date");
    let (mut y, m, d) = (part(0..4), part(5..7), part(8..10));
    let m = if m > 2 { m - 3 } else { m + 9 };
    if m >= 10 {
        y -= 1;
    }
    y * 365 + y / 4 - y / 100 + y / 400 + (m * 306 + 5) / 10 + d - 1
}

/// The default rules' max_extension_days.
pub const MAX_EXTENSION_DAYS: i64 = 90;

impl Model {
    /// Why the handling a record names refuses it although its state allows it, if it does, in
    /// the order the service checks: one receipt, one pending request, a later date, the cap, a
    /// request to decide, a unit to hand it to. The sole (or lead) handling's, or with `part` a
    /// split unit's.
    fn record_refusal(now: &Snap, part: Option<&Part>, sent: &CommandRequest) -> Option<Expect> {
        let (acknowledged, pending_extension, due, original, pending_return) = match part {
            Some(p) => (
                p.acknowledged,
                &p.pending_extension,
                p.due_date.as_deref(),
                p.original_due_date.as_deref(),
                p.pending_return,
            ),
            None => (
                now.acknowledged,
                &now.pending_extension,
                now.due_date.as_deref(),
                now.original_due_date.as_deref(),
                now.pending_return,
            ),
        };
        // Every unit handling it, in whichever role.
        let handled_by = |name: &str| {
            Some(name) == now.handling_unit.as_deref()
                || now.co_units.iter().any(|u| u == name)
                || now.splits.iter().any(|p| p.unit == name)
        };
        match sent {
            CommandRequest::Acknowledge(_) if acknowledged => {
                Some(Expect::Precondition("ALREADY_ACKNOWLEDGED"))
            }
            CommandRequest::RequestExtension(r) => {
                if pending_extension.is_some() {
                    return Some(Expect::Precondition("EXTENSION_PENDING"));
                }
                let due = due.expect("assigned with a due date");
                if r.new_due_date.as_str() <= due {
                    return Some(Expect::Invalid("new_due_date"));
                }
                let original = original.expect("assigned");
                (day_number(&r.new_due_date) - day_number(original) > MAX_EXTENSION_DAYS)
                    .then_some(Expect::Precondition("EXTENSION_LIMIT"))
            }
            CommandRequest::DecideExtension(_) if pending_extension.is_none() => {
                Some(Expect::Precondition("NO_PENDING_EXTENSION"))
            }
            CommandRequest::RequestReturn(_) if pending_return => {
                Some(Expect::Precondition("RETURN_PENDING"))
            }
            CommandRequest::DecideReturn(_) if !pending_return => {
                Some(Expect::Precondition("NO_PENDING_RETURN"))
            }
            // Not to the unit giving it back, nor to one handling it already.
            CommandRequest::DecideReturn(r)
                if r.approve && !r.reassign_to.is_empty() && handled_by(&r.reassign_to) =>
            {
                Some(Expect::Invalid("reassign_to"))
            }
            CommandRequest::SubmitOpinion(r) if !now.co_units.contains(&r.handling_unit) => {
                // An empty unit names the one co-unit; the lead or a split unit, or none, is no
                // co-unit; any other unit handles nothing here.
                let unit = r.handling_unit.as_str();
                if unit.is_empty() {
                    (now.co_units.len() != 1).then_some(Expect::Precondition("NOT_A_CO_UNIT"))
                } else if handled_by(unit) {
                    Some(Expect::Precondition("NOT_A_CO_UNIT"))
                } else {
                    Some(Expect::Precondition("NOT_A_HANDLING_UNIT"))
                }
            }
            // The default rules have the lead wait for every opinion.
            CommandRequest::Sign(_) if !now.opinions_pending.is_empty() => {
                Some(Expect::Precondition("CO_OPINIONS_PENDING"))
            }
            CommandRequest::RecordFeedback(r) if !now.proposers.contains(&r.proposer) => {
                Some(Expect::Invalid("proposer"))
            }
            CommandRequest::RecordFeedback(r)
                if now.verdicts.iter().any(|(p, _)| *p == r.proposer) =>
            {
                Some(Expect::FeedbackRecorded)
            }
            // The default rules reopen only after a dissatisfied verdict on the round.
            CommandRequest::Reopen(_)
                if !now
                    .verdicts
                    .iter()
                    .any(|(_, s)| *s == pb::Satisfaction::NotSatisfied as i32) =>
            {
                Some(Expect::Precondition("NO_DISSATISFACTION"))
            }
            _ => None,
        }
    }

    /// On a split proposal (分办), the split handling a command acts on (`None`: the whole
    /// proposal) and the state its move is checked against: a command naming a unit, that
    /// unit's (empty: the one unit left; several must be told apart); the office's withdrawal,
    /// the most advanced unit's; anything else the proposal's. Or why the unit named is none.
    fn split_target(
        now: &Snap,
        kind: Command,
        sent: &CommandRequest,
    ) -> Result<(Option<usize>, State), Expect> {
        let (least, most) = split_states(&now.splits).expect("a split proposal");
        match (kind, named_unit(sent)) {
            (Command::SubmitOpinion, _) => Ok((None, least)),
            (_, Some("")) if now.splits.len() == 1 => Ok((Some(0), now.splits[0].state)),
            (_, Some("")) => Err(Expect::Precondition("HANDLING_UNIT_REQUIRED")),
            (_, Some(unit)) => match now.splits.iter().position(|p| p.unit == unit) {
                Some(i) => Ok((Some(i), now.splits[i].state)),
                None => Err(Expect::Precondition("NOT_A_HANDLING_UNIT")),
            },
            (Command::Return, None) => Ok((None, most)),
            (_, None) => Ok((None, least)),
        }
    }

    pub fn new(pool: usize) -> Self {
        Self {
            slots: vec![None; pool],
            ..Self::default()
        }
    }

    /// Predicts the answer to `sent` and, when it is accepted, applies it.
    pub fn step(&mut self, meta: &Meta, sent: &CommandRequest) -> Expect {
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
                    after: Box::new(record.after.clone()),
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
        // A merge looks its other proposal up first.
        let into = match meta.into {
            Some(Target::Real(into)) => Some(into),
            Some(_) => return Expect::NotFound,
            None => None,
        };
        let from = before.as_ref().map(|s| s.state);
        // 分办: the unit's handling the command acts on, and the state its move is checked
        // against (the proposal's, elsewhere).
        let (part, checked) = match &before {
            Some(now) if !now.splits.is_empty() => match Self::split_target(now, meta.kind, sent) {
                Ok((part, state)) => (part, Some(state)),
                Err(refused) => return refused,
            },
            _ => (None, from),
        };
        let Some(mut to) = meta.kind.next(checked) else {
            return Expect::InvalidTransition {
                current: checked.expect("Receive is always allowed on no proposal"),
                command: meta.kind,
            };
        };
        // Elsewhere a command may name the one replying unit itself (empty: the same), not a
        // co-unit on the reply, nor a unit that does not handle it.
        if let Some(now) = &before
            && now.splits.is_empty()
            && let Some(unit) = named_unit(sent)
            && !unit.is_empty()
            && meta.kind != Command::SubmitOpinion
            && Some(unit) != now.handling_unit.as_deref()
        {
            assert!(
                on_reply(meta.kind) || !now.co_units.iter().any(|u| u == unit),
                "the model names no co-unit in a record (it does not follow a co-unit's records)"
            );
            return Expect::Precondition(if now.co_units.iter().any(|u| u == unit) {
                "NOT_A_REPLYING_UNIT"
            } else {
                "NOT_A_HANDLING_UNIT"
            });
        }
        if let CommandRequest::Issue(r) = sent
            && self.documents.contains(&r.document_number)
        {
            return Expect::DuplicateDocument;
        }
        if let Some(now) = &before
            && let Some(refused) = Self::record_refusal(now, part.map(|i| &now.splits[i]), sent)
        {
            return refused;
        }
        // Into itself, or into one neither RECEIVED nor ASSIGNED (the model's proposals share
        // a committee and session; a split one with every unit still ASSIGNED); nor one that
        // others were merged into.
        if let Some(into) = into {
            let other = &self.slots[into].as_ref().expect("received").now;
            let into_state = split_states(&other.splits).map_or(other.state, |(_, most)| most);
            let has_merged = before.as_ref().is_some_and(|b| !b.merged.is_empty());
            if into == slot
                || has_merged
                || !matches!(into_state, State::Received | State::Assigned)
            {
                return Expect::Precondition("MERGE_NOT_ALLOWED");
            }
        }
        let revision = meta.kind == Command::Draft && checked == Some(State::Drafted);

        let mut after = before.clone().unwrap_or(Snap {
            state: to,
            version: 0,
            title: String::new(),
            handling_unit: None,
            due_date: None,
            reply_body: None,
            signer: None,
            document_number: None,
            copy_to: Vec::new(),
            copied_to: Vec::new(),
            acknowledged: false,
            contacts: 0,
            pending_extension: None,
            pending_return: false,
            original_due_date: None,
            co_units: Vec::new(),
            opinions_pending: Vec::new(),
            merged_into: None,
            merged: Vec::new(),
            splits: Vec::new(),
            proposers: Vec::new(),
            key: false,
            round: 1,
            verdicts: Vec::new(),
        });
        // A command on the reply records the split unit whose reply it is.
        let mut reply_unit = String::new();
        if let Some(i) = part {
            if on_reply(meta.kind) {
                reply_unit.clone_from(&after.splits[i].unit);
            }
            self.apply_to_part(&mut after, i, sent);
            // The proposal stands where its least advanced unit does; RECEIVED once none is
            // left.
            to = split_states(&after.splits).map_or(State::Received, |(least, _)| least);
        } else {
            self.apply(&mut after, slot, into, &mut to, sent, &request_id);
        }
        after.state = to;
        after.version += 1;
        let event = ModelEvent {
            kind: meta.kind,
            from,
            to,
            actor: sent.actor().to_owned(),
            request_id: request_id.clone(),
            handling_unit: reply_unit,
            revision,
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
            after: Box::new(after),
            created,
        }
    }

    /// What an accepted command on one split unit's handling (分办) does to it: its own reply,
    /// its own records; an approved return ends it, or hands it to another unit.
    fn apply_to_part(&mut self, after: &mut Snap, i: usize, sent: &CommandRequest) {
        let part = &mut after.splits[i];
        match sent {
            CommandRequest::Acknowledge(_) => part.acknowledged = true,
            CommandRequest::Contact(_) => part.contacts += 1,
            CommandRequest::RequestExtension(r) => {
                part.pending_extension = Some(r.new_due_date.clone());
            }
            CommandRequest::DecideExtension(r) => {
                // The unit's own due date only.
                let asked = part.pending_extension.take();
                if r.approve {
                    part.due_date = asked;
                }
            }
            CommandRequest::RequestReturn(_) => part.pending_return = true,
            CommandRequest::DecideReturn(r) => {
                part.pending_return = false;
                if r.approve {
                    // Its part ends; a reassignment opens the new unit's split handling, due
                    // by default, after the others. The proposal's unit is the first left.
                    after.splits.remove(i);
                    if !r.reassign_to.is_empty() {
                        let due = if r.due_date.is_empty() {
                            DEFAULT_DUE_DATE
                        } else {
                            &r.due_date
                        };
                        after.splits.push(Part::assigned(&r.reassign_to, due));
                    }
                    after.handling_unit = after.splits.first().map(|p| p.unit.clone());
                    if after.splits.is_empty() {
                        after.due_date = None;
                    }
                }
            }
            CommandRequest::Draft(r) => {
                part.reply_body = Some(r.reply.as_ref().expect("valid").body.clone());
                part.state = State::Drafted;
            }
            CommandRequest::RejectDraft(_) => {
                part.reply_body = None;
                part.state = State::Assigned;
            }
            CommandRequest::Sign(r) => {
                part.signer = Some(r.signer.clone());
                part.state = State::Signed;
            }
            CommandRequest::Issue(r) => {
                part.document_number = Some(r.document_number.clone());
                // The default rules print no 抄送 line of their own.
                part.copy_to.clone_from(&r.copy_to);
                part.state = State::Issued;
                self.documents.insert(r.document_number.clone());
            }
            CommandRequest::Copy(r) => {
                // By default, to the document's 抄送 line.
                if r.recipients.is_empty() {
                    part.copied_to = part.copy_to.clone();
                } else {
                    part.copied_to.clone_from(&r.recipients);
                }
                part.state = State::Copied;
            }
            other => unreachable!("{:?} acts on no split unit", other.command()),
        }
    }

    /// What an accepted command does to a proposal that is not split, or to a split one as a
    /// whole (the office's withdrawal); `to` is where the lifecycle table leads.
    fn apply(
        &mut self,
        after: &mut Snap,
        slot: usize,
        into: Option<usize>,
        to: &mut State,
        sent: &CommandRequest,
        request_id: &str,
    ) {
        let some = |text: &str| (!text.is_empty()).then(|| text.to_owned());
        match sent {
            CommandRequest::Receive(r) => {
                after.title.clone_from(&r.title);
                after.proposers.clone_from(&r.proposers);
            }
            CommandRequest::RecordFeedback(r) => {
                after.verdicts.push((r.proposer.clone(), r.satisfaction));
            }
            CommandRequest::Close(_) => {}
            CommandRequest::SetKey(r) => after.key = r.key,
            CommandRequest::Reopen(r) => {
                // A new round: every replying unit drafts again, due anew; the round's reply
                // and verdicts are kept apart (the model does not follow them).
                let due = some(&r.due_date).unwrap_or_else(|| DEFAULT_DUE_DATE.into());
                after.round += 1;
                after.verdicts.clear();
                after.reply_body = None;
                after.signer = None;
                after.document_number = None;
                after.copy_to.clear();
                after.copied_to.clear();
                after.due_date = Some(due.clone());
                if after.splits.is_empty() {
                    after.original_due_date = Some(due);
                } else {
                    for part in &mut after.splits {
                        part.state = State::Assigned;
                        part.reply_body = None;
                        part.signer = None;
                        part.document_number = None;
                        part.copy_to.clear();
                        part.copied_to.clear();
                        part.due_date = Some(due.clone());
                        part.original_due_date = Some(due.clone());
                    }
                }
            }
            CommandRequest::Assign(r) if !r.split_units.is_empty() => {
                // 分办: every unit replies on its own; the proposal holds no records of its own.
                let due = some(&r.due_date).unwrap_or_else(|| DEFAULT_DUE_DATE.into());
                after.handling_unit = Some(r.handling_unit.clone());
                after.due_date = Some(due.clone());
                after.splits = std::iter::once(&r.handling_unit)
                    .chain(&r.split_units)
                    .map(|unit| Part::assigned(unit, &due))
                    .collect();
            }
            CommandRequest::Assign(r) => {
                after.handling_unit = Some(r.handling_unit.clone());
                after.due_date = some(&r.due_date).or_else(|| Some(DEFAULT_DUE_DATE.into()));
                after.original_due_date = after.due_date.clone();
                after.co_units.clone_from(&r.co_units);
                after.opinions_pending.clone_from(&r.co_units);
            }
            CommandRequest::Return(_) => {
                after.splits.clear();
                after.handling_unit = None;
                after.due_date = None;
                after.original_due_date = None;
                after.acknowledged = false;
                after.contacts = 0;
                after.pending_extension = None;
                after.pending_return = false;
                after.co_units.clear();
                after.opinions_pending.clear();
            }
            CommandRequest::Acknowledge(_) => after.acknowledged = true,
            CommandRequest::SubmitOpinion(r) => {
                let unit = match r.handling_unit.as_str() {
                    "" => &after.co_units[0],
                    named => named,
                };
                let unit = unit.to_owned();
                after.opinions_pending.retain(|u| *u != unit);
            }
            CommandRequest::Contact(_) => after.contacts += 1,
            CommandRequest::RequestExtension(r) => {
                after.pending_extension = Some(r.new_due_date.clone());
            }
            CommandRequest::DecideExtension(r) => {
                let asked = after.pending_extension.take();
                if r.approve {
                    after.due_date = asked;
                }
            }
            CommandRequest::RequestReturn(_) => after.pending_return = true,
            CommandRequest::DecideReturn(r) => {
                after.pending_return = false;
                if r.approve {
                    // The handling ends; a reassignment opens the new unit's, due by default.
                    let unit = some(&r.reassign_to);
                    let due = unit
                        .as_ref()
                        .map(|_| some(&r.due_date).unwrap_or_else(|| DEFAULT_DUE_DATE.into()));
                    if unit.is_none() {
                        // The lead gives it back: every handling ends. Handed to another unit,
                        // the co-units stay.
                        *to = State::Received;
                        after.co_units.clear();
                        after.opinions_pending.clear();
                    }
                    after.handling_unit = unit;
                    after.due_date.clone_from(&due);
                    after.original_due_date = due;
                    after.acknowledged = false;
                    after.contacts = 0;
                    after.pending_extension = None;
                }
            }
            CommandRequest::Draft(r) => {
                after.reply_body = Some(r.reply.as_ref().expect("valid").body.clone());
            }
            CommandRequest::RejectDraft(_) => after.reply_body = None,
            CommandRequest::Sign(r) => after.signer = Some(r.signer.clone()),
            CommandRequest::Issue(r) => {
                after.document_number = Some(r.document_number.clone());
                // The default rules' 抄送 line is a lead reply's co-units.
                after.copy_to = if r.copy_to.is_empty() {
                    after.co_units.clone()
                } else {
                    r.copy_to.clone()
                };
                self.documents.insert(r.document_number.clone());
            }
            CommandRequest::Copy(r) => {
                // By default, to the document's 抄送 line; a lead reply's copies go to its
                // co-units too.
                if r.recipients.is_empty() {
                    after.copied_to = after.copy_to.clone();
                } else {
                    after.copied_to.clone_from(&r.recipients);
                }
                for co in &after.co_units {
                    if !after.copied_to.contains(co) {
                        after.copied_to.push(co.clone());
                    }
                }
            }
            CommandRequest::Refuse(_) => {}
            CommandRequest::Merge(r) => {
                after.merged_into = Some(r.into_proposal_id.clone());
                let merged_id = self.slots[slot].as_ref().and_then(|s| s.id.clone());
                let other = self.slots[into.expect("a merge names its other proposal")]
                    .as_mut()
                    .expect("received");
                other.now.version += 1;
                other
                    .now
                    .merged
                    .push(merged_id.expect("the merged proposal's id is learnt"));
                let state = other.now.state;
                other.events.push(ModelEvent {
                    kind: Command::Merge,
                    from: Some(state),
                    to: state,
                    actor: sent.actor().to_owned(),
                    request_id: request_id.to_owned(),
                    handling_unit: String::new(),
                    revision: false,
                });
            }
        }
    }
}

// ----- Generated operations -------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
pub enum KindChoice {
    /// The usual next step for the target's current state.
    Forward,
    Exactly(Command),
}

#[derive(Clone, Copy, Debug)]
pub enum Payload {
    /// Valid fields; the number picks among a few values (document numbers collide on purpose).
    Valid(u8),
    /// One field wrong; the number picks which.
    Invalid(u8),
}

#[derive(Clone, Copy, Debug)]
pub enum Version {
    None,
    Current,
    /// Off the current version by this much.
    Stale(i8),
}

#[derive(Clone, Copy, Debug)]
pub enum Rid {
    None,
    Fresh,
    /// The key of an earlier request, on this (usually different) request.
    ReuseOf(Index),
}

#[derive(Clone, Debug)]
pub enum Op {
    Command(CommandChoice),
    /// Sends an earlier request that carried a request_id again, unchanged.
    Retry(Index),
}

/// What a generated command is made of: which command, on which slot, with which payload,
/// expected version, actor and request id.
#[derive(Clone, Debug)]
pub struct CommandChoice {
    pub kind: KindChoice,
    pub slot: usize,
    pub payload: Payload,
    pub version: Version,
    pub actor: usize,
    pub rid: Rid,
}

pub fn op() -> impl Strategy<Value = Op> {
    let kind = prop_oneof![
        3 => Just(KindChoice::Forward),
        2 => prop::sample::select([&Command::ALL[..], &Command::RECORDS[..]].concat())
            .prop_map(KindChoice::Exactly),
        // After the reply: verdicts, the closing, key proposals, reopenings.
        1 => prop::sample::select(vec![
            Command::RecordFeedback,
            Command::RecordFeedback,
            Command::Close,
            Command::SetKey,
            Command::Reopen,
        ])
        .prop_map(KindChoice::Exactly),
        // A merge takes two proposals, one still RECEIVED: often enough to happen.
        1 => Just(KindChoice::Exactly(Command::Merge)),
        // A return is asked for, then decided: often enough for a unit's part to end.
        1 => prop::sample::select(vec![Command::RequestReturn, Command::DecideReturn])
            .prop_map(KindChoice::Exactly),
    ];
    let payload = prop_oneof![
        // `v % 6` picks among a request's values as before; `v / 6` also picks a unit.
        8 => (0u8..24).prop_map(Payload::Valid),
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
        |(kind, slot, payload, version, actor, rid)| {
            Op::Command(CommandChoice {
                kind,
                slot,
                payload,
                version,
                actor,
                rid,
            })
        },
    );
    prop_oneof![
        9 => command,
        1 => any::<Index>().prop_map(Op::Retry),
    ]
}

pub fn scenario() -> impl Strategy<Value = (usize, Vec<Op>)> {
    (2usize..=3, prop::collection::vec(op(), 1..=48))
}

/// Everything one case needs to name its requests.
pub struct Case {
    pub committee: String,
    pub prefix: String,
}

impl Case {
    pub fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Self {
            committee: format!("模型测试政协{n}"),
            prefix: format!("case{n}"),
        }
    }

    /// A well-formed id no proposal has (UUIDv7 ids from the service have version nibble 7).
    pub fn unknown_id(&self, slot: usize) -> String {
        format!("00000000-0000-4000-8000-{slot:012x}")
    }

    /// One of four numbers: a split proposal's units each need their own.
    pub fn document(&self, n: u8) -> String {
        format!("{}许环〔2019〕{}号", self.prefix, n % 4)
    }
}

/// The `handling_unit` a generated command names, picked by the payload's number: on a split
/// proposal (分办) mostly one of its units (often one whose own state allows the command),
/// sometimes none (the one unit left, or HANDLING_UNIT_REQUIRED) or a stranger; elsewhere none,
/// except that a command on the reply now and then names the replying unit itself, the co-unit
/// or a stranger.
fn unit_for(now: Option<&Snap>, kind: Command, v: u8) -> String {
    let (t, s) = (v as usize % 6, v as usize / 6);
    let Some(now) = now else {
        return String::new();
    };
    if now.splits.is_empty() {
        if !on_reply(kind) || s != 3 {
            return String::new();
        }
        return match t % 3 {
            0 => now.handling_unit.clone().unwrap_or_default(),
            1 => CO_UNIT.into(),
            _ => STRANGER.into(),
        };
    }
    let units = &now.splits;
    // The units for which the command would go through.
    let ready: Vec<&Part> = units
        .iter()
        .filter(|p| {
            kind.allowed_in(p.state)
                && match kind {
                    Command::Acknowledge => !p.acknowledged,
                    Command::RequestExtension => p.pending_extension.is_none(),
                    Command::DecideExtension => p.pending_extension.is_some(),
                    Command::RequestReturn => !p.pending_return,
                    Command::DecideReturn => p.pending_return,
                    _ => true,
                }
        })
        .collect();
    match s {
        0 if t % 2 == 0 => String::new(),
        0 => STRANGER.into(),
        // The unit `forward_of` moves on, if ready, else another.
        2 | 3
            if ready
                .iter()
                .any(|p| p.unit == units[v as usize % units.len()].unit) =>
        {
            units[v as usize % units.len()].unit.clone()
        }
        2 | 3 if !ready.is_empty() => ready[(t + s) % ready.len()].unit.clone(),
        _ => units[t % units.len()].unit.clone(),
    }
}

/// The usual next step for a proposal (`None`: not received): its state's; on a split one
/// (分办), that of one of its units, picked by the payload's number, so that each moves on (the
/// office's decision, if the unit waits for one).
pub fn forward_of(now: Option<&Snap>, payload: Payload) -> Command {
    match now {
        Some(now) if !now.splits.is_empty() => {
            let v = match payload {
                Payload::Valid(v) => v as usize,
                Payload::Invalid(_) => 0,
            };
            // The unit `unit_for` picks first among those ready, when it can; a request of
            // its is decided first.
            let part = &now.splits[v % now.splits.len()];
            if now.state == State::Copied {
                after_reply(now, v)
            } else if part.pending_return {
                Command::DecideReturn
            } else if part.pending_extension.is_some() {
                Command::DecideExtension
            } else {
                forward(Some(part.state))
            }
        }
        // Once dispatched: a verdict, then a reopening or the closing.
        Some(now) if now.state == State::Copied => {
            let v = match payload {
                Payload::Valid(v) => v as usize,
                Payload::Invalid(_) => 0,
            };
            after_reply(now, v)
        }
        now => forward(now.map(|s| s.state)),
    }
}

/// The office's next act on a dispatched proposal: verdicts first, then mostly a reopening
/// (refused until one is dissatisfied), sometimes the closing.
fn after_reply(now: &Snap, v: usize) -> Command {
    if now.verdicts.len() < now.proposers.len() && !v.is_multiple_of(4) {
        return Command::RecordFeedback;
    }
    if v.is_multiple_of(5) {
        Command::Close
    } else {
        Command::Reopen
    }
}

/// Builds the concrete request for a generated command, given what the model knows now.
#[allow(clippy::too_many_arguments)]
pub fn build(
    case: &Case,
    model: &Model,
    kind: Command,
    slot: usize,
    payload: Payload,
    version: Version,
    actor: usize,
    request_id: String,
) -> (Meta, CommandRequest) {
    let (v, bad) = match payload {
        Payload::Valid(v) => (v, None),
        Payload::Invalid(b) => (0, Some(b)),
    };
    let pick = |options: &[&str]| options[v as usize % options.len()].to_owned();
    let unit = unit_for(model.slots[slot].as_ref().map(|s| &s.now), kind, v);
    let (proposal_id, current, target) = match &model.slots[slot] {
        _ if kind == Command::Receive => (String::new(), 0, Target::New(slot)),
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
    let mut merge_into: Option<(String, Target)> = None;
    let handling_unit = pick(&["许昌市生态环境局", "许昌市住房和城乡建设局"]);
    let mut sent = match kind {
        Command::RecordFeedback => CommandRequest::RecordFeedback(pb::RecordFeedbackRequest {
            proposal_id: proposal_id.clone(),
            // Mostly a proposer; now and then a stranger.
            proposer: pick(&["苏会兴", "李明", "苏会兴", "路人甲"]),
            // Half of them not satisfied, so that reopenings go through.
            satisfaction: [
                pb::Satisfaction::NotSatisfied,
                pb::Satisfaction::Satisfied,
                pb::Satisfaction::NotSatisfied,
                pb::Satisfaction::BasicallySatisfied,
            ][v as usize / 6 % 4] as i32,
            attitude: 0,
            comment: String::new(),
            expected_version,
            request_id: String::new(),
            actor: actor.clone(),
            effective_date: EFFECTIVE_DATE.into(),
        }),
        Command::Close => CommandRequest::Close(pb::CloseProposalRequest {
            proposal_id: proposal_id.clone(),
            note: pick(&["", "办理完毕"]),
            expected_version,
            request_id: String::new(),
            actor: actor.clone(),
            effective_date: EFFECTIVE_DATE.into(),
        }),
        Command::SetKey => {
            let key = v % 3 != 0;
            CommandRequest::SetKey(pb::SetKeyProposalRequest {
                proposal_id: proposal_id.clone(),
                key,
                supervisor: if key {
                    pick(&["", "市政协副主席王明"])
                } else {
                    String::new()
                },
                note: String::new(),
                expected_version,
                request_id: String::new(),
                actor: actor.clone(),
                effective_date: EFFECTIVE_DATE.into(),
            })
        }
        Command::Reopen => CommandRequest::Reopen(pb::ReopenProposalRequest {
            proposal_id: proposal_id.clone(),
            reason: "提案人对答复不满意".into(),
            due_date: pick(&["", "2019-12-31"]),
            expected_version,
            request_id: String::new(),
            actor: actor.clone(),
            effective_date: EFFECTIVE_DATE.into(),
        }),
        Command::Receive => CommandRequest::Receive(pb::ReceiveProposalRequest {
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
            effective_date: EFFECTIVE_DATE.into(),
            proposer_kind: pb::ProposerKind::Member as i32,
        }),
        Command::Assign => CommandRequest::Assign(pb::AssignProposalRequest {
            proposal_id: proposal_id.clone(),
            handling_unit: handling_unit.clone(),
            due_date: pick(&["", "2019-08-31", "2020-02-29"]),
            expected_version,
            request_id: String::new(),
            actor: actor.clone(),
            effective_date: EFFECTIVE_DATE.into(),
            // One assignment in three has a lead and a co-unit.
            co_units: if v % 3 == 1 {
                vec![CO_UNIT.into()]
            } else {
                Vec::new()
            },
            co_due_date: String::new(),
            // One in four is split (分办) with the other unit, or with two others.
            split_units: if v % 3 == 2 && v / 6 > 0 {
                SPLIT_UNITS
                    .iter()
                    .filter(|u| **u != handling_unit)
                    .take(if v / 6 == 3 { 2 } else { 1 })
                    .map(|u| u.to_string())
                    .collect()
            } else {
                Vec::new()
            },
        }),
        Command::Return => CommandRequest::Return(pb::ReturnProposalRequest {
            proposal_id: proposal_id.clone(),
            reason: pick(&["不属于本单位职责", "请改派"]),
            expected_version,
            request_id: String::new(),
            actor: actor.clone(),
            effective_date: EFFECTIVE_DATE.into(),
        }),
        Command::Draft => CommandRequest::Draft(pb::DraftReplyRequest {
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
            effective_date: EFFECTIVE_DATE.into(),
            handling_unit: unit.clone(),
        }),
        Command::RejectDraft => CommandRequest::RejectDraft(pb::RejectDraftRequest {
            proposal_id: proposal_id.clone(),
            reason: pick(&["请补充下一步打算", "数据有误"]),
            expected_version,
            request_id: String::new(),
            actor: actor.clone(),
            effective_date: EFFECTIVE_DATE.into(),
            handling_unit: unit.clone(),
        }),
        Command::Sign => CommandRequest::Sign(pb::SignReplyRequest {
            proposal_id: proposal_id.clone(),
            signer: pick(&["李光亚", "王五"]),
            expected_version,
            request_id: String::new(),
            actor: actor.clone(),
            effective_date: EFFECTIVE_DATE.into(),
            handling_unit: unit.clone(),
            sign_date: String::new(),
        }),
        Command::Issue => CommandRequest::Issue(pb::IssueReplyRequest {
            proposal_id: proposal_id.clone(),
            document_number: case.document(v),
            issue_date: "2019-09-29".into(),
            issuing_office: "许昌市生态环境局办公室".into(),
            expected_version,
            request_id: String::new(),
            actor: actor.clone(),
            effective_date: EFFECTIVE_DATE.into(),
            handling_unit: unit.clone(),
            copy_to: if v % 2 == 0 {
                vec!["市政协提案委".into(), "市政府督查室".into()]
            } else {
                Vec::new()
            },
            public: [None, Some(true), Some(false)][(v % 3) as usize],
        }),
        Command::Copy => CommandRequest::Copy(pb::CopyReplyRequest {
            proposal_id: proposal_id.clone(),
            recipients: match v % 3 {
                0 => vec!["市政协提案委".into(), "市政府督查室".into()],
                1 => vec!["市政协提案委".into()],
                _ => Vec::new(),
            },
            expected_version,
            request_id: String::new(),
            actor: actor.clone(),
            effective_date: EFFECTIVE_DATE.into(),
            handling_unit: unit.clone(),
        }),
        Command::Refuse => CommandRequest::Refuse(pb::RefuseProposalRequest {
            proposal_id: proposal_id.clone(),
            reason: pick(&["属于个人诉求，不予立案", "不属于政协提案范围"]),
            forwarded_to: pick(&["", "市信访局"]),
            expected_version,
            request_id: String::new(),
            actor: actor.clone(),
            effective_date: EFFECTIVE_DATE.into(),
        }),
        Command::Acknowledge => CommandRequest::Acknowledge(pb::AcknowledgeAssignmentRequest {
            proposal_id: proposal_id.clone(),
            handling_unit: unit.clone(),
            expected_version,
            request_id: String::new(),
            actor: actor.clone(),
            effective_date: EFFECTIVE_DATE.into(),
        }),
        Command::Contact => CommandRequest::Contact(pb::RecordContactRequest {
            proposal_id: proposal_id.clone(),
            handling_unit: unit.clone(),
            contact_date: pick(&["", EFFECTIVE_DATE]),
            method: [pb::ContactMethod::Phone, pb::ContactMethod::Visit][v as usize % 2].into(),
            proposers: if v % 3 == 0 {
                vec!["苏会兴".into()]
            } else {
                Vec::new()
            },
            summary: pick(&["电话沟通答复意见", "上门走访"]),
            expected_version,
            request_id: String::new(),
            actor: actor.clone(),
            effective_date: EFFECTIVE_DATE.into(),
        }),
        Command::RequestExtension => {
            CommandRequest::RequestExtension(pb::RequestExtensionRequest {
                proposal_id: proposal_id.clone(),
                handling_unit: unit.clone(),
                // Within the cap of the earlier due dates, beyond it, or not later at all.
                new_due_date: pick(&["2019-10-31", "2020-03-31", "2019-11-29"]),
                reason: "需会同有关部门调研".into(),
                expected_version,
                request_id: String::new(),
                actor: actor.clone(),
                effective_date: EFFECTIVE_DATE.into(),
            })
        }
        Command::DecideExtension => CommandRequest::DecideExtension(pb::DecideExtensionRequest {
            proposal_id: proposal_id.clone(),
            handling_unit: unit.clone(),
            approve: v % 3 != 2,
            note: pick(&["", "同意"]),
            expected_version,
            request_id: String::new(),
            actor: actor.clone(),
            effective_date: EFFECTIVE_DATE.into(),
        }),
        Command::RequestReturn => CommandRequest::RequestReturn(pb::RequestReturnRequest {
            proposal_id: proposal_id.clone(),
            handling_unit: unit.clone(),
            reason: pick(&["不属于本单位职责", "请改交住建局"]),
            expected_version,
            request_id: String::new(),
            actor: actor.clone(),
            effective_date: EFFECTIVE_DATE.into(),
        }),
        // Into another slot, the one after it by the payload's count (itself when the count
        // wraps round).
        Command::Merge => {
            let into = (slot + 1 + v as usize) % model.slots.len();
            merge_into = Some(match &model.slots[into] {
                Some(s) => (s.id.clone().expect("id learnt"), Target::Real(into)),
                None => (case.unknown_id(into), Target::Unknown),
            });
            CommandRequest::Merge(pb::MergeProposalRequest {
                proposal_id: proposal_id.clone(),
                into_proposal_id: merge_into.as_ref().expect("just set").0.clone(),
                note: pick(&["", "内容相近，并案办理"]),
                expected_version,
                request_id: String::new(),
                actor: actor.clone(),
                effective_date: EFFECTIVE_DATE.into(),
            })
        }
        Command::SubmitOpinion => CommandRequest::SubmitOpinion(pb::SubmitOpinionRequest {
            proposal_id: proposal_id.clone(),
            // The one co-unit, named or not, or the lead (which is no co-unit).
            handling_unit: pick(&["", CO_UNIT, "许昌市生态环境局"]),
            body: "建议将大气污染防治资金纳入年度预算。".into(),
            document_number: pick(&["", "许发改〔2019〕41号"]),
            contact_person: "王明".into(),
            contact_phone: "2966021".into(),
            expected_version,
            request_id: String::new(),
            actor: actor.clone(),
            effective_date: EFFECTIVE_DATE.into(),
        }),
        Command::DecideReturn => {
            // Approved back to the office, approved to another unit, or refused.
            let (approve, reassign_to, due_date) =
                [(true, "", ""), (true, "许昌市教育局", ""), (false, "", "")][v as usize % 3];
            CommandRequest::DecideReturn(pb::DecideReturnRequest {
                proposal_id: proposal_id.clone(),
                handling_unit: unit.clone(),
                approve,
                note: pick(&["", "同意"]),
                reassign_to: reassign_to.into(),
                due_date: due_date.into(),
                expected_version,
                request_id: String::new(),
                actor: actor.clone(),
                effective_date: EFFECTIVE_DATE.into(),
            })
        }
    };
    if let Some(bad) = bad {
        invalid = Some(spoil(&mut sent, bad));
    }
    sent.set_request_id(&request_id);
    (
        Meta {
            kind,
            target,
            invalid,
            into: merge_into.map(|(_, target)| target),
        },
        sent,
    )
}

/// Makes one field of a valid request invalid; returns the field's name.
pub fn spoil(sent: &mut CommandRequest, bad: u8) -> &'static str {
    if bad == 0 {
        sent.set_actor("  ");
        return "actor";
    }
    if bad == 3 {
        if let CommandRequest::Receive(r) = sent {
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
        CommandRequest::Receive(r) if first => {
            r.title = "标题\u{7}".into();
            "title"
        }
        CommandRequest::Receive(r) => {
            r.proposers = vec!["苏会兴".into(), "苏会兴".into()];
            "proposers[1]"
        }
        CommandRequest::Assign(r) if first => {
            r.handling_unit = String::new();
            "handling_unit"
        }
        CommandRequest::Assign(r) => {
            r.due_date = "2019-02-29".into();
            "due_date"
        }
        CommandRequest::Return(r) if first => {
            r.reason = " \n ".into();
            "reason"
        }
        CommandRequest::Return(r) => {
            r.reason = "理".repeat(5001);
            "reason"
        }
        CommandRequest::Draft(r) if first => {
            r.reply = None;
            "reply"
        }
        CommandRequest::Draft(r) => {
            r.reply.as_mut().expect("valid").result_code = 0;
            "reply.result_code"
        }
        CommandRequest::RejectDraft(r) if first => {
            r.reason = String::new();
            "reason"
        }
        CommandRequest::RejectDraft(r) => {
            r.reason = "不\u{0}行".into();
            "reason"
        }
        CommandRequest::Sign(r) if first => {
            r.signer = String::new();
            "signer"
        }
        CommandRequest::Sign(r) => {
            r.signer = "王".repeat(201);
            "signer"
        }
        CommandRequest::Issue(r) if first => {
            r.issue_date = "2019-9-29".into();
            "issue_date"
        }
        CommandRequest::Issue(r) => {
            r.document_number = String::new();
            "document_number"
        }
        CommandRequest::Copy(r) if first => {
            r.recipients = vec!["市政协\u{7}提案委".into()];
            "recipients[0]"
        }
        CommandRequest::Copy(r) => {
            r.recipients = vec!["市政协提案委".into(), "市政协提案委".into()];
            "recipients[1]"
        }
        CommandRequest::Refuse(r) if first => {
            r.reason = String::new();
            "reason"
        }
        CommandRequest::Refuse(r) => {
            r.forwarded_to = "市信访局\u{1b}".into();
            "forwarded_to"
        }
        CommandRequest::Acknowledge(r) if first => {
            r.handling_unit = " ".into();
            "handling_unit"
        }
        CommandRequest::Acknowledge(r) => {
            r.effective_date = "2019-06-31".into();
            "effective_date"
        }
        CommandRequest::Contact(r) if first => {
            r.method = 0;
            "method"
        }
        CommandRequest::Contact(r) => {
            r.summary = String::new();
            "summary"
        }
        CommandRequest::RequestExtension(r) if first => {
            r.new_due_date = String::new();
            "new_due_date"
        }
        CommandRequest::RequestExtension(r) => {
            r.reason = "\u{0}".into();
            "reason"
        }
        CommandRequest::DecideExtension(r) if first => {
            r.note = "同\u{7}意".into();
            "note"
        }
        CommandRequest::DecideExtension(r) => {
            r.handling_unit = "局".repeat(201);
            "handling_unit"
        }
        CommandRequest::RequestReturn(r) if first => {
            r.reason = String::new();
            "reason"
        }
        CommandRequest::RequestReturn(r) => {
            r.handling_unit = "局\u{0}".into();
            "handling_unit"
        }
        CommandRequest::DecideReturn(r) if first => {
            r.approve = false;
            r.reassign_to = "许昌市教育局".into();
            "reassign_to"
        }
        CommandRequest::DecideReturn(r) => {
            r.due_date = "2019-13-01".into();
            "due_date"
        }
        CommandRequest::SubmitOpinion(r) if first => {
            r.body = " ".into();
            "body"
        }
        CommandRequest::SubmitOpinion(r) => {
            r.contact_phone = String::new();
            "contact_phone"
        }
        CommandRequest::Merge(r) if first => {
            r.note = "并\u{7}案".into();
            "note"
        }
        CommandRequest::Merge(r) => {
            r.into_proposal_id = "not-a-uuid".into();
            "into_proposal_id"
        }
        CommandRequest::RecordFeedback(r) if first => {
            r.proposer = String::new();
            "proposer"
        }
        CommandRequest::RecordFeedback(r) => {
            r.satisfaction = 0;
            "satisfaction"
        }
        CommandRequest::Close(r) => {
            r.note = "办".repeat(5001);
            "note"
        }
        CommandRequest::SetKey(r) => {
            r.key = false;
            r.supervisor = "某领导".into();
            "supervisor"
        }
        CommandRequest::Reopen(r) if first => {
            r.reason = String::new();
            "reason"
        }
        CommandRequest::Reopen(r) => {
            r.due_date = "2019-02-30".into();
            "due_date"
        }
    }
}
