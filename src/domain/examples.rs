//! Example values: one valid command of every kind, and proposal No. 228 standing in any state
//! with every field filled. For unit tests, the test kit and the fuzz target, which need a
//! realistic value and not a particular one; golden files keep their own, frozen values.

use super::{
    CalendarDate, Command, CommandKind, Contact, ContactMethod, Feedback, Handling, HandlingRole,
    KeyDesignation, Opinion, Proposal, ProposalId, ProposalState, ProposerKind, Refusal,
    Registration, Reply, ResultCode, Satisfaction, Timestamp,
};

/// A valid command of `kind`, with the seed's values (proposal No. 228 and its reply).
pub fn command(kind: CommandKind) -> Command {
    match kind {
        CommandKind::Receive => Command::Receive(registration()),
        CommandKind::Assign => Command::Assign {
            handling_unit: "许昌市生态环境局".into(),
            due_date: CalendarDate::parse("2019-08-31"),
            co_units: Vec::new(),
            co_due_date: None,
            split_units: Vec::new(),
        },
        CommandKind::Return => Command::Return {
            reason: "不属于本单位职责".into(),
        },
        CommandKind::Draft => Command::Draft {
            reply: reply(),
            handling_unit: String::new(),
        },
        CommandKind::RejectDraft => Command::RejectDraft {
            reason: "请补充下一步打算".into(),
            handling_unit: String::new(),
        },
        CommandKind::Sign => Command::Sign {
            signer: "李光亚".into(),
            handling_unit: String::new(),
            sign_date: None,
        },
        CommandKind::Issue => Command::Issue {
            document_number: "许环〔2019〕13号".into(),
            issue_date: date("2019-09-29"),
            issuing_office: "许昌市生态环境局办公室".into(),
            handling_unit: String::new(),
            copy_to: Vec::new(),
            public: None,
        },
        CommandKind::Copy => Command::Copy {
            recipients: vec!["市政协提案委".into(), "市政府督查室".into()],
            handling_unit: String::new(),
            proposers: Vec::new(),
        },
        CommandKind::Refuse => Command::Refuse {
            reason: "不属于提案范围，转作意见处理".into(),
            forwarded_to: "市政府办公室".into(),
        },
        CommandKind::Acknowledge => Command::Acknowledge {
            handling_unit: String::new(),
        },
        CommandKind::Contact => Command::Contact {
            handling_unit: String::new(),
            contact_date: None,
            method: ContactMethod::Phone,
            proposers: Vec::new(),
            summary: "电话联系苏会兴委员，沟通答复意见".into(),
        },
        CommandKind::RequestExtension => Command::RequestExtension {
            handling_unit: "许昌市生态环境局".into(),
            new_due_date: date("2019-10-31"),
            reason: "需会同有关部门实地调研".into(),
        },
        CommandKind::DecideExtension => Command::DecideExtension {
            handling_unit: "许昌市生态环境局".into(),
            approve: true,
            note: "同意延期至10月31日".into(),
        },
        CommandKind::RequestReturn => Command::RequestReturn {
            handling_unit: String::new(),
            reason: "不属于本单位职责，建议交市住房和城乡建设局办理".into(),
        },
        CommandKind::DecideReturn => Command::DecideReturn {
            handling_unit: String::new(),
            approve: true,
            note: "同意，改交市住房和城乡建设局".into(),
            reassign_to: "许昌市住房和城乡建设局".into(),
            due_date: None,
        },
        CommandKind::SubmitOpinion => Command::SubmitOpinion {
            handling_unit: String::new(),
            opinion: opinion(),
        },
        CommandKind::Merge => Command::Merge {
            into_proposal_id: ProposalId::from_bytes([9; 16]),
            note: "内容相近，并案办理".into(),
        },
        CommandKind::Join => Command::Join {
            proposal_id: ProposalId::from_bytes([8; 16]),
            number: 231,
        },
        CommandKind::RecordFeedback => Command::RecordFeedback {
            feedback: Feedback {
                proposer: "苏会兴".into(),
                satisfaction: Satisfaction::Satisfied,
                attitude: Some(Satisfaction::Satisfied),
                comment: "答复认真，措施具体".into(),
            },
        },
        CommandKind::Close => Command::Close {
            note: "办理完毕".into(),
        },
        CommandKind::Reopen => Command::Reopen {
            reason: "提案人对答复不满意，要求重新办理".into(),
            due_date: None,
        },
        CommandKind::SetKey => Command::SetKey {
            key: true,
            supervisor: "市政协副主席王明".into(),
            note: "列为年度重点提案".into(),
        },
    }
}

/// A proposer's verdict that lets the office reopen the proposal (重新办理).
pub fn dissatisfied() -> Command {
    Command::RecordFeedback {
        feedback: Feedback {
            proposer: "苏会兴".into(),
            satisfaction: Satisfaction::NotSatisfied,
            attitude: None,
            comment: "未解决实际问题".into(),
        },
    }
}

/// An assignment of No. 228 to the seed's unit leading, with [`CO_UNIT`] co-handling.
pub fn co_assignment() -> Command {
    Command::Assign {
        handling_unit: "许昌市生态环境局".into(),
        due_date: CalendarDate::parse("2019-08-31"),
        co_units: vec![CO_UNIT.into()],
        co_due_date: None,
        split_units: Vec::new(),
    }
}

/// An assignment of No. 228 split (分办) between the seed's unit and [`SPLIT_UNIT`], each
/// replying on its own.
pub fn split_assignment() -> Command {
    Command::Assign {
        handling_unit: "许昌市生态环境局".into(),
        due_date: CalendarDate::parse("2019-08-31"),
        co_units: Vec::new(),
        co_due_date: None,
        split_units: vec![SPLIT_UNIT.into()],
    }
}

/// The second unit of [`split_assignment`].
pub const SPLIT_UNIT: &str = "许昌市住房和城乡建设局";

/// The co-unit of [`proposal_in`] and [`co_assignment`].
pub const CO_UNIT: &str = "许昌市发展和改革委员会";

/// A co-unit's opinion to the lead.
pub fn opinion() -> Opinion {
    Opinion {
        body: "建议将大气污染防治资金纳入年度预算统筹安排。".into(),
        document_number: "许发改〔2019〕41号".into(),
        contact_person: "王明".into(),
        contact_phone: "2966021".into(),
    }
}

/// Proposal No. 228 in `state`, with every field filled (whatever the state), at version 7: led
/// by the seed's unit, with one co-unit that has sent its opinion.
pub fn proposal_in(state: ProposalState) -> Proposal {
    let issued = Some(date("2019-09-29"));
    let registration = registration();
    Proposal {
        rounds: Vec::new(),
        id: ProposalId::from_bytes([7; 16]),
        committee: registration.committee,
        session: registration.session,
        number: registration.number,
        title: registration.title,
        proposers: registration.proposers,
        proposer_kind: registration.proposer_kind,
        content: registration.content,
        state,
        handling_unit: Some("许昌市生态环境局".into()),
        due_date: issued,
        reply: Some(reply()),
        signer: Some("李光亚".into()),
        sign_date: issued,
        document_number: Some("许环〔2019〕13号".into()),
        issue_date: issued,
        issuing_office: Some("许昌市生态环境局办公室".into()),
        copy_to: vec!["市政协提案委".into(), "市政府督查室".into()],
        public: true,
        copied_to: vec!["市政协提案委".into()],
        refusal: Some(Refusal {
            reason: "不属于提案范围".into(),
            forwarded_to: "市政府办公室".into(),
        }),
        handlings: vec![
            Handling {
                first_opinion_on: None,
                unit: "许昌市生态环境局".into(),
                role: HandlingRole::Lead,
                assigned_on: Some(date("2019-06-10")),
                original_due_date: issued,
                due_date: issued,
                acknowledged_on: Some(date("2019-06-11")),
                contacts: vec![Contact {
                    contact_date: date("2019-07-02"),
                    method: ContactMethod::Meeting,
                    proposers: vec!["苏会兴".into()],
                    summary: "座谈".into(),
                }],
                extensions: Vec::new(),
                return_requests: Vec::new(),
                opinion: None,
                opinion_submitted_on: None,
                split: None,
            },
            {
                let mut co = Handling::new(
                    CO_UNIT.into(),
                    HandlingRole::Co,
                    Some(date("2019-06-10")),
                    Some(date("2019-07-10")),
                );
                co.opinion = Some(opinion());
                co.opinion_submitted_on = Some(date("2019-07-01"));
                co
            },
        ],
        merged_into: None,
        merged: Vec::new(),
        key: Some(KeyDesignation {
            supervisor: "市政协副主席王明".into(),
            note: String::new(),
            since: Some(date("2019-06-01")),
        }),
        feedback: Vec::new(),
        closure: None,
        // A history from before effective dates: any date may follow.
        last_act_date: None,
        version: 7,
        received_at: Timestamp::from_unix_nanos(1),
        updated_at: Timestamp::from_unix_nanos(7),
    }
}

fn registration() -> Registration {
    Registration {
        committee: "许昌市政协".into(),
        session: "七届三次会议".into(),
        number: 228,
        title: "关于加强我市环境保护的提案".into(),
        proposers: vec!["苏会兴".into()],
        content: "加强环境保护。".into(),
        proposer_kind: ProposerKind::Member,
    }
}

fn reply() -> Reply {
    Reply {
        body: "现答复如下：\n一、工作开展情况".into(),
        result_code: ResultCode::A,
        contact_unit: "许昌市生态环境局综合科".into(),
        contact_phone: "6069516".into(),
    }
}

fn date(text: &str) -> CalendarDate {
    CalendarDate::parse(text).expect("a valid example date")
}
