//! What `load` leaves in the data directory for `measure` (`scale-load.json`).

use serde::{Deserialize, Serialize};

/// What `load` leaves in the data directory for `measure`.
pub const MANIFEST: &str = "scale-load.json";

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
