//! Calls and waits that cannot hang: every one is bounded by [`HANG`], so a server that stops
//! answering fails the test instead of blocking it. Also a client on a connection of its own and
//! the proposal service's status as the standard health service reports it. For the overload,
//! deadline and shutdown tests.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

use super::Client;

pub const SERVICE: &str = "proposal.v1.ProposalService";

/// The longest any single call or wait may take before the test calls it a hang.
pub const HANG: Duration = Duration::from_secs(10);

/// Awaits `future`, failing the test if it takes longer than [`HANG`].
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(HANG, future).await {
        Ok(value) => value,
        Err(_) => panic!("{what} did not finish within {HANG:?}: it hangs"),
    }
}

/// A client on a connection of its own.
pub async fn connect(addr: SocketAddr) -> Client {
    let endpoint = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_timeout(Duration::from_secs(5));
    Client::new(
        within("connecting", endpoint.connect())
            .await
            .expect("connecting"),
    )
}

pub fn health_request() -> HealthCheckRequest {
    HealthCheckRequest {
        service: SERVICE.into(),
    }
}

/// The proposal service's status as the standard health service reports it, on a new connection.
pub async fn health(addr: SocketAddr) -> ServingStatus {
    let channel = within(
        "connecting for health",
        Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect(),
    )
    .await
    .expect("connecting for health");
    let response = within(
        "a health check",
        HealthClient::new(channel).check(health_request()),
    )
    .await
    .expect("health check");
    ServingStatus::try_from(response.into_inner().status).expect("a known status")
}

/// A `Health.Watch` of the proposal service on a new connection, once it has said SERVING: the
/// stream on which a test sees the status change during shutdown.
pub async fn health_watch(addr: SocketAddr) -> tonic::Streaming<HealthCheckResponse> {
    let channel = within(
        "connecting",
        Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect(),
    )
    .await
    .unwrap();
    let mut watcher = within(
        "Health.Watch",
        HealthClient::new(channel).watch(health_request()),
    )
    .await
    .expect("Health.Watch")
    .into_inner();
    let first = within("the first health status", watcher.message()).await;
    assert_eq!(
        first.expect("a status").map(|r| r.status()),
        Some(ServingStatus::Serving)
    );
    watcher
}
