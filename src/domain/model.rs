//! The values a proposal is made of, and the proposal itself as the fold of its events.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Identifies one proposal for its whole life. UUIDv7, so that ids sort in the order proposals
/// were received, which gives listings a stable, meaningful order for free.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProposalId(Uuid);

impl ProposalId {
    /// Parses the canonical hyphenated form (what the service hands out), in any letter case.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != 36 {
            return None;
        }
        Uuid::try_parse(text).ok().map(Self)
    }

    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(Uuid::from_bytes(bytes))
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }
}

impl fmt::Display for ProposalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// The caller's idempotency key: a retried request carrying the same key is answered with the
/// original result instead of being applied again.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestId(String);

impl RequestId {
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Wall-clock instant an event was recorded, in nanoseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn from_unix_nanos(nanos: i64) -> Self {
        Self(nanos)
    }

    pub fn unix_nanos(self) -> i64 {
        self.0
    }

    /// Seconds and the non-negative nanosecond remainder, as protobuf's Timestamp wants them.
    pub fn seconds_and_nanos(self) -> (i64, i32) {
        let seconds = self.0.div_euclid(1_000_000_000);
        let nanos = self.0.rem_euclid(1_000_000_000) as i32;
        (seconds, nanos)
    }
}

/// A calendar date written `YYYY-MM-DD` (issue dates, due dates).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CalendarDate(time::Date);

const DATE_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year repr:full padding:zero]-[month]-[day]");

impl CalendarDate {
    /// The earliest date the service accepts, 0001-01-01.
    pub const MIN: Self = Self(time::macros::date!(0001 - 01 - 01));

    /// Parses exactly `YYYY-MM-DD` with a real month and day (2019-02-29 is refused).
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != 10 || !text.is_ascii() {
            return None;
        }
        let date = time::Date::parse(text, DATE_FORMAT).ok()?;
        (1..=9999).contains(&date.year()).then_some(Self(date))
    }

    /// The date of year, month (1-12) and day, if it exists and its year is 1 to 9999.
    pub fn from_ymd(year: i32, month: u8, day: u8) -> Option<Self> {
        let month = time::Month::try_from(month).ok()?;
        let date = time::Date::from_calendar_date(year, month, day).ok()?;
        (1..=9999).contains(&year).then_some(Self(date))
    }

    /// The same day `months` calendar months later, or that month's last day if it is shorter
    /// (2019-11-30 plus 3 months is 2020-02-29). Saturates at 9999-12-31.
    pub fn plus_months(self, months: u32) -> Self {
        let index = i64::from(self.year()) * 12 + i64::from(self.month()) - 1 + i64::from(months);
        let year = i32::try_from(index.div_euclid(12)).unwrap_or(i32::MAX);
        if year > 9999 {
            return Self(time::macros::date!(9999 - 12 - 31));
        }
        let month = time::Month::try_from(index.rem_euclid(12) as u8 + 1).expect("1 to 12");
        let day = self.day().min(time::util::days_in_month(month, year));
        Self(time::Date::from_calendar_date(year, month, day).expect("a day within the month"))
    }

    /// The day `days` calendar days later, saturating at 9999-12-31.
    pub fn plus_days(self, days: u32) -> Self {
        self.0
            .checked_add(time::Duration::days(i64::from(days)))
            .filter(|d| d.year() <= 9999)
            .map_or(Self(time::macros::date!(9999 - 12 - 31)), Self)
    }

    /// The number of days from `earlier` to `self` (negative if `self` is before it).
    pub fn days_since(self, earlier: Self) -> i64 {
        (self.0 - earlier.0).whole_days()
    }

    pub fn year(self) -> i32 {
        self.0.year()
    }

    pub fn month(self) -> u8 {
        self.0.month() as u8
    }

    pub fn day(self) -> u8 {
        self.0.day()
    }
}

impl fmt::Display for CalendarDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.year(),
            self.month(),
            self.day()
        )
    }
}

impl Serialize for CalendarDate {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CalendarDate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not a YYYY-MM-DD date: {text:?}")))
    }
}

/// Where a proposal stands in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProposalState {
    Received,
    Assigned,
    Drafted,
    Signed,
    Issued,
    Copied,
    /// Not accepted by the committee (不予立案). Terminal.
    NotAccepted,
    /// Merged into another proposal (并案), which answers it. Terminal.
    Merged,
    /// Closed by the office (办结) after its reply was dispatched. Terminal.
    Closed,
}

impl ProposalState {
    pub const ALL: [ProposalState; 9] = [
        Self::Received,
        Self::Assigned,
        Self::Drafted,
        Self::Signed,
        Self::Issued,
        Self::Copied,
        Self::NotAccepted,
        Self::Merged,
        Self::Closed,
    ];

    /// Whether a reply in this state has been issued (ISSUED, COPIED, CLOSED): its issue date
    /// counts.
    pub fn has_issued(self) -> bool {
        matches!(self, Self::Issued | Self::Copied | Self::Closed)
    }

    /// Whether nothing follows it: not accepted, merged into another, closed.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::NotAccepted | Self::Merged | Self::Closed)
    }

    /// The stable upper-case name used in error details and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "RECEIVED",
            Self::Assigned => "ASSIGNED",
            Self::Drafted => "DRAFTED",
            Self::Signed => "SIGNED",
            Self::Issued => "ISSUED",
            Self::Copied => "COPIED",
            Self::NotAccepted => "NOT_ACCEPTED",
            Self::Merged => "MERGED",
            Self::Closed => "CLOSED",
        }
    }
}

impl fmt::Display for ProposalState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Handling result (办理结果) the unit declares in its reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ResultCode {
    /// Solved, or the suggestion adopted.
    A,
    /// Being solved, or in the plan.
    B,
    /// Cannot be solved now for objective reasons, which the reply explains.
    C,
    /// Where the rules allow it (Henan's A/B/C/D): kept for reference (留作参考).
    D,
}

impl ResultCode {
    pub const ALL: [ResultCode; 4] = [Self::A, Self::B, Self::C, Self::D];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::B => "B",
            Self::C => "C",
            Self::D => "D",
        }
    }
}

/// Who made a proposal: members, or a collective. The reply's salutation follows it.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProposerKind {
    /// One or more members (委员).
    #[default]
    Member,
    /// A party (党派).
    Party,
    /// A people's organisation (人民团体).
    Group,
    /// A sector (界别).
    Sector,
    /// A special committee (专委会).
    Committee,
}

impl ProposerKind {
    pub const ALL: [ProposerKind; 5] = [
        Self::Member,
        Self::Party,
        Self::Group,
        Self::Sector,
        Self::Committee,
    ];

    /// Members, the default (which stored records and fingerprints leave out).
    pub fn is_member(&self) -> bool {
        *self == Self::Member
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "MEMBER",
            Self::Party => "PARTY",
            Self::Group => "GROUP",
            Self::Sector => "SECTOR",
            Self::Committee => "COMMITTEE",
        }
    }
}

/// The committee's refusal of a proposal (不予立案).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub reason: String,
    /// Where the content was forwarded as an opinion; empty if nowhere.
    pub forwarded_to: String,
}

/// The handling unit's reply, as drafted and later issued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub body: String,
    pub result_code: ResultCode,
    pub contact_unit: String,
    pub contact_phone: String,
}

/// What part a unit plays in handling a proposal (单办, 主办, 会办, 分办).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HandlingRole {
    /// The one unit handling the proposal (单办).
    #[default]
    Sole,
    /// The unit that consolidates the co-units' opinions and replies (主办).
    Lead,
    /// A unit that sends the lead its written opinion (会办).
    Co,
    /// One of several units that each reply on their own (分办).
    Split,
}

impl HandlingRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sole => "SOLE",
            Self::Lead => "LEAD",
            Self::Co => "CO",
            Self::Split => "SPLIT",
        }
    }
}

/// How a unit reached the proposer (联系方式).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ContactMethod {
    Phone,
    Meeting,
    Visit,
    Letter,
    Online,
    Other,
}

impl ContactMethod {
    pub const ALL: [ContactMethod; 6] = [
        Self::Phone,
        Self::Meeting,
        Self::Visit,
        Self::Letter,
        Self::Online,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phone => "PHONE",
            Self::Meeting => "MEETING",
            Self::Visit => "VISIT",
            Self::Letter => "LETTER",
            Self::Online => "ONLINE",
            Self::Other => "OTHER",
        }
    }
}

/// A contact of the handling unit with the proposers (走访, 座谈, 电话), as the unit records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// The day of the contact.
    pub contact_date: CalendarDate,
    pub method: ContactMethod,
    /// The proposers contacted (each one of the proposal's proposers).
    pub proposers: Vec<String>,
    pub summary: String,
}

/// A unit's request to move its due date, and the office's decision once made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    /// The effective date of the request.
    pub requested_on: Option<CalendarDate>,
    pub new_due_date: CalendarDate,
    pub reason: String,
    /// `None` while pending.
    pub decision: Option<OfficeDecision>,
}

/// A unit's request to give a proposal back as outside its remit (申请退回), and the office's
/// decision once made. An approved one ends the handling, so only pending and refused ones
/// are seen on a handling (the events keep all).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnRequest {
    pub requested_on: Option<CalendarDate>,
    pub reason: String,
    pub decision: Option<OfficeDecision>,
}

/// A co-unit's written opinion to the lead unit (会办意见), a document of its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opinion {
    pub body: String,
    /// Its own document number; empty if it has none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub document_number: String,
    pub contact_person: String,
    pub contact_phone: String,
}

/// The office's decision on a unit's request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficeDecision {
    pub approved: bool,
    pub note: String,
    pub decided_on: Option<CalendarDate>,
}

/// One unit's part in handling a proposal: its role, its deadline, and what it recorded along
/// the way. For a sole handling the reply, signer and document are the proposal's own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handling {
    pub unit: String,
    pub role: HandlingRole,
    /// The effective date of the assignment (`None` for assignments recorded before them).
    pub assigned_on: Option<CalendarDate>,
    /// The due date the assignment set.
    pub original_due_date: Option<CalendarDate>,
    /// The due date in force: the assignment's, or the latest approved extension's.
    pub due_date: Option<CalendarDate>,
    /// When the unit signed for receipt (签收).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_on: Option<CalendarDate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<Contact>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<Extension>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub return_requests: Vec<ReturnRequest>,
    /// A co-unit's latest opinion, and the effective date it was submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opinion: Option<Opinion>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opinion_submitted_on: Option<CalendarDate>,
    /// When a later opinion replaced the first: the first's date (what "on time" is judged
    /// by); absent while there is one opinion, and in records from before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_opinion_on: Option<CalendarDate>,
    /// A SPLIT handling's own reply and where it stands; `None` for the other roles, whose
    /// reply is the proposal's (a LEAD's) or the lead's (a CO's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<Box<SplitReply>>,
}

/// What a SPLIT handling (分办) holds that a sole handling leaves to the proposal: each unit
/// drafts, signs, issues and copies its own reply, and moves through the states on its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitReply {
    /// ASSIGNED to COPIED.
    pub state: ProposalState,
    /// The draft in force; `None` before a draft and after a rejection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Reply>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// The day the leader signed (成文日期), printed as the document's date line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_date: Option<CalendarDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_date: Option<CalendarDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuing_office: Option<String>,
    /// The 抄送 line printed on the document at issue.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub copy_to: Vec<String>,
    /// Whether the issued reply may be published.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub public: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub copied_to: Vec<String>,
}

impl SplitReply {
    /// A split handling just assigned: no reply yet.
    pub fn assigned() -> Self {
        Self {
            state: ProposalState::Assigned,
            reply: None,
            signer: None,
            sign_date: None,
            document_number: None,
            issue_date: None,
            issuing_office: None,
            copy_to: Vec::new(),
            public: false,
            copied_to: Vec::new(),
        }
    }
}

impl Handling {
    /// The handling an assignment to `unit` in `role` on `assigned_on` opens.
    pub fn new(
        unit: String,
        role: HandlingRole,
        assigned_on: Option<CalendarDate>,
        due_date: Option<CalendarDate>,
    ) -> Self {
        Self {
            unit,
            role,
            assigned_on,
            original_due_date: due_date,
            due_date,
            acknowledged_on: None,
            contacts: Vec::new(),
            extensions: Vec::new(),
            return_requests: Vec::new(),
            opinion: None,
            opinion_submitted_on: None,
            first_opinion_on: None,
            split: (role == HandlingRole::Split).then(|| Box::new(SplitReply::assigned())),
        }
    }

    /// Whether this handling replies to the proposers (SOLE, LEAD, SPLIT), rather than writing
    /// to the lead (CO).
    pub fn replies(&self) -> bool {
        self.role != HandlingRole::Co
    }

    /// The extension request waiting for the office's decision, if any.
    pub fn pending_extension(&self) -> Option<&Extension> {
        self.extensions.last().filter(|e| e.decision.is_none())
    }

    /// The return request waiting for the office's decision, if any.
    pub fn pending_return(&self) -> Option<&ReturnRequest> {
        self.return_requests.last().filter(|r| r.decision.is_none())
    }
}

/// Whether a proposal is overdue on `day`: it has a due date before `day`, and no reply was
/// issued on or before `day` (by the issue date printed on the document). A proposal not
/// accepted, or never assigned, has no due date and is never overdue. A split proposal is
/// overdue when one of its units is, by that unit's own due date and reply.
pub fn overdue(
    due_date: Option<CalendarDate>,
    state: ProposalState,
    issue_date: Option<CalendarDate>,
    handlings: &[Handling],
    day: CalendarDate,
) -> bool {
    let late = |due: Option<CalendarDate>, state: ProposalState, issued: Option<CalendarDate>| {
        let issued = state.has_issued() && issued.is_some_and(|issued| issued <= day);
        due.is_some_and(|due| due < day) && !issued
    };
    let mut split = handlings
        .iter()
        .filter_map(|h| Some((h, h.split.as_deref()?)));
    match split.next() {
        None => late(due_date, state, issue_date),
        Some(first) => std::iter::once(first)
            .chain(split)
            .any(|(h, part)| late(h.due_date, part.state, part.issue_date)),
    }
}

/// How satisfied a proposer is (满意度), with the result of the handling or with the unit's
/// attitude.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Satisfaction {
    /// 满意
    Satisfied,
    /// 基本满意
    BasicallySatisfied,
    /// 不满意
    NotSatisfied,
}

impl Satisfaction {
    pub const ALL: [Satisfaction; 3] = [
        Self::Satisfied,
        Self::BasicallySatisfied,
        Self::NotSatisfied,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Satisfied => "SATISFIED",
            Self::BasicallySatisfied => "BASICALLY_SATISFIED",
            Self::NotSatisfied => "NOT_SATISFIED",
        }
    }
}

/// A proposer's verdict on the reply (征询意见表), as the office records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    /// One of the proposal's proposers (a collective by its name).
    pub proposer: String,
    /// On the result of the handling.
    pub satisfaction: Satisfaction,
    /// On the unit's attitude, where the form asks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attitude: Option<Satisfaction>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
}

/// A recorded verdict and the effective date it was recorded on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackRecord {
    #[serde(flatten)]
    pub feedback: Feedback,
    pub recorded_on: Option<CalendarDate>,
}

/// The office's designation of a key proposal (重点提案), supervised by a named leader.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyDesignation {
    /// The leader who supervises it (督办领导); may be empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub supervisor: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// The effective date of the designation.
    pub since: Option<CalendarDate>,
}

/// The office's closing of a proposal (办结).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    pub closed_on: Option<CalendarDate>,
}

/// A round of handling that ended when the office reopened the proposal (重新办理): the
/// replies it issued and dispatched, and the proposers' verdicts on them. Earlier rounds stay
/// readable; the current round's are the proposal's own fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Round {
    /// 1 for the first handling.
    pub round: u32,
    /// Each replying unit's reply as the round left it: a sole or lead unit's one, or a split
    /// proposal's one per unit.
    pub replies: Vec<RoundReply>,
    /// The verdicts recorded in the round, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feedback: Vec<FeedbackRecord>,
    /// The effective date of the reopening that ended it.
    pub reopened_on: Option<CalendarDate>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reopen_reason: String,
}

/// One unit's reply in an earlier round.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundReply {
    pub unit: String,
    pub role: HandlingRole,
    /// The due date in force when the round ended, extensions included.
    pub due_date: Option<CalendarDate>,
    /// The reply, its signing, issue and dispatch.
    #[serde(flatten)]
    pub reply: SplitReply,
}

/// A proposal merged into another (并案), as the other one records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergedProposal {
    pub id: ProposalId,
    /// Its number in the same committee and session.
    pub number: u32,
}

/// A proposal as it stands now. Always exactly the fold of its events (see [`super::fold`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub id: ProposalId,
    pub committee: String,
    pub session: String,
    pub number: u32,
    pub title: String,
    pub proposers: Vec<String>,
    pub proposer_kind: ProposerKind,
    pub content: String,
    pub state: ProposalState,
    pub handling_unit: Option<String>,
    pub due_date: Option<CalendarDate>,
    pub reply: Option<Reply>,
    pub signer: Option<String>,
    /// The day the leader signed (成文日期): the document's date line. `None` before signing,
    /// and for replies signed before the date was recorded (their date line is the issue
    /// date, as it was printed).
    pub sign_date: Option<CalendarDate>,
    pub document_number: Option<String>,
    pub issue_date: Option<CalendarDate>,
    pub issuing_office: Option<String>,
    /// The 抄送 line of the document as issued (its 版记); empty for replies issued before it
    /// was recorded, whose copy line is the dispatch's recipients.
    pub copy_to: Vec<String>,
    /// Whether the issued reply may be published (公开).
    pub public: bool,
    /// Where the reply was sent besides the proposers (送达), once copied.
    pub copied_to: Vec<String>,
    /// Set when the committee did not accept the proposal.
    pub refusal: Option<Refusal>,
    /// Set when MERGED: the proposal it was merged into, which answers it.
    pub merged_into: Option<ProposalId>,
    /// The proposals merged into this one, in the order they were merged.
    pub merged: Vec<MergedProposal>,
    /// Set while it is a key proposal (重点提案).
    pub key: Option<KeyDesignation>,
    /// The proposers' verdicts on the reply, in the order recorded (one per proposer).
    pub feedback: Vec<FeedbackRecord>,
    /// Set when CLOSED.
    pub closure: Option<Closure>,
    /// The rounds of handling that ended in a reopening (重新办理), oldest first; the current
    /// round, number `rounds.len() + 1`, is in the fields above.
    pub rounds: Vec<Round>,
    /// The units handling it now: one SOLE handling, or a LEAD one first and its CO ones, or
    /// SPLIT ones, while assigned; none while RECEIVED. A split proposal's `state` is that of
    /// its least advanced split handling, and its own reply fields stay empty: each split
    /// handling holds its own.
    pub handlings: Vec<Handling>,
    /// The effective date of the latest event that has one: no later act may be dated before.
    pub last_act_date: Option<CalendarDate>,
    /// The number of events so far.
    pub version: u64,
    pub received_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Proposal {
    /// The handling of `unit`, or with an empty `unit` the one replying handling, if exactly
    /// one (a sole or lead handling, or a split proposal's last unit).
    pub fn handling(&self, unit: &str) -> Option<&Handling> {
        if unit.is_empty() {
            let mut replying = self.handlings.iter().filter(|h| h.replies());
            return replying.next().filter(|_| replying.next().is_none());
        }
        self.handlings.iter().find(|h| h.unit == unit)
    }

    /// Whether its units each reply on their own (分办).
    pub fn is_split(&self) -> bool {
        self.handlings.iter().any(|h| h.split.is_some())
    }

    /// The state of its least advanced split handling (`None` if it has none): a split
    /// proposal's state.
    pub fn split_state(&self) -> Option<ProposalState> {
        self.handlings
            .iter()
            .filter_map(|h| Some(h.split.as_deref()?.state))
            .min()
    }

    /// The state of its most advanced split handling, else its state: what a move of the whole
    /// proposal (the office's withdrawal, a merge into it) must find not yet drafted.
    pub fn furthest_state(&self) -> ProposalState {
        self.handlings
            .iter()
            .filter_map(|h| Some(h.split.as_deref()?.state))
            .max()
            .unwrap_or(self.state)
    }

    /// The units co-handling it (会办), in the assignment's order.
    pub fn co_units(&self) -> impl Iterator<Item = &str> {
        self.handlings
            .iter()
            .filter(|h| h.role == HandlingRole::Co)
            .map(|h| h.unit.as_str())
    }

    /// The CO handlings whose opinion the lead still waits for.
    pub fn pending_opinions(&self) -> impl Iterator<Item = &Handling> {
        self.handlings
            .iter()
            .filter(|h| h.role == HandlingRole::Co && h.opinion.is_none())
    }

    /// Whether `unit` handles the proposal in any role: what a unit-bound caller may read.
    pub fn handled_by(&self, unit: &str) -> bool {
        self.handlings.iter().any(|h| h.unit == unit)
    }

    /// The sole or lead reply as a split unit's would hold it: its state, draft, signature,
    /// document and dispatch (a split proposal's are empty: each unit holds its own).
    pub fn own_reply(&self) -> SplitReply {
        SplitReply {
            state: self.state,
            reply: self.reply.clone(),
            signer: self.signer.clone(),
            sign_date: self.sign_date,
            document_number: self.document_number.clone(),
            issue_date: self.issue_date,
            issuing_office: self.issuing_office.clone(),
            copy_to: self.copy_to.clone(),
            public: self.public,
            copied_to: self.copied_to.clone(),
        }
    }

    /// Puts `part` in the proposal's own reply fields and state: [`Self::own_reply`] reversed.
    pub fn set_own_reply(&mut self, part: &SplitReply) {
        self.state = part.state;
        self.reply.clone_from(&part.reply);
        self.signer.clone_from(&part.signer);
        self.sign_date = part.sign_date;
        self.document_number.clone_from(&part.document_number);
        self.issue_date = part.issue_date;
        self.issuing_office.clone_from(&part.issuing_office);
        self.copy_to.clone_from(&part.copy_to);
        self.public = part.public;
        self.copied_to.clone_from(&part.copied_to);
    }

    /// The current round of handling: 1 until the office reopens it.
    pub fn round(&self) -> u32 {
        u32::try_from(self.rounds.len()).map_or(u32::MAX, |n| n.saturating_add(1))
    }

    /// See [`overdue`].
    pub fn is_overdue_on(&self, day: CalendarDate) -> bool {
        overdue(
            self.due_date,
            self.state,
            self.issue_date,
            &self.handlings,
            day,
        )
    }
}
