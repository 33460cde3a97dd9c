//! Golden request fingerprints. A retried request is recognised by the SHA-256 of its content
//! (`fingerprint`), and the idempotency records of every stored request keep that digest. If a
//! change to the command types altered the bytes hashed (a renamed field, a new field, another
//! order), every retry after an upgrade would be refused with REQUEST_ID_REUSED: these tests
//! fail first, and the change needs a fingerprint that still reads the old form.

use sha2::{Digest, Sha256};

use super::Submission;
use super::writer::{fingerprint, fingerprinted};
use crate::domain::{
    CalendarDate, Command, CommandKind, ContactMethod, Feedback, Opinion, ProposalId, ProposerKind,
    Registration, Reply, RequestId, ResultCode, Satisfaction,
};

const FINGERPRINTS_V1: &str = include_str!("golden/fingerprints_v1.jsonl");
const FINGERPRINTS_V2: &str = include_str!("golden/fingerprints_v2.jsonl");
const FINGERPRINTS_V3: &str = include_str!("golden/fingerprints_v3.jsonl");
const FINGERPRINTS_V4: &str = include_str!("golden/fingerprints_v4.jsonl");
const FINGERPRINTS_V5: &str = include_str!("golden/fingerprints_v5.jsonl");
const FINGERPRINTS_V6: &str = include_str!("golden/fingerprints_v6.jsonl");
const FINGERPRINTS_V7: &str = include_str!("golden/fingerprints_v7.jsonl");
const FINGERPRINTS_V8: &str = include_str!("golden/fingerprints_v8.jsonl");
const FINGERPRINTS_V9: &str = include_str!("golden/fingerprints_v9.jsonl");

/// The frozen sample of each command.
fn command(kind: CommandKind) -> Command {
    let date = |text| CalendarDate::parse(text).unwrap();
    match kind {
        CommandKind::Receive => Command::Receive(Registration {
            committee: "许昌市政协".into(),
            session: "七届三次会议".into(),
            number: 228,
            title: "关于加强我市环境保护的提案".into(),
            proposers: vec!["苏会兴".into(), "张三".into()],
            content: "建议加强我市环境保护工作。\n第二段。".into(),
            proposer_kind: ProposerKind::Member,
        }),
        CommandKind::Assign => Command::Assign {
            handling_unit: "许昌市生态环境局".into(),
            due_date: Some(date("2019-08-31")),
            co_units: Vec::new(),
            co_due_date: None,
            split_units: Vec::new(),
        },
        CommandKind::Return => Command::Return {
            reason: "不属于本单位职责".into(),
        },
        CommandKind::Draft => Command::Draft {
            reply: Reply {
                body: "现答复如下：\n一、工作开展情况".into(),
                result_code: ResultCode::B,
                contact_unit: "许昌市生态环境局综合科".into(),
                contact_phone: "6069516".into(),
            },
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
            reason: "属于个人诉求，不予立案".into(),
            forwarded_to: "市信访局".into(),
        },
        CommandKind::Acknowledge => Command::Acknowledge {
            handling_unit: String::new(),
        },
        CommandKind::Contact => Command::Contact {
            handling_unit: "许昌市生态环境局".into(),
            contact_date: Some(date("2019-07-02")),
            method: ContactMethod::Visit,
            proposers: vec!["苏会兴".into()],
            summary: "上门走访，听取意见".into(),
        },
        CommandKind::RequestExtension => Command::RequestExtension {
            handling_unit: String::new(),
            new_due_date: date("2019-10-31"),
            reason: "需会同有关部门实地调研".into(),
        },
        CommandKind::DecideExtension => Command::DecideExtension {
            handling_unit: String::new(),
            approve: false,
            note: "请按期答复".into(),
        },
        CommandKind::RequestReturn => Command::RequestReturn {
            handling_unit: "许昌市生态环境局".into(),
            reason: "不属于本单位职责".into(),
        },
        CommandKind::DecideReturn => Command::DecideReturn {
            handling_unit: String::new(),
            approve: true,
            note: "改交住建局".into(),
            reassign_to: "许昌市住房和城乡建设局".into(),
            due_date: Some(date("2019-12-31")),
        },
        CommandKind::Merge => Command::Merge {
            into_proposal_id: ProposalId::parse("0190a4e2-7c1b-7d3e-9f00-5a1b2c3d4e60").unwrap(),
            note: "内容相近，并案办理".into(),
        },
        CommandKind::Join => Command::Join {
            proposal_id: ProposalId::parse("0190a4e2-7c1b-7d3e-9f00-5a1b2c3d4e61").unwrap(),
            number: 231,
        },
        CommandKind::RecordFeedback => Command::RecordFeedback {
            feedback: Feedback {
                proposer: "苏会兴".into(),
                satisfaction: Satisfaction::BasicallySatisfied,
                attitude: Some(Satisfaction::Satisfied),
                comment: "希望加快进度".into(),
            },
        },
        CommandKind::Close => Command::Close {
            note: "办理完毕".into(),
        },
        CommandKind::SetKey => Command::SetKey {
            key: true,
            supervisor: "市政协副主席王明".into(),
            note: String::new(),
        },
        CommandKind::Reopen => Command::Reopen {
            reason: "提案人对答复不满意".into(),
            due_date: Some(date("2020-01-31")),
        },
        CommandKind::SubmitOpinion => Command::SubmitOpinion {
            handling_unit: "许昌市发展和改革委员会".into(),
            opinion: Opinion {
                body: "建议将大气污染防治资金纳入年度预算。".into(),
                document_number: String::new(),
                contact_person: "王明".into(),
                contact_phone: "2966021".into(),
            },
        },
    }
}

/// One submission of every command, with every optional part set in some of them.
fn submissions() -> Vec<Submission> {
    let id = ProposalId::parse("0190a4e2-7c1b-7d3e-9f00-5a1b2c3d4e5f");
    CommandKind::ALL
        .into_iter()
        // The commands of the first form; those added later are in `submissions_v2` and on.
        .filter(|kind| {
            !matches!(
                kind,
                CommandKind::Refuse
                    | CommandKind::Acknowledge
                    | CommandKind::Contact
                    | CommandKind::RequestExtension
                    | CommandKind::DecideExtension
                    | CommandKind::RequestReturn
                    | CommandKind::DecideReturn
                    | CommandKind::SubmitOpinion
                    | CommandKind::Merge
                    | CommandKind::Join
                    | CommandKind::RecordFeedback
                    | CommandKind::Close
                    | CommandKind::SetKey
                    | CommandKind::Reopen
            )
        })
        .enumerate()
        .map(|(i, kind)| Submission {
            proposal_id: (kind != CommandKind::Receive).then(|| id.unwrap()),
            command: command(kind),
            expected_version: (i % 2 == 1).then_some(i as u64),
            request_id: Some(RequestId::new(format!("req-{i}"))),
            actor: "提案委登记员".into(),
            effective_date: None,
            // Neither the key nor the remit is part of the content.
            unit_scope: (i % 3 == 0).then(|| "许昌市生态环境局".into()),
        })
        .collect()
}

/// What came after the first form: a refusal, a collective's registration and an effective
/// date (hashed only when given, so requests without one hash as before).
fn submissions_v2() -> Vec<Submission> {
    let mut first = submissions();
    let mut party = first.remove(0);
    if let Command::Receive(registration) = &mut party.command {
        registration.proposers = vec!["民革许昌市委员会".into()];
        registration.proposer_kind = ProposerKind::Party;
    }
    let mut dated = first.remove(0);
    dated.effective_date = CalendarDate::parse("2019-06-10");
    let refusal = Submission {
        command: Command::Refuse {
            reason: "属于个人诉求，不予立案".into(),
            forwarded_to: "市信访局".into(),
        },
        ..first.remove(0)
    };
    vec![party, dated, refusal]
}

/// The handling unit's records: receipt, contact, extension and return requests and decisions.
fn submissions_v3() -> Vec<Submission> {
    let template = submissions().remove(1);
    let on = |kind| Submission {
        command: command(kind),
        ..template.clone()
    };
    vec![
        on(CommandKind::Acknowledge),
        on(CommandKind::Contact),
        on(CommandKind::RequestExtension),
        on(CommandKind::DecideExtension),
        on(CommandKind::RequestReturn),
        on(CommandKind::DecideReturn),
    ]
}

/// Lead and co-handling: an assignment with co-units (and one with their due date left to the
/// rules), and a co-unit's opinion.
fn submissions_v4() -> Vec<Submission> {
    let template = submissions().remove(1);
    let assign = |co_due_date| Submission {
        command: Command::Assign {
            handling_unit: "许昌市生态环境局".into(),
            due_date: CalendarDate::parse("2019-08-31"),
            co_units: vec!["许昌市发展和改革委员会".into(), "许昌市财政局".into()],
            co_due_date: CalendarDate::parse(co_due_date),
            split_units: Vec::new(),
        },
        ..template.clone()
    };
    vec![
        assign("2019-07-10"),
        assign(""),
        Submission {
            command: command(CommandKind::SubmitOpinion),
            ..template.clone()
        },
    ]
}

#[test]
fn request_fingerprints_hash_the_golden_bytes() {
    golden_fingerprints(FINGERPRINTS_V1, submissions());
    golden_fingerprints(FINGERPRINTS_V2, submissions_v2());
    golden_fingerprints(FINGERPRINTS_V3, submissions_v3());
    golden_fingerprints(FINGERPRINTS_V4, submissions_v4());
    golden_fingerprints(FINGERPRINTS_V5, submissions_v5());
    golden_fingerprints(FINGERPRINTS_V6, submissions_v6());
    golden_fingerprints(FINGERPRINTS_V7, submissions_v7());
    golden_fingerprints(FINGERPRINTS_V8, submissions_v8());
    golden_fingerprints(FINGERPRINTS_V9, submissions_v9());
}

/// A merge (并案).
fn submissions_v5() -> Vec<Submission> {
    vec![Submission {
        command: command(CommandKind::Merge),
        ..submissions().remove(1)
    }]
}

/// Split handling (分办): an assignment with split units, and each command on a reply naming
/// the split unit it acts on.
fn submissions_v6() -> Vec<Submission> {
    let template = submissions().remove(1);
    let unit = || "许昌市住房和城乡建设局".to_owned();
    let split = |command| Submission {
        command,
        ..template.clone()
    };
    let named = |kind| {
        let mut on_unit = command(kind);
        match &mut on_unit {
            Command::Draft { handling_unit, .. }
            | Command::RejectDraft { handling_unit, .. }
            | Command::Sign { handling_unit, .. }
            | Command::Issue { handling_unit, .. }
            | Command::Copy { handling_unit, .. } => *handling_unit = unit(),
            _ => unreachable!("{kind:?} names no split unit"),
        }
        split(on_unit)
    };
    vec![
        split(Command::Assign {
            handling_unit: "许昌市生态环境局".into(),
            due_date: CalendarDate::parse("2019-08-31"),
            co_units: Vec::new(),
            co_due_date: None,
            split_units: vec![unit()],
        }),
        named(CommandKind::Draft),
        named(CommandKind::RejectDraft),
        named(CommandKind::Sign),
        named(CommandKind::Issue),
        named(CommandKind::Copy),
    ]
}

/// The document as issued: a sign date, a 抄送 line and `public` (each left out when not given,
/// so older requests hash as they did).
fn submissions_v7() -> Vec<Submission> {
    let template = submissions().remove(1);
    let with = |command| Submission {
        command,
        ..template.clone()
    };
    vec![
        with(Command::Sign {
            signer: "李光亚".into(),
            handling_unit: String::new(),
            sign_date: CalendarDate::parse("2019-09-26"),
        }),
        with(Command::Issue {
            document_number: "许环〔2019〕13号".into(),
            issue_date: CalendarDate::parse("2019-09-29").unwrap(),
            issuing_office: "许昌市生态环境局办公室".into(),
            handling_unit: String::new(),
            copy_to: vec!["市政协提案委".into(), "市政府督查室".into()],
            public: Some(true),
        }),
        with(Command::Issue {
            document_number: "许环〔2019〕14号".into(),
            issue_date: CalendarDate::parse("2019-09-29").unwrap(),
            issuing_office: "许昌市生态环境局办公室".into(),
            handling_unit: String::new(),
            copy_to: Vec::new(),
            public: Some(false),
        }),
    ]
}

/// After the reply: a proposer's verdict, the closing, a key designation.
fn submissions_v8() -> Vec<Submission> {
    let template = submissions().remove(1);
    [
        CommandKind::RecordFeedback,
        CommandKind::Close,
        CommandKind::SetKey,
    ]
    .into_iter()
    .map(|kind| Submission {
        command: command(kind),
        ..template.clone()
    })
    .collect()
}

/// Re-handling: a reopening with its due date given, and one left to the rules.
fn submissions_v9() -> Vec<Submission> {
    let template = submissions().remove(1);
    let given = Submission {
        command: command(CommandKind::Reopen),
        ..template.clone()
    };
    let defaulted = Submission {
        command: Command::Reopen {
            reason: "提案人对答复不满意".into(),
            due_date: None,
        },
        ..template
    };
    vec![given, defaulted]
}

fn golden_fingerprints(golden: &str, submissions: Vec<Submission>) {
    let lines: Vec<&str> = golden.lines().collect();
    assert_eq!(lines.len(), submissions.len());
    for (line, submission) in lines.iter().zip(&submissions) {
        let kind = submission.command.kind();
        assert_eq!(
            String::from_utf8(fingerprinted(submission)).unwrap(),
            *line,
            "{kind:?}: the bytes a fingerprint hashes changed"
        );
        let digest: [u8; 32] = Sha256::digest(line.as_bytes()).into();
        assert_eq!(fingerprint(submission), digest, "{kind:?}");
    }
}

/// The digests themselves, so that a change of hash function shows too.
#[test]
fn the_fingerprint_of_the_registration_is_pinned() {
    let registration = &submissions()[0];
    assert_eq!(
        crate::store::to_hex(&fingerprint(registration)),
        PINNED_REGISTRATION
    );
}

const PINNED_REGISTRATION: &str =
    "0f493434ae0b15197d0ffbe7c5eaa609abb9729e8d044e7ff78363cb5ef6db27";

#[test]
#[ignore = "writes the golden file; run only when introducing a new fingerprint form on purpose"]
fn write_golden_file() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/app/golden");
    for (name, submissions) in [
        ("fingerprints_v1.jsonl", submissions()),
        ("fingerprints_v2.jsonl", submissions_v2()),
        ("fingerprints_v3.jsonl", submissions_v3()),
        ("fingerprints_v4.jsonl", submissions_v4()),
        ("fingerprints_v5.jsonl", submissions_v5()),
        ("fingerprints_v6.jsonl", submissions_v6()),
        ("fingerprints_v7.jsonl", submissions_v7()),
        ("fingerprints_v8.jsonl", submissions_v8()),
        ("fingerprints_v9.jsonl", submissions_v9()),
    ] {
        let text: String = submissions
            .iter()
            .map(|s| String::from_utf8(fingerprinted(s)).unwrap() + "\n")
            .collect();
        // Only a missing file is written: the others pin what was fingerprinted before.
        let path = format!("{dir}/{name}");
        if std::fs::metadata(&path).map_or(true, |m| m.len() == 0) {
            std::fs::write(path, text).unwrap();
        }
    }
}
