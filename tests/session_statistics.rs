mod common;

// A whole session over gRPC, black box: thirty proposals driven through every path the
// office knows (refused, merged, split, lead with a co-unit, an extension, late replies, a
// dissatisfied proposer reopened and then satisfied, closings, key proposals, some still
// open), their acts dated over months as the offices did them. Then GetStatistics as of four
// days, the totals and the rows by unit, must equal the figures this test works out from its
// own script: only acts dated on or before the day count.
//
// The script below is the only source of the expected figures: `expected` reads the plan, not
// the service, and shares no code with it.

use std::collections::{BTreeMap, HashMap};

use common::TestServer;
use common::server::Client;
use proposal_service::pb;

const COMMITTEE: &str = "许昌市政协";
const SESSION: &str = "八届一次会议";
const ACTOR: &str = "提案委";

const ECO: &str = "许昌市生态环境局";
const EDU: &str = "许昌市教育局";
const HOUSING: &str = "许昌市住房和城乡建设局";
const FINANCE: &str = "许昌市财政局";
const TRANSPORT: &str = "许昌市交通运输局";

/// One act of the script. Each reply is drafted, signed, issued (its issue date the act's day)
/// and copied on its day.
#[derive(Clone, Debug)]
enum Act {
    Receive,
    Refuse,
    /// Merged into proposal No. `into`.
    Merge {
        into: u32,
    },
    Assign {
        unit: &'static str,
        due: &'static str,
    },
    AssignCo {
        lead: &'static str,
        co: &'static str,
        due: &'static str,
        co_due: &'static str,
    },
    AssignSplit {
        units: [&'static str; 2],
        due: &'static str,
    },
    Opinion {
        unit: &'static str,
    },
    /// Requested and approved on the day.
    Extend {
        new_due: &'static str,
    },
    /// `unit` only on a split proposal; `code` the result code.
    Reply {
        unit: Option<&'static str>,
        code: pb::ResultCode,
    },
    Feedback {
        proposer: &'static str,
        satisfaction: pb::Satisfaction,
    },
    Reopen {
        due: &'static str,
    },
    Close,
    Key,
}

/// One proposal's plan: its number, proposers and dated acts, in order.
struct Plan {
    number: u32,
    proposers: Vec<&'static str>,
    acts: Vec<(&'static str, Act)>,
}

fn plan(number: u32, acts: Vec<(&'static str, Act)>) -> Plan {
    Plan {
        number,
        proposers: vec![proposer_of(number)],
        acts,
    }
}

fn proposer_of(number: u32) -> &'static str {
    const NAMES: [&str; 31] = [
        "",
        "委员甲",
        "委员乙",
        "委员丙",
        "委员丁",
        "委员戊",
        "委员己",
        "委员庚",
        "委员辛",
        "委员壬",
        "委员癸",
        "委员子",
        "委员丑",
        "委员寅",
        "委员卯",
        "委员辰",
        "委员巳",
        "委员午",
        "委员未",
        "委员申",
        "委员酉",
        "委员戌",
        "委员亥",
        "委员天",
        "委员地",
        "委员玄",
        "委员黄",
        "委员宇",
        "委员宙",
        "委员洪",
        "委员荒",
    ];
    NAMES[number as usize]
}

const DUE: &str = "2020-05-01";

/// The session: thirty proposals, received in January 2020 (one in March) and handled into
/// the summer.
fn script() -> Vec<Plan> {
    use Act::*;
    use pb::ResultCode::{A, B, C};
    use pb::Satisfaction::{BasicallySatisfied as Basic, NotSatisfied as Not, Satisfied as Good};
    let rec = ("2020-01-10", Receive);
    let assign = |unit| ("2020-02-01", Assign { unit, due: DUE });
    let reply = |day, code| (day, Reply { unit: None, code });
    let verdict = |day, proposer, satisfaction| {
        (
            day,
            Feedback {
                proposer,
                satisfaction,
            },
        )
    };
    let on_time = |unit, day, code| vec![rec.clone(), assign(unit), reply(day, code)];
    let p = proposer_of;
    vec![
        // Replied on time, most rated, some closed, two key proposals.
        plan(1, {
            let mut acts = on_time(ECO, "2020-03-15", A);
            acts.insert(2, ("2020-02-10", Key));
            acts.extend([verdict("2020-03-25", p(1), Good), ("2020-04-01", Close)]);
            acts
        }),
        plan(2, {
            let mut acts = on_time(EDU, "2020-04-01", B);
            acts.insert(1, ("2020-01-20", Key));
            acts.push(verdict("2020-04-15", p(2), Basic));
            acts
        }),
        plan(3, {
            let mut acts = on_time(HOUSING, "2020-04-10", A);
            acts.extend([verdict("2020-05-10", p(3), Good), ("2020-06-01", Close)]);
            acts
        }),
        plan(4, {
            let mut acts = on_time(ECO, "2020-04-20", C);
            acts.push(verdict("2020-05-05", p(4), Not));
            acts
        }),
        plan(5, {
            let mut acts = on_time(TRANSPORT, "2020-04-30", B);
            acts.push(verdict("2020-05-15", p(5), Good));
            acts
        }),
        // On the due date itself: on time.
        plan(6, on_time(EDU, DUE, A)),
        // Late replies.
        plan(7, {
            let mut acts = on_time(ECO, "2020-05-20", B);
            acts.push(verdict("2020-06-01", p(7), Basic));
            acts
        }),
        plan(8, on_time(HOUSING, "2020-06-10", A)),
        plan(9, {
            let mut acts = on_time(FINANCE, "2020-07-01", C);
            acts.insert(1, ("2020-03-01", Key));
            acts
        }),
        // Refused (不予立案).
        plan(10, vec![rec.clone(), ("2020-01-15", Refuse)]),
        plan(11, vec![rec.clone(), ("2020-01-15", Refuse)]),
        plan(12, vec![rec.clone(), ("2020-02-05", Refuse)]),
        // Merged (并案) into Nos. 1 and 2, which answer them.
        plan(13, vec![rec.clone(), ("2020-01-25", Merge { into: 1 })]),
        plan(14, vec![rec.clone(), ("2020-01-25", Merge { into: 2 })]),
        // Split (分办): on time once both units replied; the second late.
        plan(
            15,
            vec![
                rec.clone(),
                (
                    "2020-02-01",
                    AssignSplit {
                        units: [ECO, EDU],
                        due: DUE,
                    },
                ),
                (
                    "2020-04-01",
                    Reply {
                        unit: Some(ECO),
                        code: A,
                    },
                ),
                (
                    "2020-04-25",
                    Reply {
                        unit: Some(EDU),
                        code: B,
                    },
                ),
            ],
        ),
        plan(
            16,
            vec![
                rec.clone(),
                (
                    "2020-02-01",
                    AssignSplit {
                        units: [HOUSING, FINANCE],
                        due: DUE,
                    },
                ),
                (
                    "2020-04-15",
                    Reply {
                        unit: Some(HOUSING),
                        code: A,
                    },
                ),
                (
                    "2020-05-15",
                    Reply {
                        unit: Some(FINANCE),
                        code: C,
                    },
                ),
                verdict("2020-06-01", p(16), Good),
            ],
        ),
        // A lead unit and a co-unit (主办/会办): an opinion on time, one late, a late reply.
        plan(17, lead_and_co(ECO, EDU, "2020-02-20", "2020-04-01", A)),
        plan(
            18,
            lead_and_co(HOUSING, FINANCE, "2020-03-10", "2020-04-20", B),
        ),
        plan(
            19,
            lead_and_co(TRANSPORT, ECO, "2020-02-25", "2020-06-20", B),
        ),
        // Extensions: replied within the extended date, and after it.
        plan(
            20,
            vec![
                rec.clone(),
                assign(EDU),
                (
                    "2020-04-20",
                    Extend {
                        new_due: "2020-06-30",
                    },
                ),
                reply("2020-06-15", A),
            ],
        ),
        plan(
            21,
            vec![
                rec.clone(),
                assign(FINANCE),
                (
                    "2020-04-25",
                    Extend {
                        new_due: "2020-06-01",
                    },
                ),
                reply("2020-06-20", B),
            ],
        ),
        // Not satisfied, reopened (重新办理), replied again, satisfied, closed.
        plan(
            22,
            vec![
                rec.clone(),
                assign(ECO),
                reply("2020-03-20", C),
                verdict("2020-04-01", p(22), Not),
                ("2020-04-05", Reopen { due: "2020-06-05" }),
                reply("2020-05-20", B),
                verdict("2020-06-01", p(22), Good),
                ("2020-06-10", Close),
            ],
        ),
        // Reopened, and the second reply late for its own due date.
        plan(
            23,
            vec![
                rec.clone(),
                assign(HOUSING),
                reply("2020-04-10", C),
                verdict("2020-04-20", p(23), Not),
                ("2020-04-25", Reopen { due: "2020-05-25" }),
                reply("2020-07-01", A),
                verdict("2020-07-10", p(23), Basic),
                ("2020-07-15", Close),
            ],
        ),
        // Still open: overdue from their due dates on.
        plan(24, vec![rec.clone(), assign(EDU), ("2020-02-15", Key)]),
        plan(
            25,
            vec![
                rec.clone(),
                (
                    "2020-02-01",
                    Assign {
                        unit: TRANSPORT,
                        due: "2020-08-31",
                    },
                ),
            ],
        ),
        plan(
            26,
            vec![
                rec.clone(),
                (
                    "2020-02-01",
                    AssignCo {
                        lead: FINANCE,
                        co: HOUSING,
                        due: DUE,
                        co_due: "2020-03-01",
                    },
                ),
            ],
        ),
        // Received late, never reviewed.
        plan(27, vec![("2020-03-01", Receive)]),
        // Early replies.
        plan(28, {
            let mut acts = on_time(FINANCE, "2020-03-01", A);
            acts.extend([verdict("2020-03-10", p(28), Good), ("2020-03-20", Close)]);
            acts
        }),
        plan(29, {
            let mut acts = on_time(TRANSPORT, "2020-04-25", A);
            acts.push(verdict("2020-05-01", p(29), Basic));
            acts
        }),
        // Two proposers, each with a verdict.
        Plan {
            number: 30,
            proposers: vec!["张三", "李四"],
            acts: vec![
                rec.clone(),
                assign(HOUSING),
                reply("2020-02-20", B),
                verdict("2020-03-01", "张三", Not),
                verdict("2020-03-05", "李四", Good),
            ],
        },
    ]
}

fn lead_and_co(
    lead: &'static str,
    co: &'static str,
    opinion: &'static str,
    replied: &'static str,
    code: pb::ResultCode,
) -> Vec<(&'static str, Act)> {
    vec![
        ("2020-01-10", Act::Receive),
        (
            "2020-02-01",
            Act::AssignCo {
                lead,
                co,
                due: DUE,
                co_due: "2020-03-01",
            },
        ),
        (opinion, Act::Opinion { unit: co }),
        (replied, Act::Reply { unit: None, code }),
    ]
}

// ----- What the script says, as of a day --------------------------------------------------

/// The figures the test expects, from the script alone.
#[derive(Debug, Default, PartialEq)]
struct Figures {
    received: u32,
    accepted: u32,
    not_accepted: u32,
    merged: u32,
    assigned: u32,
    replied: u32,
    replied_on_time: u32,
    overdue: u32,
    result_codes: BTreeMap<i32, u32>,
    satisfied: u32,
    basically_satisfied: u32,
    not_satisfied: u32,
    reopened: u32,
    closed: u32,
    key_proposals: u32,
    key_replied: u32,
}

/// What the plans' acts dated on or before `day` make of the session.
fn expected(plans: &[Plan], day: &str) -> Figures {
    let mut f = Figures::default();
    for plan in plans {
        let mut acts: Vec<&(&str, Act)> = plan.acts.iter().filter(|(d, _)| *d <= day).collect();
        acts.sort_by_key(|(d, _)| *d);
        if acts.is_empty() {
            continue;
        }
        f.received += 1;
        let has = |pred: &dyn Fn(&Act) -> bool| acts.iter().any(|(_, a)| pred(a));
        // A key proposal whatever its state.
        let key = has(&|a| matches!(a, Act::Key));
        f.key_proposals += u32::from(key);
        if has(&|a| matches!(a, Act::Refuse)) {
            f.not_accepted += 1;
            continue;
        }
        if has(&|a| matches!(a, Act::Merge { .. })) {
            f.merged += 1;
            continue;
        }
        // The replying units and their first due dates.
        let mut units: Vec<(&str, &str)> = Vec::new();
        for (_, act) in &acts {
            match act {
                Act::Assign { unit, due } => units.push((unit, due)),
                Act::AssignCo { lead, due, .. } => units.push((lead, due)),
                Act::AssignSplit { units: both, due } => {
                    units.extend(both.iter().map(|u| (*u, *due)))
                }
                _ => {}
            }
        }
        if units.is_empty() {
            continue;
        }
        f.accepted += 1;
        f.assigned += 1;
        let unit_of = |unit: &Option<&'static str>| unit.unwrap_or(units[0].0);
        // Round by round: the due date in force, the replies issued in it.
        let mut round_due: HashMap<&str, &str> = units.iter().copied().collect();
        let mut first_round = true;
        let mut first_replies: HashMap<&str, bool> = HashMap::new(); // unit -> on time
        let mut issued_this_round: HashMap<&str, &str> = HashMap::new();
        let mut latest_code: HashMap<&str, pb::ResultCode> = HashMap::new();
        let mut verdicts: HashMap<&str, pb::Satisfaction> = HashMap::new();
        for (date, act) in &acts {
            match act {
                Act::Extend { new_due } => {
                    for due in round_due.values_mut() {
                        *due = new_due;
                    }
                }
                Act::Reply { unit, code } => {
                    let unit = unit_of(unit);
                    if first_round {
                        first_replies.insert(unit, *date <= round_due[unit]);
                    }
                    issued_this_round.insert(unit, date);
                    latest_code.insert(unit, *code);
                }
                Act::Reopen { due } => {
                    first_round = false;
                    issued_this_round.clear();
                    for d in round_due.values_mut() {
                        *d = due;
                    }
                    f.reopened += 1;
                }
                Act::Feedback {
                    proposer,
                    satisfaction,
                } => {
                    verdicts.insert(proposer, *satisfaction);
                }
                _ => {}
            }
        }
        let replied = units.iter().all(|(u, _)| first_replies.contains_key(u));
        if replied {
            f.replied += 1;
            if first_replies.values().all(|on_time| *on_time) {
                f.replied_on_time += 1;
            }
        }
        let closed = has(&|a| matches!(a, Act::Close));
        let overdue = !closed
            && units
                .iter()
                .any(|(u, _)| round_due[u] < day && !issued_this_round.contains_key(u));
        f.overdue += u32::from(overdue);
        for code in latest_code.values() {
            *f.result_codes.entry(*code as i32).or_default() += 1;
        }
        for satisfaction in verdicts.values() {
            match satisfaction {
                pb::Satisfaction::Satisfied => f.satisfied += 1,
                pb::Satisfaction::BasicallySatisfied => f.basically_satisfied += 1,
                pb::Satisfaction::NotSatisfied => f.not_satisfied += 1,
                pb::Satisfaction::Unspecified => unreachable!(),
            }
        }
        f.closed += u32::from(closed);
        f.key_replied += u32::from(key && replied);
    }
    f
}

/// One unit's row as the script makes it: its handlings by role, its replies, and a co-unit's
/// opinions.
#[derive(Debug, Default, PartialEq)]
struct Row {
    sole: u32,
    lead: u32,
    split: u32,
    co: u32,
    replied: u32,
    replied_on_time: u32,
    overdue: u32,
    opinions_submitted: u32,
    opinions_on_time: u32,
}

/// The rows by unit on `day`, from the script alone.
fn expected_rows(plans: &[Plan], day: &str) -> BTreeMap<&'static str, Row> {
    let mut rows: BTreeMap<&'static str, Row> = BTreeMap::new();
    for plan in plans {
        let mut acts: Vec<&(&str, Act)> = plan.acts.iter().filter(|(d, _)| *d <= day).collect();
        acts.sort_by_key(|(d, _)| *d);
        let closed = acts.iter().any(|(_, a)| matches!(a, Act::Close));
        // Each replying unit: its due date in force, its first-round reply (on time or not),
        // and whether the current round's reply is issued.
        let mut replying: Vec<(&'static str, &str, Option<bool>, bool)> = Vec::new();
        let mut first_round = true;
        for (date, act) in &acts {
            match act {
                Act::Assign { unit, due } => {
                    rows.entry(unit).or_default().sole += 1;
                    replying.push((unit, due, None, false));
                }
                Act::AssignCo {
                    lead,
                    co,
                    due,
                    co_due,
                } => {
                    rows.entry(lead).or_default().lead += 1;
                    replying.push((lead, due, None, false));
                    let row = rows.entry(co).or_default();
                    row.co += 1;
                    // Its opinion, if given by the day.
                    if let Some((given, _)) = acts
                        .iter()
                        .find(|(_, a)| matches!(a, Act::Opinion { unit } if unit == co))
                    {
                        row.opinions_submitted += 1;
                        row.opinions_on_time += u32::from(given <= co_due);
                    }
                }
                Act::AssignSplit { units, due } => {
                    for unit in units {
                        rows.entry(unit).or_default().split += 1;
                        replying.push((unit, due, None, false));
                    }
                }
                Act::Extend { new_due } => {
                    for r in &mut replying {
                        r.1 = new_due;
                    }
                }
                Act::Reply { unit, .. } => {
                    let r = match unit {
                        Some(unit) => replying.iter_mut().find(|r| r.0 == *unit).unwrap(),
                        None => &mut replying[0],
                    };
                    if first_round {
                        r.2 = Some(*date <= r.1);
                    }
                    r.3 = true;
                }
                Act::Reopen { due } => {
                    first_round = false;
                    for r in &mut replying {
                        r.1 = due;
                        r.3 = false;
                    }
                }
                _ => {}
            }
        }
        for (unit, due, first, issued) in replying {
            let row = rows.entry(unit).or_default();
            if let Some(on_time) = first {
                row.replied += 1;
                row.replied_on_time += u32::from(on_time);
            }
            row.overdue += u32::from(!closed && due < day && !issued);
        }
    }
    rows
}

fn row_of(u: &pb::UnitStatistics) -> Row {
    Row {
        sole: u.sole,
        lead: u.lead,
        split: u.split,
        co: u.co,
        replied: u.replied,
        replied_on_time: u.replied_on_time,
        overdue: u.overdue,
        opinions_submitted: u.opinions_submitted,
        opinions_on_time: u.opinions_on_time,
    }
}

fn figures_of(s: &pb::Statistics) -> Figures {
    Figures {
        received: s.received,
        accepted: s.accepted,
        not_accepted: s.not_accepted,
        merged: s.merged,
        assigned: s.assigned,
        replied: s.replied,
        replied_on_time: s.replied_on_time,
        overdue: s.overdue,
        result_codes: s.result_codes.iter().map(|c| (c.code, c.count)).collect(),
        satisfied: s.satisfied,
        basically_satisfied: s.basically_satisfied,
        not_satisfied: s.not_satisfied,
        reopened: s.reopened,
        closed: s.closed,
        key_proposals: s.key_proposals,
        key_replied: s.key_replied,
    }
}

// ----- Driving the script over gRPC -------------------------------------------------------

struct Office {
    client: Client,
    ids: HashMap<u32, String>,
    documents: u32,
}

impl Office {
    async fn act(&mut self, plan: &Plan, day: &str, act: &Act) {
        let n = plan.number;
        let id = || self.ids[&n].clone();
        let day = day.to_owned();
        let mut c = self.client.clone();
        let what = format!("No. {n} on {day}: {act:?}");
        match act {
            Act::Receive => {
                let p = c
                    .receive_proposal(pb::ReceiveProposalRequest {
                        committee: COMMITTEE.into(),
                        session: SESSION.into(),
                        number: n,
                        title: format!("关于第{n}件事的提案"),
                        proposers: plan.proposers.iter().map(|s| (*s).to_owned()).collect(),
                        content: "建议如下。".into(),
                        actor: ACTOR.into(),
                        effective_date: day,
                        ..Default::default()
                    })
                    .await
                    .unwrap_or_else(|s| panic!("{what}: {s:?}"))
                    .into_inner()
                    .proposal
                    .unwrap();
                self.ids.insert(n, p.id);
            }
            Act::Refuse => ok(
                &what,
                c.refuse_proposal(pb::RefuseProposalRequest {
                    proposal_id: id(),
                    reason: "属于个人诉求".into(),
                    actor: ACTOR.into(),
                    effective_date: day,
                    ..Default::default()
                })
                .await,
            ),
            Act::Merge { into } => ok(
                &what,
                c.merge_proposal(pb::MergeProposalRequest {
                    proposal_id: id(),
                    into_proposal_id: self.ids[into].clone(),
                    note: "内容相近".into(),
                    actor: ACTOR.into(),
                    effective_date: day,
                    ..Default::default()
                })
                .await,
            ),
            Act::Assign { unit, due } => ok(
                &what,
                c.assign_proposal(pb::AssignProposalRequest {
                    proposal_id: id(),
                    handling_unit: (*unit).into(),
                    due_date: (*due).into(),
                    actor: ACTOR.into(),
                    effective_date: day,
                    ..Default::default()
                })
                .await,
            ),
            Act::AssignCo {
                lead,
                co,
                due,
                co_due,
            } => ok(
                &what,
                c.assign_proposal(pb::AssignProposalRequest {
                    proposal_id: id(),
                    handling_unit: (*lead).into(),
                    due_date: (*due).into(),
                    co_units: vec![(*co).into()],
                    co_due_date: (*co_due).into(),
                    actor: ACTOR.into(),
                    effective_date: day,
                    ..Default::default()
                })
                .await,
            ),
            Act::AssignSplit { units, due } => ok(
                &what,
                c.assign_proposal(pb::AssignProposalRequest {
                    proposal_id: id(),
                    handling_unit: units[0].into(),
                    split_units: vec![units[1].into()],
                    due_date: (*due).into(),
                    actor: ACTOR.into(),
                    effective_date: day,
                    ..Default::default()
                })
                .await,
            ),
            Act::Opinion { unit } => ok(
                &what,
                c.submit_opinion(pb::SubmitOpinionRequest {
                    proposal_id: id(),
                    handling_unit: (*unit).into(),
                    body: "同意主办单位意见。".into(),
                    contact_person: "王明".into(),
                    contact_phone: "2966021".into(),
                    actor: ACTOR.into(),
                    effective_date: day,
                    ..Default::default()
                })
                .await,
            ),
            Act::Extend { new_due } => {
                ok(
                    &what,
                    c.request_extension(pb::RequestExtensionRequest {
                        proposal_id: id(),
                        new_due_date: (*new_due).into(),
                        reason: "需要调研".into(),
                        actor: ACTOR.into(),
                        effective_date: day.clone(),
                        ..Default::default()
                    })
                    .await,
                );
                ok(
                    &what,
                    c.decide_extension(pb::DecideExtensionRequest {
                        proposal_id: id(),
                        approve: true,
                        actor: ACTOR.into(),
                        effective_date: day,
                        ..Default::default()
                    })
                    .await,
                );
            }
            Act::Reply { unit, code } => {
                let unit = unit.unwrap_or_default().to_owned();
                self.documents += 1;
                let number = format!("许政提〔2020〕{}号", self.documents);
                ok(
                    &what,
                    c.draft_reply(pb::DraftReplyRequest {
                        proposal_id: id(),
                        reply: Some(pb::Reply {
                            body: "现答复如下。".into(),
                            result_code: *code as i32,
                            contact_unit: "办公室".into(),
                            contact_phone: "2966000".into(),
                        }),
                        handling_unit: unit.clone(),
                        actor: ACTOR.into(),
                        effective_date: day.clone(),
                        ..Default::default()
                    })
                    .await,
                );
                ok(
                    &what,
                    c.sign_reply(pb::SignReplyRequest {
                        proposal_id: id(),
                        signer: "李光亚".into(),
                        handling_unit: unit.clone(),
                        actor: ACTOR.into(),
                        effective_date: day.clone(),
                        ..Default::default()
                    })
                    .await,
                );
                ok(
                    &what,
                    c.issue_reply(pb::IssueReplyRequest {
                        proposal_id: id(),
                        document_number: number,
                        issue_date: day.clone(),
                        issuing_office: "办公室".into(),
                        handling_unit: unit.clone(),
                        actor: ACTOR.into(),
                        effective_date: day.clone(),
                        ..Default::default()
                    })
                    .await,
                );
                ok(
                    &what,
                    c.copy_reply(pb::CopyReplyRequest {
                        proposal_id: id(),
                        recipients: vec!["市政协提案委".into()],
                        handling_unit: unit,
                        actor: ACTOR.into(),
                        effective_date: day,
                        ..Default::default()
                    })
                    .await,
                );
            }
            Act::Feedback {
                proposer,
                satisfaction,
            } => ok(
                &what,
                c.record_feedback(pb::RecordFeedbackRequest {
                    proposal_id: id(),
                    proposer: (*proposer).into(),
                    satisfaction: *satisfaction as i32,
                    actor: ACTOR.into(),
                    effective_date: day,
                    ..Default::default()
                })
                .await,
            ),
            Act::Reopen { due } => ok(
                &what,
                c.reopen_proposal(pb::ReopenProposalRequest {
                    proposal_id: id(),
                    reason: "提案人不满意".into(),
                    due_date: (*due).into(),
                    actor: ACTOR.into(),
                    effective_date: day,
                    ..Default::default()
                })
                .await,
            ),
            Act::Close => ok(
                &what,
                c.close_proposal(pb::CloseProposalRequest {
                    proposal_id: id(),
                    actor: ACTOR.into(),
                    effective_date: day,
                    ..Default::default()
                })
                .await,
            ),
            Act::Key => ok(
                &what,
                c.set_key_proposal(pb::SetKeyProposalRequest {
                    proposal_id: id(),
                    key: true,
                    supervisor: "市政协副主席王明".into(),
                    actor: ACTOR.into(),
                    effective_date: day,
                    ..Default::default()
                })
                .await,
            ),
        }
    }
}

/// An act that must succeed.
fn ok<T>(what: &str, result: Result<T, tonic::Status>) {
    if let Err(status) = result {
        panic!("{what}: {status:?}");
    }
}

async fn statistics(client: &Client, as_of: &str) -> pb::GetStatisticsResponse {
    client
        .clone()
        .get_statistics(pb::GetStatisticsRequest {
            committee: COMMITTEE.into(),
            session: SESSION.into(),
            as_of: as_of.into(),
            by_unit: true,
        })
        .await
        .unwrap_or_else(|s| panic!("statistics as of {as_of}: {s:?}"))
        .into_inner()
}

#[tokio::test]
async fn a_sessions_statistics_as_of_any_day_are_what_its_acts_by_that_day_make_them() {
    let server = TestServer::start().await;
    let plans = script();
    assert_eq!(plans.len(), 30);
    // Every act in the order of its day (a merge's two proposals see it in between).
    let mut acts: Vec<(&str, usize, &Act)> = plans
        .iter()
        .enumerate()
        .flat_map(|(i, plan)| plan.acts.iter().map(move |(day, act)| (*day, i, act)))
        .collect();
    acts.sort_by_key(|(day, _, _)| *day);
    let mut office = Office {
        client: server.client.clone(),
        ids: HashMap::new(),
        documents: 0,
    };
    for (day, i, act) in acts {
        office.act(&plans[i], day, act).await;
    }

    for day in ["2020-01-31", "2020-04-15", "2020-06-15", "2020-12-31"] {
        let want = expected(&plans, day);
        let got = statistics(&server.client, day).await;
        assert_eq!(got.as_of, day);
        assert_eq!(
            (got.committee.as_str(), got.session.as_str()),
            (COMMITTEE, SESSION)
        );
        let rows: BTreeMap<&str, Row> = got
            .units
            .iter()
            .map(|u| (u.unit.as_str(), row_of(u)))
            .collect();
        assert_eq!(rows, expected_rows(&plans, day), "by unit, as of {day}");
        let totals = got.totals.expect("the totals");
        assert_eq!(figures_of(&totals), want, "as of {day}");
        let rate = |part: u32, whole: u32| (whole > 0).then(|| f64::from(part) / f64::from(whole));
        assert_eq!(
            totals.reply_rate,
            rate(want.replied, want.accepted),
            "{day}"
        );
        assert_eq!(
            totals.on_time_rate,
            rate(want.replied_on_time, want.replied),
            "{day}"
        );
        let rated = want.satisfied + want.basically_satisfied + want.not_satisfied;
        assert_eq!(
            totals.satisfaction_rate,
            rate(want.satisfied + want.basically_satisfied, rated),
            "{day}"
        );
    }
    // The figures of the last day, spelled out, so that a script and an expectation wrong
    // together would still be caught.
    let last = figures_of(
        &statistics(&server.client, "2020-12-31")
            .await
            .totals
            .unwrap(),
    );
    assert_eq!(
        (last.received, last.not_accepted, last.merged, last.accepted),
        (30, 3, 2, 24)
    );
    assert_eq!(
        (last.replied, last.replied_on_time, last.overdue),
        (21, 15, 3)
    );
    assert_eq!((last.reopened, last.closed, last.key_proposals), (2, 5, 4));
    let eco = statistics(&server.client, "2020-12-31").await.units;
    let eco = eco
        .iter()
        .find(|u| u.unit == ECO)
        .expect("a row for 生态环境局");
    assert_eq!(
        row_of(eco),
        Row {
            sole: 4,
            lead: 1,
            split: 1,
            co: 1,
            replied: 6,
            replied_on_time: 5,
            overdue: 0,
            opinions_submitted: 1,
            opinions_on_time: 1,
        }
    );
    // Before anything was received, nothing counts; another session counts nothing of it.
    let before = figures_of(
        &statistics(&server.client, "2020-01-09")
            .await
            .totals
            .unwrap(),
    );
    assert_eq!(before, Figures::default());
}
