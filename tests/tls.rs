mod common;

// TLS and mutual TLS through the real server, with certificates made at test time: a client
// certificate names its principal (its role then decides), one from another CA fails the
// handshake, an unlisted name or no credentials is UNAUTHENTICATED while health stays open, a
// token works over TLS without a certificate, a plaintext client gets nowhere, the rules for
// non-loopback listeners, and `proposalctl` with `--ca`, `--cert`/`--key` and `--token`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::{Client, TestServer};
use proposal_service::auth::Authenticator;
use proposal_service::pb;
use proposal_service::seed;
use proposal_service::server::{self, ServeError, ServeOptions};
use proposal_service::store::{SledOptions, SledStore};
use proposal_service::tls::TlsOptions;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use sha2::{Digest, Sha256};
use tonic::Code;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// Listed with a certificate only: an auditor reads everything and changes nothing.
const AUDITOR: &str = "audit-office";
/// Listed with a token only.
const REGISTRAR: &str = "registrar-1";
/// Starts with `-`, as a random token may: `proposalctl --token TOKEN` must take it as the value.
const REGISTRAR_TOKEN: &str = "-a7c1f0e2-registrar-token-for-tests";
/// Signed by the trusted CA, but listed nowhere.
const STRANGER: &str = "stranger";

/// How long a test waits for a connection or a call that should fail fast.
const WAIT: Duration = Duration::from_secs(5);

/// A certificate and its key, as PEM files.
struct KeyFiles {
    cert: PathBuf,
    key: PathBuf,
}

/// Everything a test's server and clients need, in one temporary directory: the trusted CA,
/// the server's certificate (for `localhost` and 127.0.0.1), client certificates, one of them
/// from a CA the server does not trust, and the principals file.
struct Pki {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    server: KeyFiles,
    auditor: KeyFiles,
    stranger: KeyFiles,
    /// Names the auditor, but signed by another CA.
    impostor: KeyFiles,
    principals: PathBuf,
}

fn certificate_authority(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().unwrap();
    let pem = params.self_signed(&key).unwrap().pem();
    (pem, Issuer::new(params, key))
}

/// Writes a certificate signed by `issuer` for `names` (subject alternative names) with the
/// common name `common_name`, for `usage`.
fn issue(
    dir: &Path,
    file: &str,
    issuer: &Issuer<'static, KeyPair>,
    names: &[&str],
    common_name: &str,
    usage: ExtendedKeyUsagePurpose,
) -> KeyFiles {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let mut params = CertificateParams::new(names).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.extended_key_usages = vec![usage];
    let key = KeyPair::generate().unwrap();
    let certificate = params.signed_by(&key, issuer).unwrap();
    let files = KeyFiles {
        cert: dir.join(format!("{file}.pem")),
        key: dir.join(format!("{file}.key")),
    };
    std::fs::write(&files.cert, certificate.pem()).unwrap();
    std::fs::write(&files.key, key.serialize_pem()).unwrap();
    files
}

impl Pki {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path();
        let (ca_pem, ca) = certificate_authority("proposal test CA");
        let (_, rogue) = certificate_authority("someone else's CA");
        let ca_file = path.join("ca.pem");
        std::fs::write(&ca_file, ca_pem).unwrap();
        let server = issue(
            path,
            "server",
            &ca,
            &["localhost", "127.0.0.1"],
            "proposal-server",
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let client = |file: &str, issuer: &Issuer<'static, KeyPair>, name: &str| {
            issue(
                path,
                file,
                issuer,
                &[],
                name,
                ExtendedKeyUsagePurpose::ClientAuth,
            )
        };
        let auditor = client("auditor", &ca, AUDITOR);
        let stranger = client("stranger", &ca, STRANGER);
        let impostor = client("impostor", &rogue, AUDITOR);
        let principals = path.join("principals.json");
        let token_hash = format!("{:x}", Sha256::digest(REGISTRAR_TOKEN.as_bytes()));
        let file = serde_json::json!({ "principals": [
            { "name": AUDITOR, "role": "auditor" },
            { "name": REGISTRAR, "role": "registrar", "token_sha256": token_hash },
        ] });
        std::fs::write(&principals, file.to_string()).unwrap();
        Self {
            _dir: dir,
            ca: ca_file,
            server,
            auditor,
            stranger,
            impostor,
            principals,
        }
    }

    fn tls_options(&self, mutual: bool) -> TlsOptions {
        let client_ca = mutual.then_some(self.ca.as_path());
        TlsOptions::from_files(&self.server.cert, &self.server.key, client_ca)
            .expect("the test certificates load")
    }

    /// TLS with a principals file; mutual TLS when `mutual`.
    fn serve_options(&self, mutual: bool) -> ServeOptions {
        ServeOptions {
            authenticator: Arc::new(Authenticator::from_file(&self.principals).unwrap()),
            tls: Some(self.tls_options(mutual)),
            ..ServeOptions::default()
        }
    }

    /// A client configuration that trusts the test CA and, when given, presents `identity`.
    fn client_tls(&self, identity: Option<&KeyFiles>) -> ClientTlsConfig {
        let read = |path: &Path| std::fs::read(path).unwrap();
        let config = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(read(&self.ca)))
            .domain_name("localhost");
        match identity {
            Some(files) => config.identity(Identity::from_pem(read(&files.cert), read(&files.key))),
            None => config,
        }
    }
}

/// Starts a server with mutual TLS; its own client presents no certificate.
async fn mutual_tls_server(pki: &Pki) -> TestServer {
    TestServer::start_tls(pki.serve_options(true), pki.client_tls(None)).await
}

/// Connects over TLS with `config`.
async fn connect(
    addr: std::net::SocketAddr,
    config: ClientTlsConfig,
) -> Result<Channel, tonic::transport::Error> {
    Channel::from_shared(format!("https://{addr}"))
        .unwrap()
        .connect_timeout(WAIT)
        .tls_config(config)?
        .connect()
        .await
}

fn with_token<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request.set_timeout(WAIT);
    request
}

fn plain<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(WAIT);
    request
}

/// The seed's proposal, with no actor: the log records the authenticated principal.
fn registration() -> pb::ReceiveProposalRequest {
    seed::proposal_228().registration().into()
}

/// Registers the seed's proposal as the registrar, by token; returns its id.
async fn receive_as_registrar(client: &mut Client) -> String {
    client
        .receive_proposal(with_token(registration(), REGISTRAR_TOKEN))
        .await
        .expect("the registrar's token works over TLS")
        .into_inner()
        .proposal
        .unwrap()
        .id
}

async fn list_all(client: &mut Client) -> Vec<pb::Proposal> {
    client
        .list_proposals(with_token(list(100), REGISTRAR_TOKEN))
        .await
        .expect("listing with the registrar's token")
        .into_inner()
        .proposals
}

/// The first `page_size` proposals, unfiltered.
fn list(page_size: i32) -> pb::ListProposalsRequest {
    pb::ListProposalsRequest {
        page_size,
        ..Default::default()
    }
}

fn get(id: &str) -> pb::GetProposalRequest {
    pb::GetProposalRequest {
        proposal_id: id.to_owned(),
        ..Default::default()
    }
}

/// Whether a call or connection failed in the transport (no TLS session, a closed or reset
/// connection), not with an answer from the service.
fn failed_in_transport(status: &tonic::Status) -> bool {
    matches!(status.code(), Code::Unavailable | Code::Unknown)
}

#[tokio::test]
async fn a_trusted_client_certificate_names_its_principal_and_a_token_works_without_one() {
    let pki = Pki::new();
    let mut server = mutual_tls_server(&pki).await;
    // No certificate, a token: over TLS that is enough.
    let id = receive_as_registrar(&mut server.client).await;

    let channel = connect(server.addr, pki.client_tls(Some(&pki.auditor)))
        .await
        .expect("a certificate from the client CA is accepted");
    let mut auditor = Client::new(channel);
    let got = auditor
        .get_proposal(plain(get(&id)))
        .await
        .expect("the auditor reads by certificate alone")
        .into_inner();
    assert_eq!(got.proposal.unwrap().id, id);
    let listed = auditor
        .list_proposals(plain(list(10)))
        .await
        .expect("the auditor lists")
        .into_inner();
    assert_eq!(listed.proposals.len(), 1);

    // The role is the certificate's principal's: an auditor may not register.
    let mut second = registration();
    second.number += 1;
    let denied = auditor
        .receive_proposal(plain(second))
        .await
        .expect_err("an auditor may not receive proposals");
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    assert!(denied.message().contains(AUDITOR), "{denied:?}");

    // The log names who acted: the registrar, by its token.
    let history = auditor
        .get_proposal_history(plain(pb::GetProposalHistoryRequest {
            proposal_id: id.clone(),
            page_size: 0,
            page_token: String::new(),
        }))
        .await
        .expect("history")
        .into_inner();
    assert_eq!(history.events[0].actor, REGISTRAR);
    server.stop().await;
}

#[tokio::test]
async fn a_certificate_from_another_ca_fails_the_handshake_and_changes_nothing() {
    let pki = Pki::new();
    let mut server = mutual_tls_server(&pki).await;
    // The impostor names the auditor and even carries a valid token: if its certificate got
    // through, the registration would succeed.
    match connect(server.addr, pki.client_tls(Some(&pki.impostor))).await {
        Err(refused) => {
            let reason = proposal_service::tls::causes(&refused);
            assert!(reason.contains("UnknownCA"), "{reason}");
        }
        // Under TLS 1.3 the client may finish its side before the server checks its
        // certificate; the refusal then ends the first call.
        Ok(channel) => {
            let refused = Client::new(channel)
                .receive_proposal(with_token(registration(), REGISTRAR_TOKEN))
                .await
                .expect_err("a certificate from an untrusted CA must not get through");
            assert!(failed_in_transport(&refused), "{refused:?}");
            let reason = proposal_service::tls::causes(&refused);
            assert!(reason.contains("UnknownCA"), "{reason}");
        }
    }
    assert!(
        list_all(&mut server.client).await.is_empty(),
        "nothing was registered, and the server still serves"
    );
    server.stop().await;
}

#[tokio::test]
async fn without_credentials_calls_are_unauthenticated_but_health_is_open() {
    let pki = Pki::new();
    let mut server = mutual_tls_server(&pki).await;
    let channel = connect(server.addr, pki.client_tls(None)).await.unwrap();
    let health = HealthClient::new(channel.clone())
        .check(plain(HealthCheckRequest {
            service: String::new(),
        }))
        .await
        .expect("health needs no credentials")
        .into_inner();
    assert_eq!(health.status, ServingStatus::Serving as i32);

    let mut anonymous = Client::new(channel);
    let refused = anonymous
        .get_proposal(plain(get("00000000-0000-0000-0000-000000000000")))
        .await
        .expect_err("no certificate and no token");
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    let refused = anonymous
        .receive_proposal(plain(registration()))
        .await
        .expect_err("no certificate and no token");
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    assert!(list_all(&mut server.client).await.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn a_certificate_whose_name_is_not_listed_is_unauthenticated() {
    let pki = Pki::new();
    let mut server = mutual_tls_server(&pki).await;
    let channel = connect(server.addr, pki.client_tls(Some(&pki.stranger)))
        .await
        .expect("the CA is trusted, so the handshake succeeds");
    let refused = Client::new(channel)
        .list_proposals(plain(list(10)))
        .await
        .expect_err("the name is nobody's");
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    assert!(refused.message().contains(STRANGER), "{refused:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_plaintext_client_gets_nowhere_with_a_tls_server() {
    let pki = Pki::new();
    let mut server = mutual_tls_server(&pki).await;
    let connected = Channel::from_shared(format!("http://{}", server.addr))
        .unwrap()
        .connect_timeout(WAIT)
        .connect()
        .await;
    if let Ok(channel) = connected {
        let refused = HealthClient::new(channel.clone())
            .check(plain(HealthCheckRequest {
                service: String::new(),
            }))
            .await
            .expect_err("plaintext to a TLS server");
        assert!(failed_in_transport(&refused), "{refused:?}");
        let refused = Client::new(channel)
            .receive_proposal(with_token(registration(), REGISTRAR_TOKEN))
            .await
            .expect_err("plaintext to a TLS server");
        assert!(failed_in_transport(&refused), "{refused:?}");
    }
    assert!(list_all(&mut server.client).await.is_empty());
    server.stop().await;
}

/// Runs `serve` on `listener` with `options`; a refusal comes back at once, and a server that
/// starts is checked for health over TLS on loopback (when `pki` is given) and stopped.
async fn serve_on(
    listener: tokio::net::TcpListener,
    options: ServeOptions,
    pki: Option<&Pki>,
) -> Result<(), ServeError> {
    let data = tempfile::tempdir().unwrap();
    let store = SledStore::open(data.path(), &SledOptions::default()).unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server::serve(Arc::new(store), listener, options, async {
        let _ = stopped.await;
    }));
    if let Some(pki) = pki {
        let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        // Refused at once, or serving: either way the outcome comes before this gives up.
        for _ in 0..500 {
            if serving.is_finished() {
                break;
            }
            if let Ok(channel) = connect(loopback, pki.client_tls(None)).await {
                common::wait_until_serving(channel).await;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let _ = stop.send(());
    serving.await.unwrap()
}

async fn any_address() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap()
}

#[tokio::test]
async fn a_non_loopback_listener_needs_tls_or_insecure_and_always_a_principals_file() {
    let pki = Pki::new();
    let authenticator = || Arc::new(Authenticator::from_file(&pki.principals).unwrap());

    let plaintext = ServeOptions {
        authenticator: authenticator(),
        ..ServeOptions::default()
    };
    let refused = serve_on(any_address().await, plaintext, None)
        .await
        .expect_err("plaintext on 0.0.0.0 without --insecure");
    assert!(refused.to_string().contains("--insecure"), "{refused}");

    serve_on(any_address().await, pki.serve_options(true), Some(&pki))
        .await
        .expect("TLS with a principals file may listen on any address");

    let insecure = ServeOptions {
        authenticator: authenticator(),
        insecure: true,
        ..ServeOptions::default()
    };
    serve_on(any_address().await, insecure, None)
        .await
        .expect("--insecure allows plaintext");

    // Without a principals file everyone is the admin: loopback only, TLS or not.
    for options in [
        ServeOptions {
            tls: Some(pki.tls_options(true)),
            ..ServeOptions::default()
        },
        ServeOptions {
            insecure: true,
            ..ServeOptions::default()
        },
    ] {
        let refused = serve_on(any_address().await, options, None)
            .await
            .expect_err("no principals file off loopback");
        assert!(refused.to_string().contains("principals"), "{refused}");
    }
}

#[test]
fn unreadable_or_invalid_tls_files_are_named() {
    let pki = Pki::new();
    let missing = pki.ca.with_file_name("missing.pem");
    let error = TlsOptions::from_files(&missing, &pki.server.key, None).unwrap_err();
    assert!(error.to_string().contains("missing.pem"), "{error}");
    // A key is not a certificate, and a certificate is not a key.
    let error = TlsOptions::from_files(&pki.server.key, &pki.server.key, None).unwrap_err();
    assert!(error.to_string().contains("server.key"), "{error}");
    let error = TlsOptions::from_files(&pki.server.cert, &pki.server.cert, None).unwrap_err();
    assert!(error.to_string().contains("server.pem"), "{error}");
    let error = TlsOptions::from_files(&pki.server.cert, &pki.server.key, Some(&pki.principals))
        .unwrap_err();
    assert!(error.to_string().contains("principals.json"), "{error}");
    // Both files are fine on their own, but the key is another certificate's.
    let error = TlsOptions::from_files(&pki.server.cert, &pki.auditor.key, None).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("server.pem") && message.contains("auditor.key"),
        "{message}"
    );
}

/// Runs the real `proposalctl` with `args`, off the runtime so the server keeps serving.
async fn proposalctl(args: Vec<String>, token: Option<&str>) -> std::process::Output {
    let token = token.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_proposalctl"));
        command
            .env_remove("PROPOSAL_SERVER")
            .env_remove("PROPOSAL_ACTOR")
            .env_remove("PROPOSAL_TOKEN");
        if let Some(token) = token {
            command.env("PROPOSAL_TOKEN", token);
        }
        command.args(&args).output().expect("running proposalctl")
    })
    .await
    .unwrap()
}

fn text(path: &Path) -> String {
    path.to_str().unwrap().to_owned()
}

#[tokio::test]
async fn proposalctl_speaks_tls_with_a_client_certificate_or_a_token() {
    let pki = Pki::new();
    let mut server = mutual_tls_server(&pki).await;
    let id = receive_as_registrar(&mut server.client).await;
    let url = format!("https://127.0.0.1:{}", server.addr.port());
    let base = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["--server".to_owned(), url.clone()];
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        args
    };
    let ca = text(&pki.ca);
    let check = |output: &std::process::Output, code: i32, what: &str| {
        assert_eq!(
            output.status.code(),
            Some(code),
            "{what}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    };

    let (cert, key) = (text(&pki.auditor.cert), text(&pki.auditor.key));
    let by_certificate = proposalctl(
        base(&[
            "--ca", &ca, "--cert", &cert, "--key", &key, "--json", "get", &id,
        ]),
        None,
    )
    .await;
    check(&by_certificate, 0, "get with a client certificate");
    let shown: serde_json::Value = serde_json::from_slice(&by_certificate.stdout).unwrap();
    assert_eq!(shown["id"], id.as_str(), "{shown}");

    let by_token = proposalctl(
        base(&[
            "--ca",
            &ca,
            "--token",
            REGISTRAR_TOKEN,
            "--json",
            "get",
            &id,
        ]),
        None,
    )
    .await;
    check(&by_token, 0, "get with --token");

    let by_environment = proposalctl(base(&["--ca", &ca, "list"]), Some(REGISTRAR_TOKEN)).await;
    check(&by_environment, 0, "list with PROPOSAL_TOKEN");

    let anonymous = proposalctl(base(&["--ca", &ca, "get", &id]), None).await;
    check(&anonymous, 1, "get without credentials");
    assert!(String::from_utf8_lossy(&anonymous.stderr).contains("UNAUTHENTICATED"));

    let without_ca = proposalctl(base(&["--token", REGISTRAR_TOKEN, "get", &id]), None).await;
    check(&without_ca, 2, "https without --ca");
    assert!(String::from_utf8_lossy(&without_ca.stderr).contains("--ca"));

    let missing = text(&pki.ca.with_file_name("missing.pem"));
    let unreadable = proposalctl(base(&["--ca", &missing, "get", &id]), None).await;
    check(&unreadable, 2, "an unreadable --ca");
    assert!(String::from_utf8_lossy(&unreadable.stderr).contains("missing.pem"));
    server.stop().await;
}
