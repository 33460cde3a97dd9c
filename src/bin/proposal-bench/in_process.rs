//! The service under test when no `--server` is given: the production server, run in this
//! process exactly as `proposal-server` runs it, and its log output.

use std::path::Path;
use std::sync::Arc;

use proposal_service::server::{self, ServeOptions};
use proposal_service::store::{SledOptions, SledStore};

use crate::allocator;
use crate::data_dir::DataDir;
use crate::served::Served;

/// The production server, started in this process on its own runtime.
pub struct InProcessServer {
    pub served: Served<server::ServeError>,
    // Declared last: dropped after the runtime, hence after the store is closed.
    data_dir: DataDir,
}

impl InProcessServer {
    pub fn start(data_dir: DataDir) -> Result<Self, String> {
        let store = SledStore::open(&data_dir.path, &SledOptions::default())
            .map_err(|e| format!("cannot open {}: {e}", data_dir.path.display()))?;
        // As `proposal-server` does after opening.
        allocator::release_free_memory();
        let served = Served::start("the server", |listener, shutdown| {
            server::serve(Arc::new(store), listener, ServeOptions::default(), shutdown)
        })?;
        Ok(Self { served, data_dir })
    }

    /// Shuts down gracefully (which drains the writer and flushes), then closes the store and
    /// removes a temporary directory. Clients must have disconnected first, or the shutdown
    /// waits for them until the grace period ends.
    pub fn stop(self) -> Result<(), String> {
        let Self { served, data_dir } = self;
        let result = served.stop();
        drop(data_dir);
        result
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir.path
    }
}

/// Installs the same log output as `proposal-server` (text, stderr, `RUST_LOG` or `info`).
pub fn init_server_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
