//! Load for the overload and shutdown tests: bursts of registrations split into accepted and
//! refused, and clients that drive proposals along the whole path until the server stops
//! acknowledging, with a [`Ledger`] of what each was told.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use proposal_service::pb;
use tokio::sync::watch;
use tonic::{Code, Status};

use super::Client;
use super::bounded::{connect, within};
use super::numbered::{LAST_VERSION, advance};

/// Fires `calls` registrations (numbers `first..first + calls`) at once over `connections`
/// connections; returns each number's outcome.
pub async fn burst(
    addr: SocketAddr,
    connections: usize,
    first: u32,
    calls: u32,
) -> BTreeMap<u32, Result<pb::Proposal, Status>> {
    let mut clients = Vec::new();
    for _ in 0..connections {
        clients.push(connect(addr).await);
    }
    let tasks: Vec<_> = (first..first + calls)
        .map(|number| {
            let client = clients[number as usize % connections].clone();
            tokio::spawn(async move {
                let outcome = within("a call of the burst", advance(&client, "", number, 1, None));
                (number, outcome.await)
            })
        })
        .collect();
    let mut outcomes = BTreeMap::new();
    for task in tasks {
        let (number, outcome) = task.await.expect("a call of the burst panicked");
        outcomes.insert(number, outcome);
    }
    outcomes
}

/// Splits outcomes into the numbers accepted and refused, failing on anything but OK or
/// RESOURCE_EXHAUSTED.
pub fn accepted_and_refused(
    outcomes: &BTreeMap<u32, Result<pb::Proposal, Status>>,
) -> (BTreeSet<u32>, BTreeSet<u32>) {
    let (mut accepted, mut refused) = (BTreeSet::new(), BTreeSet::new());
    for (number, outcome) in outcomes {
        match outcome {
            Ok(_) => {
                accepted.insert(*number);
            }
            Err(status) if status.code() == Code::ResourceExhausted => {
                assert_eq!(
                    status.message(),
                    "too many calls in progress; retry with backoff"
                );
                refused.insert(*number);
            }
            Err(status) => panic!("No. {number}: neither accepted nor refused: {status:?}"),
        }
    }
    (accepted, refused)
}

/// tonic 0.14 ends a call whose deadline (`grpc-timeout`) passed with CANCELLED and this message,
/// on both sides: the client's own timer and the server's both raise `TimeoutExpired`, which
/// `Status::from_error` maps to CANCELLED. (The gRPC spec says DEADLINE_EXCEEDED.)
pub fn assert_deadline_status(status: &Status) {
    assert_eq!(status.code(), Code::Cancelled, "{status:?}");
    assert_eq!(status.message(), "Timeout expired", "{status:?}");
}

/// What one load client was told.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Each proposal it registered: number → (id, the versions acknowledged, in order).
    pub acknowledged: BTreeMap<u32, (String, Vec<u64>)>,
    /// The call it got no acknowledgement for: (number, version it would have reached).
    pub unanswered: Option<(u32, u64)>,
    /// How that call ended, and when.
    pub end: Option<(Status, Instant)>,
    /// Whether HTTP/2 guarantees the server never processed that call (see `refused_by_goaway`).
    pub unprocessed: bool,
}

/// True when the call's stream was refused by the server's GOAWAY: it was above the GOAWAY's
/// last stream id, so the server did not process it (RFC 9113 §6.8) and a retry is safe. This is
/// the race of a client opening a stream while the server's final GOAWAY is on the wire; tonic
/// 0.14 reports it as INTERNAL "h2 protocol error" (the gRPC spec would say UNAVAILABLE).
pub fn refused_by_goaway(status: &Status) -> bool {
    let mut source = std::error::Error::source(status);
    while let Some(error) = source {
        if let Some(h2) = error.downcast_ref::<h2::Error>() {
            return h2.is_go_away() && h2.is_remote() && h2.reason() == Some(h2::Reason::NO_ERROR);
        }
        source = error.source();
    }
    false
}

/// Drives proposals along the whole path, one call at a time, until a call is not acknowledged.
pub async fn drive_until_refused(
    client: Client,
    first: u32,
    progress: Arc<watch::Sender<usize>>,
) -> Ledger {
    let mut ledger = Ledger::default();
    let mut number = first;
    let mut current: Option<(String, u64)> = None;
    for _ in 0..100_000 {
        let (id, version) = match &current {
            Some((id, version)) => (id.clone(), version + 1),
            None => {
                number += 1;
                (String::new(), 1)
            }
        };
        match within(
            "a call under load",
            advance(&client, &id, number, version, None),
        )
        .await
        {
            Ok(proposal) => {
                let entry = ledger
                    .acknowledged
                    .entry(number)
                    .or_insert_with(|| (proposal.id.clone(), Vec::new()));
                entry.1.push(version);
                current = (version < LAST_VERSION).then_some((proposal.id, version));
                progress.send_modify(|n| *n += 1);
            }
            Err(status) => {
                ledger.unanswered = Some((number, version));
                ledger.unprocessed = refused_by_goaway(&status);
                ledger.end = Some((status, Instant::now()));
                return ledger;
            }
        }
    }
    panic!("100,000 calls and the server never stopped taking them");
}
