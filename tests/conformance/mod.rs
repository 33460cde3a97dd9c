//! The storage contract, as checks any backend must pass: the embedded sled store runs them
//! in `tests/store_sled.rs`, and a network backend (PostgreSQL) runs the same checks from its
//! own runner with `mod conformance;` and its own [`Backend`]. Each check starts from an empty
//! store, drives it only through the `Store` trait, and builds its changes with the domain's
//! `decide`, as the writer does.

#![allow(dead_code)] // a runner may not call every check

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use proposal_service::app::{fingerprint, new_proposal_id};
use proposal_service::domain::statistics::ProposalFacts;
use proposal_service::domain::{
    CalendarDate, Claim, Command, Decision, Envelope, Feedback, HandlingRole, HandlingUnits,
    Proposal, ProposalId, ProposalState, ProposerKind, RecordedEvent, Registration, Reply,
    RequestId, ResultCode, Rules, Satisfaction, Timestamp, decide,
};
use proposal_service::store::{
    ChainHash, Change, EventScope, GENESIS, ListPage, ListQuery, LoggedEvent, RequestKey,
    RequestRecord, Store, StoreError, Verification, View, event_bytes, link, request_key,
};

/// How a runner opens its backend: over a directory (or whatever the directory names: a
/// database, a schema) that is empty the first time and keeps what was committed when opened
/// again after the previous store was dropped.
pub trait Backend {
    type Store: Store;
    fn open(&self, dir: &Path) -> Self::Store;
}

const UNIT_A: &str = "许昌市生态环境局";
const UNIT_B: &str = "许昌市教育局";
const COMMITTEE: &str = "许昌市政协";

/// A store driven to completion call by call, so the checks read as plain steps: each call
/// runs the backend's future on a runtime of the check's own.
pub struct Blocking<S> {
    store: S,
    runtime: tokio::runtime::Runtime,
}

impl<S: Store> Blocking<S> {
    fn new(store: S) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the checks");
        Self { store, runtime }
    }

    fn wait<T>(&self, future: impl std::future::Future<Output = T>) -> T {
        self.runtime.block_on(future)
    }

    fn proposal(&self, id: ProposalId, view: View) -> Result<Option<Proposal>, StoreError> {
        self.wait(self.store.proposal(id, view))
    }

    fn history(
        &self,
        id: ProposalId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<LoggedEvent>, StoreError> {
        self.wait(self.store.history(id, after, limit))
    }

    fn events(
        &self,
        scope: EventScope<'_>,
        after: u64,
        limit: usize,
    ) -> Result<Vec<LoggedEvent>, StoreError> {
        self.wait(self.store.events(scope, after, limit))
    }

    fn list(&self, query: &ListQuery) -> Result<ListPage, StoreError> {
        self.wait(self.store.list(query))
    }

    fn claimed_by(&self, claim: &Claim) -> Result<Option<ProposalId>, StoreError> {
        self.wait(self.store.claimed_by(claim))
    }

    fn request(&self, key: &RequestKey) -> Result<Option<RequestRecord>, StoreError> {
        self.wait(self.store.request(key))
    }

    fn last_position(&self) -> Result<u64, StoreError> {
        self.wait(self.store.last_position())
    }

    fn commit(&self, changes: &[Change]) -> Result<Vec<ChainHash>, StoreError> {
        self.wait(self.store.commit(changes))
    }

    fn session_facts(
        &self,
        committee: &str,
        session: &str,
    ) -> Result<Vec<ProposalFacts>, StoreError> {
        self.wait(self.store.session_facts(committee, session))
    }

    fn verify(&self) -> Result<Verification, StoreError> {
        self.wait(self.store.verify())
    }
}

/// Builds valid changes against a store, keeping the log's positions and times.
struct Script<'s, S: Store> {
    store: &'s Blocking<S>,
    next_position: u64,
    clock: i64,
    head: ChainHash,
}

impl<'s, S: Store> Script<'s, S> {
    fn new(store: &'s Blocking<S>) -> Self {
        let last = store.last_position().unwrap();
        Self {
            store,
            next_position: last + 1,
            clock: 1_569_715_200_000_000_000 + last as i64,
            head: match store
                .events(EventScope::All, last.saturating_sub(1), 1)
                .unwrap()[..]
            {
                [ref logged] => logged.hash,
                _ => GENESIS,
            },
        }
    }

    /// Decides `command` on `before` as the writer would, with a request id when `keyed`.
    fn change(&mut self, before: Option<&Proposal>, command: Command, keyed: bool) -> Change {
        let actor = "提案委登记员".to_owned();
        let request_id = keyed.then(|| format!("req-{}", self.next_position));
        self.clock += 1_000;
        let envelope = Envelope {
            proposal_id: before.map_or_else(new_proposal_id, |p| p.id),
            position: self.next_position,
            occurred_at: Timestamp::from_unix_nanos(self.clock),
            effective_date: None,
            actor: actor.clone(),
            request_id: request_id.clone(),
        };
        let Decision { event, after } = decide(before, &command, envelope, &Rules::default())
            .expect("the script's commands are valid");
        self.next_position += 1;
        let request = request_id.map(|request_id| {
            let submission = proposal_service::app::Submission {
                proposal_id: before.map(|p| p.id),
                command,
                expected_version: None,
                request_id: Some(RequestId::new(request_id.clone())),
                actor: actor.clone(),
                effective_date: None,
                unit_scope: None,
            };
            let record = RequestRecord {
                fingerprint: fingerprint(&submission),
                proposal_id: after.id,
                version: after.version,
            };
            (request_key(&actor, &request_id), record)
        });
        Change {
            before: before.cloned().map(Arc::new),
            after: Arc::new(after),
            events: vec![event],
            request,
        }
    }

    /// Commits `changes` and checks the hashes the store returns continue the chain.
    fn commit(&mut self, changes: &[Change]) -> Vec<Arc<Proposal>> {
        let hashes = self.store.commit(changes).expect("commit");
        let events: Vec<&RecordedEvent> = changes.iter().flat_map(|c| &c.events).collect();
        assert_eq!(hashes.len(), events.len(), "one hash per event");
        for (event, hash) in events.iter().zip(&hashes) {
            self.head = link(&self.head, &event_bytes(event).unwrap());
            assert_eq!(*hash, self.head, "the chain at position {}", event.position);
        }
        changes.iter().map(|c| Arc::clone(&c.after)).collect()
    }

    /// Registers proposals `number` and `number + 1` and merges the first into the second (并案)
    /// in one commit, as the writer does; returns both after it.
    fn merged_pair(&mut self, number: u32) -> [Proposal; 2] {
        let merged = self.run(None, receive(number));
        let into = self.run(None, receive(number + 1));
        let merge = Command::Merge {
            into_proposal_id: into.id,
            note: String::new(),
        };
        let first = self.change(Some(&merged), merge, true);
        let join = Command::Join {
            proposal_id: merged.id,
            number,
        };
        let second = self.change(Some(&into), join, false);
        let after = self.commit(&[first, second]);
        [(*after[0]).clone(), (*after[1]).clone()]
    }

    /// Commits one command and returns the proposal after it.
    fn run(&mut self, before: Option<&Proposal>, command: Command) -> Proposal {
        let change = self.change(before, command, true);
        (*self.commit(&[change])[0]).clone()
    }

    /// Registers proposal `number` and drives it to `state` along the main path (refused, for
    /// NOT_ACCEPTED).
    fn proposal(&mut self, number: u32, unit: &str, state: ProposalState) -> Proposal {
        let mut p = self.run(None, receive(number));
        if state == ProposalState::NotAccepted {
            let refuse = Command::Refuse {
                reason: "属于个人诉求，不予立案".into(),
                forwarded_to: String::new(),
            };
            return self.run(Some(&p), refuse);
        }
        for command in [
            assign(unit),
            draft(),
            Command::Sign {
                signer: "李光亚".into(),
                handling_unit: String::new(),
                sign_date: None,
            },
            Command::Issue {
                document_number: format!("许环〔2019〕{number}号"),
                issue_date: date("2019-09-29"),
                issuing_office: "许昌市生态环境局办公室".into(),
                handling_unit: String::new(),
                copy_to: Vec::new(),
                public: None,
            },
            Command::Copy {
                recipients: vec!["市政协提案委".into()],
                handling_unit: String::new(),
                proposers: Vec::new(),
            },
            Command::Close {
                note: String::new(),
            },
        ] {
            if p.state == state {
                break;
            }
            p = self.run(Some(&p), command);
        }
        assert_eq!(p.state, state);
        p
    }
}

fn date(text: &str) -> CalendarDate {
    CalendarDate::parse(text).unwrap()
}

fn receive(number: u32) -> Command {
    Command::Receive(Registration {
        committee: COMMITTEE.into(),
        session: if number.is_multiple_of(2) {
            "七届三次会议"
        } else {
            "七届四次会议"
        }
        .into(),
        number,
        title: format!("关于第{number}件事的提案"),
        proposers: vec!["苏会兴".into()],
        content: "建议加强我市环境保护工作。\n第二段。".repeat(number as usize % 5 + 1),
        proposer_kind: if number % 4 == 1 {
            ProposerKind::Party
        } else {
            ProposerKind::Member
        },
    })
}

fn assign(unit: &str) -> Command {
    Command::Assign {
        handling_unit: unit.into(),
        due_date: Some(date("2019-12-31")),
        co_units: Vec::new(),
        co_due_date: None,
        split_units: Vec::new(),
    }
}

/// An assignment to `lead` with `co` co-handling.
fn assign_with_co(lead: &str, co: &str) -> Command {
    Command::Assign {
        handling_unit: lead.into(),
        due_date: Some(date("2019-12-31")),
        co_units: vec![co.into()],
        co_due_date: None,
        split_units: Vec::new(),
    }
}

fn draft() -> Command {
    Command::Draft {
        reply: Reply {
            body: "现答复如下：\n一、工作开展情况".into(),
            result_code: ResultCode::A,
            contact_unit: "许昌市生态环境局综合科".into(),
            contact_phone: "6069516".into(),
        },
        handling_unit: String::new(),
    }
}

/// The basic view of `p`: everything but the content and the reply.
fn basic(p: &Proposal) -> Proposal {
    Proposal {
        content: String::new(),
        reply: None,
        ..p.clone()
    }
}

/// Every page of a listing, by following the cursor.
fn list_all(store: &Blocking<impl Store>, query: ListQuery) -> Vec<Proposal> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list(&ListQuery {
                after: after.clone(),
                ..query.clone()
            })
            .unwrap();
        assert!(
            page.proposals.len() <= query.limit,
            "a page holds at most its limit"
        );
        all.extend(page.proposals);
        match page.next {
            Some(next) => after = Some(next),
            None => return all,
        }
    }
}

/// All events of `scope`, read `chunk` at a time.
fn events_all(
    store: &Blocking<impl Store>,
    scope: EventScope<'_>,
    chunk: usize,
) -> Vec<LoggedEvent> {
    let mut all: Vec<LoggedEvent> = Vec::new();
    loop {
        let after = all.last().map_or(0, |e| e.event.position);
        let page = store.events(scope, after, chunk).unwrap();
        assert!(page.len() <= chunk);
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
}

fn ids(proposals: &[Proposal]) -> BTreeSet<ProposalId> {
    proposals.iter().map(|p| p.id).collect()
}

// ---------------------------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------------------------

/// An empty store answers every read with nothing, and verifies clean.
pub fn an_empty_store_holds_nothing(backend: &impl Backend) {
    let dir = tempfile::tempdir().unwrap();
    let store = Blocking::new(backend.open(dir.path()));
    let id = new_proposal_id();
    assert_eq!(store.last_position().unwrap(), 0);
    assert_eq!(store.proposal(id, View::Full).unwrap(), None);
    assert!(store.history(id, 0, 10).unwrap().is_empty());
    assert!(store.events(EventScope::All, 0, 10).unwrap().is_empty());
    let page = store
        .list(&ListQuery {
            limit: 10,
            ..ListQuery::default()
        })
        .unwrap();
    assert!(page.proposals.is_empty() && page.next.is_none());
    let claim = Claim::DocumentNumber("许环〔2019〕13号".into());
    assert_eq!(store.claimed_by(&claim).unwrap(), None);
    assert_eq!(store.request(&request_key("a", "r")).unwrap(), None);
    let report = store.verify().unwrap();
    assert_eq!(report.first_mismatch(), None);
    assert_eq!((report.events, report.head), (0, (0, GENESIS)));
}

/// What is committed reads back exactly: the proposal in both views, its history with the
/// chain hashes, the log, the claims and the request records.
pub fn a_commit_reads_back_exactly(backend: &impl Backend) {
    let dir = tempfile::tempdir().unwrap();
    let store = Blocking::new(backend.open(dir.path()));
    let mut script = Script::new(&store);
    let issued = script.proposal(2, UNIT_A, ProposalState::Issued);
    assert_eq!(store.last_position().unwrap(), 5);
    assert_eq!(
        store.proposal(issued.id, View::Full).unwrap().as_ref(),
        Some(&issued)
    );
    assert_eq!(
        store.proposal(issued.id, View::Basic).unwrap(),
        Some(basic(&issued))
    );
    let history = store.history(issued.id, 0, 100).unwrap();
    assert_eq!(history.len(), 5);
    let log = store.events(EventScope::All, 0, 100).unwrap();
    assert_eq!(history, log, "one proposal: its history is the log");
    let mut head = GENESIS;
    for (i, logged) in history.iter().enumerate() {
        assert_eq!(logged.event.sequence, i as u64 + 1);
        assert_eq!(logged.event.position, i as u64 + 1);
        head = link(&head, &event_bytes(&logged.event).unwrap());
        assert_eq!(logged.hash, head);
    }
    let number = Claim::ProposalNumber {
        committee: COMMITTEE.into(),
        session: issued.session.clone(),
        number: 2,
    };
    assert_eq!(store.claimed_by(&number).unwrap(), Some(issued.id));
    let document = Claim::DocumentNumber("许环〔2019〕2号".into());
    assert_eq!(store.claimed_by(&document).unwrap(), Some(issued.id));
    let other = Claim::DocumentNumber("许环〔2019〕3号".into());
    assert_eq!(store.claimed_by(&other).unwrap(), None);
    let first = &history[0].event;
    let key = request_key(&first.actor, first.request_id.as_deref().unwrap());
    let record = store.request(&key).unwrap().expect("the request record");
    assert_eq!((record.proposal_id, record.version), (issued.id, 1));
    assert_eq!(store.verify().unwrap().first_mismatch(), None);
}

/// One commit of several changes to several proposals (two to the same one) is one batch: all
/// of it is stored, in order, and later changes see the earlier ones.
pub fn a_batch_of_changes_commits_together(backend: &impl Backend) {
    let dir = tempfile::tempdir().unwrap();
    let store = Blocking::new(backend.open(dir.path()));
    let mut script = Script::new(&store);
    let a = script.change(None, receive(10), true);
    let a_assigned = script.change(Some(&a.after), assign(UNIT_A), false);
    let b = script.change(None, receive(11), true);
    let batch = [a, a_assigned, b];
    let after = script.commit(&batch);
    assert_eq!(store.last_position().unwrap(), 3);
    assert_eq!(
        store.proposal(after[1].id, View::Full).unwrap().as_ref(),
        Some(&*after[1])
    );
    assert_eq!(
        store.proposal(after[2].id, View::Full).unwrap().as_ref(),
        Some(&*after[2])
    );
    let positions: Vec<u64> = store
        .events(EventScope::All, 0, 10)
        .unwrap()
        .iter()
        .map(|e| e.event.position)
        .collect();
    assert_eq!(positions, [1, 2, 3]);
    assert_eq!(store.history(after[1].id, 0, 10).unwrap().len(), 2);
}

/// A commit whose positions do not continue the log is refused and stores nothing of itself.
pub fn a_commit_that_skips_a_position_is_refused_whole(backend: &impl Backend) {
    let dir = tempfile::tempdir().unwrap();
    let store = Blocking::new(backend.open(dir.path()));
    let mut script = Script::new(&store);
    let kept = script.proposal(4, UNIT_A, ProposalState::Received);
    let good = script.change(Some(&kept), assign(UNIT_A), true);
    script.next_position += 1; // a gap
    let bad = script.change(None, receive(5), true);
    assert!(store.commit(&[good.clone(), bad.clone()]).is_err());
    assert_eq!(store.last_position().unwrap(), 1);
    assert_eq!(
        store.proposal(kept.id, View::Full).unwrap().as_ref(),
        Some(&kept)
    );
    assert_eq!(store.proposal(bad.after.id, View::Full).unwrap(), None);
    let claim = Claim::ProposalNumber {
        committee: COMMITTEE.into(),
        session: bad.after.session.clone(),
        number: 5,
    };
    assert_eq!(store.claimed_by(&claim).unwrap(), None);
    assert_eq!(store.verify().unwrap().first_mismatch(), None);
}

/// The log by scope: everything, one proposal, one unit (the unit handling the proposal when
/// each event occurred: an assignment is the assigned unit's, a return the returning unit's);
/// each in log order, read in chunks of any size.
pub fn the_log_reads_by_scope_in_order(backend: &impl Backend) {
    let dir = tempfile::tempdir().unwrap();
    let store = Blocking::new(backend.open(dir.path()));
    let mut script = Script::new(&store);
    let a = script.proposal(20, UNIT_A, ProposalState::Drafted);
    let b = script.proposal(21, UNIT_B, ProposalState::Assigned);
    let returned = script.run(
        Some(&b),
        Command::Return {
            reason: "不属于本单位职责".into(),
        },
    );
    let moved = script.run(Some(&returned), assign(UNIT_A));
    let _unassigned = script.proposal(22, UNIT_A, ProposalState::Received);
    // Led by A with B co-handling: its events are in both units' trails.
    let co = script.proposal(23, UNIT_A, ProposalState::Received);
    let _co = script.run(Some(&co), assign_with_co(UNIT_A, UNIT_B));
    let _a_signed = script.run(
        Some(&a),
        Command::Sign {
            signer: "李光亚".into(),
            handling_unit: String::new(),
            sign_date: None,
        },
    );
    let all = events_all(&store, EventScope::All, 1000);
    assert_eq!(all.len() as u64, store.last_position().unwrap());
    for chunk in [1, 2, 3, 7] {
        assert_eq!(
            events_all(&store, EventScope::All, chunk),
            all,
            "chunk {chunk}"
        );
    }
    for unit in [UNIT_A, UNIT_B] {
        let mut current: std::collections::HashMap<ProposalId, HandlingUnits> = Default::default();
        let expected: Vec<LoggedEvent> = all
            .iter()
            .filter(|logged| {
                let slot = current.entry(logged.event.proposal_id).or_default();
                slot.concerned(&logged.event.data).iter().any(|u| u == unit)
            })
            .cloned()
            .collect();
        assert!(!expected.is_empty());
        for chunk in [1, 3, 1000] {
            assert_eq!(
                events_all(&store, EventScope::Unit(unit), chunk),
                expected,
                "{unit}, chunk {chunk}"
            );
        }
    }
    for id in [a.id, moved.id] {
        let expected: Vec<LoggedEvent> = all
            .iter()
            .filter(|e| e.event.proposal_id == id)
            .cloned()
            .collect();
        assert_eq!(events_all(&store, EventScope::Proposal(id), 2), expected);
        assert_eq!(store.history(id, 0, 100).unwrap(), expected);
        assert_eq!(store.history(id, 2, 1).unwrap(), expected[2..3]);
    }
    assert!(
        store
            .events(EventScope::All, all.len() as u64, 10)
            .unwrap()
            .is_empty()
    );
}

/// Listings: each filter and their combinations return exactly the matching proposals, each
/// once, across pages of any size, in the view asked for.
pub fn listings_page_through_exactly_the_matches(backend: &impl Backend) {
    let dir = tempfile::tempdir().unwrap();
    let store = Blocking::new(backend.open(dir.path()));
    let mut script = Script::new(&store);
    let mut all = Vec::new();
    // Merged proposals come in pairs, below.
    let single = ProposalState::ALL
        .into_iter()
        .filter(|s| *s != ProposalState::Merged);
    for (i, state) in single.enumerate() {
        for number in [2 * i as u32 + 30, 2 * i as u32 + 31] {
            let unit = if number % 3 == 0 { UNIT_A } else { UNIT_B };
            all.push(script.proposal(number, unit, state));
        }
    }
    all.extend(script.merged_pair(70));
    // Lead and co-units: listed under either unit, and by role.
    for (number, lead, co) in [(60, UNIT_A, UNIT_B), (61, UNIT_B, UNIT_A)] {
        let p = script.proposal(number, lead, ProposalState::Received);
        all.push(script.run(Some(&p), assign_with_co(lead, co)));
    }
    let queries = [
        ListQuery::default(),
        ListQuery {
            state: Some(ProposalState::Assigned),
            ..ListQuery::default()
        },
        ListQuery {
            handling_unit: Some(UNIT_A.into()),
            ..ListQuery::default()
        },
        ListQuery {
            committee: Some(COMMITTEE.into()),
            session: Some("七届三次会议".into()),
            ..ListQuery::default()
        },
        ListQuery {
            state: Some(ProposalState::Copied),
            handling_unit: Some(UNIT_B.into()),
            ..ListQuery::default()
        },
        ListQuery {
            committee: Some("另一个政协".into()),
            ..ListQuery::default()
        },
        ListQuery {
            proposer_kind: Some(ProposerKind::Party),
            ..ListQuery::default()
        },
        ListQuery {
            proposer_kind: Some(ProposerKind::Member),
            state: Some(ProposalState::Copied),
            ..ListQuery::default()
        },
        // Due 2019-12-31, issued 2019-09-29: every assigned proposal is overdue in 2020, the
        // unissued ones only; none is before its due date.
        ListQuery {
            overdue_on: Some(date("2020-01-01")),
            ..ListQuery::default()
        },
        ListQuery {
            overdue_on: Some(date("2019-12-31")),
            ..ListQuery::default()
        },
        ListQuery {
            overdue_on: Some(date("2020-01-01")),
            handling_unit: Some(UNIT_A.into()),
            ..ListQuery::default()
        },
        ListQuery {
            handling_role: Some(HandlingRole::Co),
            ..ListQuery::default()
        },
        ListQuery {
            state: Some(ProposalState::Merged),
            ..ListQuery::default()
        },
        ListQuery {
            handling_role: Some(HandlingRole::Lead),
            handling_unit: Some(UNIT_A.into()),
            ..ListQuery::default()
        },
        ListQuery {
            handling_role: Some(HandlingRole::Sole),
            state: Some(ProposalState::Assigned),
            ..ListQuery::default()
        },
    ];
    for query in queries {
        let expected: Vec<&Proposal> = all
            .iter()
            .filter(|p| query.state.is_none_or(|s| p.state == s))
            .filter(|p| {
                let wanted = |h: &&proposal_service::domain::Handling| {
                    query.handling_unit.as_ref().is_none_or(|u| &h.unit == u)
                        && query.handling_role.is_none_or(|r| h.role == r)
                };
                (query.handling_unit.is_none() && query.handling_role.is_none())
                    || p.handlings.iter().any(|h| wanted(&h))
            })
            .filter(|p| query.committee.as_ref().is_none_or(|c| &p.committee == c))
            .filter(|p| query.session.as_ref().is_none_or(|s| &p.session == s))
            .filter(|p| query.proposer_kind.is_none_or(|k| p.proposer_kind == k))
            .filter(|p| query.overdue_on.is_none_or(|day| p.is_overdue_on(day)))
            .collect();
        for (limit, view) in [(1, View::Basic), (3, View::Full), (1000, View::Full)] {
            let listed = list_all(
                &store,
                ListQuery {
                    limit,
                    view,
                    ..query.clone()
                },
            );
            assert_eq!(
                listed.len(),
                expected.len(),
                "{query:?} limit {limit}: each once"
            );
            assert_eq!(
                ids(&listed),
                expected.iter().map(|p| p.id).collect(),
                "{query:?} limit {limit}"
            );
            for p in &listed {
                let stored = all.iter().find(|e| e.id == p.id).unwrap();
                let want = match view {
                    View::Basic => basic(stored),
                    View::Full => stored.clone(),
                };
                assert_eq!(*p, want, "{query:?}: the view");
            }
        }
    }
}

/// Backward moves and revisions keep the projection and indexes exact: after a return and a
/// reassignment the proposal is only the new unit's, after a rejected draft it has no reply.
pub fn backward_moves_keep_projection_and_indexes_exact(backend: &impl Backend) {
    let dir = tempfile::tempdir().unwrap();
    let store = Blocking::new(backend.open(dir.path()));
    let mut script = Script::new(&store);
    let p = script.proposal(40, UNIT_A, ProposalState::Drafted);
    let p = script.run(Some(&p), draft()); // a revision
    let p = script.run(
        Some(&p),
        Command::RejectDraft {
            reason: "请补充".into(),
            handling_unit: String::new(),
        },
    );
    assert_eq!(p.reply, None);
    let p = script.run(
        Some(&p),
        Command::Return {
            reason: "不属于".into(),
        },
    );
    let p = script.run(Some(&p), assign(UNIT_B));
    assert_eq!(store.proposal(p.id, View::Full).unwrap().as_ref(), Some(&p));
    let listed = |unit: &str| {
        list_all(
            &store,
            ListQuery {
                handling_unit: Some(unit.into()),
                limit: 10,
                ..ListQuery::default()
            },
        )
    };
    assert!(listed(UNIT_A).is_empty());
    assert_eq!(ids(&listed(UNIT_B)), BTreeSet::from([p.id]));
    let by_state = |state| {
        list_all(
            &store,
            ListQuery {
                state: Some(state),
                limit: 10,
                ..ListQuery::default()
            },
        )
    };
    assert!(by_state(ProposalState::Drafted).is_empty());
    assert_eq!(
        ids(&by_state(ProposalState::Assigned)),
        BTreeSet::from([p.id])
    );
    assert_eq!(store.verify().unwrap().first_mismatch(), None);
}

/// Everything committed is there after the store is dropped and opened again, and the chain
/// continues from where it ended.
pub fn what_is_committed_survives_a_reopen(backend: &impl Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (copied, log) = {
        let store = Blocking::new(backend.open(dir.path()));
        let mut script = Script::new(&store);
        let copied = script.proposal(50, UNIT_A, ProposalState::Copied);
        (copied, store.events(EventScope::All, 0, 100).unwrap())
    };
    let store = Blocking::new(backend.open(dir.path()));
    assert_eq!(store.last_position().unwrap(), log.len() as u64);
    assert_eq!(store.events(EventScope::All, 0, 100).unwrap(), log);
    assert_eq!(
        store.proposal(copied.id, View::Full).unwrap().as_ref(),
        Some(&copied)
    );
    let mut script = Script::new(&store);
    assert_eq!(script.head, log.last().unwrap().hash);
    script.proposal(51, UNIT_B, ProposalState::Assigned);
    let report = store.verify().unwrap();
    assert_eq!(report.first_mismatch(), None);
    assert_eq!(report.head, (log.len() as u64 + 2, script.head));
}

/// A reopened proposal (重新办理) reads back with its earlier round whole (the archived reply
/// body included, in the basic view too), lists under its new state and by its proposer, and
/// its first document number stays taken.
pub fn a_reopened_proposal_keeps_its_earlier_round(backend: &impl Backend) {
    let dir = tempfile::tempdir().unwrap();
    let store = Blocking::new(backend.open(dir.path()));
    let mut script = Script::new(&store);
    let p = script.proposal(60, UNIT_A, ProposalState::Copied);
    let first_reply = p.reply.clone().expect("a copied proposal has a reply");
    let p = script.run(
        Some(&p),
        Command::RecordFeedback {
            feedback: Feedback {
                proposer: "苏会兴".into(),
                satisfaction: Satisfaction::NotSatisfied,
                attitude: None,
                comment: String::new(),
            },
        },
    );
    let p = script.run(
        Some(&p),
        Command::Reopen {
            reason: "提案人不满意".into(),
            due_date: Some(date("2020-03-31")),
        },
    );
    assert_eq!(
        (p.state, p.round(), p.reply.as_ref()),
        (ProposalState::Assigned, 2, None)
    );
    assert_eq!(store.proposal(p.id, View::Full).unwrap().as_ref(), Some(&p));
    let read = store.proposal(p.id, View::Basic).unwrap().unwrap();
    assert_eq!(read, basic(&p));
    assert_eq!(
        read.rounds[0].replies[0].reply.reply.as_ref(),
        Some(&first_reply)
    );
    let listed = |query: ListQuery| ids(&list_all(&store, query));
    let by_state = |state| ListQuery {
        state: Some(state),
        limit: 10,
        ..ListQuery::default()
    };
    assert!(listed(by_state(ProposalState::Copied)).is_empty());
    assert_eq!(
        listed(by_state(ProposalState::Assigned)),
        BTreeSet::from([p.id])
    );
    let by_proposer = |name: &str| ListQuery {
        proposer: Some(name.into()),
        limit: 10,
        ..ListQuery::default()
    };
    assert_eq!(listed(by_proposer("苏会兴")), BTreeSet::from([p.id]));
    assert!(listed(by_proposer("王五")).is_empty());
    let first_number = Claim::DocumentNumber("许环〔2019〕60号".into());
    assert_eq!(store.claimed_by(&first_number).unwrap(), Some(p.id));
    // The new round's draft is the reply in force.
    let p = script.run(Some(&p), draft());
    assert_eq!(store.proposal(p.id, View::Full).unwrap().as_ref(), Some(&p));
    assert_eq!(store.verify().unwrap().first_mismatch(), None);
}

/// A session's statistics facts are exactly those its proposals' histories give, kept through
/// every commit (batched or not, a merge's two sides included), and no other session's.
pub fn a_sessions_facts_are_those_of_its_proposals_histories(backend: &impl Backend) {
    let dir = tempfile::tempdir().unwrap();
    let store = Blocking::new(backend.open(dir.path()));
    let mut script = Script::new(&store);
    let mut proposals = vec![
        script.proposal(60, UNIT_A, ProposalState::Closed),
        script.proposal(62, UNIT_B, ProposalState::NotAccepted),
        script.proposal(64, UNIT_A, ProposalState::Drafted),
        script.proposal(61, UNIT_A, ProposalState::Copied),
    ];
    proposals.extend(script.merged_pair(66));
    let facts_of = |id: ProposalId| {
        let events: Vec<RecordedEvent> = store
            .history(id, 0, 1000)
            .unwrap()
            .into_iter()
            .map(|logged| logged.event)
            .collect();
        ProposalFacts::of_history(&events)
    };
    let sorted = |mut facts: Vec<ProposalFacts>| {
        facts.sort_by_key(|f| format!("{f:?}"));
        facts
    };
    for session in ["七届三次会议", "七届四次会议"] {
        let expected: Vec<ProposalFacts> = proposals
            .iter()
            .filter(|p| p.session == session)
            .map(|p| facts_of(p.id))
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(
            sorted(store.session_facts(COMMITTEE, session).unwrap()),
            sorted(expected),
            "{session}"
        );
    }
    assert!(store.session_facts(COMMITTEE, "七届").unwrap().is_empty());
    assert!(
        store
            .session_facts("另一个政协", "七届三次会议")
            .unwrap()
            .is_empty()
    );
}

/// Runs every check against `backend`.
pub fn run_all(backend: &impl Backend) {
    an_empty_store_holds_nothing(backend);
    a_commit_reads_back_exactly(backend);
    a_batch_of_changes_commits_together(backend);
    a_commit_that_skips_a_position_is_refused_whole(backend);
    the_log_reads_by_scope_in_order(backend);
    listings_page_through_exactly_the_matches(backend);
    backward_moves_keep_projection_and_indexes_exact(backend);
    what_is_committed_survives_a_reopen(backend);
    a_reopened_proposal_keeps_its_earlier_round(backend);
    a_sessions_facts_are_those_of_its_proposals_histories(backend);
}
