mod common;

// Split units (分办) over real gRPC, each unit acting as its own principal: the office splits a
// proposal between two units, each drafts, signs, issues and copies its own reply under its own
// document number, the proposal stands where the slower unit does, and each reply renders on
// its own. A unit acts only on its own reply; a split unit's approved return ends its part, and
// the last one's gives the proposal back to the office.

use common::lifecycle::State;
use common::principals::{
    AuthClient, Guarded, REGISTRAR, UNIT_A, UNIT_A_CLERK, UNIT_A_OFFICE, UNIT_A_SIGNER, UNIT_B,
    UNIT_B_CLERK, UNIT_B_OFFICE, UNIT_B_SIGNER, listed_events, listed_proposals,
};
use common::requests::{self as rq, CommandFields, CommandRequest};
use common::status::{assert_invalid, assert_not_in_remit, error_info};
use proposal_service::pb;
use tonic::{Code, Status};

async fn send(
    client: &mut AuthClient,
    request: impl Into<CommandRequest>,
) -> Result<pb::Proposal, Status> {
    let proposal = request.into().by("").send(client).await?;
    Ok(proposal.expect("an accepted command answers with the proposal"))
}

/// A proposal received and split by the registrar between unit A and unit B on 2019-06-10.
async fn split_between_a_and_b(registrar: &mut AuthClient) -> pb::Proposal {
    let p = send(
        registrar,
        rq::receive(rq::next_number()).dated("2019-06-01"),
    )
    .await
    .unwrap();
    let split = pb::AssignProposalRequest {
        split_units: vec![UNIT_B.into()],
        ..rq::assign(&p)
    };
    send(registrar, split.dated("2019-06-10")).await.unwrap()
}

/// Each handling's unit, role and own state.
fn parts(p: &pb::Proposal) -> Vec<(&str, pb::HandlingRole, State)> {
    p.handlings
        .iter()
        .map(|h| (h.unit.as_str(), h.role(), h.state()))
        .collect()
}

fn handling<'a>(p: &'a pb::Proposal, unit: &str) -> &'a pb::Handling {
    p.handlings
        .iter()
        .find(|h| h.unit == unit)
        .unwrap_or_else(|| panic!("{unit} handles {p:?}"))
}

/// `unit`'s document number for proposal `p`.
fn document_number(p: &pb::Proposal, unit: &str) -> String {
    let prefix = if unit == UNIT_A { "许环" } else { "许教" };
    format!("{prefix}〔2019〕{}号", p.number)
}

async fn render(client: &AuthClient, p: &pb::Proposal, unit: &str) -> Result<String, Status> {
    let request = pb::RenderReplyRequest {
        handling_unit: unit.into(),
        ..rq::render(&p.id)
    };
    Ok(client
        .clone()
        .render_reply(request)
        .await?
        .into_inner()
        .text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_units_each_reply_on_their_own_and_the_proposal_follows_the_slower() {
    let guarded = Guarded::start().await;
    let admin = &mut guarded.admin();
    let registrar = &mut guarded.client(REGISTRAR);
    let (a_clerk, a_signer, a_office) = (
        &mut guarded.client(UNIT_A_CLERK),
        &mut guarded.client(UNIT_A_SIGNER),
        &mut guarded.client(UNIT_A_OFFICE),
    );
    let (b_clerk, b_signer, b_office) = (
        &mut guarded.client(UNIT_B_CLERK),
        &mut guarded.client(UNIT_B_SIGNER),
        &mut guarded.client(UNIT_B_OFFICE),
    );
    let p = split_between_a_and_b(registrar).await;
    assert_eq!(
        parts(&p),
        [
            (UNIT_A, pb::HandlingRole::Split, State::Assigned),
            (UNIT_B, pb::HandlingRole::Split, State::Assigned),
        ]
    );
    assert_eq!(
        (p.state(), p.handling_unit.as_str()),
        (State::Assigned, UNIT_A)
    );
    assert!(p.handlings.iter().all(|h| h.due_date == rq::DUE_DATE));

    // Split units and co-units do not mix; nor does a unit split with itself.
    let q = send(registrar, rq::receive(rq::next_number()))
        .await
        .unwrap();
    let mixed = pb::AssignProposalRequest {
        co_units: vec![UNIT_B.into()],
        split_units: vec!["许昌市财政局".into()],
        ..rq::assign(&q)
    };
    assert_invalid(send(registrar, mixed).await, "split_units", "split and co");
    let itself = pb::AssignProposalRequest {
        split_units: vec![UNIT_A.into()],
        ..rq::assign(&q)
    };
    assert_invalid(send(registrar, itself).await, "split_units[0]", "itself");

    // Whoever is bound to no unit must say whose reply: there are two.
    let status = send(admin, rq::draft(&p)).await.unwrap_err();
    let info = error_info(&status, Code::FailedPrecondition, "HANDLING_UNIT_REQUIRED");
    assert_eq!(info["replyingUnits"], "2");
    let stranger = pb::DraftReplyRequest {
        handling_unit: "许昌市财政局".into(),
        ..rq::draft(&p)
    };
    let status = send(admin, stranger).await.unwrap_err();
    let info = error_info(&status, Code::FailedPrecondition, "NOT_A_HANDLING_UNIT");
    assert_eq!(info["handlingUnit"], "许昌市财政局");

    // A unit's clerk who names none drafts its own; a retry replays; the other unit's reply is
    // not its to draft.
    let keyed = CommandRequest::from(rq::draft(&p).dated("2019-06-20")).keyed("draft-a");
    let drafted = send(a_clerk, keyed.clone()).await.unwrap();
    assert_eq!(send(a_clerk, keyed).await.unwrap(), drafted);
    assert_eq!(
        parts(&drafted),
        [
            (UNIT_A, pb::HandlingRole::Split, State::Drafted),
            (UNIT_B, pb::HandlingRole::Split, State::Assigned),
        ]
    );
    assert_eq!(drafted.state(), State::Assigned, "B has not drafted");
    assert!(handling(&drafted, UNIT_A).reply.is_some());
    assert!(
        drafted.reply.is_none(),
        "a split proposal has no reply of its own"
    );
    let b_reply = pb::DraftReplyRequest {
        handling_unit: UNIT_B.into(),
        ..rq::draft(&p)
    };
    let status = send(a_clerk, b_reply).await.unwrap_err();
    assert_not_in_remit(&status, "unit A drafts unit B's reply");

    let drafted = send(b_clerk, rq::draft(&p).dated("2019-06-21"))
        .await
        .unwrap();
    assert_eq!(drafted.state(), State::Drafted, "both have drafted");

    // A runs ahead to its copies; the proposal stays DRAFTED while B's draft waits.
    send(a_signer, rq::sign(&p).dated("2019-06-22"))
        .await
        .unwrap();
    let issue_a = pb::IssueReplyRequest {
        document_number: document_number(&p, UNIT_A),
        issue_date: "2019-06-23".into(),
        ..rq::issue(&p)
    };
    send(a_office, issue_a.dated("2019-06-23")).await.unwrap();
    let copied = send(a_office, rq::copy(&p).dated("2019-06-24"))
        .await
        .unwrap();
    assert_eq!(copied.state(), State::Drafted);
    let a = handling(&copied, UNIT_A);
    assert_eq!(
        (
            a.state(),
            a.signer.as_str(),
            a.document_number.as_str(),
            a.copied_to.len()
        ),
        (
            State::Copied,
            "李光亚",
            document_number(&p, UNIT_A).as_str(),
            2
        )
    );
    assert_eq!(
        (copied.signer.as_str(), copied.document_number.as_str()),
        ("", ""),
        "the proposal's own reply fields stay empty"
    );

    // Listed by unit, a split unit's own part stands for the proposal.
    let by_unit = |unit: &str, state: State| pb::ListProposalsRequest {
        state: state.into(),
        handling_unit: unit.into(),
        page_size: 1000,
        ..Default::default()
    };
    let listed = |request| {
        let mut admin = admin.clone();
        async move {
            let page = admin.list_proposals(request).await.unwrap().into_inner();
            page.proposals
                .into_iter()
                .map(|l| l.id)
                .collect::<Vec<String>>()
        }
    };
    assert_eq!(
        listed(by_unit(UNIT_A, State::Copied)).await,
        [p.id.as_str()]
    );
    assert_eq!(
        listed(by_unit(UNIT_B, State::Drafted)).await,
        [p.id.as_str()]
    );
    assert!(listed(by_unit(UNIT_A, State::Drafted)).await.is_empty());
    let late = pb::ListProposalsRequest {
        overdue_on: "2019-09-01".into(),
        ..by_unit(UNIT_B, State::Unspecified)
    };
    assert_eq!(listed(late.clone()).await, [p.id.as_str()], "B is late");
    let on_time = pb::ListProposalsRequest {
        handling_unit: UNIT_A.into(),
        ..late
    };
    assert!(
        listed(on_time).await.is_empty(),
        "A issued before its due date"
    );

    // Each reply renders on its own; which one must be said, and B's is not issued yet.
    let status = render(admin, &p, "").await.unwrap_err();
    error_info(&status, Code::FailedPrecondition, "HANDLING_UNIT_REQUIRED");
    let a_text = render(b_clerk, &p, UNIT_A).await.unwrap();
    assert!(a_text.contains(&format!("{UNIT_A}文件")), "{a_text}");
    assert!(a_text.contains(&document_number(&p, UNIT_A)), "{a_text}");
    let status = render(admin, &p, UNIT_B).await.unwrap_err();
    let info = error_info(&status, Code::FailedPrecondition, "NOT_ISSUED");
    assert_eq!(info["currentState"], "DRAFTED");

    // B's signer sends the draft back; B drafts again and catches up. Its document number must
    // differ from A's.
    let rejected = send(b_signer, rq::reject(&p).dated("2019-06-25"))
        .await
        .unwrap();
    assert_eq!(rejected.state(), State::Assigned);
    assert!(handling(&rejected, UNIT_B).reply.is_none());
    send(b_clerk, rq::draft(&p).dated("2019-06-26"))
        .await
        .unwrap();
    send(b_signer, rq::sign(&p).dated("2019-06-27"))
        .await
        .unwrap();
    let same_number = pb::IssueReplyRequest {
        document_number: document_number(&p, UNIT_A),
        ..rq::issue(&p)
    };
    let status = send(b_office, same_number).await.unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    let issue_b = pb::IssueReplyRequest {
        document_number: document_number(&p, UNIT_B),
        issuing_office: "许昌市教育局办公室".into(),
        ..rq::issue(&p)
    };
    let issued = send(b_office, issue_b.dated("2019-06-28")).await.unwrap();
    assert_eq!(issued.state(), State::Issued);
    let done = send(b_office, rq::copy(&p).dated("2019-06-29"))
        .await
        .unwrap();
    assert_eq!(done.state(), State::Copied);
    let b_text = render(a_clerk, &p, UNIT_B).await.unwrap();
    assert_eq!(
        render(b_clerk, &p, "").await.unwrap(),
        b_text,
        "a split unit's staff naming no unit read their own unit's reply"
    );
    assert!(b_text.contains(&format!("{UNIT_B}文件")), "{b_text}");
    assert!(b_text.contains("许昌市教育局办公室"), "{b_text}");
    assert!(b_text.contains("抄送："), "{b_text}");

    // Each unit lists the proposal as SPLIT and sees every event since the assignment; the
    // reply events say whose reply they were.
    for (clerk, unit) in [(&*a_clerk, UNIT_A), (&*b_clerk, UNIT_B)] {
        let listed = listed_proposals(clerk, unit).await.unwrap();
        assert!(listed.iter().any(|l| l.id == p.id), "{unit} lists it");
        let events = listed_events(clerk, unit).await.unwrap();
        assert_eq!(events.len() as u64, done.version - 1, "{unit}'s trail");
    }
    let split_role = pb::ListProposalsRequest {
        handling_role: pb::HandlingRole::Split.into(),
        handling_unit: UNIT_B.into(),
        page_size: 1000,
        ..Default::default()
    };
    let listed = admin.list_proposals(split_role).await.unwrap().into_inner();
    assert_eq!(
        listed.proposals.iter().map(|l| &l.id).collect::<Vec<_>>(),
        [p.id.as_str()]
    );
    let events = listed_events(admin, UNIT_B).await.unwrap();
    let issued_by: Vec<&str> = events
        .iter()
        .filter_map(|e| match &e.data {
            Some(pb::proposal_event::Data::Issued(issued)) => Some(issued.handling_unit.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(issued_by, [UNIT_A, UNIT_B]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_units_return_ends_its_part_and_the_last_one_gives_the_proposal_back() {
    let guarded = Guarded::start().await;
    let registrar = &mut guarded.client(REGISTRAR);
    let a_clerk = &mut guarded.client(UNIT_A_CLERK);
    let b_clerk = &mut guarded.client(UNIT_B_CLERK);
    let p = split_between_a_and_b(registrar).await;

    // The office withdraws a split proposal only while no unit has drafted.
    send(a_clerk, rq::draft(&p).dated("2019-06-11"))
        .await
        .unwrap();
    let status = send(registrar, rq::return_(&p)).await.unwrap_err();
    let info = error_info(&status, Code::FailedPrecondition, "INVALID_TRANSITION");
    assert_eq!(info["currentState"], "DRAFTED", "{info:?}");

    // B asks to return its part; the office approves and hands it to the finance bureau.
    send(b_clerk, rq::request_return(&p).dated("2019-06-12"))
        .await
        .unwrap();
    let finance = "许昌市财政局";
    let handed = send(
        registrar,
        pb::DecideReturnRequest {
            handling_unit: UNIT_B.into(),
            reassign_to: finance.into(),
            ..rq::decide_return(&p).dated("2019-06-13")
        },
    )
    .await
    .unwrap();
    assert_eq!(
        parts(&handed),
        [
            (UNIT_A, pb::HandlingRole::Split, State::Drafted),
            (finance, pb::HandlingRole::Split, State::Assigned),
        ]
    );
    assert_eq!(handed.state(), State::Assigned);
    let status = b_clerk.get_proposal(rq::get(&p.id)).await.unwrap_err();
    assert_not_in_remit(&status, "a unit whose part ended");

    // The finance bureau's part is returned without a successor: A's part is all that is
    // left, so the proposal stands where A does.
    let admin = &mut guarded.admin();
    let ask = pb::RequestReturnRequest {
        handling_unit: finance.into(),
        ..rq::request_return(&p)
    };
    send(admin, ask.dated("2019-06-14")).await.unwrap();
    let ended = send(
        registrar,
        pb::DecideReturnRequest {
            handling_unit: finance.into(),
            ..rq::decide_return(&p).dated("2019-06-15")
        },
    )
    .await
    .unwrap();
    assert_eq!(
        parts(&ended),
        [(UNIT_A, pb::HandlingRole::Split, State::Drafted)]
    );
    assert_eq!(ended.state(), State::Drafted);
    // A rejected draft, then A's own return: the last part ends and the office has it back.
    let signer = &mut guarded.client(UNIT_A_SIGNER);
    send(signer, rq::reject(&p).dated("2019-06-16"))
        .await
        .unwrap();
    send(a_clerk, rq::request_return(&p).dated("2019-06-17"))
        .await
        .unwrap();
    let back = send(registrar, rq::decide_return(&p).dated("2019-06-17"))
        .await
        .unwrap();
    assert_eq!(
        (
            back.state(),
            back.handlings.len(),
            back.handling_unit.as_str()
        ),
        (State::Received, 0, "")
    );
}
