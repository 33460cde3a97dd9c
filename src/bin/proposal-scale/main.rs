//! `proposal-scale`: the scale run of issue #4. Loads a data directory with many proposals and
//! their full histories, then measures what a large store costs: disk against the raw event
//! bytes, resident memory, time to open, read latency over gRPC and write throughput against an
//! empty database.
//!
//! - `load --data-dir D --proposals N`: bulk-loads N proposals, each through all six transitions
//!   (receive → assign → draft → sign → issue → copy), plus a few (N/1000 by default) stopped
//!   at an earlier state so that listings of a rare state have something to find. Every
//!   [`Change`] is built exactly as the writer builds it (`decide`, `transition`, `apply`, a
//!   request id and its fingerprint on every command) and committed through
//!   [`SledStore::commit`], about `--batch` changes per commit. Proposals move through their
//!   lifecycle in waves: each commit receives a new group while the groups before it take their
//!   next step, so a proposal's six events land in six different commits, as they would in
//!   production. Stops early (and says so) when the file system's free space falls below
//!   `--min-free-gb`. Writes `scale-load.json` into the data directory: what was loaded and the
//!   raw event bytes (the sum of the canonical bytes, [`event_bytes`], of every event).
//! - `measure --data-dir D`: times opening the store and starting the workflow, reads resident
//!   memory after open, measures disk use, then serves the store in-process (the same
//!   [`server::serve`] as `proposal-server`) and drives reads over gRPC from several clients,
//!   one kind of call per phase (so a slow listing does not queue the look-ups behind it):
//!   `GetProposal` (in the default FULL view and in the BASIC view) and `GetProposalHistory` of
//!   random loaded proposals (looked up through the number index first), and the first page
//!   (default size and view, which is BASIC) of `ListProposals` filtered by a common state
//!   (COPIED), by a rare one and by a random handling unit, and by unit again in the FULL
//!   view, and the audit trail's first page (`ListEvents`) from a random time of the loaded
//!   log, after a `Health/Check` baseline over the same connections; it samples resident
//!   memory throughout, and gives each phase's CPU per call and how busy the machine was.
//!   Finally it runs `proposal-bench` (the existing workflow load) against an empty database
//!   and against this one, in alternation, and compares their throughput. The loaded
//!   directory keeps what those runs add; later runs count their events in the raw bytes.
//! - `statistics --data-dir D`: times GetStatistics over gRPC on the load's first (largest)
//!   session: the first call, then `--rounds` of each kind (totals, rows by unit, a past day).
//!   `load --sessions 1` puts every proposal into that one session.
//! - `tree-sizes --data-dir D`: the logical bytes (keys and values) held in each sled tree, to
//!   see where the disk goes. Reads everything.
//!
//! Both `load` and `measure` print a table, or one JSON object with `--json` (progress goes to
//! stderr). Exit status: 0 on success, 1 when a call failed during `measure` (the report is
//! still printed), 2 when the run could not be done.
//!
//! Code map: `args.rs` the command line; one module per subcommand, `load.rs`, `measure.rs`
//! (with `reads.rs` and `writes.rs`, its two halves) and `tree_sizes.rs`; `table.rs` their
//! tables; `generate.rs` the generated proposals and commands, from `rng.rs`; `changes.rs` the
//! changes built as the writer builds them; `manifest.rs` what `load` leaves for `measure`;
//! `procfs.rs`, `disk.rs` and `units.rs` memory, disk space and their units. `../common/` holds
//! what `proposal-bench` shares.
//!
//! [`Change`]: proposal_service::store::Change
//! [`SledStore::commit`]: proposal_service::store::Store::commit
//! [`event_bytes`]: proposal_service::store::event_bytes
//! [`server::serve`]: proposal_service::server::serve

/// The allocator `proposal-server` runs with, so that the figures are the server's.
#[path = "../common/allocator.rs"]
mod allocator;
mod args;
mod changes;
mod disk;
mod generate;
mod load;
#[path = "../common/loadgen.rs"]
mod loadgen;
mod manifest;
mod measure;
#[path = "../common/output.rs"]
mod output;
mod procfs;
mod reads;
mod rng;
mod statistics;
mod table;
mod tree_sizes;
mod units;
mod writes;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Mode};
use crate::load::load;
use crate::measure::measure;
use crate::output::print;
use crate::table::{render_load, render_measure, render_tree_sizes};
use crate::tree_sizes::tree_sizes;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Mode::Load(args) => load(args).map(|report| {
            print(&report, args.json, render_load);
            report.verify.as_ref().is_none_or(|v| v.problems.is_empty())
        }),
        Mode::Measure(args) => measure(args).map(|report| {
            print(&report, args.json, render_measure);
            report.ok
        }),
        Mode::Statistics(args) => statistics::statistics(args).map(|report| {
            print(&report, args.json, statistics::render_statistics);
            true
        }),
        Mode::TreeSizes(args) => tree_sizes(args).map(|sizes| {
            print(&sizes, args.json, |s| render_tree_sizes(s));
            true
        }),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("proposal-scale: failures (see the report)");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("proposal-scale: {e}");
            ExitCode::from(2)
        }
    }
}
