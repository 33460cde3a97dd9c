//! Export and import: a store populated through the real workflow is exported, imported into a
//! fresh directory and compared in every projection, history, index and request record; then
//! tampered exports are refused at the position or line that was changed.

use std::sync::{Arc, OnceLock};

use proposal_service::app::{AppError, Submission, Workflow};
use proposal_service::domain::{
    CalendarDate, Claim, Command, Feedback, Proposal, ProposalId, ProposalState, ProposerKind,
    RecordedEvent, Registration, Reply, RequestId, ResultCode, Satisfaction,
};
use proposal_service::store::{
    EventScope, GENESIS, ListQuery, SledOptions, SledStore, Store, View, event_bytes, link,
    request_key, to_hex,
};
use proposal_service::transfer::{self, TransferError};

/// More events than one import batch (1,000), so batches and what crosses them are exercised.
const EXTRA_PROPOSALS: u32 = 1100;
const UNITS: [&str; 2] = ["许昌市生态环境局", "许昌市住房和城乡建设局"];

/// A populated source store (kept open for comparisons), its export, and requests made with
/// idempotency keys together with what they returned.
struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<SledStore>,
    export: String,
    requests: Vec<(Submission, Proposal)>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SledStore::open(dir.path(), &SledOptions::default()).unwrap());
        let requests = populate(Arc::clone(&store) as Arc<dyn Store>);
        let mut export = Vec::new();
        let summary = wait(transfer::export(&*store, &mut export, &mut |_| {})).unwrap();
        assert_eq!(summary.events, store.last_position().unwrap());
        Fixture {
            _dir: dir,
            store,
            export: String::from_utf8(export).unwrap(),
            requests,
        }
    })
}

/// Runs a future to its end on a runtime of its own (the sled store's futures are ready at once).
fn wait<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

fn registration(number: u32) -> Command {
    Command::Receive(Registration {
        committee: "许昌市政协".into(),
        session: "七届三次会议".into(),
        number,
        title: format!("关于第{number}号问题的提案"),
        proposers: vec!["苏会兴".into(), "李明".into()],
        content: "加强环境保护。\n第二段。".into(),
        // Some made by a collective, so that the field travels too.
        proposer_kind: if number.is_multiple_of(3) {
            ProposerKind::Party
        } else {
            ProposerKind::Member
        },
    })
}

fn draft(body: &str) -> Command {
    Command::Draft {
        reply: Reply {
            body: body.into(),
            result_code: ResultCode::A,
            contact_unit: "办公室".into(),
            contact_phone: "0374-1234567".into(),
        },
        handling_unit: String::new(),
    }
}

fn submit(id: Option<ProposalId>, command: Command, request_id: Option<&str>) -> Submission {
    Submission {
        proposal_id: id,
        command,
        expected_version: None,
        request_id: request_id.map(RequestId::new),
        actor: "tester".into(),
        effective_date: None,
        unit_scope: None,
    }
}

/// Drives several proposals through the workflow, interleaved, with backward moves (a return,
/// a rejected draft), a revised draft, issue and copy, most commands with idempotency keys;
/// then many more proposals at once, so the writer commits them in batches. Returns the
/// requests made with keys and their results.
fn populate(store: Arc<dyn Store>) -> Vec<(Submission, Proposal)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let workflow = Arc::new(runtime.block_on(Workflow::start(store)).unwrap());
    let mut requests = Vec::new();
    let mut run = |submission: Submission| {
        let result = runtime
            .block_on(workflow.execute(submission.clone()))
            .unwrap();
        if submission.request_id.is_some() {
            requests.push((submission, result.clone()));
        }
        result
    };
    let first = run(submit(None, registration(1), Some("receive-1"))).id;
    let second = run(submit(None, registration(2), None)).id;
    let third = run(submit(None, registration(3), Some("receive-3"))).id;
    let assign = |unit: &str| Command::Assign {
        handling_unit: unit.into(),
        due_date: CalendarDate::parse("2019-10-31"),
        co_units: Vec::new(),
        co_due_date: None,
        split_units: Vec::new(),
    };
    run(submit(Some(first), assign(UNITS[0]), Some("assign-1")));
    // The second is led by one unit with the other co-handling: both units' trails and
    // listings carry it through the transfer.
    let led = Command::Assign {
        handling_unit: UNITS[0].into(),
        due_date: CalendarDate::parse("2019-10-31"),
        co_units: vec![UNITS[1].into()],
        co_due_date: None,
        split_units: Vec::new(),
    };
    run(submit(Some(second), led, None));
    run(submit(
        Some(first),
        Command::Return {
            reason: "不属于本单位职责".into(),
        },
        Some("return-1"),
    ));
    run(submit(Some(third), assign(UNITS[1]), Some("assign-3")));
    run(submit(Some(first), assign(UNITS[1]), None));
    run(submit(Some(first), draft("初稿"), Some("draft-1")));
    run(submit(Some(third), draft("答复"), Some("draft-3")));
    run(submit(Some(first), draft("修改稿"), Some("revise-1")));
    run(submit(
        Some(first),
        Command::RejectDraft {
            reason: "答复不完整".into(),
            handling_unit: String::new(),
        },
        Some("reject-1"),
    ));
    run(submit(Some(first), draft("定稿"), None));
    run(submit(
        Some(first),
        Command::Sign {
            signer: "李光亚".into(),
            handling_unit: String::new(),
            sign_date: None,
        },
        Some("sign-1"),
    ));
    run(submit(
        Some(third),
        Command::Sign {
            signer: "王强".into(),
            handling_unit: String::new(),
            sign_date: None,
        },
        None,
    ));
    run(submit(
        Some(first),
        Command::Issue {
            document_number: "许环〔2019〕13号".into(),
            issue_date: CalendarDate::parse("2019-09-29").unwrap(),
            issuing_office: "许昌市生态环境局办公室".into(),
            handling_unit: String::new(),
            copy_to: Vec::new(),
            public: None,
        },
        Some("issue-1"),
    ));
    run(submit(
        Some(first),
        Command::Copy {
            recipients: vec!["市政协提案委".into(), "市政府督查室".into()],
            handling_unit: String::new(),
            proposers: Vec::new(),
        },
        Some("copy-1"),
    ));
    // After the reply: a key proposal, the proposer not satisfied, reopened into a second
    // round (the first kept in `rounds`), drafted again.
    run(submit(
        Some(first),
        Command::SetKey {
            key: true,
            supervisor: "市政协副主席王明".into(),
            note: String::new(),
        },
        None,
    ));
    run(submit(
        Some(first),
        Command::RecordFeedback {
            feedback: Feedback {
                proposer: "苏会兴".into(),
                satisfaction: Satisfaction::NotSatisfied,
                attitude: None,
                comment: "未解决实际问题".into(),
            },
        },
        Some("feedback-1"),
    ));
    let reopened = run(submit(
        Some(first),
        Command::Reopen {
            reason: "提案人不满意".into(),
            due_date: None,
        },
        Some("reopen-1"),
    ));
    assert_eq!(reopened.round(), 2);
    run(submit(
        Some(first),
        draft("重新答复"),
        Some("draft-1-again"),
    ));
    // 并案: the fourth merged into the fifth, two events in one act.
    let fourth = run(submit(None, registration(4), None)).id;
    let fifth = run(submit(None, registration(5), None)).id;
    run(submit(
        Some(fourth),
        Command::Merge {
            into_proposal_id: fifth,
            note: "内容相近".into(),
        },
        Some("merge-4"),
    ));
    // 分办: the sixth split between both units, the second of which drafts and signs its own
    // reply (the proposal stays ASSIGNED while the first has not drafted).
    let sixth = run(submit(None, registration(6), None)).id;
    let split = Command::Assign {
        handling_unit: UNITS[0].into(),
        due_date: CalendarDate::parse("2019-10-31"),
        co_units: Vec::new(),
        co_due_date: None,
        split_units: vec![UNITS[1].into()],
    };
    run(submit(Some(sixth), split, Some("assign-6")));
    let mut split_draft = draft("分办答复");
    if let Command::Draft { handling_unit, .. } = &mut split_draft {
        UNITS[1].clone_into(handling_unit);
    }
    run(submit(Some(sixth), split_draft, Some("draft-6")));
    run(submit(
        Some(sixth),
        Command::Sign {
            signer: "王强".into(),
            handling_unit: UNITS[1].into(),
            sign_date: None,
        },
        None,
    ));
    // Many proposals at once: the writer batches them, and the log is long enough for the
    // import to commit in more than one batch.
    runtime.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for number in 100..100 + EXTRA_PROPOSALS {
            let workflow = Arc::clone(&workflow);
            let key = (number % 2 == 0).then(|| format!("bulk-{number}"));
            tasks.spawn(async move {
                let submission = submit(None, registration(number), key.as_deref());
                let result = workflow.execute(submission.clone()).await.unwrap();
                (submission, result)
            });
        }
        while let Some(done) = tasks.join_next().await {
            let (submission, result) = done.unwrap();
            if submission.request_id.is_some() {
                requests.push((submission, result));
            }
        }
    });
    workflow.shutdown().unwrap();
    requests
}

/// Imports `text` into a fresh directory.
fn import_text(
    text: &str,
) -> (
    tempfile::TempDir,
    Result<transfer::ImportSummary, TransferError>,
) {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path(), &SledOptions::default()).unwrap();
    let result = wait(transfer::import(&store, &mut text.as_bytes(), &mut |_| {}));
    (dir, result)
}

fn all(store: &SledStore, query: ListQuery) -> Vec<Proposal> {
    store
        .list(&ListQuery {
            limit: 100_000,
            ..query
        })
        .unwrap()
        .proposals
}

fn assert_same_stores(
    source: &SledStore,
    imported: &SledStore,
    requests: &[(Submission, Proposal)],
) {
    assert_eq!(
        source.last_position().unwrap(),
        imported.last_position().unwrap()
    );
    let proposals = all(source, ListQuery::default());
    assert_eq!(proposals.len(), 6 + EXTRA_PROPOSALS as usize);
    assert_eq!(proposals, all(imported, ListQuery::default()));
    for proposal in &proposals {
        assert_eq!(
            imported.proposal(proposal.id, View::Full).unwrap().as_ref(),
            Some(proposal)
        );
        let history = source.history(proposal.id, 0, usize::MAX).unwrap();
        assert_eq!(history.len() as u64, proposal.version);
        assert_eq!(
            history,
            imported.history(proposal.id, 0, usize::MAX).unwrap()
        );
        assert_eq!(
            imported
                .claimed_by(&Claim::ProposalNumber {
                    committee: proposal.committee.clone(),
                    session: proposal.session.clone(),
                    number: proposal.number,
                })
                .unwrap(),
            Some(proposal.id)
        );
        if let Some(document) = &proposal.document_number {
            assert_eq!(
                imported
                    .claimed_by(&Claim::DocumentNumber(document.clone()))
                    .unwrap(),
                Some(proposal.id)
            );
        }
    }
    for state in ProposalState::ALL {
        let query = || ListQuery {
            state: Some(state),
            ..Default::default()
        };
        assert_eq!(all(source, query()), all(imported, query()), "{state}");
    }
    for unit in UNITS {
        let query = || ListQuery {
            handling_unit: Some(unit.into()),
            ..Default::default()
        };
        assert_eq!(all(source, query()), all(imported, query()), "{unit}");
        assert_eq!(
            source
                .events(EventScope::Unit(unit), 0, usize::MAX)
                .unwrap(),
            imported
                .events(EventScope::Unit(unit), 0, usize::MAX)
                .unwrap(),
            "{unit}"
        );
    }
    let log = source.events(EventScope::All, 0, usize::MAX).unwrap();
    assert_eq!(
        log,
        imported.events(EventScope::All, 0, usize::MAX).unwrap()
    );
    for (submission, _) in requests {
        let request_id = &request_key(
            &submission.actor,
            submission.request_id.as_ref().unwrap().as_str(),
        );
        let record = source.request(request_id).unwrap();
        assert!(record.is_some(), "{request_id:?}");
        assert_eq!(
            record,
            imported.request(request_id).unwrap(),
            "{request_id:?}"
        );
    }
    let (before, after) = (source.verify().unwrap(), imported.verify().unwrap());
    assert!(before.problems.is_empty(), "{:?}", before.problems);
    assert!(after.problems.is_empty(), "{:?}", after.problems);
    assert_eq!(
        (before.events, before.proposals, before.head),
        (after.events, after.proposals, after.head)
    );
    assert_eq!(after.head.1, log.last().unwrap().hash);
}

#[test]
fn a_round_trip_keeps_every_proposal_history_index_and_request() {
    let fixture = fixture();
    let dir = tempfile::tempdir().unwrap();
    let imported = Arc::new(SledStore::open(dir.path(), &SledOptions::default()).unwrap());
    let mut reported = Vec::new();
    let summary = wait(transfer::import(
        &*imported,
        &mut fixture.export.as_bytes(),
        &mut |n| reported.push(n),
    ))
    .unwrap();
    let last = fixture.store.last_position().unwrap();
    assert_eq!(summary.events, last);
    assert_eq!(summary.proposals, 6 + u64::from(EXTRA_PROPOSALS));
    assert_eq!(summary.requests, fixture.requests.len() as u64);
    assert!(reported.len() >= 2, "{reported:?}");
    assert!(reported.is_sorted());
    assert_eq!(reported.last(), Some(&last));
    assert_same_stores(&fixture.store, &imported, &fixture.requests);

    // Exporting the import gives the same file, byte for byte.
    let mut again = Vec::new();
    wait(transfer::export(&*imported, &mut again, &mut |_| {})).unwrap();
    assert_eq!(String::from_utf8(again).unwrap(), fixture.export);

    // A retry of an old request on the imported store returns its original result and records
    // nothing; the same key with other content is still refused.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let workflow = runtime
        .block_on(Workflow::start(Arc::clone(&imported) as Arc<dyn Store>))
        .unwrap();
    for (submission, original) in &fixture.requests {
        let replayed = runtime
            .block_on(workflow.execute(submission.clone()))
            .unwrap();
        assert_eq!(&replayed, original, "{:?}", submission.request_id);
    }
    assert_eq!(imported.last_position().unwrap(), last);
    let (submission, _) = &fixture.requests[0];
    let reused = Submission {
        expected_version: Some(42),
        ..submission.clone()
    };
    let refused = runtime.block_on(workflow.execute(reused)).unwrap_err();
    assert!(
        matches!(refused, AppError::RequestIdReused { .. }),
        "{refused}"
    );
    workflow.shutdown().unwrap();
}

#[test]
fn the_export_has_a_header_an_event_per_line_and_an_end_line() {
    let fixture = fixture();
    let lines: Vec<&str> = fixture.export.lines().collect();
    let last = fixture.store.last_position().unwrap();
    assert_eq!(lines.len() as u64, last + 2);
    assert_eq!(
        lines[0],
        r#"{"format":"proposal-service-events","version":1,"event_schema":2}"#
    );
    let log = fixture
        .store
        .events(EventScope::All, 0, usize::MAX)
        .unwrap();
    for (line, logged) in lines[1..].iter().zip(&log) {
        // The event is written exactly as stored, so its hash can be checked from the text.
        let stored = String::from_utf8(event_bytes(&logged.event).unwrap()).unwrap();
        let prefix = format!(
            r#"{{"position":{},"hash":"{}","event":{stored}"#,
            logged.event.position,
            to_hex(&logged.hash)
        );
        assert!(line.starts_with(&prefix), "{line}");
    }
    let fingerprinted = lines
        .iter()
        .filter(|line| line.contains("\"request_fingerprint\":"))
        .count();
    assert_eq!(fingerprinted, fixture.requests.len());
    assert_eq!(
        lines[lines.len() - 1],
        format!(
            r#"{{"end":{{"events":{last},"head":"{}"}}}}"#,
            to_hex(&log.last().unwrap().hash)
        )
    );
}

/// The export's lines, to edit.
fn export_lines() -> Vec<String> {
    fixture().export.lines().map(str::to_owned).collect()
}

fn joined(lines: &[String]) -> String {
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

fn import_error(lines: &[String]) -> TransferError {
    let (_dir, result) = import_text(&joined(lines));
    result.expect_err("a tampered export must be refused")
}

#[test]
fn an_altered_event_is_refused_at_its_position() {
    for position in [5, 1100] {
        let mut lines = export_lines();
        let line = &mut lines[position];
        let altered = line.replace(r#""actor":"tester""#, r#""actor":"mallory""#);
        assert_ne!(*line, altered);
        *line = altered;
        let error = import_error(&lines);
        let message = error.to_string();
        assert!(
            matches!(error, TransferError::Rejected { position: p, .. } if p == position as u64),
            "{message}"
        );
        assert!(
            message.contains(&format!("position {position}")),
            "{message}"
        );
        assert!(message.contains("chain"), "{message}");
        if position > 1000 {
            // The first batch was committed before the altered event was read.
            assert!(message.contains("first 1000 events"), "{message}");
            assert!(message.contains("remove the data directory"), "{message}");
        } else {
            assert!(message.contains("nothing was imported"), "{message}");
        }
    }
}

#[test]
fn a_dropped_line_is_refused_as_a_gap() {
    let mut lines = export_lines();
    lines.remove(7);
    let error = import_error(&lines);
    assert!(
        matches!(error, TransferError::Rejected { position: 8, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("expected position 7"), "{error}");
}

#[test]
fn swapped_lines_are_refused() {
    let mut lines = export_lines();
    lines.swap(10, 11);
    let error = import_error(&lines);
    assert!(
        matches!(error, TransferError::Rejected { position: 11, .. }),
        "{error}"
    );
}

#[test]
fn a_truncated_export_is_refused() {
    let mut lines = export_lines();
    lines.pop();
    let error = import_error(&lines);
    assert!(matches!(error, TransferError::Truncated { .. }), "{error}");
    assert!(error.to_string().contains("truncated"), "{error}");
    // Cut in the middle of a line: that line is no longer JSON.
    let text = fixture().export.as_str();
    let cut = text.match_indices("\"hash\"").nth(500).unwrap().0;
    let (_dir, result) = import_text(&text[..cut]);
    assert!(
        matches!(result, Err(TransferError::Malformed { .. })),
        "{result:?}"
    );
}

#[test]
fn malformed_json_is_refused_with_its_line_number() {
    let mut lines = export_lines();
    lines[3] = r#"{"position":3,"hash":"#.to_owned();
    let error = import_error(&lines);
    assert!(
        matches!(error, TransferError::Malformed { line: 4, .. }),
        "{error}"
    );
    assert!(error.to_string().starts_with("line 4: not JSON"), "{error}");
}

#[test]
fn unknown_fields_are_refused() {
    let mut lines = export_lines();
    lines[2] = lines[2].replacen('{', r#"{"comment":"x","#, 1);
    let error = import_error(&lines);
    assert!(
        matches!(error, TransferError::Malformed { line: 3, .. }),
        "{error}"
    );
    let mut lines = export_lines();
    lines[2] = lines[2].replacen(r#""event":{"#, r#""event":{"comment":"x","#, 1);
    let error = import_error(&lines);
    assert!(
        matches!(error, TransferError::Rejected { position: 2, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("\"comment\""), "{error}");
}

#[test]
fn a_store_that_holds_events_is_refused() {
    let text = &fixture().export;
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path(), &SledOptions::default()).unwrap();
    wait(transfer::import(&store, &mut text.as_bytes(), &mut |_| {})).unwrap();
    let error = wait(transfer::import(&store, &mut text.as_bytes(), &mut |_| {})).unwrap_err();
    assert!(matches!(error, TransferError::NotEmpty { .. }), "{error}");
}

/// A forger's change to one event.
type Edit = dyn FnOnce(&mut RecordedEvent);

/// Applies `edit` to the event at `position` and recomputes every hash after it, as a forger
/// would: the chain is consistent again, so only the history checks can catch it.
fn forged(position: usize, edit: impl FnOnce(&mut RecordedEvent)) -> Vec<String> {
    let mut edit = Some(edit);
    let mut lines = export_lines();
    let mut head = GENESIS;
    let count = lines.len() - 2;
    for line in &mut lines[1..=count] {
        let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
        let mut event: RecordedEvent = serde_json::from_value(value["event"].take()).unwrap();
        if event.position == position as u64
            && let Some(edit) = edit.take()
        {
            edit(&mut event);
        }
        head = link(&head, &event_bytes(&event).unwrap());
        value["event"] = serde_json::to_value(&event).unwrap();
        value["hash"] = to_hex(&head).into();
        *line = value.to_string();
    }
    lines[count + 1] = format!(
        r#"{{"end":{{"events":{count},"head":"{}"}}}}"#,
        to_hex(&head)
    );
    lines
}

#[test]
fn a_forged_chain_still_cannot_import_an_impossible_history() {
    // The forger's own tool works: an unedited re-hash imports.
    let (_dir, result) = import_text(&joined(&forged(0, |_| {})));
    result.unwrap();

    let log = fixture().store.events(EventScope::All, 0, 100).unwrap();
    let position_of = |kind: &str| {
        log.iter()
            .find(|l| format!("{:?}", l.event.data.kind()) == kind)
            .unwrap()
            .event
            .position as usize
    };
    let cases: Vec<(usize, Box<Edit>, &str)> = vec![
        (
            position_of("ReplySigned"),
            Box::new(|e| e.to_state = ProposalState::Copied),
            "not a move of the lifecycle",
        ),
        (
            position_of("ProposalAssigned"),
            Box::new(|e| e.sequence = 5),
            "sequence",
        ),
        (
            position_of("ReplyDrafted"),
            Box::new(|e| e.from_state = Some(ProposalState::Signed)),
            "starts from SIGNED",
        ),
        (
            2,
            Box::new(|e| {
                if let proposal_service::domain::EventData::ProposalReceived { number, .. } =
                    &mut e.data
                {
                    *number = 1;
                }
            }),
            "already taken",
        ),
        (
            3,
            Box::new(|e| e.occurred_at = proposal_service::domain::Timestamp::from_unix_nanos(0)),
            "dated before",
        ),
        // The other side of a merge names another proposal than the one merged.
        (
            position_of("MergeJoined"),
            Box::new(move |e| {
                if let proposal_service::domain::EventData::MergeJoined { merged } = &mut e.data {
                    merged.id = e.proposal_id;
                }
            }),
            "must be",
        ),
    ];
    for (position, edit, expected) in cases {
        let error = import_error(&forged(position, edit));
        let message = error.to_string();
        assert!(
            matches!(error, TransferError::Rejected { position: p, .. } if p == position as u64),
            "{message}"
        );
        assert!(message.contains(expected), "{expected:?}: {message}");
    }
}
