//! The command-line spelling of the proto's enums and times, both ways: the values flags accept
//! (`--state issued`, `--kind reply-issued`, `--result A`, `--after 2019-09-29T00:00:00+08:00`)
//! and the short names text output shows. JSON output uses the proto's own enum names instead
//! (see `json.rs`).

use clap::ValueEnum;
use proposal_service::pb;
use proposal_service::pb::proposal_event::Data;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

/// A proposal state as a flag value (`--state`, `--to-state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StateArg {
    Received,
    Assigned,
    Drafted,
    Signed,
    Issued,
    Copied,
}

impl StateArg {
    pub fn to_pb(self) -> pb::ProposalState {
        match self {
            Self::Received => pb::ProposalState::Received,
            Self::Assigned => pb::ProposalState::Assigned,
            Self::Drafted => pb::ProposalState::Drafted,
            Self::Signed => pb::ProposalState::Signed,
            Self::Issued => pb::ProposalState::Issued,
            Self::Copied => pb::ProposalState::Copied,
        }
    }
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

/// An event kind as a flag value (`--kind`); also the name text output gives each event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    ProposalReceived,
    ProposalAssigned,
    ProposalReturned,
    ReplyDrafted,
    DraftRejected,
    ReplySigned,
    ReplyIssued,
    ReplyCopied,
}

impl KindArg {
    pub fn to_pb(self) -> pb::EventKind {
        match self {
            Self::ProposalReceived => pb::EventKind::ProposalReceived,
            Self::ProposalAssigned => pb::EventKind::ProposalAssigned,
            Self::ProposalReturned => pb::EventKind::ProposalReturned,
            Self::ReplyDrafted => pb::EventKind::ReplyDrafted,
            Self::DraftRejected => pb::EventKind::DraftRejected,
            Self::ReplySigned => pb::EventKind::ReplySigned,
            Self::ReplyIssued => pb::EventKind::ReplyIssued,
            Self::ReplyCopied => pb::EventKind::ReplyCopied,
        }
    }

    /// The kind of an event's data.
    pub fn of(data: &Data) -> Self {
        match data {
            Data::Received(_) => Self::ProposalReceived,
            Data::Assigned(_) => Self::ProposalAssigned,
            Data::Returned(_) => Self::ProposalReturned,
            Data::Drafted(_) => Self::ReplyDrafted,
            Data::DraftRejected(_) => Self::DraftRejected,
            Data::Signed(_) => Self::ReplySigned,
            Data::Issued(_) => Self::ReplyIssued,
            Data::Copied(_) => Self::ReplyCopied,
        }
    }

    /// The flag spelling, e.g. `reply-issued`.
    pub fn name(self) -> String {
        self.to_possible_value()
            .map(|value| value.get_name().to_owned())
            .unwrap_or_default()
    }
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
}

impl ResultArg {
    pub fn to_pb(self) -> pb::ResultCode {
        match self {
            Self::A => pb::ResultCode::A,
            Self::B => pb::ResultCode::B,
            Self::C => pb::ResultCode::C,
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
        assert_eq!(KindArg::ReplyIssued.name(), "reply-issued");
        assert_eq!(state_name(pb::ProposalState::Issued as i32), "ISSUED");
        assert_eq!(state_name(0), "-");
        assert_eq!(result_name(pb::ResultCode::A as i32), "A");
    }
}
