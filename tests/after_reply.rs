mod common;

// After the reply, over real gRPC with real principals: the proposals office designates a key
// proposal (and lists key proposals), records each proposer's verdict once, and closes the
// proposal (办结); what the lifecycle, the fields and the roles forbid is refused and changes
// nothing.

use common::lifecycle::State;
use common::principals::{
    AuthClient, Guarded, REGISTRAR, UNIT_A, UNIT_A_CLERK, UNIT_A_OFFICE, drive, listed_proposals,
};
use common::status::{assert_invalid, error_info};
use proposal_service::pb;
use tonic::{Code, Status};

fn feedback(p: &pb::Proposal, satisfaction: pb::Satisfaction) -> pb::RecordFeedbackRequest {
    pb::RecordFeedbackRequest {
        proposal_id: p.id.clone(),
        proposer: p.proposers[0].clone(),
        satisfaction: satisfaction as i32,
        attitude: pb::Satisfaction::Satisfied as i32,
        comment: "答复认真，建议加快落实".into(),
        ..Default::default()
    }
}

fn close(p: &pb::Proposal) -> pb::CloseProposalRequest {
    pb::CloseProposalRequest {
        proposal_id: p.id.clone(),
        note: "办理完毕".into(),
        ..Default::default()
    }
}

fn key(p: &pb::Proposal, key: bool) -> pb::SetKeyProposalRequest {
    pb::SetKeyProposalRequest {
        proposal_id: p.id.clone(),
        key,
        supervisor: if key {
            "市政协副主席王明".into()
        } else {
            String::new()
        },
        note: String::new(),
        ..Default::default()
    }
}

async fn get(client: &AuthClient, id: &str) -> pb::Proposal {
    client
        .clone()
        .get_proposal(pb::GetProposalRequest {
            proposal_id: id.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .proposal
        .unwrap()
}

fn answered<T>(result: Result<tonic::Response<T>, Status>, what: &str) -> T {
    result
        .unwrap_or_else(|s| panic!("{what}: {s:?}"))
        .into_inner()
}

#[tokio::test]
async fn the_office_designates_key_proposals_records_verdicts_and_closes() {
    let server = Guarded::start().await;
    let office = server.client(REGISTRAR);
    let admin = server.admin();
    let p = drive(&admin, UNIT_A, State::Assigned).await;
    let other = drive(&admin, UNIT_A, State::Assigned).await;

    // A key proposal while it is handled; the state stays, and listings can keep to them.
    let set = answered(office.clone().set_key_proposal(key(&p, true)).await, "key")
        .proposal
        .unwrap();
    assert_eq!(set.state(), pb::ProposalState::Assigned);
    let designation = set.key.expect("a key proposal");
    assert_eq!(designation.supervisor, "市政协副主席王明");
    assert!(!designation.since_date.is_empty());
    let key_only = pb::ListProposalsRequest {
        key_only: true,
        page_size: 1000,
        ..Default::default()
    };
    let listed = answered(
        office.clone().list_proposals(key_only.clone()).await,
        "list",
    );
    let ids: Vec<&str> = listed.proposals.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, [p.id.as_str()], "only the key proposal");
    // A supervisor without the designation is a bad argument.
    let mut odd = key(&other, false);
    odd.supervisor = "某领导".into();
    assert_invalid(
        office.clone().set_key_proposal(odd).await,
        "supervisor",
        "a supervisor for a proposal that is not key",
    );
    // And no longer one.
    answered(
        office.clone().set_key_proposal(key(&other, true)).await,
        "key",
    );
    let unset = answered(
        office.clone().set_key_proposal(key(&other, false)).await,
        "unkey",
    )
    .proposal
    .unwrap();
    assert!(unset.key.is_none());
    let listed = answered(office.clone().list_proposals(key_only).await, "list");
    assert_eq!(listed.proposals.len(), 1);

    // Not before the reply was dispatched.
    let early = office
        .clone()
        .record_feedback(feedback(&p, pb::Satisfaction::Satisfied))
        .await
        .expect_err("no verdict before the dispatch");
    let details = error_info(&early, Code::FailedPrecondition, "INVALID_TRANSITION");
    assert_eq!(details["currentState"], "ASSIGNED");
    let early = office.clone().close_proposal(close(&p)).await.unwrap_err();
    error_info(&early, Code::FailedPrecondition, "INVALID_TRANSITION");

    // Dispatched: the verdict of each proposer, once.
    let p = drive_on(&admin, p).await;
    assert_eq!(p.state(), pb::ProposalState::Copied);
    let stranger = pb::RecordFeedbackRequest {
        proposer: "不相干的人".into(),
        ..feedback(&p, pb::Satisfaction::Satisfied)
    };
    assert_invalid(
        office.clone().record_feedback(stranger).await,
        "proposer",
        "a verdict from someone who is not a proposer",
    );
    let missing = pb::RecordFeedbackRequest {
        satisfaction: 0,
        ..feedback(&p, pb::Satisfaction::Satisfied)
    };
    assert_invalid(
        office.clone().record_feedback(missing).await,
        "satisfaction",
        "a verdict without a satisfaction level",
    );
    let given = answered(
        office
            .clone()
            .record_feedback(feedback(&p, pb::Satisfaction::NotSatisfied))
            .await,
        "feedback",
    )
    .proposal
    .unwrap();
    assert_eq!(given.state(), pb::ProposalState::Copied);
    let [verdict] = &given.feedback[..] else {
        panic!("one verdict: {:?}", given.feedback);
    };
    assert_eq!(
        (verdict.satisfaction(), verdict.attitude()),
        (pb::Satisfaction::NotSatisfied, pb::Satisfaction::Satisfied)
    );
    assert_eq!(verdict.proposer, p.proposers[0]);
    let again = office
        .clone()
        .record_feedback(feedback(&p, pb::Satisfaction::Satisfied))
        .await
        .expect_err("one verdict per proposer");
    let details = error_info(&again, Code::AlreadyExists, "FEEDBACK_RECORDED");
    assert_eq!(details["proposer"], p.proposers[0]);
    assert_eq!(get(&office, &p.id).await.feedback.len(), 1, "unchanged");

    // A unit's staff record none of this: the office does.
    for member in [UNIT_A_CLERK, UNIT_A_OFFICE] {
        let status = server
            .client(member)
            .close_proposal(close(&p))
            .await
            .unwrap_err();
        assert_eq!(
            status.code(),
            Code::PermissionDenied,
            "{member:?}: {status:?}"
        );
    }

    // 办结: terminal, kept as a key proposal, never overdue.
    let closed = answered(office.clone().close_proposal(close(&p)).await, "close")
        .proposal
        .unwrap();
    assert_eq!(closed.state(), pb::ProposalState::Closed);
    assert_eq!(closed.closing_note, "办理完毕");
    assert!(!closed.closed_date.is_empty());
    assert!(closed.key.is_some());
    let late = pb::ListProposalsRequest {
        overdue_on: "2030-01-01".into(),
        page_size: 1000,
        ..Default::default()
    };
    let overdue = answered(office.clone().list_proposals(late).await, "overdue");
    assert!(
        overdue.proposals.iter().all(|q| q.id != p.id),
        "a closed proposal is not overdue"
    );
    for refused in [
        office.clone().close_proposal(close(&p)).await.map(|_| ()),
        office
            .clone()
            .record_feedback(pb::RecordFeedbackRequest {
                proposer: p.proposers[0].clone(),
                ..feedback(&p, pb::Satisfaction::Satisfied)
            })
            .await
            .map(|_| ()),
        office
            .clone()
            .set_key_proposal(key(&p, false))
            .await
            .map(|_| ()),
    ] {
        let status = refused.expect_err("nothing changes once closed");
        let details = error_info(&status, Code::FailedPrecondition, "INVALID_TRANSITION");
        assert_eq!(details["currentState"], "CLOSED");
    }
    // The history tells it all, by kind.
    let listed = listed_proposals(&office, "").await.unwrap();
    assert!(
        listed
            .iter()
            .any(|q| q.id == p.id && q.state() == pb::ProposalState::Closed)
    );
    let history = answered(
        office
            .clone()
            .get_proposal_history(pb::GetProposalHistoryRequest {
                proposal_id: p.id.clone(),
                ..Default::default()
            })
            .await,
        "history",
    );
    let kinds: Vec<&str> = history
        .events
        .iter()
        .rev()
        .take(3)
        .map(|e| match e.data {
            Some(pb::proposal_event::Data::Closed(_)) => "closed",
            Some(pb::proposal_event::Data::FeedbackRecorded(_)) => "feedback",
            Some(pb::proposal_event::Data::Copied(_)) => "copied",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["closed", "feedback", "copied"]);
}

/// Drives an ASSIGNED proposal of the seed's unit on to COPIED.
async fn drive_on(admin: &AuthClient, p: pb::Proposal) -> pb::Proposal {
    use common::requests as rq;
    use common::requests::CommandFields;
    let mut client = admin.clone();
    client.draft_reply(rq::draft(&p).by("")).await.unwrap();
    client.sign_reply(rq::sign(&p).by("")).await.unwrap();
    client.issue_reply(rq::issue(&p).by("")).await.unwrap();
    client
        .copy_reply(rq::copy(&p).by(""))
        .await
        .unwrap()
        .into_inner()
        .proposal
        .unwrap()
}

fn reopen(p: &pb::Proposal) -> pb::ReopenProposalRequest {
    pb::ReopenProposalRequest {
        proposal_id: p.id.clone(),
        reason: "提案人对答复不满意，要求重新办理".into(),
        ..Default::default()
    }
}

/// 重新办理: a proposer not satisfied, the office reopens the proposal; the same unit replies
/// again under a new document number, the first round's document still renders, and the
/// proposer's verdict is asked again.
#[tokio::test]
async fn a_dissatisfied_proposer_gets_a_second_round() {
    let server = Guarded::start().await;
    let office = server.client(REGISTRAR);
    let admin = server.admin();
    let p = drive(&admin, UNIT_A, State::Assigned).await;
    let p = drive_on(&admin, p).await;
    let first_document = answered(
        office
            .clone()
            .render_reply(pb::RenderReplyRequest {
                proposal_id: p.id.clone(),
                ..Default::default()
            })
            .await,
        "render",
    );

    // Only with a dissatisfied verdict on this round, only by the office, and with a reason.
    let early = office
        .clone()
        .reopen_proposal(reopen(&p))
        .await
        .unwrap_err();
    let details = error_info(&early, Code::FailedPrecondition, "NO_DISSATISFACTION");
    assert_eq!(details["round"], "1");
    answered(
        office
            .clone()
            .record_feedback(feedback(&p, pb::Satisfaction::NotSatisfied))
            .await,
        "feedback",
    );
    for member in [UNIT_A_CLERK, UNIT_A_OFFICE] {
        let status = server
            .client(member)
            .reopen_proposal(reopen(&p))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{member:?}");
    }
    let reasonless = pb::ReopenProposalRequest {
        reason: String::new(),
        ..reopen(&p)
    };
    assert_invalid(
        office.clone().reopen_proposal(reasonless).await,
        "reason",
        "a reopening without a reason",
    );
    let bad_date = pb::ReopenProposalRequest {
        due_date: "2019-02-30".into(),
        ..reopen(&p)
    };
    assert_invalid(
        office.clone().reopen_proposal(bad_date).await,
        "due_date",
        "a due date that is no date",
    );
    assert_eq!(
        get(&office, &p.id).await.version,
        p.version + 1,
        "unchanged"
    );

    let reopened = answered(office.clone().reopen_proposal(reopen(&p)).await, "reopen")
        .proposal
        .unwrap();
    assert_eq!(reopened.state(), pb::ProposalState::Assigned);
    assert_eq!(reopened.round, 2);
    assert!(reopened.document_number.is_empty() && reopened.reply.is_none());
    assert!(reopened.feedback.is_empty(), "verdicts are per round");
    assert_eq!(reopened.handling_unit, UNIT_A);
    assert!(!reopened.due_date.is_empty());
    assert_eq!(reopened.handlings[0].due_date, reopened.due_date);
    let [first] = &reopened.rounds[..] else {
        panic!("one earlier round: {:?}", reopened.rounds);
    };
    assert_eq!(first.round, 1);
    assert_eq!(first.feedback.len(), 1);
    assert_eq!(
        first.feedback[0].satisfaction(),
        pb::Satisfaction::NotSatisfied
    );
    assert_eq!(first.replies.len(), 1);
    assert_eq!(
        first.replies[0].document_number,
        first_document.document_number
    );
    assert_eq!(first.replies[0].state(), pb::ProposalState::Copied);
    assert!(first.reopen_reason.contains("不满意"));

    // Round 1's document renders as it was; the current round has none yet.
    let round = |round| pb::RenderReplyRequest {
        proposal_id: p.id.clone(),
        round,
        ..Default::default()
    };
    let old = answered(office.clone().render_reply(round(1)).await, "render 1");
    assert_eq!(old.text, first_document.text);
    let none = office.clone().render_reply(round(0)).await.unwrap_err();
    error_info(&none, Code::FailedPrecondition, "NOT_ISSUED");
    assert_invalid(
        office.clone().render_reply(round(3)).await,
        "round",
        "a round the proposal has not reached",
    );

    // The new reply needs a document number of its own.
    use common::requests as rq;
    use common::requests::CommandFields;
    let mut unit = admin.clone();
    unit.draft_reply(rq::draft(&reopened).by("")).await.unwrap();
    unit.sign_reply(rq::sign(&reopened).by("")).await.unwrap();
    let reused = unit
        .issue_reply(rq::issue(&reopened).by(""))
        .await
        .expect_err("a document number is issued once");
    assert_eq!(reused.code(), Code::AlreadyExists, "{reused:?}");
    let issue = pb::IssueReplyRequest {
        document_number: format!("许环〔2019〕{}号之二", p.number),
        ..rq::issue(&reopened)
    };
    unit.issue_reply(issue.by("")).await.unwrap();
    let copied = unit
        .copy_reply(rq::copy(&reopened).by(""))
        .await
        .unwrap()
        .into_inner()
        .proposal
        .unwrap();
    assert_eq!(copied.state(), pb::ProposalState::Copied);
    let new = answered(office.clone().render_reply(round(2)).await, "render 2");
    assert!(
        new.document_number.ends_with("之二"),
        "{}",
        new.document_number
    );
    assert_eq!(
        answered(office.clone().render_reply(round(0)).await, "render").text,
        new.text
    );
    // The same proposer's verdict again, in the new round; then 办结.
    answered(
        office
            .clone()
            .record_feedback(feedback(&p, pb::Satisfaction::Satisfied))
            .await,
        "second verdict",
    );
    let closed = answered(office.clone().close_proposal(close(&p)).await, "close")
        .proposal
        .unwrap();
    assert_eq!(closed.state(), pb::ProposalState::Closed);
    assert_eq!((closed.round, closed.rounds.len()), (2, 1));
}

/// Where the rules do not ask for a dissatisfied verdict, the office reopens any dispatched
/// reply, the new one due on the day it names.
#[tokio::test]
async fn lenient_rules_reopen_without_a_verdict() {
    let server = Guarded::start_with(proposal_service::domain::Rules {
        reopen_requires_dissatisfaction: false,
        ..Default::default()
    })
    .await;
    let office = server.client(REGISTRAR);
    let admin = server.admin();
    let p = drive(&admin, UNIT_A, State::Assigned).await;
    let p = drive_on(&admin, p).await;
    let today = answered(
        office.clone().get_rules(pb::GetRulesRequest {}).await,
        "rules",
    )
    .today;
    let reopened = answered(
        office
            .clone()
            .reopen_proposal(pb::ReopenProposalRequest {
                due_date: today.clone(),
                ..reopen(&p)
            })
            .await,
        "reopen",
    )
    .proposal
    .unwrap();
    assert_eq!(reopened.due_date, today);
    assert_eq!(reopened.round, 2);
}
