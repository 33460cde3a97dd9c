//! Storage behind one narrow interface. The application layer decides; a [`Store`] only keeps
//! events, the current-state projection and the indexes, and commits a batch of changes
//! atomically and durably. sled is the embedded default ([`SledStore`]); a PostgreSQL backend
//! would implement the same trait.

pub mod audit;
mod chain;
#[cfg(test)]
mod golden;
pub mod index;
mod keys;
mod records;
mod sled_store;
mod verify;

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::statistics::ProposalFacts;
use crate::domain::{
    CalendarDate, Claim, HandlingRole, Proposal, ProposalId, ProposalState, ProposerKind,
    RecordedEvent,
};

pub use audit::Verification;
pub use chain::{ChainHash, ChainHead, GENESIS, event_bytes, from_hex, link, to_hex};
pub use sled_store::{SledOptions, SledStore};

/// Why storage failed. Details are for the log; callers only learn that storage failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "data directory {path} is already in use by another proposal-server (lock held on {path}/LOCK)"
    )]
    InUse { path: String },
    #[error(
        "data directory {path} has storage format {found}, this build reads format {supported}; \
         move the data with `proposalctl export` from a build that reads format {found} and \
         `proposalctl import` with this one"
    )]
    UnsupportedFormat {
        path: String,
        found: String,
        supported: u32,
    },
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    #[error("storage I/O failed: {0}")]
    Io(String),
}

/// One accepted command's effect: the events it appends and the proposal before and after them.
/// The store derives every index update from `before` and `after`. The proposals are shared
/// (the writer also keeps them and answers with them): a change never copies a reply body.
#[derive(Clone, Debug)]
pub struct Change {
    pub before: Option<Arc<Proposal>>,
    pub after: Arc<Proposal>,
    pub events: Vec<RecordedEvent>,
    /// The idempotency key of the request, remembered with what it produced.
    pub request: Option<(RequestKey, RequestRecord)>,
}

/// Where a request's idempotency record is kept: the caller's `request_id` scoped by the actor
/// (the authenticated principal), so one caller can neither replay nor probe another's requests.
/// Not the caller's key itself (`domain::RequestId`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RequestKey(String);

impl RequestKey {
    pub fn new(actor: &str, request_id: &str) -> Self {
        Self(format!("{actor}\u{0}{request_id}"))
    }

    /// The key as stored: actor, NUL, request id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The key `actor`'s request `request_id` is recorded under.
pub fn request_key(actor: &str, request_id: &str) -> RequestKey {
    RequestKey::new(actor, request_id)
}

/// SHA-256 of a request's content (see [`crate::app::fingerprint`]).
pub type Fingerprint = [u8; 32];

/// What a request with an idempotency key produced, so that a retry can be answered with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    /// The request's fingerprint: the same key with other content is refused.
    pub fingerprint: Fingerprint,
    pub proposal_id: ProposalId,
    /// The proposal's version right after the request was applied.
    pub version: u64,
}

/// A stored event and its link in the hash chain (see [`chain`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedEvent {
    pub event: RecordedEvent,
    pub hash: ChainHash,
}

/// Which part of the log [`Store::events`] reads, each in log order.
#[derive(Clone, Copy, Debug)]
pub enum EventScope<'a> {
    /// Every event.
    All,
    /// The events of proposals this unit was handling, in any role, when they occurred (see
    /// [`crate::domain::HandlingUnits::concerned`]).
    Unit(&'a str),
    /// One proposal's events.
    Proposal(ProposalId),
}

/// How much of a proposal a read assembles (the API's `ProposalView`, AIP-157).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum View {
    /// Everything but the two large parts, the content and the reply in force: `content` is
    /// empty and `reply` is `None` whatever the proposal holds (a split unit's too). For showing and filtering
    /// only; never decide a transition on a basic view.
    Basic,
    /// The whole proposal.
    #[default]
    Full,
}

/// Which proposals to list. Unset filters match everything; set ones must all match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub state: Option<ProposalState>,
    pub handling_unit: Option<String>,
    pub committee: Option<String>,
    pub session: Option<String>,
    pub proposer_kind: Option<ProposerKind>,
    /// Only proposals overdue on this day ([`Proposal::is_overdue_on`]).
    pub overdue_on: Option<CalendarDate>,
    /// Only proposals with a handling in this role (of `handling_unit`, if set).
    pub handling_role: Option<HandlingRole>,
    /// Only key proposals (重点提案).
    pub key_only: bool,
    /// Only proposals this member or collective made (its name among the proposers).
    pub proposer: Option<String>,
    pub limit: usize,
    /// Resume after this point: a [`ListPage::next`] from the same query.
    pub after: Option<Vec<u8>>,
    /// How much of each proposal to return.
    pub view: View,
}

/// One page of a listing.
#[derive(Clone, Debug, Default)]
pub struct ListPage {
    pub proposals: Vec<Proposal>,
    /// Where the next page starts; `None` on the last page. Opaque to callers.
    pub next: Option<Vec<u8>>,
}

/// The storage interface the application layer is written against: asynchronous, so that a
/// backend over the network (PostgreSQL) waits without holding a runtime worker, and boxed
/// (`async_trait`) so the application holds any backend as `Arc<dyn Store>`. A backend's futures
/// may also run their work inline and be ready at once, as the embedded sled store does.
/// `commit` and `flush` are called by one task at a time (the single writer); everything else
/// concurrently. The checks every backend must pass are in `tests/conformance/`.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The current state of one proposal, as much of it as `view` asks for.
    async fn proposal(&self, id: ProposalId, view: View) -> Result<Option<Proposal>, StoreError>;
    /// Up to `limit` events of one proposal with sequence greater than `after_sequence`, in order.
    async fn history(
        &self,
        id: ProposalId,
        after_sequence: u64,
        limit: usize,
    ) -> Result<Vec<LoggedEvent>, StoreError>;
    /// Up to `limit` events of `scope` at positions after `after_position`, in log order.
    async fn events(
        &self,
        scope: EventScope<'_>,
        after_position: u64,
        limit: usize,
    ) -> Result<Vec<LoggedEvent>, StoreError>;
    /// A page of proposals matching `query`, served from an index where one fits.
    async fn list(&self, query: &ListQuery) -> Result<ListPage, StoreError>;
    /// The proposal that holds `claim` (a proposal number, a document number), if any.
    async fn claimed_by(&self, claim: &Claim) -> Result<Option<ProposalId>, StoreError>;
    /// What an earlier request with this idempotency key produced, if any.
    async fn request(&self, key: &RequestKey) -> Result<Option<RequestRecord>, StoreError>;
    /// The statistics facts of every proposal of a session (any order), kept with each commit
    /// ([`ProposalFacts::record`]): what GetStatistics folds as of its day, without reading
    /// the session's events. A backend keeps them like an index (a tree, a table keyed by
    /// committee, session and proposal id).
    async fn session_facts(
        &self,
        committee: &str,
        session: &str,
    ) -> Result<Vec<ProposalFacts>, StoreError>;
    /// The global position of the last event stored (0 when there is none).
    async fn last_position(&self) -> Result<u64, StoreError>;
    /// Appends the changes' events, links them into the hash chain, and updates the projection
    /// and every index, all or nothing; returns the events' hashes, in order, only once all of
    /// it is durable. The events' positions must continue the log without a gap.
    async fn commit(&self, changes: &[Change]) -> Result<Vec<ChainHash>, StoreError>;
    /// Makes everything durable before the process exits.
    async fn flush(&self) -> Result<(), StoreError>;
    /// Recomputes the hash chain, every projection and every index from the events and
    /// compares them with what is stored. Reads everything: for operators, not the hot path.
    async fn verify(&self) -> Result<Verification, StoreError>;
}
