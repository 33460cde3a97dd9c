//! Random sessions through the pure core, for the statistics property test: a script of steps
//! (which proposal, which act, an argument, how many days pass) played with `decide` (and
//! `merge`) on days that never go back. Whatever the core refuses is skipped, as an office
//! clerk's mistaken request would be; every accepted act becomes the [`Change`] the writer
//! would commit.

use std::sync::Arc;

use proposal_service::domain::{
    CalendarDate, Command, CommandKind, Decision, Envelope, Feedback, Proposal, ProposalId,
    RecordedEvent, Registration, Rules, Satisfaction, Timestamp, decide, examples, merge,
};
use proposal_service::store::Change;
use proptest::prelude::*;

/// The units a script assigns to.
pub const UNITS: [&str; 3] = ["许昌市生态环境局", "许昌市教育局", "许昌市交通运输局"];
/// The first day of every script.
pub const FIRST_DAY: (i32, u8, u8) = (2024, 1, 1);
const MOST_PROPOSALS: usize = 6;

/// One step of a script: `act` 0 receives, 1 to 20 name an act (see `command`), and the rest
/// take the proposal's next usual step, so that scripts reach replies, verdicts and rounds.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    pub proposal: u8,
    pub act: u8,
    pub arg: u8,
    /// Days that pass before the act (0 to 3).
    pub days: u8,
}

/// Scripts of up to `most` steps.
pub fn scripts(most: usize) -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        (any::<u8>(), 0u8..36, any::<u8>(), 0u8..4).prop_map(|(proposal, act, arg, days)| Step {
            proposal,
            act,
            arg,
            days,
        }),
        1..most,
    )
}

/// A session played from a script: every proposal's history, and every accepted act as a
/// change, in the order the writer would have committed them.
#[derive(Default)]
pub struct Session {
    pub histories: Vec<Vec<RecordedEvent>>,
    pub current: Vec<Arc<Proposal>>,
    pub changes: Vec<Change>,
    /// The days acts happened on, in order (with repeats).
    pub days: Vec<CalendarDate>,
    position: u64,
}

impl Session {
    pub fn play(script: &[Step]) -> Self {
        let (year, month, day) = FIRST_DAY;
        let mut today = CalendarDate::from_ymd(year, month, day).unwrap();
        let mut session = Self::default();
        for step in script {
            today = today.plus_days(u32::from(step.days));
            session.act(step, today);
        }
        session
    }

    fn envelope(&self, proposal_id: ProposalId, day: CalendarDate) -> Envelope {
        Envelope {
            proposal_id,
            position: self.position + 1,
            // 2030-01-01T00:00Z and on: after every day a script reaches.
            occurred_at: Timestamp::from_unix_nanos(
                1_893_456_000_000_000_000 + self.position as i64,
            ),
            effective_date: Some(day),
            actor: "tester".into(),
            request_id: None,
        }
    }

    fn record(&mut self, index: Option<usize>, decision: Decision) {
        let Decision { event, after } = decision;
        self.position = event.position;
        self.days
            .push(event.effective_date.expect("every act is dated"));
        let after = Arc::new(after);
        let before = match index {
            Some(i) => {
                self.histories[i].push(event.clone());
                Some(std::mem::replace(&mut self.current[i], Arc::clone(&after)))
            }
            None => {
                self.histories.push(vec![event.clone()]);
                self.current.push(Arc::clone(&after));
                None
            }
        };
        self.changes.push(Change {
            before,
            after,
            events: vec![event],
            request: None,
        });
    }

    fn act(&mut self, step: &Step, day: CalendarDate) {
        let rules = Rules::default();
        if step.act == 0 || self.current.is_empty() {
            if self.current.len() < MOST_PROPOSALS {
                let number = self.current.len() as u32 + 1;
                let id = ProposalId::from_bytes([number as u8; 16]);
                let command = Command::Receive(registration(number));
                if let Ok(decision) = decide(None, &command, self.envelope(id, day), &rules) {
                    self.record(None, decision);
                }
            }
            return;
        }
        let index = usize::from(step.proposal) % self.current.len();
        let p = Arc::clone(&self.current[index]);
        if step.act == 14 {
            let into = usize::from(step.arg) % self.current.len();
            let command = Command::Merge {
                into_proposal_id: self.current[into].id,
                note: "内容相近，并案办理".into(),
            };
            let target = Arc::clone(&self.current[into]);
            if let Ok([first, second]) = merge(
                Some(&p),
                &target,
                &command,
                self.envelope(p.id, day),
                &rules,
            ) {
                self.record(Some(index), first);
                self.record(Some(into), second);
            }
            return;
        }
        let command = command(&p, step, day);
        if let Ok(decision) = decide(Some(&p), &command, self.envelope(p.id, day), &rules) {
            self.record(Some(index), decision);
        }
    }
}

fn registration(number: u32) -> Registration {
    let Command::Receive(registration) = examples::command(CommandKind::Receive) else {
        unreachable!("a Receive example")
    };
    Registration {
        number,
        proposers: vec!["苏会兴".into(), "王明".into()],
        ..registration
    }
}

/// A replying unit of `p` chosen by `arg` (its name, for a split proposal; else empty: the
/// one replying unit).
fn replying_unit(p: &Proposal, arg: u8) -> String {
    if !p.is_split() {
        return String::new();
    }
    named_unit(p, arg, |h| h.replies())
}

fn named_unit(
    p: &Proposal,
    arg: u8,
    which: impl Fn(&proposal_service::domain::Handling) -> bool,
) -> String {
    let units: Vec<&str> = p
        .handlings
        .iter()
        .filter(|h| which(h))
        .map(|h| h.unit.as_str())
        .collect();
    if units.is_empty() {
        return String::new();
    }
    units[usize::from(arg) % units.len()].to_owned()
}

/// The act that usually comes next for `p` (a co-unit's opinion before the lead drafts; after
/// the dispatch a verdict, a reopening, a closing or a key designation).
fn next_usual_act(p: &Proposal, arg: u8) -> u8 {
    use proposal_service::domain::ProposalState as S;
    let state = if p.is_split() {
        p.handling(&replying_unit(p, arg))
            .and_then(|h| h.split.as_deref())
            .map_or(p.state, |part| part.state)
    } else {
        p.state
    };
    match state {
        S::Received => [1, 1, 2, 3, 10][usize::from(arg) % 5],
        S::Assigned if p.pending_opinions().next().is_some() => 13,
        S::Assigned => [5, 5, 5, 11, 12, 17][usize::from(arg) % 6],
        S::Drafted => [7, 7, 7, 6][usize::from(arg) % 4],
        S::Signed => 8,
        S::Issued => 9,
        S::Copied => [15, 15, 15, 18, 18, 16, 17][usize::from(arg) % 7],
        S::NotAccepted | S::Merged | S::Closed => 17,
    }
}

fn command(p: &Proposal, step: &Step, day: CalendarDate) -> Command {
    let arg = step.arg;
    let due = Some(day.plus_days(u32::from(arg % 90)));
    let assign = |co_units: Vec<String>, split_units: Vec<String>| Command::Assign {
        handling_unit: UNITS[usize::from(arg) % UNITS.len()].into(),
        due_date: due,
        co_due_date: (!co_units.is_empty() && arg.is_multiple_of(2))
            .then(|| day.plus_days(u32::from(arg % 20))),
        co_units,
        split_units,
    };
    let other = |offset: usize| UNITS[(usize::from(arg) + offset) % UNITS.len()].to_owned();
    let act = match step.act {
        1..=20 => step.act,
        _ => next_usual_act(p, arg),
    };
    match act {
        1 => assign(Vec::new(), Vec::new()),
        2 => assign(vec![other(1)], Vec::new()),
        3 => assign(Vec::new(), vec![other(2)]),
        4 => Command::Return {
            reason: "不属于本单位职责".into(),
        },
        5 => Command::Draft {
            reply: examples::proposal_in(proposal_service::domain::ProposalState::Issued)
                .reply
                .map(|mut reply| {
                    reply.result_code =
                        proposal_service::domain::ResultCode::ALL[usize::from(arg) % 3];
                    reply
                })
                .expect("an issued example has a reply"),
            handling_unit: replying_unit(p, arg),
        },
        6 => Command::RejectDraft {
            reason: "请补充下一步打算".into(),
            handling_unit: replying_unit(p, arg),
        },
        7 => Command::Sign {
            signer: "李光亚".into(),
            handling_unit: replying_unit(p, arg),
            sign_date: None,
        },
        8 => Command::Issue {
            document_number: format!("许环〔2024〕{}-{}号", p.number, p.version),
            issue_date: day,
            issuing_office: "许昌市生态环境局办公室".into(),
            handling_unit: replying_unit(p, arg),
            copy_to: Vec::new(),
            public: None,
        },
        9 => Command::Copy {
            recipients: vec!["市政协提案委".into()],
            handling_unit: replying_unit(p, arg),
            proposers: Vec::new(),
        },
        10 => Command::Refuse {
            reason: "不属于提案范围".into(),
            forwarded_to: "市政府办公室".into(),
        },
        11 => Command::RequestExtension {
            handling_unit: named_unit(p, arg, |h| h.replies()),
            new_due_date: p
                .handling(&named_unit(p, arg, |h| h.replies()))
                .and_then(|h| h.due_date)
                .unwrap_or(day)
                .plus_days(u32::from(arg % 30) + 1),
            reason: "需实地调研".into(),
        },
        12 => Command::DecideExtension {
            handling_unit: named_unit(p, arg, |h| h.pending_extension().is_some()),
            approve: !arg.is_multiple_of(3),
            note: "已研究".into(),
        },
        13 => Command::SubmitOpinion {
            handling_unit: named_unit(p, arg, |h| !h.replies()),
            opinion: examples::opinion(),
        },
        15 => Command::RecordFeedback {
            feedback: Feedback {
                proposer: p.proposers[usize::from(arg) % p.proposers.len()].clone(),
                satisfaction: Satisfaction::ALL[usize::from(arg / 2) % 3],
                attitude: None,
                comment: String::new(),
            },
        },
        16 => Command::Close {
            note: "办理完毕".into(),
        },
        17 => Command::SetKey {
            key: !arg.is_multiple_of(3),
            supervisor: String::new(),
            note: String::new(),
        },
        18 => Command::Reopen {
            reason: "提案人不满意".into(),
            due_date: (arg.is_multiple_of(2)).then(|| day.plus_days(u32::from(arg % 50))),
        },
        19 => Command::RequestReturn {
            handling_unit: named_unit(p, arg, |h| h.replies()),
            reason: "不属于本单位职责".into(),
        },
        _ => Command::DecideReturn {
            handling_unit: named_unit(p, arg, |h| h.pending_return().is_some()),
            approve: arg.is_multiple_of(2),
            note: "同意".into(),
            reassign_to: if arg.is_multiple_of(4) {
                other(1)
            } else {
                String::new()
            },
            due_date: None,
        },
    }
}
