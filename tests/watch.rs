mod common;

// WatchEvents over real gRPC: watchers (filtered, from the middle, slow) under concurrent
// writers get exactly their part of the log; a watcher resumes across a restart without gap or
// duplicate; stopping the server ends open streams promptly; watching past the end of the log
// is OUT_OF_RANGE, and bad watch requests name their field.
//
// The reference: what each watcher must receive is the whole log filtered by
// `EventFilter::expected` (tests/common/event_log.rs).

use std::time::{Duration, Instant};

use common::event_log::{EventFilter, assert_gapless};
use common::lifecycle::Command;
use common::plans::{
    CLERK_A, LEADER_A, OFFICE, REGISTRAR_1, REGISTRAR_2, UNIT_A, act, assign, drive_plan, forward,
    receive, rejected_and_revised, returned_and_reassigned, step,
};
use common::reads::{positions, verify_history, whole_log};
use common::status::{assert_invalid, error_info};
use common::watchers::{DEADLINE, Watcher, assert_next, watch};
use common::{Client, TestServer};
use proposal_service::pb::EventKind as Kind;
use proposal_service::server::ServeOptions;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watchers_receive_exactly_their_part_of_the_log_under_concurrent_writes() {
    const WRITERS: u32 = 8;
    const LIFECYCLES: u32 = 3;
    /// Large drafts, so that a slow consumer's connection window fills and its watcher has to
    /// wait (and fall behind the live batches).
    const BODY: usize = 3_000;
    let server = TestServer::start().await;
    let client = server.client.clone();
    // Proposal 1 exists before any watcher: its watcher replays its registration, then follows.
    let p0 = receive(&client, 1, REGISTRAR_1).await;

    let slow_channel = tonic::transport::Endpoint::from_shared(format!("http://{}", server.addr))
        .unwrap()
        .initial_stream_window_size(Some(16 * 1024))
        .connect()
        .await
        .unwrap();
    let slow_client = Client::new(slow_channel);
    let mut watchers = vec![
        Watcher::start(&client, "unfiltered", EventFilter::default(), 0, None).await,
        Watcher::start(
            &client,
            "kinds",
            EventFilter::default().kinds(&[
                Kind::ProposalAssigned,
                Kind::ProposalReturned,
                Kind::DraftRejected,
            ]),
            0,
            None,
        )
        .await,
        Watcher::start(
            &client,
            "unit A",
            EventFilter::default().unit(UNIT_A),
            0,
            None,
        )
        .await,
        Watcher::start(
            &client,
            "proposal 1",
            EventFilter::default().proposal(&p0.id),
            0,
            None,
        )
        .await,
        Watcher::start(
            &slow_client,
            "slow",
            EventFilter::default(),
            0,
            Some(Duration::from_millis(25)),
        )
        .await,
    ];

    let mut writers = Vec::new();
    for task in 0..WRITERS {
        let client = client.clone();
        let p0 = p0.clone();
        writers.push(tokio::spawn(async move {
            let mut caused = 0;
            if task == 0 {
                // Proposal 1 to ISSUED; the copy comes at the very end.
                for step in &forward(UNIT_A, CLERK_A, LEADER_A)[..4] {
                    act(&client, &p0, *step, BODY).await;
                    caused += 1;
                }
            }
            for i in 0..LIFECYCLES {
                let number = 100 + task * 10 + i;
                let plan = match (task + i) % 3 {
                    0 => forward(UNIT_A, CLERK_A, LEADER_A),
                    1 => returned_and_reassigned(),
                    _ => rejected_and_revised(),
                };
                caused += drive_plan(&client, number, &plan, BODY).await.1;
            }
            caused
        }));
    }

    // One more watcher from the middle of the log, while the writers write.
    let deadline = Instant::now() + DEADLINE;
    let middle = loop {
        let page = client
            .clone()
            .list_events(EventFilter::default().list_request(1000, String::new()))
            .await
            .unwrap()
            .into_inner();
        if page.events.len() >= 40 {
            break page.events.last().unwrap().position;
        }
        assert!(
            Instant::now() < deadline,
            "the writers never wrote 40 events"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    watchers.push(
        Watcher::start(
            &client,
            "from the middle",
            EventFilter::default(),
            middle,
            None,
        )
        .await,
    );

    let mut caused = 1;
    for writer in writers {
        caused += writer.await.expect("a writer task");
    }
    // Then one writer alone, so that each event is a batch of its own: more batches than
    // are kept for watchers (128) go by while the slow consumer is still behind.
    for number in 500..520 {
        caused += drive_plan(&client, number, &returned_and_reassigned(), 50)
            .await
            .1;
    }
    let log = whole_log(&client).await;
    assert_eq!(log.len(), caused, "one event per successful call");
    assert_gapless(&log);

    let mut streams = Vec::new();
    for watcher in watchers {
        let name = watcher.name;
        let (filter, stream) = watcher.finish(&log).await;
        streams.push((name, filter, stream));
    }

    // Nothing more than the log was delivered: the next events each watcher receives are
    // exactly those of three more writes that match it.
    let p_new = receive(&client, 999, REGISTRAR_2).await;
    act(&client, &p_new, assign(UNIT_A, REGISTRAR_2), 0).await;
    act(&client, &p0, step(Command::Copy, OFFICE), 0).await;
    let log = whole_log(&client).await;
    assert_eq!(log.len(), caused + 3);
    for (name, filter, mut stream) in streams {
        let expected = filter.expected(&log, caused as u64);
        assert!(
            !expected.is_empty(),
            "{name}: one of the last writes concerns every watcher"
        );
        assert_next(name, &mut stream, &expected).await;
    }
}

#[tokio::test]
async fn a_watcher_resumes_after_a_restart_without_gap_or_duplicate() {
    let server = TestServer::start().await;
    for number in 1..=3 {
        drive_plan(&server.client, number, &returned_and_reassigned(), 50).await;
    }
    let mut stream = watch(&server.client, EventFilter::default().watch_request(0)).await;
    let mut got = Vec::new();
    for _ in 0..8 {
        let message = tokio::time::timeout(DEADLINE, stream.message())
            .await
            .expect("an event in time");
        got.push(message.unwrap().expect("an event").event.unwrap());
    }

    let server = server.restart().await;
    // The old stream delivers what the server had queued, then fails.
    let ending = loop {
        match tokio::time::timeout(DEADLINE, stream.message())
            .await
            .expect("the old stream ends in time")
        {
            Ok(Some(response)) => got.push(response.event.unwrap()),
            Ok(None) => {
                panic!("the stream ended cleanly; it must end with an error when the server stops")
            }
            Err(status) => break status,
        }
    };
    assert_eq!(ending.code(), Code::Unavailable, "{ending:?}");

    drive_plan(&server.client, 4, &rejected_and_revised(), 50).await;
    let last_seen = got.last().unwrap().position;
    let mut resumed = watch(
        &server.client,
        EventFilter::default().watch_request(last_seen),
    )
    .await;
    // Written while the resumed stream is open: delivered live.
    drive_plan(&server.client, 5, &forward(UNIT_A, CLERK_A, LEADER_A), 50).await;
    let log = whole_log(&server.client).await;
    while got.len() < log.len() {
        let message = tokio::time::timeout(DEADLINE, resumed.message())
            .await
            .unwrap_or_else(|_| panic!("only {} of {} events arrived", got.len(), log.len()));
        got.push(message.unwrap().expect("an event").event.unwrap());
    }
    assert_gapless(&log);
    assert_eq!(
        positions(&got),
        positions(&log),
        "the two streams concatenate to the log"
    );
    assert_eq!(got, log);
    // The chain went on across the restart.
    let report = verify_history(&server.client).await;
    assert!(report.ok, "{report:?}");
    assert_eq!(report.head_position, log.len() as u64);
    assert_eq!(report.head_hash, log.last().unwrap().hash);
}

#[tokio::test]
async fn stopping_the_server_ends_open_watch_streams_promptly() {
    let mut server = TestServer::start_with(ServeOptions {
        shutdown_grace: Duration::from_secs(60),
        ..ServeOptions::default()
    })
    .await;
    let (id, caused) = drive_plan(&server.client, 1, &forward(UNIT_A, CLERK_A, LEADER_A), 50).await;
    let mut caught_up = watch(&server.client, EventFilter::default().watch_request(0)).await;
    for position in 1..=caused as u64 {
        let message = tokio::time::timeout(DEADLINE, caught_up.message())
            .await
            .expect("in time");
        assert_eq!(message.unwrap().unwrap().event.unwrap().position, position);
    }
    // One that has nothing to deliver (a unit nobody handles), and one for a finished proposal.
    let nobody = EventFilter::default().unit("许昌市无此局");
    let mut idle = watch(&server.client, nobody.watch_request(0)).await;
    let done = EventFilter::default().proposal(&id.id);
    let mut finished = watch(&server.client, done.watch_request(caused as u64)).await;

    let started = Instant::now();
    server.stop().await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "stopping took {took:?} with watch streams open (grace 60 s)"
    );
    for (name, stream) in [
        ("caught up", &mut caught_up),
        ("idle", &mut idle),
        ("finished", &mut finished),
    ] {
        let message = tokio::time::timeout(Duration::from_secs(10), stream.message())
            .await
            .unwrap_or_else(|_| panic!("{name}: the stream did not end after the server stopped"));
        match message {
            Err(status) => assert_eq!(status.code(), Code::Unavailable, "{name}: {status:?}"),
            Ok(other) => panic!("{name}: expected UNAVAILABLE, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn watching_after_the_end_of_the_log_is_out_of_range() {
    let server = TestServer::start().await;
    let mut client = server.client.clone();
    let beyond = |after: u64| EventFilter::default().watch_request(after);

    let status = client
        .watch_events(beyond(1))
        .await
        .expect_err("an empty log has no position 1");
    let metadata = error_info(&status, Code::OutOfRange, "POSITION_BEYOND_LOG");
    assert_eq!(
        metadata.get("requestedPosition").map(String::as_str),
        Some("1"),
        "{metadata:?}"
    );
    assert_eq!(
        metadata.get("lastPosition").map(String::as_str),
        Some("0"),
        "{metadata:?}"
    );

    let (_, caused) = drive_plan(&client, 1, &forward(UNIT_A, CLERK_A, LEADER_A), 50).await;
    let last = caused as u64;
    for after in [last + 1, last + 1000, u64::MAX] {
        let status = client
            .watch_events(beyond(after))
            .await
            .expect_err("beyond the log");
        let metadata = error_info(&status, Code::OutOfRange, "POSITION_BEYOND_LOG");
        assert_eq!(
            metadata.get("requestedPosition"),
            Some(&after.to_string()),
            "{metadata:?}"
        );
        assert_eq!(
            metadata.get("lastPosition"),
            Some(&last.to_string()),
            "{metadata:?}"
        );
    }

    // At the end is not beyond it: the next event written is the first delivered.
    let mut at_end = client
        .watch_events(beyond(last))
        .await
        .expect("watching from the end")
        .into_inner();
    let next = receive(&client, 2, REGISTRAR_1).await;
    let log = whole_log(&client).await;
    assert_eq!(log.last().unwrap().proposal_id, next.id);
    assert_next("from the end", &mut at_end, &log[last as usize..]).await;

    let mut bad = beyond(0);
    bad.kinds = vec![99];
    assert_invalid(
        client.watch_events(bad).await,
        "kinds[0]",
        "WatchEvents with an unknown kind",
    );
    let mut bad = beyond(0);
    bad.proposal_id = "228".into();
    assert_invalid(
        client.watch_events(bad).await,
        "proposal_id",
        "WatchEvents with a malformed id",
    );
}
