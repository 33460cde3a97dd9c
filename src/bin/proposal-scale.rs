//! `proposal-scale`: the scale run of issue #4. Loads a data directory with many proposals and
//! their full histories, then measures what a large store costs: disk against the raw event
//! bytes, resident memory, time to open, read latency over gRPC and write throughput against an
//! empty database.
//!
//! - `load --data-dir D --proposals N`: bulk-loads N proposals, each through all six transitions
//!   (receive → assign → draft → sign → issue → copy), plus a few (N/1000 by default) stopped
//!   at an earlier state so that listings of a rare state have something to find. Every
//!   [`Change`] is built exactly as the writer builds it (`decide`, `transition`, `apply`, a
//!   request id and its fingerprint on every command) and committed through
//!   [`SledStore::commit`], about `--batch` changes per commit. Proposals move through their
//!   lifecycle in waves: each commit receives a new group while the groups before it take their
//!   next step, so a proposal's six events land in six different commits, as they would in
//!   production. Stops early (and says so) when the file system's free space falls below
//!   `--min-free-gb`. Writes `scale-load.json` into the data directory: what was loaded and the
//!   raw event bytes (the sum of the canonical bytes, [`event_bytes`], of every event).
//! - `measure --data-dir D`: times opening the store and starting the workflow, reads resident
//!   memory after open, measures disk use, then serves the store in-process (the same
//!   [`server::serve`] as `proposal-server`) and drives reads over gRPC from several clients,
//!   one kind of call per phase (so a slow listing does not queue the look-ups behind it):
//!   `GetProposal` (in the default FULL view and in the BASIC view) and `GetProposalHistory` of
//!   random loaded proposals (looked up through the number index first), and the first page
//!   (default size and view, which is BASIC) of `ListProposals` filtered by a common state
//!   (COPIED), by a rare one and by a random handling unit, and by unit again in the FULL
//!   view, and the audit trail's first page (`ListEvents`) from a random time of the loaded
//!   log, after a `Health/Check` baseline over the same connections; it samples resident
//!   memory throughout, and gives each phase's CPU per call and how busy the machine was.
//!   Finally it runs `proposal-bench` (the existing workflow load) against an empty database
//!   and against this one, in alternation, and compares their throughput. The loaded
//!   directory keeps what those runs add; later runs count their events in the raw bytes.
//! - `tree-sizes --data-dir D`: the logical bytes (keys and values) held in each sled tree, to
//!   see where the disk goes. Reads everything.
//!
//! Both `load` and `measure` print a table, or one JSON object with `--json` (progress goes to
//! stderr). Exit status: 0 on success, 1 when a call failed during `measure` (the report is
//! still printed), 2 when the run could not be done.

#[path = "common/loadgen.rs"]
mod loadgen;

/// The allocator `proposal-server` runs with, so that the figures are the server's.
#[path = "common/allocator.rs"]
mod allocator;

use loadgen::{
    Connection, CpuSample, ErrorCounts, LatencyRecorder, LatencySummary, connect_all,
    health_client, ratio, wait_until_serving,
};
use proposal_service::app::{Submission, fingerprint, new_proposal_id};
use proposal_service::grpc::code_name;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use proposal_service::app::Workflow;
use proposal_service::domain::{
    CalendarDate, Claim, Command, Decision, Envelope, Proposal, ProposalState, Registration, Reply,
    RequestId, ResultCode, Timestamp, decide,
};
use proposal_service::pb;
use proposal_service::pb::proposal_service_client::ProposalServiceClient;
use proposal_service::server::{self, ServeOptions};
use proposal_service::store::{
    Change, EventScope, RequestRecord, SledOptions, SledStore, Store, event_bytes, request_key,
};
use serde::{Deserialize, Serialize};
use tonic::transport::Channel;

/// What `load` leaves in the data directory for `measure`.
const MANIFEST: &str = "scale-load.json";
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
const MIB: f64 = 1024.0 * 1024.0;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Scale run: bulk-load proposals, then measure disk, memory, open time and latency"
)]
struct Cli {
    #[command(subcommand)]
    command: Mode,
}

#[derive(Subcommand, Debug)]
enum Mode {
    /// Bulk-loads proposals with full histories into a new data directory.
    Load(LoadArgs),
    /// Measures open time, memory, disk, read latency and write throughput on a loaded directory.
    Measure(MeasureArgs),
    /// Logical bytes per sled tree (reads the whole store).
    TreeSizes(TreeSizesArgs),
}

#[derive(clap::Args, Debug)]
struct LoadArgs {
    /// The data directory to create; must not hold events yet.
    #[arg(long)]
    data_dir: PathBuf,
    /// Proposals taken through all six transitions.
    #[arg(long)]
    proposals: u64,
    /// Extra proposals stopped before COPIED (spread over the five earlier states), interleaved
    /// with the others. Default: proposals / 1000.
    #[arg(long)]
    partial: Option<u64>,
    /// Bytes of each reply body (UTF-8, cut at a character boundary).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(16..=400_000))]
    reply_bytes: u64,
    /// Changes (one per transition) per commit.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(6..=100_000))]
    batch: u64,
    /// sled page cache while loading, in MiB.
    #[arg(long, default_value_t = 256)]
    cache_mb: u64,
    /// Stop loading (finishing the lifecycles under way) when the file system holding the data
    /// directory has less than this many GiB free.
    #[arg(long, default_value_t = 5.0)]
    min_free_gb: f64,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Run the store's full verification (chain, projections, indexes) after loading.
    #[arg(long)]
    verify: bool,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
struct MeasureArgs {
    /// A directory written by `load`.
    #[arg(long)]
    data_dir: PathBuf,
    /// sled page cache in MiB (default: the server's default).
    #[arg(long)]
    cache_mb: Option<u64>,
    /// Measured seconds of reads.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=3600))]
    duration: u64,
    /// Unmeasured seconds of reads first.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Measured seconds of the Health/Check baseline (same clients and connections as reads).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=3600))]
    baseline_duration: u64,
    /// Concurrent read clients, each with its own HTTP/2 connection and one call in flight.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1000))]
    clients: u32,
    /// Loaded proposals looked up (through the number index) to read at random.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..))]
    sample: u64,
    /// The rare state listed besides COPIED.
    #[arg(long, default_value = "signed", value_parser = parse_state)]
    rare_state: ProposalState,
    /// Seconds of each workflow run (proposal-bench --duration); 0 skips the write comparison.
    #[arg(long, default_value_t = 8)]
    write_duration: u64,
    /// Warm-up seconds of each workflow run.
    #[arg(long, default_value_t = 1)]
    write_warmup: u64,
    /// Clients of the workflow runs.
    #[arg(long, default_value_t = 64)]
    write_clients: u32,
    /// Rounds of (empty database, this database) workflow runs.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=20))]
    write_rounds: u32,
    /// Skip the write comparison (it adds to this directory and writes an empty one under the
    /// temporary directory) when the data directory's file system has less than this many GiB
    /// free.
    #[arg(long, default_value_t = 2.0)]
    min_free_gb: f64,
    /// The proposal-bench binary (default: next to this one).
    #[arg(long)]
    bench_bin: Option<PathBuf>,
    /// Seed of the random choices.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
struct TreeSizesArgs {
    #[arg(long)]
    data_dir: PathBuf,
    #[arg(long)]
    json: bool,
}

fn parse_state(text: &str) -> Result<ProposalState, String> {
    ProposalState::ALL
        .into_iter()
        .find(|s| s.as_str().eq_ignore_ascii_case(text))
        .ok_or_else(|| format!("not a state: {text}"))
}

// ---------------------------------------------------------------------------------------------
// Small utilities: randomness, process memory, disk
// ---------------------------------------------------------------------------------------------

/// splitmix64: deterministic, good enough to vary generated data and pick ids.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        let mut rng = Self(seed);
        rng.next();
        rng
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A field of /proc/self/status in bytes (e.g. `VmRSS`, `VmHWM`); 0 where unavailable.
fn proc_status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// The 1, 5 and 15 minute load averages, to judge how noisy the machine was.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn rss() -> u64 {
    proc_status_bytes("VmRSS")
}

/// Space a directory tree takes: (allocated bytes as `du` counts them, apparent bytes).
fn disk_use(dir: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let mut allocated = 0;
    let mut apparent = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        allocated += meta.blocks() * 512;
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&path) {
                pending.extend(entries.flatten().map(|e| e.path()));
            }
        } else {
            apparent += meta.len();
        }
    }
    (allocated, apparent)
}

/// Free bytes on the file system holding `dir`, as `df` reports them to unprivileged users.
fn free_bytes(dir: &Path) -> Option<u64> {
    let output = std::process::Command::new("df")
        .args(["-B1", "--output=avail"])
        .arg(dir)
        .output()
        .ok()?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .nth(1)?
        .trim()
        .parse()
        .ok()
}

fn gib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * MIB)
}

// ---------------------------------------------------------------------------------------------
// Generated data
// ---------------------------------------------------------------------------------------------

/// Committees whose proposals are loaded; (committee, session, number) is unique.
const COMMITTEES: [&str; 6] = [
    "许昌市政协",
    "魏都区政协",
    "建安区政协",
    "禹州市政协",
    "长葛市政协",
    "鄢陵县政协",
];
/// Sessions and the year each was held.
const SESSIONS: [(&str, i32); 8] = [
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
const UNITS: [(&str, &str); 20] = [
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

/// Where proposal `k` (0-based, in load order) is registered: unique per (committee, session).
fn registration_of(k: u64) -> (usize, usize, u32) {
    let c = COMMITTEES.len() as u64;
    let s = SESSIONS.len() as u64;
    (
        (k % c) as usize,
        ((k / c) % s) as usize,
        u32::try_from(k / (c * s) + 1).expect("fewer than 2^32 numbers per session"),
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
struct Spec {
    k: u64,
    stages: usize,
    committee: usize,
    session: usize,
    number: u32,
    unit: usize,
    rng: Rng,
}

const ACTORS: [&str; 6] = [
    "提案委登记员",
    "提案委交办员",
    "承办单位经办人",
    "承办单位领导",
    "承办单位办公室",
    "承办单位办公室",
];

/// Builds the commands of each lifecycle step.
struct Generator {
    seed: u64,
    seed_body: Vec<char>,
    reply_bytes: usize,
    /// The next document number per (unit, year).
    documents: HashMap<(usize, i32), u32>,
}

impl Generator {
    fn spec(&self, k: u64, total: u64, partial: u64) -> Spec {
        let (committee, session, number) = registration_of(k);
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
    fn command(&mut self, spec: &mut Spec, step: usize) -> Command {
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
                })
            }
            1 => Command::Assign {
                handling_unit: unit.into(),
                due_date: CalendarDate::parse(&format!("{year}-{:02}-30", 6 + rng.below(6))),
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
                }
            }
            3 => Command::Sign {
                signer: (*rng.pick(&NAMES)).to_owned(),
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
                }
            }
            _ => {
                let n = 2 + rng.below(2) as usize;
                Command::Copy {
                    recipients: RECIPIENTS[..n].iter().map(|r| (*r).to_owned()).collect(),
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// load
// ---------------------------------------------------------------------------------------------

/// What `load` stored; written to the data directory as `scale-load.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Manifest {
    /// Proposals taken through all six transitions.
    proposals_full: u64,
    /// Proposals stopped before COPIED.
    proposals_partial: u64,
    events: u64,
    /// Sum of the canonical event bytes (`store::event_bytes`) of every loaded event.
    raw_event_bytes: u64,
    /// The log's last position after loading: events after it were added later.
    last_position: u64,
    reply_bytes: u64,
    seed: u64,
    load_secs: f64,
    /// Why loading stopped before all requested proposals, if it did.
    stopped_early: Option<String>,
}

#[derive(Debug, Serialize)]
struct LoadReport {
    data_dir: PathBuf,
    requested_full: u64,
    requested_partial: u64,
    manifest: Manifest,
    commits: u64,
    changes_per_commit: f64,
    events_per_sec: f64,
    proposals_per_sec: f64,
    commit_p50_ms: f64,
    commit_p99_ms: f64,
    disk_bytes: u64,
    disk_apparent_bytes: u64,
    disk_ratio: f64,
    peak_rss_bytes: u64,
    verify: Option<VerifyReport>,
}

#[derive(Debug, Serialize)]
struct VerifyReport {
    events: u64,
    proposals: u64,
    problems: Vec<String>,
    secs: f64,
}

/// One proposal under way: its data and its state after the steps taken so far.
struct InFlight {
    spec: Spec,
    proposal: Option<Arc<Proposal>>,
}

struct Loader {
    store: SledStore,
    next_position: u64,
    last_timestamp: Timestamp,
    events: u64,
    raw_event_bytes: u64,
}

impl Loader {
    /// The wall clock, nudged forward so that event times never run backwards (as the writer).
    fn now(&mut self) -> Timestamp {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        let now = Timestamp::from_unix_nanos(nanos.max(self.last_timestamp.unix_nanos() + 1));
        self.last_timestamp = now;
        now
    }

    /// The change one command makes, built as the writer's `prepare` builds it.
    fn change(
        &mut self,
        before: Option<Arc<Proposal>>,
        command: Command,
        actor: &str,
    ) -> Result<Change, String> {
        let proposal_id = before.as_ref().map(|p| p.id);
        let expected_version = before.as_ref().map(|p| p.version);
        let request_id = RequestId::new(uuid::Uuid::now_v7().simple().to_string());
        let fingerprint = fingerprint(&Submission {
            proposal_id,
            command: command.clone(),
            expected_version,
            request_id: Some(request_id.clone()),
            actor: actor.to_owned(),
            unit_scope: None,
        });
        let envelope = Envelope {
            proposal_id: proposal_id.unwrap_or_else(new_proposal_id),
            position: self.next_position,
            occurred_at: self.now(),
            actor: actor.to_owned(),
            request_id: Some(request_id.as_str().to_owned()),
        };
        let Decision { event, after } = decide(before.as_deref(), &command, envelope)
            .map_err(|e| format!("the generated command was refused: {e}"))?;
        self.next_position += 1;
        self.events += 1;
        self.raw_event_bytes += event_bytes(&event).map_err(|e| e.to_string())?.len() as u64;
        let id = after.id;
        let after = Arc::new(after);
        let record = RequestRecord {
            fingerprint,
            proposal_id: id,
            version: after.version,
        };
        Ok(Change {
            before,
            after,
            events: vec![event],
            // Stored per actor, as the writer keys them.
            request: Some((request_key(actor, request_id.as_str()), record)),
        })
    }
}

fn load(args: &LoadArgs) -> Result<LoadReport, String> {
    let dir = &args.data_dir;
    let options = SledOptions {
        cache_capacity: args.cache_mb * 1024 * 1024,
    };
    let store = SledStore::open(dir, &options)
        .map_err(|e| format!("cannot open {}: {e}", dir.display()))?;
    if store.last_position().map_err(|e| e.to_string())? != 0 {
        return Err(format!(
            "{} already holds events; load into a new directory",
            dir.display()
        ));
    }
    let full = args.proposals;
    let partial = args.partial.unwrap_or(full / 1000);
    let total = full + partial;
    let seed_body: Vec<char> = proposal_service::seed::proposal_228()
        .body
        .chars()
        .collect();
    let mut generator = Generator {
        seed: args.seed,
        seed_body,
        reply_bytes: args.reply_bytes as usize,
        documents: HashMap::new(),
    };
    let mut loader = Loader {
        store,
        next_position: 1,
        last_timestamp: Timestamp::from_unix_nanos(0),
        events: 0,
        raw_event_bytes: 0,
    };
    let group = (args.batch / 6).max(1);
    let started = Instant::now();
    let mut waves: VecDeque<Vec<InFlight>> = VecDeque::new();
    let mut next_k = 0u64;
    let mut stopped_early = None;
    let mut commits = 0u64;
    let mut changes_total = 0u64;
    let mut commit_nanos: Vec<u64> = Vec::new();
    let mut last_report = Instant::now();
    let mut last_free_check = Instant::now() - Duration::from_secs(60);
    let (mut done_full, mut done_partial) = (0u64, 0u64);
    let (mut events_at_report, mut at_report) = (0u64, Instant::now());
    eprintln!(
        "proposal-scale: loading {full} proposals with full histories and {partial} partial ones into {} \
         ({} changes per commit, reply body {} bytes)",
        dir.display(),
        group * 6,
        args.reply_bytes
    );
    loop {
        if stopped_early.is_none() && last_free_check.elapsed() >= Duration::from_secs(2) {
            last_free_check = Instant::now();
            if let Some(free) = free_bytes(dir)
                && gib(free) < args.min_free_gb
            {
                let reason = format!(
                    "free space fell to {:.1} GiB (< --min-free-gb {}) after {next_k} proposals were started",
                    gib(free),
                    args.min_free_gb
                );
                eprintln!("proposal-scale: {reason}; finishing the lifecycles under way");
                stopped_early = Some(reason);
            }
        }
        if stopped_early.is_none() && next_k < total {
            let end = (next_k + group).min(total);
            waves.push_back(
                (next_k..end)
                    .map(|k| InFlight {
                        spec: generator.spec(k, total, partial),
                        proposal: None,
                    })
                    .collect(),
            );
            next_k = end;
        }
        if waves.is_empty() {
            break;
        }
        // The oldest wave takes its last step first; the newest is received last.
        let mut changes = Vec::with_capacity((group * 6) as usize);
        for wave in &mut waves {
            for entry in wave.iter_mut() {
                let step = entry.proposal.as_ref().map_or(0, |p| p.version as usize);
                if step >= entry.spec.stages {
                    continue;
                }
                let command = generator.command(&mut entry.spec, step);
                let change = loader.change(entry.proposal.take(), command, ACTORS[step])?;
                entry.proposal = Some(Arc::clone(&change.after));
                changes.push(change);
            }
        }
        let commit_started = Instant::now();
        loader
            .store
            .commit(&changes)
            .map_err(|e| format!("commit {commits} failed: {e}"))?;
        commit_nanos.push(commit_started.elapsed().as_nanos() as u64);
        commits += 1;
        changes_total += changes.len() as u64;
        while let Some(wave) = waves.front() {
            let finished = wave.iter().all(|entry| {
                entry.proposal.as_ref().map_or(0, |p| p.version as usize) >= entry.spec.stages
            });
            if !finished {
                break;
            }
            for entry in waves.pop_front().expect("checked above") {
                if entry.spec.stages == 6 {
                    done_full += 1;
                } else {
                    done_partial += 1;
                }
            }
        }
        if last_report.elapsed() >= Duration::from_secs(10) {
            let secs = started.elapsed().as_secs_f64();
            let recent =
                (loader.events - events_at_report) as f64 / at_report.elapsed().as_secs_f64();
            let (allocated, _) = disk_use(dir);
            eprintln!(
                "proposal-scale: {:>9} proposals done ({:.1} %), {:>10} events, {:.0} events/s overall, {:.0} recent, \
                 {:.0} s, disk {:.2} GiB, raw {:.2} GiB, RSS {:.0} MiB",
                done_full + done_partial,
                100.0 * (done_full + done_partial) as f64 / total.max(1) as f64,
                loader.events,
                loader.events as f64 / secs,
                recent,
                secs,
                gib(allocated),
                gib(loader.raw_event_bytes),
                rss() as f64 / MIB
            );
            last_report = Instant::now();
            events_at_report = loader.events;
            at_report = Instant::now();
        }
    }
    loader.store.flush().map_err(|e| e.to_string())?;
    let load_secs = started.elapsed().as_secs_f64();
    let verify = if args.verify {
        eprintln!("proposal-scale: verifying the whole store");
        let verify_started = Instant::now();
        let v = loader.store.verify().map_err(|e| e.to_string())?;
        Some(VerifyReport {
            events: v.events,
            proposals: v.proposals,
            problems: v.problems,
            secs: verify_started.elapsed().as_secs_f64(),
        })
    } else {
        None
    };
    let manifest = Manifest {
        proposals_full: done_full,
        proposals_partial: done_partial,
        events: loader.events,
        raw_event_bytes: loader.raw_event_bytes,
        last_position: loader.next_position - 1,
        reply_bytes: args.reply_bytes,
        seed: args.seed,
        load_secs,
        stopped_early,
    };
    std::fs::write(
        dir.join(MANIFEST),
        serde_json::to_vec_pretty(&manifest).expect("the manifest serializes"),
    )
    .map_err(|e| format!("writing {MANIFEST}: {e}"))?;
    drop(loader);
    let (disk_bytes, disk_apparent_bytes) = disk_use(dir);
    commit_nanos.sort_unstable();
    let at = |p: f64| {
        let n = commit_nanos.len();
        if n == 0 {
            return 0.0;
        }
        commit_nanos[((p * n as f64).ceil() as usize).clamp(1, n) - 1] as f64 / 1e6
    };
    Ok(LoadReport {
        data_dir: dir.clone(),
        requested_full: full,
        requested_partial: partial,
        commits,
        changes_per_commit: ratio(changes_total as f64, commits as f64),
        events_per_sec: ratio(manifest.events as f64, load_secs),
        proposals_per_sec: ratio((done_full + done_partial) as f64, load_secs),
        commit_p50_ms: at(0.5),
        commit_p99_ms: at(0.99),
        disk_bytes,
        disk_apparent_bytes,
        disk_ratio: ratio(disk_bytes as f64, manifest.raw_event_bytes as f64),
        peak_rss_bytes: proc_status_bytes("VmHWM"),
        verify,
        manifest,
    })
}

fn render_load(r: &LoadReport) -> String {
    let m = &r.manifest;
    let mut out = vec![
        format!("data directory        {}", r.data_dir.display()),
        format!(
            "proposals loaded      {} full (6 events each) + {} partial (requested {} + {})",
            m.proposals_full, m.proposals_partial, r.requested_full, r.requested_partial
        ),
        format!("events                {}", m.events),
        format!("reply body            {} bytes", m.reply_bytes),
        format!(
            "load time             {:.1} s: {:.0} events/s, {:.0} proposals/s",
            m.load_secs, r.events_per_sec, r.proposals_per_sec
        ),
        format!(
            "commits               {} ({:.0} changes each; p50 {:.1} ms, p99 {:.1} ms)",
            r.commits, r.changes_per_commit, r.commit_p50_ms, r.commit_p99_ms
        ),
        format!(
            "raw event bytes       {} ({:.2} GiB)",
            m.raw_event_bytes,
            gib(m.raw_event_bytes)
        ),
        format!(
            "disk use              {} ({:.2} GiB; apparent {:.2} GiB) = {:.2} × raw",
            r.disk_bytes,
            gib(r.disk_bytes),
            gib(r.disk_apparent_bytes),
            r.disk_ratio
        ),
        format!(
            "peak RSS              {:.0} MiB",
            r.peak_rss_bytes as f64 / MIB
        ),
    ];
    if let Some(reason) = &m.stopped_early {
        out.push(format!("STOPPED EARLY         {reason}"));
    }
    if let Some(v) = &r.verify {
        out.push(format!(
            "verify                {} events, {} proposals, {} problems ({:.1} s){}",
            v.events,
            v.proposals,
            v.problems.len(),
            v.secs,
            v.problems
                .first()
                .map(|p| format!(": {p}"))
                .unwrap_or_default()
        ));
    }
    out.join("\n")
}

// ---------------------------------------------------------------------------------------------
// measure: latency recording
// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// measure: the reads
// ---------------------------------------------------------------------------------------------

/// The reads measured, each client taking them in turn.
#[derive(Clone, Copy, Debug)]
enum Read {
    Get,
    /// GetProposal in the basic view (the status alone).
    GetBasic,
    History,
    ListCommonState,
    ListRareState,
    ListUnit,
    /// By unit again, in the full view (content and reply included).
    ListUnitFull,
    /// The audit trail: ListEvents' first page (100 events) from a random time of the load.
    Events,
}

impl Read {
    const ALL: [Read; 8] = [
        Read::Get,
        Read::GetBasic,
        Read::History,
        Read::ListCommonState,
        Read::ListRareState,
        Read::ListUnit,
        Read::ListUnitFull,
        Read::Events,
    ];

    fn name(self) -> &'static str {
        match self {
            Read::Get => "GetProposal",
            Read::GetBasic => "GetProposal, view BASIC",
            Read::History => "GetProposalHistory",
            Read::ListCommonState => "ListProposals state=COPIED",
            Read::ListRareState => "ListProposals rare state",
            Read::ListUnit => "ListProposals unit",
            Read::ListUnitFull => "ListProposals unit, view FULL",
            Read::Events => "ListEvents from a random time",
        }
    }
}

/// What the clients of one read phase measured.
#[derive(Default)]
struct ReadTally {
    latency: LatencyRecorder,
    items: u64,
    errors: ErrorCounts,
}

impl ReadTally {
    fn merge(&mut self, other: ReadTally) {
        self.latency.merge(other.latency);
        self.items += other.items;
        self.errors.merge(other.errors);
    }
}

struct ReadPlan {
    ids: Vec<String>,
    rare_state: ProposalState,
    /// When the first and the last stored event occurred, in Unix nanoseconds.
    span: (i64, i64),
}

fn pb_state(state: ProposalState) -> i32 {
    (match state {
        ProposalState::Received => pb::ProposalState::Received,
        ProposalState::Assigned => pb::ProposalState::Assigned,
        ProposalState::Drafted => pb::ProposalState::Drafted,
        ProposalState::Signed => pb::ProposalState::Signed,
        ProposalState::Issued => pb::ProposalState::Issued,
        ProposalState::Copied => pb::ProposalState::Copied,
    }) as i32
}

/// One read; the number of items it returned, or why it failed.
async fn read_once(
    client: &mut ProposalServiceClient<Channel>,
    plan: &ReadPlan,
    kind: Read,
    rng: &mut Rng,
) -> Result<u64, String> {
    let list = |state: Option<ProposalState>, unit: &str| pb::ListProposalsRequest {
        state: state.map_or(0, pb_state),
        handling_unit: unit.to_owned(),
        ..Default::default()
    };
    let status = |s: tonic::Status| code_name(s.code());
    match kind {
        Read::Get | Read::GetBasic => {
            let id = rng.pick(&plan.ids).clone();
            let view = match kind {
                Read::GetBasic => pb::ProposalView::Basic,
                _ => pb::ProposalView::Unspecified,
            };
            let request = pb::GetProposalRequest {
                proposal_id: id.clone(),
                view: view as i32,
            };
            let response = client.get_proposal(request).await.map_err(status)?;
            match response.into_inner().proposal {
                Some(p) if p.id == id => Ok(1),
                _ => Err("UNEXPECTED_RESPONSE".into()),
            }
        }
        Read::History => {
            let request = pb::GetProposalHistoryRequest {
                proposal_id: rng.pick(&plan.ids).clone(),
                ..Default::default()
            };
            let response = client.get_proposal_history(request).await.map_err(status)?;
            some_items(response.into_inner().events.len())
        }
        Read::ListCommonState | Read::ListRareState | Read::ListUnit | Read::ListUnitFull => {
            let request = match kind {
                Read::ListCommonState => list(Some(ProposalState::Copied), ""),
                Read::ListRareState => list(Some(plan.rare_state), ""),
                Read::ListUnitFull => pb::ListProposalsRequest {
                    view: pb::ProposalView::Full as i32,
                    ..list(None, rng.pick(&UNITS).0)
                },
                _ => list(None, rng.pick(&UNITS).0),
            };
            let proposals = client
                .list_proposals(request)
                .await
                .map_err(status)?
                .into_inner()
                .proposals;
            if proposals.is_empty() && !matches!(kind, Read::ListRareState) {
                return Err("UNEXPECTED_RESPONSE".into());
            }
            Ok(proposals.len() as u64)
        }
        Read::Events => {
            // Any time up to the last event's: the page holds at least that event.
            let (first, last) = plan.span;
            let offset = rng.below(u64::try_from(last - first).unwrap_or(0) + 1);
            let at = first + i64::try_from(offset).unwrap_or(0);
            let request = pb::ListEventsRequest {
                occurred_after: Some(prost_types::Timestamp {
                    seconds: at.div_euclid(1_000_000_000),
                    nanos: at.rem_euclid(1_000_000_000) as i32,
                }),
                ..Default::default()
            };
            let response = client.list_events(request).await.map_err(status)?;
            some_items(response.into_inner().events.len())
        }
    }
}

/// The number of items a read returned, which must not be none.
fn some_items(count: usize) -> Result<u64, String> {
    match count {
        0 => Err("UNEXPECTED_RESPONSE".into()),
        count => Ok(count as u64),
    }
}

/// One read client: `kind` back to back until `until`.
async fn read_client(
    connection: Connection,
    plan: Arc<ReadPlan>,
    kind: Read,
    seed: u64,
    until: Instant,
) -> ReadTally {
    let mut client = connection.proposals;
    let mut rng = Rng::new(seed);
    let mut tally = ReadTally::default();
    while Instant::now() < until {
        let started = Instant::now();
        let result = read_once(&mut client, &plan, kind, &mut rng).await;
        let latency = started.elapsed();
        match result {
            Ok(items) => {
                tally.latency.record(latency);
                tally.items += items;
            }
            Err(error) => tally.errors.add(format!("{} {error}", kind.name())),
        }
    }
    tally
}

/// Runs one read phase: every client calls `kind` until `secs` are over.
async fn read_phase(
    connections: &[Connection],
    plan: &Arc<ReadPlan>,
    kind: Read,
    seed: u64,
    secs: u64,
) -> Result<(ReadTally, f64), String> {
    let until = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let tasks: Vec<_> = connections
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let seed = seed ^ ((i as u64 + 1) << 40) ^ (kind as u64) << 32;
            tokio::spawn(read_client(c.clone(), Arc::clone(plan), kind, seed, until))
        })
        .collect();
    let mut tally = ReadTally::default();
    for task in tasks {
        tally.merge(task.await.map_err(|e| e.to_string())?);
    }
    Ok((tally, started.elapsed().as_secs_f64()))
}

#[derive(Debug, Serialize)]
struct CallReport {
    latency_ms: LatencySummary,
    calls_per_sec: f64,
    /// Items returned per call on average (proposals, or events for the history).
    items_per_call: f64,
    /// CPU of this process (the in-process server and the clients) per call, in microseconds;
    /// null where Linux's `/proc` cannot be read.
    cpu_us_per_call: Option<f64>,
    /// The busy share (0 to 1) of the whole machine's CPU time during the phase.
    machine_busy: Option<f64>,
}

#[derive(Debug, Serialize)]
struct ReadReport {
    clients: u32,
    duration_secs: u64,
    warmup_secs: u64,
    /// Page size asked for by the listings: 0, i.e. the server's default (50).
    page_size: u32,
    rare_state: &'static str,
    baseline: CallReport,
    calls: BTreeMap<&'static str, CallReport>,
    errors: ErrorCounts,
}

// ---------------------------------------------------------------------------------------------
// measure: the write comparison (proposal-bench)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
struct BenchRun {
    database: &'static str,
    transitions_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    baseline_calls_per_sec: f64,
    /// transitions/s ÷ Health/Check calls/s of the same run.
    throughput_ratio: f64,
    ok: bool,
}

#[derive(Debug, Serialize)]
struct WriteReport {
    clients: u32,
    duration_secs: u64,
    rounds: Vec<BenchRun>,
    empty_transitions_per_sec: f64,
    loaded_transitions_per_sec: f64,
    /// loaded ÷ empty transitions/s (the target: ≥ 0.8).
    ratio: f64,
    /// The same, each normalised by its own run's Health/Check rate (less sensitive to noise).
    normalized_ratio: f64,
}

fn bench_binary(args: &MeasureArgs) -> Result<PathBuf, String> {
    if let Some(path) = &args.bench_bin {
        return Ok(path.clone());
    }
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let sibling = me.with_file_name("proposal-bench");
    if sibling.exists() {
        Ok(sibling)
    } else {
        Err(format!(
            "{} not found: build it (cargo build --release --bins) or pass --bench-bin",
            sibling.display()
        ))
    }
}

fn run_bench(
    bench: &Path,
    data_dir: Option<&Path>,
    args: &MeasureArgs,
) -> Result<BenchRun, String> {
    let mut command = std::process::Command::new(bench);
    command.args([
        "--concurrency",
        &args.write_clients.to_string(),
        "--duration",
        &args.write_duration.to_string(),
        "--warmup",
        &args.write_warmup.to_string(),
        // Only the workflow is compared; the storage floor would lengthen every run.
        "--no-floor",
        "--json",
    ]);
    if let Some(dir) = data_dir {
        command.arg("--data-dir").arg(dir);
    }
    let output = command
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("running {}: {e}", bench.display()))?;
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).map_err(|e| {
        format!(
            "proposal-bench gave no report ({}, {e}): {}",
            output.status,
            String::from_utf8_lossy(&output.stdout)
        )
    })?;
    let number = |pointer: &str| {
        report
            .pointer(pointer)
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(0.0)
    };
    Ok(BenchRun {
        database: if data_dir.is_some() {
            "loaded"
        } else {
            "empty"
        },
        transitions_per_sec: number("/workflow/transitions_per_sec"),
        p50_ms: number("/workflow/latency_ms/all/p50"),
        p99_ms: number("/workflow/latency_ms/all/p99"),
        baseline_calls_per_sec: number("/baseline/calls_per_sec"),
        throughput_ratio: number("/throughput_ratio"),
        ok: report["ok"] == true && output.status.success(),
    })
}

fn compare_writes(args: &MeasureArgs) -> Result<WriteReport, String> {
    let bench = bench_binary(args)?;
    let mut rounds = Vec::new();
    for round in 1..=args.write_rounds {
        eprintln!(
            "proposal-scale: writes, round {round}: proposal-bench on an empty database, then on this one"
        );
        rounds.push(run_bench(&bench, None, args)?);
        rounds.push(run_bench(&bench, Some(&args.data_dir), args)?);
    }
    let mean = |database: &str, f: fn(&BenchRun) -> f64| {
        let values: Vec<f64> = rounds
            .iter()
            .filter(|r| r.database == database)
            .map(f)
            .collect();
        values.iter().sum::<f64>() / values.len().max(1) as f64
    };
    let empty = mean("empty", |r| r.transitions_per_sec);
    let loaded = mean("loaded", |r| r.transitions_per_sec);
    Ok(WriteReport {
        clients: args.write_clients,
        duration_secs: args.write_duration,
        empty_transitions_per_sec: empty,
        loaded_transitions_per_sec: loaded,
        ratio: ratio(loaded, empty),
        normalized_ratio: ratio(
            mean("loaded", |r| r.throughput_ratio),
            mean("empty", |r| r.throughput_ratio),
        ),
        rounds,
    })
}

// ---------------------------------------------------------------------------------------------
// measure
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
struct OpenReport {
    /// `SledStore::open` (sled's recovery, tree opening, format and watermark checks).
    store_secs: f64,
    /// `Workflow::start` over the opened store (the writer's start: the log's end).
    workflow_secs: f64,
    total_secs: f64,
}

#[derive(Debug, Serialize)]
struct MemoryReport {
    cache_mb: u64,
    rss_before_open_bytes: u64,
    rss_after_open_bytes: u64,
    /// Highest RSS sampled (every 20 ms) while the reads ran, server and clients together.
    rss_peak_under_reads_bytes: u64,
    rss_after_reads_bytes: u64,
    /// The process's high-water mark (VmHWM) after the reads.
    rss_high_water_bytes: u64,
}

#[derive(Debug, Serialize)]
struct DiskReport {
    allocated_bytes: u64,
    apparent_bytes: u64,
    /// Canonical bytes of every event in the store (loaded, plus any added by earlier runs).
    raw_event_bytes: u64,
    events: u64,
    /// allocated ÷ raw (target ≤ 3).
    ratio: f64,
}

#[derive(Debug, Serialize)]
struct MeasureReport {
    data_dir: PathBuf,
    /// /proc/loadavg before opening and after the reads (2 cores: above 2 means waiting).
    load_average_before: String,
    load_average_after_reads: String,
    loaded: Manifest,
    open: OpenReport,
    memory: MemoryReport,
    disk: DiskReport,
    sample: SampleReport,
    reads: ReadReport,
    writes: Option<WriteReport>,
    ok: bool,
}

#[derive(Debug, Serialize)]
struct SampleReport {
    ids: u64,
    secs: f64,
}

/// The raw bytes of the events stored after the loaded ones (e.g. by earlier `measure` runs).
fn later_event_bytes(store: &SledStore, after: u64) -> Result<(u64, u64), String> {
    let (mut position, mut events, mut bytes) = (after, 0, 0);
    loop {
        let batch = store
            .events(EventScope::All, position, 1000)
            .map_err(|e| e.to_string())?;
        let Some(last) = batch.last() else {
            return Ok((events, bytes));
        };
        position = last.event.position;
        for logged in &batch {
            events += 1;
            bytes += event_bytes(&logged.event).map_err(|e| e.to_string())?.len() as u64;
        }
    }
}

fn measure(args: &MeasureArgs) -> Result<MeasureReport, String> {
    let dir = &args.data_dir;
    let manifest: Manifest = serde_json::from_slice(
        &std::fs::read(dir.join(MANIFEST))
            .map_err(|e| format!("{}: {e} (run `load` first)", dir.join(MANIFEST).display()))?,
    )
    .map_err(|e| format!("{MANIFEST}: {e}"))?;
    let options = match args.cache_mb {
        Some(mb) => SledOptions {
            cache_capacity: mb * 1024 * 1024,
        },
        None => SledOptions::default(),
    };
    let cache_mb = options.cache_capacity / (1024 * 1024);

    eprintln!("proposal-scale: opening {}", dir.display());
    let load_average_before = load_average();
    let rss_before_open_bytes = rss();
    let started = Instant::now();
    let store = Arc::new(
        SledStore::open(dir, &options)
            .map_err(|e| format!("cannot open {}: {e}", dir.display()))?,
    );
    // As `proposal-server` does after opening, and counted in the open time as there.
    allocator::release_free_memory();
    let store_secs = started.elapsed().as_secs_f64();
    let workflow_started = Instant::now();
    let workflow = Workflow::start(Arc::clone(&store) as Arc<dyn Store>)
        .map_err(|e| format!("cannot start the workflow: {e}"))?;
    let workflow_secs = workflow_started.elapsed().as_secs_f64();
    let open = OpenReport {
        store_secs,
        workflow_secs,
        total_secs: started.elapsed().as_secs_f64(),
    };
    // The server starts its own; this one only measured the start.
    drop(workflow);
    let rss_after_open_bytes = rss();

    let (allocated_bytes, apparent_bytes) = disk_use(dir);
    let (later_events, later_bytes) = later_event_bytes(&store, manifest.last_position)?;
    let raw_event_bytes = manifest.raw_event_bytes + later_bytes;
    let disk = DiskReport {
        allocated_bytes,
        apparent_bytes,
        raw_event_bytes,
        events: manifest.events + later_events,
        ratio: ratio(allocated_bytes as f64, raw_event_bytes as f64),
    };

    eprintln!(
        "proposal-scale: looking up {} random proposals",
        args.sample
    );
    let sample_started = Instant::now();
    let loaded = manifest.proposals_full + manifest.proposals_partial;
    let mut rng = Rng::new(args.seed);
    let mut ids = Vec::with_capacity(args.sample as usize);
    for _ in 0..args.sample.min(loaded.max(1) * 4) {
        let (c, s, number) = registration_of(rng.below(loaded));
        let id = store
            .claimed_by(&Claim::ProposalNumber {
                committee: COMMITTEES[c].into(),
                session: SESSIONS[s].0.into(),
                number,
            })
            .map_err(|e| e.to_string())?
            .ok_or_else(|| {
                format!("loaded proposal {c}/{s}/{number} is not in the number index")
            })?;
        ids.push(id.to_string());
    }
    let sample = SampleReport {
        ids: ids.len() as u64,
        secs: sample_started.elapsed().as_secs_f64(),
    };

    let occurred = |after: u64| -> Result<i64, String> {
        let event = store
            .events(EventScope::All, after, 1)
            .map_err(|e| e.to_string())?
            .pop()
            .ok_or("the store holds no events")?;
        Ok(event.event.occurred_at.unix_nanos())
    };
    let last = store.last_position().map_err(|e| e.to_string())?;
    let span = (occurred(0)?, occurred(last.saturating_sub(1))?);

    // The server, as production runs it, on its own runtime.
    let server_runtime =
        tokio::runtime::Runtime::new().map_err(|e| format!("server runtime: {e}"))?;
    let listener = server_runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .map_err(|e| format!("cannot listen: {e}"))?;
    let url = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = server_runtime.spawn(server::serve(
        Arc::clone(&store) as Arc<dyn Store>,
        listener,
        ServeOptions::default(),
        async {
            let _ = stopped.await;
        },
    ));
    drop(store);

    let plan = Arc::new(ReadPlan {
        ids,
        rare_state: args.rare_state,
        span,
    });
    let client_runtime =
        tokio::runtime::Runtime::new().map_err(|e| format!("client runtime: {e}"))?;
    // The sampler's phase: 0 waiting, 1 sampling, 2 done.
    let peak = Arc::new(AtomicU64::new(0));
    let phase = Arc::new(AtomicU8::new(0));
    let sampler = {
        let (peak, phase) = (Arc::clone(&peak), Arc::clone(&phase));
        std::thread::spawn(move || {
            loop {
                match phase.load(Ordering::Relaxed) {
                    0 => std::thread::sleep(Duration::from_millis(5)),
                    1 => {
                        peak.fetch_max(rss(), Ordering::Relaxed);
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    _ => break,
                }
            }
        })
    };
    let reads = client_runtime.block_on(async {
        let connections = connect_all(&url, args.clients, CALL_TIMEOUT, 64 * 1024 * 1024).await?;
        wait_until_serving(&connections[0], CALL_TIMEOUT).await?;
        eprintln!(
            "proposal-scale: Health/Check baseline, {} s, {} clients",
            args.baseline_duration, args.clients
        );
        let until = Instant::now() + Duration::from_secs(args.baseline_duration);
        let started = Instant::now();
        let cpu_before = CpuSample::now();
        let tasks: Vec<_> = connections
            .iter()
            .map(|c| tokio::spawn(health_client(c.clone(), until)))
            .collect();
        let mut baseline = LatencyRecorder::default();
        let mut errors = ErrorCounts::default();
        for task in tasks {
            let (latency, e) = task.await.map_err(|e| e.to_string())?;
            baseline.merge(latency);
            errors.merge(e);
        }
        let baseline_cpu = cpu_before.until(CpuSample::now());
        let baseline_secs = started.elapsed().as_secs_f64();

        phase.store(1, Ordering::Relaxed);
        let mut calls = BTreeMap::new();
        for kind in Read::ALL {
            eprintln!(
                "proposal-scale: {} ({} s warm-up, {} s measured, {} clients)",
                kind.name(),
                args.warmup,
                args.duration,
                args.clients
            );
            if args.warmup > 0 {
                let (warmup, _) =
                    read_phase(&connections, &plan, kind, !args.seed, args.warmup).await?;
                errors.merge(warmup.errors);
            }
            let cpu_before = CpuSample::now();
            let (tally, secs) =
                read_phase(&connections, &plan, kind, args.seed, args.duration).await?;
            let cpu = cpu_before.until(CpuSample::now());
            errors.merge(tally.errors);
            let latency_ms = tally.latency.summary();
            calls.insert(
                kind.name(),
                CallReport {
                    calls_per_sec: ratio(latency_ms.count as f64, secs),
                    items_per_call: ratio(tally.items as f64, latency_ms.count as f64),
                    cpu_us_per_call: cpu.us_per_call(latency_ms.count),
                    machine_busy: cpu.machine_busy,
                    latency_ms,
                },
            );
        }
        phase.store(2, Ordering::Relaxed);
        let baseline_latency = baseline.summary();
        Ok::<_, String>(ReadReport {
            clients: args.clients,
            duration_secs: args.duration,
            warmup_secs: args.warmup,
            page_size: 0,
            rare_state: args.rare_state.as_str(),
            baseline: CallReport {
                calls_per_sec: ratio(baseline_latency.count as f64, baseline_secs),
                items_per_call: 0.0,
                cpu_us_per_call: baseline_cpu.us_per_call(baseline_latency.count),
                machine_busy: baseline_cpu.machine_busy,
                latency_ms: baseline_latency,
            },
            calls,
            errors,
        })
    });
    phase.store(2, Ordering::Relaxed);
    let _ = sampler.join();
    let rss_after_reads_bytes = rss();
    let load_average_after_reads = load_average();
    let rss_high_water_bytes = proc_status_bytes("VmHWM");
    // Closing the connections first lets the server shut down without waiting for them.
    drop(client_runtime);
    let _ = stop.send(());
    let served = server_runtime.block_on(served);
    drop(server_runtime);
    let reads = reads?;
    match served {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(format!("the server failed: {e}")),
        Err(e) => return Err(format!("the server task failed: {e}")),
    }
    let memory = MemoryReport {
        cache_mb,
        rss_before_open_bytes,
        rss_after_open_bytes,
        rss_peak_under_reads_bytes: peak.load(Ordering::Relaxed),
        rss_after_reads_bytes,
        rss_high_water_bytes,
    };

    let free = free_bytes(dir).map(gib);
    let writes = if args.write_duration == 0 {
        None
    } else if let Some(free) = free.filter(|free| *free < args.min_free_gb) {
        eprintln!(
            "proposal-scale: skipping the write comparison: {free:.1} GiB free (< --min-free-gb {})",
            args.min_free_gb
        );
        None
    } else {
        Some(compare_writes(args)?)
    };
    let ok = reads.errors.total() == 0
        && writes
            .as_ref()
            .is_none_or(|w| w.rounds.iter().all(|r| r.ok));
    Ok(MeasureReport {
        data_dir: dir.clone(),
        load_average_before,
        load_average_after_reads,
        loaded: manifest,
        open,
        memory,
        disk,
        sample,
        reads,
        writes,
        ok,
    })
}

fn render_measure(r: &MeasureReport) -> String {
    let mib = |b: u64| b as f64 / MIB;
    let m = &r.loaded;
    let mut out = vec![
        format!(
            "data {}: {} proposals with full histories + {} partial, {} events, reply body {} bytes",
            r.data_dir.display(),
            m.proposals_full,
            m.proposals_partial,
            r.disk.events,
            m.reply_bytes
        ),
        format!(
            "load average          {} before, {} after the reads",
            r.load_average_before, r.load_average_after_reads
        ),
        String::new(),
        format!(
            "open                  {:.3} s (SledStore::open {:.3} s + Workflow::start {:.3} s)",
            r.open.total_secs, r.open.store_secs, r.open.workflow_secs
        ),
        format!(
            "RSS                   {:.0} MiB before open, {:.0} MiB after open, {:.0} MiB peak under reads, \
             {:.0} MiB after reads (cache {} MiB; high-water {:.0} MiB)",
            mib(r.memory.rss_before_open_bytes),
            mib(r.memory.rss_after_open_bytes),
            mib(r.memory.rss_peak_under_reads_bytes),
            mib(r.memory.rss_after_reads_bytes),
            r.memory.cache_mb,
            mib(r.memory.rss_high_water_bytes)
        ),
        format!(
            "disk                  {:.2} GiB allocated ({:.2} GiB apparent) for {:.2} GiB raw event bytes = {:.2} × raw",
            gib(r.disk.allocated_bytes),
            gib(r.disk.apparent_bytes),
            gib(r.disk.raw_event_bytes),
            r.disk.ratio
        ),
        format!(
            "id sample             {} proposals looked up in {:.2} s",
            r.sample.ids, r.sample.secs
        ),
        String::new(),
        format!(
            "reads, one call kind at a time: {} clients, {} s measured after {} s warm-up each; \
             listings at the default page size",
            r.reads.clients, r.reads.duration_secs, r.reads.warmup_secs
        ),
        format!(
            "{:<30} {:>8} {:>9} {:>7} {:>8} {:>8} {:>8} {:>8} {:>7} {:>5}",
            "call",
            "count",
            "per sec",
            "items",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
            "cpu µs",
            "busy"
        ),
    ];
    let row = |name: &str, c: &CallReport| {
        format!(
            "{name:<30} {:>8} {:>9.0} {:>7.1} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>7} {:>5}",
            c.latency_ms.count,
            c.calls_per_sec,
            c.items_per_call,
            c.latency_ms.p50,
            c.latency_ms.p95,
            c.latency_ms.p99,
            c.latency_ms.max,
            c.cpu_us_per_call
                .map_or_else(|| "-".into(), |us| format!("{us:.0}")),
            c.machine_busy
                .map_or_else(|| "-".into(), |busy| format!("{:.0}%", busy * 100.0)),
        )
    };
    out.push(row("Health/Check (baseline)", &r.reads.baseline));
    for kind in Read::ALL {
        let name = match kind {
            Read::ListRareState => format!("ListProposals state={}", r.reads.rare_state),
            _ => kind.name().to_owned(),
        };
        out.push(row(&name, &r.reads.calls[kind.name()]));
    }
    out.push(format!(
        "read errors: {}",
        if r.reads.errors.total() == 0 {
            "none".to_owned()
        } else {
            format!("{:?}", r.reads.errors.iter().collect::<Vec<_>>())
        }
    ));
    if let Some(w) = &r.writes {
        out.push(String::new());
        out.push(format!(
            "writes: proposal-bench, {} clients, {} s per run",
            w.clients, w.duration_secs
        ));
        for run in &w.rounds {
            out.push(format!(
                "  {:<7} {:>8.0} transitions/s, p50 {:.2} ms, p99 {:.2} ms; Health/Check {:.0}/s; ratio {:.3}{}",
                run.database,
                run.transitions_per_sec,
                run.p50_ms,
                run.p99_ms,
                run.baseline_calls_per_sec,
                run.throughput_ratio,
                if run.ok { "" } else { " (ERRORS)" }
            ));
        }
        out.push(format!(
            "  loaded ÷ empty: {:.3} (normalised by each run's Health/Check: {:.3})",
            w.ratio, w.normalized_ratio
        ));
    }
    out.join("\n")
}

// ---------------------------------------------------------------------------------------------
// tree-sizes
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
struct TreeSize {
    tree: String,
    entries: u64,
    key_bytes: u64,
    value_bytes: u64,
}

fn tree_sizes(args: &TreeSizesArgs) -> Result<Vec<TreeSize>, String> {
    // Through the store first: it takes the directory's lock and checks the format.
    let store = SledStore::open(&args.data_dir, &SledOptions::default())
        .map_err(|e| format!("cannot open {}: {e}", args.data_dir.display()))?;
    drop(store);
    let db = sled::Config::new()
        .path(args.data_dir.join("sled"))
        .open()
        .map_err(|e| e.to_string())?;
    let mut sizes = Vec::new();
    for name in db.tree_names() {
        let tree = db.open_tree(&name).map_err(|e| e.to_string())?;
        let mut size = TreeSize {
            tree: String::from_utf8_lossy(&name).into_owned(),
            entries: 0,
            key_bytes: 0,
            value_bytes: 0,
        };
        for entry in tree.iter() {
            let (key, value) = entry.map_err(|e| e.to_string())?;
            size.entries += 1;
            size.key_bytes += key.len() as u64;
            size.value_bytes += value.len() as u64;
        }
        sizes.push(size);
    }
    Ok(sizes)
}

fn render_tree_sizes(sizes: &[TreeSize]) -> String {
    let total: u64 = sizes.iter().map(|s| s.key_bytes + s.value_bytes).sum();
    let mut out = vec![format!(
        "{:<24} {:>11} {:>14} {:>16} {:>7}",
        "tree", "entries", "key bytes", "value bytes", "share"
    )];
    for s in sizes {
        out.push(format!(
            "{:<24} {:>11} {:>14} {:>16} {:>6.1}%",
            s.tree,
            s.entries,
            s.key_bytes,
            s.value_bytes,
            100.0 * ratio((s.key_bytes + s.value_bytes) as f64, total as f64)
        ));
    }
    out.push(format!(
        "total logical bytes {total} ({:.2} GiB)",
        gib(total)
    ));
    out.join("\n")
}

fn print<T: Serialize>(value: &T, json: bool, table: impl FnOnce(&T) -> String) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(value).expect("the report serializes")
        );
    } else {
        println!("{}", table(value));
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Mode::Load(args) => load(args).map(|report| {
            print(&report, args.json, render_load);
            report.verify.as_ref().is_none_or(|v| v.problems.is_empty())
        }),
        Mode::Measure(args) => measure(args).map(|report| {
            print(&report, args.json, render_measure);
            report.ok
        }),
        Mode::TreeSizes(args) => tree_sizes(args).map(|sizes| {
            print(&sizes, args.json, |s| render_tree_sizes(s));
            true
        }),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("proposal-scale: failures (see the report)");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("proposal-scale: {e}");
            ExitCode::from(2)
        }
    }
}
