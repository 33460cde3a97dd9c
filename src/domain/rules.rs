//! The local rules: the numbers that differ from one committee's 提案办理 rules to another's.
//! Configuration, not code: the server reads them from a TOML file (`--rules`), every field
//! optional with the default below. An event records what the rules made of it (a computed due
//! date), so changing the rules never rewrites history.

use serde::{Deserialize, Serialize};

use super::limits::{Limits, Violations};
use super::model::{CalendarDate, ResultCode};

/// The rules in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    /// A reply is due this many calendar months after the assignment, when the assignment names
    /// no due date (default 3).
    pub reply_months: u32,
    /// The IANA time zone whose calendar dates acts happen on: "today" for a request without an
    /// effective date (default `Asia/Shanghai`).
    pub time_zone: String,
    /// Extensions may move a due date at most this many calendar days beyond the assignment's
    /// (default 90).
    pub max_extension_days: u32,
    /// Whether a unit must record a contact with the proposers before it drafts its reply
    /// (default false).
    pub contact_required_before_draft: bool,
    /// A unit may ask to return a proposal within this many calendar days of its assignment
    /// (default 7).
    pub return_window_days: u32,
    /// Whether a handling unit may return a proposal by itself with `ReturnProposal` instead of
    /// asking the office (default false; the office may always withdraw an assignment).
    pub unit_may_return_directly: bool,
    /// A co-unit's opinion is due this many calendar days after the assignment, when the
    /// assignment names no `co_due_date` (default 30; never after the reply's due date).
    pub co_opinion_days: u32,
    /// Whether the lead unit's `SignReply` waits until every co-unit has submitted its opinion
    /// (default true).
    pub require_co_opinions_before_sign: bool,
    /// The recipients every reply's 抄送 line names unless its `IssueReply` gives its own, in
    /// order (default none; the seed's committee copies `市政协提案委` and `市政府督查室`). A
    /// lead unit's reply names its co-units after them.
    pub copy_to: Vec<String>,
    /// Whether an issued reply may be published (公开) unless its `IssueReply` says (default
    /// false).
    pub public_by_default: bool,
    /// The result codes (办理结果) a reply may declare, each with what it means here, in order
    /// (default A, B and C with the national meanings; Henan's cities add D, 留作参考).
    pub result_codes: Vec<ResultCodeMeaning>,
    /// A reopened proposal's new reply (重新办理) is due this many calendar months after the
    /// reopening, when `ReopenProposal` names no due date (default 3).
    pub redo_months: u32,
    /// Whether the office may reopen a proposal only when a proposer was not satisfied with
    /// the current round's reply (default true).
    pub reopen_requires_dissatisfaction: bool,
}

/// One allowed result code and its meaning under these rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultCodeMeaning {
    pub code: ResultCode,
    pub meaning: String,
}

impl ResultCodeMeaning {
    fn new(code: ResultCode, meaning: &str) -> Self {
        Self {
            code,
            meaning: meaning.to_owned(),
        }
    }

    /// The national classes: A, B and C.
    pub fn national() -> Vec<Self> {
        vec![
            Self::new(ResultCode::A, "所提问题已经解决或者采纳"),
            Self::new(ResultCode::B, "所提问题正在解决或者列入计划逐步解决"),
            Self::new(
                ResultCode::C,
                "因条件限制或者其他原因暂时不能解决，予以说明解释",
            ),
        ]
    }
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            reply_months: 3,
            time_zone: "Asia/Shanghai".to_owned(),
            max_extension_days: 90,
            contact_required_before_draft: false,
            return_window_days: 7,
            unit_may_return_directly: false,
            co_opinion_days: 30,
            require_co_opinions_before_sign: true,
            copy_to: Vec::new(),
            public_by_default: false,
            result_codes: ResultCodeMeaning::national(),
            redo_months: 3,
            reopen_requires_dissatisfaction: true,
        }
    }
}

/// Why a rules file is refused: where, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RulesError(pub String);

impl Rules {
    /// The bounds of `reply_months`.
    pub const REPLY_MONTHS: std::ops::RangeInclusive<u32> = 1..=24;
    /// The bounds of `max_extension_days`.
    pub const MAX_EXTENSION_DAYS: std::ops::RangeInclusive<u32> = 0..=366;
    /// The bounds of `return_window_days`.
    pub const RETURN_WINDOW_DAYS: std::ops::RangeInclusive<u32> = 0..=90;
    /// The bounds of `co_opinion_days`.
    pub const CO_OPINION_DAYS: std::ops::RangeInclusive<u32> = 1..=366;

    /// Reads rules from TOML text. A syntax error, an unknown field or a value of the wrong type
    /// names its line, column and field; a value out of range names its field.
    pub fn from_toml(text: &str) -> Result<Self, RulesError> {
        let rules: Rules = toml::from_str(text).map_err(|e| RulesError(e.to_string()))?;
        rules.check()?;
        Ok(rules)
    }

    fn check(&self) -> Result<(), RulesError> {
        if !Self::REPLY_MONTHS.contains(&self.reply_months) {
            return Err(RulesError(format!(
                "reply_months: {} is out of range (1 to 24)",
                self.reply_months
            )));
        }
        if !Self::REPLY_MONTHS.contains(&self.redo_months) {
            return Err(RulesError(format!(
                "redo_months: {} is out of range (1 to 24)",
                self.redo_months
            )));
        }
        if !Self::MAX_EXTENSION_DAYS.contains(&self.max_extension_days) {
            return Err(RulesError(format!(
                "max_extension_days: {} is out of range (0 to 366)",
                self.max_extension_days
            )));
        }
        if !Self::RETURN_WINDOW_DAYS.contains(&self.return_window_days) {
            return Err(RulesError(format!(
                "return_window_days: {} is out of range (0 to 90)",
                self.return_window_days
            )));
        }
        if !Self::CO_OPINION_DAYS.contains(&self.co_opinion_days) {
            return Err(RulesError(format!(
                "co_opinion_days: {} is out of range (1 to 366)",
                self.co_opinion_days
            )));
        }
        let mut names = Violations::default();
        names.optional_names("copy_to", &self.copy_to, Limits::MAX_RECIPIENTS);
        if let Err(violations) = names.into_result() {
            let v = &violations[0];
            return Err(RulesError(format!("{}: {}", v.field, v.description)));
        }
        if self.result_codes.is_empty() {
            return Err(RulesError(
                "result_codes: at least one code must be allowed".to_owned(),
            ));
        }
        for (i, allowed) in self.result_codes.iter().enumerate() {
            if self.result_codes[..i]
                .iter()
                .any(|a| a.code == allowed.code)
            {
                return Err(RulesError(format!(
                    "result_codes: {} is listed twice",
                    allowed.code.as_str()
                )));
            }
            let mut meaning = Violations::default();
            meaning.line("meaning", &allowed.meaning, Limits::REASON_CHARS);
            if meaning.into_result().is_err() {
                return Err(RulesError(format!(
                    "result_codes: the meaning of {} must be one line of 1 to {} characters",
                    allowed.code.as_str(),
                    Limits::REASON_CHARS
                )));
            }
        }
        if jiff::tz::TimeZone::get(&self.time_zone).is_err() {
            return Err(RulesError(format!(
                "time_zone: {:?} is not an IANA time zone name (e.g. \"Asia/Shanghai\")",
                self.time_zone
            )));
        }
        Ok(())
    }

    /// The due date of a reply assigned on `assigned`: [`Rules::reply_months`] later, on the
    /// same day of the month or the month's last day.
    pub fn due_date(&self, assigned: CalendarDate) -> CalendarDate {
        assigned.plus_months(self.reply_months)
    }

    /// The due date of the new reply of a proposal reopened on `reopened`:
    /// [`Rules::redo_months`] later.
    pub fn redo_due_date(&self, reopened: CalendarDate) -> CalendarDate {
        reopened.plus_months(self.redo_months)
    }

    /// The day co-units' opinions are due for an assignment on `assigned` due on `due_date`:
    /// [`Rules::co_opinion_days`] later, but not after the reply's own due date (even one
    /// before the assignment).
    pub fn co_due_date(&self, assigned: CalendarDate, due_date: CalendarDate) -> CalendarDate {
        assigned.plus_days(self.co_opinion_days).min(due_date)
    }

    /// Whether a reply may declare `code`.
    pub fn allows(&self, code: ResultCode) -> bool {
        self.result_codes.iter().any(|allowed| allowed.code == code)
    }

    /// The allowed codes, for messages: `A, B, C`.
    pub fn allowed_codes(&self) -> String {
        self.result_codes
            .iter()
            .map(|allowed| allowed.code.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The 抄送 line of a reply issued without one: the configured recipients, then the lead
    /// reply's `co_units` not among them.
    pub fn copy_line<'a>(&self, co_units: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let mut line = self.copy_to.clone();
        for unit in co_units {
            if !line.iter().any(|u| u == unit) {
                line.push(unit.to_owned());
            }
        }
        line
    }

    /// The calendar date of `unix_nanos` in the rules' time zone. The zone was checked when the
    /// rules were read; an unknown one (rules built in code) reckons in UTC.
    pub fn date_at(&self, unix_nanos: i64) -> CalendarDate {
        let zone = jiff::tz::TimeZone::get(&self.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        let instant = jiff::Timestamp::from_nanosecond(i128::from(unix_nanos))
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let date = instant.to_zoned(zone).date();
        CalendarDate::from_ymd(i32::from(date.year()), date.month() as u8, date.day() as u8)
            .unwrap_or(CalendarDate::MIN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> CalendarDate {
        CalendarDate::parse(text).unwrap()
    }

    #[test]
    fn an_empty_file_is_the_defaults() {
        assert_eq!(Rules::from_toml("").unwrap(), Rules::default());
        let rules = Rules::from_toml("reply_months = 2\ntime_zone = \"Europe/Berlin\"\n").unwrap();
        assert_eq!(rules.reply_months, 2);
        assert_eq!(rules.time_zone, "Europe/Berlin");
    }

    #[test]
    fn result_codes_are_a_set_with_meanings() {
        assert!(Rules::default().allows(ResultCode::C));
        assert!(!Rules::default().allows(ResultCode::D));
        let henan = Rules::from_toml(
            "[[result_codes]]\ncode = \"A\"\nmeaning = \"已解决或采纳\"\n\
             [[result_codes]]\ncode = \"D\"\nmeaning = \"留作参考\"\n",
        )
        .unwrap();
        assert!(henan.allows(ResultCode::D) && !henan.allows(ResultCode::B));
        assert_eq!(henan.allowed_codes(), "A, D");
        for (text, error) in [
            ("result_codes = []", "at least one"),
            (
                "[[result_codes]]\ncode = \"A\"\nmeaning = \"x\"\n\
                 [[result_codes]]\ncode = \"A\"\nmeaning = \"y\"\n",
                "A is listed twice",
            ),
            (
                "[[result_codes]]\ncode = \"A\"\nmeaning = \"\"\n",
                "meaning of A",
            ),
            (
                "[[result_codes]]\ncode = \"E\"\nmeaning = \"x\"\n",
                "unknown variant `E`",
            ),
        ] {
            let message = Rules::from_toml(text).unwrap_err().to_string();
            assert!(message.contains(error), "{text:?}: {message}");
        }
    }

    #[test]
    fn a_bad_file_names_the_line_and_the_field() {
        let unknown = Rules::from_toml("reply_months = 3\nreply_weeks = 2\n").unwrap_err();
        assert!(unknown.0.contains("line 2"), "{unknown}");
        assert!(unknown.0.contains("reply_weeks"), "{unknown}");
        let mistyped = Rules::from_toml("\n\nreply_months = \"three\"\n").unwrap_err();
        assert!(mistyped.0.contains("line 3"), "{mistyped}");
        assert!(mistyped.0.contains("reply_months"), "{mistyped}");
        let syntax = Rules::from_toml("reply_months = = 3\n").unwrap_err();
        assert!(syntax.0.contains("line 1"), "{syntax}");
        let range = Rules::from_toml("reply_months = 0").unwrap_err();
        assert!(range.0.starts_with("reply_months:"), "{range}");
        let zone = Rules::from_toml("time_zone = \"Mars/Olympus\"").unwrap_err();
        assert!(zone.0.starts_with("time_zone:"), "{zone}");
    }

    #[test]
    fn due_dates_count_calendar_months_and_clamp_to_the_months_end() {
        let rules = Rules::default();
        assert_eq!(rules.due_date(date("2019-06-10")), date("2019-09-10"));
        assert_eq!(rules.due_date(date("2019-11-30")), date("2020-02-29"));
        assert_eq!(rules.due_date(date("2019-10-31")), date("2020-01-31"));
        assert_eq!(rules.due_date(date("2021-11-30")), date("2022-02-28"));
    }

    #[test]
    fn co_opinions_are_due_days_later_but_not_after_the_reply() {
        let rules = Rules::default();
        let due = rules.due_date(date("2019-06-10"));
        assert_eq!(
            rules.co_due_date(date("2019-06-10"), due),
            date("2019-07-10")
        );
        assert_eq!(
            rules.co_due_date(date("2019-06-10"), date("2019-06-20")),
            date("2019-06-20")
        );
        let range = Rules::from_toml("co_opinion_days = 0").unwrap_err();
        assert!(range.0.starts_with("co_opinion_days:"), "{range}");
    }

    #[test]
    fn today_is_reckoned_in_the_rules_time_zone() {
        // 2019-09-28T17:00:00Z is already the 29th in Shanghai (UTC+8).
        let nanos = 1_569_690_000 * 1_000_000_000;
        assert_eq!(Rules::default().date_at(nanos), date("2019-09-29"));
        let utc = Rules {
            time_zone: "UTC".into(),
            ..Rules::default()
        };
        assert_eq!(utc.date_at(nanos), date("2019-09-28"));
    }
}
