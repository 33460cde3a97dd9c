mod common;

// The event log over real gRPC: ListEvents against a reference filter written here, VerifyHistory
// on a clean and on a tampered store, WatchEvents under concurrent writers, across a restart and
// at shutdown, and RenderReply of the seed proposal No. 228.
//
// The reference: every expected listing or stream is the whole log (read page by page) filtered
// by `Filter::matches`, whose handling-unit rule is this file's own walk of each proposal's
// events (`event_units`), not the server's.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use common::{Client, TestServer};
use proposal_service::pb;
use proposal_service::pb::proposal_event::Data;
use proposal_service::pb::{EventKind as Kind, ProposalState as State};
use proposal_service::seed;
use proposal_service::server::ServeOptions;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::{Code, Status, Streaming};
use tonic_types::StatusExt;

const COMMITTEE: &str = "许昌市政协";
const SESSION: &str = "七届三次会议";
const UNIT_A: &str = "许昌市生态环境局";
const UNIT_B: &str = "许昌市教育局";

const REGISTRAR_1: &str = "提案委登记员甲";
const REGISTRAR_2: &str = "提案委登记员乙";
const CLERK_A: &str = "生态环境局经办人";
const CLERK_B: &str = "教育局经办人";
const LEADER_A: &str = "李光亚";
const LEADER_B: &str = "王局长";
const OFFICE: &str = "办公室收发员";

/// How long anything that should happen promptly may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// Driving proposals
// ---------------------------------------------------------------------------------------------

/// One mutating call after registration.
#[derive(Clone, Copy, Debug)]
enum Step {
    Assign(&'static str),
    Return,
    /// A draft (a revision when the proposal is already DRAFTED).
    Draft,
    Reject,
    Sign,
    Issue,
    Copy,
}

/// A proposal's calls after registration, each with its actor.
type Plan = Vec<(Step, &'static str)>;

fn forward(unit: &'static str, clerk: &'static str, leader: &'static str) -> Plan {
    vec![
        (Step::Assign(unit), REGISTRAR_1),
        (Step::Draft, clerk),
        (Step::Sign, leader),
        (Step::Issue, OFFICE),
        (Step::Copy, OFFICE),
    ]
}

/// Assigned to A, returned by A, re-assigned to B and handled to the end there.
fn returned_and_reassigned() -> Plan {
    vec![
        (Step::Assign(UNIT_A), REGISTRAR_2),
        (Step::Return, CLERK_A),
        (Step::Assign(UNIT_B), REGISTRAR_1),
        (Step::Draft, CLERK_B),
        (Step::Sign, LEADER_B),
        (Step::Issue, OFFICE),
        (Step::Copy, OFFICE),
    ]
}

/// Handled by B: a draft rejected, drafted again, revised, then signed and issued.
fn rejected_and_revised() -> Plan {
    vec![
        (Step::Assign(UNIT_B), REGISTRAR_2),
        (Step::Draft, CLERK_B),
        (Step::Reject, LEADER_B),
        (Step::Draft, CLERK_B),
        (Step::Draft, CLERK_B),
        (Step::Sign, LEADER_B),
        (Step::Issue, OFFICE),
    ]
}

/// A reply body of about `chars` characters.
fn reply(number: u32, chars: usize) -> pb::Reply {
    let filler = "一、工作开展情况良好，成效明显。".repeat(chars / 16 + 1);
    pb::Reply {
        body: format!("您提出的第{number}号提案收悉。现答复如下：\n{filler}"),
        result_code: pb::ResultCode::B as i32,
        contact_unit: "综合科".into(),
        contact_phone: "6060000".into(),
    }
}

async fn receive(client: &Client, number: u32, actor: &str) -> String {
    let request = pb::ReceiveProposalRequest {
        committee: COMMITTEE.into(),
        session: SESSION.into(),
        number,
        title: format!("关于第{number}号事项的提案"),
        proposers: vec!["张委员".into(), "李委员".into()],
        content: format!("第{number}号提案：建议一。建议二。"),
        request_id: format!("receive/{number}"),
        actor: actor.into(),
    };
    client
        .clone()
        .receive_proposal(request)
        .await
        .unwrap_or_else(|s| panic!("receiving No. {number}: {s:?}"))
        .into_inner()
        .proposal
        .expect("the proposal")
        .id
}

/// Sends `step` for proposal `id` (registered as `number`); `body_chars` sizes a draft.
async fn act(client: &Client, id: &str, number: u32, step: Step, actor: &str, body_chars: usize) {
    let mut client = client.clone();
    let proposal_id = id.to_owned();
    let request_id = uuid::Uuid::now_v7().to_string();
    let actor = actor.to_owned();
    let result = match step {
        Step::Assign(unit) => client
            .assign_proposal(pb::AssignProposalRequest {
                proposal_id,
                handling_unit: unit.into(),
                due_date: "2019-12-31".into(),
                expected_version: None,
                request_id,
                actor,
            })
            .await
            .map(drop),
        Step::Return => client
            .return_proposal(pb::ReturnProposalRequest {
                proposal_id,
                reason: "不属于本单位职责".into(),
                expected_version: None,
                request_id,
                actor,
            })
            .await
            .map(drop),
        Step::Draft => client
            .draft_reply(pb::DraftReplyRequest {
                proposal_id,
                reply: Some(reply(number, body_chars)),
                expected_version: None,
                request_id,
                actor,
            })
            .await
            .map(drop),
        Step::Reject => client
            .reject_draft(pb::RejectDraftRequest {
                proposal_id,
                reason: "答复内容不具体".into(),
                expected_version: None,
                request_id,
                actor,
            })
            .await
            .map(drop),
        Step::Sign => client
            .sign_reply(pb::SignReplyRequest {
                proposal_id,
                signer: actor.clone(),
                expected_version: None,
                request_id,
                actor,
            })
            .await
            .map(drop),
        Step::Issue => client
            .issue_reply(pb::IssueReplyRequest {
                proposal_id,
                document_number: format!("测试〔2019〕{number}号"),
                issue_date: "2019-10-15".into(),
                issuing_office: "办公室".into(),
                expected_version: None,
                request_id,
                actor,
            })
            .await
            .map(drop),
        Step::Copy => client
            .copy_reply(pb::CopyReplyRequest {
                proposal_id,
                recipients: vec!["市政协提案委".into(), "市政府督查室".into()],
                expected_version: None,
                request_id,
                actor,
            })
            .await
            .map(drop),
    };
    result.unwrap_or_else(|s| panic!("{step:?} on No. {number}: {s:?}"));
}

/// Registers proposal `number` and runs `plan` on it; returns its id and the events caused.
async fn drive(
    client: &Client,
    number: u32,
    plan: &[(Step, &str)],
    body_chars: usize,
) -> (String, usize) {
    let id = receive(client, number, REGISTRAR_1).await;
    for (step, actor) in plan {
        act(client, &id, number, *step, actor, body_chars).await;
    }
    (id, plan.len() + 1)
}

// ---------------------------------------------------------------------------------------------
// Reading the log, and the reference filter
// ---------------------------------------------------------------------------------------------

/// Filters as ListEvents takes them; unset ones match everything.
#[derive(Clone, Debug, Default)]
struct Filter {
    occurred_after: Option<prost_types::Timestamp>,
    occurred_before: Option<prost_types::Timestamp>,
    actor: String,
    kinds: Vec<Kind>,
    handling_unit: String,
    to_state: Option<State>,
    proposal_id: String,
}

/// Builders, for one-line cases.
impl Filter {
    fn after(self, t: prost_types::Timestamp) -> Self {
        Self {
            occurred_after: Some(t),
            ..self
        }
    }
    fn before(self, t: prost_types::Timestamp) -> Self {
        Self {
            occurred_before: Some(t),
            ..self
        }
    }
    fn actor(self, actor: &str) -> Self {
        Self {
            actor: actor.into(),
            ..self
        }
    }
    fn kinds(self, kinds: &[Kind]) -> Self {
        Self {
            kinds: kinds.to_vec(),
            ..self
        }
    }
    fn unit(self, unit: &str) -> Self {
        Self {
            handling_unit: unit.into(),
            ..self
        }
    }
    fn to(self, state: State) -> Self {
        Self {
            to_state: Some(state),
            ..self
        }
    }
    fn proposal(self, id: &str) -> Self {
        Self {
            proposal_id: id.into(),
            ..self
        }
    }
}

impl Filter {
    fn list_request(&self, page_size: i32, page_token: String) -> pb::ListEventsRequest {
        pb::ListEventsRequest {
            occurred_after: self.occurred_after,
            occurred_before: self.occurred_before,
            actor: self.actor.clone(),
            kinds: self.kinds.iter().map(|k| *k as i32).collect(),
            handling_unit: self.handling_unit.clone(),
            to_state: self.to_state.map_or(0, |s| s as i32),
            proposal_id: self.proposal_id.clone(),
            page_size,
            page_token,
        }
    }

    fn watch_request(&self, after_position: u64) -> pb::WatchEventsRequest {
        assert!(
            self.occurred_after.is_none()
                && self.occurred_before.is_none()
                && self.actor.is_empty()
                && self.to_state.is_none(),
            "WatchEvents has no such filters: {self:?}"
        );
        pb::WatchEventsRequest {
            after_position,
            proposal_id: self.proposal_id.clone(),
            kinds: self.kinds.iter().map(|k| *k as i32).collect(),
            handling_unit: self.handling_unit.clone(),
        }
    }

    /// The reference: whether `event`, which concerns `unit`, matches.
    fn matches(&self, event: &pb::ProposalEvent, unit: Option<&str>) -> bool {
        let at = nanos(event.occurred_at.as_ref().expect("occurred_at"));
        self.occurred_after.is_none_or(|t| at >= nanos(&t))
            && self.occurred_before.is_none_or(|t| at < nanos(&t))
            && (self.actor.is_empty() || self.actor == event.actor)
            && (self.kinds.is_empty() || self.kinds.contains(&kind(event)))
            && (self.handling_unit.is_empty() || Some(self.handling_unit.as_str()) == unit)
            && self.to_state.is_none_or(|s| s as i32 == event.to_state)
            && (self.proposal_id.is_empty() || self.proposal_id == event.proposal_id)
    }

    /// The events of `log` after `after_position` that match.
    fn expected(&self, log: &[pb::ProposalEvent], after_position: u64) -> Vec<pb::ProposalEvent> {
        let units = event_units(log);
        log.iter()
            .filter(|e| {
                e.position > after_position && self.matches(e, units[&e.position].as_deref())
            })
            .cloned()
            .collect()
    }
}

fn nanos(t: &prost_types::Timestamp) -> i128 {
    i128::from(t.seconds) * 1_000_000_000 + i128::from(t.nanos)
}

fn shifted(t: prost_types::Timestamp, by_nanos: i128) -> prost_types::Timestamp {
    let n = nanos(&t) + by_nanos;
    prost_types::Timestamp {
        seconds: n.div_euclid(1_000_000_000) as i64,
        nanos: n.rem_euclid(1_000_000_000) as i32,
    }
}

fn kind(event: &pb::ProposalEvent) -> Kind {
    match event.data.as_ref().expect("event data") {
        Data::Received(_) => Kind::ProposalReceived,
        Data::Assigned(_) => Kind::ProposalAssigned,
        Data::Returned(_) => Kind::ProposalReturned,
        Data::Drafted(_) => Kind::ReplyDrafted,
        Data::DraftRejected(_) => Kind::DraftRejected,
        Data::Signed(_) => Kind::ReplySigned,
        Data::Issued(_) => Kind::ReplyIssued,
        Data::Copied(_) => Kind::ReplyCopied,
    }
}

/// The unit each event concerns, by position, from walking each proposal's events in order:
/// an assignment concerns the unit assigned, a return the unit that returned it, any other
/// event the unit handling the proposal (none while unassigned).
fn event_units(log: &[pb::ProposalEvent]) -> HashMap<u64, Option<String>> {
    let mut handling: HashMap<&str, Option<String>> = HashMap::new();
    let mut units = HashMap::new();
    for event in log {
        let current = handling.entry(event.proposal_id.as_str()).or_default();
        let unit = match event.data.as_ref() {
            Some(Data::Assigned(a)) => {
                *current = Some(a.handling_unit.clone());
                current.clone()
            }
            Some(Data::Returned(_)) => current.take(),
            _ => current.clone(),
        };
        units.insert(event.position, unit);
    }
    units
}

/// Every page of ListEvents for `filter`; checks each page's size. Returns the events and
/// the number of pages.
async fn list_pages(
    client: &Client,
    filter: &Filter,
    page_size: i32,
) -> (Vec<pb::ProposalEvent>, usize) {
    let mut client = client.clone();
    let mut events = Vec::new();
    let mut token = String::new();
    for pages in 1..=10_000 {
        let page = client
            .list_events(filter.list_request(page_size, token))
            .await
            .unwrap_or_else(|s| panic!("ListEvents {filter:?}: {s:?}"))
            .into_inner();
        assert!(
            page.events.len() <= page_size as usize,
            "a page holds at most page_size events: {} > {page_size}",
            page.events.len()
        );
        events.extend(page.events);
        if page.next_page_token.is_empty() {
            return (events, pages);
        }
        token = page.next_page_token;
    }
    panic!("ListEvents {filter:?} never reached its last page");
}

async fn whole_log(client: &Client) -> Vec<pb::ProposalEvent> {
    list_pages(client, &Filter::default(), 100).await.0
}

async fn history(client: &Client, id: &str) -> Vec<pb::ProposalEvent> {
    let mut client = client.clone();
    let mut events = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .get_proposal_history(pb::GetProposalHistoryRequest {
                proposal_id: id.into(),
                page_size: 3,
                page_token,
            })
            .await
            .unwrap_or_else(|s| panic!("history of {id}: {s:?}"))
            .into_inner();
        events.extend(page.events);
        if page.next_page_token.is_empty() {
            return events;
        }
        page_token = page.next_page_token;
    }
}

fn positions(events: &[pb::ProposalEvent]) -> Vec<u64> {
    events.iter().map(|e| e.position).collect()
}

/// Fails unless the log holds positions 1..=n in order.
fn assert_gapless(log: &[pb::ProposalEvent]) {
    let expected: Vec<u64> = (1..=log.len() as u64).collect();
    assert_eq!(positions(log), expected, "positions run 1..N without gap");
}

/// Asserts the status's code and ErrorInfo reason; returns its metadata.
fn error_info(status: &Status, code: Code, reason: &str) -> HashMap<String, String> {
    assert_eq!(status.code(), code, "{status:?}");
    let info = status
        .get_details_error_info()
        .unwrap_or_else(|| panic!("no ErrorInfo in {status:?}"));
    assert_eq!(info.reason, reason, "{status:?}");
    info.metadata
}

/// Fails unless `result` is INVALID_ARGUMENT naming exactly `field` in its BadRequest.
fn assert_invalid<T: std::fmt::Debug>(result: Result<T, Status>, field: &str, what: &str) {
    let status = match result {
        Ok(value) => panic!("{what}: accepted ({value:?}), expected INVALID_ARGUMENT"),
        Err(status) => status,
    };
    assert_eq!(status.code(), Code::InvalidArgument, "{what}: {status:?}");
    let fields: Vec<String> = status
        .get_details_bad_request()
        .unwrap_or_else(|| panic!("{what}: no BadRequest in {status:?}"))
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect();
    assert_eq!(fields, [field], "{what}: the violation names the field");
}

// ---------------------------------------------------------------------------------------------
// 1. ListEvents against the reference
// ---------------------------------------------------------------------------------------------

/// The varied set of proposals of the ListEvents test, driven with their steps interleaved
/// (proposal k starts at round k) so that the log mixes proposals. Returns their ids and the
/// number of events caused.
async fn varied_proposals(client: &Client) -> (Vec<String>, usize) {
    let plans: Vec<Plan> = vec![
        forward(UNIT_A, CLERK_A, LEADER_A),
        forward(UNIT_B, CLERK_B, LEADER_B),
        returned_and_reassigned(),
        rejected_and_revised(),
        vec![], // stays RECEIVED
        vec![(Step::Assign(UNIT_A), REGISTRAR_2), (Step::Return, CLERK_A)],
        vec![
            (Step::Assign(UNIT_A), REGISTRAR_1),
            (Step::Draft, CLERK_A),
            (Step::Reject, LEADER_A),
        ],
    ];
    let mut ids: Vec<Option<String>> = vec![None; plans.len()];
    let mut count = 0;
    let rounds = plans.iter().map(Vec::len).max().unwrap() + plans.len() + 1;
    for round in 0..rounds {
        for (p, plan) in plans.iter().enumerate() {
            let number = p as u32 + 1;
            let Some(step) = round.checked_sub(p) else {
                continue;
            };
            if step == 0 {
                let registrar = [REGISTRAR_1, REGISTRAR_2][p % 2];
                ids[p] = Some(receive(client, number, registrar).await);
                count += 1;
            } else if let Some((step, actor)) = plan.get(step - 1) {
                act(client, ids[p].as_ref().unwrap(), number, *step, actor, 200).await;
                count += 1;
            }
        }
    }
    (ids.into_iter().map(Option::unwrap).collect(), count)
}

#[tokio::test]
async fn list_events_matches_the_reference_for_every_filter() {
    let server = TestServer::start().await;
    let client = server.client.clone();
    let (ids, caused) = varied_proposals(&client).await;

    let (log, pages) = list_pages(&client, &Filter::default(), 7).await;
    assert_eq!(log.len(), caused, "one event per successful call");
    assert_gapless(&log);
    assert_eq!(pages, caused.div_ceil(7), "pages of 7");
    for pair in log.windows(2) {
        assert!(
            nanos(pair[0].occurred_at.as_ref().unwrap())
                <= nanos(pair[1].occurred_at.as_ref().unwrap()),
            "event times never run backwards along the log: {pair:?}"
        );
    }
    let mut hashes = HashSet::new();
    for event in &log {
        assert!(
            event.hash.len() == 64
                && event
                    .hash
                    .chars()
                    .all(|c| matches!(c, '0'..='9' | 'a'..='f')),
            "position {}: hash {:?} is 64 lowercase hex digits",
            event.position,
            event.hash
        );
        assert!(
            hashes.insert(event.hash.clone()),
            "hash of {} repeats",
            event.position
        );
    }
    for id in &ids {
        let in_log: Vec<_> = log
            .iter()
            .filter(|e| &e.proposal_id == id)
            .cloned()
            .collect();
        assert!(!in_log.is_empty());
        assert_eq!(
            history(&client, id).await,
            in_log,
            "history of {id} equals its events in the log"
        );
    }

    let units = event_units(&log);
    assert!(
        units.values().any(Option::is_none),
        "some events concern no unit"
    );
    let at = |position: usize| log[position - 1].occurred_at.unwrap();
    let n = log.len();
    let all = || Filter::default();
    // Proposal 3 was assigned to A, returned by A, then handled by B: A has exactly the
    // assignment and the return, B everything from the re-assignment on.
    let p3_on_a = all().proposal(&ids[2]).unit(UNIT_A);
    let p3_on_b = all().proposal(&ids[2]).unit(UNIT_B);
    let p3_events = log.iter().filter(|e| e.proposal_id == ids[2]).count();
    assert_eq!(
        p3_on_a
            .expected(&log, 0)
            .iter()
            .map(kind)
            .collect::<Vec<_>>(),
        [Kind::ProposalAssigned, Kind::ProposalReturned],
        "the reference: a return concerns the unit that returned it"
    );
    assert_eq!(
        p3_on_b.expected(&log, 0).len(),
        p3_events - 3,
        "the reference: B from the re-assignment on"
    );

    // Each filter, with the positions it must give where they are known by construction.
    let range =
        |from: usize, to: usize| -> Option<Vec<u64>> { Some((from as u64..=to as u64).collect()) };
    let none = || Some(vec![]);
    let mut cases: Vec<(Filter, Option<Vec<u64>>)> = vec![
        (all().kinds(&[Kind::ReplyDrafted]), None),
        (
            all().kinds(&[Kind::ProposalAssigned, Kind::ProposalReturned]),
            None,
        ),
        (
            all().kinds(&[Kind::DraftRejected, Kind::ReplySigned, Kind::ReplyCopied]),
            None,
        ),
        (all().kinds(&[Kind::ProposalReceived]), None),
        (all().actor("无此人"), none()),
        (all().unit("许昌市无此局"), none()),
        (all().proposal(&uuid::Uuid::now_v7().to_string()), none()),
        // Time windows taken from the log: after is inclusive, before exclusive.
        (all().after(at(1)), range(1, n)),
        (all().after(at(10)), range(10, n)),
        (all().after(shifted(at(10), 1)), range(11, n)),
        (all().after(shifted(at(n), 1)), none()),
        (all().before(at(10)), range(1, 9)),
        (all().before(shifted(at(10), 1)), range(1, 10)),
        (all().before(at(1)), none()),
        (all().before(at(n)), range(1, n - 1)),
        (all().after(at(10)).before(at(11)), range(10, 10)),
        (all().after(at(10)).before(at(10)), none()),
        (all().after(at(20)).before(at(10)), none()),
        // Combinations.
        (all().after(at(5)).before(at(30)).unit(UNIT_A), None),
        (
            all()
                .after(at(12))
                .kinds(&[Kind::ReplyDrafted, Kind::ReplySigned]),
            None,
        ),
        (all().before(at(25)).actor(CLERK_B), None),
        (
            all()
                .unit(UNIT_B)
                .kinds(&[Kind::ReplyDrafted, Kind::DraftRejected])
                .to(State::Drafted),
            None,
        ),
        (all().to(State::Assigned).actor(LEADER_B), None),
        (
            all()
                .unit(UNIT_A)
                .actor(CLERK_A)
                .kinds(&[Kind::ProposalReturned]),
            None,
        ),
        (all().proposal(&ids[3]).to(State::Drafted), None),
        (all().after(at(8)).unit(UNIT_B).proposal(&ids[2]), None),
        (p3_on_a, None),
        (p3_on_b, None),
    ];
    for actor in [
        REGISTRAR_1,
        REGISTRAR_2,
        CLERK_A,
        CLERK_B,
        LEADER_A,
        LEADER_B,
        OFFICE,
    ] {
        cases.push((all().actor(actor), None));
    }
    for unit in [UNIT_A, UNIT_B] {
        cases.push((all().unit(unit), None));
    }
    for state in [
        State::Received,
        State::Assigned,
        State::Drafted,
        State::Signed,
        State::Issued,
        State::Copied,
    ] {
        cases.push((all().to(state), None));
    }
    for id in &ids {
        cases.push((all().proposal(id), None));
    }
    for (filter, known) in &cases {
        let expected = filter.expected(&log, 0);
        match known {
            Some(known) => assert_eq!(
                &positions(&expected),
                known,
                "the reference itself for {filter:?}"
            ),
            None => assert!(
                !expected.is_empty(),
                "a case meant to match something: {filter:?}"
            ),
        }
        let (listed, _) = list_pages(&client, filter, 7).await;
        assert_eq!(
            positions(&listed),
            positions(&expected),
            "ListEvents {filter:?}"
        );
        assert_eq!(
            listed, expected,
            "ListEvents {filter:?}: the events themselves"
        );
    }

    // A page token is bound to its filters.
    let mut c = client.clone();
    let first = c
        .list_events(all().list_request(7, String::new()))
        .await
        .unwrap()
        .into_inner();
    assert!(!first.next_page_token.is_empty());
    let token = first.next_page_token;
    let same = c
        .list_events(all().list_request(3, token.clone()))
        .await
        .expect("the token with its own filters")
        .into_inner();
    assert_eq!(
        positions(&same.events),
        [8, 9, 10],
        "the token continues where its page ended"
    );
    for other in [
        all().actor(CLERK_A),
        all().kinds(&[Kind::ReplyDrafted]),
        all().unit(UNIT_A),
        all().to(State::Signed),
        all().proposal(&ids[0]),
        all().after(at(1)),
        all().before(at(n)),
    ] {
        assert_invalid(
            c.list_events(other.list_request(7, token.clone())).await,
            "page_token",
            &format!("token reused with {other:?}"),
        );
    }
    assert_invalid(
        c.list_events(Filter::default().list_request(7, "bm90IGEgdG9rZW4".into()))
            .await,
        "page_token",
        "a token the service never issued",
    );

    // Bad filter values are named in BadRequest.
    let request = |f: fn(&mut pb::ListEventsRequest)| {
        let mut request = Filter::default().list_request(7, String::new());
        f(&mut request);
        request
    };
    let bad: [(&str, pb::ListEventsRequest, &str); 6] = [
        ("unknown kind", request(|r| r.kinds = vec![99]), "kinds[0]"),
        (
            "unspecified kind",
            request(|r| r.kinds = vec![Kind::ReplyDrafted as i32, 0]),
            "kinds[1]",
        ),
        (
            "malformed proposal_id",
            request(|r| r.proposal_id = "not-a-uuid".into()),
            "proposal_id",
        ),
        ("unknown to_state", request(|r| r.to_state = 42), "to_state"),
        (
            "negative page_size",
            request(|r| r.page_size = -1),
            "page_size",
        ),
        (
            "timestamp nanos out of range",
            request(|r| {
                r.occurred_after = Some(prost_types::Timestamp {
                    seconds: 0,
                    nanos: 1_000_000_000,
                })
            }),
            "occurred_after",
        ),
    ];
    for (what, request, field) in bad {
        assert_invalid(c.list_events(request).await, field, what);
    }
}

// ---------------------------------------------------------------------------------------------
// 2. VerifyHistory
// ---------------------------------------------------------------------------------------------

/// Every number that follows "position " in `text`.
fn positions_named(text: &str) -> Vec<u64> {
    text.match_indices("position ")
        .filter_map(|(i, m)| {
            let digits: String = text[i + m.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .collect()
}

#[tokio::test]
async fn verify_history_is_clean_and_catches_an_edited_event() {
    let mut server = TestServer::start().await;
    let client = server.client.clone();
    let empty = client
        .clone()
        .verify_history(pb::VerifyHistoryRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(empty.ok, "an empty store verifies: {empty:?}");
    assert_eq!(
        (
            empty.events_checked,
            empty.proposals_checked,
            empty.head_position
        ),
        (0, 0, 0)
    );
    let plans = [
        forward(UNIT_A, CLERK_A, LEADER_A),
        returned_and_reassigned(),
        rejected_and_revised(),
    ];
    let mut caused = 0;
    for (i, plan) in plans.iter().enumerate() {
        caused += drive(&client, i as u32 + 1, plan, 100).await.1;
    }
    let log = whole_log(&client).await;
    assert_eq!(log.len(), caused);
    let clean = server
        .client
        .verify_history(pb::VerifyHistoryRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(clean.ok, "a clean store verifies: {clean:?}");
    assert!(
        clean.first_mismatch.is_empty() && clean.problems.is_empty(),
        "{clean:?}"
    );
    assert_eq!(clean.events_checked, caused as u64);
    assert_eq!(clean.proposals_checked, plans.len() as u64);
    assert_eq!(clean.head_position, caused as u64);
    assert_eq!(
        clean.head_hash,
        log.last().unwrap().hash,
        "the head is the last event's hash"
    );

    // Edit event 3's actor on disk, keeping its stored hash, as an editor of the files would.
    let original = log[2].clone();
    assert_eq!(original.position, 3);
    server.stop().await;
    let sled_dir = server.data_dir().join("sled");
    tokio::task::spawn_blocking(move || {
        let db = sled::Config::new()
            .path(&sled_dir)
            .open()
            .expect("opening sled");
        // The log names the event at each position; events are keyed by proposal and sequence.
        let log = db.open_tree("log").unwrap();
        let key = log
            .get(3u64.to_be_bytes())
            .unwrap()
            .expect("position 3 is in the log");
        let events = db.open_tree("events").unwrap();
        let value = events.get(&key).unwrap().expect("position 3 is stored");
        let (hash, json) = value.split_at(32);
        let json = std::str::from_utf8(json).expect("events are JSON");
        let field = format!(
            "\"actor\":{}",
            serde_json::to_string(&original.actor).unwrap()
        );
        assert_eq!(json.matches(&field).count(), 1, "{field} in {json}");
        let edited = json.replace(&field, "\"actor\":\"篡改者\"");
        events
            .insert(key, [hash, edited.as_bytes()].concat())
            .unwrap();
        db.flush().unwrap();
    })
    .await
    .unwrap();
    let server = server.restart().await;

    let after = whole_log(&server.client).await;
    assert_eq!(after[2].actor, "篡改者", "the edit took effect");
    assert_eq!(after[2].hash, original.hash, "the stored hash was kept");
    let report = server
        .client
        .clone()
        .verify_history(pb::VerifyHistoryRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(!report.ok, "the edit is caught: {report:?}");
    assert_eq!(report.events_checked, caused as u64);
    assert!(
        report.first_mismatch.contains("position 3")
            && positions_named(&report.first_mismatch) == [3],
        "the first mismatch names position 3: {:?}",
        report.first_mismatch
    );
    assert_eq!(report.problems.first(), Some(&report.first_mismatch));
    for problem in &report.problems {
        assert!(
            positions_named(problem).iter().all(|p| *p == 3),
            "only position 3 is reported: {:?}",
            report.problems
        );
    }
    assert_eq!(
        (report.head_position, report.head_hash.as_str()),
        (clean.head_position, clean.head_hash.as_str()),
        "the later links are unchanged"
    );
}

// ---------------------------------------------------------------------------------------------
// 3. WatchEvents under concurrent writers
// ---------------------------------------------------------------------------------------------

/// A watch stream read by its own task until it holds the number of events the test sets
/// once it knows them; returns them with the stream, for reading on.
struct Watcher {
    name: &'static str,
    filter: Filter,
    after: u64,
    target: watch::Sender<Option<usize>>,
    task: JoinHandle<(Vec<pb::ProposalEvent>, Streaming<pb::WatchEventsResponse>)>,
}

impl Watcher {
    async fn start(
        client: &Client,
        name: &'static str,
        filter: Filter,
        after: u64,
        pause: Option<Duration>,
    ) -> Self {
        let stream = client
            .clone()
            .watch_events(filter.watch_request(after))
            .await
            .unwrap_or_else(|s| panic!("{name}: WatchEvents: {s:?}"))
            .into_inner();
        let (target, mut wanted) = watch::channel(None::<usize>);
        let task = tokio::spawn(async move {
            let mut stream = stream;
            let mut got = Vec::new();
            loop {
                if wanted.borrow().is_some_and(|t| got.len() >= t) {
                    return (got, stream);
                }
                let message = tokio::select! {
                    message = stream.message() => message,
                    changed = wanted.changed() => {
                        if changed.is_err() {
                            // The test failed and dropped its side: nothing left to check.
                            return (got, stream);
                        }
                        continue;
                    }
                };
                let received = got.len();
                match message {
                    Ok(Some(response)) => got.push(response.event.expect("an event")),
                    Ok(None) => panic!("{name}: the stream ended after {received} events"),
                    Err(s) => panic!("{name}: the stream failed after {received} events: {s:?}"),
                }
                if let Some(pause) = pause
                    && wanted.borrow().is_none()
                {
                    // A slow consumer while the writers write (the pause simulates slowness,
                    // not readiness); at full speed once they are done.
                    tokio::time::sleep(pause).await;
                }
            }
        });
        Self {
            name,
            filter,
            after,
            target,
            task,
        }
    }

    /// Waits until the watcher received `expected.len()` events and checks they are exactly
    /// `expected`; returns the stream.
    async fn finish(
        self,
        log: &[pb::ProposalEvent],
    ) -> (Filter, Streaming<pb::WatchEventsResponse>) {
        let Self {
            name,
            filter,
            after,
            target,
            task,
        } = self;
        let expected = filter.expected(log, after);
        assert!(
            !expected.is_empty(),
            "{name}: the scenario gives every watcher events"
        );
        target.send_replace(Some(expected.len()));
        let (got, stream) = tokio::time::timeout(DEADLINE, task)
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{name}: fewer than {} events within {DEADLINE:?}",
                    expected.len()
                )
            })
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            positions(&got),
            positions(&expected),
            "{name}: positions (no gap, no duplicate)"
        );
        assert_eq!(got, expected, "{name}: the events, hashes included");
        (filter, stream)
    }
}

/// Reads exactly `expected` next from `stream`.
async fn assert_next(
    name: &str,
    stream: &mut Streaming<pb::WatchEventsResponse>,
    expected: &[pb::ProposalEvent],
) {
    for event in expected {
        let message = tokio::time::timeout(DEADLINE, stream.message())
            .await
            .unwrap_or_else(|_| panic!("{name}: position {} never arrived", event.position));
        let got = message
            .unwrap_or_else(|s| panic!("{name}: {s:?}"))
            .unwrap_or_else(|| panic!("{name}: the stream ended"))
            .event
            .expect("an event");
        assert_eq!(got.position, event.position, "{name}: the next event");
        assert_eq!(&got, event, "{name}: the next event");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watchers_receive_exactly_their_part_of_the_log_under_concurrent_writes() {
    const WRITERS: u32 = 8;
    const LIFECYCLES: u32 = 3;
    /// Large drafts, so that a slow consumer's connection window fills and its watcher has to
    /// wait (and fall behind the live batches).
    const BODY: usize = 3_000;
    let server = TestServer::start().await;
    let client = server.client.clone();
    // Proposal 1 exists before any watcher: its watcher replays its registration, then follows.
    let p0 = receive(&client, 1, REGISTRAR_1).await;

    let slow_channel = tonic::transport::Endpoint::from_shared(format!("http://{}", server.addr))
        .unwrap()
        .initial_stream_window_size(Some(16 * 1024))
        .connect()
        .await
        .unwrap();
    let slow_client = Client::new(slow_channel);
    let mut watchers = vec![
        Watcher::start(&client, "unfiltered", Filter::default(), 0, None).await,
        Watcher::start(
            &client,
            "kinds",
            Filter::default().kinds(&[
                Kind::ProposalAssigned,
                Kind::ProposalReturned,
                Kind::DraftRejected,
            ]),
            0,
            None,
        )
        .await,
        Watcher::start(&client, "unit A", Filter::default().unit(UNIT_A), 0, None).await,
        Watcher::start(
            &client,
            "proposal 1",
            Filter::default().proposal(&p0),
            0,
            None,
        )
        .await,
        Watcher::start(
            &slow_client,
            "slow",
            Filter::default(),
            0,
            Some(Duration::from_millis(25)),
        )
        .await,
    ];

    let mut writers = Vec::new();
    for task in 0..WRITERS {
        let client = client.clone();
        let p0 = p0.clone();
        writers.push(tokio::spawn(async move {
            let mut caused = 0;
            if task == 0 {
                // Proposal 1 to ISSUED; the copy comes at the very end.
                for (step, actor) in &forward(UNIT_A, CLERK_A, LEADER_A)[..4] {
                    act(&client, &p0, 1, *step, actor, BODY).await;
                    caused += 1;
                }
            }
            for i in 0..LIFECYCLES {
                let number = 100 + task * 10 + i;
                let plan = match (task + i) % 3 {
                    0 => forward(UNIT_A, CLERK_A, LEADER_A),
                    1 => returned_and_reassigned(),
                    _ => rejected_and_revised(),
                };
                caused += drive(&client, number, &plan, BODY).await.1;
            }
            caused
        }));
    }

    // One more watcher from the middle of the log, while the writers write.
    let deadline = Instant::now() + DEADLINE;
    let middle = loop {
        let page = client
            .clone()
            .list_events(Filter::default().list_request(1000, String::new()))
            .await
            .unwrap()
            .into_inner();
        if page.events.len() >= 40 {
            break page.events.last().unwrap().position;
        }
        assert!(
            Instant::now() < deadline,
            "the writers never wrote 40 events"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    watchers
        .push(Watcher::start(&client, "from the middle", Filter::default(), middle, None).await);

    let mut caused = 1;
    for writer in writers {
        caused += writer.await.expect("a writer task");
    }
    // Then one writer alone, so that each event is a batch of its own: more batches than
    // are kept for watchers (128) go by while the slow consumer is still behind.
    for number in 500..520 {
        caused += drive(&client, number, &returned_and_reassigned(), 50)
            .await
            .1;
    }
    let log = whole_log(&client).await;
    assert_eq!(log.len(), caused, "one event per successful call");
    assert_gapless(&log);

    let mut streams = Vec::new();
    for watcher in watchers {
        let name = watcher.name;
        let (filter, stream) = watcher.finish(&log).await;
        streams.push((name, filter, stream));
    }

    // Nothing more than the log was delivered: the next events each watcher receives are
    // exactly those of three more writes that match it.
    let p_new = receive(&client, 999, REGISTRAR_2).await;
    act(&client, &p_new, 999, Step::Assign(UNIT_A), REGISTRAR_2, 0).await;
    act(&client, &p0, 1, Step::Copy, OFFICE, 0).await;
    let log = whole_log(&client).await;
    assert_eq!(log.len(), caused + 3);
    for (name, filter, mut stream) in streams {
        let expected = filter.expected(&log, caused as u64);
        assert!(
            !expected.is_empty(),
            "{name}: one of the last writes concerns every watcher"
        );
        assert_next(name, &mut stream, &expected).await;
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Resuming across a restart
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_watcher_resumes_after_a_restart_without_gap_or_duplicate() {
    let server = TestServer::start().await;
    for number in 1..=3 {
        drive(&server.client, number, &returned_and_reassigned(), 50).await;
    }
    let mut stream = server
        .client
        .clone()
        .watch_events(Filter::default().watch_request(0))
        .await
        .unwrap()
        .into_inner();
    let mut got = Vec::new();
    for _ in 0..8 {
        let message = tokio::time::timeout(DEADLINE, stream.message())
            .await
            .expect("an event in time");
        got.push(message.unwrap().expect("an event").event.unwrap());
    }

    let server = server.restart().await;
    // The old stream delivers what the server had queued, then fails.
    let ending = loop {
        match tokio::time::timeout(DEADLINE, stream.message())
            .await
            .expect("the old stream ends in time")
        {
            Ok(Some(response)) => got.push(response.event.unwrap()),
            Ok(None) => {
                panic!("the stream ended cleanly; it must end with an error when the server stops")
            }
            Err(status) => break status,
        }
    };
    assert_eq!(ending.code(), Code::Unavailable, "{ending:?}");

    drive(&server.client, 4, &rejected_and_revised(), 50).await;
    let last_seen = got.last().unwrap().position;
    let mut resumed = server
        .client
        .clone()
        .watch_events(Filter::default().watch_request(last_seen))
        .await
        .unwrap()
        .into_inner();
    // Written while the resumed stream is open: delivered live.
    drive(&server.client, 5, &forward(UNIT_A, CLERK_A, LEADER_A), 50).await;
    let log = whole_log(&server.client).await;
    while got.len() < log.len() {
        let message = tokio::time::timeout(DEADLINE, resumed.message())
            .await
            .unwrap_or_else(|_| panic!("only {} of {} events arrived", got.len(), log.len()));
        got.push(message.unwrap().expect("an event").event.unwrap());
    }
    assert_gapless(&log);
    assert_eq!(
        positions(&got),
        positions(&log),
        "the two streams concatenate to the log"
    );
    assert_eq!(got, log);
    // The chain went on across the restart.
    let report = server
        .client
        .clone()
        .verify_history(pb::VerifyHistoryRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.head_position, log.len() as u64);
    assert_eq!(report.head_hash, log.last().unwrap().hash);
}

// ---------------------------------------------------------------------------------------------
// 5. Shutdown ends watch streams
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn stopping_the_server_ends_open_watch_streams_promptly() {
    let mut server = TestServer::start_with(ServeOptions {
        shutdown_grace: Duration::from_secs(60),
        ..ServeOptions::default()
    })
    .await;
    let (id, caused) = drive(&server.client, 1, &forward(UNIT_A, CLERK_A, LEADER_A), 50).await;
    let mut caught_up = server
        .client
        .clone()
        .watch_events(Filter::default().watch_request(0))
        .await
        .unwrap()
        .into_inner();
    for position in 1..=caused as u64 {
        let message = tokio::time::timeout(DEADLINE, caught_up.message())
            .await
            .expect("in time");
        assert_eq!(message.unwrap().unwrap().event.unwrap().position, position);
    }
    // One that has nothing to deliver (a unit nobody handles), and one for a finished proposal.
    let mut idle = server
        .client
        .clone()
        .watch_events(Filter::default().unit("许昌市无此局").watch_request(0))
        .await
        .unwrap()
        .into_inner();
    let mut finished = server
        .client
        .clone()
        .watch_events(Filter::default().proposal(&id).watch_request(caused as u64))
        .await
        .unwrap()
        .into_inner();

    let started = Instant::now();
    server.stop().await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "stopping took {took:?} with watch streams open (grace 60 s)"
    );
    for (name, stream) in [
        ("caught up", &mut caught_up),
        ("idle", &mut idle),
        ("finished", &mut finished),
    ] {
        let message = tokio::time::timeout(Duration::from_secs(10), stream.message())
            .await
            .unwrap_or_else(|_| panic!("{name}: the stream did not end after the server stopped"));
        match message {
            Err(status) => assert_eq!(status.code(), Code::Unavailable, "{name}: {status:?}"),
            Ok(other) => panic!("{name}: expected UNAVAILABLE, got {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 6. Watching past the end of the log, and bad watch requests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn watching_after_the_end_of_the_log_is_out_of_range() {
    let server = TestServer::start().await;
    let mut client = server.client.clone();
    let beyond = |after: u64| Filter::default().watch_request(after);

    let status = client
        .watch_events(beyond(1))
        .await
        .expect_err("an empty log has no position 1");
    let metadata = error_info(&status, Code::OutOfRange, "POSITION_BEYOND_LOG");
    assert_eq!(
        metadata.get("requestedPosition").map(String::as_str),
        Some("1"),
        "{metadata:?}"
    );
    assert_eq!(
        metadata.get("lastPosition").map(String::as_str),
        Some("0"),
        "{metadata:?}"
    );

    let (_, caused) = drive(&client, 1, &forward(UNIT_A, CLERK_A, LEADER_A), 50).await;
    let last = caused as u64;
    for after in [last + 1, last + 1000, u64::MAX] {
        let status = client
            .watch_events(beyond(after))
            .await
            .expect_err("beyond the log");
        let metadata = error_info(&status, Code::OutOfRange, "POSITION_BEYOND_LOG");
        assert_eq!(
            metadata.get("requestedPosition"),
            Some(&after.to_string()),
            "{metadata:?}"
        );
        assert_eq!(
            metadata.get("lastPosition"),
            Some(&last.to_string()),
            "{metadata:?}"
        );
    }

    // At the end is not beyond it: the next event written is the first delivered.
    let mut at_end = client
        .watch_events(beyond(last))
        .await
        .expect("watching from the end")
        .into_inner();
    let next = receive(&client, 2, REGISTRAR_1).await;
    let log = whole_log(&client).await;
    assert_eq!(log.last().unwrap().proposal_id, next);
    assert_next("from the end", &mut at_end, &log[last as usize..]).await;

    let mut bad = beyond(0);
    bad.kinds = vec![99];
    assert_invalid(
        client.watch_events(bad).await,
        "kinds[0]",
        "WatchEvents with an unknown kind",
    );
    let mut bad = beyond(0);
    bad.proposal_id = "228".into();
    assert_invalid(
        client.watch_events(bad).await,
        "proposal_id",
        "WatchEvents with a malformed id",
    );
}

// ---------------------------------------------------------------------------------------------
// 7. RenderReply of the seed
// ---------------------------------------------------------------------------------------------

async fn render(client: &Client, id: &str) -> Result<pb::RenderReplyResponse, Status> {
    client
        .clone()
        .render_reply(pb::RenderReplyRequest {
            proposal_id: id.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Fails, saying how, unless `rendered` is `expected` byte for byte.
fn assert_same_text(rendered: &str, expected: &str, what: &str) {
    if rendered == expected {
        return;
    }
    let non_empty = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect()
    };
    let rendered_lines = non_empty(rendered);
    let expected_lines = non_empty(expected);
    let first = rendered_lines
        .iter()
        .zip(&expected_lines)
        .position(|(r, e)| r != e);
    panic!(
        "{what}: the rendered text differs from the document; non-empty lines equal: {}; \
         first differing non-empty line: {:?}; line counts {} vs {} (non-empty {} vs {})\n\
         --- rendered\n{rendered}\n--- expected\n{expected}",
        rendered_lines == expected_lines,
        first.map(|i| (&rendered_lines[i], &expected_lines[i])),
        rendered.lines().count(),
        expected.lines().count(),
        rendered_lines.len(),
        expected_lines.len(),
    );
}

#[tokio::test]
async fn the_seed_proposal_renders_as_its_reply_document() {
    let server = TestServer::start().await;
    let mut client = server.client.clone();
    let seed = seed::proposal_228();
    let id = client
        .receive_proposal(seed.receive_request())
        .await
        .unwrap()
        .into_inner()
        .proposal
        .unwrap()
        .id;
    let not_issued = |result: Result<pb::RenderReplyResponse, Status>, state: &str| {
        let status = result.expect_err("no document before ISSUED");
        let metadata = error_info(&status, Code::FailedPrecondition, "NOT_ISSUED");
        assert_eq!(
            metadata.get("currentState").map(String::as_str),
            Some(state),
            "{status:?}"
        );
    };
    not_issued(render(&client, &id).await, "RECEIVED");
    client
        .assign_proposal(pb::AssignProposalRequest {
            proposal_id: id.clone(),
            handling_unit: seed.handling_unit.clone(),
            due_date: "2019-08-31".into(),
            expected_version: None,
            request_id: String::new(),
            actor: REGISTRAR_1.into(),
        })
        .await
        .unwrap();
    not_issued(render(&client, &id).await, "ASSIGNED");
    client
        .draft_reply(pb::DraftReplyRequest {
            proposal_id: id.clone(),
            reply: Some(seed.reply()),
            expected_version: None,
            request_id: String::new(),
            actor: CLERK_A.into(),
        })
        .await
        .unwrap();
    not_issued(render(&client, &id).await, "DRAFTED");
    client
        .sign_reply(pb::SignReplyRequest {
            proposal_id: id.clone(),
            signer: seed.signer.clone(),
            expected_version: None,
            request_id: String::new(),
            actor: LEADER_A.into(),
        })
        .await
        .unwrap();
    not_issued(render(&client, &id).await, "SIGNED");
    client
        .issue_reply(pb::IssueReplyRequest {
            proposal_id: id.clone(),
            document_number: seed.document_number.clone(),
            issue_date: seed.issue_date.clone(),
            issuing_office: seed.issuing_office.clone(),
            expected_version: None,
            request_id: String::new(),
            actor: OFFICE.into(),
        })
        .await
        .unwrap();
    // Issued, not copied yet: the document without its copy line (and the blank line above it).
    let issued = render(&client, &id).await.expect("an issued reply renders");
    assert_eq!(issued.document_number, "许环〔2019〕13号");
    let copy_line = format!("\n抄送：{}。\n", seed.recipients.join("、"));
    assert_eq!(
        seed::DOCUMENT.matches(&copy_line).count(),
        1,
        "the seed has one copy line"
    );
    let without_copy_line = seed::DOCUMENT.replacen(&copy_line, "", 1);
    assert_same_text(&issued.text, &without_copy_line, "ISSUED");

    client
        .copy_reply(pb::CopyReplyRequest {
            proposal_id: id.clone(),
            recipients: seed.recipients.clone(),
            expected_version: None,
            request_id: String::new(),
            actor: OFFICE.into(),
        })
        .await
        .unwrap();
    let copied = render(&client, &id).await.expect("a copied reply renders");
    assert_eq!(copied.document_number, "许环〔2019〕13号");
    assert_same_text(&copied.text, seed::DOCUMENT, "COPIED");

    let unknown = render(&client, &uuid::Uuid::now_v7().to_string())
        .await
        .expect_err("no such proposal");
    assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");
    assert_invalid(
        render(&client, "许环〔2019〕13号").await,
        "proposal_id",
        "RenderReply with a malformed id",
    );
    assert_invalid(
        render(&client, "").await,
        "proposal_id",
        "RenderReply without an id",
    );
}
