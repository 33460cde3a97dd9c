mod common;

// ListProposals over real gRPC: every combination of filters against the reference filter,
// pages that concatenate to the whole listing, the default page size, the BASIC and FULL views,
// and the refusal of page tokens and sizes the service did not issue or cannot serve.
//
// The proposals are `Tracked` (tests/common/tracked.rs), so the expected listing of a filter is
// computed from what the test sent, not read back from the service.

use std::collections::{BTreeMap, BTreeSet};

use common::TestServer;
use common::lifecycle::{STATES as FORWARD, State};
use common::listing::{
    Filter, assert_paged, basic, by_id, expected_listing, list_page, list_pages,
};
use common::reads::history_pages;
use common::status::assert_invalid;
use common::tracked::{COMMITTEES, Path, SESSIONS, Tracked, UNITS, registration};
use proposal_service::pb;

#[tokio::test]
async fn list_filters_match_exactly_the_expected_proposals() {
    let mut server = TestServer::start().await;
    let client = server.client.clone();

    let mut all = Vec::new();
    for i in 0..24usize {
        let committee = COMMITTEES[(i / 4) % 2];
        let session = SESSIONS[(i / 3 + i) % 2];
        let unit = UNITS[(i + i / 6) % 3];
        let number = 100 + i as u32;
        let mut tracked = Tracked::receive(&client, registration(committee, session, number)).await;
        if i % 4 == 3 {
            tracked
                .detour_via(&client, UNITS[(i + i / 6 + 1) % 3])
                .await;
        }
        tracked
            .drive_to(&client, &Path::synthetic(number, unit), FORWARD[i % 6])
            .await;
        all.push(tracked);
    }

    // Every combination of: unset, each real value, and a value that is a prefix of real ones.
    let states: Vec<Option<State>> = [None].into_iter().chain(FORWARD.map(Some)).collect();
    let values = |real: &[&str], prefix: &str| -> Vec<Option<String>> {
        let mut values = vec![None, Some(prefix.to_owned())];
        values.extend(real.iter().map(|v| Some(v.to_string())));
        values
    };
    let units = values(&UNITS, "许昌市教育");
    let committees = values(&COMMITTEES, "许昌市");
    let sessions = values(&SESSIONS, "七届");
    let mut filters = Vec::new();
    for state in &states {
        for unit in &units {
            for committee in &committees {
                for session in &sessions {
                    filters.push(Filter {
                        state: *state,
                        handling_unit: unit.clone(),
                        committee: committee.clone(),
                        session: session.clone(),
                    });
                }
            }
        }
    }
    assert_eq!(filters.len(), 7 * 5 * 4 * 4);
    // A few dozen queries at a time: one after another, the 560 of them take seconds.
    let mut sizes = BTreeSet::new();
    for chunk in filters.chunks(40) {
        let mut queries = tokio::task::JoinSet::new();
        for filter in chunk {
            let (client, filter) = (client.clone(), filter.clone());
            queries.spawn(async move {
                let page = list_page(&client, &filter, 1000, "").await;
                (filter, page)
            });
        }
        while let Some(joined) = queries.join_next().await {
            let (filter, page) = joined.expect("the query task ran");
            let what = format!("{filter:?}");
            let page = page.unwrap_or_else(|s| panic!("{what}: {s:?}"));
            assert!(page.next_page_token.is_empty(), "{what}: one page");
            let expected = expected_listing(&all, &filter);
            assert_eq!(by_id(&page.proposals, &what), expected, "{what}");
            sizes.insert(expected.len());
        }
    }
    assert!(
        sizes.len() >= 6,
        "the data set tells filters apart: {sizes:?}"
    );

    // Single filters each match something, so none of the above passed vacuously.
    for state in FORWARD {
        let filter = Filter {
            state: Some(state),
            ..Filter::default()
        };
        assert!(!expected_listing(&all, &filter).is_empty(), "{filter:?}");
    }
    for unit in UNITS {
        let filter = Filter {
            handling_unit: Some(unit.into()),
            ..Filter::default()
        };
        assert!(!expected_listing(&all, &filter).is_empty(), "{filter:?}");
    }

    server.stop().await;
}

#[tokio::test]
async fn list_pages_concatenate_to_the_whole_listing() {
    let mut server = TestServer::start().await;
    let client = server.client.clone();
    let committee = COMMITTEES[0];

    let mut all = Vec::new();
    for i in 0..23u32 {
        let session = if i < 10 { SESSIONS[1] } else { SESSIONS[0] };
        let number = 300 + i;
        let mut tracked = Tracked::receive(&client, registration(committee, session, number)).await;
        let target = match i % 4 {
            0 => State::Drafted,
            2 => State::Assigned,
            _ => State::Received,
        };
        let path = Path::synthetic(number, UNITS[0]);
        tracked.drive_to(&client, &path, target).await;
        all.push(tracked);
    }

    // 23 proposals by 5: 5 + 5 + 5 + 5 + 3.
    assert_paged(&client, &all, &Filter::default(), 5).await;
    let pages = list_pages(&client, &Filter::default(), 5).await;
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        [5, 5, 5, 5, 3]
    );
    // The committee's index: exactly two full pages, the second with no token.
    let session_four = Filter {
        committee: Some(committee.into()),
        session: Some(SESSIONS[1].into()),
        ..Filter::default()
    };
    assert_eq!(expected_listing(&all, &session_four).len(), 10);
    assert_paged(&client, &all, &session_four, 5).await;
    // The unit's index with the state checked on each entry: 6 of the unit's 12 match.
    let assigned_to_unit = Filter {
        state: Some(State::Assigned),
        handling_unit: Some(UNITS[0].into()),
        ..Filter::default()
    };
    assert_eq!(expected_listing(&all, &assigned_to_unit).len(), 6);
    assert_paged(&client, &all, &assigned_to_unit, 4).await;
    // The state's index: 11 received by 5.
    let received = Filter {
        state: Some(State::Received),
        ..Filter::default()
    };
    assert_eq!(expected_listing(&all, &received).len(), 11);
    assert_paged(&client, &all, &received, 5).await;
    // Page size 1, and a page size larger than the listing.
    assert_paged(&client, &all, &Filter::default(), 1).await;
    assert_paged(&client, &all, &Filter::default(), 23).await;
    assert_paged(&client, &all, &Filter::default(), 100).await;

    server.stop().await;
}

#[tokio::test]
async fn list_page_size_zero_means_fifty() {
    let mut server = TestServer::start().await;
    let client = server.client.clone();
    let mut all = Vec::new();
    for number in 1..=52 {
        let request = registration(COMMITTEES[1], SESSIONS[1], number);
        all.push(Tracked::receive(&client, request).await);
    }

    let first = list_page(&client, &Filter::default(), 0, "").await.unwrap();
    assert_eq!(first.proposals.len(), 50, "the default page size is 50");
    assert!(!first.next_page_token.is_empty());
    let second = list_page(&client, &Filter::default(), 0, &first.next_page_token)
        .await
        .unwrap();
    assert_eq!(second.proposals.len(), 2);
    assert!(second.next_page_token.is_empty());
    let listed = [first.proposals, second.proposals].concat();
    assert_eq!(
        by_id(&listed, "default pages"),
        expected_listing(&all, &Filter::default())
    );

    server.stop().await;
}

#[tokio::test]
async fn views_choose_whether_content_and_reply_are_read() {
    let mut server = TestServer::start().await;
    let client = server.client.clone();
    let (committee, session) = (COMMITTEES[0], SESSIONS[0]);
    let mut all = Vec::new();
    for (number, target) in [
        (1, State::Received),
        (2, State::Drafted),
        (3, State::Copied),
    ] {
        let mut tracked = Tracked::receive(&client, registration(committee, session, number)).await;
        let path = Path::synthetic(number, UNITS[0]);
        if target != State::Received {
            tracked.drive_to(&client, &path, target).await;
        }
        all.push(tracked);
    }
    assert!(
        all.iter().any(|t| t.expected.reply.is_some()),
        "a reply is there to leave out"
    );
    let full: BTreeMap<String, pb::Proposal> = all
        .iter()
        .map(|t| (t.expected.id.clone(), t.expected.clone()))
        .collect();
    let basic_all: BTreeMap<String, pb::Proposal> =
        full.iter().map(|(id, p)| (id.clone(), basic(p))).collect();
    assert_ne!(full, basic_all);

    // A listing is basic unless it asks for FULL.
    for (view, expected) in [
        (pb::ProposalView::Unspecified, &basic_all),
        (pb::ProposalView::Basic, &basic_all),
        (pb::ProposalView::Full, &full),
    ] {
        let request = pb::ListProposalsRequest {
            view: view as i32,
            ..Filter::default().request(0, "")
        };
        let page = client.clone().list_proposals(request).await.unwrap();
        let what = format!("listing in {view:?}");
        assert_eq!(
            &by_id(&page.into_inner().proposals, &what),
            expected,
            "{what}"
        );
    }
    // A proposal read alone is full unless it asks for BASIC.
    for tracked in &all {
        let id = &tracked.expected.id;
        for (view, expected) in [
            (pb::ProposalView::Unspecified, tracked.expected.clone()),
            (pb::ProposalView::Basic, basic(&tracked.expected)),
            (pb::ProposalView::Full, tracked.expected.clone()),
        ] {
            let request = pb::GetProposalRequest {
                proposal_id: id.clone(),
                view: view as i32,
            };
            let answer = client.clone().get_proposal(request).await.unwrap();
            assert_eq!(
                answer.into_inner().proposal,
                Some(expected),
                "{id} in {view:?}"
            );
        }
    }
    // A view that does not exist is refused, naming the field.
    let id = all[0].expected.id.clone();
    let refused = client
        .clone()
        .get_proposal(pb::GetProposalRequest {
            proposal_id: id,
            view: 3,
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
    assert!(refused.message().contains("view"), "{refused:?}");
    let request = pb::ListProposalsRequest {
        view: -1,
        ..Filter::default().request(0, "")
    };
    let refused = client.clone().list_proposals(request).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
    assert!(refused.message().contains("view"), "{refused:?}");

    server.stop().await;
}

#[tokio::test]
async fn list_refuses_bad_page_tokens_and_sizes() {
    let mut server = TestServer::start().await;
    let client = server.client.clone();
    let mut all = Vec::new();
    for (number, committee) in [(1, COMMITTEES[0]), (2, COMMITTEES[0]), (3, COMMITTEES[1])] {
        let request = registration(committee, SESSIONS[0], number);
        all.push(Tracked::receive(&client, request).await);
    }
    let unfiltered = Filter::default();
    let first = list_page(&client, &unfiltered, 1, "").await.unwrap();
    let token = first.next_page_token;
    assert!(!token.is_empty());

    // The token works with the filters it came from, whatever the page size.
    let next = list_page(&client, &unfiltered, 1, &token).await.unwrap();
    assert_eq!(next.proposals.len(), 1);
    assert_ne!(next.proposals[0].id, first.proposals[0].id);
    let rest = list_page(&client, &unfiltered, 10, &token).await.unwrap();
    assert_eq!(rest.proposals.len(), 2);
    assert!(rest.next_page_token.is_empty());

    // With any other filters it is refused.
    let others = [
        Filter {
            state: Some(State::Received),
            ..Filter::default()
        },
        Filter {
            committee: Some(COMMITTEES[0].into()),
            ..Filter::default()
        },
        Filter {
            session: Some(SESSIONS[0].into()),
            ..Filter::default()
        },
        Filter {
            handling_unit: Some(UNITS[0].into()),
            ..Filter::default()
        },
    ];
    for filter in &others {
        let result = list_page(&client, filter, 1, &token).await;
        assert_invalid(
            result,
            "page_token",
            &format!("unfiltered token with {filter:?}"),
        );
    }
    // And the other way round: a filtered token without its filter.
    let by_committee = &others[1];
    let filtered = list_page(&client, by_committee, 1, "").await.unwrap();
    assert!(!filtered.next_page_token.is_empty());
    let result = list_page(&client, &unfiltered, 1, &filtered.next_page_token).await;
    assert_invalid(result, "page_token", "committee token without the filter");
    let by_other_committee = Filter {
        committee: Some(COMMITTEES[1].into()),
        ..Filter::default()
    };
    let result = list_page(&client, &by_other_committee, 1, &filtered.next_page_token).await;
    assert_invalid(
        result,
        "page_token",
        "committee token with another committee",
    );

    // Tokens the service never issued.
    let history = history_pages(&client, all[0].id(), 0).await;
    assert_eq!(history.concat().len(), 1);
    let mut garbage = vec![
        "garbage".to_string(),
        "!!!not base64!!!".to_string(),
        "AAAAAAAAAAAAAAAA".to_string(),
        "A".repeat(4096),
    ];
    garbage.push(format!("{token}x"));
    for bad in &garbage {
        let result = list_page(&client, &unfiltered, 1, bad).await;
        assert_invalid(result, "page_token", &format!("token {bad:.40}"));
    }

    for size in [-1, i32::MIN] {
        let result = list_page(&client, &unfiltered, size, "").await;
        assert_invalid(result, "page_size", &format!("page_size {size}"));
    }
    let mut bad_state = unfiltered.request(1, "");
    bad_state.state = 99;
    let result = client.clone().list_proposals(bad_state).await;
    assert_invalid(result, "state", "state 99");

    server.stop().await;
}
