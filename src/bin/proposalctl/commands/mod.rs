//! The subcommands. [`Command`] lists them (its doc comments are the `--help` texts) and
//! [`run`] hands each to its module: `transitions` the mutating RPCs (the transitions, and the
//! handling unit's acts that leave the state as it is: acknowledge, contact, extensions, a
//! co-unit's opinion; and the return requests, whose approval moves it), `reads` the reads of
//! proposals (get, list, history, render) and of the rules, `overdue` the late replies on a day, `stats` a session's figures as of a day,
//! `audit` the event log (events, watch, verify), `demo` the seed's whole lifecycle. A new group
//! of subcommands (export, import, …) is a new module here and its variants below; [`Paging`]
//! and [`all_pages`] are there to reuse.

mod audit;
mod demo;
mod overdue;
mod reads;
mod stats;
mod transitions;

use std::future::Future;

use clap::{Args, Subcommand};

use crate::connection::{Server, ServerArgs};
use crate::failure::Failure;
use crate::output::Output;
use proposal_service::pb;

pub use overdue::{LateReply, OverdueProposal};

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Register a new proposal (立案): → RECEIVED.
    Receive(transitions::ReceiveProposal),
    /// Hand a proposal to a handling unit (交办): RECEIVED → ASSIGNED.
    Assign(transitions::AssignProposal),
    /// The office withdraws an assignment (撤回交办): ASSIGNED → RECEIVED. A unit may do so
    /// itself only when the rules' unit_may_return_directly is set; otherwise it uses
    /// request-return.
    Return(transitions::ReturnProposal),
    /// Draft the reply, or revise the draft: ASSIGNED/DRAFTED → DRAFTED.
    Draft(transitions::DraftReply),
    /// The signer sends the draft back: DRAFTED → ASSIGNED.
    Reject(transitions::RejectDraft),
    /// The unit's leader approves the reply (签发): DRAFTED → SIGNED.
    Sign(transitions::SignReply),
    /// Issue the reply as an official document with a number (印发): SIGNED → ISSUED.
    Issue(transitions::IssueReply),
    /// Copy the issued reply to the oversight bodies (抄送): ISSUED → COPIED.
    Copy(transitions::CopyReply),
    /// The committee does not accept a proposal (不予立案): RECEIVED → NOT_ACCEPTED.
    Refuse(transitions::RefuseProposal),
    /// The handling unit signs for receipt of the assignment (签收), once; the state stays.
    Acknowledge(transitions::AcknowledgeAssignment),
    /// The handling unit records a contact with the proposers (phone, meeting, visit, …):
    /// ASSIGNED, DRAFTED or SIGNED.
    Contact(transitions::RecordContact),
    /// The handling unit asks the office for a later due date, one request at a time.
    RequestExtension(transitions::RequestExtension),
    /// The office approves (the due date moves) or refuses the pending extension request.
    DecideExtension(transitions::DecideExtension),
    /// The handling unit asks the office to take back a proposal outside its remit (申请退回),
    /// while ASSIGNED and within the rules' return_window_days of the assignment.
    RequestReturn(transitions::RequestReturn),
    /// The office approves the pending return request (→ RECEIVED, or with --reassign-to to
    /// another unit) or refuses it (the proposal stays with the unit).
    DecideReturn(transitions::DecideReturn),
    /// A co-handling unit (会办) sends the lead unit its written opinion, while the lead has not
    /// signed (ASSIGNED or DRAFTED); a later one replaces it.
    SubmitOpinion(transitions::SubmitOpinion),
    /// The committee merges a RECEIVED proposal into a similar one (并案): RECEIVED → MERGED.
    /// The other (--into), of the same committee and session and RECEIVED or ASSIGNED, records
    /// the merge too and from then on answers both.
    Merge(transitions::MergeProposal),
    /// The office (or a proposer, her own) records a proposer's verdict on the dispatched reply
    /// (征询意见表), once per proposer in each round: COPIED.
    Feedback(transitions::RecordFeedback),
    /// The office closes a dispatched proposal (办结): COPIED → CLOSED.
    Close(transitions::CloseProposal),
    /// The office sends a dispatched reply back to the same units to be handled again
    /// (重新办理) after a proposer was not satisfied: COPIED → ASSIGNED, a new round due on
    /// --due (default the rules' redo_months later); the earlier round stays readable.
    Reopen(transitions::ReopenProposal),
    /// The office makes a proposal a key proposal (重点提案) under a supervising leader, or with
    /// --not-key no longer one; the state stays.
    SetKey(transitions::SetKeyProposal),
    /// Show one proposal, every field and the full texts.
    Get(reads::GetProposal),
    /// List proposals, optionally filtered, a page at a time (or --all).
    List(reads::ListProposals),
    /// List the proposals overdue on a day (default today), every page, most overdue first:
    /// each with the units whose replies are late (a split proposal's late units only), their
    /// due dates in force and the days overdue.
    Overdue(overdue::ListOverdue),
    /// A session's figures as of a day (default today): received, accepted, replied, on time,
    /// overdue, result codes, satisfaction and more, with --by-unit one row per unit; a table,
    /// --json or --csv.
    Stats(stats::SessionStatistics),
    /// Show one proposal's events, oldest first.
    History(reads::GetProposalHistory),
    /// Print the issued reply as the text of the official document.
    Render(reads::RenderReply),
    /// Show the local rules in force on the server, and today's date in their time zone.
    Rules(reads::GetRules),
    /// List events across all proposals (the audit trail), filtered, a page at a time.
    Events(audit::ListEvents),
    /// Print events as they are recorded, one per line, until Ctrl-C.
    Watch(audit::WatchEvents),
    /// Check the hash chain and every projection against the events; exit 4 on a mismatch.
    Verify(audit::VerifyHistory),
    /// Drive the seed's proposal No. 228 from RECEIVED to COPIED, then show its history and
    /// the rendered reply; with --full, then No. 231 with a lead unit and two co-units.
    Demo(demo::Demo),
}

pub async fn run(command: Command, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
    match command {
        Command::Receive(args) => args.run(server, output).await,
        Command::Assign(args) => args.run(server, output).await,
        Command::Return(args) => args.run(server, output).await,
        Command::Draft(args) => args.run(server, output).await,
        Command::Reject(args) => args.run(server, output).await,
        Command::Sign(args) => args.run(server, output).await,
        Command::Issue(args) => args.run(server, output).await,
        Command::Copy(args) => args.run(server, output).await,
        Command::Refuse(args) => args.run(server, output).await,
        Command::Acknowledge(args) => args.run(server, output).await,
        Command::Contact(args) => args.run(server, output).await,
        Command::RequestExtension(args) => args.run(server, output).await,
        Command::DecideExtension(args) => args.run(server, output).await,
        Command::RequestReturn(args) => args.run(server, output).await,
        Command::DecideReturn(args) => args.run(server, output).await,
        Command::SubmitOpinion(args) => args.run(server, output).await,
        Command::Merge(args) => args.run(server, output).await,
        Command::Feedback(args) => args.run(server, output).await,
        Command::Close(args) => args.run(server, output).await,
        Command::Reopen(args) => args.run(server, output).await,
        Command::SetKey(args) => args.run(server, output).await,
        Command::Get(args) => args.run(server, output).await,
        Command::List(args) => args.run(server, output).await,
        Command::Overdue(args) => args.run(server, output).await,
        Command::Stats(args) => args.run(server, output).await,
        Command::History(args) => args.run(server, output).await,
        Command::Render(args) => args.run(server, output).await,
        Command::Rules(args) => args.run(server, output).await,
        Command::Events(args) => args.run(server, output).await,
        Command::Watch(args) => args.run(server, output).await,
        Command::Verify(args) => args.run(server, output).await,
        Command::Demo(args) => args.run(server, output).await,
    }
}

/// Paging flags of the listing subcommands.
#[derive(Args, Debug)]
pub struct Paging {
    /// At most this many items per page (the server's default otherwise; at most 1000).
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..))]
    pub page_size: Option<i32>,
    /// Start from this token, printed after a page that has more.
    #[arg(long)]
    pub page_token: Option<String>,
    /// Follow the pages to the end and print everything.
    #[arg(long)]
    pub all: bool,
}

/// Every page of the proposals `filter` lists, from `paging`'s token on (see [`all_pages`]).
pub async fn proposal_pages(
    server: &Server,
    paging: &Paging,
    filter: pb::ListProposalsRequest,
) -> Result<(Vec<pb::Proposal>, String), Failure> {
    all_pages(paging, |page_token| {
        let request = pb::ListProposalsRequest {
            page_token,
            ..filter.clone()
        };
        let call = server.call(request);
        let mut client = server.client();
        async move {
            let page = client.list_proposals(call).await?.into_inner();
            Ok((page.proposals, page.next_page_token))
        }
    })
    .await
}

/// Fetches the page at `paging.page_token` and, with `--all`, every page after it. Returns
/// the items and the token of the next page (empty at the end).
pub async fn all_pages<T, F, Fut>(
    paging: &Paging,
    mut fetch: F,
) -> Result<(Vec<T>, String), Failure>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, String), Failure>>,
{
    let mut token = paging.page_token.clone().unwrap_or_default();
    let mut items = Vec::new();
    loop {
        let (page, next) = fetch(token.clone()).await?;
        items.extend(page);
        if !paging.all || next.is_empty() {
            return Ok((items, next));
        }
        if next == token {
            return Err(Failure::BadAnswer(format!(
                "the server returned the page token {next:?} it was given; stopping"
            )));
        }
        token = next;
    }
}

/// The line printed after a page that has more.
pub fn more(next_page_token: &str) -> String {
    if next_page_token.is_empty() {
        String::new()
    } else {
        format!("\nmore: --page-token {next_page_token}")
    }
}
