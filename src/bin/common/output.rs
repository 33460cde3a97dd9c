//! How the load tools (`proposal-bench`, `proposal-scale`) print a report on stdout: one JSON
//! object, or a table for people. Included by each binary with `#[path]`.

use serde::Serialize;

/// Prints `value` as one pretty JSON object when `json`, or else the table `table` renders.
pub fn print<T: Serialize + ?Sized>(value: &T, json: bool, table: impl FnOnce(&T) -> String) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(value).expect("the report serializes")
        );
    } else {
        println!("{}", table(value));
    }
}
