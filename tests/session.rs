mod common;

// A whole session, black-box over gRPC, as a city's proposals office runs one: twenty
// proposals registered, three refused (不予立案), two merged into a third (并案), one led by a
// unit with two co-units (主办/会办), one returned inside its window and handed to another unit,
// one whose return request comes too late, one extension within the cap and one beyond it, one
// split between two units that each reply (分办), and the rest handled to the end or left where
// a session leaves them. At the end every proposal's state and handlings are checked, every
// reply is rendered, the listings count what the office reports, and the history verifies.

use std::collections::HashMap;

use common::calls::ok;
use common::lifecycle::State;
use common::requests::{self as rq, CommandRequest, EXTENDED_DUE_DATE};
use common::status::error_info;
use common::{Client, TestServer};
use proposal_service::pb;
use tonic::Code;

const SESSION: &str = "七届四次会议";
const ECO: &str = "许昌市生态环境局";
const HOUSING: &str = "许昌市住房和城乡建设局";
const EDUCATION: &str = "许昌市教育局";
const REFORM: &str = "许昌市发展和改革委员会";
const FINANCE: &str = "许昌市财政局";

/// Proposal `number` of the session, by `proposers`, registered on 2019-03-01.
async fn register(client: &mut Client, number: u32, proposers: &[&str]) -> pb::Proposal {
    let request = pb::ReceiveProposalRequest {
        session: SESSION.into(),
        number,
        title: format!("关于第{number}号事项的提案"),
        proposers: proposers.iter().map(|p| p.to_string()).collect(),
        ..rq::receive(number)
    };
    ok(client, CommandRequest::from(request).dated("2019-03-01")).await
}

/// Sends `request` dated `day`; it must be accepted.
async fn on(client: &mut Client, day: &str, request: impl Into<CommandRequest>) -> pb::Proposal {
    ok(client, request.into().dated(day)).await
}

/// Sends `request` dated `day`; it must be refused with FAILED_PRECONDITION and `reason`.
async fn refused(client: &mut Client, day: &str, request: impl Into<CommandRequest>, reason: &str) {
    let status = request
        .into()
        .dated(day)
        .send(client)
        .await
        .expect_err(reason);
    error_info(&status, Code::FailedPrecondition, reason);
}

/// Drafts, signs, issues (under `document`) and copies `p`'s reply, from `day` on.
async fn reply(client: &mut Client, p: &pb::Proposal, day: &str, document: &str) -> pb::Proposal {
    on(client, day, rq::draft(p)).await;
    on(client, day, rq::sign(p)).await;
    let issue = pb::IssueReplyRequest {
        document_number: document.into(),
        issue_date: day.into(),
        ..rq::issue(p)
    };
    on(client, day, issue).await;
    on(client, day, rq::copy(p)).await
}

/// `unit`'s reply to proposal `id`, as rendered (a split proposal's).
async fn render_unit(client: &mut Client, id: &str, unit: &str) -> Result<String, tonic::Status> {
    let request = pb::RenderReplyRequest {
        round: 0,
        proposal_id: id.into(),
        handling_unit: unit.into(),
    };
    Ok(client.render_reply(request).await?.into_inner().text)
}

async fn render(client: &mut Client, id: &str) -> String {
    let request = pb::RenderReplyRequest {
        round: 0,
        proposal_id: id.into(),
        handling_unit: String::new(),
    };
    client
        .render_reply(request)
        .await
        .unwrap()
        .into_inner()
        .text
}

fn roles(p: &pb::Proposal) -> Vec<(&str, pb::HandlingRole)> {
    p.handlings
        .iter()
        .map(|h| (h.unit.as_str(), h.role()))
        .collect()
}

#[tokio::test]
async fn a_session_of_twenty_proposals() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let mut p = HashMap::new();
    for number in 1..=20u32 {
        let proposers: &[&str] = match number {
            5 => &["苏会兴"],
            6 => &["张三", "李四"],
            _ => &["王五"],
        };
        p.insert(number, register(client, number, proposers).await);
    }

    // Review (审查立案): three refused, two merged into No. 5.
    for n in [1, 2, 3] {
        on(client, "2019-03-05", rq::refuse(&p[&n])).await;
    }
    for n in [4, 6] {
        on(client, "2019-03-05", rq::merge(&p[&n], &p[&5])).await;
    }
    refused(
        client,
        "2019-03-05",
        rq::merge(&p[&7], &p[&4]),
        "MERGE_NOT_ALLOWED",
    )
    .await;

    // Assignment (交办) on 2019-03-10: No. 7 led by the environment bureau with two co-units;
    // the rest to one unit each (due the kit's 2019-08-31).
    on(
        client,
        "2019-03-10",
        rq::assign_with_co(&p[&7], &[REFORM, FINANCE]),
    )
    .await;
    for n in [5, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19] {
        let unit = if n % 2 == 0 { ECO } else { HOUSING };
        on(client, "2019-03-10", rq::assign_to(&p[&n], unit)).await;
    }
    // No. 20 split between the environment and education bureaus, each to reply on its own.
    let split = pb::AssignProposalRequest {
        split_units: vec![EDUCATION.into()],
        ..rq::assign_to(&p[&20], ECO)
    };
    on(client, "2019-03-10", split).await;

    // No. 8: a return asked for within the window, approved and handed to another unit.
    on(client, "2019-03-12", rq::request_return(&p[&8])).await;
    let handed = pb::DecideReturnRequest {
        reassign_to: EDUCATION.into(),
        ..rq::decide_return(&p[&8])
    };
    on(client, "2019-03-13", handed).await;
    // No. 9: asked for after the seven days.
    refused(
        client,
        "2019-03-25",
        rq::request_return(&p[&9]),
        "RETURN_WINDOW_CLOSED",
    )
    .await;

    // No. 10: an extension within the cap, approved; No. 11: one beyond it.
    on(client, "2019-08-01", rq::request_extension(&p[&10])).await;
    on(client, "2019-08-02", rq::decide_extension(&p[&10])).await;
    let too_far = pb::RequestExtensionRequest {
        new_due_date: "2019-12-15".into(),
        ..rq::request_extension(&p[&11])
    };
    refused(client, "2019-08-01", too_far, "EXTENSION_LIMIT").await;

    // No. 7: receipts, a contact, both opinions, then the lead replies.
    on(client, "2019-03-11", rq::acknowledge(&p[&7])).await;
    on(client, "2019-03-20", rq::contact(&p[&7])).await;
    on(client, "2019-04-01", rq::submit_opinion(&p[&7], REFORM)).await;
    on(client, "2019-04-01", rq::draft(&p[&7])).await;
    refused(
        client,
        "2019-04-02",
        rq::sign(&p[&7]),
        "CO_OPINIONS_PENDING",
    )
    .await;
    on(client, "2019-04-05", rq::submit_opinion(&p[&7], FINANCE)).await;

    // Replies: No. 5 answers its own and the two merged into it.
    let mut documents = 0;
    for n in [5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17] {
        documents += 1;
        let document = format!("许环〔2019〕{}号", 100 + documents);
        reply(client, &p[&n], "2019-08-20", &document).await;
    }
    // No. 20: the environment bureau replies under its own number; education has only drafted.
    let draft = pb::DraftReplyRequest {
        handling_unit: ECO.into(),
        ..rq::draft(&p[&20])
    };
    on(client, "2019-08-20", draft).await;
    let sign = pb::SignReplyRequest {
        handling_unit: ECO.into(),
        ..rq::sign(&p[&20])
    };
    on(client, "2019-08-20", sign).await;
    let issue = pb::IssueReplyRequest {
        document_number: "许环〔2019〕120号".into(),
        issue_date: "2019-08-20".into(),
        handling_unit: ECO.into(),
        ..rq::issue(&p[&20])
    };
    on(client, "2019-08-20", issue).await;
    let copy = pb::CopyReplyRequest {
        handling_unit: ECO.into(),
        ..rq::copy(&p[&20])
    };
    on(client, "2019-08-20", copy).await;
    let education = pb::DraftReplyRequest {
        handling_unit: EDUCATION.into(),
        ..rq::draft(&p[&20])
    };
    on(client, "2019-08-21", education).await;
    refused(
        client,
        "2019-08-21",
        rq::sign(&p[&20]),
        "HANDLING_UNIT_REQUIRED",
    )
    .await;
    // Left where the session leaves them: one drafted, one signed.
    on(client, "2019-08-20", rq::draft(&p[&18])).await;
    on(client, "2019-08-20", rq::draft(&p[&19])).await;
    on(client, "2019-08-21", rq::sign(&p[&19])).await;

    // Every proposal, as the office reads it at the end.
    let mut now = HashMap::new();
    for n in 1..=20u32 {
        now.insert(n, common::reads::get(client, &p[&n].id).await);
    }
    let expected_state = |n: u32| match n {
        1..=3 => State::NotAccepted,
        4 | 6 => State::Merged,
        18 | 20 => State::Drafted,
        19 => State::Signed,
        _ => State::Copied,
    };
    for n in 1..=20u32 {
        assert_eq!(now[&n].state(), expected_state(n), "No. {n}");
    }
    for n in [1, 2, 3] {
        assert!(
            now[&n].refusal.is_some() && now[&n].handlings.is_empty(),
            "No. {n}"
        );
    }
    for n in [4, 6] {
        assert_eq!(now[&n].merged_into, p[&5].id, "No. {n}");
        assert!(now[&n].handlings.is_empty(), "No. {n}");
    }
    assert_eq!(
        now[&5].merged_proposal_ids,
        [p[&4].id.clone(), p[&6].id.clone()]
    );
    assert_eq!(
        roles(&now[&7]),
        [
            (ECO, pb::HandlingRole::Lead),
            (REFORM, pb::HandlingRole::Co),
            (FINANCE, pb::HandlingRole::Co)
        ]
    );
    assert!(now[&7].handlings[1..].iter().all(|h| h.opinion.is_some()));
    assert_eq!(roles(&now[&8]), [(EDUCATION, pb::HandlingRole::Sole)]);
    assert_eq!(now[&8].handling_unit, EDUCATION);
    assert_eq!(now[&9].handlings[0].return_requests, []);
    assert_eq!(now[&10].due_date, EXTENDED_DUE_DATE);
    assert_eq!(now[&10].handlings[0].original_due_date, rq::DUE_DATE);
    assert_eq!(now[&11].due_date, rq::DUE_DATE);
    assert_eq!(now[&11].handlings[0].extensions, []);
    for n in [9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19] {
        let unit = if n % 2 == 0 { ECO } else { HOUSING };
        assert_eq!(roles(&now[&n]), [(unit, pb::HandlingRole::Sole)], "No. {n}");
    }
    assert_eq!(
        roles(&now[&20]),
        [
            (ECO, pb::HandlingRole::Split),
            (EDUCATION, pb::HandlingRole::Split)
        ]
    );
    let states: Vec<State> = now[&20].handlings.iter().map(|h| h.state()).collect();
    assert_eq!(states, [State::Copied, State::Drafted]);
    assert_eq!(now[&20].handlings[0].document_number, "许环〔2019〕120号");
    assert_eq!(now[&20].document_number, "", "each split unit has its own");

    // Every reply as issued: the merged proposals' is No. 5's, to their own proposers.
    let merged_title = "第5、4、6号提案的答复";
    for n in [4, 5, 6] {
        let text = render(client, &p[&n].id).await;
        assert!(text.contains(merged_title), "No. {n}: {text}");
        let greeting = match n {
            5 => "\n苏会兴委员：\n",
            6 => "\n张三、李四委员：\n",
            _ => "\n王五委员：\n",
        };
        assert!(text.contains(greeting), "No. {n}: {text}");
    }
    let seven = render(client, &p[&7].id).await;
    let copies = seven.lines().find(|l| l.starts_with("抄送：")).unwrap();
    assert!(
        copies.contains(REFORM) && copies.contains(FINANCE),
        "{copies}"
    );
    for n in [8, 9, 10, 11, 12, 13, 14, 15, 16, 17] {
        let text = render(client, &p[&n].id).await;
        assert!(
            text.contains(&format!(" 第{n}号提案的答复")),
            "No. {n}: {text}"
        );
        assert!(
            text.starts_with(&format!("\n\n{}文件", now[&n].handling_unit)),
            "No. {n}"
        );
    }

    // No. 20's environment reply renders by itself; education's is not issued.
    let twenty = render_unit(client, &p[&20].id, ECO).await.unwrap();
    assert!(twenty.starts_with(&format!("\n\n{ECO}文件")), "{twenty}");
    assert!(twenty.contains("许环〔2019〕120号"), "{twenty}");
    let status = render_unit(client, &p[&20].id, EDUCATION)
        .await
        .unwrap_err();
    error_info(&status, Code::FailedPrecondition, "NOT_ISSUED");

    // What the office reports: proposals by state, and by unit.
    let count = |state: State, unit: &str| {
        let request = pb::ListProposalsRequest {
            state: state.into(),
            handling_unit: unit.into(),
            session: SESSION.into(),
            page_size: 100,
            ..Default::default()
        };
        let mut client = client.clone();
        async move {
            client
                .list_proposals(request)
                .await
                .unwrap()
                .into_inner()
                .proposals
                .len()
        }
    };
    assert_eq!(count(State::NotAccepted, "").await, 3);
    assert_eq!(count(State::Merged, "").await, 2);
    assert_eq!(count(State::Copied, "").await, 12);
    assert_eq!(
        count(State::Copied, FINANCE).await,
        1,
        "a co-unit's proposal"
    );
    assert_eq!(
        count(State::Copied, EDUCATION).await,
        1,
        "the handed-over one"
    );
    assert_eq!(
        count(State::Drafted, EDUCATION).await,
        1,
        "the split one, which waits for its education part"
    );
    let report = client
        .verify_history(pb::VerifyHistoryRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(report.ok, "{report:?}");
}
