//! `ListProposals` against a reference: the filters as the contract states them, every page
//! of a listing, and what a set of [`Tracked`] proposals must list as.

use std::collections::BTreeMap;

use proposal_service::pb;
use tonic::Status;

use super::Client;
use super::lifecycle::State;
use super::reads::proposal_pages;
use super::tracked::Tracked;

/// ListProposals filters; `None` leaves a filter unset.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub state: Option<State>,
    pub handling_unit: Option<String>,
    pub committee: Option<String>,
    pub session: Option<String>,
}

impl Filter {
    /// Whether the contract says `proposal` belongs in the listing: every set filter matches.
    pub fn matches(&self, proposal: &pb::Proposal) -> bool {
        self.state.is_none_or(|s| s == proposal.state())
            && self
                .handling_unit
                .as_ref()
                .is_none_or(|u| *u == proposal.handling_unit)
            && self
                .committee
                .as_ref()
                .is_none_or(|c| *c == proposal.committee)
            && self.session.as_ref().is_none_or(|s| *s == proposal.session)
    }

    pub fn request(&self, page_size: i32, page_token: &str) -> pb::ListProposalsRequest {
        pb::ListProposalsRequest {
            state: self.state.unwrap_or(State::Unspecified) as i32,
            handling_unit: self.handling_unit.clone().unwrap_or_default(),
            committee: self.committee.clone().unwrap_or_default(),
            session: self.session.clone().unwrap_or_default(),
            page_size,
            page_token: page_token.into(),
            ..Default::default()
        }
    }
}

pub async fn list_page(
    client: &Client,
    filter: &Filter,
    page_size: i32,
    page_token: &str,
) -> Result<pb::ListProposalsResponse, Status> {
    let request = filter.request(page_size, page_token);
    Ok(client.clone().list_proposals(request).await?.into_inner())
}

/// Every page of a listing, following the tokens to the end.
pub async fn list_pages(
    client: &Client,
    filter: &Filter,
    page_size: i32,
) -> Vec<Vec<pb::Proposal>> {
    proposal_pages(client, filter.request(page_size, ""))
        .await
        .unwrap_or_else(|s| panic!("ListProposals {filter:?} failed: {s:?}"))
}

/// The proposals the test expects a filter to list, by id.
pub fn expected_listing(tracked: &[Tracked], filter: &Filter) -> BTreeMap<String, pb::Proposal> {
    tracked
        .iter()
        .map(|t| &t.expected)
        .filter(|p| filter.matches(p))
        .map(|p| (p.id.clone(), basic(p)))
        .collect()
}

/// What the basic view (a listing's default) shows of `proposal`: everything but the content
/// and the replies (the proposal's, shown on its sole or lead handling, and split units').
pub fn basic(proposal: &pb::Proposal) -> pb::Proposal {
    let mut basic = pb::Proposal {
        content: String::new(),
        reply: None,
        ..proposal.clone()
    };
    for handling in &mut basic.handlings {
        handling.reply = None;
    }
    basic
}

/// Keys a listing by id, failing on a proposal listed twice.
pub fn by_id(listed: &[pb::Proposal], what: &str) -> BTreeMap<String, pb::Proposal> {
    let mut map = BTreeMap::new();
    for proposal in listed {
        let id = proposal.id.clone();
        assert!(
            map.insert(id.clone(), proposal.clone()).is_none(),
            "{what}: {id} is listed twice"
        );
    }
    map
}

/// Pages through `filter` with `page_size` and checks that the pages are full but the last, that
/// only the last has no token, and that together they are exactly the one-page listing, which in
/// turn is exactly the expected set.
pub async fn assert_paged(client: &Client, tracked: &[Tracked], filter: &Filter, page_size: usize) {
    let expected = expected_listing(tracked, filter);
    let what = format!("{filter:?} by {page_size}");
    let whole = list_page(client, filter, 1000, "").await.unwrap();
    assert!(
        whole.next_page_token.is_empty(),
        "{what}: one page holds all"
    );
    assert_eq!(by_id(&whole.proposals, &what), expected, "{what}: listing");

    let pages = list_pages(client, filter, page_size as i32).await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    let expected_sizes: Vec<usize> = (0..expected.len())
        .step_by(page_size)
        .map(|start| page_size.min(expected.len() - start))
        .collect();
    assert_eq!(sizes, expected_sizes, "{what}: page sizes");
    assert_eq!(
        pages.concat(),
        whole.proposals,
        "{what}: the pages concatenate to the one-page listing, in order"
    );
}
