mod common;

// What a principal may see and do beyond the matrix, over real gRPC: unit-bound principals list
// and watch only their unit's proposals and events, and read a proposal only while their unit
// handles it; an authenticated caller acts only under its own name; idempotency keys belong to
// a principal.

use std::collections::BTreeSet;

use common::lifecycle::State;
use common::principals::{
    ADMIN, AUDITOR, AuthClient, Guarded, REGISTRAR, REGISTRAR_2, Rpc, UNIT_A, UNIT_A_CLERK,
    UNIT_A_MEMBERS, UNIT_A_SIGNER, UNIT_B, UNIT_B_CLERK, UNIT_B_MEMBERS, drive, invoke,
    listed_events, listed_proposals, next_event,
};
use common::reads::{get, whole_log};
use common::requests::{self as rq, CommandFields, next_number};
use common::status::assert_not_in_remit;
use proposal_service::pb;
use tonic::{Code, Status};
use tonic_types::StatusExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unit_principals_list_and_watch_only_their_units_proposals_and_events() {
    let guarded = Guarded::start().await;
    let admin = guarded.admin();
    let a_drafted = drive(&admin, UNIT_A, State::Drafted).await;
    let a_assigned = drive(&admin, UNIT_A, State::Assigned).await;
    let b_assigned = drive(&admin, UNIT_B, State::Assigned).await;
    let unassigned = drive(&admin, UNIT_A, State::Received).await;
    // Returned by A and reassigned to B: its assignment to A and the return are A's events,
    // its reassignment B's; the proposal itself is now B's.
    let moved = returned_then_assigned_to_b(&admin).await;

    // The events each unit may see, by (proposal, sequence): from the assignment on.
    let keys = |list: &[(&pb::Proposal, &[u64])]| -> BTreeSet<(String, u64)> {
        list.iter()
            .flat_map(|(p, seqs)| seqs.iter().map(|s| (p.id.clone(), *s)))
            .collect()
    };
    let seen_by_a = keys(&[
        (&a_drafted, &[2, 3]),
        (&a_assigned, &[2]),
        (&moved, &[2, 3]),
    ]);
    let seen_by_b = keys(&[(&b_assigned, &[2]), (&moved, &[4])]);
    let log = whole_log(&admin).await;
    let part = |keys: &BTreeSet<(String, u64)>| -> Vec<pb::ProposalEvent> {
        let events: Vec<_> = log
            .iter()
            .filter(|e| keys.contains(&(e.proposal_id.clone(), e.sequence)))
            .cloned()
            .collect();
        assert_eq!(
            events.len(),
            keys.len(),
            "the log holds every expected event"
        );
        events
    };
    let units = [
        (
            UNIT_A,
            UNIT_B,
            UNIT_A_MEMBERS,
            ids(&[a_drafted.clone(), a_assigned.clone()]),
            part(&seen_by_a),
        ),
        (
            UNIT_B,
            UNIT_A,
            UNIT_B_MEMBERS,
            ids(&[b_assigned.clone(), moved.clone()]),
            part(&seen_by_b),
        ),
    ];

    for (own, other, members, proposals, events) in &units {
        for member in members {
            let client = guarded.client(*member);
            let what = format!("{} of {own}", member.name);
            for filter in ["", own] {
                let listed = listed_proposals(&client, filter).await.unwrap();
                assert_eq!(ids(&listed), *proposals, "{what}: ListProposals {filter:?}");
                let listed = listed_events(&client, filter).await.unwrap();
                assert_eq!(&listed, events, "{what}: ListEvents {filter:?}");
            }
            let refused = listed_proposals(&client, other).await.unwrap_err();
            assert_not_in_remit(&refused, &format!("{what}: ListProposals of {other}"));
            let refused = listed_events(&client, other).await.unwrap_err();
            assert_not_in_remit(&refused, &format!("{what}: ListEvents of {other}"));
            let refused = client.clone().watch_events(rq::watch(other)).await;
            assert_not_in_remit(
                &refused.unwrap_err(),
                &format!("{what}: WatchEvents of {other}"),
            );
        }
    }
    // The unbound readers see everything.
    let everything = ids(&[
        a_drafted.clone(),
        a_assigned.clone(),
        b_assigned.clone(),
        unassigned.clone(),
        moved.clone(),
    ]);
    for member in [REGISTRAR, AUDITOR, ADMIN] {
        let client = guarded.client(member);
        let listed = listed_proposals(&client, "").await.unwrap();
        assert_eq!(ids(&listed), everything, "{}: ListProposals", member.name);
        let listed = listed_events(&client, "").await.unwrap();
        assert_eq!(listed, log, "{}: ListEvents", member.name);
    }

    // Watchers: the backlog is exactly the unit's part of the log, and of the live events only
    // the unit's arrive.
    let mut watchers = Vec::new();
    for (own, _, members, _, events) in &units {
        for member in members {
            let what = format!("WatchEvents as {} of {own}", member.name);
            let mut stream = guarded
                .client(*member)
                .watch_events(rq::watch(""))
                .await
                .unwrap_or_else(|s| panic!("{what}: {s:?}"))
                .into_inner();
            for expected in events {
                assert_eq!(
                    &next_event(&mut stream, &what).await,
                    expected,
                    "{what}: backlog"
                );
            }
            watchers.push((*own, what, stream));
        }
    }
    let mut unbound = guarded
        .client(AUDITOR)
        .watch_events(rq::watch(""))
        .await
        .unwrap()
        .into_inner();
    for expected in &log {
        assert_eq!(&next_event(&mut unbound, "auditor").await, expected);
    }
    // Live, the units taking turns, with a return (A's event) and a reassignment (B's).
    let proposal = |r: Result<Option<pb::Proposal>, Status>| r.unwrap().unwrap();
    let mut live = Vec::new();
    let returned = admin
        .clone()
        .return_proposal(rq::return_(&a_assigned).by(""))
        .await;
    live.push((returned.unwrap().into_inner().proposal.unwrap(), UNIT_A));
    live.push((
        proposal(invoke(&admin, Rpc::Draft, Some(&b_assigned)).await),
        UNIT_B,
    ));
    live.push((
        proposal(invoke(&admin, Rpc::Draft, Some(&a_drafted)).await),
        UNIT_A,
    ));
    let reassigned = admin
        .clone()
        .assign_proposal(rq::assign_to(&live[0].0, UNIT_B).by(""))
        .await;
    live.push((reassigned.unwrap().into_inner().proposal.unwrap(), UNIT_B));
    live.push((
        proposal(invoke(&admin, Rpc::Draft, Some(&a_drafted)).await),
        UNIT_A,
    ));
    for expected in &live {
        let got = next_event(&mut unbound, "auditor").await;
        assert_eq!(
            (&got.proposal_id, got.sequence),
            (&expected.0.id, expected.0.version)
        );
    }
    for (unit, what, stream) in &mut watchers {
        for (proposal, _) in live.iter().filter(|(_, u)| u == unit) {
            let got = next_event(stream, what).await;
            assert_eq!(
                (&got.proposal_id, got.sequence),
                (&proposal.id, proposal.version),
                "{what}: live"
            );
        }
    }
    // Listings agree with the streams afterwards.
    let key = |e: &pb::ProposalEvent| (e.proposal_id.clone(), e.sequence);
    for (own, _, members, _, events) in &units {
        let mut expected: Vec<_> = events.iter().map(key).collect();
        expected.extend(
            live.iter()
                .filter(|(_, u)| u == own)
                .map(|(p, _)| (p.id.clone(), p.version)),
        );
        for member in members {
            let listed = listed_events(&guarded.client(*member), "").await.unwrap();
            let listed: Vec<_> = listed.iter().map(key).collect();
            assert_eq!(
                listed, expected,
                "{}: ListEvents after the live events",
                member.name
            );
        }
    }
}

/// SECURITY.md, "What a unit-bound caller reads": a proposal is readable by a unit's members
/// exactly while their unit handles it. Before the assignment, after their unit returned it,
/// and once it went to another unit, GetProposal, GetProposalHistory and RenderReply are
/// PERMISSION_DENIED; the events of the time their unit handled it stay in their audit trail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_reads_a_proposal_only_while_it_handles_it() {
    let guarded = Guarded::start().await;
    let admin = guarded.admin();
    let own = drive(&admin, UNIT_A, State::Copied).await;
    let unassigned = drive(&admin, UNIT_A, State::Received).await;
    let returned = returned_by_a(&admin).await;
    let moved = returned_then_assigned_to_b(&admin).await;
    for member in UNIT_A_MEMBERS {
        let client = guarded.client(member);
        for rpc in [Rpc::Get, Rpc::History, Rpc::Render] {
            let what = format!("{} {rpc:?}", member.name);
            invoke(&client, rpc, Some(&own))
                .await
                .unwrap_or_else(|s| panic!("{what} of its own proposal: {s:?}"));
            for (proposal, which) in [
                (&unassigned, "an unassigned proposal"),
                (&returned, "a proposal its unit returned"),
                (&moved, "a proposal its unit returned, now another unit's"),
            ] {
                let refused = invoke(&client, rpc, Some(proposal)).await.unwrap_err();
                assert_not_in_remit(&refused, &format!("{what} of {which}"));
            }
        }
        // Its audit trail keeps the assignment to its unit and the return, and nothing after.
        let events = listed_events(&client, "").await.unwrap();
        for proposal in [&returned, &moved] {
            let moves: Vec<_> = events
                .iter()
                .filter(|e| e.proposal_id == proposal.id)
                .map(|e| e.to_state())
                .collect();
            assert_eq!(
                moves,
                [pb::ProposalState::Assigned, pb::ProposalState::Received],
                "{}",
                member.name
            );
        }
        assert!(!events.iter().any(|e| e.proposal_id == unassigned.id));
    }
    // Unit B reads the moved proposal, and of its history's events lists only its own part.
    let b = guarded.client(UNIT_B_CLERK);
    invoke(&b, Rpc::History, Some(&moved)).await.unwrap();
    let events = listed_events(&b, "").await.unwrap();
    let moves: Vec<_> = events
        .iter()
        .filter(|e| e.proposal_id == moved.id)
        .map(|e| e.to_state())
        .collect();
    assert_eq!(moves, [pb::ProposalState::Assigned]);
}

// ---------------------------------------------------------------------------------------------
// 2. The recorded actor
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authenticated_caller_acts_only_under_its_own_name() {
    let guarded = Guarded::start().await;
    let admin = guarded.admin();
    let mut registrar = guarded.client(REGISTRAR);

    // Someone else's name, as registrar and as a unit clerk: denied, nothing written.
    let before = whole_log(&admin).await;
    let as_admin = pb::ReceiveProposalRequest {
        actor: ADMIN.name.into(),
        ..rq::receive(next_number())
    };
    let status = registrar.receive_proposal(as_admin).await.unwrap_err();
    assert_not_in_remit(&status, "registrar receiving as the admin");
    let as_stranger = pb::ReceiveProposalRequest {
        actor: "提案委登记员".into(),
        ..rq::receive(next_number())
    };
    let status = registrar.receive_proposal(as_stranger).await.unwrap_err();
    assert_not_in_remit(&status, "registrar receiving as an unlisted name");
    assert_eq!(whole_log(&admin).await, before, "denied calls wrote");

    // Empty: recorded under the principal's name; its own name: the same.
    for actor in ["", REGISTRAR.name] {
        let request = pb::ReceiveProposalRequest {
            actor: actor.into(),
            ..rq::receive(next_number())
        };
        let p = registrar
            .receive_proposal(request)
            .await
            .unwrap()
            .into_inner();
        let event = whole_log(&admin).await.pop().unwrap();
        assert_eq!(event.proposal_id, p.proposal.unwrap().id);
        assert_eq!(event.actor, REGISTRAR.name, "actor {actor:?}");
    }

    // The same for a unit-bound principal on a command of its remit.
    let p = drive(&admin, UNIT_A, State::Assigned).await;
    let mut clerk = guarded.client(UNIT_A_CLERK);
    let before = whole_log(&admin).await;
    let as_colleague = pb::DraftReplyRequest {
        actor: UNIT_A_SIGNER.name.into(),
        ..rq::draft(&p)
    };
    let status = clerk.draft_reply(as_colleague).await.unwrap_err();
    assert_not_in_remit(&status, "clerk drafting as its signer");
    assert_eq!(whole_log(&admin).await, before, "a denied draft wrote");
    assert_eq!(get(&admin, &p.id).await, p);
    let own = pb::DraftReplyRequest {
        actor: UNIT_A_CLERK.name.into(),
        ..rq::draft(&p)
    };
    clerk.draft_reply(own).await.unwrap();
    let event = whole_log(&admin).await.pop().unwrap();
    assert_eq!(
        (event.proposal_id, event.actor),
        (p.id, UNIT_A_CLERK.name.to_owned())
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Idempotency keys belong to a principal
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys_are_scoped_per_principal() {
    let guarded = Guarded::start().await;
    let admin = guarded.admin();
    let (mut x, mut y) = (guarded.client(REGISTRAR), guarded.client(REGISTRAR_2));
    let keyed = |number: u32, key: &str| rq::receive(number).by("").keyed(key);
    let (n, m) = (next_number(), next_number());

    let original = x
        .receive_proposal(keyed(n, "k"))
        .await
        .unwrap()
        .into_inner()
        .proposal
        .unwrap();

    // Y's "k" with X's content is Y's own request: a second proposal numbered n.
    let status = y.receive_proposal(keyed(n, "k")).await.unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    let info = status.get_details_error_info().unwrap();
    assert_eq!(info.reason, "DUPLICATE_PROPOSAL_NUMBER");
    assert_eq!(info.metadata["existingProposalId"], original.id);
    // With another number, a new proposal.
    let own = y
        .receive_proposal(keyed(m, "k"))
        .await
        .unwrap()
        .into_inner()
        .proposal
        .unwrap();
    assert_ne!(own.id, original.id);
    assert_eq!(own.number, m);

    // Retries get each principal's own original result (X also naming itself explicitly).
    let retry = x
        .receive_proposal(keyed(n, "k"))
        .await
        .unwrap()
        .into_inner()
        .proposal;
    assert_eq!(retry.as_ref(), Some(&original), "X's retry");
    let named = pb::ReceiveProposalRequest {
        actor: REGISTRAR.name.into(),
        ..keyed(n, "k")
    };
    let retry = x
        .receive_proposal(named)
        .await
        .unwrap()
        .into_inner()
        .proposal;
    assert_eq!(retry.as_ref(), Some(&original), "X's retry naming itself");
    let retry = y
        .receive_proposal(keyed(m, "k"))
        .await
        .unwrap()
        .into_inner()
        .proposal;
    assert_eq!(retry.as_ref(), Some(&own), "Y's retry");

    // A command: Y reusing X's key on the same proposal is decided afresh (it is assigned
    // already), not answered with X's result.
    let assign_keyed = pb::AssignProposalRequest {
        request_id: "k2".into(),
        ..rq::assign_to(&original, UNIT_A).by("")
    };
    let assigned = x
        .assign_proposal(assign_keyed.clone())
        .await
        .unwrap()
        .into_inner();
    let status = y.assign_proposal(assign_keyed.clone()).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    let retry = x.assign_proposal(assign_keyed).await.unwrap().into_inner();
    assert_eq!(retry, assigned);

    let log = whole_log(&admin).await;
    let summary: Vec<(&str, u64, &str)> = log
        .iter()
        .map(|e| (e.proposal_id.as_str(), e.sequence, e.actor.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (original.id.as_str(), 1, REGISTRAR.name),
            (own.id.as_str(), 1, REGISTRAR_2.name),
            (original.id.as_str(), 2, REGISTRAR.name),
        ],
        "each request recorded once, under its principal"
    );
}

/// The ids of `proposals`.
fn ids(proposals: &[pb::Proposal]) -> BTreeSet<String> {
    proposals.iter().map(|p| p.id.clone()).collect()
}

/// A proposal assigned to unit A and returned by it: RECEIVED, at version 3.
async fn returned_by_a(admin: &AuthClient) -> pb::Proposal {
    let assigned = drive(admin, UNIT_A, State::Assigned).await;
    admin
        .clone()
        .return_proposal(rq::return_(&assigned).by(""))
        .await
        .unwrap()
        .into_inner()
        .proposal
        .unwrap()
}

/// A proposal returned by unit A and then assigned to unit B: its assignment to A and the
/// return are A's events, the reassignment (event 4) B's. As it stood before the reassignment.
async fn returned_then_assigned_to_b(admin: &AuthClient) -> pb::Proposal {
    let returned = returned_by_a(admin).await;
    admin
        .clone()
        .assign_proposal(rq::assign_to(&returned, UNIT_B).by(""))
        .await
        .unwrap();
    returned
}
