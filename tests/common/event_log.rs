//! The event log's reference: the filters of `ListEvents` and `WatchEvents` as the contract
//! states them ([`EventFilter::matches`]), with the handling unit of each event worked out here
//! by walking each proposal's events ([`event_units`]), not by the server; every page of a
//! listing; and what a whole log must look like (positions 1..N without gap).

use std::collections::HashMap;

use proposal_service::pb;
use proposal_service::pb::proposal_event::Data;
use proposal_service::pb::{EventKind as Kind, ProposalState as State};

use super::Client;
use super::reads::{event_pages, positions};

/// Filters as ListEvents takes them; unset ones match everything.
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    pub occurred_after: Option<prost_types::Timestamp>,
    pub occurred_before: Option<prost_types::Timestamp>,
    pub actor: String,
    pub kinds: Vec<Kind>,
    pub handling_unit: String,
    pub to_state: Option<State>,
    pub proposal_id: String,
}

/// Builders, for one-line cases.
impl EventFilter {
    pub fn after(self, t: prost_types::Timestamp) -> Self {
        Self {
            occurred_after: Some(t),
            ..self
        }
    }
    pub fn before(self, t: prost_types::Timestamp) -> Self {
        Self {
            occurred_before: Some(t),
            ..self
        }
    }
    pub fn actor(self, actor: &str) -> Self {
        Self {
            actor: actor.into(),
            ..self
        }
    }
    pub fn kinds(self, kinds: &[Kind]) -> Self {
        Self {
            kinds: kinds.to_vec(),
            ..self
        }
    }
    pub fn unit(self, unit: &str) -> Self {
        Self {
            handling_unit: unit.into(),
            ..self
        }
    }
    pub fn to(self, state: State) -> Self {
        Self {
            to_state: Some(state),
            ..self
        }
    }
    pub fn proposal(self, id: &str) -> Self {
        Self {
            proposal_id: id.into(),
            ..self
        }
    }
}

impl EventFilter {
    pub fn list_request(&self, page_size: i32, page_token: String) -> pb::ListEventsRequest {
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

    pub fn watch_request(&self, after_position: u64) -> pb::WatchEventsRequest {
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

    /// The reference: whether `event`, which concerns `units`, matches.
    pub fn matches(&self, event: &pb::ProposalEvent, units: &[String]) -> bool {
        let at = nanos(event.occurred_at.as_ref().expect("occurred_at"));
        self.occurred_after.is_none_or(|t| at >= nanos(&t))
            && self.occurred_before.is_none_or(|t| at < nanos(&t))
            && (self.actor.is_empty() || self.actor == event.actor)
            && (self.kinds.is_empty() || self.kinds.contains(&kind(event)))
            && (self.handling_unit.is_empty() || units.contains(&self.handling_unit))
            && self.to_state.is_none_or(|s| s as i32 == event.to_state)
            && (self.proposal_id.is_empty() || self.proposal_id == event.proposal_id)
    }

    /// The events of `log` after `after_position` that match.
    pub fn expected(
        &self,
        log: &[pb::ProposalEvent],
        after_position: u64,
    ) -> Vec<pb::ProposalEvent> {
        let units = event_units(log);
        log.iter()
            .filter(|e| e.position > after_position && self.matches(e, &units[&e.position]))
            .cloned()
            .collect()
    }
}

pub fn nanos(t: &prost_types::Timestamp) -> i128 {
    i128::from(t.seconds) * 1_000_000_000 + i128::from(t.nanos)
}

/// `t` moved by `by_nanos` nanoseconds.
pub fn shifted(t: prost_types::Timestamp, by_nanos: i128) -> prost_types::Timestamp {
    let n = nanos(&t) + by_nanos;
    prost_types::Timestamp {
        seconds: n.div_euclid(1_000_000_000) as i64,
        nanos: n.rem_euclid(1_000_000_000) as i32,
    }
}

pub fn kind(event: &pb::ProposalEvent) -> Kind {
    match event.data.as_ref().expect("event data") {
        Data::Received(_) => Kind::ProposalReceived,
        Data::Assigned(_) => Kind::ProposalAssigned,
        Data::Returned(_) => Kind::ProposalReturned,
        Data::Drafted(_) => Kind::ReplyDrafted,
        Data::DraftRejected(_) => Kind::DraftRejected,
        Data::Signed(_) => Kind::ReplySigned,
        Data::Issued(_) => Kind::ReplyIssued,
        Data::Copied(_) => Kind::ReplyCopied,
        Data::Refused(_) => Kind::ProposalRefused,
        Data::Acknowledged(_) => Kind::AssignmentAcknowledged,
        Data::Contacted(_) => Kind::ProposerContacted,
        Data::ExtensionRequested(_) => Kind::ExtensionRequested,
        Data::ExtensionDecided(_) => Kind::ExtensionDecided,
        Data::ReturnRequested(_) => Kind::ReturnRequested,
        Data::ReturnDecided(_) => Kind::ReturnDecided,
        Data::OpinionSubmitted(_) => Kind::OpinionSubmitted,
        Data::Merged(_) => Kind::ProposalMerged,
        Data::MergeJoined(_) => Kind::MergeJoined,
        Data::FeedbackRecorded(_) => Kind::FeedbackRecorded,
        Data::Closed(_) => Kind::ProposalClosed,
        Data::KeySet(_) => Kind::KeyProposalSet,
        Data::Reopened(_) => Kind::ProposalReopened,
    }
}

/// The units each event concerns, by position, from walking each proposal's events in order:
/// every unit handling the proposal just before or just after it (an assignment concerns the
/// lead and its co-units, a return the units it took the proposal from, a reassignment both
/// units; none while unassigned).
pub fn event_units(log: &[pb::ProposalEvent]) -> HashMap<u64, Vec<String>> {
    // Per proposal: each unit handling it, and whether it replies (not a co-unit).
    let mut handling: HashMap<&str, Vec<(String, bool)>> = HashMap::new();
    let mut units = HashMap::new();
    for event in log {
        let current = handling.entry(event.proposal_id.as_str()).or_default();
        let mut concerned: Vec<String> = current.iter().map(|(u, _)| u.clone()).collect();
        match event.data.as_ref() {
            Some(Data::Assigned(a)) => {
                *current = std::iter::once((a.handling_unit.clone(), true))
                    .chain(a.co_units.iter().map(|u| (u.clone(), false)))
                    .collect();
                concerned = current.iter().map(|(u, _)| u.clone()).collect();
            }
            Some(Data::Returned(_)) => current.clear(),
            Some(Data::ReturnDecided(d)) if d.approved => {
                let replies = current
                    .iter()
                    .any(|(u, replies)| *u == d.handling_unit && *replies);
                let successor = (!d.reassigned_to.is_empty()).then(|| d.reassigned_to.clone());
                match (replies, successor) {
                    (true, None) => current.clear(),
                    (true, Some(next)) => {
                        current[0].0 = next.clone();
                        concerned.push(next);
                    }
                    (false, next) => {
                        current.retain(|(u, _)| *u != d.handling_unit);
                        if let Some(next) = next {
                            current.push((next.clone(), false));
                            concerned.push(next);
                        }
                    }
                }
            }
            _ => {}
        }
        units.insert(event.position, concerned);
    }
    units
}

/// Every page of ListEvents for `filter`; checks each page's size. Returns the events and
/// the number of pages.
pub async fn list_pages(
    client: &Client,
    filter: &EventFilter,
    page_size: i32,
) -> (Vec<pb::ProposalEvent>, usize) {
    let pages = event_pages(client, filter.list_request(page_size, String::new()))
        .await
        .unwrap_or_else(|s| panic!("ListEvents {filter:?}: {s:?}"));
    for page in &pages {
        assert!(
            page.len() <= page_size as usize,
            "a page holds at most page_size events: {} > {page_size}",
            page.len()
        );
    }
    let count = pages.len();
    (pages.concat(), count)
}

/// Fails unless the log holds positions 1..=n in order.
pub fn assert_gapless(log: &[pb::ProposalEvent]) {
    let expected: Vec<u64> = (1..=log.len() as u64).collect();
    assert_eq!(positions(log), expected, "positions run 1..N without gap");
}
