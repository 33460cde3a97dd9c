//! `demo`: the seed's proposal No. 228 (`proposal_service::seed`) driven through its whole
//! lifecycle against the running server, with the seed document's real data, then its history
//! and the rendered reply.
//!
//! The demo can be run again: when the proposal already exists (ALREADY_EXISTS with reason
//! DUPLICATE_PROPOSAL_NUMBER, whose metadata names it), it says so and carries on from the
//! state that proposal is in, so a second run just shows the finished proposal and an
//! interrupted one is completed. `--number` registers a fresh copy under another number instead;
//! it then needs `--document-number` too, as a document number identifies one document.
//!
//! `--full` then runs a second proposal, handled by a lead unit and two co-units, with every act
//! dated as the offices did it (`full.rs`); it is registered, resumed or shown the same way.

mod full;

use clap::Args;
use proposal_service::pb;
use proposal_service::pb::ProposalState as State;
use proposal_service::seed::{self, Seed};
use serde_json::{Value, json};
use tonic::Code;
use tonic_types::StatusExt;

use super::Paging;
use super::reads::{history, render};
use crate::connection::{Server, ServerArgs};
use crate::failure::{Failure, code_name};
use crate::output::Output;
use crate::values::{result_name, state_name};
use crate::{json, text};

/// The reply due date (办理期限) the demo assigns; the seed document does not state one.
const DUE_DATE: &str = "2019-08-31";
/// Who registers and assigns the demo proposal, as in the seed's office.
const REGISTRAR: &str = "提案委登记员";

#[derive(Args, Debug)]
pub struct Demo {
    /// Register the seed under this number instead of 228, e.g. to run the lifecycle again on
    /// a server that already has No. 228 (use with --document-number).
    #[arg(long, default_value_t = 228)]
    number: u32,
    /// Issue the reply under this document number instead of the seed's 许环〔2019〕13号.
    #[arg(long)]
    document_number: Option<String>,
    /// Then also run No. 231 of the same session: a lead unit (主办) and two co-units (会办),
    /// with acknowledgements, a contact, the co-units' opinions and an extension, every act
    /// dated as the offices did it in 2019; then show its handlings and rendered reply.
    #[arg(long)]
    full: bool,
}

/// What the demo tells as it goes: printed at once as text, gathered into one object for JSON.
struct Report<'a> {
    output: &'a Output,
    steps: Vec<Value>,
    notes: Vec<String>,
}

impl Report<'_> {
    fn say(&mut self, line: String) -> Result<(), Failure> {
        if self.output.is_json() {
            Ok(())
        } else {
            self.output.line(&line)
        }
    }

    /// One transition done: the state and version it led to, and what it recorded.
    fn step(&mut self, proposal: &pb::Proposal, what: String) -> Result<(), Failure> {
        let state = state_name(proposal.state);
        self.steps.push(json!({
            "state": pb::ProposalState::try_from(proposal.state).map(|s| s.as_str_name()).ok(),
            "version": proposal.version,
            "what": what,
        }));
        self.say(format!("  {state:<8}  v{}  {what}", proposal.version))
    }

    /// As [`Report::step`], for an act recorded with its effective date.
    fn dated_step(
        &mut self,
        proposal: &pb::Proposal,
        date: &str,
        what: String,
    ) -> Result<(), Failure> {
        let state = state_name(proposal.state);
        self.steps.push(json!({
            "state": pb::ProposalState::try_from(proposal.state).map(|s| s.as_str_name()).ok(),
            "version": proposal.version,
            "effective_date": date,
            "what": what,
        }));
        self.say(format!(
            "  {state:<8}  v{}  {date}  {what}",
            proposal.version
        ))
    }

    /// The report as one JSON object: the proposal, the steps taken, its history, the rendered
    /// reply and the notes.
    fn into_json(
        self,
        proposal: &pb::Proposal,
        events: &[pb::ProposalEvent],
        rendered: Option<&pb::RenderReplyResponse>,
    ) -> Value {
        json!({
            "proposal": json::proposal(proposal),
            "steps": self.steps,
            "history": events.iter().map(json::event).collect::<Vec<_>>(),
            "rendered": rendered.map(json::rendered),
            "notes": self.notes,
        })
    }

    /// A remark: part of the story in text; on stderr as well as in the object with `--json`,
    /// so that it is seen even when the demo fails before printing the object.
    fn note(&mut self, note: String) -> Result<(), Failure> {
        if self.output.is_json() {
            self.output.note(&note);
        }
        self.notes.push(note.clone());
        self.say(format!("note: {note}"))
    }
}

impl Demo {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let seed = seed::proposal_228();
        let document_number = self
            .document_number
            .unwrap_or_else(|| seed.document_number.clone());
        if self.full && self.number == full::NUMBER {
            return Err(Failure::Usage(format!(
                "--full registers its second proposal as No. {}; give --number another one",
                full::NUMBER
            )));
        }
        if self.full && document_number == full::DOCUMENT_NUMBER {
            return Err(Failure::Usage(format!(
                "--full issues its second reply as {}; give --document-number another one",
                full::DOCUMENT_NUMBER
            )));
        }
        let server = Server::connect(server).await?;
        let mut report = Report {
            output,
            steps: Vec::new(),
            notes: Vec::new(),
        };

        let registration = pb::ReceiveProposalRequest {
            number: self.number,
            actor: REGISTRAR.into(),
            ..seed.registration().into()
        };
        let what = format!("registered by {}", registration.actor);
        let (mut proposal, new) = register(
            &server,
            registration,
            " (use --number and --document-number for a fresh copy)",
            &mut report,
        )
        .await?;
        if new {
            report.step(&proposal, what)?;
        }

        while proposal.state() != State::Copied {
            proposal = advance(&server, &seed, &document_number, proposal, &mut report).await?;
        }

        let all = Paging {
            page_size: None,
            page_token: None,
            all: true,
        };
        let (events, _) = history(&server, &proposal.id, &all).await?;
        report.say(String::new())?;
        report.say(format!("history of {}:", proposal.id))?;
        report.say(text::events(&events, false))?;

        let rendered = show_rendered(&server, &proposal, &mut report).await?;

        let co_handled = if self.full {
            report.say(String::new())?;
            Some(full::run(&server, &seed, output).await?)
        } else {
            None
        };

        if output.is_json() {
            let mut object = report.into_json(&proposal, &events, rendered.as_ref());
            if let Some(co_handled) = co_handled {
                object["co_handled"] = co_handled;
            }
            output
                .line(&serde_json::to_string_pretty(&object).expect("a JSON value serializes"))?;
        }
        Ok(())
    }
}

/// Registers a proposal with `registration` (true: a new one, whose step the caller tells), or
/// finds the one that already holds its number (ALREADY_EXISTS, DUPLICATE_PROPOSAL_NUMBER) and
/// says so; `fresh` ends the note on one already COPIED, which is shown as it is.
async fn register(
    server: &Server,
    registration: pb::ReceiveProposalRequest,
    fresh: &str,
    report: &mut Report<'_>,
) -> Result<(pb::Proposal, bool), Failure> {
    report.say(format!(
        "{} {} No. {}: {}, by {}",
        registration.committee,
        registration.session,
        registration.number,
        registration.title,
        registration.proposers.join(", ")
    ))?;
    let number = registration.number;
    let received = server
        .client()
        .receive_proposal(server.call(registration))
        .await;
    match received {
        Ok(response) => {
            let proposal = answered(response.into_inner().proposal)?;
            report.say(format!("  id {}", proposal.id))?;
            Ok((proposal, true))
        }
        Err(status) => {
            let existing = existing_proposal(&status).ok_or(status)?;
            let request = server.call(pb::GetProposalRequest {
                proposal_id: existing,
                ..Default::default()
            });
            let proposal = answered(
                server
                    .client()
                    .get_proposal(request)
                    .await?
                    .into_inner()
                    .proposal,
            )?;
            report.say(format!("  id {}", proposal.id))?;
            report.note(format!(
                "No. {number} is already registered (state {}, version {}); {}",
                state_name(proposal.state),
                proposal.version,
                if proposal.state() == State::Copied {
                    format!("showing it as it is{fresh}")
                } else {
                    "carrying on from there".to_owned()
                }
            ))?;
            Ok((proposal, false))
        }
    }
}

/// Prints the issued reply as the official document; a server that cannot render yet is noted,
/// not a failure.
async fn show_rendered(
    server: &Server,
    proposal: &pb::Proposal,
    report: &mut Report<'_>,
) -> Result<Option<pb::RenderReplyResponse>, Failure> {
    match render(server, proposal.id.clone(), String::new(), 0).await {
        Ok(document) => {
            report.say(String::new())?;
            report.say(format!("the issued reply {}:", document.document_number))?;
            report.say(String::new())?;
            report.say(document.text.trim_end_matches('\n').to_owned())?;
            Ok(Some(document))
        }
        Err(status) if status.code() == Code::Unimplemented => {
            report.say(String::new())?;
            report.note(format!(
                "this server cannot render replies yet ({}: {}); the reply was issued as \
                 {} on {}: see `proposalctl get {}`",
                code_name(status.code()),
                status.message(),
                proposal.document_number,
                proposal.issue_date,
                proposal.id
            ))?;
            Ok(None)
        }
        Err(status) => Err(status.into()),
    }
}

/// Takes the one step the seed's lifecycle makes from the proposal's state, with the seed's
/// data and the version just read (so a concurrent change is refused, not overwritten).
async fn advance(
    server: &Server,
    seed: &Seed,
    document_number: &str,
    proposal: pb::Proposal,
    report: &mut Report<'_>,
) -> Result<pb::Proposal, Failure> {
    let proposal_id = proposal.id.clone();
    let expected_version = Some(proposal.version);
    // Unique to this proposal and step, so a retried step is recorded once.
    let request_id = format!("demo-{proposal_id}-v{}", proposal.version);
    let mut client = server.client();
    let (next, what) = match proposal.state() {
        State::Received => {
            let request = pb::AssignProposalRequest {
                proposal_id,
                handling_unit: seed.handling_unit.clone(),
                due_date: DUE_DATE.into(),
                co_units: Vec::new(),
                co_due_date: String::new(),
                expected_version,
                request_id,
                actor: REGISTRAR.into(),
                effective_date: String::new(),
                split_units: Vec::new(),
            };
            let response = client.assign_proposal(server.call(request)).await?;
            let what = format!("to {}, due {DUE_DATE}", seed.handling_unit);
            (response.into_inner().proposal, what)
        }
        State::Assigned => {
            let request = pb::DraftReplyRequest {
                proposal_id,
                reply: Some(seed.reply().into()),
                expected_version,
                request_id,
                actor: seed.handling_unit.clone(),
                effective_date: String::new(),
                handling_unit: String::new(),
            };
            let response = client.draft_reply(server.call(request)).await?;
            let what = format!(
                "reply drafted: result {}, {}, contact {} {}",
                result_name(pb::Reply::from(seed.reply()).result_code),
                text::summary(&seed.body),
                seed.contact_unit,
                seed.contact_phone
            );
            (response.into_inner().proposal, what)
        }
        State::Drafted => {
            let request = pb::SignReplyRequest {
                proposal_id,
                signer: seed.signer.clone(),
                expected_version,
                request_id,
                actor: seed.signer.clone(),
                effective_date: String::new(),
                handling_unit: String::new(),
                sign_date: String::new(),
            };
            let response = client.sign_reply(server.call(request)).await?;
            (
                response.into_inner().proposal,
                format!("signed by {}", seed.signer),
            )
        }
        State::Signed => {
            let request = pb::IssueReplyRequest {
                proposal_id,
                document_number: document_number.to_owned(),
                issue_date: seed.issue_date.clone(),
                issuing_office: seed.issuing_office.clone(),
                expected_version,
                request_id,
                actor: seed.issuing_office.clone(),
                effective_date: String::new(),
                handling_unit: String::new(),
                // The 抄送 line as the seed document prints it.
                copy_to: seed.recipients.clone(),
                public: None,
            };
            let response = match client.issue_reply(server.call(request)).await {
                Ok(response) => response,
                Err(status) => {
                    if reason(&status).as_deref() == Some("DUPLICATE_DOCUMENT_NUMBER") {
                        report.note(format!(
                            "{document_number} was issued for another proposal already; pass \
                             --document-number to issue this one under a new number"
                        ))?;
                    }
                    return Err(status.into());
                }
            };
            let what = format!(
                "issued as {document_number} on {} by {}",
                seed.issue_date, seed.issuing_office
            );
            (response.into_inner().proposal, what)
        }
        State::Issued => {
            let request = pb::CopyReplyRequest {
                proposal_id,
                recipients: seed.recipients.clone(),
                expected_version,
                request_id,
                actor: seed.issuing_office.clone(),
                effective_date: String::new(),
                handling_unit: String::new(),
            };
            let response = client.copy_reply(server.call(request)).await?;
            let what = format!("copied to {}", seed.recipients.join(", "));
            (response.into_inner().proposal, what)
        }
        State::Copied | State::Closed | State::NotAccepted | State::Merged | State::Unspecified => {
            return Err(Failure::BadAnswer(format!(
                "proposal {} is in state {}, which the demo cannot move on from",
                proposal.id,
                state_name(proposal.state)
            )));
        }
    };
    let next = answered(next)?;
    report.step(&next, what)?;
    Ok(next)
}

/// The id of the proposal that already holds the number, when `status` says that.
fn existing_proposal(status: &tonic::Status) -> Option<String> {
    if status.code() != Code::AlreadyExists || reason(status)? != "DUPLICATE_PROPOSAL_NUMBER" {
        return None;
    }
    status
        .get_details_error_info()?
        .metadata
        .get("existingProposalId")
        .cloned()
}

fn reason(status: &tonic::Status) -> Option<String> {
    status.get_details_error_info().map(|info| info.reason)
}

fn answered(proposal: Option<pb::Proposal>) -> Result<pb::Proposal, Failure> {
    proposal.ok_or_else(|| Failure::BadAnswer("no proposal in the answer".into()))
}
