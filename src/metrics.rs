//! Prometheus metrics, off unless the server is given a metrics listener: the process-wide
//! recorder (with the histogram buckets and descriptions of every metric the service records),
//! the transport layer that counts and times every gRPC call, and the plain-HTTP `GET /metrics`
//! endpoint that renders them.
//!
//! Code records through the `metrics` facade (`metrics::counter!`, `metrics::histogram!`); while
//! no recorder is installed those calls do nothing, so a server without metrics pays nothing.
//! The names recorded elsewhere (the writer's) are declared here as constants so that their
//! buckets and descriptions live in one place.

use crate::grpc::code_name;
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use ::metrics::{SharedString, Unit, describe_counter, describe_histogram};
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use prost::Message as _;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tonic::Code;

/// Counter of finished gRPC calls, labels `method` and `code` (the gRPC code name, e.g.
/// `INVALID_ARGUMENT`).
pub const REQUESTS_TOTAL: &str = "grpc_server_requests_total";
/// Histogram of gRPC call durations in seconds, label `method`.
pub const REQUEST_DURATION_SECONDS: &str = "grpc_server_request_duration_seconds";
/// Counter of committed lifecycle transitions, label `to_state` (e.g. `ASSIGNED`). Recorded by
/// the writer.
pub const TRANSITIONS_TOTAL: &str = "proposal_transitions_total";
/// Counter of events appended to the log. Recorded by the writer.
pub const EVENTS_STORED_TOTAL: &str = "proposal_events_stored_total";
/// Histogram of commands per committed batch (group commit). Recorded by the writer.
pub const COMMIT_BATCH_SIZE: &str = "proposal_commit_batch_size";
/// Histogram of store commit time in seconds, flush included. Recorded by the writer.
pub const COMMIT_SECONDS: &str = "proposal_commit_seconds";

/// Buckets for a whole call: reads take well under a millisecond, writes wait for a flush (a
/// few milliseconds), an overloaded server takes seconds.
const REQUEST_SECONDS_BUCKETS: &[f64] = &[
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    10.0,
];
/// Buckets for one commit, dominated by the fsync.
const COMMIT_SECONDS_BUCKETS: &[f64] = &[
    0.000_5, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
/// Buckets for commands per batch: powers of two up to the default in-flight bound.
const COMMIT_BATCH_SIZE_BUCKETS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];

/// How often histogram samples are folded into their buckets when nobody scrapes, so that they
/// do not pile up in memory.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The label value for a request path that no served service declares: arbitrary paths from
/// callers must not create new label sets.
const UNKNOWN_METHOD: &str = "unknown";

/// The process-wide Prometheus recorder, installed on first use. A process has one global
/// recorder, whereas a process (a test binary) may run several servers: they all render this
/// one, so their request label sets add up.
pub fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = with_buckets(PrometheusBuilder::new())
            .expect("every bucket list is non-empty")
            .build_recorder();
        let handle = recorder.handle();
        if ::metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics will stay empty");
        }
        describe();
        handle
    })
}

fn with_buckets(
    builder: PrometheusBuilder,
) -> Result<PrometheusBuilder, metrics_exporter_prometheus::BuildError> {
    let full = |name: &str| Matcher::Full(name.to_owned());
    builder
        .set_buckets_for_metric(full(REQUEST_DURATION_SECONDS), REQUEST_SECONDS_BUCKETS)?
        .set_buckets_for_metric(full(COMMIT_SECONDS), COMMIT_SECONDS_BUCKETS)?
        .set_buckets_for_metric(full(COMMIT_BATCH_SIZE), COMMIT_BATCH_SIZE_BUCKETS)
}

/// The `# HELP` lines; must run after the recorder is installed, which is what receives them.
fn describe() {
    describe_counter!(
        REQUESTS_TOTAL,
        Unit::Count,
        "gRPC calls finished, by method and status code (streams: when their headers are sent)"
    );
    describe_histogram!(
        REQUEST_DURATION_SECONDS,
        Unit::Seconds,
        "gRPC call duration until its status is sent (streams: until their headers are sent)"
    );
    describe_counter!(
        TRANSITIONS_TOTAL,
        Unit::Count,
        "Committed lifecycle transitions, by the state entered"
    );
    describe_counter!(
        EVENTS_STORED_TOTAL,
        Unit::Count,
        "Events durably appended to the log"
    );
    describe_histogram!(
        COMMIT_BATCH_SIZE,
        Unit::Count,
        "Commands per committed batch (group commit)"
    );
    describe_histogram!(
        COMMIT_SECONDS,
        Unit::Seconds,
        "Store commit duration, flush to disk included"
    );
}

/// The tower layer that records [`REQUESTS_TOTAL`] and [`REQUEST_DURATION_SECONDS`] for every
/// call the transport serves (health and reflection included). Applied at the transport so that
/// no service can forget it, and so that calls refused before any handler runs (unknown method,
/// undecodable request) are counted too.
///
/// A unary call is recorded when its status is sent: in the trailers, or in the headers of a
/// trailers-only response (how tonic sends an error). A server-streaming call is recorded when
/// its response headers are sent, as `OK` unless they carry a status: its duration is the time
/// to open the stream, not the stream's lifetime. A call dropped before its status is sent (the
/// caller went away) counts as `CANCELLED`.
#[derive(Clone)]
pub struct RequestMetricsLayer {
    methods: Option<Arc<MethodTable>>,
}

impl RequestMetricsLayer {
    /// Records every call; `descriptor_sets` (encoded `FileDescriptorSet`s) declare the served
    /// methods, which become the `method` label values, and which of them stream responses.
    pub fn new(descriptor_sets: &[&[u8]]) -> Self {
        Self {
            methods: Some(Arc::new(MethodTable::from_descriptor_sets(descriptor_sets))),
        }
    }

    /// Records nothing: for a server without a metrics endpoint.
    pub fn disabled() -> Self {
        Self { methods: None }
    }
}

impl<S> tower_layer::Layer<S> for RequestMetricsLayer {
    type Service = RequestMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestMetrics {
            inner,
            methods: self.methods.clone(),
        }
    }
}

/// The served methods by request path (`/package.Service/Method`).
struct MethodTable {
    by_path: HashMap<String, MethodInfo>,
}

struct MethodInfo {
    /// `package.Service/Method`.
    label: SharedString,
    /// Whether the response is a stream (its status comes only when the stream ends).
    streaming: bool,
}

impl MethodTable {
    fn from_descriptor_sets(descriptor_sets: &[&[u8]]) -> Self {
        let mut by_path = HashMap::new();
        // Reflection, built from the same compiled-in sets, refuses a damaged one at start.
        let sets = descriptor_sets
            .iter()
            .filter_map(|set| prost_types::FileDescriptorSet::decode(*set).ok());
        for file in sets.flat_map(|set| set.file) {
            let package = file.package();
            for service in &file.service {
                for method in &service.method {
                    let label = if package.is_empty() {
                        format!("{}/{}", service.name(), method.name())
                    } else {
                        format!("{package}.{}/{}", service.name(), method.name())
                    };
                    let info = MethodInfo {
                        label: SharedString::from_owned(label.clone()),
                        streaming: method.server_streaming(),
                    };
                    by_path.insert(format!("/{label}"), info);
                }
            }
        }
        Self { by_path }
    }

    fn start(&self, path: &str) -> PendingCall {
        let (method, streaming) = match self.by_path.get(path) {
            Some(info) => (info.label.clone(), info.streaming),
            None => (SharedString::const_str(UNKNOWN_METHOD), false),
        };
        PendingCall(Some(Call {
            method,
            streaming,
            started: Instant::now(),
        }))
    }
}

/// The service [`RequestMetricsLayer`] wraps around the transport's router.
#[derive(Clone)]
pub struct RequestMetrics<S> {
    inner: S,
    methods: Option<Arc<MethodTable>>,
}

impl<S, B, ResBody> tower_service::Service<http::Request<B>> for RequestMetrics<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<MeteredBody<ResBody>>;
    type Error = S::Error;
    type Future = MeteredResponse<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let call = match &self.methods {
            Some(methods) => methods.start(request.uri().path()),
            None => PendingCall(None),
        };
        MeteredResponse {
            inner: self.inner.call(request),
            call,
        }
    }
}

/// One call being timed.
struct Call {
    method: SharedString,
    streaming: bool,
    started: Instant,
}

/// A call whose status is not known yet. If it is dropped before (the caller went away, the
/// connection broke), it is counted as `CANCELLED`.
struct PendingCall(Option<Call>);

impl PendingCall {
    /// Counts and times the call as ending with `code`; later calls do nothing.
    fn finish(&mut self, code: &'static str) {
        if let Some(call) = self.0.take() {
            let method = call.method;
            ::metrics::counter!(REQUESTS_TOTAL, "method" => method.clone(), "code" => code)
                .increment(1);
            ::metrics::histogram!(REQUEST_DURATION_SECONDS, "method" => method)
                .record(call.started.elapsed().as_secs_f64());
        }
    }

    fn is_streaming(&self) -> bool {
        self.0.as_ref().is_some_and(|call| call.streaming)
    }
}

impl Drop for PendingCall {
    fn drop(&mut self) {
        self.finish(code_name(Code::Cancelled));
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`RequestMetrics`].
    pub struct MeteredResponse<F> {
        #[pin]
        inner: F,
        call: PendingCall,
    }
}

impl<F, ResBody, E> Future for MeteredResponse<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
{
    type Output = Result<http::Response<MeteredBody<ResBody>>, E>;

    /// Where the status is known from the headers, the call is recorded now: a failed unary
    /// call (tonic sends a trailers-only response, the status in the headers) or a refused
    /// stream. A streaming response without a status in its headers is recorded now as `OK`,
    /// meaning the stream was opened, and its duration is the time to its headers: a stream may
    /// stay open for hours and ends with a status that says nothing about the request. A
    /// successful unary call is recorded when its body yields the trailers.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let response = match result {
            Ok(response) => response,
            Err(error) => {
                this.call.finish(code_name(Code::Unknown));
                return Poll::Ready(Err(error));
            }
        };
        if let Some(code) = grpc_status(response.headers()) {
            this.call.finish(code);
        } else if this.call.is_streaming() {
            this.call.finish(code_name(Code::Ok));
        }
        let call = PendingCall(this.call.0.take());
        Poll::Ready(Ok(response.map(|inner| MeteredBody { inner, call })))
    }
}

pin_project_lite::pin_project! {
    /// A response body that records its call when the trailers carrying the status pass by.
    pub struct MeteredBody<B> {
        #[pin]
        inner: B,
        call: PendingCall,
    }
}

impl<B: http_body::Body> http_body::Body for MeteredBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        match &frame {
            Some(Ok(frame)) => {
                if let Some(trailers) = frame.trailers_ref() {
                    this.call
                        .finish(grpc_status(trailers).unwrap_or(code_name(Code::Unknown)));
                }
            }
            // A body that fails, or ends without a status, reaches the caller as an error whose
            // code the server does not choose.
            Some(Err(_)) | None => this.call.finish(code_name(Code::Unknown)),
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The code name in a `grpc-status` header or trailer, if there is one.
fn grpc_status(headers: &http::HeaderMap) -> Option<&'static str> {
    let value = headers.get("grpc-status")?;
    Some(code_name(Code::from_bytes(value.as_bytes())))
}

/// Serves `GET /metrics` (the Prometheus text format) over plain HTTP/1.1 on `listener` until
/// `shutdown` completes; every other path is 404. Installs the [`recorder`] at once, not when
/// first polled, so that no call recorded meanwhile is lost. Scrapes in progress at shutdown are
/// cut off: they are cheap to repeat.
pub fn serve_endpoint(
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> impl Future<Output = ()> + Send + 'static {
    let handle = recorder();
    accept_scrapes(listener, handle, shutdown)
}

async fn accept_scrapes(
    listener: TcpListener,
    handle: &'static PrometheusHandle,
    shutdown: impl Future<Output = ()>,
) {
    let mut connections = JoinSet::new();
    let mut upkeep = tokio::time::interval(UPKEEP_INTERVAL);
    upkeep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = upkeep.tick() => handle.run_upkeep(),
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, handle));
                }
                Err(error) => {
                    // Out of file descriptors, most likely: give the process a moment.
                    tracing::warn!(%error, "metrics endpoint cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
}

async fn serve_connection(stream: tokio::net::TcpStream, handle: &'static PrometheusHandle) {
    let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
        let response = respond(handle, request.method(), request.uri().path());
        async move { Ok::<_, Infallible>(response) }
    });
    let served = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .serve_connection(TokioIo::new(stream), service)
        .await;
    if let Err(error) = served {
        tracing::debug!(%error, "metrics connection ended with an error");
    }
}

fn respond(
    handle: &PrometheusHandle,
    method: &http::Method,
    path: &str,
) -> http::Response<Full<Bytes>> {
    let (status, content_type, body) = match (method, path) {
        (&http::Method::GET | &http::Method::HEAD, "/metrics") => (
            http::StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            handle.render(),
        ),
        (_, "/metrics") => (
            http::StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            "only GET\n".to_owned(),
        ),
        _ => (
            http::StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "not found; metrics are at /metrics\n".to_owned(),
        ),
    };
    let mut response = http::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    if status == http::StatusCode::METHOD_NOT_ALLOWED {
        headers.insert(
            http::header::ALLOW,
            http::HeaderValue::from_static("GET, HEAD"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_names_follow_the_grpc_specification() {
        assert_eq!(code_name(Code::from_i32(3)), "INVALID_ARGUMENT");
        assert_eq!(code_name(Code::from_i32(16)), "UNAUTHENTICATED");
        let mut headers = http::HeaderMap::new();
        assert_eq!(grpc_status(&headers), None);
        headers.insert("grpc-status", http::HeaderValue::from_static("5"));
        assert_eq!(grpc_status(&headers), Some("NOT_FOUND"));
        headers.insert("grpc-status", http::HeaderValue::from_static("99"));
        assert_eq!(grpc_status(&headers), Some("UNKNOWN"));
    }

    #[test]
    fn method_labels_come_from_the_descriptors_and_unknown_paths_share_one() {
        let table = MethodTable::from_descriptor_sets(&[
            crate::pb::FILE_DESCRIPTOR_SET,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
        ]);
        let info = &table.by_path["/proposal.v1.ProposalService/GetProposal"];
        assert_eq!(&*info.label, "proposal.v1.ProposalService/GetProposal");
        assert!(!info.streaming);
        assert!(table.by_path["/proposal.v1.ProposalService/WatchEvents"].streaming);
        assert!(table.by_path["/grpc.health.v1.Health/Watch"].streaming);
        let mut unknown = table.start("/evil/path/12345");
        assert_eq!(
            unknown.0.as_ref().map(|call| &*call.method),
            Some(UNKNOWN_METHOD)
        );
        unknown.0 = None;
    }

    /// The writer's metrics render as histograms with the buckets declared here, with help.
    #[test]
    fn writer_histograms_render_with_their_buckets() {
        let handle = recorder();
        ::metrics::histogram!(COMMIT_BATCH_SIZE).record(3.0);
        ::metrics::histogram!(COMMIT_SECONDS).record(0.004);
        let text = handle.render();
        // Other tests in this process may commit too: check the shape, not the counts.
        assert!(text.contains("# HELP proposal_commit_batch_size Commands per committed batch"));
        for bucket in [
            "proposal_commit_batch_size_bucket{le=\"4\"}",
            "proposal_commit_batch_size_bucket{le=\"1024\"}",
            "proposal_commit_seconds_bucket{le=\"0.005\"}",
            "proposal_commit_seconds_count",
        ] {
            assert!(text.contains(bucket), "{bucket} missing in:\n{text}");
        }
    }
}
