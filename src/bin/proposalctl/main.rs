//! `proposalctl`: the command-line client of `proposal-server`.
//!
//! One subcommand per RPC (`receive` … `copy`, `refuse`, `acknowledge`, `contact`,
//! `request-extension`, `decide-extension`, `request-return`, `decide-return`, `submit-opinion`,
//! `merge`, `feedback`, `close`, `set-key`, `get`, `list`, `overdue`, `history`, `render`, `rules`, `events`, `watch`, `verify`) and `demo`,
//! which drives the seed's proposal No. 228 through its whole lifecycle. Output is readable text by
//! default and JSON with `--json` (`json.rs` gives the mapping); errors go to stderr.
//!
//! Exit status ([`failure::Failure::exit_code`]):
//! - 0: done;
//! - 1: the server refused or failed the request (its gRPC status, field violations and
//!   `ErrorInfo` reason are printed);
//! - 2: usage error: bad flags (clap), an unreadable or non-UTF-8 input file;
//! - 3: the server cannot be reached (no connection, or `UNAVAILABLE`);
//! - 4: `verify` found a mismatch (its report is printed).
//!
//! Code map: `commands/` holds one module per group of subcommands and the [`commands::Command`]
//! enum that lists them (add new subcommands there); `connection.rs` the server URL, the
//! connection and per-call deadlines; `values.rs` the command-line spelling of the proto's enums
//! and times; `json.rs` and `text.rs` the two output forms; `output.rs` where they are written;
//! `failure.rs` how errors are reported and which exit code they give.

/// The server's allocator: `export`, `import` and their verification open the store directly
/// and do the server's work of decoding and writing records (glibc's malloc took about a third
/// of an import's time).
#[path = "../common/allocator.rs"]
mod allocator;
mod commands;
mod connection;
mod failure;
mod json;
mod output;
mod text;
mod transfer;
mod values;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::commands::Command;
use crate::connection::ServerArgs;
use crate::output::Output;

/// Command-line client of proposal-server: registers, moves and reads CPPCC proposals.
#[derive(Parser, Debug)]
#[command(name = "proposalctl", version, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
    /// Print JSON instead of text (one object; `watch` prints one object per line).
    #[arg(long, global = true, help_heading = "Global options")]
    json: bool,
    #[command(subcommand)]
    command: TopCommand,
}

#[derive(Subcommand, Debug)]
enum TopCommand {
    // Boxed: the online subcommands' flags outweigh the offline ones' by far.
    #[command(flatten)]
    Online(Box<Command>),
    /// Write every event of a data directory as JSON Lines, with positions and hashes (the
    /// server must be stopped).
    Export(transfer::ExportArgs),
    /// Rebuild an empty data directory from an export, verifying the hash chain and every
    /// projection.
    Import(transfer::ImportArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let output = Output::new(cli.json);
    let command = match cli.command {
        TopCommand::Online(command) => command,
        // Offline: they open the data directory themselves and need no server.
        TopCommand::Export(args) => return offline(transfer::run_export(args)),
        TopCommand::Import(args) => return offline(transfer::run_import(args)),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(*command, &cli.server, &output)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            failure.report(&output);
            ExitCode::from(failure.exit_code())
        }
    }
}

/// The exit of an offline subcommand: 0, or 1 with the error and its causes.
fn offline(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
