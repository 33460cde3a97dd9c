mod common;

// Deadlines: a call whose deadline passes while it waits behind a parked commit ends promptly
// and is never applied (its retry applies it once); 1 ms deadlines under load end promptly, and
// retries with the same request id apply each step exactly once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::TestServer;
use common::bounded::{connect, health, within};
use common::gate::{OpenOnDrop, gated_server};
use common::load::assert_deadline_status;
use common::numbered::{
    LAST_VERSION, advance, history_request_ids, open_and_verify, path_to, stored,
};
use proposal_service::pb;
use proposal_service::server::ServeOptions;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_whose_deadline_passes_in_the_queue_is_never_applied() {
    // Two places: the call parked in the writer's commit and the one with a deadline queued
    // behind it; a third call is refused while both are in progress, which tells the test when
    // the expired call has really gone.
    let (server, gate, _temp) = gated_server(ServeOptions {
        max_in_flight: 2,
        ..ServeOptions::default()
    })
    .await;
    let _open = OpenOnDrop(Arc::clone(&gate));
    let client = server.client.clone();
    let received = within("registration", advance(&client, "", 1, 1, None))
        .await
        .unwrap();
    let id = received.id.clone();

    gate.close();
    let parked = tokio::spawn({
        let (client, id) = (client.clone(), id.clone());
        async move { advance(&client, &id, 1, 2, None).await }
    });
    gate.commits_waiting(1).await;

    // The next call on the same proposal waits behind the parked commit and runs out of time.
    let deadline = Duration::from_millis(200);
    let started = Instant::now();
    let expired = within(
        "a call with a deadline",
        advance(&client, &id, 1, 3, Some(deadline)),
    )
    .await
    .expect_err("the writer is held, so the call cannot finish in time");
    let elapsed = started.elapsed();
    assert_deadline_status(&expired);
    assert!(
        elapsed >= deadline,
        "ended before its deadline: {elapsed:?}"
    );
    assert!(
        elapsed < deadline + Duration::from_secs(5),
        "the deadline was not enforced promptly: {elapsed:?}"
    );

    // Wait until the server has dropped the expired call, which frees its place: a read then
    // gets the place instead of RESOURCE_EXHAUSTED. (ListEvents, which reads only durable
    // events: a GetProposal would wait for the parked batch to become durable.)
    let mut freed = false;
    for _ in 0..500 {
        let request = pb::ListEventsRequest {
            page_size: 1,
            ..Default::default()
        };
        match within("ListEvents", client.clone().list_events(request)).await {
            Ok(_) => {
                freed = true;
                break;
            }
            Err(status) => assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}"),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(freed, "the expired call kept its place for over 5 s");
    // The server stayed healthy through it all.
    assert_eq!(health(server.addr).await, ServingStatus::Serving);

    gate.open();
    let assigned = within("the parked call", parked)
        .await
        .unwrap()
        .expect("the parked call completes once its commit may");
    assert_eq!(assigned.version, 2);
    // The writer serves in arrival order: once a later command is acknowledged, the expired one
    // has been dealt with.
    within("a later registration", advance(&client, "", 2, 1, None))
        .await
        .expect("a normal call works after a deadline expired");
    assert_eq!(
        history_request_ids(&client, &id).await,
        path_to(1, 2),
        "the expired call was not applied: its caller was told the outcome is unknown, and it \
         was dropped before the writer decided it"
    );

    // Retrying it with the same request id applies it, once.
    within("the retry", advance(&client, &id, 1, 3, None))
        .await
        .expect("retrying the expired call");
    assert_eq!(history_request_ids(&client, &id).await, path_to(1, 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiny_deadlines_under_load_end_promptly_and_retries_apply_exactly_once() {
    // Four clients drive proposals along the whole path at once. Every call first goes out with a
    // 1 ms deadline; if that ends in CANCELLED, the outcome is unknown (the command may or may
    // not have been committed), so the client retries with the same request id and no deadline.
    // Whatever mix of outcomes the timing produces, each history must be the path exactly once.
    let mut server = TestServer::start().await;
    let tiny = Duration::from_millis(1);
    let workers: Vec<_> = (0..4u32)
        .map(|worker| {
            let addr = server.addr;
            tokio::spawn(async move {
                let client = connect(addr).await;
                let mut expired = 0;
                let mut ids = Vec::new();
                for number in (worker * 100 + 1)..=(worker * 100 + 3) {
                    let mut id = String::new();
                    for version in 1..=LAST_VERSION {
                        let started = Instant::now();
                        let first = within(
                            "a call with a 1 ms deadline",
                            advance(&client, &id, number, version, Some(tiny)),
                        )
                        .await;
                        let elapsed = started.elapsed();
                        assert!(
                            elapsed < Duration::from_secs(3),
                            "a 1 ms deadline took {elapsed:?} to end the call"
                        );
                        let proposal = match first {
                            Ok(proposal) => proposal,
                            Err(status) => {
                                assert_deadline_status(&status);
                                expired += 1;
                                within("a retry", advance(&client, &id, number, version, None))
                                    .await
                                    .unwrap_or_else(|s| panic!("retrying: {s:?}"))
                            }
                        };
                        id = proposal.id;
                    }
                    ids.push((number, id));
                }
                (expired, ids)
            })
        })
        .collect();
    let mut expired = 0;
    let mut driven = Vec::new();
    for worker in workers {
        let (count, ids) = within("a client", worker).await.expect("a client panicked");
        expired += count;
        driven.extend(ids);
    }
    eprintln!(
        "{expired} of {} calls ran out of their 1 ms deadline",
        driven.len() * LAST_VERSION as usize
    );

    assert_eq!(health(server.addr).await, ServingStatus::Serving);
    for (number, id) in &driven {
        assert_eq!(
            history_request_ids(&server.client, id).await,
            path_to(*number, LAST_VERSION),
            "No. {number} took each step exactly once"
        );
    }
    assert_eq!(stored(&server.client).await.len(), driven.len());

    server.stop().await;
    let dir = server.data_dir().to_path_buf();
    let (store, proposals) = tokio::task::spawn_blocking(move || open_and_verify(&dir))
        .await
        .unwrap();
    assert_eq!(proposals, driven.len() as u64);
    drop(store);
}
