//! Strategies for hostile input: any string a caller could send (controls, odd Unicode, lengths
//! around every limit), and every request built from them, or from bytes that are not a
//! request at all. Shared by the in-process properties (`hostile_input.rs`) and the ones over
//! gRPC (`hostile_reads.rs`, `hostile_walks.rs`).

use proposal_service::pb;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::{Config, FileFailurePersistence};

use super::requests::{CommandFields, CommandRequest};

/// Cases per run: `default_cases` unless PROPTEST_CASES says otherwise. Failures are kept next
/// to `source_file` (pass `file!()`), so each test file replays its own regressions.
pub fn config(default_cases: u32, source_file: &'static str) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(default_cases);
    Config {
        cases,
        source_file: Some(source_file),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        max_shrink_iters: 4096,
        ..Config::default()
    }
}

/// A runtime for properties over gRPC, which run their cases synchronously.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A value for a failure message, cut short: some carry 100,000 characters.
pub fn short(value: &impl std::fmt::Debug) -> String {
    format!("{value:?}").chars().take(600).collect()
}

// ----- Strategies -----------------------------------------------------------------------------

/// Characters that tend to break things: controls (C0, DEL, C1), Unicode spaces, invisible and
/// combining characters, wide and astral characters.
pub const ODD: &[char] = &[
    'a',
    'Z',
    '7',
    '-',
    ' ',
    '\t',
    '\n',
    '\r',
    '\u{0}',
    '\u{7}',
    '\u{1b}',
    '\u{7f}',
    '\u{85}',
    '\u{9f}',
    '\u{a0}',
    '\u{2028}',
    '\u{3000}',
    '\u{200b}',
    '\u{feff}',
    '\u{fffd}',
    '\u{301}',
    '许',
    '〔',
    '😀',
    '\u{e000}',
    '\u{10ffff}',
];
/// Fillers for long strings: printable, one to four bytes in UTF-8.
pub const FILL: &[char] = &['a', 'é', '许', '😀'];
/// Lengths in characters around every limit.
pub const LENGTHS: &[usize] = &[
    0, 1, 2, 35, 36, 37, 49, 50, 51, 99, 100, 101, 127, 128, 129, 199, 200, 201, 499, 500, 501,
    4_999, 5_000, 5_001, 99_999, 100_000, 100_001,
];

/// Any string a caller could send.
pub fn hostile() -> BoxedStrategy<String> {
    prop_oneof![
        4 => prop::collection::vec(select(ODD), 0..12).prop_map(String::from_iter),
        3 => prop::collection::vec(any::<char>(), 0..24).prop_map(String::from_iter),
        1 => Just(String::new()),
        1 => (select(LENGTHS), select(FILL), prop::option::of((any::<Index>(), select(ODD))))
            .prop_map(|(len, fill, odd)| {
                let mut chars = vec![fill; len];
                if let Some((at, c)) = odd
                    && len > 0
                {
                    chars[at.index(len)] = c;
                }
                String::from_iter(chars)
            }),
    ]
    .boxed()
}

/// Mostly a plausible value from `valid`, otherwise anything.
pub fn field(valid: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        6 => select(valid).prop_map(str::to_owned),
        1 => hostile(),
    ]
}

pub const NAMES: &[&str] = &[
    "许昌市政协",
    "许昌市生态环境局",
    "李光亚",
    "Office of A. B.",
];
pub const TEXTS: &[&str] = &[
    "加强环境保护。",
    "现答复如下：\n一、工作开展情况\r\n\t（一）",
    "x",
];
pub const PHONES: &[&str] = &["6069516", "0374-1234567", ""];

/// Document numbers: mostly distinct, sometimes repeated, or anything.
pub fn document_number() -> BoxedStrategy<String> {
    prop_oneof![
        2 => (0u32..100_000).prop_map(|n| format!("许环〔2019〕{n}号")),
        1 => select(&["许环〔2019〕13号", "A-1"][..]).prop_map(str::to_owned),
        1 => hostile(),
    ]
    .boxed()
}

/// Lists of names: a few (valid, hostile, repeated), or around the 100-entry limit.
pub fn names() -> BoxedStrategy<Vec<String>> {
    prop_oneof![
        1 => Just(Vec::new()),
        12 => prop::collection::vec(field(NAMES), 1..4),
        1 => (hostile(), 2usize..=3).prop_map(|(name, count)| vec![name; count]),
        1 => (99usize..=101, any::<bool>()).prop_map(|(count, repeat)| {
            let mut names: Vec<String> = (0..count).map(|i| format!("单位{i}")).collect();
            if repeat {
                names[count - 1] = names[0].clone();
            }
            names
        }),
    ]
    .boxed()
}

/// Dates: real and unreal `YYYY-MM-DD`s (month 13, February 29th, year 0), or anything.
pub fn date() -> BoxedStrategy<String> {
    prop_oneof![
        6 => (
            prop_oneof![
                1 => Just(0u32),
                1 => Just(1),
                6 => 1899u32..2101,
                1 => Just(9999),
                1 => Just(10000),
            ],
            prop_oneof![8 => 1u32..=12, 1 => 0u32..=13],
            prop_oneof![8 => 1u32..=28, 1 => 0u32..=32],
        )
            .prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
        1 => Just(String::new()),
        1 => hostile(),
    ]
    .boxed()
}

/// Proposal ids: well-formed UUIDs in either case, near misses, or anything.
pub fn proposal_id() -> BoxedStrategy<String> {
    let uuid = (any::<[u8; 16]>(), any::<bool>()).prop_map(|(bytes, upper)| {
        let text = uuid::Uuid::from_bytes(bytes).hyphenated().to_string();
        if upper { text.to_uppercase() } else { text }
    });
    let near_miss = (any::<[u8; 16]>(), any::<Index>(), select(ODD)).prop_map(|(b, at, c)| {
        let mut chars: Vec<char> = uuid::Uuid::from_bytes(b)
            .hyphenated()
            .to_string()
            .chars()
            .collect();
        chars[at.index(36)] = c;
        String::from_iter(chars)
    });
    prop_oneof![
        12 => uuid,
        1 => near_miss,
        1 => Just(String::new()),
        1 => hostile(),
    ]
    .boxed()
}

pub fn request_id() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just(String::new()),
        4 => "[a-z0-9-]{1,40}",
        1 => (127usize..=129).prop_map(|n| "k".repeat(n)),
        1 => hostile(),
    ]
}

pub fn number() -> impl Strategy<Value = u32> {
    prop_oneof![
        1 => Just(0u32),
        2 => Just(1),
        2 => Just(u32::MAX),
        8 => any::<u32>(),
    ]
}

pub fn enum_value() -> impl Strategy<Value = i32> {
    prop_oneof![4 => -1i32..=7, 1 => any::<i32>()]
}

pub fn version() -> impl Strategy<Value = Option<u64>> {
    prop_oneof![
        Just(None),
        Just(Some(0)),
        Just(Some(u64::MAX)),
        any::<Option<u64>>()
    ]
}

pub fn receive_request() -> BoxedStrategy<pb::ReceiveProposalRequest> {
    (
        (field(NAMES), field(&["七届三次会议"]), number()),
        (
            field(&["关于加强我市环境保护的提案"]),
            names(),
            field(TEXTS),
        ),
        (
            request_id(),
            field(NAMES),
            effective_date(),
            proposer_kind(),
        ),
    )
        .prop_map(
            |(
                (committee, session, number),
                (title, proposers, content),
                (request_id, actor, effective_date, proposer_kind),
            )| {
                pb::ReceiveProposalRequest {
                    committee,
                    session,
                    number,
                    title,
                    proposers,
                    content,
                    request_id,
                    actor,
                    effective_date,
                    proposer_kind,
                }
            },
        )
        .boxed()
}

/// Effective dates: mostly none, else any [`date`].
pub fn effective_date() -> BoxedStrategy<String> {
    prop_oneof![3 => Just(String::new()), 1 => date()].boxed()
}

/// Proposer kinds: the proto's values (0 means members), or any number.
fn proposer_kind() -> BoxedStrategy<i32> {
    prop_oneof![4 => 0i32..=5, 1 => enum_value()].boxed()
}

/// The fields every command on an existing proposal has.
pub fn envelope() -> impl Strategy<Value = (String, Option<u64>, String, String)> {
    (proposal_id(), version(), request_id(), field(NAMES))
}

/// Requests on an existing proposal: the [`envelope`], and the command's own fields from
/// `fields`, put in place by `fill`.
fn on_existing<R, V>(
    fields: impl Strategy<Value = V> + 'static,
    fill: fn(&mut R, V),
) -> BoxedStrategy<R>
where
    R: CommandFields + Default + std::fmt::Debug + 'static,
    V: std::fmt::Debug + 'static,
{
    (envelope(), effective_date(), fields)
        .prop_map(
            move |((proposal_id, expected_version, request_id, actor), effective_date, values)| {
                let mut request = R::default();
                *request.proposal_id_mut().expect("a request on a proposal") = proposal_id;
                *request
                    .expected_version_mut()
                    .expect("a request on a proposal") = expected_version;
                *request.request_id_mut() = request_id;
                *request.actor_mut() = actor;
                *request.effective_date_mut() = effective_date;
                fill(&mut request, values);
                request
            },
        )
        .boxed()
}

pub fn assign_request() -> BoxedStrategy<pb::AssignProposalRequest> {
    let due_date = prop_oneof![Just(String::new()), date()];
    on_existing((field(NAMES), due_date), |r, (handling_unit, due_date)| {
        r.handling_unit = handling_unit;
        r.due_date = due_date;
    })
}

pub fn return_request() -> BoxedStrategy<pb::ReturnProposalRequest> {
    on_existing(field(TEXTS), |r, reason| r.reason = reason)
}

pub fn reply() -> BoxedStrategy<Option<pb::Reply>> {
    let reply = (
        field(TEXTS),
        prop_oneof![3 => 1i32..=3, 1 => enum_value()],
        field(NAMES),
        field(PHONES),
    )
        .prop_map(
            |(body, result_code, contact_unit, contact_phone)| pb::Reply {
                body,
                result_code,
                contact_unit,
                contact_phone,
            },
        );
    prop_oneof![6 => reply.prop_map(Some), 1 => Just(None)].boxed()
}

/// A split unit's name, or none.
fn optional_unit() -> BoxedStrategy<String> {
    prop_oneof![Just(String::new()), field(NAMES)].boxed()
}

pub fn draft_request() -> BoxedStrategy<pb::DraftReplyRequest> {
    on_existing((reply(), optional_unit()), |r, (reply, handling_unit)| {
        r.reply = reply;
        r.handling_unit = handling_unit;
    })
}

pub fn reject_request() -> BoxedStrategy<pb::RejectDraftRequest> {
    on_existing(field(TEXTS), |r, reason| r.reason = reason)
}

pub fn sign_request() -> BoxedStrategy<pb::SignReplyRequest> {
    let sign_date = prop_oneof![Just(String::new()), date()];
    on_existing((field(NAMES), sign_date), |r, (signer, sign_date)| {
        r.signer = signer;
        r.sign_date = sign_date;
    })
}

pub fn issue_request() -> BoxedStrategy<pb::IssueReplyRequest> {
    let fields = (
        document_number(),
        date(),
        field(NAMES),
        optional_unit(),
        names(),
        any::<Option<bool>>(),
    );
    on_existing(
        fields,
        |r, (document_number, issue_date, issuing_office, handling_unit, copy_to, public)| {
            r.document_number = document_number;
            r.issue_date = issue_date;
            r.issuing_office = issuing_office;
            r.handling_unit = handling_unit;
            r.copy_to = copy_to;
            r.public = public;
        },
    )
}

pub fn copy_request() -> BoxedStrategy<pb::CopyReplyRequest> {
    on_existing(names(), |r, recipients| r.recipients = recipients)
}

pub fn refuse_request() -> BoxedStrategy<pb::RefuseProposalRequest> {
    let forwarded_to = prop_oneof![Just(String::new()), field(NAMES)];
    on_existing((field(TEXTS), forwarded_to), |r, (reason, forwarded_to)| {
        r.reason = reason;
        r.forwarded_to = forwarded_to;
    })
}

/// Any mutating request.
pub fn any_request() -> BoxedStrategy<CommandRequest> {
    prop_oneof![
        receive_request().prop_map(CommandRequest::Receive),
        assign_request().prop_map(CommandRequest::Assign),
        return_request().prop_map(CommandRequest::Return),
        draft_request().prop_map(CommandRequest::Draft),
        reject_request().prop_map(CommandRequest::RejectDraft),
        sign_request().prop_map(CommandRequest::Sign),
        issue_request().prop_map(CommandRequest::Issue),
        copy_request().prop_map(CommandRequest::Copy),
        refuse_request().prop_map(CommandRequest::Refuse),
    ]
    .boxed()
}

/// Bytes: random, or an encoded request with some bytes overwritten and maybe cut short.
pub fn bytes() -> BoxedStrategy<Vec<u8>> {
    let mutated = (
        any_request(),
        prop::collection::vec((any::<Index>(), any::<u8>()), 0..6),
        prop::option::of(any::<Index>()),
    )
        .prop_map(|(request, flips, cut)| {
            let mut bytes = request.encode_to_vec();
            if !bytes.is_empty() {
                for (at, byte) in flips {
                    let at = at.index(bytes.len());
                    bytes[at] = byte;
                }
                if let Some(cut) = cut {
                    bytes.truncate(cut.index(bytes.len()));
                }
            }
            bytes
        });
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..256),
        2 => mutated,
    ]
    .boxed()
}
