mod common;

// The handling unit's own records over real gRPC: it signs for the assignment (签收), records
// its contacts with the proposers, asks for a later due date, and the office decides; the rules
// require a contact before a draft and cap extensions. Each refusal carries its reason and
// changes nothing; each record is an event of its own kind in the log.

use common::calls::ok;
use common::lifecycle::State;
use common::principals::{Guarded, REGISTRAR, UNIT_A, UNIT_A_CLERK, UNIT_B_CLERK, drive};
use common::requests::{self as rq, CommandFields, CommandRequest, EXTENDED_DUE_DATE};
use common::status::{assert_invalid, assert_not_in_remit, error_info};
use common::{Client, TestServer, Transport};
use proposal_service::domain::Rules;
use proposal_service::pb;
use proposal_service::pb::proposal_event::Data;
use proposal_service::pb::proposal_service_client::ProposalServiceClient;
use proposal_service::server::ServeOptions;
use tonic::{Code, Status};

/// A proposal received and assigned to the seed's unit (due 2019-08-31), both dated.
async fn assigned(client: &mut Client) -> pb::Proposal {
    let p = ok(client, rq::receive(rq::next_number()).dated("2019-06-01")).await;
    ok(client, rq::assign(&p).dated("2019-06-10")).await
}

/// Sends one command; an accepted one answers with the proposal after it.
async fn send<T: Transport>(
    client: &mut ProposalServiceClient<T>,
    request: impl Into<CommandRequest>,
) -> Result<pb::Proposal, Status> {
    let proposal = request.into().send(client).await?;
    Ok(proposal.expect("an accepted command answers with the proposal"))
}

async fn current(client: &mut Client, id: &str) -> pb::Proposal {
    client
        .get_proposal(rq::get(id))
        .await
        .unwrap()
        .into_inner()
        .proposal
        .unwrap()
}

async fn history(client: &mut Client, id: &str) -> Vec<pb::ProposalEvent> {
    client
        .get_proposal_history(rq::history(id))
        .await
        .unwrap()
        .into_inner()
        .events
}

#[tokio::test]
async fn a_unit_signs_contacts_and_gets_an_extension_and_the_log_records_each_act() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let p = assigned(client).await;
    let handling = &p.handlings[..];
    assert_eq!(handling.len(), 1, "one sole handling: {handling:?}");
    assert_eq!(
        (
            handling[0].unit.as_str(),
            handling[0].role(),
            handling[0].state()
        ),
        (
            rq::SEED.handling_unit.as_str(),
            pb::HandlingRole::Sole,
            State::Assigned
        )
    );
    assert_eq!(handling[0].assigned_date, "2019-06-10");
    assert_eq!(
        (
            handling[0].original_due_date.as_str(),
            handling[0].due_date.as_str()
        ),
        (rq::DUE_DATE, rq::DUE_DATE)
    );

    let signed = ok(client, rq::acknowledge(&p).dated("2019-06-11")).await;
    assert_eq!(signed.handlings[0].acknowledged_date, "2019-06-11");
    assert_eq!((signed.state(), signed.version), (State::Assigned, 3));

    let contact = pb::RecordContactRequest {
        contact_date: "2019-06-20".into(),
        method: pb::ContactMethod::Meeting as i32,
        ..rq::contact(&p)
    };
    let contacted = ok(client, contact.dated("2019-06-21")).await;
    let recorded = &contacted.handlings[0].contacts;
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        (
            recorded[0].contact_date.as_str(),
            recorded[0].method(),
            recorded[0].summary.as_str()
        ),
        (
            "2019-06-20",
            pb::ContactMethod::Meeting,
            rq::CONTACT_SUMMARY
        )
    );
    assert_eq!(recorded[0].proposers, rq::SEED.proposers, "all by default");

    let requested = ok(client, rq::request_extension(&p).dated("2019-08-20")).await;
    let extension = &requested.handlings[0].extensions[0];
    assert_eq!(extension.status(), pb::RequestStatus::Pending);
    assert_eq!(extension.new_due_date, EXTENDED_DUE_DATE);
    assert_eq!(requested.due_date, rq::DUE_DATE, "not before the decision");

    let approved = ok(client, rq::decide_extension(&p).dated("2019-08-22")).await;
    let extension = &approved.handlings[0].extensions[0];
    assert_eq!(
        (extension.status(), extension.decided_date.as_str()),
        (pb::RequestStatus::Approved, "2019-08-22")
    );
    assert_eq!(approved.due_date, EXTENDED_DUE_DATE);
    assert_eq!(approved.handlings[0].due_date, EXTENDED_DUE_DATE);
    assert_eq!(approved.handlings[0].original_due_date, rq::DUE_DATE);

    // The records carry on through the draft and the signature; the handling keeps them all.
    let drafted = ok(client, rq::draft(&p).dated("2019-09-01")).await;
    assert_eq!(drafted.handlings[0].state(), State::Drafted);
    assert_eq!(drafted.handlings[0].contacts.len(), 1);

    let events = history(client, &p.id).await;
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e.data.as_ref().unwrap() {
            Data::Acknowledged(_) => "acknowledged",
            Data::Contacted(_) => "contacted",
            Data::ExtensionRequested(_) => "extension_requested",
            Data::ExtensionDecided(_) => "extension_decided",
            _ => "move",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "move",
            "move",
            "acknowledged",
            "contacted",
            "extension_requested",
            "extension_decided",
            "move"
        ]
    );
    for record in &events[2..6] {
        assert_eq!(
            (record.from_state(), record.to_state()),
            (State::Assigned, State::Assigned),
            "a record keeps the state"
        );
    }
    match events[5].data.as_ref().unwrap() {
        Data::ExtensionDecided(d) => {
            assert!(d.approved);
            assert_eq!(d.due_date, EXTENDED_DUE_DATE);
            assert_eq!(d.handling_unit, rq::SEED.handling_unit, "the unit resolved");
        }
        other => panic!("{other:?}"),
    }

    // Listed by kind, and the whole store still verifies.
    let listed = client
        .list_events(pb::ListEventsRequest {
            kinds: vec![pb::EventKind::ProposerContacted as i32],
            proposal_id: p.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].sequence, 4);
    let verified = client
        .verify_history(pb::VerifyHistoryRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(verified.ok, "{verified:?}");
}

#[tokio::test]
async fn records_refused_by_the_handling_say_why_and_change_nothing() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let p = assigned(client).await;
    ok(client, rq::acknowledge(&p).dated("2019-06-11")).await;
    let before = current(client, &p.id).await;

    let again = send(client, rq::acknowledge(&p).dated("2019-06-12")).await;
    error_info(
        &again.unwrap_err(),
        Code::FailedPrecondition,
        "ALREADY_ACKNOWLEDGED",
    );

    let stranger = pb::AcknowledgeAssignmentRequest {
        handling_unit: "许昌市财政局".into(),
        ..rq::acknowledge(&p)
    };
    let status = send(client, stranger).await.unwrap_err();
    let info = error_info(&status, Code::FailedPrecondition, "NOT_A_HANDLING_UNIT");
    assert_eq!(info["handlingUnit"], "许昌市财政局");

    let decided = send(client, rq::decide_extension(&p)).await.unwrap_err();
    error_info(&decided, Code::FailedPrecondition, "NO_PENDING_EXTENSION");

    // Not later than the due date in force; beyond the cap of 90 days after 2019-08-31.
    let same = pb::RequestExtensionRequest {
        new_due_date: rq::DUE_DATE.into(),
        ..rq::request_extension(&p)
    };
    assert_invalid(send(client, same).await, "new_due_date", "not later");
    let far = pb::RequestExtensionRequest {
        new_due_date: "2019-11-30".into(),
        ..rq::request_extension(&p)
    };
    let status = send(client, far).await.unwrap_err();
    let info = error_info(&status, Code::FailedPrecondition, "EXTENSION_LIMIT");
    assert_eq!(
        (
            info["daysBeyond"].as_str(),
            info["maxExtensionDays"].as_str()
        ),
        ("91", "90")
    );

    // A contact must be with the proposal's proposers, on a day between the assignment and
    // the act, by a named method.
    let cases = [
        (
            pb::RecordContactRequest {
                proposers: vec!["张三".into()],
                ..rq::contact(&p)
            },
            "proposers[0]",
        ),
        (
            pb::RecordContactRequest {
                contact_date: "2019-06-09".into(),
                ..rq::contact(&p)
            }
            .dated("2019-06-12"),
            "contact_date",
        ),
        (
            pb::RecordContactRequest {
                contact_date: "2019-06-13".into(),
                ..rq::contact(&p)
            }
            .dated("2019-06-12"),
            "contact_date",
        ),
        (
            pb::RecordContactRequest {
                method: 0,
                ..rq::contact(&p)
            },
            "method",
        ),
        (
            pb::RecordContactRequest {
                summary: " ".into(),
                ..rq::contact(&p)
            },
            "summary",
        ),
    ];
    for (request, field) in cases {
        assert_invalid(send(client, request).await, field, field);
    }

    // Outside the states that allow them: a RECEIVED proposal has no handling.
    let received = ok(client, rq::receive(rq::next_number())).await;
    let status = send(client, rq::contact(&received)).await.unwrap_err();
    error_info(&status, Code::FailedPrecondition, "INVALID_TRANSITION");

    assert_eq!(current(client, &p.id).await, before, "nothing changed");

    // One request at a time; a refusal keeps the due date and allows another request.
    ok(client, rq::request_extension(&p).dated("2019-08-01")).await;
    let second = send(client, rq::request_extension(&p)).await.unwrap_err();
    let info = error_info(&second, Code::FailedPrecondition, "EXTENSION_PENDING");
    assert_eq!(info["pendingDueDate"], EXTENDED_DUE_DATE);
    let refusal = pb::DecideExtensionRequest {
        approve: false,
        note: "请按期答复".into(),
        ..rq::decide_extension(&p)
    };
    let refused = ok(client, refusal.dated("2019-08-02")).await;
    assert_eq!(refused.due_date, rq::DUE_DATE);
    let extension = &refused.handlings[0].extensions[0];
    assert_eq!(
        (extension.status(), extension.decision_note.as_str()),
        (pb::RequestStatus::Refused, "请按期答复")
    );
    ok(client, rq::request_extension(&p).dated("2019-08-03")).await;
}

#[tokio::test]
async fn the_rules_can_require_a_contact_before_the_draft_and_narrow_the_cap() {
    let strict = Rules {
        contact_required_before_draft: true,
        max_extension_days: 30,
        ..Rules::default()
    };
    let server = TestServer::start_with(ServeOptions {
        rules: strict,
        ..ServeOptions::default()
    })
    .await;
    let client = &mut server.client.clone();
    let p = assigned(client).await;
    let status = send(client, rq::draft(&p)).await.unwrap_err();
    let info = error_info(&status, Code::FailedPrecondition, "CONTACT_REQUIRED");
    assert_eq!(info["handlingUnit"], rq::SEED.handling_unit);
    // 61 days beyond 2019-08-31: over this locality's 30.
    let status = send(client, rq::request_extension(&p)).await.unwrap_err();
    error_info(&status, Code::FailedPrecondition, "EXTENSION_LIMIT");

    ok(client, rq::contact(&p).dated("2019-06-15")).await;
    let drafted = ok(client, rq::draft(&p)).await;
    assert_eq!(drafted.state(), State::Drafted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn units_record_only_on_their_own_handling_and_the_office_decides() {
    let guarded = Guarded::start().await;
    let admin = guarded.admin();
    let p = drive(&admin, UNIT_A, State::Assigned).await;
    let mut clerk_a = guarded.client(UNIT_A_CLERK);
    let mut clerk_b = guarded.client(UNIT_B_CLERK);
    let mut registrar = guarded.client(REGISTRAR);

    let status = send(&mut clerk_b, rq::acknowledge(&p).by(""))
        .await
        .unwrap_err();
    assert_not_in_remit(&status, "another unit signs");
    let signed = send(&mut clerk_a, rq::acknowledge(&p).by(""))
        .await
        .unwrap();
    assert!(!signed.handlings[0].acknowledged_date.is_empty());
    send(&mut clerk_a, rq::contact(&p).by("")).await.unwrap();
    let status = send(&mut registrar, rq::request_extension(&p).by(""))
        .await
        .unwrap_err();
    assert_not_in_remit(&status, "the office asks for its own extension");
    send(&mut clerk_a, rq::request_extension(&p).by(""))
        .await
        .unwrap();
    let status = send(&mut clerk_a, rq::decide_extension(&p).by(""))
        .await
        .unwrap_err();
    assert_not_in_remit(&status, "a unit decides its own extension");
    let decided = send(&mut registrar, rq::decide_extension(&p).by(""))
        .await
        .unwrap();
    assert_eq!(decided.due_date, EXTENDED_DUE_DATE);
}

// Returns: a unit asks, the office decides.

#[tokio::test]
async fn a_return_is_asked_for_within_the_window_and_the_office_decides_it() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();

    // Refused: the unit keeps it, the request stays on its handling; a second request may follow.
    let p = assigned(client).await;
    let status = send(client, rq::decide_return(&p)).await.unwrap_err();
    error_info(&status, Code::FailedPrecondition, "NO_PENDING_RETURN");
    ok(client, rq::request_return(&p).dated("2019-06-12")).await;
    let status = send(client, rq::request_return(&p)).await.unwrap_err();
    error_info(&status, Code::FailedPrecondition, "RETURN_PENDING");
    let refusal = pb::DecideReturnRequest {
        approve: false,
        note: "属于本单位职责，请办理".into(),
        ..rq::decide_return(&p)
    };
    let kept = ok(client, refusal.dated("2019-06-13")).await;
    assert_eq!(kept.state(), State::Assigned);
    let asked = &kept.handlings[0].return_requests[0];
    assert_eq!(
        (
            asked.status(),
            asked.requested_date.as_str(),
            asked.decided_date.as_str()
        ),
        (pb::RequestStatus::Refused, "2019-06-12", "2019-06-13")
    );

    // The window (7 days by default) counts from the assignment's date to the request's.
    let late = send(client, rq::request_return(&p).dated("2019-06-18"))
        .await
        .unwrap_err();
    let info = error_info(&late, Code::FailedPrecondition, "RETURN_WINDOW_CLOSED");
    assert_eq!(
        (
            info["assignedDate"].as_str(),
            info["daysSinceAssignment"].as_str(),
            info["returnWindowDays"].as_str()
        ),
        ("2019-06-10", "8", "7")
    );

    // Approved: back to RECEIVED with no unit, then assigned anew as usual.
    ok(client, rq::request_return(&p).dated("2019-06-17")).await;
    let back = ok(client, rq::decide_return(&p).dated("2019-06-19")).await;
    assert_eq!(back.state(), State::Received);
    assert!(back.handlings.is_empty() && back.handling_unit.is_empty() && back.due_date.is_empty());
    let again = ok(
        client,
        rq::assign_to(&back, "许昌市教育局").dated("2019-06-20"),
    )
    .await;
    assert_eq!(again.handlings[0].unit, "许昌市教育局");

    // Approved and reassigned at once: the new unit's handling, due the rules' three months
    // after the decision.
    let q = assigned(client).await;
    ok(client, rq::request_return(&q).dated("2019-06-11")).await;
    let reassign = pb::DecideReturnRequest {
        reassign_to: "许昌市住房和城乡建设局".into(),
        ..rq::decide_return(&q)
    };
    let moved = ok(client, reassign.dated("2019-06-14")).await;
    assert_eq!(moved.state(), State::Assigned);
    assert_eq!(moved.handling_unit, "许昌市住房和城乡建设局");
    assert_eq!(moved.due_date, "2019-09-14");
    let handling = &moved.handlings[..];
    assert_eq!(handling.len(), 1);
    assert_eq!(
        (
            handling[0].unit.as_str(),
            handling[0].assigned_date.as_str()
        ),
        ("许昌市住房和城乡建设局", "2019-06-14")
    );
    // The decision is the old unit's event; what follows is the new unit's.
    let unit_events = |unit: &str| pb::ListEventsRequest {
        handling_unit: unit.into(),
        proposal_id: q.id.clone(),
        ..Default::default()
    };
    let old = client
        .list_events(unit_events(&rq::SEED.handling_unit))
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(
        old.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        [2, 3, 4]
    );
    ok(client, rq::acknowledge(&moved).dated("2019-06-15")).await;
    let new = client
        .list_events(unit_events("许昌市住房和城乡建设局"))
        .await
        .unwrap()
        .into_inner()
        .events;
    // The decision that handed it over is in the new unit's trail too, as an assignment is.
    assert_eq!(new.iter().map(|e| e.sequence).collect::<Vec<_>>(), [4, 5]);

    // A refusal cannot reassign; nor can the unit that asked be the new one.
    let r = assigned(client).await;
    ok(client, rq::request_return(&r).dated("2019-06-11")).await;
    let refused_reassign = pb::DecideReturnRequest {
        approve: false,
        reassign_to: "许昌市教育局".into(),
        ..rq::decide_return(&r)
    };
    assert_invalid(
        send(client, refused_reassign).await,
        "reassign_to",
        "refused",
    );
    let same_unit = pb::DecideReturnRequest {
        reassign_to: rq::SEED.handling_unit.clone(),
        ..rq::decide_return(&r)
    };
    assert_invalid(send(client, same_unit).await, "reassign_to", "same unit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn units_return_directly_only_when_the_rules_allow_it() {
    let guarded = Guarded::start().await;
    let admin = guarded.admin();
    let mut clerk_a = guarded.client(UNIT_A_CLERK);
    let mut registrar = guarded.client(REGISTRAR);
    let p = drive(&admin, UNIT_A, State::Assigned).await;
    let status = send(&mut clerk_a, rq::return_(&p).by(""))
        .await
        .unwrap_err();
    assert_not_in_remit(&status, "a unit returns directly under the default rules");
    send(&mut clerk_a, rq::request_return(&p).by(""))
        .await
        .unwrap();
    let status = send(&mut clerk_a, rq::decide_return(&p).by(""))
        .await
        .unwrap_err();
    assert_not_in_remit(&status, "a unit decides its own return");
    let back = send(&mut registrar, rq::decide_return(&p).by(""))
        .await
        .unwrap();
    assert_eq!(back.state(), State::Received);
    // The office withdraws an assignment (撤回交办) without a request.
    let q = drive(&admin, UNIT_A, State::Assigned).await;
    let withdrawn = send(&mut registrar, rq::return_(&q).by("")).await.unwrap();
    assert_eq!(withdrawn.state(), State::Received);

    let lenient = Guarded::start_with(Rules {
        unit_may_return_directly: true,
        ..Rules::default()
    })
    .await;
    let p = drive(&lenient.admin(), UNIT_A, State::Assigned).await;
    let mut clerk = lenient.client(UNIT_A_CLERK);
    let returned = send(&mut clerk, rq::return_(&p).by("")).await.unwrap();
    assert_eq!(returned.state(), State::Received);
}
