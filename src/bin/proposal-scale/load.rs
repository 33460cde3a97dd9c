//! `load`: bulk-loads proposals with full histories into a new data directory, in waves, through
//! [`SledStore::commit`], and writes the manifest `measure` reads.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proposal_service::app::EventClock;
use proposal_service::domain::{Proposal, Rules, Timestamp};
use proposal_service::store::{SledOptions, SledStore};
use serde::Serialize;

use crate::args::LoadArgs;
use crate::changes::Loader;
use crate::disk::{disk_use, free_bytes};
use crate::generate::{ACTORS, Generator, Spec};
use crate::loadgen::ratio;
use crate::manifest::{MANIFEST, Manifest};
use crate::procfs::{proc_status_bytes, rss};
use crate::units::{MIB, gib};

#[derive(Debug, Serialize)]
pub struct LoadReport {
    pub data_dir: PathBuf,
    pub requested_full: u64,
    pub requested_partial: u64,
    pub manifest: Manifest,
    pub commits: u64,
    pub changes_per_commit: f64,
    pub events_per_sec: f64,
    pub proposals_per_sec: f64,
    pub commit_p50_ms: f64,
    pub commit_p99_ms: f64,
    pub disk_bytes: u64,
    pub disk_apparent_bytes: u64,
    pub disk_ratio: f64,
    pub peak_rss_bytes: u64,
    pub verify: Option<VerifyReport>,
}

#[derive(Debug, Serialize)]
pub struct VerifyReport {
    pub events: u64,
    pub proposals: u64,
    pub problems: Vec<String>,
    pub secs: f64,
}

/// One proposal under way: its data and its state after the steps taken so far.
struct InFlight {
    spec: Spec,
    proposal: Option<Arc<Proposal>>,
}

pub fn load(args: &LoadArgs) -> Result<LoadReport, String> {
    let dir = &args.data_dir;
    let options = SledOptions {
        cache_capacity: args.cache_mb * 1024 * 1024,
    };
    let store = SledStore::open(dir, &options)
        .map_err(|e| format!("cannot open {}: {e}", dir.display()))?;
    if store.last_position().map_err(|e| e.to_string())? != 0 {
        return Err(format!(
            "{} already holds events; load into a new directory",
            dir.display()
        ));
    }
    let full = args.proposals;
    let partial = args.partial.unwrap_or(full / 1000);
    let total = full + partial;
    let seed_body: Vec<char> = proposal_service::seed::proposal_228()
        .body
        .chars()
        .collect();
    let mut generator = Generator {
        seed: args.seed,
        seed_body,
        reply_bytes: args.reply_bytes as usize,
        documents: HashMap::new(),
        sessions: args.sessions,
        dated: args.dated,
    };
    let mut loader = Loader {
        store,
        next_position: 1,
        clock: EventClock::after(Timestamp::from_unix_nanos(0)),
        rules: Rules::default(),
        events: 0,
        raw_event_bytes: 0,
    };
    let group = (args.batch / 6).max(1);
    let started = Instant::now();
    let mut waves: VecDeque<Vec<InFlight>> = VecDeque::new();
    let mut next_k = 0u64;
    let mut stopped_early = None;
    let mut commits = 0u64;
    let mut changes_total = 0u64;
    let mut commit_nanos: Vec<u64> = Vec::new();
    let mut last_report = Instant::now();
    let mut last_free_check = Instant::now() - Duration::from_secs(60);
    let (mut done_full, mut done_partial) = (0u64, 0u64);
    let (mut events_at_report, mut at_report) = (0u64, Instant::now());
    eprintln!(
        "proposal-scale: loading {full} proposals with full histories and {partial} partial ones into {} \
         ({} changes per commit, reply body {} bytes)",
        dir.display(),
        group * 6,
        args.reply_bytes
    );
    loop {
        if stopped_early.is_none() && last_free_check.elapsed() >= Duration::from_secs(2) {
            last_free_check = Instant::now();
            if let Some(free) = free_bytes(dir)
                && gib(free) < args.min_free_gb
            {
                let reason = format!(
                    "free space fell to {:.1} GiB (< --min-free-gb {}) after {next_k} proposals were started",
                    gib(free),
                    args.min_free_gb
                );
                eprintln!("proposal-scale: {reason}; finishing the lifecycles under way");
                stopped_early = Some(reason);
            }
        }
        if stopped_early.is_none() && next_k < total {
            let end = (next_k + group).min(total);
            waves.push_back(
                (next_k..end)
                    .map(|k| InFlight {
                        spec: generator.spec(k, total, partial),
                        proposal: None,
                    })
                    .collect(),
            );
            next_k = end;
        }
        if waves.is_empty() {
            break;
        }
        // The oldest wave takes its last step first; the newest is received last.
        let mut changes = Vec::with_capacity((group * 6) as usize);
        for wave in &mut waves {
            for entry in wave.iter_mut() {
                let step = entry.proposal.as_ref().map_or(0, |p| p.version as usize);
                if step >= entry.spec.stages {
                    continue;
                }
                let command = generator.command(&mut entry.spec, step);
                let effective_date = generator.effective_date(&entry.spec, step, &command);
                let change =
                    loader.change(entry.proposal.take(), command, effective_date, ACTORS[step])?;
                entry.proposal = Some(Arc::clone(&change.after));
                changes.push(change);
            }
        }
        let commit_started = Instant::now();
        loader
            .store
            .commit(&changes)
            .map_err(|e| format!("commit {commits} failed: {e}"))?;
        commit_nanos.push(commit_started.elapsed().as_nanos() as u64);
        commits += 1;
        changes_total += changes.len() as u64;
        while let Some(wave) = waves.front() {
            let finished = wave.iter().all(|entry| {
                entry.proposal.as_ref().map_or(0, |p| p.version as usize) >= entry.spec.stages
            });
            if !finished {
                break;
            }
            for entry in waves.pop_front().expect("checked above") {
                if entry.spec.stages == 6 {
                    done_full += 1;
                } else {
                    done_partial += 1;
                }
            }
        }
        if last_report.elapsed() >= Duration::from_secs(10) {
            let secs = started.elapsed().as_secs_f64();
            let recent =
                (loader.events - events_at_report) as f64 / at_report.elapsed().as_secs_f64();
            let (allocated, _) = disk_use(dir);
            eprintln!(
                "proposal-scale: {:>9} proposals done ({:.1} %), {:>10} events, {:.0} events/s overall, {:.0} recent, \
                 {:.0} s, disk {:.2} GiB, raw {:.2} GiB, RSS {:.0} MiB",
                done_full + done_partial,
                100.0 * (done_full + done_partial) as f64 / total.max(1) as f64,
                loader.events,
                loader.events as f64 / secs,
                recent,
                secs,
                gib(allocated),
                gib(loader.raw_event_bytes),
                rss() as f64 / MIB
            );
            last_report = Instant::now();
            events_at_report = loader.events;
            at_report = Instant::now();
        }
    }
    loader.store.flush().map_err(|e| e.to_string())?;
    let load_secs = started.elapsed().as_secs_f64();
    let verify = if args.verify {
        eprintln!("proposal-scale: verifying the whole store");
        let verify_started = Instant::now();
        let v = loader.store.verify().map_err(|e| e.to_string())?;
        Some(VerifyReport {
            events: v.events,
            proposals: v.proposals,
            problems: v.problems,
            secs: verify_started.elapsed().as_secs_f64(),
        })
    } else {
        None
    };
    let manifest = Manifest {
        sessions: args.sessions,
        proposals_full: done_full,
        proposals_partial: done_partial,
        events: loader.events,
        raw_event_bytes: loader.raw_event_bytes,
        last_position: loader.next_position - 1,
        reply_bytes: args.reply_bytes,
        seed: args.seed,
        load_secs,
        stopped_early,
    };
    std::fs::write(
        dir.join(MANIFEST),
        serde_json::to_vec_pretty(&manifest).expect("the manifest serializes"),
    )
    .map_err(|e| format!("writing {MANIFEST}: {e}"))?;
    drop(loader);
    let (disk_bytes, disk_apparent_bytes) = disk_use(dir);
    commit_nanos.sort_unstable();
    let at = |p: f64| {
        let n = commit_nanos.len();
        if n == 0 {
            return 0.0;
        }
        commit_nanos[((p * n as f64).ceil() as usize).clamp(1, n) - 1] as f64 / 1e6
    };
    Ok(LoadReport {
        data_dir: dir.clone(),
        requested_full: full,
        requested_partial: partial,
        commits,
        changes_per_commit: ratio(changes_total as f64, commits as f64),
        events_per_sec: ratio(manifest.events as f64, load_secs),
        proposals_per_sec: ratio((done_full + done_partial) as f64, load_secs),
        commit_p50_ms: at(0.5),
        commit_p99_ms: at(0.99),
        disk_bytes,
        disk_apparent_bytes,
        disk_ratio: ratio(disk_bytes as f64, manifest.raw_event_bytes as f64),
        peak_rss_bytes: proc_status_bytes("VmHWM"),
        verify,
        manifest,
    })
}
