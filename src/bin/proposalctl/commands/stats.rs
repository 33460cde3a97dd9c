//! `stats`: a session's figures as of a day (GetStatistics), for the office's reports: a
//! readable table, `--json`, or `--csv` for a spreadsheet. The three forms are written here,
//! beside the one command that prints them.

use std::fmt::Write as _;

use clap::Args;
use proposal_service::pb;
use serde_json::{Value, json};

use crate::connection::{Server, ServerArgs};
use crate::failure::Failure;
use crate::output::Output;

#[derive(Args, Debug)]
pub struct SessionStatistics {
    /// The committee, e.g. 许昌市政协.
    #[arg(long)]
    committee: String,
    /// The session, e.g. 七届三次会议.
    #[arg(long)]
    session: String,
    /// The day the figures are as of, YYYY-MM-DD: only acts effective on or before it count
    /// (default: today in the rules' time zone; never later).
    #[arg(long, value_name = "DATE")]
    as_of: Option<String>,
    /// Also one row per unit (as sole, lead, split or co-unit).
    #[arg(long)]
    by_unit: bool,
    /// Comma-separated values: the totals as one row, or with --by-unit the rows by unit.
    #[arg(long)]
    csv: bool,
}

impl SessionStatistics {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        if self.csv && output.is_json() {
            return Err(Failure::Usage("--csv and --json: choose one".into()));
        }
        let server = Server::connect(server).await?;
        let request = server.call(pb::GetStatisticsRequest {
            committee: self.committee,
            session: self.session,
            as_of: self.as_of.unwrap_or_default(),
            by_unit: self.by_unit,
        });
        let response = server.client().get_statistics(request).await?.into_inner();
        let totals = response
            .totals
            .clone()
            .ok_or_else(|| Failure::BadAnswer("statistics without their totals".into()))?;
        if self.csv {
            return output.line(csv(&response, &totals, self.by_unit).trim_end());
        }
        output.result(
            || table(&response, &totals, self.by_unit),
            || to_json(&response, &totals, self.by_unit),
        )
    }
}

/// A rate as a percentage with one decimal, or "–" when there is nothing to divide by.
fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "–".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

fn code_name(code: i32) -> &'static str {
    match pb::ResultCode::try_from(code) {
        Ok(pb::ResultCode::A) => "A",
        Ok(pb::ResultCode::B) => "B",
        Ok(pb::ResultCode::C) => "C",
        Ok(pb::ResultCode::D) => "D",
        Ok(pb::ResultCode::Unspecified) | Err(_) => "?",
    }
}

fn table(response: &pb::GetStatisticsResponse, t: &pb::Statistics, by_unit: bool) -> String {
    let codes = if t.result_codes.is_empty() {
        "none".to_owned()
    } else {
        t.result_codes
            .iter()
            .map(|c| format!("{} {}", code_name(c.code), c.count))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let rows: [(&str, String); 13] = [
        ("received", t.received.to_string()),
        (
            "accepted",
            format!(
                "{}  (not accepted {}, merged {})",
                t.accepted, t.not_accepted, t.merged
            ),
        ),
        ("assigned", t.assigned.to_string()),
        (
            "replied",
            format!("{}  reply rate {}", t.replied, percent(t.reply_rate)),
        ),
        (
            "replied on time",
            format!(
                "{}  on-time rate {}",
                t.replied_on_time,
                percent(t.on_time_rate)
            ),
        ),
        ("overdue", t.overdue.to_string()),
        ("result codes", codes),
        ("satisfied", t.satisfied.to_string()),
        ("basically satisfied", t.basically_satisfied.to_string()),
        (
            "not satisfied",
            format!(
                "{}  satisfaction rate {}",
                t.not_satisfied,
                percent(t.satisfaction_rate)
            ),
        ),
        ("reopened", t.reopened.to_string()),
        ("closed", t.closed.to_string()),
        (
            "key proposals",
            format!("{}  replied {}", t.key_proposals, t.key_replied),
        ),
    ];
    let mut text = format!(
        "{} {}, as of {}\n",
        response.committee, response.session, response.as_of
    );
    for (label, value) in rows {
        let _ = writeln!(text, "  {label:<20} {value}");
    }
    if by_unit {
        text.push('\n');
        if response.units.is_empty() {
            text.push_str("no unit handles a proposal of the session on the day\n");
        } else {
            let _ = writeln!(
                text,
                "{:>5} {:>5} {:>5} {:>5} {:>7} {:>7} {:>7} {:>8} {:>7}  UNIT",
                "SOLE",
                "LEAD",
                "SPLIT",
                "CO",
                "REPLIED",
                "ON-TIME",
                "OVERDUE",
                "OPINIONS",
                "ON-TIME"
            );
            for u in &response.units {
                let _ = writeln!(
                    text,
                    "{:>5} {:>5} {:>5} {:>5} {:>7} {:>7} {:>7} {:>8} {:>7}  {}",
                    u.sole,
                    u.lead,
                    u.split,
                    u.co,
                    u.replied,
                    u.replied_on_time,
                    u.overdue,
                    u.opinions_submitted,
                    u.opinions_on_time,
                    u.unit
                );
            }
        }
    }
    text.trim_end().to_owned()
}

fn totals_json(t: &pb::Statistics) -> Value {
    json!({
        "received": t.received,
        "accepted": t.accepted,
        "not_accepted": t.not_accepted,
        "merged": t.merged,
        "assigned": t.assigned,
        "replied": t.replied,
        "replied_on_time": t.replied_on_time,
        "overdue": t.overdue,
        "reply_rate": t.reply_rate,
        "on_time_rate": t.on_time_rate,
        "result_codes": t.result_codes.iter().map(|c| json!({
            "code": code_name(c.code),
            "count": c.count,
        })).collect::<Vec<_>>(),
        "satisfied": t.satisfied,
        "basically_satisfied": t.basically_satisfied,
        "not_satisfied": t.not_satisfied,
        "satisfaction_rate": t.satisfaction_rate,
        "reopened": t.reopened,
        "closed": t.closed,
        "key_proposals": t.key_proposals,
        "key_replied": t.key_replied,
    })
}

fn unit_json(u: &pb::UnitStatistics) -> Value {
    json!({
        "unit": u.unit,
        "sole": u.sole,
        "lead": u.lead,
        "split": u.split,
        "co": u.co,
        "replied": u.replied,
        "replied_on_time": u.replied_on_time,
        "overdue": u.overdue,
        "opinions_submitted": u.opinions_submitted,
        "opinions_on_time": u.opinions_on_time,
    })
}

fn to_json(response: &pb::GetStatisticsResponse, t: &pb::Statistics, by_unit: bool) -> Value {
    let mut value = json!({
        "committee": response.committee,
        "session": response.session,
        "as_of": response.as_of,
        "totals": totals_json(t),
    });
    if by_unit {
        value["units"] = response.units.iter().map(unit_json).collect();
    }
    value
}

/// One CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

fn rate(rate: Option<f64>) -> String {
    rate.map(|r| format!("{r:.4}")).unwrap_or_default()
}

fn csv(response: &pb::GetStatisticsResponse, t: &pb::Statistics, by_unit: bool) -> String {
    let mut text = String::new();
    let head = [&response.committee, &response.session, &response.as_of].map(|f| field(f));
    if by_unit {
        text.push_str(
            "committee,session,as_of,unit,sole,lead,split,co,replied,replied_on_time,overdue,\
             opinions_submitted,opinions_on_time\n",
        );
        for u in &response.units {
            let counts = [
                u.sole,
                u.lead,
                u.split,
                u.co,
                u.replied,
                u.replied_on_time,
                u.overdue,
                u.opinions_submitted,
                u.opinions_on_time,
            ]
            .map(|n| n.to_string());
            let _ = writeln!(
                text,
                "{},{},{}",
                head.join(","),
                field(&u.unit),
                counts.join(",")
            );
        }
        return text;
    }
    let code = |name: &str| {
        t.result_codes
            .iter()
            .filter(|c| code_name(c.code) == name)
            .map(|c| c.count)
            .sum::<u32>()
            .to_string()
    };
    text.push_str(
        "committee,session,as_of,received,accepted,not_accepted,merged,assigned,replied,\
         replied_on_time,overdue,reply_rate,on_time_rate,code_a,code_b,code_c,code_d,satisfied,\
         basically_satisfied,not_satisfied,satisfaction_rate,reopened,closed,key_proposals,\
         key_replied\n",
    );
    let values = [
        t.received.to_string(),
        t.accepted.to_string(),
        t.not_accepted.to_string(),
        t.merged.to_string(),
        t.assigned.to_string(),
        t.replied.to_string(),
        t.replied_on_time.to_string(),
        t.overdue.to_string(),
        rate(t.reply_rate),
        rate(t.on_time_rate),
        code("A"),
        code("B"),
        code("C"),
        code("D"),
        t.satisfied.to_string(),
        t.basically_satisfied.to_string(),
        t.not_satisfied.to_string(),
        rate(t.satisfaction_rate),
        t.reopened.to_string(),
        t.closed.to_string(),
        t.key_proposals.to_string(),
        t.key_replied.to_string(),
    ];
    let _ = writeln!(text, "{},{}", head.join(","), values.join(","));
    text
}
