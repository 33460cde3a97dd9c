//! Golden encodings of stored records. The files under `golden/` were written by this store
//! (events by event schema 1, status records by store format 5); if a change to the domain types alters how a stored record encodes or decodes,
//! these tests fail, and the change needs a new schema version and a migration instead.

use super::records::{self, Sources, StatusRecord};
use crate::domain::{
    CalendarDate, EVENT_SCHEMA_VERSION, EventData, ProposalId, ProposalState, RecordedEvent, Reply,
    ResultCode, Timestamp, fold,
};

const EVENTS_V1: &str = include_str!("golden/events_v1.jsonl");

fn event(
    sequence: u64,
    from: Option<ProposalState>,
    to: ProposalState,
    data: EventData,
) -> RecordedEvent {
    RecordedEvent {
        schema: 1,
        proposal_id: ProposalId::parse("0190a4e2-7c1b-7d3e-9f00-5a1b2c3d4e5f").unwrap(),
        sequence,
        position: 100 + sequence,
        occurred_at: Timestamp::from_unix_nanos(1_569_715_200_000_000_000 + sequence as i64),
        actor: "提案委登记员".into(),
        request_id: sequence
            .is_multiple_of(2)
            .then(|| format!("req-{sequence}")),
        from_state: from,
        to_state: to,
        data,
    }
}

/// One event of every kind, as format 1 wrote them.
fn expected() -> Vec<RecordedEvent> {
    use ProposalState as S;
    let date = |text| CalendarDate::parse(text).unwrap();
    vec![
        event(
            1,
            None,
            S::Received,
            EventData::ProposalReceived {
                committee: "许昌市政协".into(),
                session: "七届三次会议".into(),
                number: 228,
                title: "关于加强我市环境保护的提案".into(),
                proposers: vec!["苏会兴".into()],
                content: "建议加强我市环境保护工作。\n第二段。".into(),
            },
        ),
        event(
            2,
            Some(S::Received),
            S::Assigned,
            EventData::ProposalAssigned {
                handling_unit: "许昌市生态环境局".into(),
                due_date: Some(date("2019-08-31")),
            },
        ),
        event(
            3,
            Some(S::Assigned),
            S::Received,
            EventData::ProposalReturned {
                reason: "不属于本单位职责".into(),
            },
        ),
        event(
            4,
            Some(S::Received),
            S::Assigned,
            EventData::ProposalAssigned {
                handling_unit: "许昌市生态环境局".into(),
                due_date: None,
            },
        ),
        event(
            5,
            Some(S::Assigned),
            S::Drafted,
            EventData::ReplyDrafted {
                reply: Reply {
                    body: "现答复如下：\n一、工作开展情况".into(),
                    result_code: ResultCode::B,
                    contact_unit: "许昌市生态环境局综合科".into(),
                    contact_phone: "6069516".into(),
                },
                revision: false,
            },
        ),
        event(
            6,
            Some(S::Drafted),
            S::Assigned,
            EventData::DraftRejected {
                reason: "请补充下一步打算".into(),
            },
        ),
        event(
            7,
            Some(S::Assigned),
            S::Drafted,
            EventData::ReplyDrafted {
                reply: Reply {
                    body: "现答复如下。".into(),
                    result_code: ResultCode::A,
                    contact_unit: String::new(),
                    contact_phone: String::new(),
                },
                revision: false,
            },
        ),
        event(
            8,
            Some(S::Drafted),
            S::Signed,
            EventData::ReplySigned {
                signer: "李光亚".into(),
            },
        ),
        event(
            9,
            Some(S::Signed),
            S::Issued,
            EventData::ReplyIssued {
                document_number: "许环〔2019〕13号".into(),
                issue_date: date("2019-09-29"),
                issuing_office: "许昌市生态环境局办公室".into(),
            },
        ),
        event(
            10,
            Some(S::Issued),
            S::Copied,
            EventData::ReplyCopied {
                recipients: vec!["市政协提案委".into(), "市政府督查室".into()],
            },
        ),
    ]
}

#[test]
fn format_1_events_decode_to_the_same_values_and_encode_to_the_same_bytes() {
    assert_eq!(
        EVENT_SCHEMA_VERSION, 1,
        "a new schema version needs its own golden file"
    );
    let lines: Vec<&str> = EVENTS_V1.lines().collect();
    let expected = expected();
    assert_eq!(lines.len(), expected.len());
    for (line, event) in lines.iter().zip(&expected) {
        let decoded: RecordedEvent = serde_json::from_str(line).expect("a golden event decodes");
        assert_eq!(&decoded, event);
        assert_eq!(serde_json::to_string(event).unwrap(), *line);
    }
}

/// The chain over the golden events, from the genesis hash. If this changes, every stored
/// chain would fail verification: the hash function or the canonical bytes changed.
#[test]
fn the_chain_over_format_1_events_is_pinned() {
    let mut hash = super::GENESIS;
    for line in EVENTS_V1.lines() {
        let event: RecordedEvent = serde_json::from_str(line).unwrap();
        let bytes = super::event_bytes(&event).unwrap();
        assert_eq!(
            bytes,
            line.as_bytes(),
            "the canonical bytes are the golden line"
        );
        hash = super::link(&hash, &bytes);
    }
    assert_eq!(super::to_hex(&hash), PINNED_HEAD);
}

const PINNED_HEAD: &str = "13afbe5572c05ee9c581f4b5df4d6a8d4c31031d01d475081948060b84454e0f";

const STATUS_V5: &str = include_str!("golden/status_v5.json");

/// The status records of the proposal the golden events describe, after each event: what
/// format 5 stores under `proposals` (the projection without the content and the reply, which
/// it names by the events that carry them).
fn statuses() -> Vec<StatusRecord> {
    let events = expected();
    (1..=events.len())
        .map(|n| {
            let history = &events[..n];
            let proposal = fold(history).expect("a history of at least one event");
            let sources = Sources::after(None, history).expect("the history registers it");
            records::status(&proposal, sources)
        })
        .collect()
}

/// If a change to the projection alters how a status record encodes or decodes, every stored
/// proposal would read differently (or not at all): this fails first, and the change needs a
/// new store format and `export`/`import`.
#[test]
fn format_5_status_records_decode_to_the_same_values_and_encode_to_the_same_bytes() {
    let lines: Vec<&str> = STATUS_V5.lines().collect();
    let statuses = statuses();
    assert_eq!(lines.len(), statuses.len());
    for (line, status) in lines.iter().zip(&statuses) {
        let decoded: StatusRecord =
            super::sled_store::decode(line.as_bytes(), "a golden status").unwrap();
        assert_eq!(&decoded, status);
        assert_eq!(super::sled_store::encode(status).unwrap(), line.as_bytes());
    }
}

#[test]
#[ignore = "writes the golden files; run only when introducing a new format on purpose"]
fn write_golden_files() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/store/golden");
    let text: String = expected()
        .iter()
        .map(|e| serde_json::to_string(e).unwrap() + "\n")
        .collect();
    std::fs::write(format!("{dir}/events_v1.jsonl"), text).unwrap();
    let text: String = statuses()
        .iter()
        .map(|s| String::from_utf8(super::sled_store::encode(s).unwrap()).unwrap() + "\n")
        .collect();
    std::fs::write(format!("{dir}/status_v5.json"), text).unwrap();
}
