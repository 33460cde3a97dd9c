//! The command line (clap).

use std::path::PathBuf;

use clap::Parser;

/// Load generator for proposal-server: health-check baseline vs. durable workflow transitions.
#[derive(Parser, Debug)]
#[command(version)]
pub struct Args {
    /// URL of a running server (e.g. http://127.0.0.1:50051). Without it, a server is started
    /// in this process on 127.0.0.1:0, as production runs it.
    #[arg(long)]
    pub server: Option<String>,
    /// Data directory for the in-process server (kept afterwards). Without it, a fresh directory
    /// under the system temporary directory is used and removed at the end.
    #[arg(long, conflicts_with = "server")]
    pub data_dir: Option<PathBuf>,
    /// Concurrent clients, each with its own HTTP/2 connection and one call in flight.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub concurrency: u32,
    /// Measured seconds per phase.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub duration: u64,
    /// Unmeasured seconds before each phase.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub warmup: u64,
    /// Bytes of each reply body: the seed document's body (8,818 bytes of UTF-8 when absent)
    /// repeated or cut to at most this many bytes, at a character boundary, so up to 3 bytes
    /// fewer. How much the texts carried weigh in a transition's cost.
    #[arg(long, value_parser = clap::value_parser!(u32).range(16..=100_000))]
    pub reply_bytes: Option<u32>,
    /// Bytes of each value the floor phase inserts (the in-process run only; see the module
    /// documentation).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub floor_value_bytes: u32,
    /// Skip the floor phase (its figures are then null, as with `--server`).
    #[arg(long)]
    pub no_floor: bool,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Log the in-process server as production does (one line per request, to stderr; RUST_LOG
    /// sets the level). Off by default so the output stays readable.
    #[arg(long, conflicts_with = "server")]
    pub server_log: bool,
}
