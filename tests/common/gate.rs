//! A store whose commits wait at a gate the test opens: a [`SledStore`] that parks the single
//! writer before a commit starts ([`Gate`]), or once it is done and before the writer may
//! announce it, for as long as the test needs. Tests that need calls to stay in flight use it
//! instead of hoping that a burst overlaps.

use std::sync::{Arc, Condvar, Mutex};

use proposal_service::domain::statistics::ProposalFacts;
use proposal_service::domain::{Claim, Proposal, ProposalId};
use proposal_service::server::ServeOptions;
use proposal_service::store::{
    ChainHash, Change, EventScope, ListPage, ListQuery, LoggedEvent, RequestKey, RequestRecord,
    SledOptions, SledStore, Store, StoreError, Verification, View,
};
use tokio::sync::watch;

use super::TestServer;
use super::bounded::within;

/// Holds commits while closed. The writer thread blocks in `pass`; tests wait for it with
/// [`Gate::commits_waiting`] and let it go with [`Gate::open`].
pub struct Gate {
    closed: Mutex<bool>,
    changed: Condvar,
    waiting: watch::Sender<usize>,
}

impl Gate {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            closed: Mutex::new(false),
            changed: Condvar::new(),
            waiting: watch::channel(0).0,
        })
    }

    pub fn close(&self) {
        *self.closed.lock().unwrap() = true;
    }

    pub fn open(&self) {
        *self.closed.lock().unwrap_or_else(|p| p.into_inner()) = false;
        self.changed.notify_all();
    }

    /// Called by the writer thread: blocks while the gate is closed.
    pub fn pass(&self) {
        let mut closed = self.closed.lock().unwrap();
        if *closed {
            self.waiting.send_modify(|n| *n += 1);
            while *closed {
                closed = self.changed.wait(closed).unwrap();
            }
            self.waiting.send_modify(|n| *n -= 1);
        }
    }

    /// Waits until `count` commits are held at the gate.
    pub async fn commits_waiting(&self, count: usize) {
        let mut waiting = self.waiting.subscribe();
        within(
            "a commit reaching the gate",
            waiting.wait_for(|n| *n >= count),
        )
        .await
        .unwrap();
    }

    pub fn held(&self) -> usize {
        *self.waiting.borrow()
    }
}

/// Opens the gate when dropped, so that a failing test never leaves the writer parked (the
/// runtime would wait for it forever at the end of the test).
pub struct OpenOnDrop(pub Arc<Gate>);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.open();
    }
}

/// A [`SledStore`] whose commits pass a [`Gate`] before they start and another once they are
/// done (before the writer may announce them); everything else is the store's own.
pub struct GatedStore {
    inner: SledStore,
    gate: Arc<Gate>,
    done_gate: Arc<Gate>,
}

#[async_trait::async_trait]
impl Store for GatedStore {
    async fn proposal(&self, id: ProposalId, view: View) -> Result<Option<Proposal>, StoreError> {
        self.inner.proposal(id, view)
    }
    async fn history(
        &self,
        id: ProposalId,
        after_sequence: u64,
        limit: usize,
    ) -> Result<Vec<LoggedEvent>, StoreError> {
        self.inner.history(id, after_sequence, limit)
    }
    async fn events(
        &self,
        scope: EventScope<'_>,
        after_position: u64,
        limit: usize,
    ) -> Result<Vec<LoggedEvent>, StoreError> {
        self.inner.events(scope, after_position, limit)
    }
    async fn list(&self, query: &ListQuery) -> Result<ListPage, StoreError> {
        self.inner.list(query)
    }
    async fn claimed_by(&self, claim: &Claim) -> Result<Option<ProposalId>, StoreError> {
        self.inner.claimed_by(claim)
    }
    async fn request(&self, key: &RequestKey) -> Result<Option<RequestRecord>, StoreError> {
        self.inner.request(key)
    }
    async fn session_facts(
        &self,
        committee: &str,
        session: &str,
    ) -> Result<Vec<ProposalFacts>, StoreError> {
        self.inner.session_facts(committee, session)
    }
    async fn last_position(&self) -> Result<u64, StoreError> {
        self.inner.last_position()
    }
    async fn commit(&self, changes: &[Change]) -> Result<Vec<ChainHash>, StoreError> {
        self.gate.pass();
        let hashes = self.inner.commit(changes)?;
        self.done_gate.pass();
        Ok(hashes)
    }
    async fn flush(&self) -> Result<(), StoreError> {
        self.inner.flush()
    }
    async fn verify(&self) -> Result<Verification, StoreError> {
        self.inner.verify()
    }
}

/// An in-process server over a gated store in a fresh directory. The gate starts open.
pub async fn gated_server(options: ServeOptions) -> (TestServer, Arc<Gate>, tempfile::TempDir) {
    let (server, gate, _, temp) = doubly_gated_server(options).await;
    (server, gate, temp)
}

/// [`gated_server`], and the gate commits pass once done, also open.
pub async fn doubly_gated_server(
    options: ServeOptions,
) -> (TestServer, Arc<Gate>, Arc<Gate>, tempfile::TempDir) {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().to_path_buf();
    let inner = tokio::task::spawn_blocking(move || SledStore::open(&dir, &SledOptions::default()))
        .await
        .unwrap()
        .expect("opening the store");
    let (gate, done_gate) = (Gate::new(), Gate::new());
    let store = GatedStore {
        inner,
        gate: Arc::clone(&gate),
        done_gate: Arc::clone(&done_gate),
    };
    let server = TestServer::start_over(Arc::new(store), temp.path(), options).await;
    (server, gate, done_gate, temp)
}
