//! The gRPC edge: generated types, conversion between them and the domain, the one error table,
//! and the thin service that wires requests to the [`crate::app::Workflow`]. The only module
//! that knows protobuf.

mod convert;
mod service;
mod status;

pub use service::ProposalApi;

/// Generated protobuf and gRPC types of `proto/proposal/v1/proposal.proto`.
pub mod pb {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("proposal.v1");

    /// The encoded file descriptor set, served by gRPC reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/proposal_descriptor.bin"));
}

/// The `ErrorInfo.domain` of every error this service reports.
pub const ERROR_DOMAIN: &str = "proposal.v1";
