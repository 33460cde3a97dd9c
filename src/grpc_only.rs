//! The outermost layer of the served stack: only gRPC requests reach a handler. The gRPC over
//! HTTP/2 specification asks a server to answer a content type it does not serve with HTTP 415,
//! and tonic does not check (it decodes a `text/plain` POST as if it were gRPC). That matters
//! with mutual TLS: a browser holding a client certificate can be made to send a `text/plain`
//! POST without a CORS preflight, and it must not act. So, before authentication, metrics or
//! any handler:
//!
//! - a method other than POST is answered `405 Method Not Allowed` (`allow: POST`);
//! - a content type other than `application/grpc` or `application/grpc+proto` (parameters
//!   after `;` and letter case aside), or none, is answered `415 Unsupported Media Type`.
//!
//! Both answers are plain HTTP with a one-line text body; nothing else happens. (gRPC-Web's
//! types join the list when the web console serves them.)

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use http_body::{Body, Frame, SizeHint};

/// The content types served (compared without parameters and case-insensitively).
const SERVED_CONTENT_TYPES: [&str; 2] = ["application/grpc", "application/grpc+proto"];

/// Why a request is not served, if it is not.
fn refusal(
    method: &Method,
    content_type: Option<&HeaderValue>,
) -> Option<(StatusCode, &'static str)> {
    if method != Method::POST {
        return Some((
            StatusCode::METHOD_NOT_ALLOWED,
            "this is a gRPC server: send POST requests\n",
        ));
    }
    let served = content_type
        .and_then(|value| value.to_str().ok())
        .map(|value| value.split(';').next().unwrap_or_default().trim())
        .is_some_and(|media| {
            SERVED_CONTENT_TYPES
                .iter()
                .any(|served| media.eq_ignore_ascii_case(served))
        });
    (!served).then_some((
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "this is a gRPC server: send content-type application/grpc (or application/grpc+proto)\n",
    ))
}

/// Refuses requests that are not gRPC; see the module documentation.
#[derive(Clone, Copy, Debug, Default)]
pub struct GrpcOnlyLayer;

impl<S> tower_layer::Layer<S> for GrpcOnlyLayer {
    type Service = GrpcOnly<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcOnly { inner }
    }
}

/// The service [`GrpcOnlyLayer`] wraps around the served stack.
#[derive(Clone, Debug)]
pub struct GrpcOnly<S> {
    inner: S,
}

impl<S, B, ResBody> tower_service::Service<http::Request<B>> for GrpcOnly<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<GuardedBody<ResBody>>;
    type Error = S::Error;
    type Future = GuardedResponse<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        match refusal(
            request.method(),
            request.headers().get(header::CONTENT_TYPE),
        ) {
            None => GuardedResponse::Served {
                inner: self.inner.call(request),
            },
            Some((status, text)) => {
                tracing::info!(
                    method = %request.method(),
                    path = request.uri().path(),
                    content_type = ?request.headers().get(header::CONTENT_TYPE),
                    %status,
                    "not a gRPC request; refused"
                );
                let mut response = http::Response::new(Bytes::from_static(text.as_bytes()));
                *response.status_mut() = status;
                let headers = response.headers_mut();
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                if status == StatusCode::METHOD_NOT_ALLOWED {
                    headers.insert(header::ALLOW, HeaderValue::from_static("POST"));
                }
                GuardedResponse::Refused {
                    response: Some(response),
                }
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// The served stack's answer, or the refusal.
    #[project = GuardedResponseProjection]
    pub enum GuardedResponse<F> {
        Served { #[pin] inner: F },
        Refused { response: Option<http::Response<Bytes>> },
    }
}

impl<F, ResBody, E> Future for GuardedResponse<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
{
    type Output = Result<http::Response<GuardedBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            GuardedResponseProjection::Served { inner } => inner
                .poll(cx)
                .map_ok(|response| response.map(|inner| GuardedBody::Served { inner })),
            GuardedResponseProjection::Refused { response } => {
                let response = response
                    .take()
                    .expect("a refused request's response is taken once");
                Poll::Ready(Ok(
                    response.map(|text| GuardedBody::Refused { text: Some(text) })
                ))
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// The served stack's body, or the refusal's one line of text.
    #[project = GuardedBodyProjection]
    pub enum GuardedBody<B> {
        Served { #[pin] inner: B },
        Refused { text: Option<Bytes> },
    }
}

impl<B> Body for GuardedBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        match self.project() {
            GuardedBodyProjection::Served { inner } => inner.poll_frame(cx),
            GuardedBodyProjection::Refused { text } => {
                Poll::Ready(text.take().map(|text| Ok(Frame::data(text))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Served { inner } => inner.is_end_stream(),
            Self::Refused { text } => text.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Served { inner } => inner.size_hint(),
            Self::Refused { text } => {
                SizeHint::with_exact(text.as_ref().map_or(0, |text| text.len() as u64))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(method: Method, content_type: Option<&'static str>) -> Option<StatusCode> {
        let value = content_type.map(HeaderValue::from_static);
        refusal(&method, value.as_ref()).map(|(status, _)| status)
    }

    #[test]
    fn only_grpc_posts_are_served() {
        for served in [
            "application/grpc",
            "application/grpc+proto",
            "Application/GRPC",
            "application/grpc; charset=utf-8",
        ] {
            assert_eq!(refused(Method::POST, Some(served)), None, "{served}");
        }
        for unsupported in [
            None,
            Some("text/plain"),
            Some("application/json"),
            Some("application/grpc+json"),
            Some("application/grpc-web"),
            Some("application/grpcx"),
            Some(""),
        ] {
            assert_eq!(
                refused(Method::POST, unsupported),
                Some(StatusCode::UNSUPPORTED_MEDIA_TYPE),
                "{unsupported:?}"
            );
        }
        for method in [Method::GET, Method::PUT, Method::OPTIONS, Method::HEAD] {
            assert_eq!(
                refused(method.clone(), Some("application/grpc")),
                Some(StatusCode::METHOD_NOT_ALLOWED),
                "{method}"
            );
        }
    }
}
