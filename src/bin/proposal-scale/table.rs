//! The tables the subcommands print without `--json`.

use crate::load::LoadReport;
use crate::loadgen::ratio;
use crate::measure::MeasureReport;
use crate::reads::{CallReport, Read};
use crate::tree_sizes::TreeSize;
use crate::units::{MIB, gib};

pub fn render_load(r: &LoadReport) -> String {
    let m = &r.manifest;
    let mut out = vec![
        format!("data directory        {}", r.data_dir.display()),
        format!(
            "proposals loaded      {} full (6 events each) + {} partial (requested {} + {})",
            m.proposals_full, m.proposals_partial, r.requested_full, r.requested_partial
        ),
        format!("events                {}", m.events),
        format!("reply body            {} bytes", m.reply_bytes),
        format!(
            "load time             {:.1} s: {:.0} events/s, {:.0} proposals/s",
            m.load_secs, r.events_per_sec, r.proposals_per_sec
        ),
        format!(
            "commits               {} ({:.0} changes each; p50 {:.1} ms, p99 {:.1} ms)",
            r.commits, r.changes_per_commit, r.commit_p50_ms, r.commit_p99_ms
        ),
        format!(
            "raw event bytes       {} ({:.2} GiB)",
            m.raw_event_bytes,
            gib(m.raw_event_bytes)
        ),
        format!(
            "disk use              {} ({:.2} GiB; apparent {:.2} GiB) = {:.2} × raw",
            r.disk_bytes,
            gib(r.disk_bytes),
            gib(r.disk_apparent_bytes),
            r.disk_ratio
        ),
        format!(
            "peak RSS              {:.0} MiB",
            r.peak_rss_bytes as f64 / MIB
        ),
    ];
    if let Some(reason) = &m.stopped_early {
        out.push(format!("STOPPED EARLY         {reason}"));
    }
    if let Some(v) = &r.verify {
        out.push(format!(
            "verify                {} events, {} proposals, {} problems ({:.1} s){}",
            v.events,
            v.proposals,
            v.problems.len(),
            v.secs,
            v.problems
                .first()
                .map(|p| format!(": {p}"))
                .unwrap_or_default()
        ));
    }
    out.join("\n")
}

pub fn render_measure(r: &MeasureReport) -> String {
    let mib = |b: u64| b as f64 / MIB;
    let m = &r.loaded;
    let mut out = vec![
        format!(
            "data {}: {} proposals with full histories + {} partial, {} events, reply body {} bytes",
            r.data_dir.display(),
            m.proposals_full,
            m.proposals_partial,
            r.disk.events,
            m.reply_bytes
        ),
        format!(
            "load average          {} before, {} after the reads",
            r.load_average_before, r.load_average_after_reads
        ),
        String::new(),
        format!(
            "open                  {:.3} s (SledStore::open {:.3} s + Workflow::start {:.3} s)",
            r.open.total_secs, r.open.store_secs, r.open.workflow_secs
        ),
        format!(
            "RSS                   {:.0} MiB before open, {:.0} MiB after open, {:.0} MiB peak under reads, \
             {:.0} MiB after reads (cache {} MiB; high-water {:.0} MiB)",
            mib(r.memory.rss_before_open_bytes),
            mib(r.memory.rss_after_open_bytes),
            mib(r.memory.rss_peak_under_reads_bytes),
            mib(r.memory.rss_after_reads_bytes),
            r.memory.cache_mb,
            mib(r.memory.rss_high_water_bytes)
        ),
        format!(
            "disk                  {:.2} GiB allocated ({:.2} GiB apparent) for {:.2} GiB raw event bytes = {:.2} × raw",
            gib(r.disk.allocated_bytes),
            gib(r.disk.apparent_bytes),
            gib(r.disk.raw_event_bytes),
            r.disk.ratio
        ),
        format!(
            "id sample             {} proposals looked up in {:.2} s",
            r.sample.ids, r.sample.secs
        ),
        String::new(),
        format!(
            "reads, one call kind at a time: {} clients, {} s measured after {} s warm-up each; \
             listings at the default page size",
            r.reads.clients, r.reads.duration_secs, r.reads.warmup_secs
        ),
        format!(
            "{:<30} {:>8} {:>9} {:>7} {:>8} {:>8} {:>8} {:>8} {:>7} {:>5}",
            "call",
            "count",
            "per sec",
            "items",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
            "cpu µs",
            "busy"
        ),
    ];
    let row = |name: &str, c: &CallReport| {
        format!(
            "{name:<30} {:>8} {:>9.0} {:>7.1} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>7} {:>5}",
            c.latency_ms.count,
            c.calls_per_sec,
            c.items_per_call,
            c.latency_ms.p50,
            c.latency_ms.p95,
            c.latency_ms.p99,
            c.latency_ms.max,
            c.cpu_us_per_call
                .map_or_else(|| "-".into(), |us| format!("{us:.0}")),
            c.machine_busy
                .map_or_else(|| "-".into(), |busy| format!("{:.0}%", busy * 100.0)),
        )
    };
    out.push(row("Health/Check (baseline)", &r.reads.baseline));
    for kind in Read::ALL {
        let name = match kind {
            Read::ListRareState => format!("ListProposals state={}", r.reads.rare_state),
            _ => kind.name().to_owned(),
        };
        out.push(row(&name, &r.reads.calls[kind.name()]));
    }
    out.push(format!(
        "read errors: {}",
        if r.reads.errors.total() == 0 {
            "none".to_owned()
        } else {
            format!("{:?}", r.reads.errors.iter().collect::<Vec<_>>())
        }
    ));
    if let Some(w) = &r.writes {
        out.push(String::new());
        out.push(format!(
            "writes: proposal-bench, {} clients, {} s per run",
            w.clients, w.duration_secs
        ));
        for run in &w.rounds {
            out.push(format!(
                "  {:<7} {:>8.0} transitions/s, p50 {:.2} ms, p99 {:.2} ms; Health/Check {:.0}/s; ratio {:.3}{}",
                run.database,
                run.transitions_per_sec,
                run.p50_ms,
                run.p99_ms,
                run.baseline_calls_per_sec,
                run.throughput_ratio,
                if run.ok { "" } else { " (ERRORS)" }
            ));
        }
        out.push(format!(
            "  loaded ÷ empty: {:.3} (normalised by each run's Health/Check: {:.3})",
            w.ratio, w.normalized_ratio
        ));
    }
    out.join("\n")
}

pub fn render_tree_sizes(sizes: &[TreeSize]) -> String {
    let total: u64 = sizes.iter().map(|s| s.key_bytes + s.value_bytes).sum();
    let mut out = vec![format!(
        "{:<24} {:>11} {:>14} {:>16} {:>7}",
        "tree", "entries", "key bytes", "value bytes", "share"
    )];
    for s in sizes {
        out.push(format!(
            "{:<24} {:>11} {:>14} {:>16} {:>6.1}%",
            s.tree,
            s.entries,
            s.key_bytes,
            s.value_bytes,
            100.0 * ratio((s.key_bytes + s.value_bytes) as f64, total as f64)
        ));
    }
    out.push(format!(
        "total logical bytes {total} ({:.2} GiB)",
        gib(total)
    ));
    out.join("\n")
}
