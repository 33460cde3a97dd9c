mod common;

// Every way a request can be refused, over real gRPC: the status code, the machine-readable
// details (ErrorInfo, BadRequest, ResourceInfo), and that a refused request changes nothing.
// Idempotent retries and optimistic concurrency are in `idempotency.rs`.

use std::collections::HashMap;

use common::calls::{Call, drive_all, listing, ok, refused, trace};
use common::lifecycle::{ALL_STATES, Command, State, drive, state_name};
use common::requests::{self as rq, CommandRequest, SEED, edited, next_number, receive};
use common::status::{describe, error_info, violated_fields};
use common::{Client, TestServer};
use proposal_service::pb;
use tokio::task::JoinSet;
use tonic::Code;
use tonic_types::StatusExt;

// 1. Commands outside their states.

#[tokio::test]
async fn every_command_outside_its_states_fails_precondition_and_changes_nothing() {
    let server = TestServer::start().await;
    let mut states = JoinSet::new();
    for state in ALL_STATES {
        states.spawn(refuse_all_but_the_allowed(server.client.clone(), state));
    }
    let refusals: usize = states.join_all().await.into_iter().sum();
    // With the refusals checked, this pins the allowed list to the lifecycle's nine moves on
    // an existing proposal.
    assert_eq!(refusals, ALL_STATES.len() * Command::ON_EXISTING.len() - 9);
}

// 2. Bad inputs.

#[tokio::test]
async fn bad_inputs_are_invalid_arguments_naming_the_field_and_change_nothing() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let mut at = HashMap::new();
    for state in ALL_STATES {
        at.insert(state, drive(client, state).await);
    }
    let unchanged = listing(client).await;
    for (what, call, field) in bad_requests(&at) {
        let status = refused(client, call).await;
        let fields = violated_fields(&status);
        assert!(fields.iter().any(|f| f == field), "{what}: {fields:?}");
        // Only the bad field may be named (for a missing message, also its sub-fields).
        let within = |f: &String| {
            f == field || f.starts_with(&format!("{field}.")) || f.starts_with(&format!("{field}["))
        };
        assert!(fields.iter().all(within), "{what}: {fields:?}");
        assert_eq!(listing(client).await, unchanged, "{what} changed something");
    }
}

#[tokio::test]
async fn values_at_the_limits_are_accepted() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let request = pb::ReceiveProposalRequest {
        committee: "会".repeat(200),
        title: "题".repeat(500),
        proposers: (0..100)
            .map(|i| format!("{}{i:03}", "委".repeat(197)))
            .collect(),
        content: "文".repeat(100_000),
        request_id: "r".repeat(128),
        ..receive(next_number())
    };
    let received = ok(client, request).await;
    let assigned = ok(client, rq::assign(&received)).await;
    let long_body = edited(rq::draft(&assigned), |r| {
        r.reply.as_mut().unwrap().body = "字".repeat(100_000)
    });
    let drafted = ok(client, long_body).await;
    assert_eq!(drafted.reply.unwrap().body.chars().count(), 100_000);
}

// 3. The transport cap.

#[tokio::test]
async fn requests_over_the_transport_cap_are_refused_out_of_range_and_store_nothing() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let assigned = drive(client, State::Assigned).await;
    let two_mib = "a".repeat(2 * 1024 * 1024);
    let oversized: [Call; 2] = [
        edited(receive(next_number()), |r| r.content = two_mib.clone()).into(),
        edited(rq::draft(&assigned), |r| {
            r.reply.as_mut().unwrap().body = two_mib.clone()
        })
        .into(),
    ];
    let unchanged = listing(client).await;
    for call in oversized {
        let status = refused(client, call).await;
        // tonic refuses a message over max_decoding_message_size with OUT_OF_RANGE, before
        // decoding it (an over-long text that got through would be INVALID_ARGUMENT instead).
        assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
        assert_eq!(listing(client).await, unchanged);
    }
}

// 4. Unknown proposals.

#[tokio::test]
async fn unknown_proposal_ids_are_not_found_everywhere() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    drive(client, State::Drafted).await;
    let unknown = uuid::Uuid::now_v7().to_string();
    let ghost = pb::Proposal {
        id: unknown.clone(),
        number: next_number(),
        ..Default::default()
    };
    let commands =
        Command::ON_EXISTING.map(|command| CommandRequest::valid(command, &ghost).into());
    let calls = [
        Call::Get(rq::get(&unknown)),
        Call::History(rq::history(&unknown)),
    ]
    .into_iter()
    .chain(commands);
    let unchanged = listing(client).await;
    for call in calls {
        let what = describe(&call, 300);
        let status = refused(client, call).await;
        assert_eq!(status.code(), Code::NotFound, "{what}: {status:?}");
        let resource = status.get_details_resource_info().expect("ResourceInfo");
        assert_eq!(resource.resource_name, unknown, "{what}");
        assert_eq!(listing(client).await, unchanged, "{what} changed something");
    }
}

// 5. Uniqueness.

#[tokio::test]
async fn a_proposal_number_is_unique_within_its_committee_and_session() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let first = ok(client, receive(228)).await;

    let unchanged = listing(client).await;
    let again = edited(receive(228), |r| r.title = "关于另一件事的提案".into());
    let status = refused(client, again).await;
    let metadata = error_info(&status, Code::AlreadyExists, "DUPLICATE_PROPOSAL_NUMBER");
    assert_eq!(metadata["existingProposalId"], first.id);
    assert_eq!(metadata["number"], "228");
    assert_eq!(listing(client).await, unchanged);

    let elsewhere = [
        edited(receive(228), |r| r.session = "七届四次会议".into()),
        edited(receive(228), |r| r.committee = "郑州市政协".into()),
    ];
    for request in elsewhere {
        let other = ok(client, request).await;
        assert_ne!(other.id, first.id);
    }
    assert_eq!(listing(client).await.len(), 3);
}

#[tokio::test]
async fn a_document_number_names_one_document_across_proposals() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let [first, second] = drive_all(client, State::Signed, 2)
        .await
        .try_into()
        .unwrap();
    let issue_as = |p: &pb::Proposal, number: &str| {
        edited(rq::issue(p), |r| r.document_number = number.into())
    };
    let document_number = &SEED.document_number;
    ok(client, issue_as(&first, document_number)).await;

    let unchanged = listing(client).await;
    let status = refused(client, issue_as(&second, document_number)).await;
    let metadata = error_info(&status, Code::AlreadyExists, "DUPLICATE_DOCUMENT_NUMBER");
    assert_eq!(metadata["existingProposalId"], first.id);
    assert_eq!(&metadata["documentNumber"], document_number);
    assert_eq!(listing(client).await, unchanged);
    assert_eq!(
        ok(client, Call::Get(rq::get(&second.id))).await.state(),
        State::Signed
    );

    let issued = ok(client, issue_as(&second, "许环〔2019〕14号")).await;
    assert_eq!(issued.state(), State::Issued);
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Sends every command `state` does not allow to a proposal in `state`, checking each refusal
/// and that the proposal and its history stay exactly as they were; returns how many.
async fn refuse_all_but_the_allowed(mut client: Client, state: State) -> usize {
    let client = &mut client;
    let proposal = drive(client, state).await;
    let unchanged = trace(client, &proposal.id).await;
    let refused_commands = Command::ON_EXISTING
        .into_iter()
        .filter(|c| !c.allowed_in(state));
    let mut refusals = 0;
    for command in refused_commands {
        let at = format!("{command:?} in {state:?}");
        let status = refused(client, CommandRequest::valid(command, &proposal)).await;
        let metadata = error_info(&status, Code::FailedPrecondition, "INVALID_TRANSITION");
        assert_eq!(metadata["currentState"], state_name(state), "{at}");
        assert_eq!(metadata["command"], command.rpc_name(), "{at}");
        assert_eq!(
            trace(client, &proposal.id).await,
            unchanged,
            "{at} changed it"
        );
        refusals += 1;
    }
    refusals
}

/// Requests with one bad field, each aimed where it would otherwise succeed (a fresh number,
/// a proposal in the command's state), and the field the refusal must name.
fn bad_requests(at: &HashMap<State, pb::Proposal>) -> Vec<(&'static str, Call, &'static str)> {
    let target = |command: Command| &at[&command.usual_state().unwrap()];
    let signed = target(Command::Sign);
    let receiving = |change: fn(&mut pb::ReceiveProposalRequest)| -> Call {
        edited(receive(next_number()), change).into()
    };
    let assigning = |change: fn(&mut pb::AssignProposalRequest)| -> Call {
        edited(rq::assign(target(Command::Assign)), change).into()
    };
    let drafting = |change: fn(&mut pb::DraftReplyRequest)| -> Call {
        edited(rq::draft(target(Command::Draft)), change).into()
    };
    let replying = |change: fn(&mut pb::Reply)| -> Call {
        edited(rq::draft(target(Command::Draft)), |r| {
            change(r.reply.as_mut().unwrap())
        })
        .into()
    };
    let issuing = |change: fn(&mut pb::IssueReplyRequest)| -> Call {
        edited(rq::issue(target(Command::Issue)), change).into()
    };
    let signing =
        |change: fn(&mut pb::SignReplyRequest)| -> Call { edited(rq::sign(signed), change).into() };
    let rejecting = |change: fn(&mut pb::RejectDraftRequest)| -> Call {
        edited(rq::reject(target(Command::RejectDraft)), change).into()
    };
    let returning = |change: fn(&mut pb::ReturnProposalRequest)| -> Call {
        edited(rq::return_(target(Command::Return)), change).into()
    };
    let copying = |change: fn(&mut pb::CopyReplyRequest)| -> Call {
        edited(rq::copy(target(Command::Copy)), change).into()
    };
    let refusing = |change: fn(&mut pb::RefuseProposalRequest)| -> Call {
        edited(rq::refuse(target(Command::Refuse)), change).into()
    };
    let listing_state = |state| {
        Call::List(pb::ListProposalsRequest {
            state,
            ..Default::default()
        })
    };
    #[rustfmt::skip]
    let mut cases = vec![
        ("empty title",            receiving(|r| r.title.clear()),                      "title"),
        ("blank committee",        receiving(|r| r.committee = " \u{3000}\t".into()),    "committee"),
        ("number 0",               receiving(|r| r.number = 0),                         "number"),
        ("no proposers",           receiving(|r| r.proposers.clear()),                  "proposers"),
        ("repeated proposer",      receiving(|r| r.proposers = names(&["苏会兴", "王芳", "苏会兴"])), "proposers[2]"),
        ("proposer too long",      receiving(|r| r.proposers = vec!["苏".repeat(201)]), "proposers[0]"),
        ("101 proposers",          receiving(|r| r.proposers = numbered("委员", 101)),  "proposers"),
        ("NUL in content",         receiving(|r| r.content = "建议加强\0环境保护".into()), "content"),
        ("501-character title",    receiving(|r| r.title = "题".repeat(501)),           "title"),
        ("no actor on receive",    receiving(|r| r.actor.clear()),                      "actor"),
        ("no actor on a command",  signing(|r| r.actor.clear()),                        "actor"),
        ("129-char request_id",    signing(|r| r.request_id = "r".repeat(129)),         "request_id"),
        ("due_date 2019-02-29",    assigning(|r| r.due_date = "2019-02-29".into()),     "due_date"),
        ("due_date 2019/09/29",    assigning(|r| r.due_date = "2019/09/29".into()),     "due_date"),
        ("no issue_date",          issuing(|r| r.issue_date.clear()),                   "issue_date"),
        ("issue_date 2019/09/29",  issuing(|r| r.issue_date = "2019/09/29".into()),     "issue_date"),
        ("100,001-character body", replying(|r| r.body = "字".repeat(100_001)),         "reply.body"),
        ("no reply",               drafting(|r| r.reply = None),                        "reply"),
        ("result code 0",          replying(|r| r.result_code = 0),                     "reply.result_code"),
        ("result code 99",         replying(|r| r.result_code = 99),                    "reply.result_code"),
        ("repeated recipient",     copying(|r| r.recipients = vec!["市政协提案委".into(); 2]), "recipients[1]"),
        ("sign date not a date",   signing(|r| r.sign_date = "2019-09-31".into()),      "sign_date"),
        ("repeated copy_to",       issuing(|r| r.copy_to = vec!["市政府督查室".into(); 2]), "copy_to[1]"),
        ("no signer",              signing(|r| r.signer.clear()),                       "signer"),
        ("no return reason",       returning(|r| r.reason.clear()),                     "reason"),
        ("blank rejection reason", rejecting(|r| r.reason = " \n".into()),              "reason"),
        ("no refusal reason",      refusing(|r| r.reason.clear()),                      "reason"),
        ("ESC in forwarded_to",    refusing(|r| r.forwarded_to = "信访局\u{1b}".into()),  "forwarded_to"),
        ("effective 2019-13-01",   refusing(|r| r.effective_date = "2019-13-01".into()), "effective_date"),
        ("effective 2019/03/01",   receiving(|r| r.effective_date = "2019/03/01".into()), "effective_date"),
        ("proposer kind 9",        receiving(|r| r.proposer_kind = 9),                  "proposer_kind"),
        ("state filter 42",        listing_state(42),                                   "state"),
        ("state filter -1",        listing_state(-1),                                   "state"),
    ];
    // The id without hyphens is a real proposal's, so a lenient parser would find it.
    for id in ["not-a-uuid", "", &signed.id.replace('-', "")] {
        let sign_it = Call::from(edited(rq::sign(signed), |r| r.proposal_id = id.into()));
        for call in [
            Call::Get(rq::get(id)),
            Call::History(rq::history(id)),
            sign_it,
        ] {
            cases.push(("malformed proposal_id", call, "proposal_id"));
        }
    }
    cases
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|name| name.to_string()).collect()
}

/// `count` distinct names: `prefix0`, `prefix1`, ...
fn numbered(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix}{i}")).collect()
}
