//! `WatchEvents` streams read the way a watcher reads them: a [`Watcher`] reads its stream on a
//! task of its own (fast, or slow on purpose) until the test, once it knows the whole log, tells
//! it how many events to expect; then its events must be exactly the reference's
//! ([`EventFilter::expected`]). [`assert_next`] reads what comes next on a stream.

use std::time::Duration;

use proposal_service::pb;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::Streaming;

use super::Client;
use super::event_log::EventFilter;
use super::reads::positions;

/// How long anything that should happen promptly may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// A watch stream read by its own task until it holds the number of events the test sets
/// once it knows them; returns them with the stream, for reading on.
pub struct Watcher {
    pub name: &'static str,
    filter: EventFilter,
    after: u64,
    target: watch::Sender<Option<usize>>,
    task: JoinHandle<(Vec<pb::ProposalEvent>, Streaming<pb::WatchEventsResponse>)>,
}

impl Watcher {
    /// Opens the stream of `filter` after position `after`; with `pause`, the watcher sleeps
    /// that long after each event while the test has not said how many to expect.
    pub async fn start(
        client: &Client,
        name: &'static str,
        filter: EventFilter,
        after: u64,
        pause: Option<Duration>,
    ) -> Self {
        let stream = client
            .clone()
            .watch_events(filter.watch_request(after))
            .await
            .unwrap_or_else(|s| panic!("{name}: WatchEvents: {s:?}"))
            .into_inner();
        let (target, mut wanted) = watch::channel(None::<usize>);
        let task = tokio::spawn(async move {
            let mut stream = stream;
            let mut got = Vec::new();
            loop {
                if wanted.borrow().is_some_and(|t| got.len() >= t) {
                    return (got, stream);
                }
                let message = tokio::select! {
                    message = stream.message() => message,
                    changed = wanted.changed() => {
                        if changed.is_err() {
                            // The test failed and dropped its side: nothing left to check.
                            return (got, stream);
                        }
                        continue;
                    }
                };
                let received = got.len();
                match message {
                    Ok(Some(response)) => got.push(response.event.expect("an event")),
                    Ok(None) => panic!("{name}: the stream ended after {received} events"),
                    Err(s) => panic!("{name}: the stream failed after {received} events: {s:?}"),
                }
                if let Some(pause) = pause
                    && wanted.borrow().is_none()
                {
                    // A slow consumer while the writers write (the pause simulates slowness,
                    // not readiness); at full speed once they are done.
                    tokio::time::sleep(pause).await;
                }
            }
        });
        Self {
            name,
            filter,
            after,
            target,
            task,
        }
    }

    /// Waits until the watcher received `expected.len()` events and checks they are exactly
    /// `expected`; returns the stream.
    pub async fn finish(
        self,
        log: &[pb::ProposalEvent],
    ) -> (EventFilter, Streaming<pb::WatchEventsResponse>) {
        let Self {
            name,
            filter,
            after,
            target,
            task,
        } = self;
        let expected = filter.expected(log, after);
        assert!(
            !expected.is_empty(),
            "{name}: the scenario gives every watcher events"
        );
        target.send_replace(Some(expected.len()));
        let (got, stream) = tokio::time::timeout(DEADLINE, task)
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{name}: fewer than {} events within {DEADLINE:?}",
                    expected.len()
                )
            })
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            positions(&got),
            positions(&expected),
            "{name}: positions (no gap, no duplicate)"
        );
        assert_eq!(got, expected, "{name}: the events, hashes included");
        (filter, stream)
    }
}

/// Reads exactly `expected` next from `stream`.
pub async fn assert_next(
    name: &str,
    stream: &mut Streaming<pb::WatchEventsResponse>,
    expected: &[pb::ProposalEvent],
) {
    for event in expected {
        let message = tokio::time::timeout(DEADLINE, stream.message())
            .await
            .unwrap_or_else(|_| panic!("{name}: position {} never arrived", event.position));
        let got = message
            .unwrap_or_else(|s| panic!("{name}: {s:?}"))
            .unwrap_or_else(|| panic!("{name}: the stream ended"))
            .event
            .expect("an event");
        assert_eq!(got.position, event.position, "{name}: the next event");
        assert_eq!(&got, event, "{name}: the next event");
    }
}

/// The stream `WatchEvents` opens for `request`; fails if it refuses it.
pub async fn watch(
    client: &Client,
    request: pb::WatchEventsRequest,
) -> Streaming<pb::WatchEventsResponse> {
    client
        .clone()
        .watch_events(request)
        .await
        .unwrap_or_else(|s| panic!("WatchEvents failed: {s:?}"))
        .into_inner()
}
