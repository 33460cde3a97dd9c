//! The reads of proposals: one proposal, a list, one proposal's history, its rendered reply.

use clap::Args;
use proposal_service::pb;

use super::{Paging, all_pages, more, proposal_pages};
use crate::connection::{Server, ServerArgs};
use crate::failure::Failure;
use crate::output::Output;
use crate::values::{ViewArg, proto_flag};
use crate::{json, text};

#[derive(Args, Debug)]
pub struct GetProposal {
    /// The proposal's id.
    proposal_id: String,
    /// `basic` leaves out the content and the reply (default: full).
    #[arg(long, value_enum, ignore_case = true)]
    view: Option<ViewArg>,
}

impl GetProposal {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let server = Server::connect(server).await?;
        let request = pb::GetProposalRequest {
            proposal_id: self.proposal_id,
            view: ViewArg::to_pb(self.view),
        };
        let response = server.client().get_proposal(server.call(request)).await?;
        let proposal = response
            .into_inner()
            .proposal
            .ok_or_else(|| Failure::BadAnswer("no proposal in the answer".into()))?;
        output.result(
            || text::proposal(&proposal, true),
            || json::proposal(&proposal),
        )
    }
}

#[derive(Args, Debug)]
pub struct ListProposals {
    /// Only proposals in this state.
    #[arg(long, value_parser = proto_flag::<pb::ProposalState>(), ignore_case = true)]
    state: Option<pb::ProposalState>,
    /// Only proposals this unit is handling.
    #[arg(long, visible_alias = "unit", value_name = "UNIT")]
    handling_unit: Option<String>,
    /// Only proposals of this committee, e.g. 许昌市政协.
    #[arg(long)]
    committee: Option<String>,
    /// Only proposals of this session, e.g. 七届三次会议.
    #[arg(long)]
    session: Option<String>,
    /// Only proposals with a handling in this role (sole, lead, co, split); with --unit, that
    /// unit's handling.
    #[arg(long, value_parser = proto_flag::<pb::HandlingRole>(), ignore_case = true, value_name = "ROLE")]
    handling_role: Option<pb::HandlingRole>,
    /// Only proposals made by this kind of proposer (member, party, group, sector, committee).
    #[arg(long, value_parser = proto_flag::<pb::ProposerKind>(), ignore_case = true, value_name = "KIND")]
    proposer_kind: Option<pb::ProposerKind>,
    /// Only proposals overdue on this day (YYYY-MM-DD): due before it, no reply issued by it.
    #[arg(long, value_name = "DATE")]
    overdue_on: Option<String>,
    /// Only key proposals (重点提案).
    #[arg(long)]
    key_only: bool,
    /// Only proposals this member or collective made, e.g. 苏会兴.
    #[arg(long, value_name = "NAME")]
    proposer: Option<String>,
    /// `full` adds each proposal's content and reply (default: basic, without them).
    #[arg(long, value_enum, ignore_case = true)]
    view: Option<ViewArg>,
    #[command(flatten)]
    paging: Paging,
}

impl ListProposals {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let server = Server::connect(server).await?;
        let filter = pb::ListProposalsRequest {
            state: self.state.map_or(0, |s| s as i32),
            handling_unit: self.handling_unit.unwrap_or_default(),
            committee: self.committee.unwrap_or_default(),
            session: self.session.unwrap_or_default(),
            page_size: self.paging.page_size.unwrap_or_default(),
            page_token: String::new(),
            view: ViewArg::to_pb(self.view),
            proposer_kind: self.proposer_kind.map_or(0, |k| k as i32),
            overdue_on: self.overdue_on.unwrap_or_default(),
            key_only: self.key_only,
            proposer: self.proposer.unwrap_or_default(),
            handling_role: self.handling_role.map_or(0, |r| r as i32),
        };
        let (proposals, next) = proposal_pages(&server, &self.paging, filter).await?;
        output.result(
            || text::proposals(&proposals) + &more(&next),
            || json::proposals(&proposals, &next),
        )
    }
}

#[derive(Args, Debug)]
pub struct GetProposalHistory {
    /// The proposal's id.
    proposal_id: String,
    #[command(flatten)]
    paging: Paging,
}

impl GetProposalHistory {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let server = Server::connect(server).await?;
        let (events, next) = history(&server, &self.proposal_id, &self.paging).await?;
        output.result(
            || text::events(&events, false) + &more(&next),
            || json::events(&events, &next),
        )
    }
}

/// A proposal's events: the page `paging` asks for, or all of them with `--all`.
pub async fn history(
    server: &Server,
    proposal_id: &str,
    paging: &Paging,
) -> Result<(Vec<pb::ProposalEvent>, String), Failure> {
    all_pages(paging, |page_token| {
        let call = server.call(pb::GetProposalHistoryRequest {
            proposal_id: proposal_id.to_owned(),
            page_size: paging.page_size.unwrap_or_default(),
            page_token,
        });
        let mut client = server.client();
        async move {
            let page = client.get_proposal_history(call).await?.into_inner();
            Ok((page.events, page.next_page_token))
        }
    })
    .await
}

#[derive(Args, Debug)]
pub struct RenderReply {
    /// The id of an ISSUED or COPIED proposal.
    proposal_id: String,
    /// On a split proposal (分办): the unit whose reply to render.
    #[arg(long, visible_alias = "unit", value_name = "UNIT")]
    handling_unit: Option<String>,
    /// The round whose reply to render, of a reopened proposal (重新办理); default the current.
    #[arg(long, value_name = "N")]
    round: Option<u32>,
}

impl RenderReply {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let server = Server::connect(server).await?;
        let unit = self.handling_unit.unwrap_or_default();
        let document = render(&server, self.proposal_id, unit, self.round.unwrap_or(0)).await?;
        output.result(
            || document.text.trim_end_matches('\n').to_owned(),
            || json::rendered(&document),
        )
    }
}

#[derive(Args, Debug)]
pub struct GetRules {}

impl GetRules {
    pub async fn run(self, server: &ServerArgs, output: &Output) -> Result<(), Failure> {
        let server = Server::connect(server).await?;
        let request = server.call(pb::GetRulesRequest {});
        let response = server.client().get_rules(request).await?.into_inner();
        output.result(|| text::rules(&response), || json::rules(&response))
    }
}

pub async fn render(
    server: &Server,
    proposal_id: String,
    handling_unit: String,
    round: u32,
) -> Result<pb::RenderReplyResponse, tonic::Status> {
    let request = server.call(pb::RenderReplyRequest {
        proposal_id,
        handling_unit,
        round,
    });
    Ok(server.client().render_reply(request).await?.into_inner())
}
