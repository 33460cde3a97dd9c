//! Reaching the server: the `--server` URL and `--timeout`, TLS (`--ca`, and `--cert` with
//! `--key` for mutual TLS), one connection per run, the credentials every call carries
//! (`--token`), and the deadline each unary call carries (sent as `grpc-timeout`, so the server
//! stops working on a call its caller gave up on).

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use proposal_service::pb::proposal_service_client::ProposalServiceClient;
use proposal_service::tls;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity, Uri};

use crate::failure::{Failure, causes};

pub type Client = ProposalServiceClient<InterceptedService<Channel, Credentials>>;

/// Where the server is and how long to wait for it.
#[derive(Args, Debug)]
pub struct ServerArgs {
    /// URL of proposal-server, e.g. http://127.0.0.1:50051, or https://HOST:PORT with --ca (a
    /// bare HOST:PORT means http).
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
    /// Bearer token to authenticate with, sent as `authorization: Bearer TOKEN` on every call
    /// (a server with a principals file needs a token or a client certificate). A token may
    /// start with `-`; `--token=TOKEN` or PROPOSAL_TOKEN work for every token.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        allow_hyphen_values = true,
        env = "PROPOSAL_TOKEN",
        hide_env_values = true,
        value_parser = parse_token,
        value_name = "TOKEN"
    )]
    pub token: Option<MetadataValue<Ascii>>,
    /// CA certificate (PEM) that signed the server's certificate; needed for an https:// server
    /// (the system's root certificates are not used).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "PATH"
    )]
    pub ca: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS: its common name is the principal's name. Needs
    /// --key and an https:// server.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        requires = "key",
        value_name = "PATH"
    )]
    pub cert: Option<PathBuf>,
    /// The private key (PEM) of --cert.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        requires = "cert",
        value_name = "PATH"
    )]
    pub key: Option<PathBuf>,
}

/// Adds the `--token` to every call, unary and streaming alike.
#[derive(Clone)]
pub struct Credentials {
    authorization: Option<MetadataValue<Ascii>>,
}

impl Interceptor for Credentials {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.authorization {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
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
        let channel = endpoint(args)?
            .connect_timeout(args.timeout)
            .connect()
            .await
            .map_err(|error| Failure::Unreachable {
                server: display(&args.server),
                cause: causes(&error),
            })?;
        let credentials = Credentials {
            authorization: args.token.clone(),
        };
        Ok(Self {
            client: ProposalServiceClient::with_interceptor(channel, credentials),
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

/// The endpoint of `--server`, with TLS for https (which needs `--ca`). Unreadable or invalid
/// PEM files are usage errors that name the file.
fn endpoint(args: &ServerArgs) -> Result<Endpoint, Failure> {
    let endpoint = Endpoint::from(args.server.clone());
    if args.server.scheme_str() != Some("https") {
        if args.ca.is_some() || args.cert.is_some() {
            return Err(Failure::Usage(format!(
                "--ca, --cert and --key are for an https:// server; {} is plaintext",
                display(&args.server)
            )));
        }
        return Ok(endpoint);
    }
    let Some(ca) = &args.ca else {
        return Err(Failure::Usage(format!(
            "{} is https: give --ca PATH, the CA certificate (PEM) that signed the server's \
             certificate (the system's root certificates are not used)",
            display(&args.server)
        )));
    };
    let usage = |e: tls::TlsError| Failure::Usage(e.to_string());
    let mut config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(
        tls::read_certificates(ca, "the --ca file").map_err(usage)?,
    ));
    if let (Some(cert), Some(key)) = (&args.cert, &args.key) {
        config = config.identity(client_identity(cert, key)?);
    }
    endpoint
        .tls_config(config)
        .map_err(|e| Failure::Usage(format!("cannot set up TLS: {}", tls::causes(&e))))
}

fn client_identity(cert: &Path, key: &Path) -> Result<Identity, Failure> {
    let usage = |e: tls::TlsError| Failure::Usage(e.to_string());
    Ok(Identity::from_pem(
        tls::read_certificates(cert, "the --cert file").map_err(usage)?,
        tls::read_private_key(key, "the --key file").map_err(usage)?,
    ))
}

/// A token as the `authorization` header's value, marked sensitive so that it is never logged.
fn parse_token(text: &str) -> Result<MetadataValue<Ascii>, String> {
    let token = text.trim();
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("a token is printable ASCII without spaces".to_owned());
    }
    let mut value = MetadataValue::try_from(format!("Bearer {token}"))
        .map_err(|_| "a token is printable ASCII without spaces".to_owned())?;
    value.set_sensitive(true);
    Ok(value)
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
        Some("http" | "https") => {}
        Some(other) => {
            return Err(format!("the scheme must be http or https, not {other}"));
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
    fn urls_need_http_or_https_and_a_host() {
        assert_eq!(
            parse_server_url("127.0.0.1:50051").unwrap().to_string(),
            "http://127.0.0.1:50051/"
        );
        assert!(parse_server_url("http://[::1]:7").is_ok());
        assert!(parse_server_url("https://example.org").is_ok());
        assert!(parse_server_url("ftp://example.org").is_err());
        assert!(parse_server_url("http://").is_err());
        assert!(parse_server_url("not a url").is_err());
    }

    #[test]
    fn tokens_are_sent_as_sensitive_bearer_values() {
        let value = parse_token(" s3cret ").unwrap();
        assert_eq!(value.to_str().unwrap(), "Bearer s3cret");
        assert!(value.is_sensitive());
        assert!(parse_token("").is_err());
        assert!(parse_token("two words").is_err());
        assert!(parse_token("口令").is_err());
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
