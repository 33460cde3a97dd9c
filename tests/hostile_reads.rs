mod common;

// Hostile input over gRPC, reads: GetProposal, ListProposals and GetProposalHistory with hostile
// ids, filters, page sizes, tokens and views (and arbitrary bytes decoded as those requests)
// against two seeded proposals. Each is answered with exactly the code the oracle predicts, and
// an OK answer is what was asked for. `PROPTEST_CASES=2000 cargo test --test hostile_reads`
// runs more cases.

use common::hostile::{bytes, config, date, enum_value, hostile, proposal_id, runtime, short};
use common::oracle::{date_ok, uuid_ok, view_ok};
use common::{Client, TestServer};
use proposal_service::pb;
use proposal_service::server::MAX_MESSAGE_BYTES;
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use prost::Message;
use tonic::Code;

#[test]
fn reads_answer_hostile_input_with_the_right_code() {
    let runtime = runtime();
    let mut server = runtime.block_on(TestServer::start());
    let mut client = server.client.clone();
    let seeded = runtime.block_on(seed(&mut client));
    let mut runner = TestRunner::new(config(128, file!()));
    let result = runner.run(&read(), |read| {
        runtime.block_on(async {
            let mut client = server.connect().await;
            check_read(&mut client, &seeded, read).await
        })
    });
    runtime.block_on(server.stop());
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Two proposals in a committee of their own, and a page token of each kind for them.
struct Seeded {
    ids: Vec<String>,
    committee: String,
    list_token: String,
    history_token: String,
}

async fn seed(client: &mut Client) -> Seeded {
    let committee = "敌意输入测试政协".to_owned();
    let mut ids = Vec::new();
    for number in 1..=2 {
        let request = pb::ReceiveProposalRequest {
            committee: committee.clone(),
            session: "七届三次会议".into(),
            number,
            title: "标题".into(),
            proposers: vec!["苏会兴".into()],
            content: "内容".into(),
            request_id: String::new(),
            actor: "tester".into(),
            effective_date: String::new(),
            proposer_kind: pb::ProposerKind::Member as i32,
        };
        let p = client.receive_proposal(request).await.unwrap().into_inner();
        ids.push(p.proposal.unwrap().id);
    }
    let assign = pb::AssignProposalRequest {
        proposal_id: ids[0].clone(),
        handling_unit: "许昌市生态环境局".into(),
        due_date: String::new(),
        expected_version: None,
        request_id: String::new(),
        actor: "tester".into(),
        effective_date: String::new(),
        ..Default::default()
    };
    client.assign_proposal(assign).await.unwrap();
    let list = pb::ListProposalsRequest {
        committee: committee.clone(),
        page_size: 1,
        ..Default::default()
    };
    let list_token = client
        .list_proposals(list)
        .await
        .unwrap()
        .into_inner()
        .next_page_token;
    let history = pb::GetProposalHistoryRequest {
        proposal_id: ids[0].clone(),
        page_size: 1,
        page_token: String::new(),
    };
    let history_token = client
        .get_proposal_history(history)
        .await
        .unwrap()
        .into_inner()
        .next_page_token;
    assert!(!list_token.is_empty() && !history_token.is_empty());
    Seeded {
        ids,
        committee,
        list_token,
        history_token,
    }
}

/// A read, with indexes into the seeded values where the strategy wants a real one.
#[derive(Clone, Debug)]
enum Read {
    Get(pb::GetProposalRequest),
    List(pb::ListProposalsRequest),
    History(pb::GetProposalHistoryRequest),
}

/// Placeholders the case replaces with seeded values.
const SEEDED_ID: &str = "<seeded id>";
const SEEDED_ID_UPPER: &str = "<seeded id, upper case>";
const SEEDED_COMMITTEE: &str = "<seeded committee>";
const SEEDED_TOKEN: &str = "<seeded token>";

fn read() -> impl Strategy<Value = Read> {
    let id = prop_oneof![
        2 => Just(SEEDED_ID.to_owned()),
        1 => Just(SEEDED_ID_UPPER.to_owned()),
        3 => proposal_id(),
    ];
    let page_size = prop_oneof![
        Just(-1),
        Just(0),
        Just(1),
        Just(1000),
        Just(1001),
        any::<i32>()
    ];
    let token = prop_oneof![
        2 => Just(String::new()),
        1 => Just(SEEDED_TOKEN.to_owned()),
        2 => hostile(),
    ];
    let filter = || {
        prop_oneof![
            3 => Just(String::new()),
            1 => Just(SEEDED_COMMITTEE.to_owned()),
            1 => Just("许昌市生态环境局".to_owned()),
            2 => hostile(),
        ]
    };
    let get = (id.clone(), enum_value())
        .prop_map(|(proposal_id, view)| Read::Get(pb::GetProposalRequest { proposal_id, view }));
    let list = (
        enum_value(),
        filter(),
        filter(),
        filter(),
        page_size.clone(),
        token.clone(),
        enum_value(),
        (
            enum_value(),
            prop_oneof![3 => Just(String::new()), 1 => date()],
            enum_value(),
        ),
    )
        .prop_map(
            |(
                state,
                handling_unit,
                committee,
                session,
                page_size,
                page_token,
                view,
                (proposer_kind, overdue_on, handling_role),
            )| {
                Read::List(pb::ListProposalsRequest {
                    proposer: String::new(),
                    state,
                    handling_unit,
                    committee,
                    session,
                    page_size,
                    page_token,
                    view,
                    proposer_kind,
                    overdue_on,
                    handling_role,
                    key_only: false,
                })
            },
        );
    let history = (id, page_size, token).prop_map(|(proposal_id, page_size, page_token)| {
        Read::History(pb::GetProposalHistoryRequest {
            proposal_id,
            page_size,
            page_token,
        })
    });
    let decoded = (0u8..3, bytes()).prop_filter_map("does not decode", |(kind, bytes)| {
        let bytes = bytes.as_slice();
        match kind {
            0 => pb::GetProposalRequest::decode(bytes).ok().map(Read::Get),
            1 => pb::ListProposalsRequest::decode(bytes).ok().map(Read::List),
            _ => pb::GetProposalHistoryRequest::decode(bytes)
                .ok()
                .map(Read::History),
        }
    });
    prop_oneof![
        2 => get,
        3 => list,
        3 => history,
        2 => decoded,
    ]
}

/// Replaces the placeholders with the seeded values.
fn resolve(read: Read, seeded: &Seeded) -> Read {
    let id = |text: String| match text.as_str() {
        SEEDED_ID => seeded.ids[0].clone(),
        SEEDED_ID_UPPER => seeded.ids[0].to_uppercase(),
        _ => text,
    };
    let committee = |text: String| {
        if text == SEEDED_COMMITTEE {
            seeded.committee.clone()
        } else {
            text
        }
    };
    let token = |text: String, seeded_token: &str| {
        if text == SEEDED_TOKEN {
            seeded_token.to_owned()
        } else {
            text
        }
    };
    match read {
        Read::Get(r) => Read::Get(pb::GetProposalRequest {
            proposal_id: id(r.proposal_id),
            ..r
        }),
        Read::List(r) => Read::List(pb::ListProposalsRequest {
            handling_unit: committee(r.handling_unit),
            committee: committee(r.committee),
            session: committee(r.session),
            page_token: token(r.page_token, &seeded.list_token),
            ..r
        }),
        Read::History(r) => Read::History(pb::GetProposalHistoryRequest {
            proposal_id: id(r.proposal_id),
            page_token: token(r.page_token, &seeded.history_token),
            ..r
        }),
    }
}

/// The codes a read may be answered with; an OK answer is checked further by the caller.
fn expected_read_codes(read: &Read, seeded: &Seeded) -> Vec<Code> {
    let known = |id: &str| seeded.ids.iter().any(|s| s.eq_ignore_ascii_case(id));
    let encoded = match read {
        Read::Get(r) => r.encoded_len(),
        Read::List(r) => r.encoded_len(),
        Read::History(r) => r.encoded_len(),
    };
    if encoded > MAX_MESSAGE_BYTES {
        return vec![Code::OutOfRange];
    }
    match read {
        Read::Get(r) if !uuid_ok(&r.proposal_id) || !view_ok(r.view) => {
            vec![Code::InvalidArgument]
        }
        Read::Get(r) if known(&r.proposal_id) => vec![Code::Ok],
        Read::Get(_) => vec![Code::NotFound],
        Read::List(r) => {
            let seeded_query = r.state == 0
                && r.handling_unit.is_empty()
                && r.committee == seeded.committee
                && r.session.is_empty()
                && r.proposer_kind == 0
                && r.overdue_on.is_empty()
                && r.handling_role == 0;
            let token_ok =
                r.page_token.is_empty() || (r.page_token == seeded.list_token && seeded_query);
            let filters_ok = (0..=7).contains(&r.state)
                && (0..=5).contains(&r.proposer_kind)
                && (0..=4).contains(&r.handling_role)
                && (r.overdue_on.is_empty() || date_ok(&r.overdue_on));
            if !filters_ok || r.page_size < 0 || !token_ok || !view_ok(r.view) {
                vec![Code::InvalidArgument]
            } else {
                vec![Code::Ok]
            }
        }
        Read::History(r) => {
            let page_ok = r.page_size >= 0
                && (r.page_token.is_empty()
                    || (r.page_token == seeded.history_token
                        && r.proposal_id.eq_ignore_ascii_case(&seeded.ids[0])));
            if !uuid_ok(&r.proposal_id) {
                vec![Code::InvalidArgument]
            } else if known(&r.proposal_id) {
                vec![if page_ok {
                    Code::Ok
                } else {
                    Code::InvalidArgument
                }]
            } else if page_ok {
                vec![Code::NotFound]
            } else {
                // Both are wrong: either may be reported first.
                vec![Code::NotFound, Code::InvalidArgument]
            }
        }
    }
}

async fn check_read(client: &mut Client, seeded: &Seeded, read: Read) -> Result<(), TestCaseError> {
    let read = resolve(read, seeded);
    let expected = expected_read_codes(&read, seeded);
    let shown = short(&read);
    let code = match read.clone() {
        Read::Get(r) => match client.get_proposal(r.clone()).await {
            Ok(answer) => {
                let p = answer.into_inner().proposal.unwrap_or_default();
                prop_assert!(
                    p.id.eq_ignore_ascii_case(&r.proposal_id),
                    "asked for {}, got {}",
                    r.proposal_id,
                    p.id
                );
                // The seeded proposals have content: only a basic view leaves it out.
                let basic = r.view == pb::ProposalView::Basic as i32;
                prop_assert_eq!(p.content.is_empty(), basic, "for {}", shown);
                Code::Ok
            }
            Err(status) => status.code(),
        },
        Read::List(r) => match client.list_proposals(r.clone()).await {
            Ok(answer) => {
                let page = answer.into_inner();
                let limit = match r.page_size {
                    0 => 50,
                    n => n.min(1000) as usize,
                };
                prop_assert!(page.proposals.len() <= limit, "page too long: {shown}");
                for p in &page.proposals {
                    let matches = (r.state == 0 || p.state == r.state)
                        && (r.handling_unit.is_empty() || p.handling_unit == r.handling_unit)
                        && (r.committee.is_empty() || p.committee == r.committee)
                        && (r.session.is_empty() || p.session == r.session);
                    prop_assert!(matches, "{} does not match {shown}", short(p));
                }
                Code::Ok
            }
            Err(status) => status.code(),
        },
        Read::History(r) => match client.get_proposal_history(r.clone()).await {
            Ok(answer) => {
                let page = answer.into_inner();
                let first = if r.page_token.is_empty() { 1 } else { 2 };
                for (i, e) in page.events.iter().enumerate() {
                    prop_assert_eq!(e.sequence, first + i as u64, "for {}", shown);
                }
                Code::Ok
            }
            Err(status) => status.code(),
        },
    };
    prop_assert!(
        expected.contains(&code),
        "{shown}: answered {code:?}, expected one of {expected:?}"
    );
    Ok(())
}
