//! Offline verification of the embedded store: everything derived from the event log (each
//! proposal's history index and projection, and every secondary index) is recomputed from the
//! events alone and compared, entry by entry, with what is stored. Used by crash tests and by
//! operators after an incident; it reads everything, so it is not for the serving path.

use std::collections::BTreeMap;

use super::keys;
use super::sled_store::{
    BY_DOCUMENT, BY_NUMBER, BY_STATE, BY_UNIT, EVENTS, HISTORY, PROPOSALS, REQUESTS, SledStore,
    TREE_NAMES, decode, decode_event, encode, io,
};
use super::{RequestRecord, StoreError};
use crate::domain::{EventData, Proposal, ProposalId, RecordedEvent, apply, transition};

/// What a verification found.
#[derive(Debug, Default)]
pub struct Verification {
    pub events: u64,
    pub proposals: u64,
    /// Every disagreement found, in words; empty when the store is consistent.
    pub problems: Vec<String>,
}

/// The most problems reported per tree, so one systematic fault does not flood the report.
const MAX_PROBLEMS_PER_TREE: usize = 10;

impl SledStore {
    /// Recomputes every projection and index from the events and compares them with the store.
    pub fn verify(&self) -> Result<Verification, StoreError> {
        let mut report = Verification::default();
        let mut histories: BTreeMap<ProposalId, Vec<RecordedEvent>> = BTreeMap::new();
        for entry in self.trees[EVENTS].iter() {
            let (key, value) = entry.map_err(io)?;
            report.events += 1;
            let position = keys::event_position(&key);
            if position != Some(report.events) {
                report.problems.push(format!(
                    "the log's entry number {} is at position {position:?}: positions must run 1, 2, 3, ... without gaps",
                    report.events
                ));
            }
            let event = decode_event(&value)?;
            if Some(event.position) != position {
                report.problems.push(format!(
                    "the event stored at position {position:?} says position {}",
                    event.position
                ));
            }
            histories.entry(event.proposal_id).or_default().push(event);
        }
        report.proposals = histories.len() as u64;

        let mut expected = Expected::default();
        for (id, events) in &histories {
            check_path(*id, events, &mut report.problems);
            let proposal = events.iter().fold(None, |p, e| Some(apply(p, e)));
            if let Some(proposal) = proposal {
                expected.add(&proposal, events)?;
            }
        }
        for (tree, entries) in expected.trees() {
            self.compare(tree, entries, &mut report.problems)?;
        }
        Ok(report)
    }

    /// Compares one stored tree with the entries it should hold.
    fn compare(
        &self,
        tree: usize,
        mut expected: BTreeMap<Vec<u8>, Vec<u8>>,
        problems: &mut Vec<String>,
    ) -> Result<(), StoreError> {
        let name = TREE_NAMES[tree];
        let mut found = Vec::new();
        for entry in self.trees[tree].iter() {
            let (key, value) = entry.map_err(io)?;
            match expected.remove(key.as_ref()) {
                None => found.push(format!("{name} holds an entry no event explains: {key:?}")),
                Some(want) if !same_value(tree, &want, &value)? => found.push(format!(
                    "{name} entry {key:?} differs from the fold of the events"
                )),
                Some(_) => {}
            }
        }
        for key in expected.keys() {
            found.push(format!("{name} lacks the entry for {key:?}"));
        }
        problems.extend(found.into_iter().take(MAX_PROBLEMS_PER_TREE));
        Ok(())
    }
}

/// Whether a stored value equals the expected one: records are compared decoded, so that the
/// comparison does not depend on how an encoder orders fields.
fn same_value(tree: usize, want: &[u8], stored: &[u8]) -> Result<bool, StoreError> {
    Ok(match tree {
        PROPOSALS => {
            decode::<Proposal>(want, "a proposal")? == decode::<Proposal>(stored, "a proposal")?
        }
        REQUESTS => {
            let want: RequestRecord = decode(want, "a request record")?;
            let stored: RequestRecord = decode(stored, "a request record")?;
            (want.proposal_id, want.version) == (stored.proposal_id, stored.version)
        }
        _ => want == stored,
    })
}

/// Checks that a proposal's events form a valid path of the state machine: sequences 1..n,
/// each event starting where the previous ended, each move allowed by the lifecycle table.
fn check_path(id: ProposalId, events: &[RecordedEvent], problems: &mut Vec<String>) {
    let mut state = None;
    for (index, event) in events.iter().enumerate() {
        let sequence = index as u64 + 1;
        if event.sequence != sequence {
            problems.push(format!(
                "proposal {id}: event {sequence} says sequence {}",
                event.sequence
            ));
        }
        if event.from_state != state {
            problems.push(format!(
                "proposal {id}: event {sequence} starts from {:?}, but the proposal was {state:?}",
                event.from_state
            ));
        }
        if transition(event.data.command_kind(), event.from_state) != Some(event.to_state) {
            problems.push(format!(
                "proposal {id}: event {sequence} ({:?}) moves {:?} → {:?}, which the lifecycle does not allow",
                event.data.kind(),
                event.from_state,
                event.to_state
            ));
        }
        state = Some(event.to_state);
    }
}

/// A tree's entries, key to value.
type Entries = BTreeMap<Vec<u8>, Vec<u8>>;

/// The derived trees as the events say they must be.
#[derive(Default)]
struct Expected {
    history: BTreeMap<Vec<u8>, Vec<u8>>,
    proposals: BTreeMap<Vec<u8>, Vec<u8>>,
    by_number: BTreeMap<Vec<u8>, Vec<u8>>,
    by_document: BTreeMap<Vec<u8>, Vec<u8>>,
    by_state: BTreeMap<Vec<u8>, Vec<u8>>,
    by_unit: BTreeMap<Vec<u8>, Vec<u8>>,
    requests: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl Expected {
    fn add(&mut self, proposal: &Proposal, events: &[RecordedEvent]) -> Result<(), StoreError> {
        let id = proposal.id;
        let id_bytes = id.as_bytes().to_vec();
        for event in events {
            self.history.insert(
                keys::history(id, event.sequence).to_vec(),
                event.position.to_be_bytes().to_vec(),
            );
            if let EventData::ReplyIssued {
                document_number, ..
            } = &event.data
            {
                self.by_document
                    .insert(keys::document(document_number), id_bytes.clone());
            }
            if let Some(request_id) = &event.request_id {
                let record = RequestRecord {
                    fingerprint: String::new(),
                    proposal_id: id,
                    version: event.sequence,
                };
                self.requests
                    .insert(keys::request(request_id), encode(&record)?);
            }
        }
        self.proposals
            .insert(keys::proposal(id).to_vec(), encode(proposal)?);
        self.by_number.insert(
            keys::number(&proposal.committee, &proposal.session, proposal.number),
            id_bytes,
        );
        self.by_state
            .insert(keys::state(proposal.state, id).to_vec(), Vec::new());
        if let Some(unit) = &proposal.handling_unit {
            self.by_unit.insert(keys::unit(unit, id), Vec::new());
        }
        Ok(())
    }

    fn trees(self) -> [(usize, Entries); 7] {
        [
            (HISTORY, self.history),
            (PROPOSALS, self.proposals),
            (BY_NUMBER, self.by_number),
            (BY_DOCUMENT, self.by_document),
            (BY_STATE, self.by_state),
            (BY_UNIT, self.by_unit),
            (REQUESTS, self.requests),
        ]
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::app::{Submission, Workflow};
    use crate::domain::{CalendarDate, Command, ProposalState, Registration, RequestId};
    use crate::store::{SledOptions, Store};

    fn submission(id: Option<ProposalId>, command: Command) -> Submission {
        let request_id = RequestId::new(ProposalId::generate().to_string());
        Submission {
            proposal_id: id,
            command,
            expected_version: None,
            request_id: Some(request_id),
            actor: "tester".into(),
        }
    }

    /// A store holding two proposals, one assigned and one issued.
    fn populated(dir: &std::path::Path) -> Arc<SledStore> {
        let store = Arc::new(SledStore::open(dir, &SledOptions::default()).unwrap());
        let workflow = Workflow::start(store.clone()).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
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
    fn tampering_with_an_index_or_a_projection_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = populated(dir.path());
        let issued = store
            .list(&crate::store::ListQuery {
                state: Some(ProposalState::Issued),
                limit: 10,
                ..Default::default()
            })
            .unwrap()
            .proposals
            .remove(0);
        // A stale state entry, a lost document entry and a projection that skipped an event.
        store.trees[BY_STATE]
            .insert(keys::state(ProposalState::Signed, issued.id), vec![])
            .unwrap();
        store.trees[BY_DOCUMENT]
            .remove(keys::document("许环〔2019〕13号"))
            .unwrap();
        let mut stale = issued.clone();
        stale.state = ProposalState::Signed;
        store.trees[PROPOSALS]
            .insert(keys::proposal(issued.id), encode(&stale).unwrap())
            .unwrap();
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
}
