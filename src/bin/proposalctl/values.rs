//! The command-line spelling of the proto's enums and times, both ways: the values flags accept
//! (`--state issued`, `--kind reply-issued`, `--result A`, `--after 2019-09-29T00:00:00+08:00`)
//! and the short names text output shows. JSON output uses the proto's own enum names instead
//! (see `json.rs`).

use clap::ValueEnum;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use proposal_service::pb;
use proposal_service::pb::proposal_event::Data;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

/// A protobuf enum whose values are offered as flag values (`--state`, `--kind`).
pub trait ProtoFlag: Copy + TryFrom<i32> + Send + Sync + 'static {
    /// What every value's proto name starts with, e.g. `EVENT_KIND_`.
    const PREFIX: &'static str;

    fn proto_name(self) -> &'static str;

    /// The flag spelling: the proto name without the prefix, in lower case with hyphens
    /// (`EVENT_KIND_REPLY_ISSUED` → `reply-issued`).
    fn flag_name(self) -> String {
        self.proto_name()
            .trim_start_matches(Self::PREFIX)
            .to_ascii_lowercase()
            .replace('_', "-")
    }

    /// Every value but `UNSPECIFIED` (0), in the proto's order.
    fn values() -> impl Iterator<Item = Self> {
        (1..=u8::MAX).filter_map(|number| Self::try_from(i32::from(number)).ok())
    }
}

impl ProtoFlag for pb::ProposalState {
    const PREFIX: &'static str = "PROPOSAL_STATE_";

    fn proto_name(self) -> &'static str {
        self.as_str_name()
    }
}

impl ProtoFlag for pb::ProposerKind {
    const PREFIX: &'static str = "PROPOSER_KIND_";

    fn proto_name(self) -> &'static str {
        self.as_str_name()
    }
}

impl ProtoFlag for pb::ContactMethod {
    const PREFIX: &'static str = "CONTACT_METHOD_";

    fn proto_name(self) -> &'static str {
        self.as_str_name()
    }
}

impl ProtoFlag for pb::HandlingRole {
    const PREFIX: &'static str = "HANDLING_ROLE_";

    fn proto_name(self) -> &'static str {
        self.as_str_name()
    }
}

impl ProtoFlag for pb::RequestStatus {
    const PREFIX: &'static str = "REQUEST_STATUS_";

    fn proto_name(self) -> &'static str {
        self.as_str_name()
    }
}

impl ProtoFlag for pb::Satisfaction {
    const PREFIX: &'static str = "SATISFACTION_";

    fn proto_name(self) -> &'static str {
        self.as_str_name()
    }
}

impl ProtoFlag for pb::EventKind {
    const PREFIX: &'static str = "EVENT_KIND_";

    fn proto_name(self) -> &'static str {
        self.as_str_name()
    }
}

/// Parses a flag into a proto enum value: its values are read from the proto, so a value
/// added there is a flag value here (and listed in `--help`) without a change to proposalctl.
/// Case is ignored.
pub fn proto_flag<E: ProtoFlag>() -> impl TypedValueParser<Value = E> {
    let names = E::values().map(|value| PossibleValue::new(value.flag_name()));
    PossibleValuesParser::new(names).map(|name: String| {
        E::values()
            .find(|value| value.flag_name().eq_ignore_ascii_case(&name))
            .expect("the parser accepts only the listed names")
    })
}

/// How much of a proposal to read (`--view`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ViewArg {
    /// Everything but the content and the reply.
    Basic,
    /// The whole proposal.
    Full,
}

impl ViewArg {
    /// The request's value; no flag leaves the choice to the server (FULL for one proposal,
    /// BASIC for a listing).
    pub fn to_pb(view: Option<Self>) -> i32 {
        let view = match view {
            None => pb::ProposalView::Unspecified,
            Some(Self::Basic) => pb::ProposalView::Basic,
            Some(Self::Full) => pb::ProposalView::Full,
        };
        view as i32
    }
}

/// The name text output gives an event: its kind's flag spelling, e.g. `reply-issued`.
pub fn kind_name(data: &Data) -> String {
    let kind = match data {
        Data::Received(_) => pb::EventKind::ProposalReceived,
        Data::Assigned(_) => pb::EventKind::ProposalAssigned,
        Data::Returned(_) => pb::EventKind::ProposalReturned,
        Data::Drafted(_) => pb::EventKind::ReplyDrafted,
        Data::DraftRejected(_) => pb::EventKind::DraftRejected,
        Data::Signed(_) => pb::EventKind::ReplySigned,
        Data::Issued(_) => pb::EventKind::ReplyIssued,
        Data::Copied(_) => pb::EventKind::ReplyCopied,
        Data::Refused(_) => pb::EventKind::ProposalRefused,
        Data::Acknowledged(_) => pb::EventKind::AssignmentAcknowledged,
        Data::Contacted(_) => pb::EventKind::ProposerContacted,
        Data::ExtensionRequested(_) => pb::EventKind::ExtensionRequested,
        Data::ExtensionDecided(_) => pb::EventKind::ExtensionDecided,
        Data::ReturnRequested(_) => pb::EventKind::ReturnRequested,
        Data::ReturnDecided(_) => pb::EventKind::ReturnDecided,
        Data::OpinionSubmitted(_) => pb::EventKind::OpinionSubmitted,
        Data::Merged(_) => pb::EventKind::ProposalMerged,
        Data::MergeJoined(_) => pb::EventKind::MergeJoined,
        Data::FeedbackRecorded(_) => pb::EventKind::FeedbackRecorded,
        Data::Closed(_) => pb::EventKind::ProposalClosed,
        Data::KeySet(_) => pb::EventKind::KeyProposalSet,
        Data::Reopened(_) => pb::EventKind::ProposalReopened,
    };
    kind.flag_name()
}

/// A handling result code (办理结果) as a flag value (`--result A`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ResultArg {
    /// Solved, or the suggestion adopted.
    #[value(name = "A")]
    A,
    /// Being solved, or in the plan.
    #[value(name = "B")]
    B,
    /// Cannot be solved now for objective reasons, which the reply explains.
    #[value(name = "C")]
    C,
    /// Kept for reference (留作参考), where the rules allow it.
    #[value(name = "D")]
    D,
}

impl ResultArg {
    pub fn to_pb(self) -> pb::ResultCode {
        match self {
            Self::A => pb::ResultCode::A,
            Self::B => pb::ResultCode::B,
            Self::C => pb::ResultCode::C,
            Self::D => pb::ResultCode::D,
        }
    }
}

/// A state as text output shows it: `ISSUED`; `-` for none (before the first event).
pub fn state_name(value: i32) -> String {
    match pb::ProposalState::try_from(value) {
        Ok(pb::ProposalState::Unspecified) => "-".to_owned(),
        Ok(state) => state
            .as_str_name()
            .trim_start_matches("PROPOSAL_STATE_")
            .to_owned(),
        Err(_) => format!("state {value}"),
    }
}

/// A result code as text output shows it: `A`.
pub fn result_name(value: i32) -> String {
    match pb::ResultCode::try_from(value) {
        Ok(pb::ResultCode::Unspecified) => "-".to_owned(),
        Ok(code) => code
            .as_str_name()
            .trim_start_matches("RESULT_CODE_")
            .to_owned(),
        Err(_) => format!("code {value}"),
    }
}

/// A value of a proto enum as text output shows it: its flag spelling (`phone`, `sole`,
/// `approved`); `-` for none, the number for a value this build does not know.
pub fn flag_name_of<E: ProtoFlag>(value: i32) -> String {
    match E::try_from(value) {
        Ok(known) if value != 0 => known.flag_name(),
        Ok(_) => "-".to_owned(),
        Err(_) => format!("{value}"),
    }
}

/// Reads `--after`/`--before`: an RFC 3339 time (`2019-09-29T08:00:00+08:00`), or a date
/// (`2019-09-29`), meaning its midnight UTC.
pub fn parse_time(text: &str) -> Result<prost_types::Timestamp, String> {
    let instant = OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|_| {
            Date::parse(text, format_description!("[year]-[month]-[day]"))
                .map(|date| date.midnight().assume_utc())
        })
        .map_err(|_| {
            "expected an RFC 3339 time such as 2019-09-29T08:00:00+08:00, or a date such as \
             2019-09-29"
                .to_owned()
        })?;
    Ok(prost_types::Timestamp {
        seconds: instant.unix_timestamp(),
        nanos: instant.nanosecond() as i32,
    })
}

/// A timestamp in RFC 3339, UTC; to the second unless `precise`.
pub fn format_time(timestamp: &prost_types::Timestamp, precise: bool) -> String {
    let nanos = if precise {
        timestamp.nanos.clamp(0, 999_999_999)
    } else {
        0
    };
    OffsetDateTime::from_unix_timestamp_nanos(
        i128::from(timestamp.seconds) * 1_000_000_000 + i128::from(nanos),
    )
    .ok()
    .and_then(|instant| instant.format(&Rfc3339).ok())
    .unwrap_or_else(|| format!("{}s after the epoch", timestamp.seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_rfc_3339_or_dates_and_print_back_in_utc() {
        let at = parse_time("2019-09-29T08:00:00.5+08:00").unwrap();
        assert_eq!(format_time(&at, true), "2019-09-29T00:00:00.5Z");
        assert_eq!(format_time(&at, false), "2019-09-29T00:00:00Z");
        let day = parse_time("2019-09-29").unwrap();
        assert_eq!(format_time(&day, false), "2019-09-29T00:00:00Z");
        assert!(parse_time("29/09/2019").is_err());
    }

    #[test]
    fn kinds_are_named_as_the_flag_spells_them() {
        assert_eq!(pb::EventKind::ReplyIssued.flag_name(), "reply-issued");
        assert_eq!(state_name(pb::ProposalState::Issued as i32), "ISSUED");
        assert_eq!(state_name(0), "-");
        assert_eq!(result_name(pb::ResultCode::A as i32), "A");
    }

    #[test]
    fn flags_offer_every_proto_value_but_unspecified() {
        let states: Vec<String> = pb::ProposalState::values().map(|s| s.flag_name()).collect();
        assert_eq!(
            states,
            [
                "received",
                "assigned",
                "drafted",
                "signed",
                "issued",
                "copied",
                "not-accepted",
                "merged",
                "closed"
            ]
        );
        let kinds = pb::EventKind::values().count();
        assert_eq!(kinds, pb::EventKind::ProposalReopened as usize);
        let methods: Vec<String> = pb::ContactMethod::values().map(|m| m.flag_name()).collect();
        assert_eq!(
            methods,
            ["phone", "meeting", "visit", "letter", "online", "other"]
        );
        assert_eq!(
            flag_name_of::<pb::RequestStatus>(pb::RequestStatus::Approved as i32),
            "approved"
        );
        let roles: Vec<String> = pb::HandlingRole::values().map(|r| r.flag_name()).collect();
        assert_eq!(roles, ["sole", "lead", "co", "split"]);
        assert_eq!(flag_name_of::<pb::HandlingRole>(0), "-");
        assert_eq!(flag_name_of::<pb::HandlingRole>(99), "99");
    }
}
