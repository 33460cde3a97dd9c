//! `proposal-server`: the proposal workflow service on its embedded store.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use proposal_service::auth::Authenticator;
use proposal_service::domain::Rules;
use proposal_service::server;
use proposal_service::store::{SledOptions, SledStore};
use proposal_service::tls::TlsOptions;
use tracing_subscriber::EnvFilter;

#[path = "bin/common/allocator.rs"]
mod allocator;

/// Tracks CPPCC proposals from registration to the copied official reply, over gRPC.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free port, logged at start).
    #[arg(long, env = "PROPOSAL_LISTEN", default_value = "127.0.0.1:50051")]
    listen: SocketAddr,
    /// Directory holding the data; created if missing. One server per directory.
    #[arg(long, env = "PROPOSAL_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// sled's page cache in MiB. It does not bound resident memory: sled's table of pages grows
    /// with the data (at 1,000,000 proposals about 0.8 GiB resident after opening, 1.2-1.7 GiB
    /// under reads with the default cache: BENCHMARKS.md).
    #[arg(long, env = "PROPOSAL_CACHE_MB", default_value_t = 256)]
    cache_mb: u64,
    /// Calls in progress at once; more are refused with RESOURCE_EXHAUSTED.
    #[arg(long, env = "PROPOSAL_MAX_IN_FLIGHT", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    max_in_flight: u32,
    /// Seconds that calls in flight may take to finish after SIGINT/SIGTERM.
    #[arg(long, env = "PROPOSAL_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    shutdown_grace_secs: u64,
    /// Address to serve Prometheus metrics on (`GET /metrics`, plain HTTP); no metrics when
    /// absent. Port 0 picks a free port, logged at start.
    #[arg(long, env = "PROPOSAL_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Principals file (JSON): who may call, with which role and unit, by token hash or
    /// client-certificate name. Re-read on SIGHUP and every 30 s. Without it, every caller is
    /// the local admin and only a loopback address is allowed.
    #[arg(long, env = "PROPOSAL_PRINCIPALS")]
    principals: Option<PathBuf>,
    /// Serve plaintext on a non-loopback address (behind a TLS-terminating proxy or on a
    /// trusted network).
    #[arg(long, env = "PROPOSAL_INSECURE")]
    insecure: bool,
    /// Serve TLS with this certificate chain (PEM, the server's certificate first); needs
    /// --tls-key.
    #[arg(
        long,
        env = "PROPOSAL_TLS_CERT",
        requires = "tls_key",
        value_name = "PATH"
    )]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(
        long,
        env = "PROPOSAL_TLS_KEY",
        requires = "tls_cert",
        value_name = "PATH"
    )]
    tls_key: Option<PathBuf>,
    /// Mutual TLS: CA certificate(s) (PEM) that sign client certificates. A client certificate
    /// is then verified against them and its subject common name is looked up as a principal
    /// name; callers with a bearer token need none. Needs --tls-cert.
    #[arg(
        long,
        env = "PROPOSAL_CLIENT_CA",
        requires = "tls_cert",
        value_name = "PATH"
    )]
    client_ca: Option<PathBuf>,
    /// The local rules (TOML): reply_months, time_zone. Every field is optional; without the
    /// file the defaults apply (README, "Local rules"). A bad file stops the start.
    #[arg(long, env = "PROPOSAL_RULES", value_name = "PATH")]
    rules: Option<PathBuf>,
    /// Log format.
    #[arg(long, env = "PROPOSAL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Completes on SIGINT or SIGTERM.
/// Installs the SIGINT and SIGTERM handlers now (so a signal that arrives before the server
/// first polls for it still takes the graceful path) and returns a future that completes on
/// either.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("SIGINT received"),
            _ = terminate.recv() => tracing::info!("SIGTERM received"),
        }
    })
}

fn main() -> ExitCode {
    let args = Args::parse();
    init_logging(args.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("proposal-server: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

/// How often the principals file is re-read besides SIGHUP.
const RELOAD_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

/// Re-reads the principals file on SIGHUP and every [`RELOAD_INTERVAL`]; a file that fails to
/// load leaves the principals in force and is logged.
fn reload_principals(authenticator: Arc<Authenticator>) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        let mut timer = tokio::time::interval(RELOAD_INTERVAL);
        timer.tick().await;
        loop {
            let trigger = tokio::select! {
                _ = hangup.recv() => "SIGHUP",
                _ = timer.tick() => "timer",
            };
            match authenticator.reload() {
                Ok(count) if trigger == "SIGHUP" => {
                    tracing::info!(principals = count, "principals file reloaded")
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "principals file not reloaded; the previous principals stay in force")
                }
            }
        }
    });
    Ok(())
}

/// Loads the TLS files, if any, and says at start what the transport is.
fn load_tls(args: &Args) -> anyhow::Result<Option<TlsOptions>> {
    let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) else {
        tracing::info!("TLS off: serving plaintext");
        return Ok(None);
    };
    let tls = TlsOptions::from_files(cert, key, args.client_ca.as_deref())?;
    match &args.client_ca {
        Some(ca) => tracing::info!(
            cert = %cert.display(),
            client_ca = %ca.display(),
            "mutual TLS on: client certificates are verified, and optional for token callers"
        ),
        None => tracing::info!(
            cert = %cert.display(),
            "TLS on (no client CA: callers authenticate with bearer tokens)"
        ),
    }
    Ok(Some(tls))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let shutdown = shutdown_signal().context("installing signal handlers")?;
    // The first log line says who may call: the development mode must not go unnoticed.
    let authenticator = match &args.principals {
        Some(path) => {
            let authenticator = Authenticator::from_file(path)?;
            tracing::info!(
                principals = authenticator.principal_count(),
                file = %path.display(),
                "callers authenticate against the principals file"
            );
            Arc::new(authenticator)
        }
        None => {
            tracing::warn!(
                "no principals file: every caller is the local admin, and only a loopback address may be used (development mode)"
            );
            Arc::new(Authenticator::local())
        }
    };
    reload_principals(Arc::clone(&authenticator)).context("installing the SIGHUP handler")?;
    let tls = load_tls(&args)?;
    let rules = match &args.rules {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the rules file {}", path.display()))?;
            Rules::from_toml(&text)
                .with_context(|| format!("the rules file {} is invalid", path.display()))?
        }
        None => Rules::default(),
    };
    tracing::info!(
        reply_months = rules.reply_months,
        time_zone = %rules.time_zone,
        file = %args.rules.as_deref().map_or("(defaults)".into(), |p| p.display().to_string()),
        "rules in force"
    );
    let options = SledOptions {
        cache_capacity: args.cache_mb * 1024 * 1024,
    };
    let data_dir = args.data_dir.clone();
    let store = tokio::task::spawn_blocking(move || {
        let store = SledStore::open(&data_dir, &options);
        allocator::release_free_memory();
        store
    })
    .await?
    .with_context(|| format!("cannot open data directory {}", args.data_dir.display()))?;
    // Bound and logged before the gRPC listener, whose log line says the server is up.
    let metrics_listener = match args.metrics_listen {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen for metrics on {addr}"))?;
            tracing::info!(listen = %listener.local_addr()?, "metrics endpoint listening");
            Some(listener)
        }
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let options = server::ServeOptions {
        max_in_flight: args.max_in_flight as usize,
        shutdown_grace: std::time::Duration::from_secs(args.shutdown_grace_secs),
        metrics_listener,
        authenticator,
        insecure: args.insecure,
        tls,
        rules,
    };
    // Refuse before announcing: the next line tells operators and tests the server is up.
    server::check_exposure(listener.local_addr()?, &options)?;
    tracing::info!(
        listen = %listener.local_addr()?,
        data_dir = %args.data_dir.display(),
        "proposal-server listening"
    );
    server::serve(Arc::new(store), listener, options, shutdown).await?;
    Ok(())
}
