mod common;

// The proposer role over real gRPC: a member signed in as herself reads, renders and rates
// the proposals she made, and nothing else; what she may not do is PERMISSION_DENIED and
// changes nothing.

use common::lifecycle::State;
use common::principals::{AuthClient, Guarded, PROPOSER, REGISTRAR, UNIT_A, drive};
use common::reads::get;
use common::requests::{self as rq, CommandRequest};
use common::status::error_info;
use proposal_service::pb;
use tonic::Code;

/// A proposal of someone else's (王五), driven by the admin to COPIED.
async fn someone_elses(admin: &AuthClient) -> pb::Proposal {
    let mut client = admin.clone();
    let registration = pb::ReceiveProposalRequest {
        proposers: vec!["王五".into()],
        ..rq::receive(rq::next_number())
    };
    let mut p = CommandRequest::from(registration)
        .by("")
        .send(&mut client)
        .await
        .unwrap()
        .unwrap();
    for request in [
        CommandRequest::from(rq::assign(&p)),
        CommandRequest::from(rq::draft(&p)),
        CommandRequest::from(rq::sign(&p)),
        CommandRequest::from(rq::issue(&p)),
        CommandRequest::from(rq::copy(&p)),
    ] {
        p = request.by("").send(&mut client).await.unwrap().unwrap();
    }
    assert_eq!(p.state(), pb::ProposalState::Copied);
    p
}

fn verdict(p: &pb::Proposal, proposer: &str) -> pb::RecordFeedbackRequest {
    pb::RecordFeedbackRequest {
        proposal_id: p.id.clone(),
        proposer: proposer.into(),
        satisfaction: pb::Satisfaction::BasicallySatisfied as i32,
        comment: "希望加快落实".into(),
        ..Default::default()
    }
}

fn denied<T: std::fmt::Debug>(result: Result<tonic::Response<T>, tonic::Status>, what: &str) {
    let status = result.expect_err(what);
    assert_eq!(status.code(), Code::PermissionDenied, "{what}: {status:?}");
}

#[tokio::test]
async fn a_proposer_reads_renders_and_rates_only_her_own_proposals() {
    let server = Guarded::start().await;
    let admin = server.admin();
    let me = server.client(PROPOSER);
    let mine = drive(&admin, UNIT_A, State::Copied).await;
    assert!(mine.proposers.iter().any(|p| p == PROPOSER.name));
    let theirs = someone_elses(&admin).await;

    // Her own: read, its history, its document.
    assert_eq!(get(&me, &mine.id).await.version, mine.version);
    let history = me
        .clone()
        .get_proposal_history(pb::GetProposalHistoryRequest {
            proposal_id: mine.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(history.events.len() as u64, mine.version);
    let rendered = me
        .clone()
        .render_reply(pb::RenderReplyRequest {
            proposal_id: mine.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(rendered.text.contains(PROPOSER.name), "{}", rendered.text);

    // Listings keep to hers, asked or not; asking for another's is refused.
    let listed = me
        .clone()
        .list_proposals(pb::ListProposalsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .proposals;
    assert!(listed.iter().any(|p| p.id == mine.id));
    assert!(
        listed
            .iter()
            .all(|p| p.proposers.iter().any(|n| n == PROPOSER.name)),
        "only her proposals"
    );
    denied(
        me.clone()
            .list_proposals(pb::ListProposalsRequest {
                proposer: "王五".into(),
                ..Default::default()
            })
            .await,
        "another proposer's list",
    );
    // The office may list by proposer.
    let by_name = server
        .client(REGISTRAR)
        .list_proposals(pb::ListProposalsRequest {
            proposer: "王五".into(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .proposals;
    let ids: Vec<&str> = by_name.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, [theirs.id.as_str()]);

    // Someone else's proposal is not hers to read, render or rate.
    denied(
        me.clone()
            .get_proposal(pb::GetProposalRequest {
                proposal_id: theirs.id.clone(),
                ..Default::default()
            })
            .await,
        "another's proposal",
    );
    denied(
        me.clone()
            .render_reply(pb::RenderReplyRequest {
                proposal_id: theirs.id.clone(),
                ..Default::default()
            })
            .await,
        "another's document",
    );
    denied(
        me.clone()
            .record_feedback(verdict(&theirs, PROPOSER.name))
            .await,
        "a verdict on another's proposal",
    );
    denied(
        me.clone().record_feedback(verdict(&theirs, "王五")).await,
        "a verdict in another's name",
    );

    // Nothing else: the event log, verification, the office's and the units' acts.
    denied(
        me.clone()
            .list_events(pb::ListEventsRequest::default())
            .await,
        "the event log",
    );
    denied(
        me.clone().verify_history(pb::VerifyHistoryRequest {}).await,
        "verification",
    );
    denied(
        me.clone()
            .close_proposal(pb::CloseProposalRequest {
                proposal_id: mine.id.clone(),
                ..Default::default()
            })
            .await,
        "closing",
    );
    denied(
        me.clone()
            .receive_proposal(pb::ReceiveProposalRequest {
                actor: String::new(),
                ..rq::receive(rq::next_number())
            })
            .await,
        "a registration",
    );
    let unchanged = get(&server.client(REGISTRAR), &theirs.id).await;
    assert_eq!(
        unchanged.version, theirs.version,
        "denied calls change nothing"
    );

    // Her own verdict, recorded under her name, once.
    let rated = me
        .clone()
        .record_feedback(verdict(&mine, PROPOSER.name))
        .await
        .unwrap()
        .into_inner()
        .proposal
        .unwrap();
    assert_eq!(rated.feedback.len(), 1);
    let last = me
        .clone()
        .get_proposal_history(pb::GetProposalHistoryRequest {
            proposal_id: mine.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events
        .pop()
        .unwrap();
    assert_eq!(last.actor, PROPOSER.name);
    let again = me
        .clone()
        .record_feedback(verdict(&mine, PROPOSER.name))
        .await
        .unwrap_err();
    error_info(&again, Code::AlreadyExists, "FEEDBACK_RECORDED");
}
