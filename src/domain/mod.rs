//! The pure core: what a proposal is, which commands it accepts in which state, and which events
//! those commands produce. No I/O, no async, no protobuf, no storage: it decides, the store
//! remembers.

mod command;
mod decide;
mod event;
pub mod examples;
mod limits;
mod model;
mod render;
mod rules;
pub mod statistics;

pub use command::{Command, CommandKind, Registration, validate_envelope, validate_session};
pub use decide::{
    Decision, DomainError, EffectiveDateError, Envelope, NotDecidable, Precondition, apply,
    check_recorded, decide, fold, in_round, merge, reply_of, transition,
};
pub use event::{
    Claim, EVENT_SCHEMA_VERSION, EventData, EventKind, HandlingUnits, LargeParts, RecordedEvent,
};
pub use limits::{FieldViolation, Limits};
pub use model::{
    CalendarDate, Closure, Contact, ContactMethod, Extension, Feedback, FeedbackRecord, Handling,
    HandlingRole, KeyDesignation, MergedProposal, OfficeDecision, Opinion, Proposal, ProposalId,
    ProposalState, ProposerKind, Refusal, Reply, RequestId, ResultCode, ReturnRequest, Round,
    RoundReply, Satisfaction, SplitReply, Timestamp, overdue,
};
pub use render::{NotRenderable, RenderedReply, render_reply, render_reply_to};
pub use rules::{ResultCodeMeaning, Rules, RulesError};
