//! What `load` leaves in the data directory for `measure` (`scale-load.json`).

use std::path::Path;

use proposal_service::store::SledOptions;
use serde::{Deserialize, Serialize};

/// What `load` leaves in the data directory for `measure`.
pub const MANIFEST: &str = "scale-load.json";

/// The store's options for a measurement: its cache as asked for, else sled's default.
pub fn sled_options(cache_mb: Option<u64>) -> SledOptions {
    match cache_mb {
        Some(mb) => SledOptions {
            cache_capacity: mb * 1024 * 1024,
        },
        None => SledOptions::default(),
    }
}

/// What `load` stored; written to the data directory as `scale-load.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// How many (committee, session) pairs the proposals spread over (absent before
    /// `--sessions`: all of them).
    #[serde(default = "all_sessions")]
    pub sessions: u64,
    /// Proposals taken through all six transitions.
    pub proposals_full: u64,
    /// Proposals stopped before COPIED.
    pub proposals_partial: u64,
    pub events: u64,
    /// Sum of the canonical event bytes (`store::event_bytes`) of every loaded event.
    pub raw_event_bytes: u64,
    /// The log's last position after loading: events after it were added later.
    pub last_position: u64,
    pub reply_bytes: u64,
    pub seed: u64,
    pub load_secs: f64,
    /// Why loading stopped before all requested proposals, if it did.
    pub stopped_early: Option<String>,
}

fn all_sessions() -> u64 {
    crate::generate::ALL_SESSIONS
}

impl Manifest {
    /// What `load` left in `dir`, or why it cannot be read.
    pub fn read(dir: &Path) -> Result<Self, String> {
        let path = dir.join(MANIFEST);
        let bytes = std::fs::read(&path)
            .map_err(|e| format!("{}: {e} (run `load` first)", path.display()))?;
        serde_json::from_slice(&bytes).map_err(|e| format!("{MANIFEST}: {e}"))
    }
}
