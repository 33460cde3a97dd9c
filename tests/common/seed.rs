//! The seed proposal No. 228, from the library (see `proposal_service::seed`).

pub use proposal_service::seed::*;
