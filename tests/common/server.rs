//! The server fixture: the production `serve` on a pre-bound 127.0.0.1:0 listener over a data
//! directory, a generated client, and readiness by polling health (no sleeps). The store is
//! opened by a [`StoreFactory`], so a test can run the same server over another backend or a
//! wrapped store; the default opens sled as production does.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use proposal_service::pb::proposal_service_client::ProposalServiceClient;
use proposal_service::server;
use proposal_service::store::{SledOptions, SledStore, Store};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::client::GrpcService;
use tonic::transport::{Channel, ClientTlsConfig};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

pub type Client = ProposalServiceClient<Channel>;

type StdError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a generated client can run over: a plain [`Channel`], or one wrapped in an interceptor
/// that adds credentials. The kit's helpers take `ProposalServiceClient<T>` for any such `T`.
pub trait Transport:
    GrpcService<
        tonic::body::Body,
        Error: Into<StdError>,
        ResponseBody: http_body::Body<Data = Bytes, Error: Into<StdError> + Send> + Send + 'static,
        Future: Send,
    > + Clone
    + Send
    + Sync
    + 'static
{
}

impl<T> Transport for T where
    T: GrpcService<
            tonic::body::Body,
            Error: Into<StdError>,
            ResponseBody: http_body::Body<Data = Bytes, Error: Into<StdError> + Send>
                              + Send
                              + 'static,
            Future: Send,
        > + Clone
        + Send
        + Sync
        + 'static
{
}

/// Opens the store a server runs over, for a data directory (created if missing).
pub type StoreFactory = Arc<dyn Fn(&Path) -> Arc<dyn Store> + Send + Sync>;

/// The production store: sled with its default options.
pub fn sled_store() -> StoreFactory {
    Arc::new(|dir: &Path| -> Arc<dyn Store> {
        let store = SledStore::open(dir, &SledOptions::default()).expect("opening the store");
        Arc::new(store)
    })
}

/// A running server over a data directory that outlives restarts.
pub struct TestServer {
    pub addr: std::net::SocketAddr,
    pub client: Client,
    /// Where `GET /metrics` is served, if the server was started with a metrics listener.
    pub metrics_addr: Option<std::net::SocketAddr>,
    data_dir: PathBuf,
    /// Opens the store again on [`TestServer::restart`].
    factory: StoreFactory,
    _temp: Option<tempfile::TempDir>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server over a fresh temporary data directory.
    pub async fn start() -> Self {
        Self::start_with_store(sled_store()).await
    }

    /// Starts a server over a fresh temporary data directory, with the store `factory` opens
    /// there (and opens again on every restart).
    pub async fn start_with_store(factory: StoreFactory) -> Self {
        Self::start_fresh(server::ServeOptions::default(), None, factory).await
    }

    /// Starts a server over `data_dir` (created if missing).
    pub async fn start_in(data_dir: &Path) -> Self {
        Self::start_in_with_store(data_dir, sled_store()).await
    }

    /// Starts a server over `data_dir` with the store `factory` opens there.
    pub async fn start_in_with_store(data_dir: &Path, factory: StoreFactory) -> Self {
        let store = open(&factory, data_dir).await;
        let options = server::ServeOptions::default();
        let mut server = Self::launch(store, data_dir, options, None).await;
        server.factory = factory;
        server
    }

    /// Starts a server with `options` over a fresh temporary data directory.
    pub async fn start_with(options: server::ServeOptions) -> Self {
        Self::start_fresh(options, None, sled_store()).await
    }

    /// Starts a server with `options` (which configure TLS) over a fresh temporary data
    /// directory; its `client` connects to `https://127.0.0.1:PORT` with `client_tls`.
    pub async fn start_tls(options: server::ServeOptions, client_tls: ClientTlsConfig) -> Self {
        Self::start_fresh(options, Some(client_tls), sled_store()).await
    }

    async fn start_fresh(
        options: server::ServeOptions,
        client_tls: Option<ClientTlsConfig>,
        factory: StoreFactory,
    ) -> Self {
        let temp = tempfile::tempdir().expect("temporary directory");
        let store = open(&factory, temp.path()).await;
        let mut server = Self::launch(store, temp.path(), options, client_tls).await;
        server.factory = factory;
        server._temp = Some(temp);
        server
    }

    /// Starts a server with its metrics endpoint on 127.0.0.1:0, over a fresh temporary data
    /// directory.
    pub async fn start_with_metrics() -> Self {
        let metrics = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_with(server::ServeOptions {
            metrics_listener: Some(metrics),
            ..server::ServeOptions::default()
        })
        .await
    }

    /// Starts a server with `options` over an already open `store` (for instance one wrapped
    /// to inject delays), which keeps its data in `data_dir`. A restart opens sled there.
    pub async fn start_over(
        store: Arc<dyn Store>,
        data_dir: &Path,
        options: server::ServeOptions,
    ) -> Self {
        Self::launch(store, data_dir, options, None).await
    }

    async fn launch(
        store: Arc<dyn Store>,
        data_dir: &Path,
        options: server::ServeOptions,
        client_tls: Option<ClientTlsConfig>,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let metrics_addr = options
            .metrics_listener
            .as_ref()
            .map(|metrics| metrics.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            server::serve(store, listener, options, async {
                let _ = stopped.await;
            })
            .await
            .expect("server ran and stopped cleanly");
        });
        let endpoint = match client_tls {
            None => Channel::from_shared(format!("http://{addr}")).unwrap(),
            Some(tls) => Channel::from_shared(format!("https://{addr}"))
                .unwrap()
                .tls_config(tls)
                .expect("client TLS configuration"),
        };
        let channel = endpoint
            .connect()
            .await
            .expect("connecting to the test server");
        wait_until_serving(channel.clone()).await;
        Self {
            addr,
            client: ProposalServiceClient::new(channel),
            metrics_addr,
            data_dir: data_dir.to_path_buf(),
            factory: sled_store(),
            _temp: None,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the server gracefully and waits until it has flushed and released the directory.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task");
        }
    }

    /// Stops the server and starts a new one on the same data directory and kind of store.
    pub async fn restart(mut self) -> Self {
        self.stop().await;
        let mut next = Self::start_in_with_store(&self.data_dir, self.factory.clone()).await;
        next._temp = self._temp.take();
        next
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// A client on a connection of its own (a test that breaks or fills a connection keeps
    /// the others usable).
    pub async fn connect(&self) -> Client {
        let channel = Channel::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect()
            .await
            .expect("connecting to the test server");
        Client::new(channel)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Opens the store off the runtime (sled's open reads and recovers the whole directory).
async fn open(factory: &StoreFactory, dir: &Path) -> Arc<dyn Store> {
    let (factory, dir) = (factory.clone(), dir.to_path_buf());
    tokio::task::spawn_blocking(move || factory(&dir))
        .await
        .expect("opening the store")
}

/// Polls the standard health service until the proposal service reports SERVING.
pub async fn wait_until_serving(channel: Channel) {
    let mut health = HealthClient::new(channel);
    for _ in 0..500 {
        let request = HealthCheckRequest {
            service: "proposal.v1.ProposalService".into(),
        };
        if let Ok(response) = health.check(request).await
            && response.into_inner().status == ServingStatus::Serving as i32
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the server never reported SERVING");
}
