//! `measure`: on a directory `load` wrote, times the open, reads memory and disk use, then
//! serves the store in-process for the reads and compares writes with an empty database.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use proposal_service::app::Workflow;
use proposal_service::domain::Claim;
use proposal_service::server::{self, ServeOptions};
use proposal_service::store::{EventScope, SledStore, Store, event_bytes};
use serde::Serialize;

use crate::allocator;
use crate::args::MeasureArgs;
use crate::disk::{disk_use, free_bytes};
use crate::generate::{COMMITTEES, SESSIONS, registration_of};
use crate::loadgen::ratio;
use crate::manifest::{Manifest, sled_options};
use crate::procfs::{load_average, proc_status_bytes, rss};
use crate::reads::{ReadPlan, ReadReport, measure_reads};
use crate::rng::Rng;
use crate::units::gib;
use crate::writes::{WriteReport, compare_writes};

#[derive(Debug, Serialize)]
pub struct OpenReport {
    /// `SledStore::open` (sled's recovery, tree opening, format and watermark checks).
    pub store_secs: f64,
    /// `Workflow::start` over the opened store (the writer's start: the log's end).
    pub workflow_secs: f64,
    pub total_secs: f64,
}

#[derive(Debug, Serialize)]
pub struct MemoryReport {
    pub cache_mb: u64,
    pub rss_before_open_bytes: u64,
    pub rss_after_open_bytes: u64,
    /// Highest RSS sampled (every 20 ms) while the reads ran, server and clients together.
    pub rss_peak_under_reads_bytes: u64,
    pub rss_after_reads_bytes: u64,
    /// The process's high-water mark (VmHWM) after the reads.
    pub rss_high_water_bytes: u64,
}

#[derive(Debug, Serialize)]
pub struct DiskReport {
    pub allocated_bytes: u64,
    pub apparent_bytes: u64,
    /// Canonical bytes of every event in the store (loaded, plus any added by earlier runs).
    pub raw_event_bytes: u64,
    pub events: u64,
    /// allocated ÷ raw (target ≤ 3).
    pub ratio: f64,
}

#[derive(Debug, Serialize)]
pub struct MeasureReport {
    pub data_dir: PathBuf,
    /// /proc/loadavg before opening and after the reads (2 cores: above 2 means waiting).
    pub load_average_before: String,
    pub load_average_after_reads: String,
    pub loaded: Manifest,
    pub open: OpenReport,
    pub memory: MemoryReport,
    pub disk: DiskReport,
    pub sample: SampleReport,
    pub reads: ReadReport,
    pub writes: Option<WriteReport>,
    pub ok: bool,
}

#[derive(Debug, Serialize)]
pub struct SampleReport {
    pub ids: u64,
    pub secs: f64,
}

/// The raw bytes of the events stored after the loaded ones (e.g. by earlier `measure` runs).
fn later_event_bytes(store: &SledStore, after: u64) -> Result<(u64, u64), String> {
    let (mut position, mut events, mut bytes) = (after, 0, 0);
    loop {
        let batch = store
            .events(EventScope::All, position, 1000)
            .map_err(|e| e.to_string())?;
        let Some(last) = batch.last() else {
            return Ok((events, bytes));
        };
        position = last.event.position;
        for logged in &batch {
            events += 1;
            bytes += event_bytes(&logged.event).map_err(|e| e.to_string())?.len() as u64;
        }
    }
}

pub fn measure(args: &MeasureArgs) -> Result<MeasureReport, String> {
    let dir = &args.data_dir;
    let manifest = Manifest::read(dir)?;
    let options = sled_options(args.cache_mb);
    let cache_mb = options.cache_capacity / (1024 * 1024);

    eprintln!("proposal-scale: opening {}", dir.display());
    let load_average_before = load_average();
    let rss_before_open_bytes = rss();
    let started = Instant::now();
    let store = Arc::new(
        SledStore::open(dir, &options)
            .map_err(|e| format!("cannot open {}: {e}", dir.display()))?,
    );
    // As `proposal-server` does after opening, and counted in the open time as there.
    allocator::release_free_memory();
    let store_secs = started.elapsed().as_secs_f64();
    let workflow_started = Instant::now();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    let workflow = runtime
        .block_on(Workflow::start(Arc::clone(&store) as Arc<dyn Store>))
        .map_err(|e| format!("cannot start the workflow: {e}"))?;
    let workflow_secs = workflow_started.elapsed().as_secs_f64();
    let open = OpenReport {
        store_secs,
        workflow_secs,
        total_secs: started.elapsed().as_secs_f64(),
    };
    // The server starts its own; this one only measured the start.
    drop(workflow);
    let rss_after_open_bytes = rss();

    let (allocated_bytes, apparent_bytes) = disk_use(dir);
    let (later_events, later_bytes) = later_event_bytes(&store, manifest.last_position)?;
    let raw_event_bytes = manifest.raw_event_bytes + later_bytes;
    let disk = DiskReport {
        allocated_bytes,
        apparent_bytes,
        raw_event_bytes,
        events: manifest.events + later_events,
        ratio: ratio(allocated_bytes as f64, raw_event_bytes as f64),
    };

    eprintln!(
        "proposal-scale: looking up {} random proposals",
        args.sample
    );
    let sample_started = Instant::now();
    let loaded = manifest.proposals_full + manifest.proposals_partial;
    let mut rng = Rng::new(args.seed);
    let mut ids = Vec::with_capacity(args.sample as usize);
    for _ in 0..args.sample.min(loaded.max(1) * 4) {
        let (c, s, number) = registration_of(rng.below(loaded), manifest.sessions);
        let id = store
            .claimed_by(&Claim::ProposalNumber {
                committee: COMMITTEES[c].into(),
                session: SESSIONS[s].0.into(),
                number,
            })
            .map_err(|e| e.to_string())?
            .ok_or_else(|| {
                format!("loaded proposal {c}/{s}/{number} is not in the number index")
            })?;
        ids.push(id.to_string());
    }
    let sample = SampleReport {
        ids: ids.len() as u64,
        secs: sample_started.elapsed().as_secs_f64(),
    };

    let occurred = |after: u64| -> Result<i64, String> {
        let event = store
            .events(EventScope::All, after, 1)
            .map_err(|e| e.to_string())?
            .pop()
            .ok_or("the store holds no events")?;
        Ok(event.event.occurred_at.unix_nanos())
    };
    let last = store.last_position().map_err(|e| e.to_string())?;
    let span = (occurred(0)?, occurred(last.saturating_sub(1))?);

    // The server, as production runs it, on its own runtime.
    let server_runtime =
        tokio::runtime::Runtime::new().map_err(|e| format!("server runtime: {e}"))?;
    let listener = server_runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .map_err(|e| format!("cannot listen: {e}"))?;
    let url = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = server_runtime.spawn(server::serve(
        Arc::clone(&store) as Arc<dyn Store>,
        listener,
        ServeOptions::default(),
        async {
            let _ = stopped.await;
        },
    ));
    drop(store);

    let plan = Arc::new(ReadPlan {
        ids,
        rare_state: args.rare_state,
        span,
    });
    let client_runtime =
        tokio::runtime::Runtime::new().map_err(|e| format!("client runtime: {e}"))?;
    // The sampler's phase: 0 waiting, 1 sampling, 2 done.
    let peak = Arc::new(AtomicU64::new(0));
    let phase = Arc::new(AtomicU8::new(0));
    let sampler = {
        let (peak, phase) = (Arc::clone(&peak), Arc::clone(&phase));
        std::thread::spawn(move || {
            loop {
                match phase.load(Ordering::Relaxed) {
                    0 => std::thread::sleep(Duration::from_millis(5)),
                    1 => {
                        peak.fetch_max(rss(), Ordering::Relaxed);
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    _ => break,
                }
            }
        })
    };
    let reads = client_runtime.block_on(measure_reads(&url, args, &plan, &phase));
    phase.store(2, Ordering::Relaxed);
    let _ = sampler.join();
    let rss_after_reads_bytes = rss();
    let load_average_after_reads = load_average();
    let rss_high_water_bytes = proc_status_bytes("VmHWM");
    // Closing the connections first lets the server shut down without waiting for them.
    drop(client_runtime);
    let _ = stop.send(());
    let served = server_runtime.block_on(served);
    drop(server_runtime);
    let reads = reads?;
    match served {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(format!("the server failed: {e}")),
        Err(e) => return Err(format!("the server task failed: {e}")),
    }
    let memory = MemoryReport {
        cache_mb,
        rss_before_open_bytes,
        rss_after_open_bytes,
        rss_peak_under_reads_bytes: peak.load(Ordering::Relaxed),
        rss_after_reads_bytes,
        rss_high_water_bytes,
    };

    let free = free_bytes(dir).map(gib);
    let writes = if args.write_duration == 0 {
        None
    } else if let Some(free) = free.filter(|free| *free < args.min_free_gb) {
        eprintln!(
            "proposal-scale: skipping the write comparison: {free:.1} GiB free (< --min-free-gb {})",
            args.min_free_gb
        );
        None
    } else {
        Some(compare_writes(args)?)
    };
    let ok = reads.errors.total() == 0
        && writes
            .as_ref()
            .is_none_or(|w| w.rounds.iter().all(|r| r.ok));
    Ok(MeasureReport {
        data_dir: dir.clone(),
        load_average_before,
        load_average_after_reads,
        loaded: manifest,
        open,
        memory,
        disk,
        sample,
        reads,
        writes,
        ok,
    })
}
