//! Phase 2, the storage floor (in-process runs only): a second server in this process whose
//! Health/Check answers only after one sled insert is durable, committed by a single writer
//! that batches as the service's writer does. What the service would reach if a transition
//! cost nothing but the empty RPC and one durable insert.

use proposal_service::app::{MAX_BATCH, run_batches};
use proposal_service::store::SledOptions;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tonic::Status;
use tonic::transport::server::TcpIncoming;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

use crate::baseline::CheckReport;
use crate::data_dir::DataDir;
use crate::served::Served;

/// An insert waiting for the floor's writer: told once its batch is durable.
type FloorPending = oneshot::Sender<Result<(), String>>;

/// `grpc.health.v1.Health/Check` answered only once one sled insert is durable: the request
/// and response of the empty RPC, plus the least a durable write through sled can cost. The
/// inserts go through one writer thread that takes every insert waiting, applies each, then
/// makes the batch durable once, exactly as the service's writer makes its commits durable
/// (sled's flush, then `fdatasync` of sled's data file).
struct FloorHealth {
    writer: mpsc::Sender<FloorPending>,
}

#[tonic::async_trait]
impl Health for FloorHealth {
    async fn check(
        &self,
        _: tonic::Request<HealthCheckRequest>,
    ) -> Result<tonic::Response<HealthCheckResponse>, Status> {
        let stopped = || Status::unavailable("the floor's writer stopped");
        let (done, durable) = oneshot::channel();
        self.writer.send(done).await.map_err(|_| stopped())?;
        durable
            .await
            .map_err(|_| stopped())?
            .map_err(Status::internal)?;
        Ok(tonic::Response::new(HealthCheckResponse {
            status: ServingStatus::Serving as i32,
        }))
    }

    type WatchStream = tokio_stream::Empty<Result<HealthCheckResponse, Status>>;

    async fn watch(
        &self,
        _: tonic::Request<HealthCheckRequest>,
    ) -> Result<tonic::Response<Self::WatchStream>, Status> {
        Err(Status::unimplemented("the floor answers Check only"))
    }
}

/// The floor's single writer: key `n` for the `n`-th insert, each value `value`, batched as
/// the service's writer batches ([`run_batches`]).
fn floor_writer(
    db: sled::Db,
    tree: sled::Tree,
    db_file: std::fs::File,
    value: Vec<u8>,
    mut waiting: mpsc::Receiver<FloorPending>,
) {
    let mut inserted: u64 = 0;
    run_batches(&mut waiting, MAX_BATCH, |batch| {
        let mut commit = || -> Result<(), String> {
            for _ in &batch {
                inserted += 1;
                tree.insert(inserted.to_be_bytes(), value.as_slice())
                    .map_err(|e| format!("sled insert: {e}"))?;
            }
            db.flush().map_err(|e| format!("sled flush: {e}"))?;
            db_file
                .sync_data()
                .map_err(|e| format!("fdatasync of sled's data file: {e}"))
        };
        let outcome = commit();
        for done in batch {
            let _ = done.send(outcome.clone());
        }
    });
}

/// The floor's server, in this process on its own runtime like the service's, over its own
/// sled database (default options, as the service's store opens it) in a temporary directory.
pub struct FloorServer {
    pub served: Served<tonic::transport::Error>,
    /// The floor's tree, to count what was stored.
    pub tree: sled::Tree,
    writer: std::thread::JoinHandle<()>,
    // Declared last: removed after the database is closed.
    data_dir: DataDir,
}

impl FloorServer {
    pub fn start(value_bytes: usize) -> Result<Self, String> {
        let data_dir = DataDir::temporary("proposal-bench-floor");
        let failed = |what: &str, e: &dyn std::fmt::Display| {
            format!("floor: cannot {what} in {}: {e}", data_dir.path.display())
        };
        let db = sled::Config::new()
            .path(&data_dir.path)
            .cache_capacity(SledOptions::default().cache_capacity)
            .open()
            .map_err(|e| failed("open sled", &e))?;
        let tree = db
            .open_tree("floor")
            .map_err(|e| failed("open a tree", &e))?;
        let db_file = std::fs::File::open(data_dir.path.join("db"))
            .map_err(|e| failed("open sled's data file", &e))?;
        let (sender, waiting) = mpsc::channel(MAX_BATCH * 8);
        let writer = {
            let tree = tree.clone();
            let value = vec![b'x'; value_bytes];
            std::thread::Builder::new()
                .name("floor-writer".into())
                .spawn(move || floor_writer(db, tree, db_file, value, waiting))
                .map_err(|e| failed("start the writer", &e))?
        };
        let served = Served::start("the floor's server", |listener, shutdown| {
            // As `server::serve` accepts connections.
            let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
            tonic::transport::Server::builder()
                .add_service(HealthServer::new(FloorHealth { writer: sender }))
                .serve_with_incoming_shutdown(incoming, shutdown)
        })?;
        Ok(Self {
            served,
            tree,
            writer,
            data_dir,
        })
    }

    /// Stops the server (clients must have disconnected), then the writer, whose queue closes
    /// with the server's service; removes the directory.
    pub fn stop(self) -> Result<(), String> {
        let Self {
            served,
            tree,
            writer,
            data_dir,
        } = self;
        let served = served.stop();
        let joined = writer
            .join()
            .map_err(|_| "the floor's writer panicked".to_owned());
        drop(tree);
        drop(data_dir);
        served.and(joined)
    }
}

/// What the floor phase measured.
#[derive(Debug, Serialize)]
pub struct FloorReport {
    /// Bytes of each value inserted.
    pub value_bytes: usize,
    /// Records in the floor's tree after the phase: at least one per successful call.
    pub records_stored: usize,
    #[serde(flatten)]
    pub calls: CheckReport,
}
