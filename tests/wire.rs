//! What the server puts on the wire for clients that are careless or hostile, read with a raw
//! HTTP/2 client as strict as the strictest common gRPC clients (8 KiB of headers at most):
//! refusals that stay small whatever the input, requests that are not gRPC refused before any
//! handler runs, and the advertised limit on concurrent streams.

mod common;

use bytes::{BufMut, Bytes, BytesMut};
use common::TestServer;
use http::{HeaderMap, Method, StatusCode};
use proposal_service::pb;
use prost::Message;
use tonic::Code;
use tonic_types::StatusExt;

/// What grpc-java accepts by default, and grpcio at times: the strictest common clients.
const STRICT_HEADER_LIST_BYTES: u32 = 8 * 1024;

#[tokio::test]
async fn a_refusal_of_the_worst_list_fields_fits_a_strict_client() {
    let server = TestServer::start().await;
    let worst = worst_line(200);
    let many = || vec![worst.clone(); 100];
    let receive = pb::ReceiveProposalRequest {
        committee: worst.clone(),
        session: worst.clone(),
        number: 0,
        title: worst_line(500),
        proposers: many(),
        content: String::new(),
        request_id: worst_line(128),
        actor: worst.clone(),
        effective_date: String::new(),
        proposer_kind: pb::ProposerKind::Member as i32,
    };
    let copy = pb::CopyReplyRequest {
        proposal_id: worst.clone(),
        recipients: many(),
        expected_version: None,
        request_id: worst_line(128),
        actor: worst.clone(),
        effective_date: String::new(),
        handling_unit: String::new(),
    };
    // Invalid event kinds are not capped in number: each is a violation of its own.
    let kinds = vec![9_999; 50_000];
    let list_events = pb::ListEventsRequest {
        kinds: kinds.clone(),
        actor: worst.clone(),
        proposal_id: worst.clone(),
        page_size: -1,
        page_token: worst.clone(),
        ..Default::default()
    };
    let watch_events = pb::WatchEventsRequest {
        after_position: 0,
        proposal_id: worst.clone(),
        kinds,
        handling_unit: worst.clone(),
    };
    let calls = [
        ("ReceiveProposal", receive.encode_to_vec()),
        ("CopyReply", copy.encode_to_vec()),
        ("ListEvents", list_events.encode_to_vec()),
        ("WatchEvents", watch_events.encode_to_vec()),
    ];
    for (method, message) in calls {
        let answer = call(
            &server,
            Method::POST,
            &format!("/proposal.v1.ProposalService/{method}"),
            Some("application/grpc"),
            grpc_frame(&message),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{method}");
        let status = answer.grpc_status().expect("a gRPC status");
        assert_eq!(status.code(), Code::InvalidArgument, "{method}: {status:?}");
        let size = answer.header_list_size();
        assert!(
            size <= 4096,
            "{method}: {size} bytes of headers and trailers; keep well under 8 KiB"
        );
        let details = status.get_error_details();
        let listed = details
            .bad_request()
            .expect("BadRequest details")
            .field_violations
            .len();
        let info = details
            .error_info()
            .expect("ErrorInfo: how many were left out");
        assert_eq!(info.reason, "VIOLATIONS_TRUNCATED", "{method}");
        assert_eq!(info.metadata["listedViolations"], listed.to_string());
        let total: usize = info.metadata["totalViolations"].parse().unwrap();
        assert!(total > listed && listed > 0, "{method}: {info:?}");
        // The message names the first few violations (at most five, as many as fit) and always
        // ends with how many more there are.
        let more: usize = status
            .message()
            .rsplit_once("; and ")
            .and_then(|(_, tail)| tail.strip_suffix(" more"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{method}: no count in {:?}", status.message()));
        assert!(
            (total - 5..total).contains(&more),
            "{method}: {more} of {total}"
        );
    }
    let health = answer_of_health(&server).await;
    assert_eq!(health, Some(Code::Ok));
}

#[tokio::test]
async fn requests_that_are_not_grpc_are_refused_before_any_handler_runs() {
    let server = TestServer::start().await;
    let receive = pb::ReceiveProposalRequest {
        committee: "许昌市政协".into(),
        session: "七届三次会议".into(),
        number: 1,
        title: "关于加强我市环境保护的提案".into(),
        proposers: vec!["苏会兴".into()],
        content: "建议".into(),
        request_id: String::new(),
        actor: "提案委登记员".into(),
        effective_date: String::new(),
        proposer_kind: pb::ProposerKind::Member as i32,
    }
    .encode_to_vec();
    let path = "/proposal.v1.ProposalService/ReceiveProposal";
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/json"),
        Some("application/x-www-form-urlencoded"),
        Some("application/grpc+json"),
        Some("application/grpc-web"),
    ] {
        let answer = call(
            &server,
            Method::POST,
            path,
            content_type,
            grpc_frame(&receive),
        )
        .await;
        assert_eq!(
            answer.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}"
        );
        assert!(answer.grpc_status().is_none(), "{content_type:?}");
        assert!(
            String::from_utf8_lossy(&answer.body).contains("application/grpc"),
            "{content_type:?}: {:?}",
            answer.body
        );
    }
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let answer = call(
            &server,
            method.clone(),
            path,
            Some("application/grpc"),
            Bytes::new(),
        )
        .await;
        assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(answer.headers["allow"], "POST", "{method}");
    }
    // Nothing was stored: the log is empty, and the same request as gRPC is the first event.
    let mut client = server.client.clone();
    let events = client
        .list_events(pb::ListEventsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .events;
    assert!(events.is_empty(), "{events:?}");
    for content_type in ["application/grpc", "application/grpc+proto"] {
        let answer = call(
            &server,
            Method::POST,
            "/proposal.v1.ProposalService/ListProposals",
            Some(content_type),
            grpc_frame(&pb::ListProposalsRequest::default().encode_to_vec()),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{content_type}");
        assert_eq!(
            answer.grpc_status().map(|s| s.code()),
            Some(Code::Ok),
            "{content_type}"
        );
    }
}

#[tokio::test]
async fn the_server_advertises_its_limit_on_concurrent_streams() {
    let server = TestServer::start().await;
    let (mut sender, connection) = handshake(&server).await;
    let driver = tokio::spawn(connection);
    // The server's SETTINGS arrive before the answer to the first request.
    let answer = send(
        &mut sender,
        Method::POST,
        "/grpc.health.v1.Health/Check",
        Some("application/grpc"),
        grpc_frame(&[]),
    )
    .await;
    assert_eq!(answer.grpc_status().map(|s| s.code()), Some(Code::Ok));
    assert_eq!(
        sender.current_max_send_streams(),
        proposal_service::server::MAX_CONCURRENT_STREAMS as usize
    );
    drop(sender);
    driver.abort();
}

/// A one-line text that breaks every rule: a control character and one character too many.
fn worst_line(max_chars: usize) -> String {
    format!("\u{7}{}", "政".repeat(max_chars))
}

/// One length-prefixed, uncompressed gRPC message.
fn grpc_frame(message: &[u8]) -> Bytes {
    let mut frame = BytesMut::with_capacity(5 + message.len());
    frame.put_u8(0);
    frame.put_u32(u32::try_from(message.len()).unwrap());
    frame.put_slice(message);
    frame.freeze()
}

/// What came back for one request: the HTTP status, headers, body and trailers as received.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    trailers: HeaderMap,
}

impl Answer {
    /// The gRPC status, from the trailers or (trailers-only responses) the headers.
    fn grpc_status(&self) -> Option<tonic::Status> {
        tonic::Status::from_header_map(&self.trailers)
            .or_else(|| tonic::Status::from_header_map(&self.headers))
    }

    /// The headers and trailers as a client counts them against its limit (RFC 7541: name,
    /// value and 32 bytes a field).
    fn header_list_size(&self) -> usize {
        self.headers
            .iter()
            .chain(self.trailers.iter())
            .map(|(name, value)| name.as_str().len() + value.len() + 32)
            .sum()
    }
}

async fn handshake(
    server: &TestServer,
) -> (
    h2::client::SendRequest<Bytes>,
    h2::client::Connection<tokio::net::TcpStream>,
) {
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    h2::client::Builder::new()
        .max_header_list_size(STRICT_HEADER_LIST_BYTES)
        .handshake(tcp)
        .await
        .expect("HTTP/2 handshake")
}

/// Sends one request on a fresh connection and reads the whole answer.
async fn call(
    server: &TestServer,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: Bytes,
) -> Answer {
    let (mut sender, connection) = handshake(server).await;
    let driver = tokio::spawn(connection);
    let answer = send(&mut sender, method, path, content_type, body).await;
    drop(sender);
    driver.abort();
    answer
}

async fn send(
    sender: &mut h2::client::SendRequest<Bytes>,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: Bytes,
) -> Answer {
    let mut request = http::Request::builder()
        .method(method)
        .uri(format!("http://127.0.0.1{path}"))
        .header("te", "trailers");
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let request = request.body(()).unwrap();
    let ready = sender
        .clone()
        .ready()
        .await
        .expect("the connection is open");
    *sender = ready;
    let (response, mut stream) = sender.send_request(request, false).unwrap();
    stream.send_data(body, true).unwrap();
    let response = response.await.expect("an HTTP/2 response");
    let (parts, mut received) = response.into_parts();
    let mut body = BytesMut::new();
    while let Some(chunk) = received.data().await {
        let chunk = chunk.expect("the response body");
        received
            .flow_control()
            .release_capacity(chunk.len())
            .unwrap();
        body.extend_from_slice(&chunk);
    }
    let trailers = received
        .trailers()
        .await
        .expect("the trailers")
        .unwrap_or_default();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: body.freeze(),
        trailers,
    }
}

/// The health service still answers: the refusals left the server serving.
async fn answer_of_health(server: &TestServer) -> Option<Code> {
    call(
        server,
        Method::POST,
        "/grpc.health.v1.Health/Check",
        Some("application/grpc"),
        grpc_frame(&[]),
    )
    .await
    .grpc_status()
    .map(|status| status.code())
}
