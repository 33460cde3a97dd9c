//! Assembles the served gRPC stack (the proposal service, health, reflection) over an open
//! store, and runs it until a shutdown signal: then stops accepting, finishes in-flight calls,
//! drains the writer and flushes.

use std::future::Future;
use std::sync::Arc;

use std::time::Duration;

use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;

use crate::app::{AppError, Workflow};
use crate::auth::Authenticator;
use crate::domain::Rules;
use crate::grpc::{ProposalApi, pb};
use crate::metrics;
use crate::store::Store;
use crate::tls::{self, TlsOptions};

/// The largest request the transport accepts; larger ones are refused before decoding. Sized
/// for the longest text a request may carry (100,000 characters of up to 4 bytes each, twice).
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// Streams one connection may have open at once, advertised in HTTP/2 `SETTINGS`: a
/// well-behaved client queues calls beyond it instead of having them refused by
/// [`ServeOptions::max_in_flight`] (1,024 by default, shared by all connections).
pub const MAX_CONCURRENT_STREAMS: u32 = 256;

/// Every served service's descriptors: the request metrics take method names from them.
const SERVED_DESCRIPTOR_SETS: &[&[u8]] = &[
    pb::FILE_DESCRIPTOR_SET,
    tonic_health::pb::FILE_DESCRIPTOR_SET,
    tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
    tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
];

/// How the server behaves, beyond where it listens and what it stores.
#[derive(Debug)]
pub struct ServeOptions {
    /// Calls of the proposal service in progress at once; more are refused with
    /// RESOURCE_EXHAUSTED at once instead of queueing without bound.
    pub max_in_flight: usize,
    /// After the shutdown signal, how long calls in flight and open connections may take to
    /// finish before they are cut off.
    pub shutdown_grace: Duration,
    /// Where to serve Prometheus metrics (`GET /metrics`, plain HTTP); `None`, the default,
    /// records and serves no metrics. The endpoint closes when the gRPC transport stops.
    pub metrics_listener: Option<TcpListener>,
    /// Who callers are. Without a principals file ([`Authenticator::local`], the default) every
    /// caller is the local admin, which is allowed on a loopback address only.
    pub authenticator: Arc<Authenticator>,
    /// Serve plaintext on a non-loopback address (for a trusted network or a TLS-terminating
    /// proxy). Without it such an address needs TLS.
    pub insecure: bool,
    /// Serve TLS (and with a client CA, verify client certificates); `None`, the default,
    /// serves plaintext.
    pub tls: Option<TlsOptions>,
    /// The local rules commands are decided under (default: [`Rules::default`]).
    pub rules: Rules,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            max_in_flight: 1024,
            shutdown_grace: Duration::from_secs(10),
            metrics_listener: None,
            authenticator: Arc::new(Authenticator::local()),
            insecure: false,
            tls: None,
            rules: Rules::default(),
        }
    }
}

/// Why the server stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    App(#[from] AppError),
    #[error("gRPC transport failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("building the reflection service failed: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("refusing to start: {0}")]
    Refused(String),
}

/// The transport rules: without a principals file only loopback; on another address TLS, or
/// plaintext when the operator says `--insecure`.
/// `serve` checks it too; a binary calls it before it announces that it listens.
pub fn check_exposure(
    address: std::net::SocketAddr,
    options: &ServeOptions,
) -> Result<(), ServeError> {
    if address.ip().is_loopback() {
        return Ok(());
    }
    if options.authenticator.is_local() {
        return Err(ServeError::Refused(format!(
            "{address} is not a loopback address, and without a principals file \
             (--principals) every caller would be an administrator; listen on 127.0.0.1 \
             for local development or give a principals file"
        )));
    }
    if options.tls.is_none() && !options.insecure {
        return Err(ServeError::Refused(format!(
            "{address} is not a loopback address and TLS is not configured: \
             give --tls-cert and --tls-key, or --insecure to serve plaintext anyway"
        )));
    }
    Ok(())
}

/// Authenticates every call of the proposal service and hands its standing (the principal and
/// its credential) to it in the request's extensions; a call without valid credentials ends
/// here with UNAUTHENTICATED.
fn authenticate(
    authenticator: Arc<Authenticator>,
) -> impl Fn(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> + Clone {
    move |mut request: tonic::Request<()>| {
        let header = request
            .metadata()
            .get("authorization")
            .map(|value| value.as_bytes().to_vec());
        let certificate = peer_certificate_name(&request);
        match authenticator.stand(header.as_deref(), certificate.as_deref()) {
            Ok(standing) => {
                // The principal, with its credential for calls that last and must end when a
                // reload takes the credential away (WatchEvents).
                request.extensions_mut().insert(standing);
                Ok(request)
            }
            Err(reason) => {
                tracing::info!(%reason, "unauthenticated call refused");
                Err(AppError::Unauthenticated(reason.to_string()).into())
            }
        }
    }
}

/// The verified client certificate's subject common name, under mutual TLS. rustls has
/// already checked the chain against the client CA (a certificate that does not chain fails
/// the handshake), so the name can be trusted; the first certificate is the client's own.
fn peer_certificate_name(request: &tonic::Request<()>) -> Option<String> {
    let certificates = request.peer_certs()?;
    let leaf = certificates.first()?;
    let name = tls::common_name(leaf.as_ref());
    if name.is_none() {
        tracing::debug!("the client certificate has no single text common name; it names no one");
    }
    name
}

/// Completes `grace` after the shutdown signal.
async fn grace_expired(mut stopping: tokio::sync::watch::Receiver<bool>, grace: Duration) {
    if stopping.wait_for(|stopping| *stopping).await.is_err() {
        // The transport ended on its own and dropped the sender; nothing to wait for.
        std::future::pending::<()>().await;
    }
    tokio::time::sleep(grace).await;
}

/// Serves `store` on `listener` until `shutdown` completes, then shuts down gracefully. Returns
/// once everything acknowledged is flushed and the store is no longer used by the server.
pub async fn serve(
    store: Arc<dyn Store>,
    listener: TcpListener,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let address = listener
        .local_addr()
        .map_err(|e| ServeError::Refused(format!("reading the listen address: {e}")))?;
    check_exposure(address, &options)?;
    let mut transport =
        tonic::transport::Server::builder().max_concurrent_streams(MAX_CONCURRENT_STREAMS);
    if let Some(tls) = &options.tls {
        transport = transport.tls_config(tls.server_config()).map_err(|e| {
            ServeError::Refused(format!(
                "cannot serve TLS with {}: {}",
                tls.files(),
                tls::causes(&e)
            ))
        })?;
    }
    if options.authenticator.is_local() {
        tracing::warn!(
            "no principals file: every caller is the local admin (loopback only; for development)"
        );
    } else {
        tracing::info!(
            principals = options.authenticator.principal_count(),
            "callers authenticate with bearer tokens or client certificates"
        );
    }
    let workflow = Arc::new(Workflow::start_with(store, options.rules.clone()).await?);
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    type Service = pb::proposal_service_server::ProposalServiceServer<ProposalApi>;
    health_reporter.set_serving::<Service>().await;

    // A storage failure stops all writes (see the writer): say so in health, for load
    // balancers and operators.
    let mut failure = workflow.storage_failure();
    let reporter = health_reporter.clone();
    tokio::spawn(async move {
        if failure.wait_for(Option::is_some).await.is_ok() {
            tracing::error!("storage failed: health is NOT_SERVING until the server restarts");
            reporter.set_not_serving::<Service>().await;
            reporter
                .set_service_status("", tonic_health::ServingStatus::NotServing)
                .await;
        }
    });

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let proposals = tonic::service::interceptor::InterceptedService::new(
        Service::new(ProposalApi::new(
            Arc::clone(&workflow),
            options.max_in_flight,
        ))
        .max_decoding_message_size(MAX_MESSAGE_BYTES),
        authenticate(Arc::clone(&options.authenticator)),
    );

    let (metrics_endpoint, request_metrics) = match options.metrics_listener {
        Some(listener) => {
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let endpoint = metrics::serve_endpoint(listener, async move {
                let _ = stopped.await;
            });
            let layer = metrics::RequestMetricsLayer::new(SERVED_DESCRIPTOR_SETS);
            (Some((stop, tokio::spawn(endpoint))), layer)
        }
        None => (None, metrics::RequestMetricsLayer::disabled()),
    };

    let reporter = health_reporter.clone();
    let (stop_sender, stop_receiver) = tokio::sync::watch::channel(false);
    let streams = Arc::clone(&workflow);
    let stopping = async move {
        shutdown.await;
        tracing::info!("shutting down: refusing new calls, finishing those in flight");
        // Watch streams never finish on their own; end them now (UNAVAILABLE) so that clients
        // reconnect elsewhere and the shutdown does not wait out its grace period.
        streams.close_streams();
        reporter.set_not_serving::<Service>().await;
        reporter
            .set_service_status("", tonic_health::ServingStatus::NotServing)
            .await;
        let _ = stop_sender.send(true);
    };
    // Without TCP_NODELAY a response written in two parts waits ~40 ms for a delayed ACK.
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    // Requests that are not gRPC are refused before anything else sees them (grpc_only).
    let transport = transport
        .layer(tower_layer::Stack::new(
            request_metrics,
            crate::grpc_only::GrpcOnlyLayer,
        ))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(proposals)
        .serve_with_incoming_shutdown(incoming, stopping);
    // Graceful shutdown waits for clients to close their connections; one that never does must
    // not hold the process forever.
    let grace = options.shutdown_grace;
    let result = tokio::select! {
        result = transport => result,
        () = grace_expired(stop_receiver, grace) => {
            tracing::warn!(?grace, "connections still open after the grace period; closing them");
            Ok(())
        }
    };
    if let Some((stop, endpoint)) = metrics_endpoint {
        let _ = stop.send(());
        let _ = endpoint.await;
    }

    // Whatever ended the transport, drain and flush what was already accepted.
    let drained = tokio::task::spawn_blocking(move || workflow.shutdown())
        .await
        .map_err(|e| AppError::Internal(format!("the shutdown task failed: {e}")))?;
    result?;
    drained?;
    tracing::info!("stopped; everything acknowledged is on disk");
    Ok(())
}
