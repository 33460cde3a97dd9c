//! `statistics`: times GetStatistics over gRPC on a loaded store, the way `proposal-server`
//! serves it (the same `serve`, in-process, one client over loopback). The session measured is
//! the first (committee, session) pair, the largest of the load. The first call is reported on
//! its own (a cold page cache for the session's facts), then `--rounds` calls of each kind: the
//! totals as of today, the same with the rows by unit, and the totals as of the session year's
//! June 30 (with `load --dated`, after the assignments and before the replies; without, before
//! every act).

use std::sync::Arc;
use std::time::{Duration, Instant};

use proposal_service::pb;
use proposal_service::pb::proposal_service_client::ProposalServiceClient;
use proposal_service::server::{self, ServeOptions};
use proposal_service::store::{SledStore, Store};
use serde::Serialize;

use crate::args::StatisticsArgs;
use crate::generate::{COMMITTEES, SESSIONS};
use crate::manifest::{Manifest, sled_options};

#[derive(Serialize)]
pub struct StatisticsReport {
    pub store_proposals: u64,
    pub sessions_loaded: u64,
    pub committee: String,
    pub session: String,
    /// Proposals of the measured session (`received` as of today).
    pub session_proposals: u32,
    pub open_secs: f64,
    pub calls: Vec<CallTimes>,
}

/// One kind of call: its first (cold) call and the timed ones after it, in milliseconds.
#[derive(Serialize)]
pub struct CallTimes {
    pub call: &'static str,
    pub first_ms: f64,
    pub min_ms: f64,
    pub p50_ms: f64,
    pub max_ms: f64,
    pub rounds: u32,
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

pub fn statistics(args: &StatisticsArgs) -> Result<StatisticsReport, String> {
    let dir = &args.data_dir;
    let manifest = Manifest::read(dir)?;
    let options = sled_options(args.cache_mb);
    eprintln!("proposal-scale: opening {}", dir.display());
    let started = Instant::now();
    let store = Arc::new(
        SledStore::open(dir, &options)
            .map_err(|e| format!("cannot open {}: {e}", dir.display()))?,
    );
    let open_secs = started.elapsed().as_secs_f64();
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("runtime: {e}"))?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .map_err(|e| format!("cannot listen: {e}"))?;
    let url = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = runtime.spawn(server::serve(
        store as Arc<dyn Store>,
        listener,
        ServeOptions::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let (committee, session) = (COMMITTEES[0].to_owned(), SESSIONS[0].0.to_owned());
    let measured = runtime.block_on(async {
        let mut client = ProposalServiceClient::connect(url)
            .await
            .map_err(|e| format!("cannot connect: {e}"))?
            .max_decoding_message_size(64 * 1024 * 1024);
        let request = |as_of: &str, by_unit: bool| pb::GetStatisticsRequest {
            committee: committee.clone(),
            session: session.clone(),
            as_of: as_of.to_owned(),
            by_unit,
        };
        let mut calls = Vec::new();
        let mut session_proposals = 0;
        let mid_year = format!("{}-06-30", SESSIONS[0].1);
        for (call, as_of, by_unit) in [
            ("totals, as of today", "", false),
            ("totals and rows by unit, as of today", "", true),
            (
                "totals, as of the session's 06-30",
                mid_year.as_str(),
                false,
            ),
        ] {
            let mut times = Vec::new();
            for _ in 0..=args.rounds {
                let started = Instant::now();
                let response = client
                    .get_statistics(request(as_of, by_unit))
                    .await
                    .map_err(|e| format!("GetStatistics: {e}"))?
                    .into_inner();
                times.push(ms(started.elapsed()));
                if as_of.is_empty() {
                    session_proposals = response.totals.map_or(0, |t| t.received);
                }
                if by_unit && response.units.is_empty() {
                    return Err("no rows by unit".to_owned());
                }
            }
            let first_ms = times.remove(0);
            times.sort_by(f64::total_cmp);
            calls.push(CallTimes {
                call,
                first_ms,
                min_ms: times[0],
                p50_ms: times[times.len() / 2],
                max_ms: times[times.len() - 1],
                rounds: args.rounds,
            });
        }
        Ok::<_, String>((calls, session_proposals))
    });
    let _ = stop.send(());
    let served = runtime.block_on(served);
    let (calls, session_proposals) = measured?;
    match served {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(format!("the server failed: {e}")),
        Err(e) => return Err(format!("the server task failed: {e}")),
    }
    Ok(StatisticsReport {
        store_proposals: manifest.proposals_full + manifest.proposals_partial,
        sessions_loaded: manifest.sessions,
        committee: COMMITTEES[0].to_owned(),
        session: SESSIONS[0].0.to_owned(),
        session_proposals,
        open_secs,
        calls,
    })
}

pub fn render_statistics(report: &StatisticsReport) -> String {
    let mut text = format!(
        "GetStatistics of {} {} ({} proposals) in a store of {} proposals over {} sessions \
         (opened in {:.1} s)\n",
        report.committee,
        report.session,
        report.session_proposals,
        report.store_proposals,
        report.sessions_loaded,
        report.open_secs
    );
    text.push_str(&format!(
        "{:<44} {:>9} {:>9} {:>9} {:>9}\n",
        "call (ms)", "first", "min", "p50", "max"
    ));
    for c in &report.calls {
        text.push_str(&format!(
            "{:<44} {:>9.1} {:>9.1} {:>9.1} {:>9.1}\n",
            c.call, c.first_ms, c.min_ms, c.p50_ms, c.max_ms
        ));
    }
    text.trim_end().to_owned()
}
