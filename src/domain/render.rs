//! The official reply document (答复件) of an issued proposal, as plain text in the layout of the
//! seed (`src/seed/proposal_228_reply.txt`). Pure: it reads the projection and nothing else, so
//! the same proposal always renders to the same bytes.

use super::model::{CalendarDate, Proposal, ProposalState, ProposerKind};

/// The rendered reply document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedReply {
    /// One printed line per line, joined by `\n` and ending with a newline; blank lines as the
    /// seed has them.
    pub text: String,
    /// The document number (文号) printed under the header, e.g. `许环〔2019〕13号`.
    pub document_number: String,
}

/// Why a proposal has no reply document. Both variants carry the current state so that callers
/// can report it (`currentState`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotRenderable {
    /// The reply has not been issued yet: a precondition the caller can wait for.
    #[error("only an issued reply can be rendered; the proposal is {state}")]
    NotIssued { state: ProposalState },
    /// The proposal is issued (or copied) but lacks a field the document prints. A proposal
    /// folded from valid events never does; this is a damaged record, not a caller's mistake.
    #[error("the proposal is {state} but has no {field}, which the reply document prints")]
    Incomplete {
        state: ProposalState,
        /// The `Proposal` field that is missing, e.g. `signer`.
        field: &'static str,
    },
}

impl NotRenderable {
    /// The state the proposal was in when rendering was refused.
    pub fn state(&self) -> ProposalState {
        match self {
            Self::NotIssued { state } | Self::Incomplete { state, .. } => *state,
        }
    }
}

/// Blank lines above the issuing authority's header, as in the seed.
const BLANK_LINES_ABOVE_HEADER: usize = 2;
/// Blank lines between the date and the contact line, as in the seed (every other block is
/// separated by one).
const BLANK_LINES_BELOW_DATE: usize = 3;

/// Renders the reply document of an ISSUED or COPIED proposal, top to bottom: header
/// (`{handling_unit}文件`), document number, `签发人：`, `办理结果：`, the title line, the
/// salutation, the body exactly as stored, the date line (成文日期: the sign date), the contact
/// line, `抄送：` (the document's copy line, when it has one), the issuing office and
/// `{issue date}印发`.
pub fn render_reply(proposal: &Proposal) -> Result<RenderedReply, NotRenderable> {
    render_reply_to(proposal, proposal)
}

/// The reply of `proposal` addressed to the proposers of `addressee`: the proposal itself, or
/// one merged into it (并案: every proposer gets the reply, greeted by name). The title line
/// names the proposal's number and those of every proposal merged into it
/// (`第228、231号提案`).
pub fn render_reply_to(
    proposal: &Proposal,
    addressee: &Proposal,
) -> Result<RenderedReply, NotRenderable> {
    let state = proposal.state;
    if !matches!(state, ProposalState::Issued | ProposalState::Copied) {
        return Err(NotRenderable::NotIssued { state });
    }
    let missing = |field| NotRenderable::Incomplete { state, field };
    let handling_unit = proposal
        .handling_unit
        .as_deref()
        .ok_or(missing("handling_unit"))?;
    let reply = proposal.reply.as_ref().ok_or(missing("reply"))?;
    let signer = proposal.signer.as_deref().ok_or(missing("signer"))?;
    let document_number = proposal
        .document_number
        .as_deref()
        .ok_or(missing("document_number"))?;
    let issued_on = proposal.issue_date.ok_or(missing("issue_date"))?;
    let issue_date = chinese_date(issued_on);
    // The date line is the day the leader signed; a reply signed before that was recorded
    // printed its issue date there.
    let sign_date = chinese_date(proposal.sign_date.unwrap_or(issued_on));
    let issuing_office = proposal
        .issuing_office
        .as_deref()
        .ok_or(missing("issuing_office"))?;
    // The 抄送 line is part of the document as issued; a reply issued before it was recorded
    // printed its dispatch's recipients, once copied.
    let copy_line = if !proposal.copy_to.is_empty() {
        Some(&proposal.copy_to)
    } else if state == ProposalState::Copied && !proposal.copied_to.is_empty() {
        Some(&proposal.copied_to)
    } else {
        None
    }
    .map(|names| format!("抄送：{}。", names.join("、")));

    // (blank lines before, block); a block is one line, except the body, which keeps its own.
    let mut blocks = vec![
        (BLANK_LINES_ABOVE_HEADER, format!("{handling_unit}文件")),
        (1, document_number.to_string()),
        (1, format!("签发人：{signer}")),
        (1, format!("办理结果：{}", reply.result_code.as_str())),
        // The seed separates the session from the number by a space; kept.
        (
            1,
            format!(
                "对{}{} 第{}号提案的答复",
                committee_short_form(&proposal.committee),
                proposal.session,
                std::iter::once(proposal.number)
                    .chain(proposal.merged.iter().map(|m| m.number))
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join("、")
            ),
        ),
        (1, salutation(addressee)),
        (1, reply.body.clone()),
        (1, sign_date),
        (
            BLANK_LINES_BELOW_DATE,
            format!(
                "（联系单位：{} 电话：{}）",
                reply.contact_unit, reply.contact_phone
            ),
        ),
    ];
    blocks.extend(copy_line.map(|line| (1, line)));
    blocks.push((1, issuing_office.to_string()));
    blocks.push((1, format!("{issue_date}印发")));

    let mut text = String::new();
    for (blank_lines, block) in blocks {
        text.push_str(&"\n".repeat(blank_lines));
        text.push_str(&block);
        text.push('\n');
    }
    Ok(RenderedReply {
        text,
        document_number: document_number.to_string(),
    })
}

/// How a handling unit names the committee in its title line. A city's committee stored with
/// its city name (`许昌市政协`) is `市政协`, as the seed writes it: the unit and the committee
/// are in the same city, so the name is dropped. Any other committee (`河南省政协`, or a name not
/// ending in `政协`) is printed as stored rather than guessed at.
fn committee_short_form(committee: &str) -> &str {
    match committee.strip_suffix("政协") {
        Some(place) if place.ends_with('市') => "市政协",
        _ => committee,
    }
}

/// A date as printed in Chinese official documents, without zero padding: `2019年9月29日`.
fn chinese_date(date: CalendarDate) -> String {
    format!("{}年{}月{}日", date.year(), date.month(), date.day())
}

/// `苏会兴委员：` and `张三、李四委员：` for members; a collective by its name alone
/// (`民革许昌市委员会：`).
fn salutation(proposal: &Proposal) -> String {
    let names = proposal.proposers.join("、");
    match proposal.proposer_kind {
        ProposerKind::Member => format!("{names}委员："),
        ProposerKind::Party
        | ProposerKind::Group
        | ProposerKind::Sector
        | ProposerKind::Committee => format!("{names}："),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ProposalId, Reply, Timestamp};
    use crate::seed::{self, DOCUMENT};

    /// The seed proposal with every field filled, in `state`: its 抄送 line as issued, signed
    /// on its issue date, and dispatched only when COPIED, as the lifecycle records them.
    fn seed_proposal(state: ProposalState) -> Proposal {
        let seed = seed::proposal_228();
        let result_code = seed.result_code;
        Proposal {
            rounds: Vec::new(),
            id: ProposalId::from_bytes([7; 16]),
            committee: seed.committee,
            session: seed.session,
            number: seed.number,
            title: seed.title,
            proposers: seed.proposers,
            proposer_kind: ProposerKind::Member,
            content: seed::CONTENT.into(),
            state,
            handling_unit: Some(seed.handling_unit),
            due_date: None,
            handlings: Vec::new(),
            merged_into: None,
            merged: Vec::new(),
            reply: Some(Reply {
                body: seed.body,
                result_code,
                contact_unit: seed.contact_unit,
                contact_phone: seed.contact_phone,
            }),
            signer: Some(seed.signer),
            document_number: Some(seed.document_number),
            issue_date: CalendarDate::parse(&seed.issue_date),
            issuing_office: Some(seed.issuing_office),
            copied_to: if state == ProposalState::Copied {
                seed.recipients
            } else {
                Vec::new()
            },
            refusal: None,
            last_act_date: None,
            version: 8,
            received_at: Timestamp::from_unix_nanos(0),
            updated_at: Timestamp::from_unix_nanos(0),
            copy_to: vec!["市政协提案委".into(), "市政府督查室".into()],
            public: false,
            sign_date: CalendarDate::parse("2019-09-29"),
            closure: None,
            feedback: Vec::new(),
            key: None,
        }
    }

    fn render_ok(proposal: &Proposal) -> RenderedReply {
        render_reply(proposal).unwrap_or_else(|e| panic!("{} must render: {e}", proposal.state))
    }

    fn non_empty_lines(text: &str) -> Vec<&str> {
        text.lines().filter(|l| !l.trim().is_empty()).collect()
    }

    /// Asserts the two texts have the same lines, naming each line by `label(index)` and
    /// printing both sides of the first difference.
    fn assert_same_lines(rendered: &[&str], expected: &[&str], label: impl Fn(usize) -> String) {
        for (i, (r, e)) in rendered.iter().zip(expected).enumerate() {
            assert_eq!(
                r,
                e,
                "{} (line {i}) differs\n rendered: {r:?}\n expected: {e:?}",
                label(i)
            );
        }
        assert_eq!(
            rendered.len(),
            expected.len(),
            "line counts differ\n rendered: {rendered:#?}\n expected: {expected:#?}"
        );
    }

    /// The golden test. What is compared: the rendered document's non-empty lines, in order,
    /// with the seed document's non-empty lines: the frame (header, number, signer, result,
    /// title line, salutation; date, contact, copy line, issuing office, print line) and, between
    /// them, the body. The body is the reply body as `seed::proposal_228` stores it: the
    /// document's lines from the opening sentence to the last paragraph, joined by `\n` with
    /// their blank lines. A hard line break inside a paragraph (`…设施及` / blank /
    /// `3处雨污管网…`) is therefore stored, rendered and compared as two lines, not rejoined.
    /// Then the whole text, blank lines included, must equal the seed byte for byte.
    #[test]
    fn a_copied_seed_renders_as_the_seed_document() {
        let proposal = seed_proposal(ProposalState::Copied);
        let body = &proposal.reply.as_ref().unwrap().body;
        assert!(
            body.contains("处理设施及\n\n3处雨污管网"),
            "the stored body keeps the seed's mid-paragraph break"
        );
        let rendered = render_ok(&proposal);
        assert_eq!(rendered.document_number, "许环〔2019〕13号");

        const FRAME_TOP: [&str; 6] = [
            "header",
            "document number",
            "signer",
            "result",
            "title line",
            "salutation",
        ];
        const FRAME_BOTTOM: [&str; 5] = [
            "date",
            "contact",
            "copy line",
            "issuing office",
            "print line",
        ];
        let body_lines = non_empty_lines(body).len();
        let label = |i: usize| match i {
            i if i < FRAME_TOP.len() => FRAME_TOP[i].to_string(),
            i if i == FRAME_TOP.len() => "body: opening sentence".to_string(),
            i if i < FRAME_TOP.len() + body_lines => {
                format!("body line {}", i - FRAME_TOP.len() + 1)
            }
            i => FRAME_BOTTOM
                .get(i - FRAME_TOP.len() - body_lines)
                .map_or("extra line".to_string(), |s| s.to_string()),
        };
        let expected = non_empty_lines(DOCUMENT);
        assert_eq!(
            expected.len(),
            FRAME_TOP.len() + body_lines + FRAME_BOTTOM.len(),
            "the seed's frame is as this test names it"
        );
        assert_same_lines(&non_empty_lines(&rendered.text), &expected, label);

        let all_rendered: Vec<&str> = rendered.text.lines().collect();
        let all_expected: Vec<&str> = DOCUMENT.lines().collect();
        assert_same_lines(&all_rendered, &all_expected, |i| {
            format!("with blank lines, line {i}")
        });
        assert_eq!(
            rendered.text, DOCUMENT,
            "byte for byte, final newline included"
        );
    }

    #[test]
    fn the_copy_line_is_part_of_the_document_as_issued() {
        let issued = render_ok(&seed_proposal(ProposalState::Issued)).text;
        assert_eq!(issued, DOCUMENT, "issued, the document is whole");
        // Dispatched elsewhere than its 抄送 line, the document stays as it was issued.
        let mut copied = seed_proposal(ProposalState::Copied);
        copied.copied_to = vec!["市政协提案委".into()];
        assert_eq!(render_ok(&copied).text, DOCUMENT);
    }

    #[test]
    fn a_reply_issued_before_copy_lines_were_recorded_prints_its_dispatch_once_copied() {
        let legacy = |state| {
            let mut p = seed_proposal(state);
            p.copy_to.clear();
            p
        };
        let issued = render_ok(&legacy(ProposalState::Issued)).text;
        assert!(
            !issued.lines().any(|l| l.starts_with("抄送：")),
            "nothing to print before the dispatch:\n{issued}"
        );
        let mut expected = non_empty_lines(DOCUMENT);
        expected.retain(|l| !l.starts_with("抄送："));
        assert_same_lines(&non_empty_lines(&issued), &expected, |i| {
            format!("issued line {i}")
        });
        assert_eq!(render_ok(&legacy(ProposalState::Copied)).text, DOCUMENT);
        // Dispatched to the proposers alone: no 抄送 line at all.
        let mut alone = legacy(ProposalState::Copied);
        alone.copied_to.clear();
        assert_eq!(render_ok(&alone).text, issued);
    }

    #[test]
    fn the_date_line_is_the_day_the_leader_signed() {
        let mut proposal = seed_proposal(ProposalState::Issued);
        proposal.sign_date = CalendarDate::parse("2019-09-26");
        let text = render_ok(&proposal).text;
        let lines = non_empty_lines(&text);
        let body_end = lines
            .iter()
            .position(|l| l.starts_with("（联系单位："))
            .expect("a contact line");
        assert_eq!(lines[body_end - 1], "2019年9月26日", "the date line");
        assert_eq!(lines.last(), Some(&"2019年9月29日印发"), "the print line");
        // Signed before the date was recorded: the issue date, as it was printed.
        proposal.sign_date = None;
        assert_eq!(render_ok(&proposal).text, DOCUMENT);
    }

    #[test]
    fn every_state_before_issued_is_refused_naming_the_state() {
        for state in ProposalState::ALL {
            let result = render_reply(&seed_proposal(state));
            if matches!(state, ProposalState::Issued | ProposalState::Copied) {
                assert!(result.is_ok(), "{state} renders: {result:?}");
                continue;
            }
            let error = result.expect_err("refused before ISSUED");
            assert_eq!(error, NotRenderable::NotIssued { state });
            assert_eq!(error.state(), state);
            assert!(
                error.to_string().contains(state.as_str()),
                "the message names {state}: {error}"
            );
        }
    }

    #[test]
    fn an_issued_proposal_missing_a_printed_field_is_an_error_not_a_panic() {
        type Strip = fn(&mut Proposal);
        let cases: [(&str, Strip); 6] = [
            ("handling_unit", |p| p.handling_unit = None),
            ("reply", |p| p.reply = None),
            ("signer", |p| p.signer = None),
            ("document_number", |p| p.document_number = None),
            ("issue_date", |p| p.issue_date = None),
            ("issuing_office", |p| p.issuing_office = None),
        ];
        for (field, strip) in cases {
            let mut proposal = seed_proposal(ProposalState::Issued);
            strip(&mut proposal);
            let error = render_reply(&proposal).expect_err(field);
            assert_eq!(
                error,
                NotRenderable::Incomplete {
                    state: ProposalState::Issued,
                    field
                }
            );
            assert!(error.to_string().contains("ISSUED"), "{error}");
        }
    }

    #[test]
    fn several_proposers_are_greeted_together() {
        let mut proposal = seed_proposal(ProposalState::Copied);
        proposal.proposers = vec!["苏会兴".into(), "李明".into(), "王芳".into()];
        let text = render_ok(&proposal).text;
        assert!(
            text.lines().any(|l| l == "苏会兴、李明、王芳委员："),
            "salutation joins the proposers with 、:\n{text}"
        );
    }

    #[test]
    fn a_collective_is_greeted_by_its_name() {
        for kind in ProposerKind::ALL.into_iter().filter(|k| !k.is_member()) {
            let mut proposal = seed_proposal(ProposalState::Copied);
            proposal.proposers = vec!["民革许昌市委员会".into()];
            proposal.proposer_kind = kind;
            let text = render_ok(&proposal).text;
            assert!(
                text.lines().any(|l| l == "民革许昌市委员会："),
                "{kind:?}:\n{text}"
            );
            assert!(!text.contains("委员会委员"), "{kind:?}:\n{text}");
        }
    }

    #[test]
    fn dates_are_written_without_zero_padding() {
        let mut proposal = seed_proposal(ProposalState::Copied);
        proposal.sign_date = CalendarDate::parse("2019-10-01");
        proposal.issue_date = CalendarDate::parse("2019-10-01");
        let text = render_ok(&proposal).text;
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.contains(&"2019年10月1日"), "date line:\n{text}");
        assert_eq!(lines.last(), Some(&"2019年10月1日印发"));
        for (date, chinese) in [
            ("2019-09-29", "2019年9月29日"),
            ("2020-01-05", "2020年1月5日"),
            ("2021-12-31", "2021年12月31日"),
        ] {
            assert_eq!(chinese_date(CalendarDate::parse(date).unwrap()), chinese);
        }
    }

    #[test]
    fn a_city_committee_drops_its_city_name_in_the_title_line() {
        assert_eq!(committee_short_form("许昌市政协"), "市政协");
        assert_eq!(committee_short_form("市政协"), "市政协");
        assert_eq!(committee_short_form("河南省政协"), "河南省政协");
        assert_eq!(committee_short_form("政协许昌市委员会"), "政协许昌市委员会");
        let mut proposal = seed_proposal(ProposalState::Issued);
        proposal.committee = "河南省政协".into();
        let text = render_ok(&proposal).text;
        assert!(
            text.contains("\n对河南省政协七届三次会议 第228号提案的答复\n"),
            "{text}"
        );
    }

    /// A merged proposal's reply is the lead's, greeted to its own proposers; the title line
    /// names every number.
    #[test]
    fn a_merged_proposal_is_answered_by_the_leads_reply() {
        let mut lead = seed_proposal(ProposalState::Copied);
        lead.merged.push(crate::domain::MergedProposal {
            id: ProposalId::from_bytes([8; 16]),
            number: 231,
        });
        let mut merged = seed_proposal(ProposalState::Merged);
        merged.number = 231;
        merged.proposers = vec!["张三".into(), "李四".into()];
        let text = render_reply_to(&lead, &merged).unwrap().text;
        assert!(text.contains("第228、231号提案的答复"), "{text}");
        assert!(text.contains("\n张三、李四委员：\n"), "{text}");
        let own = render_reply(&lead).unwrap().text;
        assert!(own.contains("第228、231号提案的答复"), "{own}");
        assert!(own.contains("\n苏会兴委员：\n"), "{own}");
    }
}
