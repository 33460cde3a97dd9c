//! Readable output: a proposal as aligned `key: value` lines, lists as tables, an event as one
//! line. Columns are aligned by display width, so Chinese text (two columns a character) lines
//! up. Long texts (content, reply body, reasons) are summarised as their first line and length,
//! except in `get`, which shows everything.

use proposal_service::pb;
use proposal_service::pb::proposal_event::Data;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::values::{ProtoFlag, flag_name_of, format_time, kind_name, result_name, state_name};

/// How many display columns a summarised text keeps of its first line.
const SUMMARY_WIDTH: usize = 40;
/// How many display columns a title keeps in a table.
const TITLE_WIDTH: usize = 30;

/// Every field of a proposal that has a value. With `full`, the content and reply body are
/// printed whole, indented, after the short fields; otherwise they are summarised.
pub fn proposal(proposal: &pb::Proposal, full: bool) -> String {
    let pb::Proposal {
        id,
        committee,
        session,
        number,
        title,
        proposers,
        content,
        state,
        handling_unit,
        reply,
        signer,
        document_number,
        issue_date,
        issuing_office,
        copied_to,
        version,
        received_at,
        updated_at,
        due_date,
        proposer_kind,
        last_act_date,
        refusal,
        handlings,
        merged_into,
        merged_proposal_ids,
        sign_date,
        copy_to,
        public,
        key,
        feedback: verdicts,
        closed_date,
        closing_note,
        round,
        rounds,
    } = proposal;
    let mut fields = Fields::default();
    fields.add("id", id);
    fields.add("state", state_name(*state));
    fields.add("version", version.to_string());
    fields.add("committee", committee);
    fields.add("session", session);
    fields.add("number", number.to_string());
    fields.add("title", title);
    fields.add("proposers", proposers.join(", "));
    // Members are the default; a collective says what it is.
    if let Ok(
        kind @ (pb::ProposerKind::Party
        | pb::ProposerKind::Group
        | pb::ProposerKind::Sector
        | pb::ProposerKind::Committee),
    ) = pb::ProposerKind::try_from(*proposer_kind)
    {
        fields.add("proposer kind", kind.flag_name());
    }
    if !full {
        fields.add("content", summary(content));
    }
    fields.add("handling unit", handling_unit);
    fields.add("due date", due_date);
    fields.add("merged into", merged_into);
    fields.add("merged proposals", merged_proposal_ids.join(", "));
    if let Some(pb::Reply {
        body,
        result_code,
        contact_unit,
        contact_phone,
    }) = reply
    {
        fields.add("result", result_name(*result_code));
        fields.add("contact unit", contact_unit);
        fields.add("contact phone", contact_phone);
        if !full {
            fields.add("reply body", summary(body));
        }
    }
    fields.add("signer", signer);
    fields.add("sign date", sign_date);
    fields.add("document number", document_number);
    fields.add("issue date", issue_date);
    fields.add("issuing office", issuing_office);
    fields.add("copy line", copy_to.join(", "));
    if *public {
        fields.add("public", "yes");
    }
    fields.add("copied to", copied_to.join(", "));
    if let Some(pb::KeyProposal {
        supervisor,
        note,
        since_date,
    }) = key
    {
        let mut designation = format!("since {since_date}");
        if !supervisor.is_empty() {
            designation.push_str(&format!(", supervised by {supervisor}"));
        }
        if !note.is_empty() {
            designation.push_str(&format!(" ({})", summary(note)));
        }
        fields.add("key proposal", designation);
    }
    for verdict in verdicts {
        fields.add(
            "feedback",
            format!("{} {}", verdict.recorded_date, feedback(verdict)),
        );
    }
    fields.add("closed", closed_date);
    fields.add("closing note", closing_note);
    if *round > 1 {
        fields.add("round", round.to_string());
    }
    // Each earlier round in one line per reply and per verdict.
    for earlier in rounds {
        let mut line = format!(
            "{}: reopened {}: {}",
            earlier.round,
            earlier.reopened_date,
            summary(&earlier.reopen_reason)
        );
        for reply in &earlier.replies {
            line.push_str(&format!(
                "; {} {} issued {}",
                reply.unit, reply.document_number, reply.issue_date
            ));
        }
        fields.add("earlier round", line);
        for verdict in &earlier.feedback {
            fields.add(
                "earlier feedback",
                format!(
                    "{}: {} {}",
                    earlier.round,
                    verdict.recorded_date,
                    feedback(verdict)
                ),
            );
        }
    }
    if let Some(pb::Refusal {
        reason,
        forwarded_to,
    }) = refusal
    {
        fields.add(
            "refused",
            if full {
                reason.clone()
            } else {
                summary(reason)
            },
        );
        fields.add("forwarded to", forwarded_to);
    }
    fields.add("last act", last_act_date);
    if let Some(at) = received_at {
        fields.add("received at", format_time(at, true));
    }
    if let Some(at) = updated_at {
        fields.add("updated at", format_time(at, true));
    }
    let mut text = fields.render();
    if !handlings.is_empty() {
        text.push_str("\nhandlings:");
        for h in handlings {
            text.push_str(&format!("\n{}", indent(&handling(h, full))));
        }
    }
    // Every proposal has content: none here means a basic view, which leaves it out.
    if full && !content.is_empty() {
        text.push_str(&format!("\ncontent:\n{}", indent(content)));
        if let Some(reply) = reply {
            text.push_str(&format!("\nreply body:\n{}", indent(&reply.body)));
        }
    }
    text
}

/// One unit's part in handling a proposal: a heading line with the unit, its role and state,
/// then its dates, a co-unit's opinion (or `not yet`), a split unit's reply and document, and
/// its contacts, extension
/// requests and return requests, one line each. With `full`, their summaries, reasons, notes
/// and the opinion's text are printed whole; otherwise they are summarised.
pub fn handling(handling: &pb::Handling, full: bool) -> String {
    let pb::Handling {
        unit,
        role,
        state,
        assigned_date,
        original_due_date,
        due_date,
        acknowledged_date,
        contacts,
        extensions,
        return_requests,
        opinion,
        reply,
        signer,
        document_number,
        issue_date,
        issuing_office,
        copied_to,
        sign_date,
        copy_to,
        public,
    } = handling;
    let long = |text: &str| {
        if full {
            text.replace(['\n', '\r'], " ")
        } else {
            summary(text)
        }
    };
    // Where an office request stands: `PENDING`, or `APPROVED 2019-08-22 (note)`.
    let decision = |status: i32, decided_date: &str, note: &str| {
        let mut text = flag_name_of::<pb::RequestStatus>(status).to_ascii_uppercase();
        if !decided_date.is_empty() {
            text.push_str(&format!(" {decided_date}"));
        }
        if !note.is_empty() {
            text.push_str(&format!(" ({})", long(note)));
        }
        text
    };
    let mut fields = Fields::default();
    fields.add("assigned", assigned_date);
    if due_date != original_due_date && !original_due_date.is_empty() {
        fields.add(
            "due date",
            format!("{due_date} (originally {original_due_date})"),
        );
    } else {
        fields.add("due date", due_date);
    }
    fields.add(
        "acknowledged",
        if acknowledged_date.is_empty() {
            "not yet"
        } else {
            acknowledged_date
        },
    );
    match opinion {
        Some(pb::Opinion {
            body,
            document_number,
            contact_person,
            contact_phone,
            submitted_date,
        }) => {
            let mut given = submitted_date.clone();
            if !document_number.is_empty() {
                given.push_str(&format!(" ({document_number})"));
            }
            let contact = [contact_person.as_str(), contact_phone.as_str()]
                .into_iter()
                .filter(|part| !part.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            if !contact.is_empty() {
                given.push_str(&format!(", contact {contact}"));
            }
            fields.add("opinion", given.trim_start());
            fields.add("opinion text", long(body));
        }
        None if *role == pb::HandlingRole::Co as i32 => fields.add("opinion", "not yet"),
        None => {}
    }
    // A split unit's own reply (a sole or lead unit's is the proposal's, shown above it).
    if *role == pb::HandlingRole::Split as i32 {
        if let Some(pb::Reply { result_code, .. }) = reply {
            let code = pb::ResultCode::try_from(*result_code)
                .map_or("-", |c| c.as_str_name().trim_start_matches("RESULT_CODE_"));
            fields.add("reply", format!("drafted, result {code}"));
        }
        fields.add("signer", signer);
        fields.add("sign date", sign_date);
        if !document_number.is_empty() {
            fields.add(
                "document",
                format!("{document_number} of {issue_date}, {issuing_office}"),
            );
        }
        fields.add("copy line", copy_to.join(", "));
        if *public {
            fields.add("public", "yes");
        }
        fields.add("copied to", copied_to.join(", "));
    }
    let mut text = format!(
        "{unit} ({}, {})\n{}",
        flag_name_of::<pb::HandlingRole>(*role),
        state_name(*state),
        indent(&fields.render())
    );
    if !contacts.is_empty() {
        text.push_str("\n  contacts:");
        for pb::Contact {
            contact_date,
            method,
            proposers,
            summary,
        } in contacts
        {
            text.push_str(&format!(
                "\n    - {contact_date} {} with {}: {}",
                flag_name_of::<pb::ContactMethod>(*method),
                proposers.join(", "),
                long(summary)
            ));
        }
    }
    if !extensions.is_empty() {
        text.push_str("\n  extensions:");
        for pb::Extension {
            requested_date,
            new_due_date,
            reason,
            status,
            decision_note,
            decided_date,
        } in extensions
        {
            text.push_str(&format!(
                "\n    - {requested_date} asked for {new_due_date}: {}; {}",
                long(reason),
                decision(*status, decided_date, decision_note)
            ));
        }
    }
    if !return_requests.is_empty() {
        text.push_str("\n  return requests:");
        for pb::ReturnRequest {
            requested_date,
            reason,
            status,
            decision_note,
            decided_date,
        } in return_requests
        {
            text.push_str(&format!(
                "\n    - {requested_date} asked to return it: {}; {}",
                long(reason),
                decision(*status, decided_date, decision_note)
            ));
        }
    }
    text
}

/// Proposals as a table, one row each.
pub fn proposals(proposals: &[pb::Proposal]) -> String {
    if proposals.is_empty() {
        return "no proposals".to_owned();
    }
    let mut table = Table::new(&[
        "ID",
        "STATE",
        "VER",
        "COMMITTEE",
        "SESSION",
        "NO.",
        "TITLE",
        "UNIT",
        "UPDATED",
    ]);
    for p in proposals {
        table.row(vec![
            p.id.clone(),
            state_name(p.state),
            p.version.to_string(),
            p.committee.clone(),
            p.session.clone(),
            p.number.to_string(),
            truncate(&p.title, TITLE_WIDTH),
            p.handling_unit.clone(),
            p.updated_at
                .as_ref()
                .map(|t| format_time(t, false))
                .unwrap_or_default(),
        ]);
    }
    table.render()
}

/// Events as a table, one row each; with `with_proposal`, a column names each one's proposal
/// (an audit trail across proposals), otherwise they are one proposal's history.
pub fn events(events: &[pb::ProposalEvent], with_proposal: bool) -> String {
    if events.is_empty() {
        return "no events".to_owned();
    }
    let mut headers = vec!["POS", "SEQ", "TIME"];
    if with_proposal {
        headers.push("PROPOSAL");
    }
    headers.extend(["EVENT", "FROM", "TO", "ACTOR", "DETAILS"]);
    let mut table = Table::new(&headers);
    for e in events {
        let mut row = vec![
            e.position.to_string(),
            e.sequence.to_string(),
            e.occurred_at
                .as_ref()
                .map(|t| format_time(t, false))
                .unwrap_or_default(),
        ];
        if with_proposal {
            row.push(e.proposal_id.clone());
        }
        row.extend([
            kind(e),
            state_name(e.from_state),
            state_name(e.to_state),
            e.actor.clone(),
            details(e),
        ]);
        table.row(row);
    }
    table.render()
}

/// One event on one line, for `watch`.
pub fn event_line(e: &pb::ProposalEvent) -> String {
    let time = e
        .occurred_at
        .as_ref()
        .map(|t| format_time(t, true))
        .unwrap_or_default();
    format!(
        "{}  {}  {} #{}  {}  {} → {}  by {}  {}",
        e.position,
        time,
        e.proposal_id,
        e.sequence,
        kind(e),
        state_name(e.from_state),
        state_name(e.to_state),
        e.actor,
        details(e)
    )
    .trim_end()
    .to_owned()
}

/// The outcome of `verify`.
pub fn verification(report: &pb::VerifyHistoryResponse) -> String {
    let pb::VerifyHistoryResponse {
        ok,
        events_checked,
        proposals_checked,
        first_mismatch,
        problems,
        head_position,
        head_hash,
    } = report;
    let mut fields = Fields::default();
    fields.add("ok", if *ok { "yes" } else { "NO" });
    fields.add("events checked", events_checked.to_string());
    fields.add("proposals checked", proposals_checked.to_string());
    fields.add("head position", head_position.to_string());
    fields.add("head hash", head_hash);
    fields.add("first mismatch", first_mismatch);
    let mut text = fields.render();
    if !problems.is_empty() {
        text.push_str("\nproblems:");
        for problem in problems {
            text.push_str(&format!("\n  - {problem}"));
        }
    }
    text
}

/// The event's kind as `--kind` spells it, e.g. `reply-issued`.
pub fn kind(e: &pb::ProposalEvent) -> String {
    e.data
        .as_ref()
        .map_or_else(|| "unknown".to_owned(), kind_name)
}

/// What an event recorded, in a few words; a split unit's reply event starts with its unit.
pub fn details(e: &pb::ProposalEvent) -> String {
    let Some(data) = &e.data else {
        return String::new();
    };
    let split_unit = match data {
        Data::Drafted(pb::ReplyDrafted { handling_unit, .. })
        | Data::DraftRejected(pb::DraftRejected { handling_unit, .. })
        | Data::Signed(pb::ReplySigned { handling_unit, .. })
        | Data::Issued(pb::ReplyIssued { handling_unit, .. })
        | Data::Copied(pb::ReplyCopied { handling_unit, .. }) => handling_unit.as_str(),
        _ => "",
    };
    let text = data_details(data);
    if split_unit.is_empty() {
        text
    } else {
        format!("{split_unit}: {text}")
    }
}

fn data_details(data: &Data) -> String {
    match data {
        Data::Received(r) => format!(
            "{} {} No. {}: {} (proposers {})",
            r.committee,
            r.session,
            r.number,
            truncate(&r.title, TITLE_WIDTH),
            r.proposers.join(", ")
        ),
        Data::Assigned(a) => {
            let mut text = format!("to {}", a.handling_unit);
            if !a.due_date.is_empty() {
                text.push_str(&format!(", due {}", a.due_date));
            }
            if !a.split_units.is_empty() {
                text.push_str(&format!("; split with {}", a.split_units.join(", ")));
            }
            if !a.co_units.is_empty() {
                text.push_str(&format!("; co-units {}", a.co_units.join(", ")));
                if !a.co_due_date.is_empty() {
                    text.push_str(&format!(", opinions due {}", a.co_due_date));
                }
            }
            text
        }
        Data::Returned(r) => format!("reason: {}", summary(&r.reason)),
        Data::Drafted(d) => {
            let revision = if d.revision { "revision, " } else { "" };
            match &d.reply {
                Some(reply) => format!(
                    "{revision}result {}, body {}",
                    result_name(reply.result_code),
                    size(&reply.body)
                ),
                None => revision.trim_end_matches(", ").to_owned(),
            }
        }
        Data::DraftRejected(r) => format!("reason: {}", summary(&r.reason)),
        Data::Signed(s) if s.sign_date.is_empty() => format!("signer {}", s.signer),
        Data::Signed(s) => format!("signer {}, signed {}", s.signer, s.sign_date),
        Data::Issued(i) => {
            let mut text = format!(
                "{}, {}, {}",
                i.document_number, i.issue_date, i.issuing_office
            );
            if !i.copy_to.is_empty() {
                text.push_str(&format!("; 抄送 {}", i.copy_to.join(", ")));
            }
            if i.public {
                text.push_str("; public");
            }
            text
        }
        Data::Copied(c) if c.proposers.is_empty() => format!("to {}", c.recipients.join(", ")),
        Data::Copied(c) if c.recipients.is_empty() => {
            format!("to {} with the feedback form", c.proposers.join(", "))
        }
        Data::Copied(c) => format!(
            "to {} with the feedback form; copies to {}",
            c.proposers.join(", "),
            c.recipients.join(", ")
        ),
        Data::Refused(r) if r.forwarded_to.is_empty() => format!("reason: {}", summary(&r.reason)),
        Data::Refused(r) => format!(
            "reason: {}; forwarded to {}",
            summary(&r.reason),
            r.forwarded_to
        ),
        Data::Acknowledged(a) => format!("by {}", a.handling_unit),
        Data::Contacted(c) => match &c.contact {
            Some(contact) => format!(
                "{}: {} {} with {}: {}",
                c.handling_unit,
                flag_name_of::<pb::ContactMethod>(contact.method),
                contact.contact_date,
                contact.proposers.join(", "),
                summary(&contact.summary)
            ),
            None => c.handling_unit.clone(),
        },
        Data::ExtensionRequested(r) => format!(
            "{} asks for {}; reason: {}",
            r.handling_unit,
            r.new_due_date,
            summary(&r.reason)
        ),
        Data::ExtensionDecided(d) => {
            let mut text = if d.approved {
                format!("{}: approved, due {}", d.handling_unit, d.due_date)
            } else {
                format!("{}: refused", d.handling_unit)
            };
            if !d.note.is_empty() {
                text.push_str(&format!("; note: {}", summary(&d.note)));
            }
            text
        }
        Data::ReturnRequested(r) => format!(
            "{} asks to return it; reason: {}",
            r.handling_unit,
            summary(&r.reason)
        ),
        Data::ReturnDecided(d) => {
            let mut text = match (d.approved, d.reassigned_to.is_empty()) {
                (false, _) => format!("{}: refused", d.handling_unit),
                (true, true) => format!("{}: approved", d.handling_unit),
                (true, false) if d.due_date.is_empty() => format!(
                    "{}: approved, reassigned to {}",
                    d.handling_unit, d.reassigned_to
                ),
                (true, false) => format!(
                    "{}: approved, reassigned to {}, due {}",
                    d.handling_unit, d.reassigned_to, d.due_date
                ),
            };
            if !d.note.is_empty() {
                text.push_str(&format!("; note: {}", summary(&d.note)));
            }
            text
        }
        Data::OpinionSubmitted(o) => match &o.opinion {
            Some(opinion) if opinion.document_number.is_empty() => {
                format!("{}: opinion: {}", o.handling_unit, summary(&opinion.body))
            }
            Some(opinion) => format!(
                "{}: opinion {}: {}",
                o.handling_unit,
                opinion.document_number,
                summary(&opinion.body)
            ),
            None => o.handling_unit.clone(),
        },
        Data::Merged(m) if m.note.is_empty() => format!("into {}", m.into_proposal_id),
        Data::Merged(m) => format!("into {}; note: {}", m.into_proposal_id, summary(&m.note)),
        Data::MergeJoined(j) => {
            format!("No. {} ({}) merged into this one", j.number, j.proposal_id)
        }
        Data::FeedbackRecorded(f) => f.feedback.as_ref().map_or_else(String::new, feedback),
        Data::Closed(c) if c.note.is_empty() => "closed".to_owned(),
        Data::Closed(c) => format!("closed: {}", summary(&c.note)),
        Data::KeySet(k) if !k.key => "no longer a key proposal".to_owned(),
        Data::KeySet(k) if k.supervisor.is_empty() => "key proposal".to_owned(),
        Data::KeySet(k) => format!("key proposal, supervised by {}", k.supervisor),
        Data::Reopened(r) => format!(
            "round {}, due {}: {}",
            r.round,
            r.due_date,
            summary(&r.reason)
        ),
    }
}

/// A proposer's verdict in one line: `苏会兴: satisfied (attitude satisfied): 答复认真`.
fn feedback(f: &pb::Feedback) -> String {
    let mut text = format!(
        "{}: {}",
        f.proposer,
        flag_name_of::<pb::Satisfaction>(f.satisfaction)
    );
    if f.attitude != 0 {
        text.push_str(&format!(
            " (attitude {})",
            flag_name_of::<pb::Satisfaction>(f.attitude)
        ));
    }
    if !f.comment.is_empty() {
        text.push_str(&format!(": {}", summary(&f.comment)));
    }
    text
}

/// The rules in force, one per line, then today in their zone.
pub fn rules(response: &pb::GetRulesResponse) -> String {
    let pb::GetRulesResponse { rules, today } = response;
    let mut fields = Fields::default();
    if let Some(pb::Rules {
        reply_months,
        time_zone,
        max_extension_days,
        contact_required_before_draft,
        return_window_days,
        unit_may_return_directly,
        co_opinion_days,
        require_co_opinions_before_sign,
        copy_to,
        public_by_default,
        result_codes,
        redo_months,
        reopen_requires_dissatisfaction,
    }) = rules
    {
        fields.add("reply_months", reply_months.to_string());
        fields.add("time_zone", time_zone);
        fields.add("max_extension_days", max_extension_days.to_string());
        fields.add(
            "contact_required_before_draft",
            contact_required_before_draft.to_string(),
        );
        fields.add("return_window_days", return_window_days.to_string());
        fields.add(
            "unit_may_return_directly",
            unit_may_return_directly.to_string(),
        );
        fields.add("co_opinion_days", co_opinion_days.to_string());
        fields.add(
            "require_co_opinions_before_sign",
            require_co_opinions_before_sign.to_string(),
        );
        fields.add(
            "copy_to",
            if copy_to.is_empty() {
                "(none)".to_owned()
            } else {
                copy_to.join(", ")
            },
        );
        fields.add("public_by_default", public_by_default.to_string());
        let codes: Vec<String> = result_codes
            .iter()
            .map(|pb::ResultCodeMeaning { code, meaning }| {
                format!("{} {meaning}", result_name(*code))
            })
            .collect();
        fields.add("result_codes", codes.join("; "));
        fields.add("redo_months", redo_months.to_string());
        fields.add(
            "reopen_requires_dissatisfaction",
            reopen_requires_dissatisfaction.to_string(),
        );
    }
    fields.add("today", today);
    fields.render()
}

/// A long text as its first line (cut to [`SUMMARY_WIDTH`] columns) and its size; a short
/// one-line text as it is.
pub fn summary(text: &str) -> String {
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    if text.lines().count() <= 1 && text.width() <= SUMMARY_WIDTH {
        return text.to_owned();
    }
    format!("{} ({})", truncate(first, SUMMARY_WIDTH), size(text))
}

/// `4321 characters, 25 lines`.
fn size(text: &str) -> String {
    let lines = text.lines().count();
    let characters = text.chars().count();
    if lines > 1 {
        format!("{characters} characters, {lines} lines")
    } else {
        format!("{characters} characters")
    }
}

/// `text` cut to at most `width` display columns, with `…` when something was cut.
fn truncate(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_owned();
    }
    let mut kept = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        kept.push(c);
        used += w;
    }
    kept.push('…');
    kept
}

pub fn indent(text: &str) -> String {
    text.lines()
        .map(|line| {
            if line.is_empty() {
                String::new()
            } else {
                format!("  {line}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `key: value` lines with the values aligned; empty values are left out.
#[derive(Default)]
struct Fields(Vec<(&'static str, String)>);

impl Fields {
    fn add(&mut self, key: &'static str, value: impl Into<String>) {
        let value = value.into();
        if !value.is_empty() {
            self.0.push((key, value));
        }
    }

    fn render(&self) -> String {
        let width = self.0.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
        self.0
            .iter()
            .map(|(key, value)| format!("{:width$} {value}", format!("{key}:")))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A table with a header row, columns two spaces apart, padded by display width.
struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(headers: &[&str]) -> Self {
        Self {
            rows: vec![headers.iter().map(|h| (*h).to_owned()).collect()],
        }
    }

    fn row(&mut self, row: Vec<String>) {
        // One line per row: a line break inside a cell would break the table.
        let row = row
            .into_iter()
            .map(|cell| cell.replace(['\n', '\r', '\t'], " "))
            .collect();
        self.rows.push(row);
    }

    fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|row| row.get(c))
                    .map(|cell| cell.width())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        self.rows
            .iter()
            .map(|row| {
                let mut line = String::new();
                for (c, cell) in row.iter().enumerate() {
                    line.push_str(cell);
                    if c + 1 < row.len() {
                        line.push_str(&" ".repeat(widths[c] - cell.width() + 2));
                    }
                }
                line.trim_end().to_owned()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The proposals overdue on `on` as a table, most overdue first: one row each, with its late
/// units, their due dates and days overdue in the same order (a list of each when several split
/// units are late). The committee and session are shown when the rows span more than one.
pub fn overdue(overdue: &[crate::commands::OverdueProposal], on: &str) -> String {
    if overdue.is_empty() {
        return format!("no proposals overdue on {on}");
    }
    let first = &overdue[0].proposal;
    let several = overdue
        .iter()
        .any(|o| o.proposal.committee != first.committee || o.proposal.session != first.session);
    let mut headers = Vec::new();
    if several {
        headers.extend(["COMMITTEE", "SESSION"]);
    }
    headers.extend(["NO.", "TITLE", "UNIT", "DUE", "DAYS", "STATE"]);
    let mut table = Table::new(&headers);
    for o in overdue {
        let p = &o.proposal;
        let each = |cell: fn(&crate::commands::LateReply) -> String| {
            o.late.iter().map(cell).collect::<Vec<_>>().join(", ")
        };
        let mut row = Vec::new();
        if several {
            row.extend([p.committee.clone(), p.session.clone()]);
        }
        row.extend([
            p.number.to_string(),
            truncate(&p.title, TITLE_WIDTH),
            each(|l| l.unit.clone()),
            each(|l| l.due_date.clone()),
            each(|l| l.days_overdue.to_string()),
            state_name(p.state),
        ]);
        table.row(row);
    }
    let count = match overdue.len() {
        1 => "1 proposal".to_owned(),
        n => format!("{n} proposals"),
    };
    format!("overdue on {on}: {count}\n{}", table.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_chinese_text_by_display_width() {
        let mut table = Table::new(&["UNIT", "STATE"]);
        table.row(vec!["许昌市生态环境局".into(), "ISSUED".into()]);
        table.row(vec!["abc".into(), "COPIED".into()]);
        assert_eq!(
            table.render(),
            "UNIT              STATE\n许昌市生态环境局  ISSUED\nabc               COPIED"
        );
    }

    #[test]
    fn long_texts_are_summarised_by_their_first_line_and_size() {
        assert_eq!(summary("短的"), "短的");
        let body = "您提出的“关于加强我市环境保护的提案”收悉，现答复如下：\n\n首先，十分感谢。";
        let summarised = summary(body);
        assert!(summarised.starts_with("您提出的“关于加强我市环境保护的提"));
        assert!(
            summarised.ends_with("… (38 characters, 3 lines)"),
            "{summarised}"
        );
        assert!(truncate("许昌市生态环境局", 7).width() <= 7);
    }
}
