mod common;

// 并案 over real gRPC: the committee merges a registered proposal into a similar one of the
// same session, which answers both. Both record the merge in one act; the merged one is MERGED
// and names the other, which lists it; the reply's title line names every number, and each
// proposal's RenderReply greets its own proposers. A merge the rules of 并案 forbid is
// MERGE_NOT_ALLOWED and changes nothing.

use common::calls::ok;
use common::lifecycle::State;
use common::principals::{Guarded, REGISTRAR, UNIT_A, UNIT_A_CLERK, UNIT_B_CLERK};
use common::reads::{get, history_pages};
use common::requests::{self as rq, CommandFields, CommandRequest};
use common::status::{assert_invalid, error_info};
use common::{Client, TestServer};
use proposal_service::pb;
use proposal_service::pb::proposal_event::Data;
use tonic::Code;

/// A new proposal of the seed's committee and session, by `proposers`, received on 2019-06-01.
async fn received(client: &mut Client, proposers: &[&str]) -> pb::Proposal {
    let request = pb::ReceiveProposalRequest {
        proposers: proposers.iter().map(|p| p.to_string()).collect(),
        ..rq::receive(rq::next_number())
    };
    ok(client, CommandRequest::from(request).dated("2019-06-01")).await
}

async fn render(client: &mut Client, id: &str) -> Result<String, tonic::Status> {
    let request = pb::RenderReplyRequest {
        round: 0,
        proposal_id: id.into(),
        handling_unit: String::new(),
    };
    Ok(client.render_reply(request).await?.into_inner().text)
}

async fn log_len(client: &mut Client) -> usize {
    let request = pb::ListEventsRequest {
        page_size: 1000,
        ..Default::default()
    };
    client
        .list_events(request)
        .await
        .unwrap()
        .into_inner()
        .events
        .len()
}

#[tokio::test]
async fn a_merged_proposal_follows_the_one_it_was_merged_into() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let lead = received(client, &["苏会兴"]).await;
    let other = received(client, &["张三", "李四"]).await;
    let merged = ok(client, rq::merge(&other, &lead).dated("2019-06-05")).await;
    assert_eq!(merged.state(), State::Merged);
    assert_eq!(merged.merged_into, lead.id);
    let lead = get(client, &lead.id).await;
    assert_eq!(lead.merged_proposal_ids, std::slice::from_ref(&other.id));
    assert_eq!(lead.state(), State::Received);
    // Both record it, one after the other, on the same day.
    let lead_events = history_pages(client, &lead.id, 100).await.concat();
    let merged_events = history_pages(client, &merged.id, 100).await.concat();
    let (joined, merging) = (lead_events.last().unwrap(), merged_events.last().unwrap());
    assert!(
        matches!(&joined.data, Some(Data::MergeJoined(j)) if j.proposal_id == other.id && j.number == other.number)
    );
    assert!(matches!(&merging.data, Some(Data::Merged(m)) if m.into_proposal_id == lead.id));
    assert_eq!(joined.position, merging.position + 1);
    assert_eq!(joined.effective_date, "2019-06-05");

    // The lead is handled as usual; the merged one waits for its reply.
    let assigned = ok(client, rq::assign(&lead).dated("2019-06-10")).await;
    assert_eq!(
        assigned.merged_proposal_ids,
        std::slice::from_ref(&other.id)
    );
    let status = render(client, &other.id).await.unwrap_err();
    let info = error_info(&status, Code::FailedPrecondition, "NOT_ISSUED");
    assert_eq!(info["currentState"], "ASSIGNED", "{status:?}");
    let mut p = assigned;
    for request in [
        CommandRequest::from(rq::draft(&p)),
        rq::sign(&p).into(),
        rq::issue(&p).into(),
        rq::copy(&p).into(),
    ] {
        p = ok(client, request.dated("2019-07-01")).await;
    }
    assert_eq!(p.state(), State::Copied);
    let numbers = format!("第{}、{}号提案的答复", lead.number, other.number);
    let own = render(client, &lead.id).await.unwrap();
    assert!(own.contains(&numbers), "{own}");
    assert!(own.contains("\n苏会兴委员：\n"), "{own}");
    let theirs = render(client, &other.id).await.unwrap();
    assert!(theirs.contains(&numbers), "{theirs}");
    assert!(theirs.contains("\n张三、李四委员：\n"), "{theirs}");
    assert_eq!(
        own.replace("苏会兴委员：", "张三、李四委员："),
        theirs,
        "the same document, to each proposal's proposers"
    );
    // A merged proposal takes no further command.
    let status = ok_err(client, rq::assign(&other)).await;
    assert_eq!(status.code(), Code::FailedPrecondition);
    // Each side of the merge checks against the other.
    let report = client
        .verify_history(pb::VerifyHistoryRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(report.ok, "{report:?}");
}

async fn ok_err(client: &mut Client, request: impl Into<CommandRequest>) -> tonic::Status {
    request
        .into()
        .send(client)
        .await
        .expect_err("the command must be refused")
}

#[tokio::test]
async fn a_merge_the_rules_forbid_is_refused_and_changes_nothing() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let lead = received(client, &["苏会兴"]).await;
    let other = received(client, &["张三"]).await;
    let before = log_len(client).await;
    let refused = |status: tonic::Status, what: &str| {
        let info = error_info(&status, Code::FailedPrecondition, "MERGE_NOT_ALLOWED");
        assert!(info.contains_key("intoProposalId"), "{what}: {status:?}");
    };
    refused(
        ok_err(client, rq::merge(&other, &other)).await,
        "into itself",
    );
    // Another session.
    let elsewhere = ok(
        client,
        CommandRequest::from(pb::ReceiveProposalRequest {
            session: "七届四次会议".into(),
            ..rq::receive(rq::next_number())
        })
        .dated("2019-06-01"),
    )
    .await;
    let before = before + 1;
    refused(
        ok_err(client, rq::merge(&other, &elsewhere)).await,
        "another session",
    );
    // Into one already drafted, or itself merged.
    let drafted = {
        let p = received(client, &["王五"]).await;
        let p = ok(client, rq::assign(&p).dated("2019-06-02")).await;
        ok(client, rq::draft(&p).dated("2019-06-03")).await
    };
    let before = before + 3;
    refused(
        ok_err(client, rq::merge(&other, &drafted)).await,
        "into a drafted one",
    );
    let third = received(client, &["赵六"]).await;
    ok(client, rq::merge(&third, &lead)).await;
    let before = before + 3;
    refused(
        ok_err(client, rq::merge(&other, &third)).await,
        "into a merged one",
    );
    // Nor one that others were merged into: they would be left unanswered.
    refused(
        ok_err(client, rq::merge(&lead, &other)).await,
        "a merge of merges",
    );
    assert_eq!(
        log_len(client).await,
        before,
        "nothing recorded by a refusal"
    );
    // An unknown proposal to merge into, and a malformed one.
    let ghost = pb::Proposal {
        id: "0190a4e2-7c1b-7d3e-9f00-000000000000".into(),
        ..Default::default()
    };
    let status = ok_err(client, rq::merge(&other, &ghost)).await;
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert_invalid(
        CommandRequest::from(pb::MergeProposalRequest {
            into_proposal_id: "228".into(),
            ..rq::merge(&other, &lead)
        })
        .send(client)
        .await,
        "into_proposal_id",
        "a malformed id",
    );
    // A proposal already assigned is not merged (the lifecycle refuses it first).
    let assigned = ok(client, rq::assign(&other).dated("2019-06-05")).await;
    let status = ok_err(client, rq::merge(&assigned, &lead)).await;
    let info = error_info(&status, Code::FailedPrecondition, "INVALID_TRANSITION");
    assert_eq!(info["currentState"], "ASSIGNED");
}

/// The unit handling the proposal others were merged into reads them too: it answers their
/// proposers. Another unit does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unit_answering_a_merge_reads_the_merged_proposals() {
    let guarded = Guarded::start().await;
    let registrar = &mut guarded.client(REGISTRAR);
    let send = |request: CommandRequest| {
        let mut registrar = registrar.clone();
        async move {
            request
                .by("")
                .send(&mut registrar)
                .await
                .unwrap()
                .expect("a proposal")
        }
    };
    let lead = send(rq::receive(rq::next_number()).into()).await;
    let other = send(rq::receive(rq::next_number()).into()).await;
    send(rq::merge(&other, &lead).into()).await;
    send(rq::assign_to(&lead, UNIT_A).into()).await;
    let read = |member| {
        let mut client = guarded.client(member);
        let id = other.id.clone();
        async move { client.get_proposal(rq::get(&id)).await }
    };
    let answered = read(UNIT_A_CLERK)
        .await
        .expect("the answering unit reads it");
    assert_eq!(answered.into_inner().proposal.unwrap().id, other.id);
    let status = read(UNIT_B_CLERK).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
}
