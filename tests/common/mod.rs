//! The shared test kit. Every integration test binary includes it with `mod common;`:
//!
//! - [`server`]: the production server on 127.0.0.1:0 over a temporary data directory, with a
//!   generated client, readiness by polling health (no sleeps), and a pluggable store.
//! - [`process`]: the real `proposal-server` binary as a child process.
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

#![allow(dead_code)] // each test binary uses a different part of the kit
#![allow(unused_imports)] // and of the re-exports below

pub mod calls;
pub mod domain;
pub mod hostile;
pub mod lifecycle;
pub mod listing;
pub mod model;
pub mod oracle;
pub mod principals;
pub mod process;
pub mod reads;
pub mod requests;
pub mod server;
pub mod status;
pub mod tracked;

pub use server::{Client, StoreFactory, TestServer, Transport, wait_until_serving};
