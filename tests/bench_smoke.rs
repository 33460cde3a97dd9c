mod common;

// Keeps `proposal-bench` working: runs the built binary briefly against its in-process server
// and checks that its JSON report has every figure, each positive, and no failed call. No
// performance thresholds: CI machines vary too much for those to mean anything.

use std::process::Command;

use common::report::{assert_latency, positive, run_report};
use serde_json::Value;

#[test]
fn the_bench_reports_every_figure_and_no_errors() {
    let report = run_bench(&[]);

    assert_eq!(report["target"], "in-process");
    assert_eq!(report["concurrency"], 4);
    assert_eq!(report["connections"], 4);
    // The seed document's reply body.
    assert_eq!(report["reply_body_bytes"], 8818);

    positive(&report, "/baseline/calls");
    positive(&report, "/baseline/elapsed_secs");
    positive(&report, "/baseline/calls_per_sec");
    assert_latency(&report, "/baseline/latency_ms");

    positive(&report, "/workflow/transitions");
    positive(&report, "/workflow/lifecycles");
    positive(&report, "/workflow/elapsed_secs");
    positive(&report, "/workflow/transitions_per_sec");
    positive(&report, "/workflow/lifecycles_per_sec");
    assert_latency(&report, "/workflow/latency_ms/all");
    for rpc in [
        "ReceiveProposal",
        "AssignProposal",
        "DraftReply",
        "SignReply",
        "IssueReply",
        "CopyReply",
    ] {
        assert_latency(&report, &format!("/workflow/latency_ms/per_rpc/{rpc}"));
    }

    positive(&report, "/throughput_ratio");
    positive(&report, "/p50_latency_ratio");

    // The floor: Health/Check on a server of its own that answers after a durable sled insert.
    assert_eq!(report["floor"]["value_bytes"], 1024);
    let floor_calls = positive(&report, "/floor/calls");
    positive(&report, "/floor/calls_per_sec");
    assert_latency(&report, "/floor/latency_ms");
    // Every call it answered was stored first (the warm-up and the readiness probe add more).
    let stored = positive(&report, "/floor/records_stored");
    assert!(
        stored >= floor_calls,
        "{stored} records stored for {floor_calls} floor calls"
    );
    positive(&report, "/floor_throughput_ratio");
    positive(&report, "/floor_p50_latency_ratio");
    positive(&report, "/workflow_to_floor_ratio");

    // CPU accounting from /proc (this test runs on Linux): the in-process server and the
    // clients used some CPU in each phase, and the machine was busy part of the time.
    for phase in ["baseline", "floor", "workflow"] {
        positive(&report, &format!("/{phase}/cpu/process_secs"));
        let busy = positive(&report, &format!("/{phase}/cpu/machine_busy"));
        assert!(busy <= 1.0, "{phase}: machine busy {busy}");
    }
    positive(&report, "/baseline/cpu_us_per_call");
    positive(&report, "/floor/cpu_us_per_call");
    positive(&report, "/workflow/cpu_us_per_transition");
    positive(&report, "/cpu_ratio");

    assert_no_errors(&report, "/baseline/errors");
    assert_no_errors(&report, "/floor/errors");
    assert_no_errors(&report, "/workflow/errors");
    assert_no_errors(&report, "/warmup_errors");
    assert_eq!(report["workflow"]["error_total"], 0);
    assert_eq!(report["ok"], true);

    let data_dir = report["data_dir"]
        .as_str()
        .expect("the data directory is reported");
    assert!(
        !std::path::Path::new(data_dir).exists(),
        "the temporary data directory {data_dir} was left behind"
    );
}

#[test]
fn the_reply_body_has_the_size_asked_for() {
    let report = run_bench(&["--reply-bytes", "1000"]);

    // Cut at a character boundary: the seed's characters take 1 to 3 bytes.
    let bytes = positive(&report, "/reply_body_bytes");
    assert!(
        (998.0..=1000.0).contains(&bytes),
        "reply body of {bytes} bytes"
    );
    positive(&report, "/workflow/transitions");
    assert_no_errors(&report, "/workflow/errors");
    assert_eq!(report["ok"], true);
}

#[test]
fn the_floor_can_be_skipped_and_sized() {
    let sized = run_bench(&["--floor-value-bytes", "64"]);
    assert_eq!(sized["floor"]["value_bytes"], 64);
    positive(&sized, "/floor/calls");

    let skipped = run_bench(&["--no-floor"]);
    for field in [
        "floor",
        "floor_throughput_ratio",
        "floor_p50_latency_ratio",
        "workflow_to_floor_ratio",
    ] {
        assert!(skipped[field].is_null(), "{field}: {}", skipped[field]);
    }
    positive(&skipped, "/workflow/transitions");
    assert_eq!(skipped["ok"], true);
}

#[test]
fn a_size_out_of_range_is_a_usage_error() {
    let cases = [
        ("--reply-bytes", ["0", "15", "100001", "many"]),
        ("--floor-value-bytes", ["0", "-1", "100001", "many"]),
    ];
    for (flag, bads) in cases {
        for bad in bads {
            // `--flag=value`, so that "-1" is read as a value, not as another flag.
            let output = Command::new(env!("CARGO_BIN_EXE_proposal-bench"))
                .arg(format!("{flag}={bad}"))
                .output()
                .expect("running proposal-bench");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{flag} {bad}: {stderr}");
            assert!(stderr.contains(flag), "{flag} {bad}: {stderr}");
        }
    }
}

/// Runs the tool for about a second per phase, with `extra` arguments, and returns its parsed
/// JSON report.
fn run_bench(extra: &[&str]) -> Value {
    let brief = ["--concurrency", "4", "--duration", "1", "--warmup", "0"];
    run_report(
        env!("CARGO_BIN_EXE_proposal-bench"),
        &[&brief[..], extra].concat(),
    )
}

fn assert_no_errors(report: &Value, pointer: &str) {
    let errors = report
        .pointer(pointer)
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("no error map at {pointer} in {report:#}"));
    assert!(errors.is_empty(), "{pointer}: {errors:?}");
}
