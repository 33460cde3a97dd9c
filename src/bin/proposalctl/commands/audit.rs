//! The event log across proposals: list it (the audit trail), follow it live, verify it.

use clap::Args;
use proposal_service::pb;

use super::{Paging, all_pages, more};
use crate::connection::{Server, ServerArgs};
use crate::failure::Failure;
use crate::output::Output;
use crate::values::{parse_time, proto_flag};
use crate::{json, text};

#[derive(Args, Debug)]
pub struct ListEvents {
    /// Only events at or after this time: RFC 3339 (2019-09-29T08:00:00+08:00) or a date
    /// (2019-09-29, midnight UTC).
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    after: Option<prost_types::Timestamp>,
    /// Only events before this time, written as for --after.
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    before: Option<prost_types::Timestamp>,
    /// Only events recorded for this actor.
    #[arg(long)]
    actor: Option<String>,
    /// Only events of this kind; repeat for several.
    #[arg(long = "kind", value_parser = proto_flag::<pb::EventKind>(), value_name = "KIND")]
    kinds: Vec<pb::EventKind>,
    /// Only events of proposals this unit was handling when they occurred.
    #[arg(long, visible_alias = "handling-unit", value_name = "UNIT")]
    unit: Option<String>,
    /// Only events that brought their proposal to this state.
    #[arg(long, value_parser = proto_flag::<pb::ProposalState>(), ignore_case = true, value_name = "STATE")]
    to_state: Option<pb::ProposalState>,
    /// Only events of this proposal (its id).
    #[arg(long, value_name = "ID")]
    proposal: Option<String>,
    #[command(flatten)]
    paging: Paging,
}

impl ListEvents {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let server = Server::connect(server).await?;
        let filter = pb::ListEventsRequest {
            occurred_after: self.after,
            occurred_before: self.before,
            actor: self.actor.unwrap_or_default(),
            kinds: self.kinds.iter().map(|&k| k as i32).collect(),
            handling_unit: self.unit.unwrap_or_default(),
            to_state: self.to_state.map_or(0, |s| s as i32),
            proposal_id: self.proposal.unwrap_or_default(),
            page_size: self.paging.page_size.unwrap_or_default(),
            page_token: String::new(),
        };
        let (events, next) = all_pages(&self.paging, |page_token| {
            let call = server.call(pb::ListEventsRequest {
                page_token,
                ..filter.clone()
            });
            let mut client = server.client();
            async move {
                let page = client.list_events(call).await?.into_inner();
                Ok((page.events, page.next_page_token))
            }
        })
        .await?;
        output.result(
            || text::events(&events, true) + &more(&next),
            || json::events(&events, &next),
        )
    }
}

#[derive(Args, Debug)]
pub struct WatchEvents {
    /// Start after this log position (0: from the first event). To resume, pass the position
    /// of the last event seen.
    #[arg(long, default_value_t = 0, value_name = "POSITION")]
    after_position: u64,
    /// Only events of this proposal (its id).
    #[arg(long, value_name = "ID")]
    proposal: Option<String>,
    /// Only events of this kind; repeat for several.
    #[arg(long = "kind", value_parser = proto_flag::<pb::EventKind>(), value_name = "KIND")]
    kinds: Vec<pb::EventKind>,
    /// Only events of proposals this unit was handling when they occurred.
    #[arg(long, visible_alias = "handling-unit", value_name = "UNIT")]
    unit: Option<String>,
}

impl WatchEvents {
    /// Runs until Ctrl-C (exit 0), the end of the stream (0), or its failure: the server
    /// ends the stream with UNAVAILABLE when it stops (exit 3).
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let interrupted = interrupted();
        tokio::pin!(interrupted);
        let server = tokio::select! {
            server = Server::connect(server) => server?,
            () = &mut interrupted => return Ok(()),
        };
        let request = pb::WatchEventsRequest {
            after_position: self.after_position,
            proposal_id: self.proposal.unwrap_or_default(),
            kinds: self.kinds.iter().map(|&k| k as i32).collect(),
            handling_unit: self.unit.unwrap_or_default(),
        };
        // No deadline: the stream is meant to stay open.
        let mut client = server.client();
        let mut stream = tokio::select! {
            response = client.watch_events(tonic::Request::new(request)) => response?.into_inner(),
            () = &mut interrupted => return Ok(()),
        };
        if !output.is_json() {
            output.note(&format!(
                "watching events after position {}; Ctrl-C to stop",
                self.after_position
            ));
        }
        loop {
            let message = tokio::select! {
                message = stream.message() => message?,
                () = &mut interrupted => return Ok(()),
            };
            let Some(pb::WatchEventsResponse { event }) = message else {
                return Ok(());
            };
            let Some(event) = event else { continue };
            if output.is_json() {
                output.line(&json::event(&event).to_string())?;
            } else {
                output.line(&text::event_line(&event))?;
            }
        }
    }
}

/// Completes on Ctrl-C (SIGINT); never, if the handler cannot be installed.
async fn interrupted() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

#[derive(Args, Debug)]
pub struct VerifyHistory {}

impl VerifyHistory {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let server = Server::connect(server).await?;
        let request = server.call(pb::VerifyHistoryRequest {});
        let report = server.client().verify_history(request).await?.into_inner();
        output.result(
            || text::verification(&report),
            || json::verification(&report),
        )?;
        if report.ok {
            Ok(())
        } else {
            Err(Failure::Mismatch {
                problems: report.problems.len().max(1),
            })
        }
    }
}
