//! The command line (clap): the three subcommands and their flags.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use proposal_service::domain::ProposalState;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Scale run: bulk-load proposals, then measure disk, memory, open time and latency"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Mode,
}

#[derive(Subcommand, Debug)]
pub enum Mode {
    /// Bulk-loads proposals with full histories into a new data directory.
    Load(LoadArgs),
    /// Measures open time, memory, disk, read latency and write throughput on a loaded directory.
    Measure(MeasureArgs),
    /// Logical bytes per sled tree (reads the whole store).
    TreeSizes(TreeSizesArgs),
    /// Times GetStatistics over gRPC on the loaded store's largest session (the first one).
    Statistics(StatisticsArgs),
}

#[derive(clap::Args, Debug)]
pub struct LoadArgs {
    /// The data directory to create; must not hold events yet.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Proposals taken through all six transitions.
    #[arg(long)]
    pub proposals: u64,
    /// Extra proposals stopped before COPIED (spread over the five earlier states), interleaved
    /// with the others. Default: proposals / 1000.
    #[arg(long)]
    pub partial: Option<u64>,
    /// Bytes of each reply body (UTF-8, cut at a character boundary).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(16..=400_000))]
    pub reply_bytes: u64,
    /// Changes (one per transition) per commit.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(6..=100_000))]
    pub batch: u64,
    /// sled page cache while loading, in MiB.
    #[arg(long, default_value_t = 256)]
    pub cache_mb: u64,
    /// Stop loading (finishing the lifecycles under way) when the file system holding the data
    /// directory has less than this many GiB free.
    #[arg(long, default_value_t = 5.0)]
    pub min_free_gb: f64,
    /// Spread the proposals over this many (committee, session) pairs, committee first (all
    /// 48 by default; 1 loads a single session).
    #[arg(long, default_value_t = crate::generate::ALL_SESSIONS,
          value_parser = clap::value_parser!(u64).range(1..=crate::generate::ALL_SESSIONS))]
    pub sessions: u64,
    /// Give the acts effective dates spread over each session's year (received in March,
    /// replied July to October), instead of the day of the load.
    #[arg(long)]
    pub dated: bool,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Run the store's full verification (chain, projections, indexes) after loading.
    #[arg(long)]
    pub verify: bool,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct MeasureArgs {
    /// A directory written by `load`.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// sled page cache in MiB (default: the server's default).
    #[arg(long)]
    pub cache_mb: Option<u64>,
    /// Measured seconds of reads.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub duration: u64,
    /// Unmeasured seconds of reads first.
    #[arg(long, default_value_t = 2)]
    pub warmup: u64,
    /// Measured seconds of the Health/Check baseline (same clients and connections as reads).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub baseline_duration: u64,
    /// Concurrent read clients, each with its own HTTP/2 connection and one call in flight.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub clients: u32,
    /// Loaded proposals looked up (through the number index) to read at random.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub sample: u64,
    /// The rare state listed besides COPIED.
    #[arg(long, default_value = "signed", value_parser = parse_state)]
    pub rare_state: ProposalState,
    /// Seconds of each workflow run (proposal-bench --duration); 0 skips the write comparison.
    #[arg(long, default_value_t = 8)]
    pub write_duration: u64,
    /// Warm-up seconds of each workflow run.
    #[arg(long, default_value_t = 1)]
    pub write_warmup: u64,
    /// Clients of the workflow runs.
    #[arg(long, default_value_t = 64)]
    pub write_clients: u32,
    /// Rounds of (empty database, this database) workflow runs.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub write_rounds: u32,
    /// Skip the write comparison (it adds to this directory and writes an empty one under the
    /// temporary directory) when the data directory's file system has less than this many GiB
    /// free.
    #[arg(long, default_value_t = 2.0)]
    pub min_free_gb: f64,
    /// The proposal-bench binary (default: next to this one).
    #[arg(long)]
    pub bench_bin: Option<PathBuf>,
    /// Seed of the random choices.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct StatisticsArgs {
    /// A directory written by `load`.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// sled page cache in MiB (default: the server's default).
    #[arg(long)]
    pub cache_mb: Option<u64>,
    /// Timed calls of each kind, after the first (cold) one.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub rounds: u32,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct TreeSizesArgs {
    #[arg(long)]
    pub data_dir: PathBuf,
    #[arg(long)]
    pub json: bool,
}

fn parse_state(text: &str) -> Result<ProposalState, String> {
    ProposalState::ALL
        .into_iter()
        .find(|s| s.as_str().eq_ignore_ascii_case(text))
        .ok_or_else(|| format!("not a state: {text}"))
}
