//! The JSON reports of the measuring tools (`proposal-bench`, `proposal-scale`): the tool run
//! as its users run it, and the figures its report must hold.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Runs the tool at `binary` with `args` and `--json`; fails unless it succeeds, and returns
/// its parsed JSON report.
pub fn run_report(binary: &str, args: &[&str]) -> Value {
    let name = Path::new(binary).file_name().unwrap().to_string_lossy();
    let output = Command::new(binary)
        .args(args)
        .arg("--json")
        .output()
        .unwrap_or_else(|e| panic!("running {name}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{name} {args:?} failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("the report is not JSON ({e}):\n{stdout}"))
}

/// The number at `pointer` (e.g. `/baseline/calls_per_sec`), which must be present and > 0.
pub fn positive(report: &Value, pointer: &str) -> f64 {
    let value = report
        .pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("no number at {pointer} in {report:#}"));
    assert!(value > 0.0, "{pointer} is {value}, expected > 0");
    value
}

/// The latency summary at `pointer`: every figure present and > 0, the percentiles in order.
pub fn assert_latency(report: &Value, pointer: &str) {
    let at = |field: &str| positive(report, &format!("{pointer}/{field}"));
    for field in ["count", "mean", "p50", "p95", "p99", "max"] {
        at(field);
    }
    assert!(
        at("p50") <= at("p95") && at("p95") <= at("p99") && at("p99") <= at("max"),
        "percentiles out of order at {pointer}: {:#}",
        report.pointer(pointer).unwrap()
    );
}
