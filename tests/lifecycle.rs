mod common;

// Lifecycle tests over real gRPC: proposal No. 228 driven from registration to the copied reply,
// the backward moves (return, revision, rejected draft), durability across a restart, and the
// paging of GetProposalHistory. The paging and filters of ListProposals are in `listing.rs`.
//
// Every proposal a test drives is a `Tracked` (tests/common/tracked.rs): the test computes, from
// what it sent, what the proposal and each of its events must look like, and checks every
// response against that.

use std::collections::BTreeSet;

use common::lifecycle::{STATES as FORWARD, State};
use common::listing::{Filter, by_id, expected_listing, list_page, list_pages};
use common::reads::{get, history_page, history_pages, positions};
use common::status::assert_invalid;
use common::tracked::{
    ACT_DATE, Action, COMMITTEES, LEADER, Path, REGISTRAR, SESSIONS, Tracked, UNITS,
    assert_history, assert_proposal, assert_strictly_increasing, instant, kind, registration,
    seed_registration, synthetic_reply,
};
use common::{Client, TestServer};
use proposal_service::pb;
use proposal_service::pb::proposal_event::Data;
use proposal_service::seed;
use tonic::Code;

#[tokio::test]
async fn seed_proposal_228_goes_from_received_to_copied() {
    let mut server = TestServer::start().await;
    let client = server.client.clone();
    let seed = seed::proposal_228();
    let path = Path::seed(&seed);

    let mut tracked = Tracked::receive(&client, seed_registration(&seed)).await;
    let received = tracked.expected.clone();
    assert_eq!((received.state(), received.version), (State::Received, 1));
    assert_eq!(received.committee, "许昌市政协");
    assert_eq!(received.session, "七届三次会议");
    assert_eq!(received.number, 228);
    assert_eq!(received.title, seed.title);
    assert_eq!(received.proposers, seed.proposers);
    assert_eq!(received.content, seed::CONTENT);
    assert!(received.handling_unit.is_empty() && received.reply.is_none());

    let steps = [
        (&path.assign, State::Assigned),
        (&path.draft, State::Drafted),
        (&path.sign, State::Signed),
        (&path.issue, State::Issued),
        (&path.copy, State::Copied),
    ];
    let mut last = received.clone();
    for (version, (action, state)) in (2..).zip(steps) {
        // `step` checks every field against what the test sent; spelled out here are the
        // facts the seed document states.
        let proposal = tracked.step(&client, action.clone()).await;
        assert_eq!((proposal.state(), proposal.version), (state, version));
        assert_eq!(proposal.received_at, received.received_at, "received_at");
        assert!(instant(&proposal.updated_at) >= instant(&last.updated_at));
        assert_eq!(proposal.handling_unit, "许昌市生态环境局");
        assert_eq!(proposal.due_date, "2019-08-31");
        if state >= State::Drafted {
            let reply = proposal.reply.as_ref().expect("the reply is kept");
            assert!(
                reply.body.as_bytes() == seed.body.as_bytes(),
                "the reply body is byte-identical to the seed's"
            );
            assert!(reply.body.contains("\n") && reply.body.contains("。"));
            assert_eq!(reply.result_code(), pb::ResultCode::A);
            assert_eq!(reply.contact_unit, "许昌市生态环境局综合科");
            assert_eq!(reply.contact_phone, "6069516");
        }
        if state >= State::Signed {
            assert_eq!(proposal.signer, "李光亚");
        }
        if state >= State::Issued {
            assert_eq!(proposal.document_number, "许环〔2019〕13号");
            assert_eq!(proposal.issue_date, "2019-09-29");
            assert_eq!(proposal.issuing_office, "许昌市生态环境局办公室");
        }
        if state >= State::Copied {
            assert_eq!(proposal.copied_to, ["市政协提案委", "市政府督查室"]);
        }
        last = proposal;
    }

    assert_eq!(get(&client, tracked.id()).await, last, "GetProposal");

    let events = assert_history(&client, &tracked).await;
    let table: Vec<(&str, State, State)> = events
        .iter()
        .map(|e| (kind(&e.data), e.from_state(), e.to_state()))
        .collect();
    assert_eq!(
        table,
        [
            ("received", State::Unspecified, State::Received),
            ("assigned", State::Received, State::Assigned),
            ("drafted", State::Assigned, State::Drafted),
            ("signed", State::Drafted, State::Signed),
            ("issued", State::Signed, State::Issued),
            ("copied", State::Issued, State::Copied),
        ]
    );
    let sequences: Vec<u64> = events.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, [1, 2, 3, 4, 5, 6]);
    assert_eq!(positions(&events), [1, 2, 3, 4, 5, 6], "a fresh server");
    assert_eq!(events[0].request_id, "receive/228");
    assert_eq!(events[0].actor, REGISTRAR);
    assert_eq!(events[3].actor, LEADER);
    let Some(Data::Drafted(drafted)) = &events[2].data else {
        unreachable!("checked above")
    };
    assert!(!drafted.revision, "the first draft is no revision");
    assert_eq!(events[5].occurred_at, last.updated_at);

    server.stop().await;
}

#[tokio::test]
async fn backward_moves_are_recorded_and_undo_what_no_longer_holds() {
    let mut server = TestServer::start().await;
    let client = server.client.clone();
    let seed = seed::proposal_228();
    let path = Path::seed(&seed);

    let mut tracked = Tracked::receive(&client, seed_registration(&seed)).await;
    let responses =
        lifecycle_with_backward_moves(&client, &mut tracked, &path, "许昌市教育局").await;

    let returned = &responses[1];
    assert_eq!(returned.state(), State::Received);
    assert_eq!(
        returned.handling_unit, "",
        "a returned proposal has no unit"
    );
    assert_eq!(
        returned.due_date, "",
        "nor the due date of the unit that returned it"
    );
    let reassigned = &responses[2];
    assert_eq!(reassigned.handling_unit, seed.handling_unit);
    assert_eq!(reassigned.due_date, "2019-08-31");
    let revised = &responses[4];
    assert_eq!(revised.state(), State::Drafted);
    assert_eq!(
        revised.reply,
        Some(seed.reply().into()),
        "the newer draft wins"
    );
    let rejected = &responses[5];
    assert_eq!(rejected.state(), State::Assigned);
    assert_eq!(rejected.reply, None, "a rejected draft is gone");
    assert_eq!(rejected.handling_unit, seed.handling_unit, "the unit stays");
    let copied = responses.last().unwrap();
    assert_eq!(copied.version, 11);
    assert_eq!(copied.reply, Some(seed.reply().into()));
    assert_eq!(get(&client, tracked.id()).await, *copied);

    let events = assert_history(&client, &tracked).await;
    let table: Vec<(u64, &str, State, State)> = events
        .iter()
        .map(|e| (e.sequence, kind(&e.data), e.from_state(), e.to_state()))
        .collect();
    use State::*;
    assert_eq!(
        table,
        [
            (1, "received", Unspecified, Received),
            (2, "assigned", Received, Assigned),
            (3, "returned", Assigned, Received),
            (4, "assigned", Received, Assigned),
            (5, "drafted", Assigned, Drafted),
            (6, "drafted", Drafted, Drafted),
            (7, "draft_rejected", Drafted, Assigned),
            (8, "drafted", Assigned, Drafted),
            (9, "signed", Drafted, Signed),
            (10, "issued", Signed, Issued),
            (11, "copied", Issued, Copied),
        ]
    );
    let revisions: Vec<bool> = events
        .iter()
        .filter_map(|e| match &e.data {
            Some(Data::Drafted(d)) => Some(d.revision),
            _ => None,
        })
        .collect();
    assert_eq!(revisions, [false, true, false]);
    assert_eq!(positions(&events), (1..=11).collect::<Vec<_>>());

    server.stop().await;
}

#[tokio::test]
async fn everything_survives_a_restart_and_positions_continue() {
    let server = TestServer::start().await;
    let client = server.client.clone();
    let seed = seed::proposal_228();
    let (committee, session) = (COMMITTEES[0], SESSIONS[0]);

    let mut all = Vec::new();
    let mut tracked = Tracked::receive(&client, seed_registration(&seed)).await;
    tracked
        .drive_to(&client, &Path::seed(&seed), State::Copied)
        .await;
    all.push(tracked);
    let mut tracked = Tracked::receive(&client, registration(committee, session, 1)).await;
    let path = Path::synthetic(1, UNITS[1]);
    lifecycle_with_backward_moves(&client, &mut tracked, &path, UNITS[2]).await;
    all.push(tracked);
    all.extend(proposals_in_every_state(&client, committee, session, 10).await);

    let ids: Vec<String> = all.iter().map(|t| t.id().to_owned()).collect();
    let mut filters = vec![Filter::default()];
    filters.extend(FORWARD.map(|state| Filter {
        state: Some(state),
        ..Filter::default()
    }));
    filters.extend(UNITS.map(|unit| Filter {
        handling_unit: Some(unit.into()),
        ..Filter::default()
    }));
    let before = Snapshot::take(&client, &ids, &filters).await;
    for (tracked, proposal) in all.iter().zip(&before.proposals) {
        assert_proposal(proposal, &tracked.expected);
        assert_history(&client, tracked).await;
    }
    for (filter, pages) in filters.iter().zip(&before.listings) {
        let listed = by_id(&pages.concat(), "before the restart");
        assert_eq!(listed, expected_listing(&all, filter), "{filter:?}");
    }
    let old_max = before.histories.iter().flatten().map(|e| e.position).max();
    let old_max = old_max.expect("events were recorded");
    let first_page = list_page(&client, &Filter::default(), 2, "").await.unwrap();
    assert!(!first_page.next_page_token.is_empty());

    let mut server = server.restart().await;
    let client = server.client.clone();

    let after = Snapshot::take(&client, &ids, &filters).await;
    before.assert_same_as(&after, &ids, &filters);
    let resumed = list_page(&client, &Filter::default(), 2, &first_page.next_page_token)
        .await
        .expect("a page token from before the restart still works");
    assert_eq!(resumed.proposals, before.listings[0][1]);
    // The idempotency records survived: a retry of the seed's registration is answered with
    // the original result, and a new request for the same number is a duplicate.
    // (Tracked dated it; the retry is the same request, date included.)
    let retry = client
        .clone()
        .receive_proposal(pb::ReceiveProposalRequest {
            effective_date: ACT_DATE.into(),
            ..seed_registration(&seed)
        })
        .await
        .expect("a retried registration is answered")
        .into_inner()
        .proposal
        .unwrap();
    let original = &before.proposals[0];
    assert_eq!(
        (retry.id.as_str(), retry.state(), retry.version),
        (original.id.as_str(), State::Received, 1)
    );
    assert_eq!(retry.received_at, original.received_at);
    let again = pb::ReceiveProposalRequest {
        request_id: "receive/228/again".into(),
        ..seed_registration(&seed)
    };
    let duplicate = client.clone().receive_proposal(again).await;
    assert_eq!(
        duplicate.map(drop).unwrap_err().code(),
        Code::AlreadyExists,
        "the identity index survived: No. 228 cannot be registered twice"
    );

    // Carry on after the restart: the ASSIGNED proposal to the end, and a new one.
    let assigned = all
        .iter_mut()
        .find(|t| t.state() == State::Assigned && t.expected.reply.is_none())
        .expect("a proposal is waiting for its draft");
    let number = assigned.expected.number;
    let old_len = assigned.events.len();
    let unit = assigned.expected.handling_unit.clone();
    let path = Path::synthetic(number, &unit);
    assigned.drive_to(&client, &path, State::Copied).await;
    let continued = assert_history(&client, assigned).await;
    let index = ids.iter().position(|id| id == assigned.id()).unwrap();
    assert_eq!(
        continued[..old_len],
        before.histories[index],
        "the old events are kept"
    );
    let newcomer = Tracked::receive(&client, registration(committee, session, 99)).await;
    let newcomer_events = assert_history(&client, &newcomer).await;

    let mut new_positions = positions(&continued[old_len..]);
    new_positions.extend(positions(&newcomer_events));
    assert_strictly_increasing(&new_positions, "positions after the restart");
    assert!(
        new_positions[0] > old_max,
        "positions continue after {old_max}, not reused: {new_positions:?}"
    );
    let mut every_position = BTreeSet::new();
    for id in ids.iter().chain([&newcomer.expected.id]) {
        for event in history_pages(&client, id, 0).await.concat() {
            assert!(
                every_position.insert(event.position),
                "position {} is used twice",
                event.position
            );
        }
    }

    server.stop().await;
}

#[tokio::test]
async fn history_pages_through_the_seed_lifecycle() {
    let mut server = TestServer::start().await;
    let client = server.client.clone();
    let seed = seed::proposal_228();
    let mut tracked = Tracked::receive(&client, seed_registration(&seed)).await;
    tracked
        .drive_to(&client, &Path::seed(&seed), State::Copied)
        .await;
    let whole = assert_history(&client, &tracked).await;
    assert_eq!(whole.len(), 6);

    for (page_size, sizes) in [
        (1, vec![1, 1, 1, 1, 1, 1]),
        (2, vec![2, 2, 2]),
        (4, vec![4, 2]),
        (5, vec![5, 1]),
        (6, vec![6]),
        (1000, vec![6]),
    ] {
        let pages = history_pages(&client, tracked.id(), page_size).await;
        let actual: Vec<usize> = pages.iter().map(Vec::len).collect();
        assert_eq!(actual, sizes, "page size {page_size}");
        assert_eq!(pages.concat(), whole, "page size {page_size}: concatenated");
    }
    // The three pages of two, spelled out: tokens on the first two only.
    let first = history_page(&client, tracked.id(), 2, "").await.unwrap();
    let second = history_page(&client, tracked.id(), 2, &first.next_page_token)
        .await
        .unwrap();
    let third = history_page(&client, tracked.id(), 2, &second.next_page_token)
        .await
        .unwrap();
    assert!(!first.next_page_token.is_empty() && !second.next_page_token.is_empty());
    assert!(
        third.next_page_token.is_empty(),
        "the last page has no token"
    );
    let sequences: Vec<Vec<u64>> = [&first, &second, &third]
        .iter()
        .map(|page| page.events.iter().map(|e| e.sequence).collect())
        .collect();
    assert_eq!(sequences, [[1, 2], [3, 4], [5, 6]]);

    // A token belongs to its proposal, and a listing's token is no history token.
    let other = Tracked::receive(&client, registration(COMMITTEES[0], SESSIONS[1], 7)).await;
    let result = history_page(&client, other.id(), 2, &first.next_page_token).await;
    assert_invalid(result, "page_token", "another proposal's history token");
    let listing = list_page(&client, &Filter::default(), 1, "").await.unwrap();
    assert!(!listing.next_page_token.is_empty());
    let result = history_page(&client, tracked.id(), 2, &listing.next_page_token).await;
    assert_invalid(result, "page_token", "a listing token");
    let result = history_page(&client, tracked.id(), 2, "garbage").await;
    assert_invalid(result, "page_token", "garbage");
    let result = history_page(&client, tracked.id(), -1, "").await;
    assert_invalid(result, "page_size", "negative page_size");

    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Everything a client can read about a set of proposals.
struct Snapshot {
    proposals: Vec<pb::Proposal>,
    histories: Vec<Vec<pb::ProposalEvent>>,
    listings: Vec<Vec<Vec<pb::Proposal>>>,
}

impl Snapshot {
    async fn take(client: &Client, ids: &[String], filters: &[Filter]) -> Self {
        let mut snapshot = Self {
            proposals: Vec::new(),
            histories: Vec::new(),
            listings: Vec::new(),
        };
        for id in ids {
            snapshot.proposals.push(get(client, id).await);
            snapshot
                .histories
                .push(history_pages(client, id, 0).await.concat());
        }
        for filter in filters {
            snapshot.listings.push(list_pages(client, filter, 2).await);
        }
        snapshot
    }

    /// Compares two snapshots of the same proposals and filters, naming what differs.
    fn assert_same_as(&self, other: &Self, ids: &[String], filters: &[Filter]) {
        for (index, id) in ids.iter().enumerate() {
            assert_eq!(
                self.proposals[index], other.proposals[index],
                "GetProposal {id}"
            );
            assert_eq!(
                self.histories[index], other.histories[index],
                "GetProposalHistory {id}"
            );
        }
        for (index, filter) in filters.iter().enumerate() {
            assert_eq!(
                self.listings[index], other.listings[index],
                "ListProposals {filter:?} by 2"
            );
        }
    }
}

/// The lifecycle with every backward move: assigned to the wrong unit and returned, re-assigned
/// along `path`, drafted, revised, rejected, drafted again, then signed, issued and copied.
/// Returns the proposal after each call.
async fn lifecycle_with_backward_moves(
    client: &Client,
    tracked: &mut Tracked,
    path: &Path,
    wrong_unit: &str,
) -> Vec<pb::Proposal> {
    let number = tracked.expected.number;
    let script = [
        (
            Action::Assign {
                handling_unit: wrong_unit.into(),
                due_date: "2019-07-31".into(),
            },
            State::Assigned,
        ),
        (
            Action::Return {
                reason: "该提案不属于本单位职责范围，请重新交办。".into(),
            },
            State::Received,
        ),
        (path.assign.clone(), State::Assigned),
        (
            Action::Draft(synthetic_reply(number, "初稿")),
            State::Drafted,
        ),
        (path.draft.clone(), State::Drafted),
        (
            Action::RejectDraft {
                reason: "请补充下一步工作打算。".into(),
            },
            State::Assigned,
        ),
        (path.draft.clone(), State::Drafted),
        (path.sign.clone(), State::Signed),
        (path.issue.clone(), State::Issued),
        (path.copy.clone(), State::Copied),
    ];
    let mut responses = Vec::new();
    for (action, state) in script {
        let proposal = tracked.step(client, action).await;
        assert_eq!(
            proposal.state(),
            state,
            "after call {}",
            responses.len() + 2
        );
        responses.push(proposal);
    }
    responses
}

/// One proposal per forward state and a few with backward moves in their past, all in
/// `committee`/`session` with numbers from `first_number`.
async fn proposals_in_every_state(
    client: &Client,
    committee: &str,
    session: &str,
    first_number: u32,
) -> Vec<Tracked> {
    let mut all = Vec::new();
    for (offset, target) in FORWARD.into_iter().enumerate() {
        let number = first_number + offset as u32;
        let unit = UNITS[offset % UNITS.len()];
        let mut tracked = Tracked::receive(client, registration(committee, session, number)).await;
        if offset % 2 == 0 {
            tracked
                .detour_via(client, UNITS[(offset + 1) % UNITS.len()])
                .await;
        }
        tracked
            .drive_to(client, &Path::synthetic(number, unit), target)
            .await;
        all.push(tracked);
    }
    // A draft revised twice, then rejected: ASSIGNED with no reply.
    let number = first_number + FORWARD.len() as u32;
    let mut tracked = Tracked::receive(client, registration(committee, session, number)).await;
    let path = Path::synthetic(number, UNITS[0]);
    tracked.drive_to(client, &path, State::Drafted).await;
    for label in ["修改稿", "再修改稿"] {
        let revision = Action::Draft(synthetic_reply(number, label));
        tracked.step(client, revision).await;
    }
    let reason = "数据需要核实。".to_string();
    tracked.step(client, Action::RejectDraft { reason }).await;
    all.push(tracked);
    all
}
