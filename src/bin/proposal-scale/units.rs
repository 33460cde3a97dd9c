//! The units the reports give sizes in.

/// Bytes in a MiB.
pub const MIB: f64 = 1024.0 * 1024.0;

/// `bytes` in GiB.
pub fn gib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * MIB)
}
