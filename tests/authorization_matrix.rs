mod common;

// The role matrix of `src/auth/mod.rs` over real gRPC, call by call: every RPC made by every
// role (the unit-bound ones for their own unit and another), allowed or denied exactly as the
// matrix says; an allowed command records one event under the caller's name, a denied call
// changes nothing.
//
// The expected outcomes are the test's own copy of the matrix, written out below; the service's
// `grant` is never asked.

use std::collections::HashMap;

use common::lifecycle::State;
use common::principals::{CALLERS, Guarded, Member, Rpc, UNIT_A, drive, drive_led, invoke};
use common::reads::{get, whole_log};
use common::requests::{self as rq, CommandRequest};
use common::status::assert_not_in_remit;
use proposal_service::pb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_is_allowed_or_denied_for_every_role_exactly_as_the_matrix_says() {
    let guarded = Guarded::start().await;
    let admin = guarded.admin();
    // Proposals of unit A waiting in a state (and, for a decision, with an extension request
    // pending; for an opinion, led by a third unit with unit A co-handling), reused until an allowed
    // command changes them.
    let mut waiting: HashMap<(State, Need), pb::Proposal> = HashMap::new();
    let (mut allowed, mut denied) = (0, 0);
    for (rpc, _) in MATRIX {
        for caller in CALLERS {
            let what = format!(
                "{rpc:?} as {} ({:?}, {:?})",
                caller.name, caller.role, caller.unit
            );
            // A decision needs a request to decide on.
            let need = match rpc {
                Rpc::DecideExtension => Need::PendingExtension,
                Rpc::DecideReturn => Need::PendingReturn,
                Rpc::SubmitOpinion => Need::CoHandledByA,
                Rpc::Reopen => Need::Dissatisfied,
                _ => Need::Nothing,
            };
            let target = match rpc.target_state() {
                Some(state) => match waiting.get(&(state, need)) {
                    Some(p) => Some(p.clone()),
                    None if need == Need::CoHandledByA => {
                        let p = drive_led(&admin, LEAD, &[UNIT_A], state).await;
                        waiting.insert((state, need), p.clone());
                        Some(p)
                    }
                    None => {
                        let mut p = drive(&admin, UNIT_A, state).await;
                        if need != Need::Nothing {
                            let request = match rpc {
                                Rpc::DecideReturn => CommandRequest::from(rq::request_return(&p)),
                                Rpc::Reopen => CommandRequest::from(rq::verdict(
                                    &p,
                                    pb::Satisfaction::NotSatisfied,
                                )),
                                _ => CommandRequest::from(rq::request_extension(&p)),
                            };
                            let sent = request.by("").send(&mut admin.clone()).await;
                            p = sent.unwrap().expect("the proposal after the request");
                        }
                        waiting.insert((state, need), p.clone());
                        Some(p)
                    }
                },
                None => None,
            };
            // A merge needs a second proposal to merge into (a fresh one each time).
            let into = match rpc {
                Rpc::Merge => Some(drive(&admin, UNIT_A, State::Received).await),
                _ => None,
            };
            let log_before = whole_log(&admin).await;
            let result = match &into {
                Some(into) => {
                    let p = target.as_ref().expect("a proposal to merge");
                    let request = CommandRequest::from(rq::merge(p, into)).by("");
                    request.send(&mut guarded.client(caller)).await
                }
                None => invoke(&guarded.client(caller), rpc, target.as_ref()).await,
            };
            let log_after = whole_log(&admin).await;
            if expected_allowed(rpc, caller) {
                allowed += 1;
                let answer = result.unwrap_or_else(|s| panic!("{what} must be allowed: {s:?}"));
                if !rpc.is_command() {
                    assert_eq!(log_after, log_before, "{what}: a read wrote");
                    continue;
                }
                let proposal = answer.unwrap();
                // A merge records on both proposals, the merged one first.
                let appended = if into.is_some() { 2 } else { 1 };
                assert_eq!(
                    log_after.len(),
                    log_before.len() + appended,
                    "{what}: {appended} event(s) appended"
                );
                assert_eq!(log_after[..log_before.len()], log_before[..], "{what}");
                let event = &log_after[log_before.len()];
                assert_eq!(event.actor, caller.name, "{what}: the recorded actor");
                assert_eq!(event.proposal_id, proposal.id, "{what}");
                if let Some(target) = &target {
                    assert_eq!(proposal.id, target.id, "{what}");
                    waiting.remove(&(target.state(), need));
                }
            } else {
                denied += 1;
                match result {
                    Ok(answer) => panic!("{what} must be denied, was answered {answer:?}"),
                    Err(status) => assert_not_in_remit(&status, &what),
                }
                assert_eq!(log_after, log_before, "{what}: a denied call wrote");
                if let Some(target) = &target {
                    assert_eq!(&get(&admin, &target.id).await, target, "{what}: changed it");
                }
            }
        }
    }
    assert_eq!(allowed + denied, MATRIX.len() * CALLERS.len());
    assert!(allowed > 0 && denied > 0);
}

/// The lead unit of the proposals unit A co-handles.
const LEAD: &str = "许昌市财政局";

/// What a call's target proposal needs besides its state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Need {
    Nothing,
    /// A unit's extension request for the office to decide.
    PendingExtension,
    /// A unit's request to return the proposal.
    PendingReturn,
    /// Unit A as a co-unit (led by a third unit).
    CoHandledByA,
    /// A proposer recorded not satisfied with the reply (to reopen it).
    Dissatisfied,
}

// ---------------------------------------------------------------------------------------------
// The matrix
// ---------------------------------------------------------------------------------------------

/// One cell of the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Remit {
    /// Allowed on every proposal (for listings and streams: allowed, narrowed to the caller's
    /// unit for unit-bound roles; the narrowing has its own test below).
    Yes,
    /// Allowed on the proposals the caller's unit is handling; denied on another unit's.
    OwnUnit,
    No,
}

use Remit::{No as N, OwnUnit as O, Yes as Y};

/// The matrix of `src/auth/mod.rs`, written out. Columns: registrar, unit, signer, office,
/// auditor, admin, proposer ([`Role::COLUMNS`]). The proposer's cells are for proposals she
/// made, which every proposal here is (tests/proposer_role.rs has another's refused).
const MATRIX: [(Rpc, [Remit; 7]); 30] = [
    (Rpc::Receive, [Y, N, N, N, N, Y, N]),
    (Rpc::Assign, [Y, N, N, N, N, Y, N]),
    // A unit returns directly only under rules that allow it (not the defaults); the office
    // withdraws an assignment.
    (Rpc::Return, [Y, N, N, N, N, Y, N]),
    (Rpc::Draft, [N, O, N, N, N, Y, N]),
    (Rpc::RejectDraft, [N, N, O, N, N, Y, N]),
    (Rpc::Sign, [N, N, O, N, N, Y, N]),
    (Rpc::Issue, [N, N, N, O, N, Y, N]),
    (Rpc::Copy, [N, N, N, O, N, Y, N]),
    (Rpc::Refuse, [Y, N, N, N, N, Y, N]),
    (Rpc::Acknowledge, [N, O, N, N, N, Y, N]),
    (Rpc::Contact, [N, O, N, N, N, Y, N]),
    (Rpc::RequestExtension, [N, O, N, N, N, Y, N]),
    (Rpc::DecideExtension, [Y, N, N, N, N, Y, N]),
    (Rpc::RequestReturn, [N, O, N, N, N, Y, N]),
    (Rpc::DecideReturn, [Y, N, N, N, N, Y, N]),
    // On a proposal unit A co-handles, led by a third unit (tests/handling.rs has the lead's
    // own clerk refused: NOT_A_CO_UNIT).
    (Rpc::SubmitOpinion, [N, O, N, N, N, Y, N]),
    // 并案 is the committee's (a fresh proposal to merge into each time).
    (Rpc::Merge, [Y, N, N, N, N, Y, N]),
    // After the reply: the office's acts; a proposer gives her own verdict.
    (Rpc::RecordFeedback, [Y, N, N, N, N, Y, Y]),
    (Rpc::Close, [Y, N, N, N, N, Y, N]),
    (Rpc::SetKey, [Y, N, N, N, N, Y, N]),
    (Rpc::Reopen, [Y, N, N, N, N, Y, N]),
    (Rpc::Statistics, [Y, N, N, N, Y, Y, N]),
    (Rpc::Get, [Y, O, O, O, Y, Y, Y]),
    (Rpc::List, [Y, Y, Y, Y, Y, Y, Y]),
    (Rpc::History, [Y, O, O, O, Y, Y, Y]),
    (Rpc::ListEvents, [Y, Y, Y, Y, Y, Y, N]),
    (Rpc::Watch, [Y, Y, Y, Y, Y, Y, N]),
    (Rpc::Verify, [N, N, N, N, Y, Y, N]),
    (Rpc::Render, [Y, O, O, O, Y, Y, Y]),
    (Rpc::Rules, [Y, Y, Y, Y, Y, Y, Y]),
];

/// Whether `caller` may make `rpc` on a proposal unit A is handling.
fn expected_allowed(rpc: Rpc, caller: Member) -> bool {
    let row = MATRIX.iter().find(|(r, _)| *r == rpc).unwrap().1;
    match row[caller.role.column()] {
        Remit::Yes => true,
        Remit::OwnUnit => caller.unit == Some(UNIT_A),
        Remit::No => false,
    }
}
