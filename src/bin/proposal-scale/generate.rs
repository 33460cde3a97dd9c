//! The generated data: what each proposal is (committee, session, number, handling unit, how
//! far it goes) and the command of each of its steps, derived from its index and the seed alone.

use std::collections::HashMap;

use proposal_service::domain::{
    CalendarDate, Command, ProposerKind, Registration, Reply, ResultCode,
};

use crate::rng::Rng;

/// Committees whose proposals are loaded; (committee, session, number) is unique.
pub const COMMITTEES: [&str; 6] = [
    "许昌市政协",
    "魏都区政协",
    "建安区政协",
    "禹州市政协",
    "长葛市政协",
    "鄢陵县政协",
];
/// Sessions and the year each was held.
pub const SESSIONS: [(&str, i32); 8] = [
    ("六届四次会议", 2015),
    ("六届五次会议", 2016),
    ("七届一次会议", 2017),
    ("七届二次会议", 2018),
    ("七届三次会议", 2019),
    ("七届四次会议", 2020),
    ("七届五次会议", 2021),
    ("八届一次会议", 2022),
];
/// Handling units and the prefix of their document numbers.
pub const UNITS: [(&str, &str); 20] = [
    ("许昌市生态环境局", "许环"),
    ("许昌市教育局", "许教"),
    ("许昌市财政局", "许财"),
    ("许昌市卫生健康委员会", "许卫"),
    ("许昌市交通运输局", "许交"),
    ("许昌市住房和城乡建设局", "许建"),
    ("许昌市农业农村局", "许农"),
    ("许昌市人力资源和社会保障局", "许人社"),
    ("许昌市自然资源和规划局", "许自然资源"),
    ("许昌市水利局", "许水"),
    ("许昌市文化广电和旅游局", "许文旅"),
    ("许昌市民政局", "许民"),
    ("许昌市公安局", "许公"),
    ("许昌市市场监督管理局", "许市监"),
    ("许昌市工业和信息化局", "许工信"),
    ("许昌市商务局", "许商"),
    ("许昌市城市管理局", "许城管"),
    ("许昌市应急管理局", "许应急"),
    ("许昌市科学技术局", "许科"),
    ("许昌市发展和改革委员会", "许发改"),
];
const TOPICS: [&str; 30] = [
    "加强我市环境保护",
    "推进义务教育均衡发展",
    "完善农村养老服务体系",
    "加快城市停车设施建设",
    "治理城区交通拥堵",
    "支持中小企业融资",
    "推动数字经济发展",
    "加强食品安全监管",
    "改善老旧小区居住条件",
    "发展全域旅游",
    "保护历史文化街区",
    "完善基层医疗卫生服务",
    "推进生活垃圾分类",
    "加强河道综合治理",
    "促进高校毕业生就业",
    "发展现代农业",
    "加强未成年人保护",
    "优化营商环境",
    "推进智慧城市建设",
    "加强安全生产监管",
    "完善公共文化服务",
    "推进乡村振兴",
    "加强地下水保护",
    "发展职业教育",
    "提升城市绿化水平",
    "规范物业管理",
    "加强消防设施建设",
    "推进养老托育服务",
    "完善社区治理",
    "促进科技成果转化",
];
const NAMES: [&str; 24] = [
    "苏会兴",
    "李光亚",
    "王建国",
    "张丽华",
    "刘志强",
    "陈晓梅",
    "杨文军",
    "赵红霞",
    "黄海涛",
    "周玉兰",
    "吴国庆",
    "徐明辉",
    "孙秀英",
    "马俊杰",
    "朱振华",
    "胡春燕",
    "郭卫东",
    "何丽娟",
    "高志远",
    "林晓东",
    "罗建平",
    "郑桂芳",
    "梁永刚",
    "谢雪梅",
];
const SENTENCES: [&str; 8] = [
    "当前该领域仍存在投入不足、机制不健全、部门协同不够等问题，群众反映较为强烈。",
    "建议市政府统筹规划，明确责任分工，加大财政支持力度，建立长效工作机制。",
    "应当加强调查研究，借鉴先进地区经验，因地制宜制定切实可行的实施方案。",
    "建议完善考核评价办法，将工作成效纳入年度目标考核，强化督促检查。",
    "要充分发挥社会组织和志愿者作用，引导社会资本参与，形成共建共治共享格局。",
    "应加强宣传引导，提高群众知晓率和参与度，营造良好社会氛围。",
    "建议加快相关地方性法规和配套政策的制定，做到有法可依、依法推进。",
    "要加强专业人才队伍建设，完善培训和激励机制，提升基层服务能力。",
];
const RECIPIENTS: [&str; 3] = ["市政协提案委", "市政府督查室", "市人大常委会人代联工委"];

/// Every (committee, session) pair: the most sessions a load can spread over.
pub const ALL_SESSIONS: u64 = (COMMITTEES.len() * SESSIONS.len()) as u64;

/// Where proposal `k` (0-based, in load order) is registered when the load spreads over the
/// first `sessions` (committee, session) pairs (committee first): unique per (committee,
/// session). With all of them, committees take turns, then sessions.
pub fn registration_of(k: u64, sessions: u64) -> (usize, usize, u32) {
    let c = COMMITTEES.len() as u64;
    let pair = k % sessions;
    (
        (pair % c) as usize,
        (pair / c) as usize,
        u32::try_from(k / sessions + 1).expect("fewer than 2^32 numbers per session"),
    )
}

/// How many of the six steps proposal `k` takes, when `partial` of `total` stop early: those
/// are spread evenly through the load and over RECEIVED..ISSUED.
fn stages_of(k: u64, total: u64, partial: u64) -> usize {
    let mark = |k: u64| (u128::from(k) * u128::from(partial) / u128::from(total)) as u64;
    if partial > 0 && mark(k + 1) != mark(k) {
        1 + (mark(k) % 5) as usize
    } else {
        6
    }
}

/// The data of one proposal, derived only from its index and the seed.
pub struct Spec {
    k: u64,
    pub stages: usize,
    committee: usize,
    session: usize,
    number: u32,
    unit: usize,
    rng: Rng,
}

pub const ACTORS: [&str; 6] = [
    "提案委登记员",
    "提案委交办员",
    "承办单位经办人",
    "承办单位领导",
    "承办单位办公室",
    "承办单位办公室",
];

/// Builds the commands of each lifecycle step.
pub struct Generator {
    pub seed: u64,
    pub seed_body: Vec<char>,
    pub reply_bytes: usize,
    /// The next document number per (unit, year).
    pub documents: HashMap<(usize, i32), u32>,
    /// How many (committee, session) pairs the proposals spread over.
    pub sessions: u64,
    /// Whether acts get effective dates spread over the session's year (`--dated`).
    pub dated: bool,
}

impl Generator {
    pub fn spec(&self, k: u64, total: u64, partial: u64) -> Spec {
        let (committee, session, number) = registration_of(k, self.sessions);
        let mut rng = Rng::new(self.seed ^ k.wrapping_mul(0xA24B_AED4_963E_E407));
        // A few units handle more than the others, as in life.
        let unit = if rng.below(4) == 0 {
            rng.below(4) as usize
        } else {
            rng.below(UNITS.len() as u64) as usize
        };
        Spec {
            k,
            stages: stages_of(k, total, partial),
            committee,
            session,
            number,
            unit,
            rng,
        }
    }

    fn reply_body(&self, topic: &str, rng: &mut Rng) -> String {
        let mut body = format!("您提出的“关于{topic}的提案”收悉。经认真研究，现答复如下：\n");
        let mut at = rng.below(self.seed_body.len() as u64) as usize;
        while body.len() < self.reply_bytes {
            body.push(self.seed_body[at]);
            at = (at + 1) % self.seed_body.len();
        }
        while body.len() > self.reply_bytes {
            body.pop();
        }
        if body.trim().is_empty() {
            body = "答复".into();
        }
        body
    }

    /// The command of step `step` (0 = receive ... 5 = copy) for `spec`.
    /// With `--dated`, the effective date of step `step` of `spec` in its session's year:
    /// received 03-01, assigned 03-15, drafted 06-01, signed 06-15, issued on the issue date
    /// (July to October), copied 11-01, so that its statistics facts change on three days as
    /// in life. Without, `None`: the day of the load, as before.
    pub fn effective_date(
        &self,
        spec: &Spec,
        step: usize,
        command: &Command,
    ) -> Option<CalendarDate> {
        if !self.dated {
            return None;
        }
        let (_, year) = SESSIONS[spec.session];
        let day = |month: u8, day: u8| CalendarDate::from_ymd(year, month, day);
        match (step, command) {
            (_, Command::Issue { issue_date, .. }) => Some(*issue_date),
            (0, _) => day(3, 1),
            (1, _) => day(3, 15),
            (2, _) => day(6, 1),
            (3, _) => day(6, 15),
            _ => day(11, 1),
        }
    }

    pub fn command(&mut self, spec: &mut Spec, step: usize) -> Command {
        let (session, year) = SESSIONS[spec.session];
        let (unit, abbreviation) = UNITS[spec.unit];
        let rng = &mut spec.rng;
        let topic = TOPICS[(spec.k % TOPICS.len() as u64) as usize];
        match step {
            0 => {
                let first = rng.below(NAMES.len() as u64) as usize;
                let proposers = (0..1 + rng.below(3) as usize)
                    .map(|n| NAMES[(first + n * 7) % NAMES.len()].to_owned())
                    .collect();
                let mut content = format!("建议{topic}。");
                for _ in 0..2 + rng.below(4) {
                    let sentence = SENTENCES[rng.below(SENTENCES.len() as u64) as usize];
                    content.push_str(sentence);
                }
                Command::Receive(Registration {
                    committee: COMMITTEES[spec.committee].into(),
                    session: session.into(),
                    number: spec.number,
                    title: format!("关于{topic}的提案"),
                    proposers,
                    content,
                    proposer_kind: ProposerKind::Member,
                })
            }
            1 => Command::Assign {
                handling_unit: unit.into(),
                due_date: CalendarDate::parse(&format!("{year}-{:02}-30", 6 + rng.below(6))),
                co_units: Vec::new(),
                co_due_date: None,
                split_units: Vec::new(),
            },
            2 => {
                let result_code = match rng.below(20) {
                    0 => ResultCode::C,
                    1..=5 => ResultCode::B,
                    _ => ResultCode::A,
                };
                Command::Draft {
                    reply: Reply {
                        body: self.reply_body(topic, rng),
                        result_code,
                        contact_unit: format!("{unit}综合科"),
                        contact_phone: format!("{}", 6_000_000 + rng.below(1_000_000)),
                    },
                    handling_unit: String::new(),
                }
            }
            3 => Command::Sign {
                signer: (*rng.pick(&NAMES)).to_owned(),
                handling_unit: String::new(),
                sign_date: None,
            },
            4 => {
                let next = self.documents.entry((spec.unit, year)).or_insert(0);
                *next += 1;
                Command::Issue {
                    document_number: format!("{abbreviation}〔{year}〕{next}号"),
                    issue_date: CalendarDate::parse(&format!(
                        "{year}-{:02}-{:02}",
                        7 + rng.below(4),
                        1 + rng.below(28)
                    ))
                    .expect("a valid date"),
                    issuing_office: format!("{unit}办公室"),
                    handling_unit: String::new(),
                    copy_to: Vec::new(),
                    public: None,
                }
            }
            _ => {
                let n = 2 + rng.below(2) as usize;
                Command::Copy {
                    recipients: RECIPIENTS[..n].iter().map(|r| (*r).to_owned()).collect(),
                    handling_unit: String::new(),
                    proposers: Vec::new(),
                }
            }
        }
    }
}
