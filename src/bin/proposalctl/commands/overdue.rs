//! `overdue`: the proposals whose replies are late on a day, one row each with the units that
//! owe them, for the office chasing late replies.

use clap::Args;
use proposal_service::pb;
use time::Date;
use time::macros::format_description;

use super::{Paging, proposal_pages};
use crate::connection::{Server, ServerArgs};
use crate::failure::Failure;
use crate::output::Output;
use crate::{json, text};

#[derive(Args, Debug)]
pub struct ListOverdue {
    /// The day to check, YYYY-MM-DD: a reply is late when due before it and not issued on or
    /// before it (default: today in the rules' time zone).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    on: Option<Date>,
    /// Only this unit's late replies (a co-unit owes the lead an opinion, not a reply, and is
    /// never listed).
    #[arg(long, visible_alias = "handling-unit", value_name = "UNIT")]
    unit: Option<String>,
    /// Only proposals of this committee, e.g. 许昌市政协.
    #[arg(long)]
    committee: Option<String>,
    /// Only proposals of this session, e.g. 七届三次会议.
    #[arg(long)]
    session: Option<String>,
    /// Fetch this many proposals per call (the server's default otherwise; at most 1000); every
    /// page is read.
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..))]
    page_size: Option<i32>,
}

/// A proposal overdue on the day, with the units whose replies are late.
pub struct OverdueProposal {
    pub proposal: pb::Proposal,
    /// Most overdue first, then by unit.
    pub late: Vec<LateReply>,
}

impl OverdueProposal {
    /// The days overdue of its latest reply.
    pub fn days_overdue(&self) -> i64 {
        self.late.iter().map(|l| l.days_overdue).max().unwrap_or(0)
    }
}

/// One unit's late reply: the sole or lead unit's (the proposal's), or a split unit's own.
pub struct LateReply {
    pub unit: String,
    /// Its handling role (`pb::HandlingRole`); unspecified if the proposal lists no handling
    /// for it.
    pub role: i32,
    /// The due date in force, extensions included, YYYY-MM-DD.
    pub due_date: String,
    /// The day checked minus the due date.
    pub days_overdue: i64,
    /// The state of its reply (`pb::ProposalState`): the proposal's, or a split unit's own.
    pub state: i32,
}

impl ListOverdue {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let server = Server::connect(server).await?;
        let day = match self.on {
            Some(day) => day,
            None => {
                let request = server.call(pb::GetRulesRequest {});
                let today = server.client().get_rules(request).await?.into_inner().today;
                parse_date(&today).map_err(|e| {
                    Failure::BadAnswer(format!("today is {today:?} in the rules: {e}"))
                })?
            }
        };
        let on = format_date(day);
        let filter = pb::ListProposalsRequest {
            handling_unit: self.unit.clone().unwrap_or_default(),
            committee: self.committee.unwrap_or_default(),
            session: self.session.unwrap_or_default(),
            page_size: self.page_size.unwrap_or_default(),
            overdue_on: on.clone(),
            ..Default::default()
        };
        let paging = Paging {
            page_size: self.page_size,
            page_token: None,
            all: true,
        };
        let (proposals, _) = proposal_pages(&server, &paging, filter).await?;
        let mut overdue = Vec::new();
        for proposal in proposals {
            let mut late = late_replies(&proposal, day)?;
            if let Some(unit) = &self.unit {
                late.retain(|l| &l.unit == unit);
            }
            if !late.is_empty() {
                overdue.push(OverdueProposal { proposal, late });
            }
        }
        // Most overdue first, then by number (and, across sessions, committee and session).
        overdue.sort_by(|a, b| {
            let (p, q) = (&a.proposal, &b.proposal);
            b.days_overdue()
                .cmp(&a.days_overdue())
                .then_with(|| p.number.cmp(&q.number))
                .then_with(|| p.committee.cmp(&q.committee))
                .then_with(|| p.session.cmp(&q.session))
                .then_with(|| p.id.cmp(&q.id))
        });
        output.result(
            || text::overdue(&overdue, &on),
            || json::overdue(&overdue, &on),
        )
    }
}

/// The replies of `proposal` late on `day`, as the server decides it: a split proposal's late
/// SPLIT units, each by its own due date and reply; otherwise the sole or lead unit's, by the
/// proposal's. Co-units reply to the lead, not to the proposers, and are never late here.
fn late_replies(proposal: &pb::Proposal, day: Date) -> Result<Vec<LateReply>, Failure> {
    let split: Vec<&pb::Handling> = proposal
        .handlings
        .iter()
        .filter(|h| h.role == pb::HandlingRole::Split as i32)
        .collect();
    let parts: Vec<(&str, i32, &str, i32, &str)> = if split.is_empty() {
        let role = proposal
            .handlings
            .iter()
            .find(|h| h.unit == proposal.handling_unit)
            .map_or(0, |h| h.role);
        vec![(
            proposal.handling_unit.as_str(),
            role,
            proposal.due_date.as_str(),
            proposal.state,
            proposal.issue_date.as_str(),
        )]
    } else {
        split
            .iter()
            .map(|h| {
                (
                    h.unit.as_str(),
                    h.role,
                    h.due_date.as_str(),
                    h.state,
                    h.issue_date.as_str(),
                )
            })
            .collect()
    };
    let date = |text: &str, what: &str| {
        parse_date(text).map_err(|e| {
            Failure::BadAnswer(format!(
                "No. {} ({}) has the {what} {text:?}: {e}",
                proposal.number, proposal.id
            ))
        })
    };
    let mut late = Vec::new();
    for (unit, role, due_date, state, issue_date) in parts {
        if due_date.is_empty() {
            continue;
        }
        let due = date(due_date, "due date")?;
        let issued = matches!(
            pb::ProposalState::try_from(state),
            Ok(pb::ProposalState::Issued | pb::ProposalState::Copied)
        ) && !issue_date.is_empty()
            && date(issue_date, "issue date")? <= day;
        if due < day && !issued {
            late.push(LateReply {
                unit: unit.to_owned(),
                role,
                due_date: due_date.to_owned(),
                days_overdue: (day - due).whole_days(),
                state,
            });
        }
    }
    late.sort_by(|a, b| {
        b.days_overdue
            .cmp(&a.days_overdue)
            .then_with(|| a.unit.cmp(&b.unit))
    });
    Ok(late)
}

/// Reads a YYYY-MM-DD date.
fn parse_date(text: &str) -> Result<Date, String> {
    Date::parse(text, format_description!("[year]-[month]-[day]"))
        .map_err(|_| "expected a date such as 2019-12-01".to_owned())
}

/// A date as YYYY-MM-DD.
fn format_date(date: Date) -> String {
    date.format(format_description!("[year]-[month]-[day]"))
        .expect("a date formats as YYYY-MM-DD")
}
