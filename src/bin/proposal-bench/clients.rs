//! The closed loop every phase runs: one client per connection, all at once, for a set time.

use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::loadgen::Connection;

/// Runs `client` on every connection at once until `duration` is over; returns each client's
/// result and the time until the last one finished.
pub async fn run_clients<T, F, Fut>(
    connections: &[Connection],
    duration: Duration,
    client: F,
) -> (Vec<T>, Duration)
where
    T: Send + 'static,
    F: Fn(Connection, Instant) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let started = Instant::now();
    let until = started + duration;
    let tasks: Vec<JoinHandle<T>> = connections
        .iter()
        .map(|connection| tokio::spawn(client(connection.clone(), until)))
        .collect();
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await.expect("a client task panicked"));
    }
    (results, started.elapsed())
}
