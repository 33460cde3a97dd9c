//! A proposal-workflow service: tracks CPPCC proposals (政协提案) from registration to the
//! copied official reply, as an event-sourced state machine on an embedded store, served over
//! gRPC. See `ARCHITECTURE.md` for the map.

pub mod app;
pub mod auth;
pub mod domain;
pub mod grpc;
pub mod grpc_only;
pub mod metrics;
pub mod seed;
pub mod server;
pub mod store;
pub mod tls;
pub mod transfer;

pub use grpc::pb;
