//! A session's figures as of a day (GetStatistics): what the office would have reported that
//! day, counting only the acts effective on or before it.
//!
//! Two ways to the same figures. [`statistics_by_fold`] is the definition, written as plainly
//! as possible: fold each proposal's events up to the day and count from the projections. It
//! reads every event, so it serves as the oracle of the tests. [`ProposalFacts`] is what the
//! store keeps to answer fast: per proposal, the [`Standing`] its acts left it in after each day
//! it changed, derived from the events by [`ProposalFacts::record`] alone, so a backend keeps it
//! in the same transaction as the events and `verify` recomputes it from them. Statistics are
//! then one read of a session's facts ([`statistics_of_facts`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::decide::{apply, fold};
use super::event::{EventData, RecordedEvent};
use super::model::{
    CalendarDate, HandlingRole, Proposal, ProposalState, ResultCode, Satisfaction, Timestamp,
};

/// The day an act counts from: its effective date, or for an event recorded before effective
/// dates were (schema 1) the instant it was recorded, which only the rules' time zone turns
/// into a day (so it is resolved when the figures are asked for, not when they are stored).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActDay {
    #[serde(rename = "d")]
    On(CalendarDate),
    #[serde(rename = "t")]
    At(Timestamp),
}

impl ActDay {
    /// The day `event` counts from.
    pub fn of(event: &RecordedEvent) -> Self {
        event
            .effective_date
            .map_or(Self::At(event.occurred_at), Self::On)
    }

    /// The calendar day, reading an instant with `date_at` (the rules' `date_at`).
    pub fn date(self, date_at: &impl Fn(Timestamp) -> CalendarDate) -> CalendarDate {
        match self {
            Self::On(date) => date,
            Self::At(instant) => date_at(instant),
        }
    }
}

/// A reply deadline: the due date in force and the day the reply was issued, if it was.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    #[serde(default, rename = "d", skip_serializing_if = "Option::is_none")]
    pub due: Option<CalendarDate>,
    #[serde(default, rename = "i", skip_serializing_if = "Option::is_none")]
    pub issued: Option<CalendarDate>,
}

impl Deadline {
    /// Whether the reply is late on `day`: due before it and not issued on or before it
    /// (the rule of [`Proposal::is_overdue_on`], for one reply).
    pub fn missed_on(&self, day: CalendarDate) -> bool {
        self.due.is_some_and(|due| due < day) && self.issued.is_none_or(|issued| issued > day)
    }
}

/// One current handling of a proposal, as the statistics by unit count it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitStanding {
    #[serde(rename = "n")]
    pub unit: String,
    #[serde(rename = "r")]
    pub role: HandlingRole,
    /// A replying unit: its reply of the first round is issued.
    #[serde(default, rename = "p", skip_serializing_if = "std::ops::Not::not")]
    pub replied: bool,
    /// ... on or before its own due date then in force.
    #[serde(default, rename = "t", skip_serializing_if = "std::ops::Not::not")]
    pub replied_on_time: bool,
    /// A replying unit's current deadline, for overdue on a day.
    #[serde(default, rename = "l", skip_serializing_if = "is_default")]
    pub deadline: Deadline,
    /// A co-unit: its opinion is submitted.
    #[serde(default, rename = "o", skip_serializing_if = "std::ops::Not::not")]
    pub opinion: bool,
    /// ... on or before its due date.
    #[serde(default, rename = "q", skip_serializing_if = "std::ops::Not::not")]
    pub opinion_on_time: bool,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// What one proposal contributes to the figures, as its acts up to some day left it. Everything
/// but "overdue" is settled by those acts; overdue also depends on the day asked about, so the
/// deadlines are kept instead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    #[serde(rename = "s")]
    pub stage: Stage,
    /// Some `ProposalAssigned` among the acts.
    #[serde(default, rename = "a", skip_serializing_if = "std::ops::Not::not")]
    pub ever_assigned: bool,
    /// Every reply of the first round is issued (the round kept in `rounds[0]` once reopened,
    /// else the current replies: the sole or lead reply, or one per split unit).
    #[serde(default, rename = "p", skip_serializing_if = "std::ops::Not::not")]
    pub replied: bool,
    /// ... each on or before its unit's due date then in force.
    #[serde(default, rename = "t", skip_serializing_if = "std::ops::Not::not")]
    pub replied_on_time: bool,
    /// The current replies' deadlines, as [`Proposal::is_overdue_on`] reads them.
    #[serde(default, rename = "l", skip_serializing_if = "Vec::is_empty")]
    pub deadlines: Vec<Deadline>,
    /// Each replying unit's latest issued reply's result code.
    #[serde(default, rename = "c", skip_serializing_if = "Vec::is_empty")]
    pub result_codes: Vec<ResultCode>,
    /// Each proposer's latest verdict over every round.
    #[serde(default, rename = "v", skip_serializing_if = "Vec::is_empty")]
    pub verdicts: Vec<Satisfaction>,
    #[serde(default, rename = "o", skip_serializing_if = "std::ops::Not::not")]
    pub reopened: bool,
    #[serde(default, rename = "k", skip_serializing_if = "std::ops::Not::not")]
    pub key: bool,
    /// The current handlings.
    #[serde(default, rename = "u", skip_serializing_if = "Vec::is_empty")]
    pub units: Vec<UnitStanding>,
}

/// Where a proposal stands, as coarsely as the figures need: drafting or signing a reply
/// changes no figure, so it makes no new standing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// RECEIVED: waiting to be assigned.
    #[serde(rename = "R")]
    Received,
    /// ASSIGNED to COPIED: handled by at least one unit.
    #[serde(rename = "H")]
    Handled,
    /// CLOSED: still handled, and closed (办结).
    #[serde(rename = "C")]
    Closed,
    #[serde(rename = "N")]
    NotAccepted,
    #[serde(rename = "M")]
    Merged,
}

impl Stage {
    pub fn of(state: ProposalState) -> Self {
        match state {
            ProposalState::Received => Self::Received,
            ProposalState::Assigned
            | ProposalState::Drafted
            | ProposalState::Signed
            | ProposalState::Issued
            | ProposalState::Copied => Self::Handled,
            ProposalState::Closed => Self::Closed,
            ProposalState::NotAccepted => Self::NotAccepted,
            ProposalState::Merged => Self::Merged,
        }
    }
}

/// One reply of a round: its unit, due date in force, issue date, state and result code.
struct RoundOfReply<'a> {
    unit: &'a str,
    due: Option<CalendarDate>,
    issue_date: Option<CalendarDate>,
    state: ProposalState,
    result_code: Option<ResultCode>,
}

/// The current round's replies: one per split handling, else the one replying unit's (none
/// while no unit replies).
fn current_replies(p: &Proposal) -> Vec<RoundOfReply<'_>> {
    if p.is_split() {
        return p
            .handlings
            .iter()
            .filter_map(|h| {
                let part = h.split.as_deref()?;
                Some(RoundOfReply {
                    unit: &h.unit,
                    due: h.due_date,
                    issue_date: part.issue_date,
                    state: part.state,
                    result_code: part.reply.as_ref().map(|r| r.result_code),
                })
            })
            .collect();
    }
    p.handlings
        .iter()
        .find(|h| h.replies())
        .map(|h| RoundOfReply {
            unit: &h.unit,
            due: p.due_date,
            issue_date: p.issue_date,
            state: p.state,
            result_code: p.reply.as_ref().map(|r| r.result_code),
        })
        .into_iter()
        .collect()
}

/// The day a reply in `state` counts as issued by, if it does: the rule of
/// [`Proposal::is_overdue_on`].
fn issued_in(state: ProposalState, issue_date: Option<CalendarDate>) -> Option<CalendarDate> {
    state.has_issued().then_some(issue_date).flatten()
}

fn on_time(issued: Option<CalendarDate>, due: Option<CalendarDate>) -> bool {
    match (issued, due) {
        (Some(_), None) => true,
        (Some(issued), Some(due)) => issued <= due,
        (None, _) => false,
    }
}

impl Standing {
    /// The standing of the projection `p`; `ever_assigned`: whether its history so far holds a
    /// `ProposalAssigned` (the projection does not say).
    pub fn of(p: &Proposal, ever_assigned: bool) -> Self {
        let current = current_replies(p);
        // (unit, due date in force, issue date) of each reply of the first round.
        let first_round: Vec<(&str, Option<CalendarDate>, Option<CalendarDate>)> =
            match p.rounds.first() {
                Some(round) => round
                    .replies
                    .iter()
                    .map(|r| (r.unit.as_str(), r.due_date, r.reply.issue_date))
                    .collect(),
                None => current
                    .iter()
                    .map(|r| (r.unit, r.due, r.issue_date))
                    .collect(),
            };
        let replied =
            !first_round.is_empty() && first_round.iter().all(|(_, _, issued)| issued.is_some());
        let replied_on_time = replied
            && first_round
                .iter()
                .all(|(_, due, issued)| on_time(*issued, *due));
        let mut latest_codes: Vec<(&str, ResultCode)> = Vec::new();
        let mut set_code = |unit, code| match latest_codes.iter_mut().find(|(u, _)| *u == unit) {
            Some(entry) => entry.1 = code,
            None => latest_codes.push((unit, code)),
        };
        for round in &p.rounds {
            for reply in &round.replies {
                if let (Some(_), Some(r)) = (reply.reply.issue_date, &reply.reply.reply) {
                    set_code(reply.unit.as_str(), r.result_code);
                }
            }
        }
        for reply in &current {
            if let (Some(_), Some(code)) = (reply.issue_date, reply.result_code) {
                set_code(reply.unit, code);
            }
        }
        let mut verdicts: BTreeMap<&str, Satisfaction> = BTreeMap::new();
        for record in p.rounds.iter().flat_map(|r| &r.feedback).chain(&p.feedback) {
            verdicts.insert(&record.feedback.proposer, record.feedback.satisfaction);
        }
        let units = p
            .handlings
            .iter()
            .map(|h| {
                let (replied, replied_on_time) = if !h.replies() {
                    (false, false)
                } else {
                    let first = match p.rounds.first() {
                        Some(round) => round
                            .replies
                            .iter()
                            .find(|r| r.unit == h.unit)
                            .map(|r| (r.reply.issue_date, r.due_date)),
                        None => match h.split.as_deref() {
                            Some(part) => Some((part.issue_date, h.due_date)),
                            None => Some((p.issue_date, h.due_date)),
                        },
                    };
                    first.map_or((false, false), |(issued, due)| {
                        (issued.is_some(), on_time(issued, due))
                    })
                };
                let deadline = if !h.replies() {
                    Deadline::default()
                } else {
                    let issued = match h.split.as_deref() {
                        Some(part) => issued_in(part.state, part.issue_date),
                        None => issued_in(p.state, p.issue_date),
                    };
                    Deadline {
                        due: h.due_date,
                        issued,
                    }
                };
                let opinion = h.role == HandlingRole::Co && h.opinion.is_some();
                UnitStanding {
                    unit: h.unit.clone(),
                    role: h.role,
                    replied,
                    replied_on_time,
                    deadline,
                    opinion,
                    opinion_on_time: opinion
                        // A revision (after a reopening, say) is judged by the first opinion.
                        && match (h.first_opinion_on.or(h.opinion_submitted_on), h.due_date) {
                            (_, None) => true,
                            (Some(submitted), Some(due)) => submitted <= due,
                            (None, Some(_)) => false,
                        },
                }
            })
            .collect();
        let deadlines = if p.is_split() {
            current
                .iter()
                .map(|r| Deadline {
                    due: r.due,
                    issued: issued_in(r.state, r.issue_date),
                })
                .collect()
        } else {
            // As `is_overdue_on`: the proposal's own due date, whether or not a unit holds it.
            let deadline = Deadline {
                due: p.due_date,
                issued: issued_in(p.state, p.issue_date),
            };
            if deadline == Deadline::default() {
                Vec::new()
            } else {
                vec![deadline]
            }
        };
        Self {
            stage: Stage::of(p.state),
            ever_assigned,
            replied,
            replied_on_time,
            deadlines,
            result_codes: latest_codes.into_iter().map(|(_, code)| code).collect(),
            verdicts: verdicts.into_values().collect(),
            reopened: !p.rounds.is_empty(),
            key: p.key.is_some(),
            units,
        }
    }

    /// Whether the proposal is overdue on `day` (equals [`Proposal::is_overdue_on`] of the
    /// projection it was taken from).
    pub fn overdue_on(&self, day: CalendarDate) -> bool {
        self.deadlines.iter().any(|d| d.missed_on(day))
    }
}

/// What the store keeps per proposal for statistics: its [`Standing`] after each day its acts
/// changed it, oldest first. Derived from the events alone ([`Self::record`]); the standing
/// on a day is the last one recorded on or before it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalFacts {
    #[serde(rename = "f")]
    pub changes: Vec<(ActDay, Standing)>,
}

impl ProposalFacts {
    /// Moves the facts past `event`, after which the proposal is `after`. A standing equal to
    /// the last one is not kept again; one on the same day as the last replaces it.
    pub fn record(&mut self, event: &RecordedEvent, after: &Proposal) {
        let day = ActDay::of(event);
        let ever_assigned = matches!(event.data, EventData::ProposalAssigned { .. })
            || self.changes.last().is_some_and(|(_, s)| s.ever_assigned);
        let standing = Standing::of(after, ever_assigned);
        match self.changes.last_mut() {
            Some((last_day, last)) if *last_day == day => *last = standing,
            Some((_, last)) if *last == standing => {}
            _ => self.changes.push((day, standing)),
        }
    }

    /// Moves the facts past a stored change: `events` took the proposal from `before` to
    /// `after`. One event needs no fold; several are folded from `before` one at a time.
    pub fn record_change(
        &mut self,
        before: Option<&Proposal>,
        events: &[RecordedEvent],
        after: &Proposal,
    ) {
        match events {
            [] => {}
            [event] => self.record(event, after),
            _ => {
                let mut current = before.cloned();
                for event in events {
                    let next = apply(current, event);
                    self.record(event, &next);
                    current = Some(next);
                }
            }
        }
    }

    /// Whether a change of `events` from `before` to `after` leaves any proposal's facts as
    /// they are, so a store need neither read nor rewrite them: one event that is not an
    /// assignment, and the same standing on both sides (the last standing the facts hold is
    /// always that of the proposal as it stands, so recording an equal one changes nothing,
    /// whatever its day). Drafting, signing, dispatching, receipts and contacts are such.
    pub fn unchanged_by(before: &Proposal, events: &[RecordedEvent], after: &Proposal) -> bool {
        match events {
            [event] => {
                !matches!(event.data, EventData::ProposalAssigned { .. })
                    && Standing::of(before, false) == Standing::of(after, false)
            }
            _ => false,
        }
    }

    /// The facts of a whole history.
    pub fn of_history<'a>(events: impl IntoIterator<Item = &'a RecordedEvent>) -> Self {
        let mut facts = Self::default();
        let mut current = None;
        for event in events {
            let next = apply(current, event);
            facts.record(event, &next);
            current = Some(next);
        }
        facts
    }

    /// The standing on `day` (`None` if the proposal was not received by then): the acts
    /// counted are a prefix of the history, as the effective dates never decrease.
    pub fn as_of(
        &self,
        day: CalendarDate,
        date_at: &impl Fn(Timestamp) -> CalendarDate,
    ) -> Option<&Standing> {
        self.changes
            .iter()
            .take_while(|(act_day, _)| act_day.date(date_at) <= day)
            .last()
            .map(|(_, standing)| standing)
    }
}

/// A session's figures (the API's `Statistics`). Rates are computed from the counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Statistics {
    pub received: u32,
    pub accepted: u32,
    pub not_accepted: u32,
    pub merged: u32,
    pub assigned: u32,
    pub replied: u32,
    pub replied_on_time: u32,
    pub overdue: u32,
    /// Each code with a non-zero count, in code order.
    pub result_codes: Vec<(ResultCode, u32)>,
    pub satisfied: u32,
    pub basically_satisfied: u32,
    pub not_satisfied: u32,
    pub reopened: u32,
    pub closed: u32,
    pub key_proposals: u32,
    pub key_replied: u32,
}

fn ratio(numerator: u32, denominator: u32) -> Option<f64> {
    (denominator != 0).then(|| f64::from(numerator) / f64::from(denominator))
}

impl Statistics {
    /// replied ÷ accepted (办复率).
    pub fn reply_rate(&self) -> Option<f64> {
        ratio(self.replied, self.accepted)
    }

    /// replied on time ÷ replied.
    pub fn on_time_rate(&self) -> Option<f64> {
        ratio(self.replied_on_time, self.replied)
    }

    /// (satisfied + basically satisfied) ÷ every verdict (满意率).
    pub fn satisfaction_rate(&self) -> Option<f64> {
        ratio(
            self.satisfied + self.basically_satisfied,
            self.satisfied + self.basically_satisfied + self.not_satisfied,
        )
    }
}

/// One unit's figures (the API's `UnitStatistics`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnitStatistics {
    pub unit: String,
    pub sole: u32,
    pub lead: u32,
    pub split: u32,
    pub co: u32,
    pub replied: u32,
    pub replied_on_time: u32,
    pub overdue: u32,
    pub opinions_submitted: u32,
    pub opinions_on_time: u32,
}

/// A session's figures as of a day, with the rows by unit when asked for (else none).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionStatistics {
    pub totals: Statistics,
    /// By unit name.
    pub units: Vec<UnitStatistics>,
}

/// Counts proposals' standings into a session's figures.
#[derive(Default)]
struct Tally {
    totals: Statistics,
    codes: BTreeMap<u8, (ResultCode, u32)>,
    units: BTreeMap<String, UnitStatistics>,
}

fn code_order(code: ResultCode) -> u8 {
    match code {
        ResultCode::A => 0,
        ResultCode::B => 1,
        ResultCode::C => 2,
        ResultCode::D => 3,
    }
}

impl Tally {
    /// Counts one proposal standing as `standing` on `day`; `overdue` is whether it is overdue
    /// then.
    fn add(&mut self, standing: &Standing, overdue: bool, day: CalendarDate, by_unit: bool) {
        let t = &mut self.totals;
        t.received += 1;
        let (refused, merged) = match standing.stage {
            Stage::NotAccepted => (true, false),
            Stage::Merged => (false, true),
            Stage::Received | Stage::Handled | Stage::Closed => (false, false),
        };
        t.not_accepted += u32::from(refused);
        t.merged += u32::from(merged);
        let accepted = standing.ever_assigned && !refused && !merged;
        t.accepted += u32::from(accepted);
        t.assigned += u32::from(matches!(standing.stage, Stage::Handled | Stage::Closed));
        let replied = accepted && standing.replied;
        t.replied += u32::from(replied);
        t.replied_on_time += u32::from(replied && standing.replied_on_time);
        t.overdue += u32::from(overdue);
        for code in &standing.result_codes {
            self.codes.entry(code_order(*code)).or_insert((*code, 0)).1 += 1;
        }
        for verdict in &standing.verdicts {
            match verdict {
                Satisfaction::Satisfied => t.satisfied += 1,
                Satisfaction::BasicallySatisfied => t.basically_satisfied += 1,
                Satisfaction::NotSatisfied => t.not_satisfied += 1,
            }
        }
        t.reopened += u32::from(standing.reopened);
        t.closed += u32::from(standing.stage == Stage::Closed);
        t.key_proposals += u32::from(standing.key);
        t.key_replied += u32::from(standing.key && replied);
        if !by_unit {
            return;
        }
        for handling in &standing.units {
            let row = self
                .units
                .entry(handling.unit.clone())
                .or_insert_with(|| UnitStatistics {
                    unit: handling.unit.clone(),
                    ..UnitStatistics::default()
                });
            match handling.role {
                HandlingRole::Sole => row.sole += 1,
                HandlingRole::Lead => row.lead += 1,
                HandlingRole::Split => row.split += 1,
                HandlingRole::Co => {
                    row.co += 1;
                    row.opinions_submitted += u32::from(handling.opinion);
                    row.opinions_on_time += u32::from(handling.opinion_on_time);
                    continue;
                }
            }
            row.replied += u32::from(handling.replied);
            row.replied_on_time += u32::from(handling.replied_on_time);
            row.overdue += u32::from(handling.deadline.missed_on(day));
        }
    }

    fn finish(mut self) -> SessionStatistics {
        self.totals.result_codes = self.codes.into_values().collect();
        SessionStatistics {
            totals: self.totals,
            units: self.units.into_values().collect(),
        }
    }
}

/// The figures as of `as_of` from the stored facts of a session's proposals: the fast path.
pub fn statistics_of_facts<'a>(
    facts: impl IntoIterator<Item = &'a ProposalFacts>,
    as_of: CalendarDate,
    by_unit: bool,
    date_at: &impl Fn(Timestamp) -> CalendarDate,
) -> SessionStatistics {
    let mut tally = Tally::default();
    for standing in facts.into_iter().filter_map(|f| f.as_of(as_of, date_at)) {
        tally.add(standing, standing.overdue_on(as_of), as_of, by_unit);
    }
    tally.finish()
}

/// The figures as of `as_of` by brute force, the definition: fold each proposal's events
/// effective on or before the day (a prefix of its history) and count from the projection.
pub fn statistics_by_fold<'a>(
    histories: impl IntoIterator<Item = &'a [RecordedEvent]>,
    as_of: CalendarDate,
    by_unit: bool,
    date_at: &impl Fn(Timestamp) -> CalendarDate,
) -> SessionStatistics {
    let mut tally = Tally::default();
    for history in histories {
        let prefix: Vec<&RecordedEvent> = history
            .iter()
            .take_while(|e| ActDay::of(e).date(date_at) <= as_of)
            .collect();
        let Some(proposal) = fold(prefix.iter().copied()) else {
            continue;
        };
        let ever_assigned = prefix
            .iter()
            .any(|e| matches!(e.data, EventData::ProposalAssigned { .. }));
        let standing = Standing::of(&proposal, ever_assigned);
        tally.add(&standing, proposal.is_overdue_on(as_of), as_of, by_unit);
    }
    tally.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Command, CommandKind, Envelope, ProposalId, Rules, decide, examples};

    fn date(text: &str) -> CalendarDate {
        CalendarDate::parse(text).unwrap()
    }

    fn utc(instant: Timestamp) -> CalendarDate {
        Rules::default().date_at(instant.unix_nanos())
    }

    /// Records `command` on `day` on top of `history`, as the application layer does.
    fn record(history: &mut Vec<RecordedEvent>, command: &Command, day: &str) {
        let current = fold(history.iter());
        let sequence = history.len() as u64 + 1;
        let envelope = Envelope {
            proposal_id: ProposalId::from_bytes([7; 16]),
            position: sequence,
            // 2020-01-01T00:00Z, after every act of the tests.
            occurred_at: Timestamp::from_unix_nanos(1_577_836_800_000_000_000 + sequence as i64),
            effective_date: Some(date(day)),
            actor: "tester".into(),
            request_id: None,
        };
        let decision = decide(current.as_ref(), command, envelope, &Rules::default())
            .unwrap_or_else(|e| panic!("{command:?} on {day}: {e:?}"));
        history.push(decision.event);
    }

    /// No. 228 replied a month late, then rated satisfied.
    fn late_reply() -> Vec<RecordedEvent> {
        use CommandKind as C;
        let mut history = Vec::new();
        for (kind, day) in [
            (C::Receive, "2019-07-01"),
            (C::Assign, "2019-07-05"),
            (C::Draft, "2019-09-10"),
            (C::Sign, "2019-09-20"),
            (C::Issue, "2019-09-29"),
            (C::Copy, "2019-09-30"),
            (C::RecordFeedback, "2019-10-10"),
        ] {
            record(&mut history, &examples::command(kind), day);
        }
        history
    }

    fn on(history: &[RecordedEvent], day: &str) -> Statistics {
        let by_fold = statistics_by_fold([history], date(day), true, &utc);
        let facts = ProposalFacts::of_history(history);
        assert_eq!(
            statistics_of_facts([&facts], date(day), true, &utc),
            by_fold,
            "facts and fold disagree on {day}"
        );
        by_fold.totals
    }

    #[test]
    fn a_day_before_the_registration_counts_nothing() {
        assert_eq!(on(&late_reply(), "2019-06-30"), Statistics::default());
    }

    #[test]
    fn a_late_reply_is_overdue_until_issued_and_then_replied_but_not_on_time() {
        let history = late_reply();
        let received = on(&history, "2019-07-01");
        assert_eq!((received.received, received.accepted), (1, 0));
        assert_eq!(received.reply_rate(), None);
        let assigned = on(&history, "2019-08-31");
        assert_eq!((assigned.accepted, assigned.assigned), (1, 1));
        assert_eq!((assigned.replied, assigned.overdue), (0, 0));
        assert_eq!(assigned.reply_rate(), Some(0.0));
        let late = on(&history, "2019-09-01");
        assert_eq!(late.overdue, 1);
        let issued = on(&history, "2019-09-29");
        assert_eq!((issued.replied, issued.replied_on_time), (1, 0));
        assert_eq!(issued.overdue, 0);
        assert_eq!(issued.result_codes, vec![(ResultCode::A, 1)]);
        assert_eq!(issued.on_time_rate(), Some(0.0));
        assert_eq!(issued.satisfaction_rate(), None);
        let rated = on(&history, "2019-10-10");
        assert_eq!(rated.satisfied, 1);
        assert_eq!(rated.satisfaction_rate(), Some(1.0));
    }

    #[test]
    fn by_unit_counts_the_lead_and_the_co_unit_and_its_opinion() {
        let mut history = Vec::new();
        record(
            &mut history,
            &examples::command(CommandKind::Receive),
            "2019-07-01",
        );
        record(&mut history, &examples::co_assignment(), "2019-07-05");
        let submit = Command::SubmitOpinion {
            handling_unit: examples::CO_UNIT.into(),
            opinion: examples::opinion(),
        };
        record(&mut history, &submit, "2019-07-20");
        let facts = ProposalFacts::of_history(&history);
        let figures = statistics_of_facts([&facts], date("2019-07-20"), true, &utc);
        assert_eq!(
            figures,
            statistics_by_fold([&history[..]], date("2019-07-20"), true, &utc)
        );
        let co = figures
            .units
            .iter()
            .find(|u| u.unit == examples::CO_UNIT)
            .unwrap();
        assert_eq!(
            (co.co, co.opinions_submitted, co.opinions_on_time),
            (1, 1, 1)
        );
        let lead = figures
            .units
            .iter()
            .find(|u| u.unit != examples::CO_UNIT)
            .unwrap();
        assert_eq!((lead.lead, lead.replied, lead.overdue), (1, 0, 0));
        let before = statistics_of_facts([&facts], date("2019-07-19"), true, &utc);
        assert!(before.units.iter().all(|u| u.opinions_submitted == 0));
        let without = statistics_of_facts([&facts], date("2019-07-20"), false, &utc);
        assert!(without.units.is_empty());
    }

    /// A co-unit that revises its opinion (after a reopening, as the design invites) is judged
    /// by its first opinion: on time stays on time.
    #[test]
    fn a_revised_opinion_is_judged_by_the_first() {
        let mut history = Vec::new();
        record(
            &mut history,
            &examples::command(CommandKind::Receive),
            "2019-07-01",
        );
        record(&mut history, &examples::co_assignment(), "2019-07-05");
        let submit = Command::SubmitOpinion {
            handling_unit: examples::CO_UNIT.into(),
            opinion: examples::opinion(),
        };
        record(&mut history, &submit, "2019-07-20");
        for kind in [
            CommandKind::Draft,
            CommandKind::Sign,
            CommandKind::Issue,
            CommandKind::Copy,
        ] {
            record(&mut history, &examples::command(kind), "2019-09-29");
        }
        record(&mut history, &examples::dissatisfied(), "2019-10-01");
        let reopen = Command::Reopen {
            reason: "提案人不满意".into(),
            due_date: None,
        };
        record(&mut history, &reopen, "2019-10-02");
        record(&mut history, &submit, "2019-10-10");
        let facts = ProposalFacts::of_history(&history);
        for day in ["2019-10-02", "2019-10-10"] {
            let figures = statistics_of_facts([&facts], date(day), true, &utc);
            assert_eq!(
                figures,
                statistics_by_fold([&history[..]], date(day), true, &utc)
            );
            let co = figures
                .units
                .iter()
                .find(|u| u.unit == examples::CO_UNIT)
                .unwrap();
            assert_eq!(
                (co.opinions_submitted, co.opinions_on_time),
                (1, 1),
                "{day}"
            );
        }
    }

    #[test]
    fn facts_keep_one_standing_per_day_and_none_that_repeats() {
        let facts = ProposalFacts::of_history(&late_reply());
        let days: Vec<ActDay> = facts.changes.iter().map(|(day, _)| *day).collect();
        // Drafting, signing and the dispatch change no figure; the other acts do.
        assert_eq!(
            days,
            ["2019-07-01", "2019-07-05", "2019-09-29", "2019-10-10"].map(|d| ActDay::On(date(d)))
        );
    }

    #[test]
    fn an_event_without_an_effective_date_counts_from_its_day_in_the_rules_zone() {
        let mut history = late_reply();
        history[0].effective_date = None;
        history[0].occurred_at = Timestamp::from_unix_nanos(1_561_939_200_000_000_000); // 2019-07-01T00:00Z
        let facts = ProposalFacts::of_history(&history);
        assert!(matches!(facts.changes[0].0, ActDay::At(_)));
        // 08:00 in Asia/Shanghai, the default zone.
        assert_eq!(
            facts.as_of(date("2019-07-01"), &utc).map(|s| s.stage),
            Some(Stage::Received)
        );
        assert_eq!(facts.as_of(date("2019-06-30"), &utc), None);
    }
}
