//! `demo --full`: after No. 228, proposal No. 231 of the same session, handled as the offices
//! handle a proposal for several units: 许昌市生态环境局 leads (主办) and two co-units send it
//! their opinions (会办). Every act carries the day it happened in the office (its effective
//! date), from registration on 2019-03-01 to the copies on 2019-07-08, so the handlings read
//! like a real session's.
//!
//! Like No. 228 it can be run again: a No. 231 that exists already is said so and carried on
//! from the acts it has (each act below is taken only if the proposal does not show it yet), or
//! shown as it is once COPIED. An act is never dated before the proposal's previous one, so a
//! No. 231 registered by hand today is carried on today.

use proposal_service::pb;
use proposal_service::pb::ProposalState as State;
use proposal_service::seed::Seed;
use serde_json::Value;
use time::macros::format_description;
use time::{Date, Duration};

use super::{REGISTRAR, Report, answered, reason, register, show_rendered};
use crate::commands::Paging;
use crate::commands::reads::history;
use crate::connection::Server;
use crate::failure::Failure;
use crate::output::Output;
use crate::text;
use crate::values::{result_name, state_name};

/// The proposal's number in the seed's session (许昌市政协, 七届三次会议).
pub const NUMBER: u32 = 231;
/// The document number of the lead unit's reply, after the seed's 许环〔2019〕13号.
pub const DOCUMENT_NUMBER: &str = "许环〔2019〕21号";
const TITLE: &str = "关于治理大气污染的提案";
const PROPOSERS: [&str; 2] = ["张建华", "刘丽"];
const CONTENT: &str = "建议综合治理大气污染：压减燃煤、推进清洁取暖，严控工地扬尘和柴油货车排放，\
                       加大治理资金投入，完善重污染天气应急联动。";
/// The lead unit (主办), which replies: the seed's handling unit.
const LEAD: &str = "许昌市生态环境局";
/// The co-handling units (会办), in the order of the assignment.
const CO_UNITS: [&str; 2] = ["许昌市发展和改革委员会", "许昌市财政局"];
/// Who decides the extension: the proposals office.
const OFFICE: &str = "提案委";
/// The reply's due date as assigned (三个月); the co-units' is left to the rules' default.
const DUE_DATE: &str = "2019-06-10";
/// How much later the lead unit asks its reply to be due.
const EXTENSION_DAYS: i64 = 30;

/// The day of each act, in order.
const RECEIVED_ON: &str = "2019-03-01";
const ASSIGNED_ON: &str = "2019-03-10";
const LEAD_ACKNOWLEDGED_ON: &str = "2019-03-12";
const CO_ACKNOWLEDGED_ON: &str = "2019-03-13";
const CONTACTED_ON: &str = "2019-03-20";
const OPINIONS_ON: [&str; 2] = ["2019-04-02", "2019-04-08"];
const EXTENSION_REQUESTED_ON: &str = "2019-05-20";
const EXTENSION_DECIDED_ON: &str = "2019-05-24";
const DRAFTED_ON: &str = "2019-06-28";
const SIGNED_ON: &str = "2019-07-03";
const ISSUED_ON: &str = "2019-07-05";
const COPIED_ON: &str = "2019-07-08";

/// A co-unit's opinion: body, document number (empty: none), contact person, phone.
const OPINIONS: [(&str, &str, &str, &str); 2] = [
    (
        "建议将清洁取暖、工业企业超低排放改造等大气污染防治重点项目纳入年度投资计划，优先保障\
         项目审批和中央预算内资金申报。",
        "许发改〔2019〕36号",
        "王伟",
        "2968001",
    ),
    (
        "市财政将统筹安排大气污染防治专项资金，对散煤治理、工业企业深度治理和机动车污染防治\
         予以支持，并加强资金绩效管理。",
        "",
        "陈静",
        "2969002",
    ),
];

const REPLY_BODY: &str = "您提出的“关于治理大气污染的提案”收悉。我局会同市发展和改革委员会、\
市财政局认真研究，现答复如下：

一、调整能源和产业结构。市发展和改革委员会将清洁取暖和工业企业超低排放改造项目纳入年度投资\
计划，严格控制高耗能、高排放项目。

二、加大治理资金投入。市财政局统筹安排大气污染防治专项资金，重点支持散煤治理、工业企业深度\
治理和机动车污染防治。

三、强化扬尘和移动源管控。我局将严格落实工地扬尘防治措施，加强柴油货车排放监管，完善重污染\
天气应急联动。

感谢您对我市生态环境保护工作的关心和支持。";

/// The next act the proposal's handling takes, by what the proposal shows done.
#[derive(Clone, Copy, Debug)]
enum Act {
    Assign,
    AcknowledgeLead,
    AcknowledgeCo,
    Contact,
    Opinion(usize),
    RequestExtension,
    DecideExtension,
    Draft,
    Sign,
    Issue,
    Copy,
}

impl Act {
    /// The act's planned day.
    fn day(self) -> &'static str {
        match self {
            Self::Assign => ASSIGNED_ON,
            Self::AcknowledgeLead => LEAD_ACKNOWLEDGED_ON,
            Self::AcknowledgeCo => CO_ACKNOWLEDGED_ON,
            Self::Contact => CONTACTED_ON,
            Self::Opinion(i) => OPINIONS_ON[i],
            Self::RequestExtension => EXTENSION_REQUESTED_ON,
            Self::DecideExtension => EXTENSION_DECIDED_ON,
            Self::Draft => DRAFTED_ON,
            Self::Sign => SIGNED_ON,
            Self::Issue => ISSUED_ON,
            Self::Copy => COPIED_ON,
        }
    }
}

/// Runs No. 231 to COPIED (or finds it there), then shows its handlings and rendered reply.
/// Returns its report as JSON: the proposal, the steps, the history, the rendered reply and
/// the notes, as the demo reports No. 228.
pub async fn run(server: &Server, seed: &Seed, output: &Output) -> Result<Value, Failure> {
    let mut report = Report {
        output,
        steps: Vec::new(),
        notes: Vec::new(),
    };
    let registration = pb::ReceiveProposalRequest {
        committee: seed.committee.clone(),
        session: seed.session.clone(),
        number: NUMBER,
        title: TITLE.into(),
        proposers: PROPOSERS.map(String::from).to_vec(),
        content: CONTENT.into(),
        actor: REGISTRAR.into(),
        effective_date: RECEIVED_ON.into(),
        proposer_kind: pb::ProposerKind::Member.into(),
        ..Default::default()
    };
    let (mut proposal, new) = register(server, registration, "", &mut report).await?;
    if new {
        let what = format!("registered by {REGISTRAR}");
        report.dated_step(&proposal, RECEIVED_ON, what)?;
    }

    while let Some(act) = next_act(&proposal)? {
        proposal = perform(server, seed, act, proposal, &mut report).await?;
    }

    report.say(String::new())?;
    report.say(format!("handlings of {}:", proposal.id))?;
    for handling in &proposal.handlings {
        report.say(text::indent(&text::handling(handling, false)))?;
    }
    let all = Paging {
        page_size: None,
        page_token: None,
        all: true,
    };
    let (events, _) = history(server, &proposal.id, &all).await?;
    let rendered = show_rendered(server, &proposal, &mut report).await?;
    Ok(report.into_json(&proposal, &events, rendered.as_ref()))
}

/// The unit's handling of the proposal, if it has one.
fn handling<'a>(proposal: &'a pb::Proposal, unit: &str) -> Option<&'a pb::Handling> {
    proposal.handlings.iter().find(|h| h.unit == unit)
}

/// What is left to do, in the order the offices do it; `None` once COPIED.
fn next_act(proposal: &pb::Proposal) -> Result<Option<Act>, Failure> {
    let lead = handling(proposal, LEAD);
    let unacknowledged =
        |h: Option<&pb::Handling>| h.is_some_and(|h| h.acknowledged_date.is_empty());
    let opinion_due = (0..CO_UNITS.len())
        .find(|&i| handling(proposal, CO_UNITS[i]).is_some_and(|h| h.opinion.is_none()));
    let act = match proposal.state() {
        State::Copied => return Ok(None),
        State::Received => Act::Assign,
        State::Assigned | State::Drafted if unacknowledged(lead) => Act::AcknowledgeLead,
        State::Assigned | State::Drafted if unacknowledged(handling(proposal, CO_UNITS[0])) => {
            Act::AcknowledgeCo
        }
        State::Assigned | State::Drafted if lead.is_some_and(|h| h.contacts.is_empty()) => {
            Act::Contact
        }
        State::Assigned | State::Drafted if opinion_due.is_some() => {
            Act::Opinion(opinion_due.expect("checked"))
        }
        State::Assigned if lead.is_some_and(|h| h.extensions.is_empty()) => Act::RequestExtension,
        State::Assigned | State::Drafted | State::Signed
            if lead.is_some_and(|h| {
                h.extensions
                    .iter()
                    .any(|e| e.status() == pb::RequestStatus::Pending)
            }) =>
        {
            Act::DecideExtension
        }
        State::Assigned => Act::Draft,
        State::Drafted => Act::Sign,
        State::Signed => Act::Issue,
        State::Issued => Act::Copy,
        _ => {
            return Err(Failure::BadAnswer(format!(
                "proposal {} is in state {}, which the demo cannot move on from",
                proposal.id,
                state_name(proposal.state)
            )));
        }
    };
    Ok(Some(act))
}

/// Takes `act` on the proposal, dated its planned day (or the proposal's last act's, if that is
/// later), with the version just read.
async fn perform(
    server: &Server,
    seed: &Seed,
    act: Act,
    proposal: pb::Proposal,
    report: &mut Report<'_>,
) -> Result<pb::Proposal, Failure> {
    let proposal_id = proposal.id.clone();
    let expected_version = Some(proposal.version);
    // Unique to this proposal and step, so a retried step is recorded once.
    let request_id = format!("demo-{proposal_id}-v{}", proposal.version);
    let date = act.day().max(proposal.last_act_date.as_str()).to_owned();
    let effective_date = date.clone();
    let mut client = server.client();
    let (next, what) = match act {
        Act::Assign => {
            // Assigned later than planned (a No. 231 registered by hand), the reply is due the
            // rules' months after the day it is assigned instead.
            let due_date = if date == ASSIGNED_ON { DUE_DATE } else { "" };
            let request = pb::AssignProposalRequest {
                proposal_id,
                handling_unit: LEAD.into(),
                due_date: due_date.into(),
                co_units: CO_UNITS.map(String::from).to_vec(),
                co_due_date: String::new(),
                expected_version,
                request_id,
                actor: REGISTRAR.into(),
                effective_date,
                split_units: Vec::new(),
            };
            let response = client.assign_proposal(server.call(request)).await?;
            let next = answered(response.into_inner().proposal)?;
            let co_due = handling(&next, CO_UNITS[0]).map_or("", |h| h.due_date.as_str());
            let what = format!(
                "to {LEAD} (lead), due {}; co-units {}, opinions due {co_due}",
                next.due_date,
                CO_UNITS.join(", ")
            );
            (next, what)
        }
        Act::AcknowledgeLead | Act::AcknowledgeCo => {
            // The lead is the proposal's replying unit: named by leaving the unit empty.
            let unit = match act {
                Act::AcknowledgeLead => "",
                _ => CO_UNITS[0],
            };
            let actor = if unit.is_empty() { LEAD } else { unit };
            let request = pb::AcknowledgeAssignmentRequest {
                proposal_id,
                handling_unit: unit.into(),
                expected_version,
                request_id,
                actor: actor.into(),
                effective_date,
            };
            let response = client.acknowledge_assignment(server.call(request)).await?;
            (
                answered(response.into_inner().proposal)?,
                format!("acknowledged (签收) by {actor}"),
            )
        }
        Act::Contact => {
            let summary = "召开座谈会，听取提案人对燃煤压减、扬尘治理和柴油货车管控的意见建议";
            let request = pb::RecordContactRequest {
                proposal_id,
                handling_unit: String::new(),
                contact_date: String::new(),
                method: pb::ContactMethod::Meeting.into(),
                proposers: Vec::new(),
                summary: summary.into(),
                expected_version,
                request_id,
                actor: LEAD.into(),
                effective_date,
            };
            let response = client.record_contact(server.call(request)).await?;
            (
                answered(response.into_inner().proposal)?,
                format!(
                    "{LEAD} met {}: {}",
                    PROPOSERS.join(", "),
                    text::summary(summary)
                ),
            )
        }
        Act::Opinion(i) => {
            let unit = CO_UNITS[i];
            let (body, document_number, contact_person, contact_phone) = OPINIONS[i];
            let request = pb::SubmitOpinionRequest {
                proposal_id,
                handling_unit: unit.into(),
                body: body.into(),
                document_number: document_number.into(),
                contact_person: contact_person.into(),
                contact_phone: contact_phone.into(),
                expected_version,
                request_id,
                actor: unit.into(),
                effective_date,
            };
            let response = client.submit_opinion(server.call(request)).await?;
            let numbered = if document_number.is_empty() {
                String::new()
            } else {
                format!(" {document_number}")
            };
            (
                answered(response.into_inner().proposal)?,
                format!(
                    "opinion{numbered} (会办意见) from {unit}, contact {contact_person} \
                     {contact_phone}: {}",
                    text::summary(body)
                ),
            )
        }
        Act::RequestExtension => {
            let due = handling(&proposal, LEAD).map_or("", |h| h.due_date.as_str());
            let new_due_date = days_after(due, EXTENSION_DAYS)?;
            let reason = "需会同市发展和改革委员会、市财政局核实治理项目和资金安排";
            let request = pb::RequestExtensionRequest {
                proposal_id,
                handling_unit: String::new(),
                new_due_date: new_due_date.clone(),
                reason: reason.into(),
                expected_version,
                request_id,
                actor: LEAD.into(),
                effective_date,
            };
            let response = client.request_extension(server.call(request)).await?;
            (
                answered(response.into_inner().proposal)?,
                format!("{LEAD} asks to reply by {new_due_date} instead of {due}: {reason}"),
            )
        }
        Act::DecideExtension => {
            let request = pb::DecideExtensionRequest {
                proposal_id,
                handling_unit: String::new(),
                approve: true,
                note: "同意延期".into(),
                expected_version,
                request_id,
                actor: OFFICE.into(),
                effective_date,
            };
            let response = client.decide_extension(server.call(request)).await?;
            let next = answered(response.into_inner().proposal)?;
            let what = format!("extension approved by {OFFICE}: due {}", next.due_date);
            (next, what)
        }
        Act::Draft => {
            let reply = pb::Reply {
                body: REPLY_BODY.into(),
                result_code: pb::ResultCode::B.into(),
                contact_unit: seed.contact_unit.clone(),
                contact_phone: seed.contact_phone.clone(),
            };
            let what = format!(
                "reply drafted: result {}, {}, contact {} {}",
                result_name(reply.result_code),
                text::summary(&reply.body),
                reply.contact_unit,
                reply.contact_phone
            );
            let request = pb::DraftReplyRequest {
                proposal_id,
                reply: Some(reply),
                expected_version,
                request_id,
                actor: LEAD.into(),
                effective_date,
                handling_unit: String::new(),
            };
            let response = client.draft_reply(server.call(request)).await?;
            (answered(response.into_inner().proposal)?, what)
        }
        Act::Sign => {
            let request = pb::SignReplyRequest {
                proposal_id,
                signer: seed.signer.clone(),
                expected_version,
                request_id,
                actor: seed.signer.clone(),
                effective_date,
                handling_unit: String::new(),
                sign_date: String::new(),
            };
            let response = client.sign_reply(server.call(request)).await?;
            (
                answered(response.into_inner().proposal)?,
                format!("signed by {}", seed.signer),
            )
        }
        Act::Issue => {
            let request = pb::IssueReplyRequest {
                proposal_id,
                document_number: DOCUMENT_NUMBER.into(),
                issue_date: date.clone(),
                issuing_office: seed.issuing_office.clone(),
                expected_version,
                request_id,
                actor: seed.issuing_office.clone(),
                effective_date,
                handling_unit: String::new(),
                // The seed's 抄送 line, and the lead reply's co-units after it.
                copy_to: seed
                    .recipients
                    .iter()
                    .cloned()
                    .chain(CO_UNITS.map(String::from))
                    .collect(),
                public: None,
            };
            let response = match client.issue_reply(server.call(request)).await {
                Ok(response) => response,
                Err(status) => {
                    if reason(&status).as_deref() == Some("DUPLICATE_DOCUMENT_NUMBER") {
                        report.note(format!(
                            "{DOCUMENT_NUMBER} was issued for another proposal already, so \
                             No. {NUMBER} cannot be issued under it"
                        ))?;
                    }
                    return Err(status.into());
                }
            };
            (
                answered(response.into_inner().proposal)?,
                format!(
                    "issued as {DOCUMENT_NUMBER} on {date} by {}",
                    seed.issuing_office
                ),
            )
        }
        Act::Copy => {
            let request = pb::CopyReplyRequest {
                proposal_id,
                // By default, to the document's 抄送 line.
                recipients: Vec::new(),
                expected_version,
                request_id,
                actor: seed.issuing_office.clone(),
                effective_date,
                handling_unit: String::new(),
            };
            let response = client.copy_reply(server.call(request)).await?;
            let next = answered(response.into_inner().proposal)?;
            let what = format!("copied to {}", next.copied_to.join(", "));
            (next, what)
        }
    };
    report.dated_step(&next, &date, what)?;
    Ok(next)
}

/// `days` calendar days after the date `day` (YYYY-MM-DD).
fn days_after(day: &str, days: i64) -> Result<String, Failure> {
    let format = format_description!("[year]-[month]-[day]");
    let date = Date::parse(day, format)
        .ok()
        .and_then(|date| date.checked_add(Duration::days(days)))
        .ok_or_else(|| {
            Failure::BadAnswer(format!("the lead unit's due date {day:?} is not a date"))
        })?;
    Ok(date.format(format).expect("a date formats as YYYY-MM-DD"))
}
