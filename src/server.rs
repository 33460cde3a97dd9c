//! Assembles the served gRPC stack (the proposal service, health, reflection) over an open
//! store, and runs it until a shutdown signal: then stops accepting, finishes in-flight calls,
//! drains the writer and flushes.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

use crate::app::{AppError, Workflow};
use crate::grpc::{ProposalApi, pb};
use crate::store::Store;

/// The largest request the transport accepts; larger ones are refused before decoding. Sized
/// for the longest text a request may carry (100,000 characters of up to 4 bytes each, twice).
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// Why the server stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    App(#[from] AppError),
    #[error("gRPC transport failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("building the reflection service failed: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
}

/// Serves `store` on `listener` until `shutdown` completes, then shuts down gracefully. Returns
/// once everything acknowledged is flushed and the store is no longer used by the server.
pub async fn serve(
    store: Arc<dyn Store>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let workflow = Arc::new(Workflow::start(store)?);
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    type Service = pb::proposal_service_server::ProposalServiceServer<ProposalApi>;
    health_reporter.set_serving::<Service>().await;

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let proposals = Service::new(ProposalApi::new(Arc::clone(&workflow)))
        .max_decoding_message_size(MAX_MESSAGE_BYTES);

    let reporter = health_reporter.clone();
    let stopping = async move {
        shutdown.await;
        tracing::info!("shutting down: refusing new calls, finishing those in flight");
        reporter.set_not_serving::<Service>().await;
        reporter
            .set_service_status("", tonic_health::ServingStatus::NotServing)
            .await;
    };

    let result = tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(proposals)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), stopping)
        .await;

    // Whatever ended the transport, drain and flush what was already accepted.
    let drained = tokio::task::spawn_blocking(move || workflow.shutdown())
        .await
        .map_err(|e| AppError::Storage(crate::store::StoreError::Io(e.to_string())))?;
    result?;
    drained?;
    tracing::info!("stopped; everything acknowledged is on disk");
    Ok(())
}
