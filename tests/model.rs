mod common;

// Model-based property test: random sequences of commands (valid and invalid, every mutating
// RPC, against a pool of two or three proposals, with random expected versions, retried and
// reused idempotency keys, duplicate numbers and document numbers; sole, lead/co and split
// (分办) assignments, reply commands and records naming a split unit, none, or a stranger, and
// merges) are sent to the real service over gRPC and to a small reference model
// (tests/common/model.rs) written from the proto's comments. Every answer must be the one the
// model predicts, a split proposal's state its least advanced unit's and each handling's state
// and reply its own, and at the end every proposal, its history and the listing must be what
// the model holds.
//
// The model shares no code with the service: the kit's own lifecycle table, its own idea of
// which request is invalid. One server serves every case; each case works in its own
// committee, with its own document numbers and request ids, so cases never interfere. The model
// itself is checked on a fixed scenario in `model_oracle.rs`.
//
// `PROPTEST_CASES=500 cargo test --test model` runs more cases.

use std::collections::HashMap;

use common::hostile::{self, runtime};
use common::lifecycle::{Command, STATES, State, state_name};
use common::model::{
    Case, Expect, KindChoice, Meta, Model, Op, Part, Rid, SESSION, Snap, build, forward_of,
    scenario,
};
use common::requests::CommandRequest;
use common::{Client, TestServer};
use proposal_service::pb;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use tonic::{Code, Status};
use tonic_types::StatusExt;

#[test]
fn the_service_behaves_like_the_model() {
    let runtime = runtime();
    let mut server = runtime.block_on(TestServer::start());
    let client = server.client.clone();
    let mut runner = TestRunner::new(config(48));
    let result = runner.run(&scenario(), |(pool, ops)| {
        let mut client = client.clone();
        runtime.block_on(run_case(&mut client, pool, &ops))
    });
    runtime.block_on(server.stop());
    if let Err(e) = result {
        panic!("{e}");
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
    // 分办: every handling is SPLIT, each with its own reply and records.
    let split: Vec<&pb::Handling> = actual
        .handlings
        .iter()
        .filter(|h| h.role() == pb::HandlingRole::Split)
        .collect();
    let sole = actual.handlings.first().filter(|_| split.is_empty());
    let co: Vec<&pb::Handling> = actual
        .handlings
        .iter()
        .filter(|h| h.role() == pb::HandlingRole::Co)
        .collect();
    let none_if_empty = |text: &str| (!text.is_empty()).then(|| text.to_owned());
    let observed = Snap {
        state: match actual.state() {
            State::Unspecified => {
                return Err(format!("state UNSPECIFIED in {}", short(actual)));
            }
            state => state,
        },
        version: actual.version,
        title: actual.title.clone(),
        handling_unit: none_if_empty(&actual.handling_unit),
        due_date: none_if_empty(&actual.due_date),
        reply_body,
        signer: none_if_empty(&actual.signer),
        document_number: none_if_empty(&actual.document_number),
        copy_to: actual.copy_to.clone(),
        copied_to: actual.copied_to.clone(),
        acknowledged: sole.is_some_and(|h| !h.acknowledged_date.is_empty()),
        contacts: sole.map_or(0, |h| h.contacts.len()),
        pending_extension: sole
            .and_then(|h| h.extensions.last())
            .filter(|e| e.status() == pb::RequestStatus::Pending)
            .map(|e| e.new_due_date.clone()),
        pending_return: sole
            .and_then(|h| h.return_requests.last())
            .is_some_and(|r| r.status() == pb::RequestStatus::Pending),
        original_due_date: sole.and_then(|h| none_if_empty(&h.original_due_date)),
        merged_into: none_if_empty(&actual.merged_into),
        merged: actual.merged_proposal_ids.clone(),
        co_units: co.iter().map(|h| h.unit.clone()).collect(),
        opinions_pending: co
            .iter()
            .filter(|h| h.opinion.is_none())
            .map(|h| h.unit.clone())
            .collect(),
        splits: split.iter().map(|h| part_of(h)).collect(),
        proposers: actual.proposers.clone(),
        key: actual.key.is_some(),
        round: actual.round,
        verdicts: actual
            .feedback
            .iter()
            .map(|f| (f.proposer.clone(), f.satisfaction))
            .collect(),
    };
    if !split.is_empty() {
        // The proposal is the first split unit's; each handling holds its own reply.
        if split.len() != actual.handlings.len()
            || Some(&split[0].unit) != observed.handling_unit.as_ref()
        {
            return Err(format!(
                "slot {slot}: split handlings {:?} mixed with others, or not led by the \
                 proposal's unit",
                actual.handlings
            ));
        }
        if &observed != model {
            return Err(format!(
                "slot {slot}: the service has\n  {observed:?}\nthe model has\n  {model:?}"
            ));
        }
        return same_registration(case, slot, id, actual);
    }
    // An assigned proposal has one replying handling first, its unit's, with the proposal's
    // due date: SOLE, or LEAD before its co-units.
    let role = if co.is_empty() {
        pb::HandlingRole::Sole
    } else {
        pb::HandlingRole::Lead
    };
    // Its state, reply, signer, document and copies are the proposal's.
    let own = |h: &pb::Handling| {
        (
            h.state,
            &h.reply,
            &h.signer,
            &h.document_number,
            &h.issue_date,
            &h.issuing_office,
            (&h.copy_to, &h.sign_date),
            &h.copied_to,
        ) == (
            actual.state,
            &actual.reply,
            &actual.signer,
            &actual.document_number,
            &actual.issue_date,
            &actual.issuing_office,
            (&actual.copy_to, &actual.sign_date),
            &actual.copied_to,
        )
    };
    if actual.handlings.len() != usize::from(sole.is_some()) + co.len()
        || sole.is_some() != observed.handling_unit.is_some()
        || sole.is_some_and(|h| {
            Some(&h.unit) != observed.handling_unit.as_ref()
                || none_if_empty(&h.due_date) != observed.due_date
                || h.role() != role
                || !own(h)
        })
    {
        return Err(format!(
            "slot {slot}: handlings {:?} do not match the proposal's unit and due date",
            actual.handlings
        ));
    }
    if &observed != model {
        return Err(format!(
            "slot {slot}: the service has\n  {observed:?}\nthe model has\n  {model:?}"
        ));
    }
    same_registration(case, slot, id, actual)
}

/// A split handling (分办) as the model holds it.
fn part_of(h: &pb::Handling) -> Part {
    let none_if_empty = |text: &str| (!text.is_empty()).then(|| text.to_owned());
    Part {
        unit: h.unit.clone(),
        state: h.state(),
        due_date: none_if_empty(&h.due_date),
        original_due_date: none_if_empty(&h.original_due_date),
        reply_body: h.reply.as_ref().map(|r| r.body.clone()),
        signer: none_if_empty(&h.signer),
        document_number: none_if_empty(&h.document_number),
        copy_to: h.copy_to.clone(),
        copied_to: h.copied_to.clone(),
        acknowledged: !h.acknowledged_date.is_empty(),
        contacts: h.contacts.len(),
        pending_extension: h
            .extensions
            .last()
            .filter(|e| e.status() == pb::RequestStatus::Pending)
            .map(|e| e.new_due_date.clone()),
        pending_return: h
            .return_requests
            .last()
            .is_some_and(|r| r.status() == pb::RequestStatus::Pending),
    }
}

/// The proposal's committee, session, number and id are the slot's.
fn same_registration(
    case: &Case,
    slot: usize,
    id: Option<&str>,
    actual: &pb::Proposal,
) -> Result<(), String> {
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
        Expect::Precondition(reason) => (Code::FailedPrecondition, *reason),
        Expect::FeedbackRecorded => (Code::AlreadyExists, "FEEDBACK_RECORDED"),
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
            ("currentState", state_name(*current).to_owned()),
            ("command", command.rpc_name().to_owned()),
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

fn event_kind(event: &pb::ProposalEvent) -> Option<Command> {
    event.data.as_ref().map(Command::of_event)
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
            let from = model.from.unwrap_or(State::Unspecified);
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
                model.to,
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
                && d.revision != model.revision
            {
                return Err(format!(
                    "slot {slot} event {}: revision {}",
                    i + 1,
                    d.revision
                ));
            }
            // A command on the reply names the split unit whose reply it is (none elsewhere).
            let reply_unit = match &actual.data {
                Some(pb::proposal_event::Data::Drafted(d)) => Some(&d.handling_unit),
                Some(pb::proposal_event::Data::DraftRejected(d)) => Some(&d.handling_unit),
                Some(pb::proposal_event::Data::Signed(d)) => Some(&d.handling_unit),
                Some(pb::proposal_event::Data::Issued(d)) => Some(&d.handling_unit),
                Some(pb::proposal_event::Data::Copied(d)) => Some(&d.handling_unit),
                _ => None,
            };
            if reply_unit.is_some_and(|unit| *unit != model.handling_unit) {
                return Err(format!(
                    "slot {slot} event {}: the reply of {reply_unit:?}, the model has {:?}",
                    i + 1,
                    model.handling_unit
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
    for state in [None].into_iter().chain(STATES.map(Some)) {
        let request = pb::ListProposalsRequest {
            state: state.unwrap_or(State::Unspecified).into(),
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
    let mut keyed: Vec<(Meta, CommandRequest)> = Vec::new();
    let mut log: Vec<String> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let (meta, sent) = match op {
            Op::Retry(pick) => {
                if keyed.is_empty() {
                    continue;
                }
                keyed[pick.index(keyed.len())].clone()
            }
            Op::Command(choice) => {
                let slot = choice.slot % pool;
                let kind = match choice.kind {
                    KindChoice::Exactly(kind) => kind,
                    KindChoice::Forward => {
                        forward_of(model.slots[slot].as_ref().map(|s| &s.now), choice.payload)
                    }
                };
                let request_id = match choice.rid {
                    Rid::None => String::new(),
                    Rid::ReuseOf(pick) if !keyed.is_empty() => {
                        keyed[pick.index(keyed.len())].1.request_id().to_owned()
                    }
                    Rid::Fresh | Rid::ReuseOf(_) => format!("{}-op{i}", case.prefix),
                };
                build(
                    &case,
                    &model,
                    kind,
                    slot,
                    choice.payload,
                    choice.version,
                    choice.actor,
                    request_id,
                )
            }
        };
        let expect = model.step(&meta, &sent);
        let answer = sent.clone().send(client).await.and_then(|p| {
            p.ok_or_else(|| Status::internal("test: an OK answer without a proposal"))
        });
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

/// Cases per run: 48 unless PROPTEST_CASES says otherwise; at most 2,048 shrink steps.
fn config(default_cases: u32) -> Config {
    Config {
        max_shrink_iters: 2048,
        ..hostile::config(default_cases, file!())
    }
}
