//! `proposalctl export` and `proposalctl import`: the whole event log to and from JSON Lines
//! (the format is described in `proposal_service::transfer`). Both open the data directory
//! directly, so the server must be stopped; the store's lock refuses a directory in use.
//!
//! Progress goes to stderr as a bar (export knows its length) or a spinner (import reads a
//! stream), with counts and rate, shown only on a terminal and only once a run has lasted a
//! second; the summary line is printed to stderr always, so stdout carries nothing but the export.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use proposal_service::store::{SledOptions, SledStore, to_hex};
use proposal_service::transfer::{self, ExportSummary};

/// Writes every event of a stopped server's data directory as JSON Lines.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// The server's data directory. Stop the server first: the store is opened directly, and a
    /// directory in use is refused.
    #[arg(long, value_name = "PATH")]
    pub data_dir: PathBuf,
    /// Where to write the export; standard output when absent or `-`. A file appears only once
    /// the export is complete (it is written beside it and renamed).
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

/// Rebuilds a data directory from an export, checking the hash chain and every event.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The data directory to create; it must be absent or empty.
    #[arg(long, value_name = "PATH")]
    pub data_dir: PathBuf,
    /// The export to read; standard input when absent or `-`.
    #[arg(long, value_name = "PATH")]
    pub input: Option<PathBuf>,
}

/// Runs `proposalctl export`.
pub fn run_export(args: ExportArgs) -> anyhow::Result<()> {
    let ExportArgs { data_dir, output } = args;
    if !data_dir.is_dir() {
        bail!("no data directory at {}", data_dir.display());
    }
    let store = open(&data_dir)?;
    let total = SledStore::last_position(&store)?;
    let progress = Progress::new(Some(total), "exported");
    let started = Instant::now();
    let summary = match output.filter(|path| path.as_os_str() != "-") {
        None => {
            let mut stdout = io::stdout().lock();
            wait(transfer::export(&store, &mut stdout, &mut |n| {
                progress.update(n)
            }))?
            .context("exporting to standard output")?
        }
        Some(path) => export_to_file(&store, &path, &progress)
            .with_context(|| format!("exporting to {}", path.display()))?,
    };
    progress.finish();
    eprintln!(
        "exported {} events of {} proposals ({} request records) in {}; head {}",
        summary.events,
        summary.proposals,
        summary.requests,
        timing(summary.events, started.elapsed()),
        to_hex(&summary.head)
    );
    Ok(())
}

/// Writes the export beside `path` and renames it into place once complete and synced, so that
/// `path` never holds a partial export.
fn export_to_file(
    store: &SledStore,
    path: &Path,
    progress: &Progress,
) -> anyhow::Result<ExportSummary> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let written = (|| -> anyhow::Result<ExportSummary> {
        let mut file =
            File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
        let summary = wait(transfer::export(store, &mut file, &mut |n| {
            progress.update(n)
        }))??;
        file.sync_all()
            .with_context(|| format!("syncing {}", partial.display()))?;
        fs::rename(&partial, path)
            .with_context(|| format!("renaming {} into place", partial.display()))?;
        Ok(summary)
    })();
    match written {
        Ok(summary) => {
            if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                // Best effort: the export is complete either way; this makes the rename durable.
                let _ = File::open(dir).and_then(|d| d.sync_all());
            }
            Ok(summary)
        }
        Err(e) => {
            let _ = fs::remove_file(&partial);
            Err(e)
        }
    }
}

/// Runs `proposalctl import`.
pub fn run_import(args: ImportArgs) -> anyhow::Result<()> {
    let ImportArgs { data_dir, input } = args;
    ensure_empty(&data_dir)?;
    let mut input: Box<dyn BufRead> = match input.filter(|path| path.as_os_str() != "-") {
        None => Box::new(io::stdin().lock()),
        Some(path) => Box::new(BufReader::with_capacity(
            1 << 20,
            File::open(&path).with_context(|| format!("opening {}", path.display()))?,
        )),
    };
    let store = open(&data_dir)?;
    let progress = Progress::new(None, "imported");
    let started = Instant::now();
    let summary = wait(transfer::import(&store, &mut input, &mut |n| {
        progress.update(n)
    }))?
    .with_context(|| {
        format!(
            "importing into {} failed (remove that directory before importing again)",
            data_dir.display()
        )
    })?;
    progress.finish();
    eprintln!(
        "imported {} events of {} proposals ({} request records) in {}; verified; head {}",
        summary.events,
        summary.proposals,
        summary.requests,
        timing(summary.events, started.elapsed()),
        to_hex(&summary.head)
    );
    Ok(())
}

fn open(data_dir: &Path) -> anyhow::Result<SledStore> {
    let store = SledStore::open(data_dir, &SledOptions::default()).with_context(|| {
        format!(
            "cannot open data directory {} (export and import open it directly: stop the server \
             first)",
            data_dir.display()
        )
    })?;
    crate::allocator::release_free_memory();
    Ok(store)
}

/// Import only into a directory of its own: importing into one that holds anything (another
/// store, or a failed import) would mix two histories.
fn ensure_empty(data_dir: &Path) -> anyhow::Result<()> {
    match fs::read_dir(data_dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                bail!(
                    "{} is not empty: import only into an absent or empty directory",
                    data_dir.display()
                );
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("reading {}", data_dir.display())),
    }
}

/// A progress display on stderr, drawn only on a terminal (indicatif hides it otherwise) and
/// only once the run has lasted [`Progress::DELAY`], so short runs print nothing but the summary.
struct Progress {
    bar: ProgressBar,
    started: Instant,
    shown: std::cell::Cell<bool>,
}

impl Progress {
    const DELAY: Duration = Duration::from_secs(1);

    fn new(total: Option<u64>, verb: &str) -> Self {
        let (bar, template) = match total {
            Some(total) => (
                ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden()),
                format!(
                    "{{bar:40}} {{human_pos}}/{{human_len}} events {verb} \
                     ({{per_sec:.0}}, {{elapsed}}, about {{eta}} left)"
                ),
            ),
            None => (
                ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden()),
                format!("{{spinner}} {{human_pos}} events {verb} ({{per_sec:.0}}, {{elapsed}})"),
            ),
        };
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style);
        }
        Self {
            bar,
            started: Instant::now(),
            shown: std::cell::Cell::new(false),
        }
    }

    fn update(&self, done: u64) {
        if !self.shown.get() && self.started.elapsed() >= Self::DELAY {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.shown.set(true);
        }
        self.bar.set_position(done);
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// "2.4 s (41,200 events/s)".
fn timing(events: u64, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64();
    let rate = events as f64 / seconds.max(1e-3);
    format!("{seconds:.1} s ({rate:.0} events/s)")
}

/// Runs an offline transfer to its end on a runtime of its own (the embedded store's futures
/// are ready at once; nothing here waits on a network).
fn wait<T>(future: impl std::future::Future<Output = T>) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .context("starting the async runtime")?;
    Ok(runtime.block_on(future))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absent_or_empty_directory_is_accepted_and_any_other_refused() {
        let dir = tempfile::tempdir().unwrap();
        ensure_empty(&dir.path().join("absent")).unwrap();
        ensure_empty(dir.path()).unwrap();
        fs::write(dir.path().join("LOCK"), b"").unwrap();
        let refused = ensure_empty(dir.path()).unwrap_err();
        assert!(refused.to_string().contains("not empty"), "{refused}");
    }
}
