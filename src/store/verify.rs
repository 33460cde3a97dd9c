//! Verification of the embedded store: the hash chain is recomputed over the event log, and
//! everything derived from the events (each proposal's projection and every index, the log
//! included) is recomputed from the events alone and compared with what is stored. Memory
//! stays bounded by one proposal's history, not by the data size; it reads everything, so it is
//! for operators and tests, not for the serving path.

use std::collections::HashMap;

use super::chain::{self, ChainHash, GENESIS};
use super::index;
use super::keys;
use super::records::{self, Sources, StatusRecord};
use super::sled_store::{
    BY_STATE, BY_UNIT, EVENTS, LOG, PROPOSALS, REQUESTS, SledStore, TREE_NAMES, decode,
    decode_logged, index_entry, io, misplaced,
};
use super::{LoggedEvent, StoreError, View};
use crate::domain::{Proposal, ProposalId, RecordedEvent, apply, check_recorded, fold};

/// What a verification found.
#[derive(Debug, Default)]
pub struct Verification {
    pub events: u64,
    pub proposals: u64,
    /// The last event's position and chain hash.
    pub head: (u64, ChainHash),
    /// Disagreements found, in words, chain breaks first in log order; empty when the store is
    /// consistent. At most [`MAX_PROBLEMS`].
    pub problems: Vec<String>,
}

impl Verification {
    /// The first disagreement found, if any.
    pub fn first_mismatch(&self) -> Option<&str> {
        self.problems.first().map(String::as_str)
    }

    fn problem(&mut self, text: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(text);
        }
    }
}

/// The most problems reported, so one systematic fault does not flood the report.
pub const MAX_PROBLEMS: usize = 100;

/// How many entries each derived tree must hold, as counted from the events.
#[derive(Default)]
struct Counts([u64; TREE_NAMES.len()]);

impl SledStore {
    /// Recomputes the chain, every projection and every index from the events, and compares.
    pub fn verify(&self) -> Result<Verification, StoreError> {
        let mut report = Verification {
            head: (0, GENESIS),
            ..Default::default()
        };
        self.verify_chain(&mut report)?;
        let mut counts = Counts::default();
        let mut requests: HashMap<String, (ProposalId, u64)> = HashMap::new();
        let mut stored_events = 0;
        // One proposal's events at a time: they are adjacent in the events tree. `events` is
        // `None` once one of the current proposal's events does not decode (the chain walk
        // reports that) or is stored under another's key.
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
                if let (Some(previous), Some(events)) = (current, events.take()) {
                    self.verify_proposal(
                        previous,
                        &events,
                        &mut counts,
                        &mut requests,
                        &mut report,
                    )?;
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
        if let (Some(previous), Some(events)) = (current, events) {
            self.verify_proposal(previous, &events, &mut counts, &mut requests, &mut report)?;
        }
        if stored_events != report.events {
            report.problem(format!(
                "events holds {stored_events} entries, the log names {}",
                report.events
            ));
        }
        for (request_id, (id, version)) in &requests {
            let record = self.trees[REQUESTS]
                .get(keys::request(request_id))
                .map_err(io)?
                .map(|bytes| records::decode_request(&bytes));
            match record {
                Some(Err(StoreError::Corrupt(problem))) => report.problem(problem),
                Some(Err(e)) => return Err(e),
                Some(Ok(record)) if (record.proposal_id, record.version) == (*id, *version) => {}
                Some(Ok(_)) => report.problem(format!(
                    "requests entry {:?} differs from the fold of the events",
                    request_id.replace('\0', "/")
                )),
                None => report.problem(format!(
                    "requests lacks the entry for {:?}",
                    request_id.replace('\0', "/")
                )),
            }
        }
        counts.0[REQUESTS] = requests.len() as u64;
        counts.0[LOG] = report.events;
        self.verify_counts(&counts, &mut report)?;
        Ok(report)
    }

    /// Walks the log in order: positions 1, 2, 3, ..., each naming a stored event that says
    /// that position, and each event's hash the link of its predecessor's hash and its own
    /// bytes.
    fn verify_chain(&self, report: &mut Verification) -> Result<(), StoreError> {
        let mut previous = GENESIS;
        for entry in self.trees[LOG].iter() {
            let (key, event_key) = entry.map_err(io)?;
            report.events += 1;
            let position = keys::position(&key);
            if position != Some(report.events) {
                report.problem(format!(
                    "the log's entry number {} is at position {position:?}: positions must run 1, 2, 3, ... without gaps",
                    report.events
                ));
            }
            let Some(value) = self.trees[EVENTS].get(&event_key).map_err(io)? else {
                report.problem(format!(
                    "the log names {event_key:?} at position {position:?}, which events lacks"
                ));
                continue;
            };
            let Some((hash, bytes)) = value.split_first_chunk::<32>() else {
                report.problem(format!("the event at position {position:?} is too short"));
                continue;
            };
            let computed = chain::link(&previous, bytes);
            if computed != *hash {
                report.problem(format!(
                    "the event at position {} does not match its hash: stored {}, its bytes and predecessor give {}",
                    position.unwrap_or(0),
                    chain::to_hex(hash),
                    chain::to_hex(&computed)
                ));
            }
            // Continue from the stored hash, so one altered event is reported once.
            previous = *hash;
            report.head = (position.unwrap_or(0), *hash);
            match decode_logged(&value) {
                Ok(LoggedEvent { event, .. }) if Some(event.position) != position => {
                    report.problem(format!(
                        "the event stored at position {position:?} says position {}",
                        event.position
                    ));
                }
                Ok(_) => {}
                Err(e) => report.problem(format!("position {position:?}: {e}")),
            }
        }
        Ok(())
    }

    /// Checks one proposal: its history is a valid path, its projection is the fold of it, and
    /// every index entry it implies is present.
    fn verify_proposal(
        &self,
        id: ProposalId,
        events: &[RecordedEvent],
        counts: &mut Counts,
        requests: &mut HashMap<String, (ProposalId, u64)>,
        report: &mut Verification,
    ) -> Result<(), StoreError> {
        report.proposals += 1;
        check_path(id, events, report);
        let Some(proposal) = fold(events.iter()) else {
            return Ok(());
        };
        self.verify_projection(&proposal, events, report)?;
        self.verify_indexes(&proposal, events, counts, report)?;
        for event in events {
            if let Some(request_id) = &event.request_id {
                let key = super::request_key(&event.actor, request_id);
                requests.insert(key.as_str().to_owned(), (id, event.sequence));
            }
        }
        Ok(())
    }

    /// The stored status must name the events the fold took the registration and the reply
    /// from, and the proposal the serving path assembles from it must equal the fold.
    fn verify_projection(
        &self,
        proposal: &Proposal,
        events: &[RecordedEvent],
        report: &mut Verification,
    ) -> Result<(), StoreError> {
        let id = proposal.id;
        let key = keys::proposal(id);
        let Some(status): Option<StatusRecord> = self.get_record(PROPOSALS, &key, "a status")?
        else {
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

    fn verify_indexes(
        &self,
        proposal: &Proposal,
        events: &[RecordedEvent],
        counts: &mut Counts,
        report: &mut Verification,
    ) -> Result<(), StoreError> {
        let id = proposal.id;
        counts.0[PROPOSALS] += 1;
        let expected = index::entries_of(proposal, events)
            .iter()
            .map(index_entry)
            .collect::<Vec<_>>();
        for (tree, key, value) in expected {
            counts.0[tree] += 1;
            match self.trees[tree].get(&key).map_err(io)? {
                Some(stored) if stored.as_ref() == value.as_slice() => {}
                Some(_) => report.problem(format!(
                    "{} entry {key:?} differs from the fold of the events",
                    TREE_NAMES[tree]
                )),
                None => report.problem(format!(
                    "{} lacks the entry for {key:?} (proposal {id})",
                    TREE_NAMES[tree]
                )),
            }
        }
        Ok(())
    }

    /// Every expected entry was found; a tree holding more than expected holds entries no
    /// event explains. Those are named where that is cheap: an entry of an id-keyed tree whose
    /// proposal disagrees with it.
    fn verify_counts(&self, counts: &Counts, report: &mut Verification) -> Result<(), StoreError> {
        for tree in (0..TREE_NAMES.len()).filter(|t| *t != EVENTS) {
            let stored = self.trees[tree].len() as u64;
            let expected = counts.0[tree];
            if stored <= expected {
                continue;
            }
            let mut named = 0;
            if matches!(tree, BY_STATE | BY_UNIT) {
                for entry in self.trees[tree].iter() {
                    let (key, _) = entry.map_err(io)?;
                    let id = keys::trailing_id(&key);
                    let status = match id {
                        Some(id) => self.get_record::<StatusRecord>(
                            PROPOSALS,
                            &keys::proposal(id),
                            "a status",
                        )?,
                        None => None,
                    };
                    let explained = match (id, status) {
                        (Some(id), Some(status)) if tree == BY_STATE => {
                            key.as_ref() == keys::state(status.state, id)
                        }
                        (Some(id), Some(status)) => status
                            .handling_unit
                            .is_some_and(|unit| key.as_ref() == keys::unit(&unit, id)),
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

    fn get_record<T: serde::de::DeserializeOwned>(
        &self,
        tree: usize,
        key: &[u8],
        what: &str,
    ) -> Result<Option<T>, StoreError> {
        match self.trees[tree].get(key).map_err(io)? {
            Some(bytes) => decode(&bytes, what).map(Some),
            None => Ok(None),
        }
    }
}

/// Checks that a proposal's events are a history `decide` could have recorded, event by event
/// (the same check an import makes: [`check_recorded`]). Folds on past a bad event, so that every
/// problem of the history is reported.
fn check_path(id: ProposalId, events: &[RecordedEvent], report: &mut Verification) {
    let mut proposal = None;
    for event in events {
        if let Err(problem) = check_recorded(proposal.as_ref(), event) {
            report.problem(format!(
                "proposal {id}: event {} at position {}: {problem}",
                event.sequence, event.position
            ));
        }
        proposal = Some(apply(proposal, event));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::app::{Submission, Workflow};
    use crate::domain::{CalendarDate, Command, ProposalState, Registration, RequestId};
    use crate::store::SledOptions;
    use crate::store::sled_store::BY_DOCUMENT;

    fn submission(id: Option<ProposalId>, command: Command) -> Submission {
        let request_id = RequestId::new(crate::app::new_proposal_id().to_string());
        Submission {
            proposal_id: id,
            command,
            expected_version: None,
            request_id: Some(request_id),
            actor: "tester".into(),
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
                });
                let p = workflow
                    .execute(submission(None, registration))
                    .await
                    .unwrap();
                let steps = [
                    Command::Assign {
                        handling_unit: "许昌市生态环境局".into(),
                        due_date: None,
                    },
                    Command::Draft {
                        reply: crate::domain::Reply {
                            body: "答复".into(),
                            result_code: crate::domain::ResultCode::A,
                            contact_unit: String::new(),
                            contact_phone: String::new(),
                        },
                    },
                    Command::Sign {
                        signer: "李光亚".into(),
                    },
                    Command::Issue {
                        document_number: "许环〔2019〕13号".into(),
                        issue_date: CalendarDate::parse("2019-09-29").unwrap(),
                        issuing_office: "办公室".into(),
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
        decode(&bytes, "a status").unwrap()
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
