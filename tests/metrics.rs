//! The Prometheus endpoint: a real server with metrics on 127.0.0.1:0, scraped with plain HTTP
//! requests, before and after calls whose outcome the test knows.
//!
//! The recorder is global to the process, so every server in this binary adds to the same
//! series: the tests run one at a time (`SERIAL`) and compare deltas of the label sets they
//! cause, never absolute values.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use common::requests as rq;
use common::{Client, TestServer};
use proposal_service::pb;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// Tests in this binary share the process-wide recorder: one at a time keeps deltas exact.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const RECEIVE: &str = "proposal.v1.ProposalService/ReceiveProposal";
const GET: &str = "proposal.v1.ProposalService/GetProposal";
const HEALTH_CHECK: &str = "grpc.health.v1.Health/Check";

#[tokio::test]
async fn request_counters_move_by_method_and_code() {
    let _serial = SERIAL.lock().await;
    let server = TestServer::start_with_metrics().await;
    let metrics = server.metrics_addr.expect("started with metrics");
    let mut client = server.client.clone();
    let mut health = health_client(server.addr).await;

    receive_ok(&mut client, 1).await;
    receive_invalid(&mut client).await;
    check_health(&mut health).await;
    let before = scrape(metrics).await;
    for (method, code) in [
        (RECEIVE, "OK"),
        (RECEIVE, "INVALID_ARGUMENT"),
        (HEALTH_CHECK, "OK"),
    ] {
        let count = before.get(REQUESTS, &[("method", method), ("code", code)]);
        assert!(
            count.is_some_and(|count| count >= 1.0),
            "{method} {code} counted: {count:?}"
        );
    }

    receive_ok(&mut client, 2).await;
    receive_ok(&mut client, 3).await;
    receive_invalid(&mut client).await;
    for _ in 0..3 {
        check_health(&mut health).await;
    }
    let missing = pb::GetProposalRequest {
        proposal_id: uuid::Uuid::now_v7().to_string(),
        ..Default::default()
    };
    let status = client.get_proposal(missing).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let after = scrape(metrics).await;

    let delta = |name: &str, labels: &[(&str, &str)]| {
        after.get(name, labels).unwrap_or_default() - before.get(name, labels).unwrap_or_default()
    };
    let requests =
        |method: &str, code: &str| delta(REQUESTS, &[("method", method), ("code", code)]);
    assert_eq!(requests(RECEIVE, "OK"), 2.0, "successful receives");
    assert_eq!(
        requests(RECEIVE, "INVALID_ARGUMENT"),
        1.0,
        "refused receives"
    );
    assert_eq!(requests(HEALTH_CHECK, "OK"), 3.0, "health checks");
    assert_eq!(requests(GET, "NOT_FOUND"), 1.0, "unknown proposal");
    assert_eq!(requests(GET, "OK"), 0.0, "no successful read");
    let timed = |method: &str| delta(DURATION_COUNT, &[("method", method)]);
    assert_eq!(
        timed(RECEIVE),
        3.0,
        "every receive is timed, refused ones too"
    );
    assert_eq!(timed(HEALTH_CHECK), 3.0);
    assert!(
        after.has_bucket(DURATION_BUCKET, &[("method", RECEIVE)], "0.005"),
        "the latency histogram has the declared buckets"
    );
}

/// The writer's own series: events stored, transitions by state, batch sizes, commit time.
#[tokio::test]
async fn writer_metrics_move_with_commits() {
    let _serial = SERIAL.lock().await;
    let server = TestServer::start_with_metrics().await;
    let metrics = server.metrics_addr.expect("started with metrics");
    let mut client = server.client.clone();

    receive_ok(&mut client, 1).await;
    let before = scrape(metrics).await;
    // One at a time: each is its own batch of one command and one event.
    receive_ok(&mut client, 2).await;
    receive_ok(&mut client, 3).await;
    receive_invalid(&mut client).await; // refused before the writer: commits nothing
    let after = scrape(metrics).await;

    let delta = |name: &str, labels: &[(&str, &str)]| {
        let after = after
            .get(name, labels)
            .unwrap_or_else(|| panic!("{name} {labels:?} is exported"));
        after - before.get(name, labels).unwrap_or_default()
    };
    assert_eq!(delta("proposal_events_stored_total", &[]), 2.0);
    assert_eq!(
        delta("proposal_transitions_total", &[("to_state", "RECEIVED")]),
        2.0
    );
    assert_eq!(delta("proposal_commit_batch_size_count", &[]), 2.0);
    assert_eq!(delta("proposal_commit_batch_size_sum", &[]), 2.0);
    assert_eq!(delta("proposal_commit_seconds_count", &[]), 2.0);
    assert!(after.has_bucket("proposal_commit_batch_size_bucket", &[], "1"));
    assert!(after.has_bucket("proposal_commit_seconds_bucket", &[], "0.005"));
}

#[tokio::test]
async fn endpoint_serves_only_metrics_and_closes_with_the_server() {
    let _serial = SERIAL.lock().await;
    let mut server = TestServer::start_with_metrics().await;
    let metrics = server.metrics_addr.expect("started with metrics");

    let found = http(metrics, "GET", "/metrics").await;
    assert_eq!(found.status, 200);
    assert!(
        found
            .head
            .to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{}",
        found.head
    );
    assert_eq!(http(metrics, "GET", "/").await.status, 404);
    assert_eq!(http(metrics, "GET", "/metrics/x").await.status, 404);
    assert_eq!(http(metrics, "GET", "/favicon.ico").await.status, 404);
    assert_eq!(http(metrics, "POST", "/metrics").await.status, 405);

    server.stop().await;
    assert!(
        tokio::net::TcpStream::connect(metrics).await.is_err(),
        "the endpoint stops with the server"
    );
}

// ---------------------------------------------------------------------------------------------
// Calls whose outcome the tests know
// ---------------------------------------------------------------------------------------------

async fn receive_ok(client: &mut Client, number: u32) {
    client
        .receive_proposal(rq::receive(number))
        .await
        .unwrap_or_else(|status| panic!("ReceiveProposal No. {number}: {status:?}"));
}

async fn receive_invalid(client: &mut Client) {
    let request = pb::ReceiveProposalRequest {
        title: String::new(),
        ..rq::receive(228)
    };
    let status = client.receive_proposal(request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
}

async fn health_client(addr: SocketAddr) -> HealthClient<Channel> {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    HealthClient::new(channel)
}

async fn check_health(health: &mut HealthClient<Channel>) {
    let request = HealthCheckRequest {
        service: String::new(),
    };
    health.check(request).await.expect("health check");
}

// ---------------------------------------------------------------------------------------------
// Scraping
// ---------------------------------------------------------------------------------------------

const REQUESTS: &str = "grpc_server_requests_total";
const DURATION_COUNT: &str = "grpc_server_request_duration_seconds_count";
const DURATION_BUCKET: &str = "grpc_server_request_duration_seconds_bucket";

struct HttpResponse {
    status: u16,
    /// The status line and headers.
    head: String,
    body: String,
}

/// One HTTP/1.1 request on a fresh connection, read until the server closes it.
async fn http(addr: SocketAddr, method: &str, path: &str) -> HttpResponse {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("an HTTP response: {response:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("a status line: {head:?}"));
    HttpResponse {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

async fn scrape(addr: SocketAddr) -> Scrape {
    let response = http(addr, "GET", "/metrics").await;
    assert_eq!(response.status, 200, "{}", response.body);
    Scrape::parse(&response.body)
}

/// The samples of one scrape in the Prometheus text format.
struct Scrape {
    samples: Vec<Sample>,
}

struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

impl Scrape {
    fn parse(text: &str) -> Self {
        let samples = text
            .lines()
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(|line| Sample::parse(line).unwrap_or_else(|| panic!("a sample: {line:?}")))
            .collect();
        Self { samples }
    }

    /// The value of the series with exactly these labels, if exported.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let wanted: BTreeMap<String, String> = labels
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        self.samples
            .iter()
            .find(|sample| sample.name == name && sample.labels == wanted)
            .map(|sample| sample.value)
    }

    /// Whether the histogram bucket `le` of the series with these labels is exported.
    fn has_bucket(&self, name: &str, labels: &[(&str, &str)], le: &str) -> bool {
        let mut labels = labels.to_vec();
        labels.push(("le", le));
        self.get(name, &labels).is_some()
    }
}

impl Sample {
    /// `name{key="value",...} value` or `name value`.
    fn parse(line: &str) -> Option<Self> {
        let (series, value) = line.rsplit_once(' ')?;
        let value = value.parse().ok()?;
        let (name, labels) = match series.split_once('{') {
            None => (series, BTreeMap::new()),
            Some((name, rest)) => (name, parse_labels(rest.strip_suffix('}')?)?),
        };
        Some(Self {
            name: name.to_owned(),
            labels,
            value,
        })
    }
}

/// `key="value",key="value"`, with `\"`, `\\` and `\n` escapes in values.
fn parse_labels(mut text: &str) -> Option<BTreeMap<String, String>> {
    let mut labels = BTreeMap::new();
    while !text.is_empty() {
        let (key, rest) = text.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                (_, c) => value.push(c),
            }
        };
        labels.insert(key.to_owned(), value);
        text = rest[end + 1..].trim_start_matches(',');
    }
    Some(labels)
}
