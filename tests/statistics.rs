mod common;

// GetStatistics over real gRPC with real principals: a small session scripted with effective
// dates spread over weeks, read as of several days (what the office would have reported each
// day), with and without the rows by unit; what the fields and the roles forbid is refused.

use common::principals::{
    ADMIN, AUDITOR, AuthClient, Guarded, REGISTRAR, UNIT_A, UNIT_A_CLERK, UNIT_A_OFFICE,
    UNIT_A_SIGNER,
};
use common::requests::{self as rq, next_number};
use common::status::{assert_invalid, violated_fields};
use proposal_service::pb;
use tonic::Code;

#[tokio::test]
async fn a_sessions_figures_are_what_the_acts_up_to_each_day_left() {
    let server = Guarded::start().await;
    let admin = server.admin();
    let replied = script_replied(&admin).await;
    script_late(&admin).await;
    script_refused(&admin).await;
    let office = server.client(REGISTRAR);
    let (committee, session) = (replied.committee.as_str(), replied.session.as_str());

    let before = statistics(&office, committee, session, "2024-01-09", false).await;
    assert_eq!(before.totals.unwrap(), pb::Statistics::default());
    assert_eq!(before.as_of, "2024-01-09");

    let received = totals(&office, committee, session, "2024-01-10").await;
    assert_eq!((received.received, received.accepted), (2, 0));
    assert_eq!(received.reply_rate, None, "nothing accepted yet");

    let refused = totals(&office, committee, session, "2024-01-15").await;
    assert_eq!(
        (refused.received, refused.not_accepted, refused.accepted),
        (3, 1, 0)
    );

    let late = totals(&office, committee, session, "2024-02-21").await;
    assert_eq!((late.accepted, late.assigned, late.replied), (2, 2, 0));
    assert_eq!(late.overdue, 1, "due 2024-02-20 and not replied");
    assert_eq!(late.reply_rate, Some(0.0));
    assert_eq!(late.on_time_rate, None);

    let rated = statistics(&office, committee, session, "2024-03-20", true).await;
    let totals = rated.totals.unwrap();
    assert_eq!(
        (totals.replied, totals.replied_on_time, totals.overdue),
        (1, 1, 1)
    );
    assert_eq!(totals.reply_rate, Some(0.5));
    assert_eq!(totals.on_time_rate, Some(1.0));
    assert_eq!(
        totals.result_codes,
        [pb::ResultCodeCount {
            code: pb::ResultCode::A as i32,
            count: 1
        }]
    );
    assert_eq!((totals.satisfied, totals.not_satisfied), (1, 0));
    assert_eq!(totals.satisfaction_rate, Some(1.0));
    assert_eq!(
        (totals.reopened, totals.closed, totals.key_proposals),
        (0, 0, 0)
    );
    let [row] = &rated.units[..] else {
        panic!("one unit: {:?}", rated.units);
    };
    assert_eq!(row.unit, UNIT_A);
    assert_eq!(
        (row.sole, row.replied, row.replied_on_time, row.overdue),
        (2, 1, 1, 1)
    );
    // Without by_unit, no rows; a session of nothing is all zeros, not NOT_FOUND.
    let plain = statistics(&office, committee, session, "2024-03-20", false).await;
    assert!(plain.units.is_empty());
    let empty = statistics(&office, committee, "另一次会议", "2024-03-20", true).await;
    assert_eq!(empty.totals.unwrap(), pb::Statistics::default());
    assert!(empty.units.is_empty());
    // The auditor and the administrator read them too; as_of defaults to today.
    let today = office
        .clone()
        .get_rules(pb::GetRulesRequest {})
        .await
        .unwrap()
        .into_inner()
        .today;
    for member in [AUDITOR, ADMIN] {
        let now = statistics(&server.client(member), committee, session, "", false).await;
        assert_eq!(now.as_of, today);
        assert_eq!(now.totals.unwrap().received, 3);
    }
}

#[tokio::test]
async fn bad_fields_are_invalid_and_unit_bound_roles_are_denied() {
    let server = Guarded::start().await;
    let office = server.client(REGISTRAR);
    let request = |committee: &str, session: &str, as_of: &str| pb::GetStatisticsRequest {
        committee: committee.into(),
        session: session.into(),
        as_of: as_of.into(),
        by_unit: false,
    };
    let status = office
        .clone()
        .get_statistics(request("", "", ""))
        .await
        .expect_err("committee and session are required");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["committee", "session"]);
    // Named as a registration names them: one line, within the limits.
    let long = "政".repeat(201);
    for (committee, session, field) in [
        (long.as_str(), "七届三次会议", "committee"),
        ("许昌市政协", "七届\u{7}三次会议", "session"),
    ] {
        assert_invalid(
            office
                .clone()
                .get_statistics(request(committee, session, ""))
                .await,
            field,
            "a name no proposal can have",
        );
    }
    for (as_of, what) in [
        ("2024-02-30", "a day that does not exist"),
        ("24-01-01", "a malformed day"),
        ("9999-12-31", "a day in the future"),
    ] {
        assert_invalid(
            office
                .clone()
                .get_statistics(request("许昌市政协", "七届三次会议", as_of))
                .await,
            "as_of",
            what,
        );
    }
    for member in [UNIT_A_CLERK, UNIT_A_SIGNER, UNIT_A_OFFICE] {
        let status = server
            .client(member)
            .get_statistics(request("许昌市政协", "七届三次会议", ""))
            .await
            .expect_err("a unit's staff read no session's figures");
        assert_eq!(
            status.code(),
            Code::PermissionDenied,
            "{member:?}: {status:?}"
        );
    }
}

async fn statistics(
    client: &AuthClient,
    committee: &str,
    session: &str,
    as_of: &str,
    by_unit: bool,
) -> pb::GetStatisticsResponse {
    client
        .clone()
        .get_statistics(pb::GetStatisticsRequest {
            committee: committee.into(),
            session: session.into(),
            as_of: as_of.into(),
            by_unit,
        })
        .await
        .unwrap_or_else(|s| panic!("statistics as of {as_of:?}: {s:?}"))
        .into_inner()
}

async fn totals(
    client: &AuthClient,
    committee: &str,
    session: &str,
    as_of: &str,
) -> pb::Statistics {
    statistics(client, committee, session, as_of, false)
        .await
        .totals
        .unwrap()
}

/// Received on 2024-01-10, assigned on 01-20 (due 04-20), replied on 03-01, dispatched on
/// 03-05, rated satisfied on 03-20.
async fn script_replied(admin: &AuthClient) -> pb::Proposal {
    let mut client = admin.clone();
    let p = received(&mut client, "2024-01-10").await;
    let p = assigned(&mut client, &p, "2024-01-20", "2024-04-20").await;
    let dated = |date: &str| date.to_owned();
    let p = client
        .draft_reply(pb::DraftReplyRequest {
            actor: String::new(),
            effective_date: dated("2024-02-25"),
            ..rq::draft(&p)
        })
        .await
        .unwrap()
        .into_inner()
        .proposal
        .unwrap();
    let p = client
        .sign_reply(pb::SignReplyRequest {
            actor: String::new(),
            effective_date: dated("2024-02-28"),
            ..rq::sign(&p)
        })
        .await
        .unwrap()
        .into_inner()
        .proposal
        .unwrap();
    let p = client
        .issue_reply(pb::IssueReplyRequest {
            actor: String::new(),
            effective_date: dated("2024-03-01"),
            issue_date: dated("2024-03-01"),
            ..rq::issue(&p)
        })
        .await
        .unwrap()
        .into_inner()
        .proposal
        .unwrap();
    let p = client
        .copy_reply(pb::CopyReplyRequest {
            actor: String::new(),
            effective_date: dated("2024-03-05"),
            ..rq::copy(&p)
        })
        .await
        .unwrap()
        .into_inner()
        .proposal
        .unwrap();
    client
        .record_feedback(pb::RecordFeedbackRequest {
            proposal_id: p.id.clone(),
            proposer: p.proposers[0].clone(),
            satisfaction: pb::Satisfaction::Satisfied as i32,
            effective_date: dated("2024-03-20"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .proposal
        .unwrap()
}

/// Received on 2024-01-10, assigned on 01-20 due 02-20, never replied.
async fn script_late(admin: &AuthClient) {
    let mut client = admin.clone();
    let p = received(&mut client, "2024-01-10").await;
    assigned(&mut client, &p, "2024-01-20", "2024-02-20").await;
}

/// Received on 2024-01-11, refused on 01-15.
async fn script_refused(admin: &AuthClient) {
    let mut client = admin.clone();
    let p = received(&mut client, "2024-01-11").await;
    client
        .refuse_proposal(pb::RefuseProposalRequest {
            actor: String::new(),
            effective_date: "2024-01-15".into(),
            ..rq::refuse(&p)
        })
        .await
        .unwrap();
}

async fn received(client: &mut AuthClient, date: &str) -> pb::Proposal {
    client
        .receive_proposal(pb::ReceiveProposalRequest {
            actor: String::new(),
            effective_date: date.into(),
            ..rq::receive(next_number())
        })
        .await
        .unwrap()
        .into_inner()
        .proposal
        .unwrap()
}

async fn assigned(
    client: &mut AuthClient,
    p: &pb::Proposal,
    date: &str,
    due: &str,
) -> pb::Proposal {
    client
        .assign_proposal(pb::AssignProposalRequest {
            actor: String::new(),
            effective_date: date.into(),
            due_date: due.into(),
            ..rq::assign_to(p, UNIT_A)
        })
        .await
        .unwrap()
        .into_inner()
        .proposal
        .unwrap()
}
