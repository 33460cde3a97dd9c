//! What Linux's `/proc` tells about this process and the machine: resident memory and the
//! load average.

/// A field of /proc/self/status in bytes (e.g. `VmRSS`, `VmHWM`); 0 where unavailable.
pub fn proc_status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// The 1, 5 and 15 minute load averages, to judge how noisy the machine was.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn rss() -> u64 {
    proc_status_bytes("VmRSS")
}
