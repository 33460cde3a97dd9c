mod common;

// Idempotent retries and optimistic concurrency over real gRPC: a stale expected version is
// aborted, a retried request gets the original answer and records nothing new (also after later
// events and after a restart, and when raced from many connections), a request id reused for
// another request is refused, and of concurrent signers at one version exactly one wins.

use common::calls::{Call, clients, drive_all, events, listing, ok, race, refused, trace};
use common::lifecycle::{Command, State, drive};
use common::requests::{
    self as rq, ACTOR, CommandFields, CommandRequest, edited, next_number, receive,
};
use common::status::{error_info, violated_fields};
use common::{Client, TestServer};
use proposal_service::pb;
use tonic::Code;

// 6. Optimistic concurrency.

#[tokio::test]
async fn a_stale_expected_version_is_aborted_and_the_current_one_succeeds() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    for command in Command::ON_EXISTING {
        let p = drive(client, command.usual_state().unwrap()).await;
        let unchanged = listing(client).await;
        for stale in [p.version - 1, p.version + 1] {
            let request = CommandRequest::valid(command, &p).expecting(stale);
            let status = refused(client, request).await;
            let metadata = error_info(&status, Code::Aborted, "VERSION_MISMATCH");
            assert_eq!(
                metadata["expectedVersion"],
                stale.to_string(),
                "{command:?}"
            );
            assert_eq!(
                metadata["currentVersion"],
                p.version.to_string(),
                "{command:?}"
            );
            assert_eq!(
                listing(client).await,
                unchanged,
                "{command:?} expecting {stale}"
            );
        }
        let current = CommandRequest::valid(command, &p).expecting(p.version);
        let after = ok(client, current).await;
        assert_eq!(after.version, p.version + 1, "{command:?}");
    }
}

// 7. Idempotency.

#[tokio::test]
async fn a_retried_command_returns_the_original_result_and_records_one_event() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    for command in Command::ON_EXISTING {
        let p = drive(client, command.usual_state().unwrap()).await;
        let call = CommandRequest::valid(command, &p).keyed(&format!("retry-{command:?}"));
        let first = ok(client, call.clone()).await;
        assert_eq!(first.version, p.version + 1, "{command:?}");
        assert_eq!(ok(client, call).await, first, "{command:?}");
        let (now, history) = trace(client, &p.id).await;
        assert_eq!(
            (now, history.len() as u64),
            (first.clone(), first.version),
            "{command:?}"
        );
    }
}

#[tokio::test]
async fn a_retried_receive_returns_the_same_proposal_and_registers_it_once() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let call = receive(next_number()).keyed("receive-once");
    let first = ok(client, call.clone()).await;
    assert_eq!(ok(client, call).await, first);
    assert_eq!(events(client, &first.id).await.len(), 1);
    assert_eq!(listing(client).await, [first]);
}

#[tokio::test]
async fn a_retry_after_later_events_returns_the_proposal_as_it_was_then() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let originals = requests_overtaken_by_later_events(client).await;
    let id = originals[0].1.id.clone();
    let unchanged = trace(client, &id).await;
    for (call, original) in originals {
        assert_eq!(ok(client, call).await, original);
    }
    assert_eq!(trace(client, &id).await, unchanged);
}

#[tokio::test]
async fn a_retry_after_a_restart_returns_the_original_and_appends_nothing() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let originals = requests_overtaken_by_later_events(client).await;
    let id = originals[0].1.id.clone();
    let unchanged = trace(client, &id).await;
    let server = server.restart().await;
    let client = &mut server.client.clone();
    for (call, original) in originals {
        assert_eq!(ok(client, call).await, original);
    }
    assert_eq!(trace(client, &id).await, unchanged);
    assert_eq!(listing(client).await.len(), 1);
}

#[tokio::test]
async fn a_request_id_reused_for_a_different_request_is_refused() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let [p, other] = drive_all(client, State::Drafted, 2)
        .await
        .try_into()
        .unwrap();
    let key = "sign-once";
    let original = CommandRequest::valid(Command::Sign, &p).keyed(key);
    let signed = ok(client, original.clone()).await;
    let different: [(&str, CommandRequest); 5] = [
        (
            "another signer",
            edited(rq::sign(&p), |r| r.signer = "王五".into()).into(),
        ),
        ("an expected version", original.clone().expecting(p.version)),
        (
            "another proposal",
            CommandRequest::valid(Command::Sign, &other),
        ),
        (
            "another command",
            CommandRequest::valid(Command::RejectDraft, &other),
        ),
        ("a receive", receive(next_number()).by(ACTOR).into()),
    ];
    let unchanged = listing(client).await;
    for (what, call) in different {
        let status = refused(client, call.keyed(key)).await;
        error_info(&status, Code::InvalidArgument, "REQUEST_ID_REUSED");
        assert_eq!(violated_fields(&status), ["request_id"], "{what}");
        assert_eq!(listing(client).await, unchanged, "{what} changed something");
    }
    assert_eq!(ok(client, original.clone()).await, signed);
    // Keys are scoped by actor: another actor's identical key is its own request, decided on
    // its own (here it signs the other proposal), and leaves the first actor's record alone.
    let theirs = ok(
        client,
        CommandRequest::valid(Command::Sign, &other)
            .by("另一位办理员")
            .keyed(key),
    )
    .await;
    assert_eq!(theirs.id, other.id);
    assert_eq!(theirs.state, pb::ProposalState::Signed as i32);
    assert_eq!(ok(client, original).await, signed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_all_get_the_one_result() {
    let server = TestServer::start().await;
    let racers = clients(&server, 8).await;
    let client = &mut server.client.clone();
    for (round, p) in drive_all(client, State::Drafted, 5)
        .await
        .iter()
        .enumerate()
    {
        let call =
            Call::from(CommandRequest::valid(Command::Sign, p).keyed(&format!("sign-{round}")));
        let answers = race(&racers, vec![call; racers.len()]).await;
        let answers: Vec<pb::Proposal> = answers
            .into_iter()
            .map(|a| a.expect("every retry succeeds").unwrap())
            .collect();
        assert!(answers.iter().all(|a| *a == answers[0]), "round {round}");
        assert_eq!(answers[0].version, p.version + 1, "round {round}");
        assert_eq!(events(client, &p.id).await.len() as u64, p.version + 1);
    }
}

// 8. Exactly one winner.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_signers_at_the_same_version_have_exactly_one_winner() {
    let server = TestServer::start().await;
    let racers = clients(&server, 8).await;
    let client = &mut server.client.clone();
    for (round, p) in drive_all(client, State::Drafted, 200)
        .await
        .iter()
        .enumerate()
    {
        let calls = (0..racers.len())
            .map(|i| {
                CommandRequest::valid(Command::Sign, p)
                    .expecting(p.version)
                    .keyed(&format!("sign-{round}-{i}"))
                    .into()
            })
            .collect();
        let (won, lost): (Vec<_>, Vec<_>) = race(&racers, calls)
            .await
            .into_iter()
            .partition(Result::is_ok);
        assert_eq!(won.len(), 1, "round {round}: {lost:?}");
        let winner = won.into_iter().next().unwrap().unwrap().unwrap();
        assert_eq!(winner.version, p.version + 1, "round {round}");
        for status in lost.into_iter().map(Result::unwrap_err) {
            error_info(&status, Code::Aborted, "VERSION_MISMATCH");
        }
        assert_eq!(events(client, &p.id).await.len() as u64, p.version + 1);
    }
}

/// Sends a receive and an assign with request ids, then moves the proposal on; returns the two
/// requests with their original answers.
async fn requests_overtaken_by_later_events(
    client: &mut Client,
) -> Vec<(CommandRequest, pb::Proposal)> {
    let receive_call = CommandRequest::from(receive(next_number())).keyed("receive-1");
    let received = ok(client, receive_call.clone()).await;
    let assign_call = CommandRequest::valid(Command::Assign, &received).keyed("assign-1");
    let assigned = ok(client, assign_call.clone()).await;
    let drafted = ok(client, CommandRequest::valid(Command::Draft, &assigned)).await;
    assert_eq!(drafted.version, 3);
    vec![(receive_call, received), (assign_call, assigned)]
}
