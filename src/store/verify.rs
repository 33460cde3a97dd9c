//! How the embedded store is verified: the checks are the backend-neutral ones of
//! [`super::audit`]; this module reads sled's trees for them and says how sled's own layout
//! can be damaged (malformed keys, an event filed under another proposal's key, a status that
//! names the wrong events for its registration or reply, index entries no event explains).

use super::audit::{self, Audit, Expected, HistoryVisitor, LogEntry, Verification};
use super::index::{IndexEntry, IndexKind};
use super::keys;
use super::records::{self, Sources, StatusRecord};
use super::sled_store::{
    BY_DOCUMENT, BY_NUMBER, BY_STATE, BY_UNIT, EVENTS, FACTS, LOG, PROPOSALS, REQUESTS, SledStore,
    TREE_NAMES, UNIT_EVENTS, decode_logged, index_entry, io, misplaced,
};
use super::{LoggedEvent, RequestKey, RequestRecord, StoreError, View};
use crate::domain::statistics::ProposalFacts;
use crate::domain::{Proposal, ProposalId, RecordedEvent};

impl SledStore {
    /// Recomputes the chain, every projection and every index from the events, and compares
    /// ([`audit::verify`] over sled's trees).
    pub fn verify(&self) -> Result<Verification, StoreError> {
        audit::verify(self)
    }
}

/// The tree that holds an index kind.
fn tree_of(kind: IndexKind) -> usize {
    match kind {
        IndexKind::ProposalNumber => BY_NUMBER,
        IndexKind::DocumentNumber => BY_DOCUMENT,
        IndexKind::State => BY_STATE,
        IndexKind::Unit => BY_UNIT,
        IndexKind::UnitEvent => UNIT_EVENTS,
    }
}

impl Audit for SledStore {
    fn walk_log(
        &self,
        visit: &mut dyn FnMut(LogEntry) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        for entry in self.trees[LOG].iter() {
            let (key, event_key) = entry.map_err(io)?;
            let position = keys::position(&key);
            let stored = match self.trees[EVENTS].get(&event_key).map_err(io)? {
                None => Err(format!(
                    "the log names {event_key:?} at position {position:?}, which events lacks"
                )),
                Some(value) => match value.split_first_chunk::<32>() {
                    Some((hash, bytes)) => Ok((*hash, bytes.to_vec())),
                    None => Err(format!("the event at position {position:?} is too short")),
                },
            };
            visit(LogEntry {
                filed_at: position,
                stored,
            })?;
        }
        Ok(())
    }

    /// One proposal's events at a time: they are adjacent in the events tree.
    fn walk_histories(
        &self,
        report: &mut Verification,
        visit: &mut HistoryVisitor<'_>,
    ) -> Result<u64, StoreError> {
        let mut stored_events = 0;
        // `events` is `None` once one of the current proposal's events does not decode (the
        // chain walk reports that) or is stored under another's key.
        let mut current: Option<ProposalId> = None;
        let mut events: Option<Vec<RecordedEvent>> = None;
        for entry in self.trees[EVENTS].iter() {
            let (key, value) = entry.map_err(io)?;
            stored_events += 1;
            let Some((id, sequence)) = keys::event_parts(&key) else {
                report.problem(format!("events holds a malformed key {key:?}"));
                continue;
            };
            if current != Some(id) {
                if let Some(previous) = current {
                    visit(previous, events.take(), report)?;
                }
                current = Some(id);
                events = Some(Vec::new());
            }
            match decode_logged(&value) {
                Ok(LoggedEvent { event, .. }) => match misplaced(id, sequence, &event) {
                    None => {
                        if let Some(events) = &mut events {
                            events.push(event);
                        }
                    }
                    Some(problem) => {
                        report.problem(problem);
                        events = None;
                    }
                },
                Err(_) => events = None,
            }
        }
        if let Some(previous) = current {
            visit(previous, events, report)?;
        }
        Ok(stored_events)
    }

    /// The stored status must name the events the fold took the registration and the reply
    /// from, and the proposal the serving path assembles from it must equal the fold.
    fn check_projection(
        &self,
        proposal: &Proposal,
        events: &[RecordedEvent],
        report: &mut Verification,
    ) -> Result<(), StoreError> {
        let id = proposal.id;
        let key = keys::proposal(id);
        let Some(status): Option<StatusRecord> = self.get(PROPOSALS, &key, "a status")? else {
            report.problem(format!("proposals lacks the entry for {id}"));
            return Ok(());
        };
        if Some(status.sources) != Sources::after(None, events) {
            report.problem(format!(
                "proposals entry {id} names the wrong events for its registration or reply"
            ));
            return Ok(());
        }
        match self.complete(id, status, View::Full) {
            Ok(stored) if stored == *proposal => {}
            Ok(_) => report.problem(format!(
                "proposals entry {id} differs from the fold of the events"
            )),
            Err(StoreError::Corrupt(problem)) => report.problem(problem),
            Err(e) => return Err(e),
        }
        Ok(())
    }

    fn check_facts(
        &self,
        proposal: &Proposal,
        facts: &ProposalFacts,
    ) -> Result<Option<String>, StoreError> {
        let id = proposal.id;
        let key = keys::facts(&proposal.committee, &proposal.session, id);
        Ok(match self.trees[FACTS].get(&key).map_err(io)? {
            None => Some(format!("facts lacks the entry for {id}")),
            Some(stored) => match serde_json::from_slice::<ProposalFacts>(&stored) {
                Ok(stored) if stored == *facts => None,
                Ok(_) => Some(format!(
                    "facts entry {id} differs from the fold of the events"
                )),
                Err(e) => Some(format!("facts entry {id} does not decode: {e}")),
            },
        })
    }

    fn check_entry(&self, entry: &IndexEntry) -> Result<Option<String>, StoreError> {
        let (tree, key, value) = index_entry(entry);
        Ok(match self.trees[tree].get(&key).map_err(io)? {
            Some(stored) if stored.as_ref() == value.as_slice() => None,
            Some(_) => Some(format!(
                "{} entry {key:?} differs from the fold of the events",
                TREE_NAMES[tree]
            )),
            None => Some(format!(
                "{} lacks the entry for {key:?} (proposal {})",
                TREE_NAMES[tree],
                entry_proposal(entry)
            )),
        })
    }

    fn stored_request(
        &self,
        key: &RequestKey,
    ) -> Result<Option<Result<RequestRecord, String>>, StoreError> {
        let Some(bytes) = self.trees[REQUESTS]
            .get(keys::request(key.as_str()))
            .map_err(io)?
        else {
            return Ok(None);
        };
        match records::decode_request(&bytes) {
            Ok(record) => Ok(Some(Ok(record))),
            Err(StoreError::Corrupt(problem)) => Ok(Some(Err(problem))),
            Err(e) => Err(e),
        }
    }

    /// Every expected entry was found; a tree holding more than expected holds entries no
    /// event explains. Those are named where that is cheap: an entry of an id-keyed tree whose
    /// proposal disagrees with it.
    fn check_surplus(
        &self,
        expected: &Expected,
        report: &mut Verification,
    ) -> Result<(), StoreError> {
        let mut counts = [0; TREE_NAMES.len()];
        counts[LOG] = expected.events;
        counts[PROPOSALS] = expected.proposals;
        counts[REQUESTS] = expected.requests;
        counts[FACTS] = expected.facts;
        for (kind, count) in &expected.index {
            counts[tree_of(*kind)] += count;
        }
        for tree in (0..TREE_NAMES.len()).filter(|t| *t != EVENTS) {
            let stored = self.trees[tree].len() as u64;
            let expected = counts[tree];
            if stored <= expected {
                continue;
            }
            let mut named = 0;
            if matches!(tree, BY_STATE | BY_UNIT) {
                for entry in self.trees[tree].iter() {
                    let (key, _) = entry.map_err(io)?;
                    let id = keys::trailing_id(&key);
                    let status = match id {
                        Some(id) => {
                            self.get::<StatusRecord>(PROPOSALS, &keys::proposal(id), "a status")?
                        }
                        None => None,
                    };
                    let explained = match (id, status) {
                        (Some(id), Some(status)) if tree == BY_STATE => {
                            key.as_ref() == keys::state(status.state, id)
                        }
                        (Some(id), Some(status)) => status
                            .handlings
                            .iter()
                            .any(|h| key.as_ref() == keys::unit(&h.unit, id)),
                        _ => false,
                    };
                    if !explained {
                        named += 1;
                        report.problem(format!(
                            "{} holds an entry no event explains: {key:?}",
                            TREE_NAMES[tree]
                        ));
                    }
                }
            }
            if named == 0 {
                report.problem(format!(
                    "{} holds {} entries no event explains ({stored} stored, {expected} expected)",
                    TREE_NAMES[tree],
                    stored - expected
                ));
            }
        }
        Ok(())
    }
}

/// The proposal an index entry names.
fn entry_proposal(entry: &IndexEntry) -> ProposalId {
    match entry {
        IndexEntry::Claim(_, id) | IndexEntry::State(_, id) | IndexEntry::Unit(_, id) => *id,
        IndexEntry::UnitEvent { proposal_id, .. } => *proposal_id,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::app::{Submission, Workflow};
    use crate::domain::{
        CalendarDate, Command, EVENT_SCHEMA_VERSION, ProposalState, ProposerKind, Registration,
        RequestId,
    };
    use crate::store::sled_store::BY_DOCUMENT;
    use crate::store::{EventScope, SledOptions, chain};

    fn submission(id: Option<ProposalId>, command: Command) -> Submission {
        let request_id = RequestId::new(crate::app::new_proposal_id().to_string());
        Submission {
            proposal_id: id,
            command,
            expected_version: None,
            request_id: Some(request_id),
            actor: "tester".into(),
            effective_date: None,
            unit_scope: None,
        }
    }

    /// A store holding two proposals, one assigned and one issued.
    fn populated(dir: &std::path::Path) -> Arc<SledStore> {
        let store = Arc::new(SledStore::open(dir, &SledOptions::default()).unwrap());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let workflow = runtime.block_on(Workflow::start(store.clone())).unwrap();
        runtime.block_on(async {
            for number in [1, 2] {
                let registration = Command::Receive(Registration {
                    committee: "许昌市政协".into(),
                    session: "七届三次会议".into(),
                    number,
                    title: "提案".into(),
                    proposers: vec!["苏会兴".into()],
                    content: "内容".into(),
                    proposer_kind: ProposerKind::Member,
                });
                let p = workflow
                    .execute(submission(None, registration))
                    .await
                    .unwrap();
                let steps = [
                    Command::Assign {
                        handling_unit: "许昌市生态环境局".into(),
                        due_date: None,
                        co_units: Vec::new(),
                        co_due_date: None,
                        split_units: Vec::new(),
                    },
                    Command::Draft {
                        reply: crate::domain::Reply {
                            body: "答复".into(),
                            result_code: crate::domain::ResultCode::A,
                            contact_unit: String::new(),
                            contact_phone: String::new(),
                        },
                        handling_unit: String::new(),
                    },
                    Command::Sign {
                        signer: "李光亚".into(),
                        handling_unit: String::new(),
                        sign_date: None,
                    },
                    Command::Issue {
                        document_number: "许环〔2019〕13号".into(),
                        issue_date: CalendarDate::parse("2019-09-29").unwrap(),
                        issuing_office: "办公室".into(),
                        handling_unit: String::new(),
                        copy_to: Vec::new(),
                        public: None,
                    },
                ];
                let take = if number == 1 { 1 } else { steps.len() };
                for step in steps.into_iter().take(take) {
                    workflow
                        .execute(submission(Some(p.id), step))
                        .await
                        .unwrap();
                }
            }
        });
        workflow.shutdown().unwrap();
        store
    }

    #[test]
    fn a_consistent_store_verifies_clean() {
        let dir = tempfile::tempdir().unwrap();
        let store = populated(dir.path());
        let report = store.verify().unwrap();
        assert_eq!((report.events, report.proposals), (7, 2));
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    }

    #[test]
    fn tampering_with_a_stored_event_breaks_the_chain_at_that_event() {
        let dir = tempfile::tempdir().unwrap();
        let store = populated(dir.path());
        let clean = store.verify().unwrap();
        assert!(clean.problems.is_empty(), "{:?}", clean.problems);
        // Rewrite event 3's actor, keeping its stored hash: what an editor of the files would do.
        let key = store.trees[LOG].get(keys::log(3)).unwrap().unwrap();
        let value = store.trees[EVENTS].get(&key).unwrap().unwrap();
        let (hash, bytes) = value.split_at(32);
        let text = std::str::from_utf8(bytes)
            .unwrap()
            .replace("tester", "someone");
        store.trees[EVENTS]
            .insert(key, [hash, text.as_bytes()].concat())
            .unwrap();
        let report = store.verify().unwrap();
        assert_eq!(report.head, clean.head, "later links are unchanged");
        let first = report.first_mismatch().expect("the tampering is caught");
        assert!(
            first.starts_with("the event at position 3 does not match its hash"),
            "{first}"
        );
        assert_eq!(
            report
                .problems
                .iter()
                .filter(|p| p.contains("does not match its hash"))
                .count(),
            1,
            "only the altered event breaks the chain: {:?}",
            report.problems
        );
    }

    /// An event written by a newer build (a schema this one does not read) is reported as
    /// such, where it stands in the chain, not only as the counts it upsets.
    #[test]
    fn an_event_of_a_newer_schema_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = populated(dir.path());
        let key = store.trees[LOG].get(keys::log(2)).unwrap().unwrap();
        let value = store.trees[EVENTS].get(&key).unwrap().unwrap();
        let (_, bytes) = value.split_at(32);
        let current = format!("\"schema\":{EVENT_SCHEMA_VERSION}");
        let next = format!("\"schema\":{}", EVENT_SCHEMA_VERSION + 1);
        let newer = std::str::from_utf8(bytes)
            .unwrap()
            .replacen(&current, &next, 1);
        // Relinked, so that only the schema is wrong.
        let hash = chain::link(
            &store.events(EventScope::All, 0, 1).unwrap()[0].hash,
            newer.as_bytes(),
        );
        store.trees[EVENTS]
            .insert(key, [&hash[..], newer.as_bytes()].concat())
            .unwrap();
        let report = store.verify().unwrap();
        assert!(
            report.problems.iter().any(|p| p.contains(&format!(
                "position 2 has schema {}, newer than this build's {EVENT_SCHEMA_VERSION}",
                EVENT_SCHEMA_VERSION + 1
            ))),
            "{:?}",
            report.problems
        );
    }

    #[test]
    fn tampering_with_an_index_or_a_projection_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = populated(dir.path());
        let issued = issued_proposal(&store);
        // A stale state entry, a lost document entry and a projection that skipped an event.
        store.trees[BY_STATE]
            .insert(keys::state(ProposalState::Signed, issued.id), vec![])
            .unwrap();
        store.trees[BY_DOCUMENT]
            .remove(keys::document("许环〔2019〕13号"))
            .unwrap();
        let mut stale = stored_status(&store, issued.id);
        stale.state = ProposalState::Signed;
        store_status(&store, issued.id, &stale);
        let problems = store.verify().unwrap().problems.join("\n");
        assert!(
            problems.contains("by_state holds an entry no event explains"),
            "{problems}"
        );
        assert!(
            problems.contains("by_document lacks the entry"),
            "{problems}"
        );
        assert!(problems.contains("proposals entry"), "{problems}");
    }

    #[test]
    fn an_event_under_another_key_and_a_log_entry_without_its_event_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = populated(dir.path());
        let issued = issued_proposal(&store);
        // Move the issued proposal's assignment to a sequence it does not have.
        let (from, to) = (keys::event(issued.id, 2), keys::event(issued.id, 9));
        let value = store.trees[EVENTS].remove(from).unwrap().unwrap();
        store.trees[EVENTS].insert(to, value).unwrap();
        let problems = store.verify().unwrap().problems.join("\n");
        assert!(
            problems.contains(&format!(
                "the event stored as proposal {}'s event 9 says it is proposal {}'s event 2",
                issued.id, issued.id
            )),
            "{problems}"
        );
        assert!(problems.contains("which events lacks"), "{problems}");
        let error = store.history(issued.id, 0, 10).unwrap_err().to_string();
        assert!(error.contains("says it is proposal"), "{error}");
    }

    #[test]
    fn an_event_the_log_does_not_name_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = populated(dir.path());
        let last = store.last_position().unwrap();
        store.trees[LOG].remove(keys::log(last)).unwrap();
        let problems = store.verify().unwrap().problems.join("\n");
        assert!(
            problems.contains(&format!(
                "events holds {last} entries, the log names {}",
                last - 1
            )),
            "{problems}"
        );
    }

    #[test]
    fn a_malformed_request_record_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = populated(dir.path());
        let (key, _) = store.trees[REQUESTS].first().unwrap().unwrap();
        store.trees[REQUESTS].insert(key, b"{}".as_slice()).unwrap();
        let problems = store.verify().unwrap().problems.join("\n");
        assert!(
            problems.contains("a request record of 2 bytes"),
            "{problems}"
        );
    }

    /// The one issued proposal of [`populated`].
    fn issued_proposal(store: &SledStore) -> Proposal {
        store
            .list(&crate::store::ListQuery {
                state: Some(ProposalState::Issued),
                limit: 10,
                ..Default::default()
            })
            .unwrap()
            .proposals
            .remove(0)
    }

    fn stored_status(store: &SledStore, id: ProposalId) -> StatusRecord {
        let bytes = store.trees[PROPOSALS]
            .get(keys::proposal(id))
            .unwrap()
            .unwrap();
        super::super::sled_store::decode(&bytes, "a status").unwrap()
    }

    fn store_status(store: &SledStore, id: ProposalId, status: &StatusRecord) {
        let bytes = super::super::sled_store::encode(status).unwrap();
        store.trees[PROPOSALS]
            .insert(keys::proposal(id), bytes)
            .unwrap();
    }

    #[test]
    fn a_status_naming_the_wrong_source_events_is_reported_and_refused_when_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = populated(dir.path());
        let issued = issued_proposal(&store);
        let good = stored_status(&store, issued.id);
        assert_eq!(
            (good.sources.registration, good.sources.reply),
            (1, Some(3)),
            "received, assigned, then drafted"
        );
        // The reply said to be in the receive event, in the assignment, in an event the
        // proposal does not have, then dropped: each is caught by verification, and reading the
        // proposal refuses the first three.
        for reply in [Some(1), Some(2), Some(99), None] {
            let mut bad = good.clone();
            bad.sources.reply = reply;
            store_status(&store, issued.id, &bad);
            let problems = store.verify().unwrap().problems.join("\n");
            assert!(
                problems.contains(&format!(
                    "proposals entry {} names the wrong events",
                    issued.id
                )),
                "{reply:?}: {problems}"
            );
            if reply.is_some() {
                let error = store
                    .proposal(issued.id, View::Full)
                    .unwrap_err()
                    .to_string();
                assert!(error.contains("does not carry it"), "{error}");
            }
        }
        store_status(&store, issued.id, &good);
        let report = store.verify().unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(store.proposal(issued.id, View::Full).unwrap(), Some(issued));
    }
}
