mod common;

// Calls in flight: the in-flight bound refuses at once what it cannot take and changes nothing
// for it (retrying is safe), however a burst overlaps; and a read never answers with a change
// that is not yet durable.
//
// Where a test needs calls to stay in flight, it does not hope that a burst overlaps: it runs
// over a store whose commits wait at a gate the test opens (tests/common/gate.rs), which parks
// the single writer mid-commit for as long as the test needs. Every call and every wait is
// bounded, so a hang fails the test instead of blocking it.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use common::TestServer;
use common::bounded::{connect, health, within};
use common::gate::{OpenOnDrop, doubly_gated_server, gated_server};
use common::load::{accepted_and_refused, burst};
use common::numbered::{advance, history_request_ids, path_to, stored};
use proposal_service::pb;
use proposal_service::server::ServeOptions;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_never_answer_with_a_change_that_is_not_yet_durable() {
    // Hold the writer right after a commit is in the store, before it may count as durable:
    // a listing then finds the new proposal, and must wait for the commit to count before it
    // answers; the registration and the listing answer together once it does.
    let (server, _gate, done, _temp) = doubly_gated_server(ServeOptions::default()).await;
    let _open = OpenOnDrop(Arc::clone(&done));
    done.close();
    let client = server.client.clone();
    let mut registration = tokio::spawn(async move { advance(&client, "", 1, 1, None).await });
    done.commits_waiting(1).await;
    let mut listing = tokio::spawn({
        let mut client = server.client.clone();
        async move {
            client
                .list_proposals(pb::ListProposalsRequest::default())
                .await
        }
    });
    // A bounded look for an early answer: one sent now would arrive well within this.
    let early = tokio::time::timeout(Duration::from_millis(300), async {
        tokio::select! {
            answer = &mut registration => format!("the registration: {answer:?}"),
            answer = &mut listing => format!("the listing: {answer:?}"),
        }
    })
    .await;
    if let Ok(answer) = early {
        panic!("answered before the commit counted as durable: {answer}");
    }
    done.open();
    let registered = within("the registration", registration)
        .await
        .unwrap()
        .expect("registered");
    let listed = within("the listing", listing)
        .await
        .unwrap()
        .expect("listed")
        .into_inner();
    let ids: Vec<&str> = listed.proposals.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, [registered.id.as_str()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_beyond_the_bound_are_refused_at_once_and_change_nothing() {
    let options = ServeOptions {
        max_in_flight: 2,
        ..ServeOptions::default()
    };
    let (server, gate, _temp) = gated_server(options).await;
    let _open = OpenOnDrop(Arc::clone(&gate));
    gate.close();

    // 200 registrations at once over 4 connections. The first two to arrive take the two
    // places and cannot finish while the gate holds the writer; every other one must be
    // refused, and refused without waiting for a place to free up.
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(connect(server.addr).await);
    }
    let (sender, mut outcomes) = tokio::sync::mpsc::unbounded_channel();
    for number in 1..=200u32 {
        let client = clients[number as usize % 4].clone();
        let sender = sender.clone();
        tokio::spawn(async move {
            let outcome = advance(&client, "", number, 1, None).await;
            let _ = sender.send((number, outcome));
        });
    }
    drop(sender);
    let mut refused = BTreeSet::new();
    for _ in 0..198 {
        let (number, outcome) = within("a refusal while saturated", outcomes.recv())
            .await
            .expect("every call answers");
        match outcome {
            Err(status) if status.code() == Code::ResourceExhausted => {
                assert_eq!(
                    status.message(),
                    "too many calls in progress; retry with backoff"
                );
                refused.insert(number);
            }
            other => panic!("No. {number} answered {other:?} while the writer was held"),
        }
    }
    gate.commits_waiting(1).await;
    assert_eq!(
        gate.held(),
        1,
        "one commit, the first accepted call's, is held"
    );
    assert!(
        outcomes.try_recv().is_err(),
        "the two accepted calls cannot have finished while their commit is held"
    );
    // The bound covers the proposal service only: health still answers, and says SERVING.
    assert_eq!(health(server.addr).await, ServingStatus::Serving);

    gate.open();
    let mut accepted = BTreeSet::new();
    for _ in 0..2 {
        let (number, outcome) = within("an accepted call", outcomes.recv())
            .await
            .expect("every call answers");
        let proposal = outcome.unwrap_or_else(|s| panic!("No. {number} held a place: {s:?}"));
        assert_eq!(proposal.version, 1);
        accepted.insert(number);
    }
    assert!(
        within("the end of the burst", outcomes.recv())
            .await
            .is_none()
    );
    assert!(accepted.is_disjoint(&refused));

    // A refused call changed nothing: exactly the accepted proposals exist.
    let numbers: BTreeSet<u32> = stored(&server.client).await.into_keys().collect();
    assert_eq!(
        numbers, accepted,
        "the stored proposals are the accepted ones"
    );

    // And it is safe to retry: the same requests, one at a time, are all accepted now.
    for &number in &refused {
        let outcome = within("a retry", advance(&server.client, "", number, 1, None)).await;
        outcome.unwrap_or_else(|s| panic!("retrying No. {number}: {s:?}"));
    }
    let stored = stored(&server.client).await;
    assert_eq!(
        stored.keys().copied().collect::<Vec<_>>(),
        (1..=200).collect::<Vec<_>>()
    );
    for proposal in stored.values() {
        let ids = history_request_ids(&server.client, &proposal.id).await;
        assert_eq!(ids, path_to(proposal.number, 1), "registered exactly once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unstaged_burst_stores_exactly_what_it_acknowledged() {
    // The same burst on an ordinary store with two places: however the calls happen to overlap,
    // each is accepted or refused, and the store holds exactly the accepted ones.
    let server = TestServer::start_with(ServeOptions {
        max_in_flight: 2,
        ..ServeOptions::default()
    })
    .await;
    let outcomes = burst(server.addr, 4, 1, 200).await;
    let (accepted, refused) = accepted_and_refused(&outcomes);
    eprintln!(
        "max_in_flight 2: {} accepted, {} refused",
        accepted.len(),
        refused.len()
    );
    assert_eq!(accepted.len() + refused.len(), 200);
    // The first two calls to arrive find both places free, whatever happens after.
    assert!(accepted.len() >= 2, "only {} accepted", accepted.len());
    let numbers: BTreeSet<u32> = stored(&server.client).await.into_keys().collect();
    assert_eq!(
        numbers, accepted,
        "the stored proposals are the accepted ones"
    );

    // With places for all of them, the same burst is accepted in full.
    let roomy = TestServer::start_with(ServeOptions::default()).await;
    let outcomes = burst(roomy.addr, 4, 1, 200).await;
    let (accepted, refused) = accepted_and_refused(&outcomes);
    assert!(refused.is_empty(), "refused with 1024 places: {refused:?}");
    assert_eq!(accepted.len(), 200);
    let numbers: BTreeSet<u32> = stored(&roomy.client).await.into_keys().collect();
    assert_eq!(numbers, accepted);
}
