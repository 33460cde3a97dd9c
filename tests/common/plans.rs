//! Proposals driven along scripted paths by a cast of named people (two registrars, and a clerk
//! and a leader in each of two units), so that the event log holds varied histories: forward,
//! returned and re-assigned, rejected and revised, interleaved across proposals. The requests
//! are the kit's ([`requests`]); a plan only says which command, by whom, and for an assignment
//! to which unit. Shared by the audit-trail, watch and verify tests.

use proposal_service::pb;

use super::Client;
use super::lifecycle::Command;
use super::requests::{self, CommandRequest};

pub use super::principals::{UNIT_A, UNIT_B};

pub const REGISTRAR_1: &str = "提案委登记员甲";
pub const REGISTRAR_2: &str = "提案委登记员乙";
pub const CLERK_A: &str = "生态环境局经办人";
pub const CLERK_B: &str = "教育局经办人";
pub const LEADER_A: &str = "李光亚";
pub const LEADER_B: &str = "王局长";
pub const OFFICE: &str = "办公室收发员";

/// One mutating call after registration: the command and who sends it (`unit`: where an
/// assignment sends the proposal; unused by the other commands).
#[derive(Clone, Copy, Debug)]
pub struct Step {
    pub command: Command,
    pub actor: &'static str,
    pub unit: &'static str,
    /// An assignment's co-unit (主办/会办), if any.
    pub co_unit: &'static str,
    /// The round of handling it belongs to (重新办理): 1, or 2 after a reopening. A later
    /// round's document has a number of its own; the proposer is not satisfied in round 1 and
    /// satisfied after.
    pub round: u32,
}

/// `command` sent by `actor` (a draft on a DRAFTED proposal is a revision).
pub const fn step(command: Command, actor: &'static str) -> Step {
    Step {
        command,
        actor,
        unit: "",
        co_unit: "",
        round: 1,
    }
}

/// `command` in the second round of handling, after a reopening.
pub const fn again(command: Command, actor: &'static str) -> Step {
    Step {
        round: 2,
        ..step(command, actor)
    }
}

/// An assignment to `unit`, sent by `actor`.
pub const fn assign(unit: &'static str, actor: &'static str) -> Step {
    Step {
        command: Command::Assign,
        actor,
        unit,
        co_unit: "",
        round: 1,
    }
}

/// A proposal's calls after registration.
pub type Plan = Vec<Step>;

/// Assigned to `unit`, handled there to the end.
pub fn forward(unit: &'static str, clerk: &'static str, leader: &'static str) -> Plan {
    vec![
        assign(unit, REGISTRAR_1),
        step(Command::Draft, clerk),
        step(Command::Sign, leader),
        step(Command::Issue, OFFICE),
        step(Command::Copy, OFFICE),
    ]
}

/// Assigned to A, returned by A, re-assigned to B and handled to the end there.
pub fn returned_and_reassigned() -> Plan {
    let returned = vec![assign(UNIT_A, REGISTRAR_2), step(Command::Return, CLERK_A)];
    [returned, forward(UNIT_B, CLERK_B, LEADER_B)].concat()
}

/// Handled by B: a draft rejected, drafted again, revised, then signed and issued.
pub fn rejected_and_revised() -> Plan {
    let draft = step(Command::Draft, CLERK_B);
    vec![
        assign(UNIT_B, REGISTRAR_2),
        draft,
        step(Command::RejectDraft, LEADER_B),
        draft,
        draft,
        step(Command::Sign, LEADER_B),
        step(Command::Issue, OFFICE),
    ]
}

/// A reply body of about `chars` characters (large drafts fill a slow watcher's window).
pub fn reply(number: u32, chars: usize) -> pb::Reply {
    let filler = "一、工作开展情况良好，成效明显。".repeat(chars / 16 + 1);
    pb::Reply {
        body: format!("您提出的第{number}号提案收悉。现答复如下：\n{filler}"),
        result_code: pb::ResultCode::B as i32,
        contact_unit: "综合科".into(),
        contact_phone: "6060000".into(),
    }
}

/// Registers proposal `number` (the seed's, under that number) as `actor`.
pub async fn receive(client: &Client, number: u32, actor: &str) -> pb::Proposal {
    CommandRequest::from(requests::receive(number))
        .by(actor)
        .keyed(&format!("receive/{number}"))
        .expect_proposal(&mut client.clone(), &format!("receiving No. {number}"))
        .await
}

/// The kit's request for `step` on `p` (only its id and number are read; a receive registers
/// the seed under `p`'s number), sent by the step's actor.
pub fn request(step: Step, p: &pb::Proposal) -> CommandRequest {
    match step.command {
        Command::Assign if !step.co_unit.is_empty() => pb::AssignProposalRequest {
            co_units: vec![step.co_unit.into()],
            ..requests::assign_to(p, step.unit)
        }
        .into(),
        Command::Assign => requests::assign_to(p, step.unit).into(),
        Command::Issue if step.round > 1 => {
            let first = requests::issue(p);
            pb::IssueReplyRequest {
                document_number: format!("{}之{}", first.document_number, step.round),
                ..first
            }
            .into()
        }
        // The seed's proposer (the builders see only the id and the number).
        Command::RecordFeedback => pb::RecordFeedbackRequest {
            proposer: requests::SEED.proposers[0].clone(),
            ..requests::verdict(
                p,
                if step.round > 1 {
                    pb::Satisfaction::Satisfied
                } else {
                    pb::Satisfaction::NotSatisfied
                },
            )
        }
        .into(),
        command => CommandRequest::valid(command, p),
    }
    .by(step.actor)
}

/// Sends `step` for `p` (only its id and number are used); `body_chars` sizes a draft.
pub async fn act(client: &Client, p: &pb::Proposal, step: Step, body_chars: usize) {
    let mut request = request(step, p);
    if let CommandRequest::Draft(draft) = &mut request {
        draft.reply = Some(reply(p.number, body_chars));
    }
    let what = format!("{step:?} on No. {}", p.number);
    request
        .keyed(&uuid::Uuid::now_v7().to_string())
        .expect_proposal(&mut client.clone(), &what)
        .await;
}

/// Registers proposal `number` and runs `plan` on it; returns it (as registered) and the number
/// of events caused.
pub async fn drive_plan(
    client: &Client,
    number: u32,
    plan: &[Step],
    body_chars: usize,
) -> (pb::Proposal, usize) {
    let p = receive(client, number, REGISTRAR_1).await;
    for step in plan {
        act(client, &p, *step, body_chars).await;
    }
    (p, plan.len() + 1)
}

/// A varied set of proposals, driven with their steps interleaved (proposal k starts at round
/// k) so that the log mixes proposals: two forward (A and B), one returned and re-assigned, one
/// rejected and revised, one left RECEIVED, one returned, one with a rejected draft. Returns
/// their ids and the number of events caused.
pub async fn varied_proposals(client: &Client) -> (Vec<String>, usize) {
    let plans: Vec<Plan> = vec![
        forward(UNIT_A, CLERK_A, LEADER_A),
        forward(UNIT_B, CLERK_B, LEADER_B),
        returned_and_reassigned(),
        rejected_and_revised(),
        vec![], // stays RECEIVED
        vec![assign(UNIT_A, REGISTRAR_2), step(Command::Return, CLERK_A)],
        vec![
            assign(UNIT_A, REGISTRAR_1),
            step(Command::Draft, CLERK_A),
            step(Command::RejectDraft, LEADER_A),
        ],
    ];
    let mut proposals: Vec<Option<pb::Proposal>> = vec![None; plans.len()];
    let mut count = 0;
    let rounds = plans.iter().map(Vec::len).max().unwrap() + plans.len() + 1;
    for round in 0..rounds {
        for (p, plan) in plans.iter().enumerate() {
            let number = p as u32 + 1;
            let Some(step) = round.checked_sub(p) else {
                continue;
            };
            if step == 0 {
                let registrar = [REGISTRAR_1, REGISTRAR_2][p % 2];
                proposals[p] = Some(receive(client, number, registrar).await);
                count += 1;
            } else if let Some(step) = plan.get(step - 1) {
                act(client, proposals[p].as_ref().unwrap(), *step, 200).await;
                count += 1;
            }
        }
    }
    let ids = proposals.into_iter().map(|p| p.unwrap().id).collect();
    (ids, count)
}
