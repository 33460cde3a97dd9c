mod common;

// Authentication over real gRPC: calls without valid credentials are UNAUTHENTICATED and change
// nothing, a token removed from the principals file is refused after SIGHUP in the real binary
// (and a bad file changes nothing), and the open local development mode without a principals
// file, which the binary's first log line announces.

use std::time::{Duration, Instant};

use common::TestServer;
use common::lifecycle::State;
use common::principals::{
    AuthClient, DEADLINE, Guarded, Member, Role, Rpc, client_as, client_with, connect, invoke,
    member, next_event, principals_json, token, works, write_atomically,
};
use common::process::{ServerProcess, temp_data_dir};
use common::reads::whole_log;
use common::requests::{self as rq, CommandFields, CommandRequest, next_number};
use common::status::assert_unauthenticated;
use proposal_service::pb;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_without_valid_credentials_are_unauthenticated_and_change_nothing() {
    let guarded = Guarded::start().await;
    let unknown = format!("Bearer {}", token("stranger"));
    let headers = [
        None,
        Some("Basic x"),
        Some("Bearer"),
        Some("Bearer "),
        Some(unknown.as_str()),
    ];
    for header in headers {
        let what = format!("authorization {header:?}");
        let mut client = client_with(&guarded.channel, header);
        let request = pb::GetProposalRequest {
            proposal_id: "0190f0a0-0000-7000-8000-000000000000".into(),
            ..Default::default()
        };
        assert_unauthenticated(client.get_proposal(request).await, &what);
        assert_unauthenticated(
            client
                .list_proposals(pb::ListProposalsRequest::default())
                .await,
            &what,
        );
        assert_unauthenticated(client.watch_events(rq::watch("")).await, &what);
        assert_unauthenticated(
            client.verify_history(pb::VerifyHistoryRequest {}).await,
            &what,
        );
        assert_unauthenticated(
            client
                .receive_proposal(rq::receive(next_number()).by(""))
                .await,
            &what,
        );
    }
    assert_eq!(whole_log(&guarded.admin()).await, [], "nothing was written");
    // Health needs no credentials.
    let mut health = HealthClient::new(guarded.channel.clone());
    let request = HealthCheckRequest {
        service: "proposal.v1.ProposalService".into(),
    };
    let status = health.check(request).await.unwrap().into_inner().status;
    assert_eq!(status, ServingStatus::Serving as i32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_removed_from_the_file_is_refused_after_sighup_and_a_bad_file_changes_nothing() {
    const KEPT: Member = member("kept", Role::Auditor, None);
    const REVOKED: Member = member("revoked", Role::Registrar, None);
    // A watcher whose token goes, and a registrar who stays, to make events for the watchers.
    const GONE: Member = member("gone-watcher", Role::Auditor, None);
    const CLERK: Member = member("clerk", Role::Registrar, None);
    let (_temp, data_dir) = temp_data_dir();
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("principals.json");
    write_atomically(&file, &principals_json(&[KEPT, REVOKED, GONE, CLERK]));
    let mut server =
        ServerProcess::expect_start_with_args(&data_dir, &["--principals", file.to_str().unwrap()]);
    let channel = connect(server.addr).await;
    let (kept, revoked) = (
        client_as(&channel, KEPT.name),
        client_as(&channel, REVOKED.name),
    );
    works(&kept, "kept token").await;
    works(&revoked, "token before revocation").await;
    assert_unauthenticated(
        client_with(&channel, None)
            .list_proposals(pb::ListProposalsRequest::default())
            .await,
        "no credentials",
    );
    let clerk = client_as(&channel, CLERK.name);
    let mut watchers = Vec::new();
    for member in [KEPT, GONE] {
        let stream = client_as(&channel, member.name)
            .watch_events(rq::watch(""))
            .await
            .unwrap_or_else(|s| panic!("WatchEvents as {}: {s:?}", member.name))
            .into_inner();
        watchers.push(stream);
    }
    let first = clerk
        .clone()
        .receive_proposal(rq::receive(1).by(""))
        .await
        .unwrap();
    let first = first.into_inner().proposal.unwrap();
    for (stream, name) in watchers.iter_mut().zip([KEPT.name, GONE.name]) {
        assert_eq!(next_event(stream, name).await.proposal_id, first.id);
    }

    write_atomically(&file, &principals_json(&[KEPT, CLERK]));
    server.hangup();
    until_unauthenticated(&revoked, "revoked token after SIGHUP").await;
    works(&kept, "kept token after SIGHUP").await;
    // A stream opened with a token that is gone ends with UNAUTHENTICATED, and nothing more;
    // one whose token stays goes on.
    let mut gone = watchers.pop().unwrap();
    let ended = tokio::time::timeout(DEADLINE, gone.message())
        .await
        .expect("the revoked watcher's stream ends within the deadline");
    assert_unauthenticated(ended, "a stream whose token was revoked");
    let after = tokio::time::timeout(DEADLINE, gone.message())
        .await
        .unwrap();
    assert!(matches!(after, Ok(None)), "after the error: {after:?}");
    let second = clerk
        .clone()
        .receive_proposal(rq::receive(2).by(""))
        .await
        .unwrap();
    let second = second.into_inner().proposal.unwrap();
    assert_eq!(
        next_event(&mut watchers[0], KEPT.name).await.proposal_id,
        second.id,
        "the kept watcher goes on after the reload"
    );

    // A broken file on SIGHUP: logged, and the principals in force stay.
    write_atomically(&file, "{\"principals\": [ not json");
    server.hangup();
    let started = Instant::now();
    while !server
        .log()
        .iter()
        .any(|line| line.contains("principals file not reloaded"))
    {
        assert!(
            started.elapsed() < DEADLINE,
            "the failed reload was never logged:\n{}",
            server.log().join("\n")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    works(&kept, "kept token after a bad file").await;
    assert_unauthenticated(
        revoked
            .clone()
            .list_proposals(pb::ListProposalsRequest::default())
            .await,
        "revoked token after a bad file",
    );

    let mut health = HealthClient::new(channel.clone());
    let request = HealthCheckRequest {
        service: "proposal.v1.ProposalService".into(),
    };
    let status = health.check(request).await.unwrap().into_inner().status;
    assert_eq!(
        status,
        ServingStatus::Serving as i32,
        "health without credentials"
    );
    assert!(server.terminate().await.success());
}

// ---------------------------------------------------------------------------------------------
// 6. Local development: no principals file
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_principals_file_every_call_works_and_records_the_named_actor() {
    let server = TestServer::start().await;
    // No credentials at all.
    let client = client_with(&connect(server.addr).await, None);
    let mut c = client.clone();
    let mut p = c
        .receive_proposal(pb::ReceiveProposalRequest {
            actor: "提案委登记员".into(),
            ..rq::receive(next_number())
        })
        .await
        .unwrap()
        .into_inner()
        .proposal
        .unwrap();
    // Every command once (a return, a rejected draft), each under its own actor.
    let steps: [(Rpc, &str); 9] = [
        (Rpc::Assign, "提案委登记员"),
        (Rpc::Return, "承办单位经办人"),
        (Rpc::Assign, "提案委登记员乙"),
        (Rpc::Draft, "承办单位经办人"),
        (Rpc::RejectDraft, "承办单位领导"),
        (Rpc::Draft, "承办单位经办人乙"),
        (Rpc::Sign, "承办单位领导"),
        (Rpc::Issue, "承办单位办公室"),
        (Rpc::Copy, "承办单位办公室乙"),
    ];
    for (rpc, actor) in steps {
        let command = rpc.command().expect("a command");
        let answer = CommandRequest::valid(command, &p)
            .by(actor)
            .send(&mut c)
            .await;
        p = answer.unwrap_or_else(|s| panic!("{rpc:?}: {s:?}")).unwrap();
    }
    assert_eq!(p.state(), State::Copied);
    // Every read, VerifyHistory included.
    for rpc in [
        Rpc::Get,
        Rpc::List,
        Rpc::History,
        Rpc::ListEvents,
        Rpc::Verify,
        Rpc::Render,
        Rpc::Rules,
    ] {
        invoke(&client, rpc, Some(&p))
            .await
            .unwrap_or_else(|s| panic!("{rpc:?}: {s:?}"));
    }
    let mut stream = c.watch_events(rq::watch("")).await.unwrap().into_inner();
    let first = next_event(&mut stream, "WatchEvents").await;
    assert_eq!(
        (first.proposal_id.as_str(), first.sequence),
        (p.id.as_str(), 1)
    );

    let actors: Vec<String> = whole_log(&client)
        .await
        .into_iter()
        .map(|e| e.actor)
        .collect();
    let mut expected = vec!["提案委登记员".to_owned()];
    expected.extend(steps.iter().map(|(_, actor)| actor.to_string()));
    assert_eq!(actors, expected);
}

/// Local development mode must not go unnoticed: the binary's first log line says that every
/// caller is the local admin; with a principals file it says who may call instead.
#[tokio::test]
async fn the_first_log_line_names_the_authentication_mode() {
    let (_temp, data_dir) = temp_data_dir();
    let mut server = ServerProcess::expect_start(&data_dir);
    let first = server.log().first().cloned().unwrap_or_default();
    assert!(
        first.contains("no principals file") && first.contains("local admin"),
        "{first}"
    );
    server.terminate().await;
}

/// Polls until `client` is refused UNAUTHENTICATED, within [`DEADLINE`].
async fn until_unauthenticated(client: &AuthClient, what: &str) {
    let started = Instant::now();
    loop {
        match client
            .clone()
            .list_proposals(pb::ListProposalsRequest::default())
            .await
        {
            Err(status) if status.code() == Code::Unauthenticated => return,
            Err(status) => panic!("{what}: {status:?}"),
            Ok(_) if started.elapsed() > DEADLINE => {
                panic!("{what}: still accepted after {DEADLINE:?}")
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}
