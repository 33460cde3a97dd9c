//! Reaching the server: the `--server` URL and `--timeout`, one connection per run, and the
//! deadline each unary call carries (sent as `grpc-timeout`, so the server stops working on a
//! call its caller gave up on).

use std::time::Duration;

use clap::Args;
use proposal_service::pb::proposal_service_client::ProposalServiceClient;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::failure::{Failure, causes};

pub type Client = ProposalServiceClient<Channel>;

/// Where the server is and how long to wait for it.
#[derive(Args, Debug)]
pub struct ServerArgs {
    /// URL of proposal-server, e.g. http://127.0.0.1:50051 (a bare HOST:PORT means http).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "PROPOSAL_SERVER",
        default_value = "http://127.0.0.1:50051",
        value_parser = parse_server_url,
        value_name = "URL"
    )]
    pub server: Uri,
    /// Seconds to wait for the connection and for each call (e.g. 10, 2.5, 500ms); `watch`
    /// waits for events without limit.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        default_value = "10",
        value_parser = parse_timeout,
        value_name = "SECONDS"
    )]
    pub timeout: Duration,
}

/// A connected server.
pub struct Server {
    client: Client,
    timeout: Duration,
}

impl Server {
    /// Connects now, so that an unreachable server is reported as such (exit 3) rather than as
    /// the failure of whatever call came first.
    pub async fn connect(args: &ServerArgs) -> Result<Self, Failure> {
        let channel = Endpoint::from(args.server.clone())
            .connect_timeout(args.timeout)
            .connect()
            .await
            .map_err(|error| Failure::Unreachable {
                server: display(&args.server),
                cause: causes(&error),
            })?;
        Ok(Self {
            client: Client::new(channel),
            timeout: args.timeout,
        })
    }

    /// A client over the connection (cheap: clients share it).
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// `message` as a unary call with the `--timeout` deadline.
    pub fn call<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.set_timeout(self.timeout);
        request
    }
}

/// The URL as the user would write it: `http://127.0.0.1:50051`, without the `/` path `Uri`
/// adds.
fn display(uri: &Uri) -> String {
    match (uri.scheme_str(), uri.authority()) {
        (Some(scheme), Some(authority)) if uri.path() == "/" => format!("{scheme}://{authority}"),
        _ => uri.to_string(),
    }
}

fn parse_server_url(text: &str) -> Result<Uri, String> {
    let text = text.trim();
    let with_scheme = if text.contains("://") {
        text.to_owned()
    } else {
        format!("http://{text}")
    };
    let uri: Uri = with_scheme
        .parse()
        .map_err(|e| format!("not a URL ({e}); expected e.g. http://127.0.0.1:50051"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some(other) => {
            return Err(format!(
                "the scheme must be http (proposal-server serves plain HTTP/2), not {other}"
            ));
        }
        None => return Err("expected e.g. http://127.0.0.1:50051".to_owned()),
    }
    if uri.authority().is_none() {
        return Err("the URL names no host; expected e.g. http://127.0.0.1:50051".to_owned());
    }
    Ok(uri)
}

/// Reads `10`, `2.5`, `10s` or `500ms`.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    let (number, scale) = match text.trim() {
        t if t.ends_with("ms") => (&t[..t.len() - 2], 0.001),
        t if t.ends_with('s') => (&t[..t.len() - 1], 1.0),
        t => (t, 1.0),
    };
    let seconds = number
        .trim()
        .parse::<f64>()
        .ok()
        .map(|n| n * scale)
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= 86_400.0)
        .ok_or_else(|| "expected seconds between 0 and 86400, e.g. 10, 2.5 or 500ms".to_owned())?;
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_need_http_and_a_host() {
        assert_eq!(
            parse_server_url("127.0.0.1:50051").unwrap().to_string(),
            "http://127.0.0.1:50051/"
        );
        assert!(parse_server_url("http://[::1]:7").is_ok());
        assert!(parse_server_url("https://example.org").is_err());
        assert!(parse_server_url("http://").is_err());
        assert!(parse_server_url("not a url").is_err());
    }

    #[test]
    fn timeouts_read_seconds_or_milliseconds() {
        assert_eq!(parse_timeout("10").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_timeout("2.5s").unwrap(), Duration::from_millis(2500));
        assert_eq!(parse_timeout("500ms").unwrap(), Duration::from_millis(500));
        assert!(parse_timeout("0").is_err());
        assert!(parse_timeout("-1").is_err());
        assert!(parse_timeout("soon").is_err());
    }
}
