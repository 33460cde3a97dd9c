//! The shared test kit. Every integration test binary includes it with `mod common;`:
//!
//! - [`server`]: the production server on 127.0.0.1:0 over a temporary data directory, with a
//!   generated client, readiness by polling health (no sleeps), and a pluggable store.
//! - [`process`]: the real `proposal-server` binary as a child process.
//! - [`seeded`], [`retried`], [`crash_check`]: for the crash test: a replayable PRNG, calls
//!   retried with exactly their content, and the check of a killed server's directory against
//!   what the clients were told.
//! - [`ctl`]: the `proposalctl` binary run against a test server, as a user runs it.
//! - [`bounded`], [`gate`], [`numbered`], [`load`], [`raw_h2`]: for the overload, deadline and
//!   shutdown tests: calls and waits that cannot hang, a store whose commits wait at a gate,
//!   proposals whose every call has a known request id, bursts and load clients, and a raw
//!   HTTP/2 connection for what a tonic client will not do.
//! - [`requests`]: one set of valid requests for every RPC, seeded from proposal No. 228, and
//!   [`requests::CommandRequest`], any of the eight commands as sent.
//! - [`lifecycle`]: the one lifecycle table (which command moves which state where), and
//!   [`lifecycle::drive`], a new proposal taken to a state.
//! - [`domain`]: given/when/then for the pure core (`decide`, `apply`, `fold`).
//! - [`calls`]: any RPC of a table, a call that must succeed or be refused, raced calls.
//! - [`status`]: what a refusal must carry (codes, `ErrorInfo`, `BadRequest`).
//! - [`reads`]: reading a proposal, its history and listings back, page by page.
//! - [`tracked`], [`listing`]: a proposal whose every answer the test predicts, and the
//!   reference filter of `ListProposals` (the lifecycle and listing tests).
//! - [`principals`]: principals files, credentials and a guarded server (the authorization
//!   tests).
//! - [`hostile`], [`oracle`]: strategies for hostile input and the limits they are judged by.
//! - [`model`]: the reference model of the model-based test.
//! - [`plans`]: proposals driven along scripted paths by a cast of named people, so that the
//!   log holds varied, interleaved histories (the audit-trail, watch and verify tests).
//! - [`event_log`], [`watchers`]: the reference filter of `ListEvents` and `WatchEvents`, and
//!   watch streams read on tasks of their own and checked against it.
//! - [`sessions`]: random sessions played through the pure core (the statistics property test).
//! - [`report`]: the measuring tools run for their JSON reports, and the figures those must hold
//!   (the bench and scale smoke tests).

#![allow(dead_code)] // each test binary uses a different part of the kit
#![allow(unused_imports)] // and of the re-exports below

pub mod bounded;
pub mod calls;
pub mod crash_check;
pub mod ctl;
pub mod domain;
pub mod event_log;
pub mod gate;
pub mod hostile;
pub mod lifecycle;
pub mod listing;
pub mod load;
pub mod model;
pub mod numbered;
pub mod oracle;
pub mod plans;
pub mod principals;
pub mod process;
pub mod raw_h2;
pub mod reads;
pub mod report;
pub mod requests;
pub mod retried;
pub mod seeded;
pub mod server;
pub mod sessions;
pub mod status;
pub mod tracked;
pub mod watchers;

pub use server::{Client, StoreFactory, TestServer, Transport, wait_until_serving};
