mod common;

// ListEvents over real gRPC against a reference filter: every filter alone and combined, time
// windows taken from the log, page tokens bound to their query, and bad filter values named.
//
// The reference: every expected listing is the whole log (read page by page) filtered by
// `EventFilter::matches` (tests/common/event_log.rs), whose handling-unit rule is the kit's own
// walk of each proposal's events (`event_units`), not the server's.

use std::collections::HashSet;

use common::TestServer;
use common::event_log::{
    EventFilter, assert_gapless, event_units, kind, list_pages, nanos, shifted,
};
use common::lifecycle::STATES;
use common::plans::{
    CLERK_A, CLERK_B, LEADER_A, LEADER_B, OFFICE, REGISTRAR_1, REGISTRAR_2, UNIT_A, UNIT_B,
    varied_proposals,
};
use common::reads::{history_pages, positions};
use common::status::assert_invalid;
use proposal_service::pb;
use proposal_service::pb::{EventKind as Kind, ProposalState as State};

#[tokio::test]
async fn list_events_matches_the_reference_for_every_filter() {
    let server = TestServer::start().await;
    let client = server.client.clone();
    let (ids, caused) = varied_proposals(&client).await;

    let (log, pages) = list_pages(&client, &EventFilter::default(), 7).await;
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
            history_pages(&client, id, 3).await.concat(),
            in_log,
            "history of {id} equals its events in the log"
        );
    }

    let units = event_units(&log);
    assert!(
        units.values().any(Vec::is_empty),
        "some events concern no unit"
    );
    let at = |position: usize| log[position - 1].occurred_at.unwrap();
    let n = log.len();
    let all = || EventFilter::default();
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
    let mut cases: Vec<(EventFilter, Option<Vec<u64>>)> = vec![
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
    for state in STATES {
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
        c.list_events(EventFilter::default().list_request(7, "bm90IGEgdG9rZW4".into()))
            .await,
        "page_token",
        "a token the service never issued",
    );

    // Bad filter values are named in BadRequest.
    let request = |f: fn(&mut pb::ListEventsRequest)| {
        let mut request = EventFilter::default().list_request(7, String::new());
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
