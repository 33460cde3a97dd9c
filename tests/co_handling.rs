mod common;

// Lead and co-handling units (主办/会办) over real gRPC, each unit acting as its own
// principal: the office assigns a lead with co-units, each co-unit signs for its part and sends
// the lead its written opinion, the lead signs only once every opinion is in, and its copies
// go to the co-units. A co-unit reads the proposal and sees its events, but acts only on its
// own handling; a co-unit's approved return ends its part alone.

use common::lifecycle::State;
use common::principals::{
    AuthClient, Guarded, REGISTRAR, UNIT_A, UNIT_A_CLERK, UNIT_A_OFFICE, UNIT_A_SIGNER, UNIT_B,
    UNIT_B_CLERK, listed_events, listed_proposals,
};
use common::requests::{self as rq, CommandFields, CommandRequest};
use common::status::{assert_invalid, assert_not_in_remit, error_info};
use proposal_service::pb;
use tonic::{Code, Status};

/// The second co-unit, which has no members of its own: the admin acts for it.
const FINANCE: &str = "许昌市财政局";

async fn send(
    client: &mut AuthClient,
    request: impl Into<CommandRequest>,
) -> Result<pb::Proposal, Status> {
    let proposal = request.into().by("").send(client).await?;
    Ok(proposal.expect("an accepted command answers with the proposal"))
}

/// A proposal received and assigned by the registrar to unit A leading, with unit B and the
/// finance bureau co-handling, on 2019-06-10 (the co-units' opinions due the rules' 30 days
/// later).
async fn led_by_a(registrar: &mut AuthClient) -> pb::Proposal {
    let p = send(
        registrar,
        rq::receive(rq::next_number()).dated("2019-06-01"),
    )
    .await
    .unwrap();
    send(
        registrar,
        rq::assign_with_co(&p, &[UNIT_B, FINANCE]).dated("2019-06-10"),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_unit_signs_once_its_co_units_opinions_are_in_and_copies_them() {
    let guarded = Guarded::start().await;
    let admin = &mut guarded.admin();
    let registrar = &mut guarded.client(REGISTRAR);
    let lead_clerk = &mut guarded.client(UNIT_A_CLERK);
    let co_clerk = &mut guarded.client(UNIT_B_CLERK);
    let p = led_by_a(registrar).await;
    let roles: Vec<(&str, pb::HandlingRole, State, &str)> = p
        .handlings
        .iter()
        .map(|h| (h.unit.as_str(), h.role(), h.state(), h.due_date.as_str()))
        .collect();
    assert_eq!(
        roles,
        [
            (
                UNIT_A,
                pb::HandlingRole::Lead,
                State::Assigned,
                rq::DUE_DATE
            ),
            (UNIT_B, pb::HandlingRole::Co, State::Assigned, "2019-07-10"),
            (FINANCE, pb::HandlingRole::Co, State::Assigned, "2019-07-10"),
        ]
    );
    assert_eq!(
        (p.handling_unit.as_str(), p.state()),
        (UNIT_A, State::Assigned)
    );

    // The co-unit's clerk names no unit: its own handling is meant. A retry replays it.
    let keyed = CommandRequest::from(rq::acknowledge(&p).dated("2019-06-11")).keyed("ack-b");
    let acknowledged = send(co_clerk, keyed.clone()).await.unwrap();
    assert_eq!(send(co_clerk, keyed).await.unwrap(), acknowledged);
    assert_eq!(acknowledged.handlings[1].acknowledged_date, "2019-06-11");
    assert_eq!(acknowledged.handlings[0].acknowledged_date, "");
    // It may not draft the lead's reply, nor the lead send an opinion.
    let status = send(co_clerk, rq::draft(&p)).await.unwrap_err();
    assert_not_in_remit(&status, "a co-unit drafts the lead's reply");
    assert!(status.message().contains(UNIT_A), "{status:?}");
    let status = send(lead_clerk, rq::submit_opinion(&p, ""))
        .await
        .unwrap_err();
    let info = error_info(&status, Code::FailedPrecondition, "NOT_A_CO_UNIT");
    assert_eq!(info["handlingUnit"], UNIT_A);
    // The admin, bound to no unit, must say which co-unit: there are two.
    let status = send(admin, rq::submit_opinion(&p, "")).await.unwrap_err();
    let info = error_info(&status, Code::FailedPrecondition, "HANDLING_UNIT_REQUIRED");
    assert_eq!(info["coUnits"], "2");
    assert_invalid(
        send(
            co_clerk,
            pb::SubmitOpinionRequest {
                contact_person: String::new(),
                ..rq::submit_opinion(&p, "")
            },
        )
        .await,
        "contact_person",
        "an opinion without a contact",
    );

    let with_opinion = send(co_clerk, rq::submit_opinion(&p, "").dated("2019-06-20"))
        .await
        .unwrap();
    let co = &with_opinion.handlings[1];
    let opinion = co.opinion.as_ref().expect("the opinion is in");
    assert_eq!(
        (
            opinion.body.as_str(),
            opinion.contact_person.as_str(),
            opinion.submitted_date.as_str()
        ),
        (rq::OPINION_BODY, "王明", "2019-06-20")
    );
    assert_eq!(co.state(), State::Issued, "a co-unit's part is done");
    assert_eq!(with_opinion.state(), State::Assigned);

    let drafted = send(lead_clerk, rq::draft(&p).dated("2019-07-01"))
        .await
        .unwrap();
    assert_eq!(drafted.state(), State::Drafted);
    let signer = &mut guarded.client(UNIT_A_SIGNER);
    let status = send(signer, rq::sign(&p).dated("2019-07-02"))
        .await
        .unwrap_err();
    let info = error_info(&status, Code::FailedPrecondition, "CO_OPINIONS_PENDING");
    assert_eq!(info["pendingUnits"], FINANCE);
    let finance = rq::submit_opinion(&p, FINANCE).dated("2019-07-02");
    send(admin, finance).await.unwrap();
    let signed = send(signer, rq::sign(&p).dated("2019-07-03"))
        .await
        .unwrap();
    assert_eq!(signed.state(), State::Signed);
    // Once the lead has signed, an opinion comes too late.
    let late = send(co_clerk, rq::submit_opinion(&p, "").dated("2019-07-03")).await;
    assert_eq!(late.unwrap_err().code(), Code::FailedPrecondition);

    let office = &mut guarded.client(UNIT_A_OFFICE);
    send(office, rq::issue(&p).dated("2019-07-04"))
        .await
        .unwrap();
    let copied = send(office, rq::copy(&p).dated("2019-07-05"))
        .await
        .unwrap();
    for unit in [UNIT_B, FINANCE] {
        assert!(copied.copied_to.iter().any(|c| c == unit), "{copied:?}");
    }
    assert!(
        copied.handlings.iter().all(|h| h.state() == State::Copied),
        "{:?}",
        copied.handlings
    );
    let rendered = co_clerk
        .clone()
        .render_reply(pb::RenderReplyRequest {
            round: 0,
            proposal_id: p.id.clone(),
            handling_unit: String::new(),
        })
        .await
        .expect("a co-unit reads the reply")
        .into_inner()
        .text;
    let copy_line = rendered
        .lines()
        .find(|l| l.starts_with("抄送："))
        .expect("a copy line");
    assert!(
        copy_line.contains(UNIT_B) && copy_line.contains(FINANCE),
        "{copy_line}"
    );

    // The co-unit lists the proposal and sees its events; the opinion is one of them.
    let listed = listed_proposals(co_clerk, UNIT_B).await.unwrap();
    assert_eq!(listed.iter().map(|l| &l.id).collect::<Vec<_>>(), [&p.id]);
    let events = listed_events(co_clerk, UNIT_B).await.unwrap();
    assert_eq!(
        events.len() as u64,
        copied.version - 1,
        "all but the receipt"
    );
    let opinions = events
        .iter()
        .filter(|e| matches!(e.data, Some(pb::proposal_event::Data::OpinionSubmitted(_))))
        .count();
    assert_eq!(opinions, 2);
    let co_roles = pb::ListProposalsRequest {
        handling_role: pb::HandlingRole::Co.into(),
        page_size: 1000,
        ..Default::default()
    };
    let as_co = admin.list_proposals(co_roles.clone()).await.unwrap();
    assert!(as_co.into_inner().proposals.iter().any(|l| l.id == p.id));
    let lead_as_co = pb::ListProposalsRequest {
        handling_unit: UNIT_A.into(),
        ..co_roles
    };
    let none = admin.list_proposals(lead_as_co).await.unwrap().into_inner();
    assert!(none.proposals.iter().all(|l| l.id != p.id), "A leads it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_co_units_approved_return_ends_only_its_part() {
    let guarded = Guarded::start().await;
    let registrar = &mut guarded.client(REGISTRAR);
    let co_clerk = &mut guarded.client(UNIT_B_CLERK);
    let p = led_by_a(registrar).await;
    send(co_clerk, rq::request_return(&p).dated("2019-06-12"))
        .await
        .unwrap();
    let industry = "许昌市工业和信息化局";
    let decided = send(
        registrar,
        pb::DecideReturnRequest {
            handling_unit: UNIT_B.into(),
            reassign_to: industry.into(),
            ..rq::decide_return(&p).dated("2019-06-13")
        },
    )
    .await
    .unwrap();
    assert_eq!(decided.state(), State::Assigned);
    let units: Vec<(&str, pb::HandlingRole, &str)> = decided
        .handlings
        .iter()
        .map(|h| (h.unit.as_str(), h.role(), h.due_date.as_str()))
        .collect();
    assert_eq!(
        units,
        [
            (UNIT_A, pb::HandlingRole::Lead, rq::DUE_DATE),
            (FINANCE, pb::HandlingRole::Co, "2019-07-10"),
            (industry, pb::HandlingRole::Co, "2019-07-13"),
        ]
    );
    // Unit B no longer reads it; its trail keeps what happened while it co-handled.
    let status = co_clerk.get_proposal(rq::get(&p.id)).await.unwrap_err();
    assert_not_in_remit(&status, "a unit whose part ended");
    let events = listed_events(co_clerk, UNIT_B).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        [2, 3, 4]
    );
}
