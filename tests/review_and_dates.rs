mod common;

// The committee's review and the office's calendar, over real gRPC: a proposal not accepted
// (不予立案), proposals made by collectives and how their replies greet them, effective dates
// (the day an act happened in the office) and the due date the rules give an assignment, and
// the rules themselves (GetRules, and the server's --rules file).

use common::calls::ok;
use common::lifecycle::{Command, State};
use common::plans::{CLERK_A, REGISTRAR_1};
use common::process::{ServerProcess, Started, temp_data_dir};
use common::requests::{self, CommandFields, CommandRequest, FORWARDED_TO, REFUSE_REASON};
use common::status::{assert_invalid, error_info, violated_fields};
use common::{Client, TestServer};
use proposal_service::domain::{ResultCode, ResultCodeMeaning, Rules};
use proposal_service::pb;
use proposal_service::server::ServeOptions;
use tonic::Code;

// 1. Not accepted.

#[tokio::test]
async fn a_refused_proposal_says_why_and_accepts_nothing_more() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let received = requests::receive(requests::next_number()).dated("2019-02-20");
    let p = ok(client, received).await;
    let refused = ok(client, requests::refuse(&p).dated("2019-03-01")).await;
    assert_eq!(refused.state(), State::NotAccepted);
    let refusal = refused
        .refusal
        .clone()
        .expect("the refusal is on the proposal");
    assert_eq!(
        (refusal.reason.as_str(), refusal.forwarded_to.as_str()),
        (REFUSE_REASON, FORWARDED_TO)
    );
    assert_eq!(refused.last_act_date, "2019-03-01");

    let history = client
        .get_proposal_history(requests::history(&p.id))
        .await
        .unwrap()
        .into_inner()
        .events;
    let last = history.last().expect("two events");
    assert_eq!(last.effective_date, "2019-03-01");
    assert_eq!(last.to_state(), State::NotAccepted);
    match &last.data {
        Some(pb::proposal_event::Data::Refused(r)) => {
            assert_eq!(
                (r.reason.as_str(), r.forwarded_to.as_str()),
                (REFUSE_REASON, FORWARDED_TO)
            )
        }
        other => panic!("the last event is the refusal: {other:?}"),
    }

    // Terminal: every command is refused, and nothing is recorded.
    for command in Command::ON_EXISTING {
        let status = CommandRequest::valid(command, &refused)
            .send(client)
            .await
            .expect_err("nothing follows a refusal");
        let metadata = error_info(&status, Code::FailedPrecondition, "INVALID_TRANSITION");
        assert_eq!(metadata["currentState"], "NOT_ACCEPTED", "{command:?}");
    }
    let after = client
        .get_proposal(requests::get(&p.id))
        .await
        .unwrap()
        .into_inner()
        .proposal
        .unwrap();
    assert_eq!(after.version, refused.version);

    // Only a RECEIVED proposal can be refused, and only with a reason.
    let assigned = common::lifecycle::drive(client, State::Assigned).await;
    let status = CommandRequest::valid(Command::Refuse, &assigned)
        .send(client)
        .await
        .expect_err("an assigned proposal was accepted already");
    error_info(&status, Code::FailedPrecondition, "INVALID_TRANSITION");
    let p = ok(client, requests::receive(requests::next_number())).await;
    let without_reason = pb::RefuseProposalRequest {
        reason: String::new(),
        ..requests::refuse(&p)
    };
    assert_invalid(
        client.refuse_proposal(without_reason).await,
        "reason",
        "a refusal without a reason",
    );
    let listed = client
        .list_proposals(pb::ListProposalsRequest {
            state: pb::ProposalState::NotAccepted as i32,
            ..requests::list_all()
        })
        .await
        .unwrap()
        .into_inner()
        .proposals;
    assert_eq!(
        listed.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        [refused.id.as_str()],
        "the state filter finds the refused proposal"
    );
}

// 2. Who made it.

#[tokio::test]
async fn a_collective_is_greeted_by_its_name_and_members_as_members() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let party = pb::ReceiveProposalRequest {
        proposers: vec!["民革许昌市委员会".into()],
        proposer_kind: pb::ProposerKind::Party as i32,
        ..requests::receive(requests::next_number())
    };
    let p = issued(client, party).await;
    assert_eq!(p.proposer_kind(), pb::ProposerKind::Party);
    let text = rendered(client, &p.id).await;
    assert!(text.lines().any(|l| l == "民革许昌市委员会："), "{text}");
    assert!(!text.contains("委员会委员"), "{text}");

    let members = pb::ReceiveProposalRequest {
        proposers: vec!["张三".into(), "李四".into()],
        ..requests::receive(requests::next_number())
    };
    let p = issued(client, members).await;
    assert_eq!(
        p.proposer_kind(),
        pb::ProposerKind::Member,
        "unset means members"
    );
    let text = rendered(client, &p.id).await;
    assert!(text.lines().any(|l| l == "张三、李四委员："), "{text}");

    let unknown = pb::ReceiveProposalRequest {
        proposer_kind: 99,
        ..requests::receive(requests::next_number())
    };
    assert_invalid(
        client.receive_proposal(unknown).await,
        "proposer_kind",
        "an unknown proposer kind",
    );
}

/// Receives `registration` and takes it to ISSUED with the kit's requests.
async fn issued(client: &mut Client, registration: pb::ReceiveProposalRequest) -> pb::Proposal {
    common::lifecycle::drive_from(client, registration, State::Issued, CommandRequest::valid).await
}

async fn rendered(client: &mut Client, id: &str) -> String {
    client
        .render_reply(requests::render(id))
        .await
        .unwrap()
        .into_inner()
        .text
}

// 3. Effective dates.

#[tokio::test]
async fn acts_are_dated_as_they_happened_never_in_the_future_nor_before_the_last() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    let today = rules(client).await.today;

    // Undated: today in the rules' time zone.
    let p = ok(client, requests::receive(requests::next_number())).await;
    let after = rules(client).await.today;
    assert!(
        p.last_act_date == today || p.last_act_date == after,
        "dated {} on {today}",
        p.last_act_date
    );

    // Dated in the past, then the same day again: both fine, and recorded.
    let p = ok(
        client,
        requests::receive(requests::next_number()).dated("2019-06-03"),
    )
    .await;
    assert_eq!(p.last_act_date, "2019-06-03");
    let p = ok(
        client,
        requests::assign(&p).by(REGISTRAR_1).dated("2019-06-03"),
    )
    .await;
    assert_eq!(p.last_act_date, "2019-06-03");

    // Before the previous act: refused as a precondition, naming both dates.
    let status = CommandRequest::from(requests::draft(&p).by(CLERK_A).dated("2019-06-02"))
        .send(client)
        .await
        .expect_err("dated before the assignment");
    let metadata = error_info(&status, Code::FailedPrecondition, "EFFECTIVE_DATE_INVALID");
    assert_eq!(metadata["effectiveDate"], "2019-06-02");
    assert_eq!(metadata["previousActDate"], "2019-06-03");

    // In the future: an invalid argument on the field.
    let status = CommandRequest::from(requests::draft(&p).by(CLERK_A).dated("2999-01-01"))
        .send(client)
        .await
        .expect_err("dated in the future");
    let metadata = error_info(&status, Code::InvalidArgument, "EFFECTIVE_DATE_INVALID");
    assert_eq!(metadata["effectiveDate"], "2999-01-01");
    assert_eq!(violated_fields(&status), ["effective_date"]);

    // Not a date: named with the other problems of the request.
    for bad in ["2019-6-3", "2019-02-29", "yesterday"] {
        let request = pb::DraftReplyRequest {
            reply: None,
            ..requests::draft(&p).by(CLERK_A).dated(bad)
        };
        let status = client.draft_reply(request).await.expect_err(bad);
        let fields = violated_fields(&status);
        assert!(
            fields.contains(&"effective_date".to_owned()),
            "{bad}: {fields:?}"
        );
        assert!(
            fields
                .iter()
                .all(|f| f == "effective_date" || f.starts_with("reply")),
            "{bad}: {fields:?}"
        );
    }

    // Nothing of that was recorded; the history carries each act's date.
    let events = client
        .get_proposal_history(requests::history(&p.id))
        .await
        .unwrap()
        .into_inner()
        .events;
    let dates: Vec<&str> = events.iter().map(|e| e.effective_date.as_str()).collect();
    assert_eq!(dates, ["2019-06-03", "2019-06-03"]);
    let p = ok(client, requests::draft(&p).by(CLERK_A).dated("2019-07-01")).await;
    assert_eq!((p.version, p.last_act_date.as_str()), (3, "2019-07-01"));
}

#[tokio::test]
async fn an_assignment_without_a_due_date_is_due_the_rules_months_later() {
    let two_months = Rules {
        reply_months: 2,
        ..Rules::default()
    };
    for (rules, assigned, due) in [
        (Rules::default(), "2019-06-10", "2019-09-10"),
        (Rules::default(), "2019-11-30", "2020-02-29"),
        (two_months.clone(), "2019-06-10", "2019-08-10"),
        (two_months, "2019-12-31", "2020-02-29"),
    ] {
        let server = TestServer::start_with(ServeOptions {
            rules: rules.clone(),
            ..ServeOptions::default()
        })
        .await;
        let client = &mut server.client.clone();
        let p = ok(
            client,
            requests::receive(requests::next_number()).dated(assigned),
        )
        .await;
        let undated = pb::AssignProposalRequest {
            due_date: String::new(),
            ..requests::assign(&p).dated(assigned)
        };
        let p = ok(client, undated).await;
        assert_eq!(p.due_date, due, "{rules:?}, assigned {assigned}");
        // A due date given is kept as given.
        let returned = ok(client, requests::return_(&p).dated(assigned)).await;
        let p = ok(client, requests::assign(&returned).dated(assigned)).await;
        assert_eq!(p.due_date, requests::DUE_DATE);
    }
}

#[tokio::test]
async fn listings_filter_by_proposer_kind_and_by_overdue_on_a_day() {
    let server = TestServer::start().await;
    let client = &mut server.client.clone();
    // Both due 2019-08-31 (the kit's due date); one issued on 2019-09-29 (the seed's date).
    let assigned = common::lifecycle::drive(client, State::Assigned).await;
    let issued = common::lifecycle::drive(client, State::Issued).await;
    let party = ok(
        client,
        pb::ReceiveProposalRequest {
            proposers: vec!["民革许昌市委员会".into()],
            proposer_kind: pb::ProposerKind::Party as i32,
            ..requests::receive(requests::next_number())
        },
    )
    .await;
    let listed = |request: pb::ListProposalsRequest| {
        let mut client = server.client.clone();
        async move {
            let mut ids: Vec<String> = client
                .list_proposals(request)
                .await
                .unwrap()
                .into_inner()
                .proposals
                .into_iter()
                .map(|p| p.id)
                .collect();
            ids.sort();
            ids
        }
    };
    let overdue_on = |day: &str| pb::ListProposalsRequest {
        overdue_on: day.into(),
        ..requests::list_all()
    };
    let sorted = |mut ids: Vec<&String>| {
        ids.sort();
        ids.into_iter().cloned().collect::<Vec<_>>()
    };
    assert_eq!(listed(overdue_on("2019-08-31")).await, Vec::<String>::new());
    assert_eq!(
        listed(overdue_on("2019-09-01")).await,
        sorted(vec![&assigned.id, &issued.id]),
        "due before the day, not issued by it"
    );
    assert_eq!(
        listed(overdue_on("2019-10-01")).await,
        std::slice::from_ref(&assigned.id),
        "issued on 2019-09-29: no longer overdue"
    );
    let parties = pb::ListProposalsRequest {
        proposer_kind: pb::ProposerKind::Party as i32,
        ..requests::list_all()
    };
    assert_eq!(listed(parties).await, std::slice::from_ref(&party.id));
    let bad_day = pb::ListProposalsRequest {
        overdue_on: "2019-09-31".into(),
        ..requests::list_all()
    };
    assert_invalid(
        client.list_proposals(bad_day).await,
        "overdue_on",
        "a bad day",
    );
}

// 4. The rules.

async fn rules(client: &mut Client) -> pb::GetRulesResponse {
    client
        .get_rules(pb::GetRulesRequest {})
        .await
        .unwrap()
        .into_inner()
}

/// The national result classes, as GetRules shows the default rules'.
fn national() -> Vec<pb::ResultCodeMeaning> {
    ResultCodeMeaning::national()
        .into_iter()
        .zip(1..)
        .map(|(allowed, code)| pb::ResultCodeMeaning {
            code,
            meaning: allowed.meaning,
        })
        .collect()
}

/// Henan's four classes (D: kept for reference).
fn henan() -> Vec<ResultCodeMeaning> {
    let mut codes = ResultCodeMeaning::national();
    codes.push(ResultCodeMeaning {
        code: ResultCode::D,
        meaning: "留作参考".into(),
    });
    codes
}

/// A draft declares a result code the rules allow: D is refused under the national classes,
/// and accepted, and printed, under Henan's.
#[tokio::test]
async fn a_result_code_is_one_the_rules_allow() {
    let drafted_d = |p: &pb::Proposal| {
        let mut draft = requests::draft(p);
        draft.reply.as_mut().unwrap().result_code = pb::ResultCode::D as i32;
        draft
    };
    let national = TestServer::start().await;
    let mut client = national.client.clone();
    let p = ok(&mut client, requests::receive(41)).await;
    ok(&mut client, requests::assign(&p)).await;
    let refused = client.draft_reply(drafted_d(&p)).await;
    assert_invalid(refused, "reply.result_code", "D under the national classes");
    let henan_rules = Rules {
        result_codes: henan(),
        ..Rules::default()
    };
    let henan = TestServer::start_with(ServeOptions {
        rules: henan_rules,
        ..ServeOptions::default()
    })
    .await;
    let mut client = henan.client.clone();
    let p = ok(&mut client, requests::receive(41)).await;
    ok(&mut client, requests::assign(&p)).await;
    let drafted = ok(&mut client, drafted_d(&p)).await;
    assert_eq!(drafted.reply.unwrap().result_code, pb::ResultCode::D as i32);
    ok(&mut client, requests::sign(&p)).await;
    ok(&mut client, requests::issue(&p)).await;
    let rendered = client
        .render_reply(requests::render(&p.id))
        .await
        .unwrap()
        .into_inner();
    assert!(
        rendered.text.lines().any(|l| l == "办理结果：D"),
        "{}",
        rendered.text
    );
}

#[tokio::test]
async fn get_rules_shows_the_rules_in_force_and_today_in_their_zone() {
    let server = TestServer::start().await;
    let shown = rules(&mut server.client.clone()).await;
    assert_eq!(
        shown.rules,
        Some(pb::Rules {
            reply_months: 3,
            time_zone: "Asia/Shanghai".into(),
            max_extension_days: 90,
            contact_required_before_draft: false,
            return_window_days: 7,
            unit_may_return_directly: false,
            co_opinion_days: 30,
            require_co_opinions_before_sign: true,
            copy_to: Vec::new(),
            public_by_default: false,
            result_codes: national(),
            redo_months: 3,
            reopen_requires_dissatisfaction: true,
        })
    );
    let utc = Rules {
        reply_months: 6,
        time_zone: "UTC".into(),
        max_extension_days: 30,
        contact_required_before_draft: true,
        return_window_days: 3,
        unit_may_return_directly: true,
        co_opinion_days: 14,
        require_co_opinions_before_sign: false,
        copy_to: vec!["市政协提案委".into(), "市政府督查室".into()],
        public_by_default: true,
        result_codes: henan(),
        redo_months: 2,
        reopen_requires_dissatisfaction: false,
    };
    let server = TestServer::start_with(ServeOptions {
        rules: utc,
        ..ServeOptions::default()
    })
    .await;
    let shown = rules(&mut server.client.clone()).await;
    assert_eq!(
        shown.rules,
        Some(pb::Rules {
            reply_months: 6,
            time_zone: "UTC".into(),
            max_extension_days: 30,
            contact_required_before_draft: true,
            return_window_days: 3,
            unit_may_return_directly: true,
            co_opinion_days: 14,
            require_co_opinions_before_sign: false,
            copy_to: vec!["市政协提案委".into(), "市政府督查室".into()],
            public_by_default: true,
            redo_months: 2,
            reopen_requires_dissatisfaction: false,
            result_codes: henan()
                .into_iter()
                .zip(1..)
                .map(|(allowed, code)| pb::ResultCodeMeaning {
                    code,
                    meaning: allowed.meaning,
                })
                .collect(),
        })
    );
    assert_eq!(shown.today.len(), 10, "YYYY-MM-DD: {}", shown.today);
    // The rules' zone decides today: UTC's date is never ahead of Shanghai's, and at most a
    // day behind.
    let shanghai = rules(&mut TestServer::start().await.client.clone())
        .await
        .today;
    assert!(
        shown.today <= shanghai,
        "UTC {} vs Shanghai {shanghai}",
        shown.today
    );
}

#[test]
fn the_server_reads_its_rules_file_and_refuses_a_bad_one_naming_line_and_field() {
    let (temp, data_dir) = temp_data_dir();
    let good = temp.path().join("rules.toml");
    std::fs::write(
        &good,
        "# Henan\nreply_months = 2\ntime_zone = \"Asia/Shanghai\"\n",
    )
    .unwrap();
    match ServerProcess::start_listening(
        &data_dir,
        "127.0.0.1:0",
        &["--rules", good.to_str().unwrap()],
    ) {
        Started::Running(mut server) => {
            assert!(
                server
                    .log()
                    .iter()
                    .any(|l| l.contains("rules in force") && l.contains(r#""reply_months":2"#)),
                "{:?}",
                server.log()
            );
        }
        Started::Refused(status, log) => {
            panic!("a good rules file was refused ({status}): {log:?}")
        }
    }
    let bad = temp.path().join("bad.toml");
    std::fs::write(&bad, "reply_months = 2\nreturn_days = 5\n").unwrap();
    let (status, log) = match ServerProcess::start_listening(
        &data_dir,
        "127.0.0.1:0",
        &["--rules", bad.to_str().unwrap()],
    ) {
        Started::Refused(status, log) => (status, log.join("\n")),
        Started::Running(_) => panic!("a bad rules file was accepted"),
    };
    assert!(!status.success());
    assert!(
        log.contains("line 2") && log.contains("return_days"),
        "{log}"
    );
    assert!(log.contains("bad.toml"), "the file is named: {log}");
}

// 5. proposalctl.

#[tokio::test]
async fn proposalctl_refuses_dates_and_shows_the_rules() {
    use common::ctl::ctl;
    let server = TestServer::start().await;
    let p = ok(
        &mut server.client.clone(),
        requests::receive(requests::next_number()).dated("2019-02-20"),
    )
    .await;
    let run = ctl(
        &server,
        &[
            "refuse",
            &p.id,
            "--reason",
            REFUSE_REASON,
            "--forwarded-to",
            FORWARDED_TO,
            "--effective-date",
            "2019-03-01",
            "--actor",
            REGISTRAR_1,
            "--json",
        ],
    )
    .await
    .expect_success();
    let json = run.json();
    assert_eq!(json["state"], "PROPOSAL_STATE_NOT_ACCEPTED");
    assert_eq!(json["refusal"]["forwarded_to"], FORWARDED_TO);
    assert_eq!(json["last_act_date"], "2019-03-01");

    let run = ctl(&server, &["rules"]).await.expect_success();
    assert!(run.stdout.contains("reply_months"), "{}", run.stdout);
    assert!(run.stdout.contains("Asia/Shanghai"), "{}", run.stdout);
    let run = ctl(&server, &["rules", "--json"]).await.expect_success();
    assert_eq!(run.json()["rules"]["reply_months"], 3);

    let run = ctl(
        &server,
        &[
            "receive",
            "--committee",
            "许昌市政协",
            "--session",
            "七届三次会议",
            "--number",
            &requests::next_number().to_string(),
            "--title",
            "关于发展民营经济的提案",
            "--proposer",
            "民革许昌市委员会",
            "--proposer-kind",
            "party",
            "--content",
            "建议优化营商环境。",
            "--actor",
            REGISTRAR_1,
            "--json",
        ],
    )
    .await
    .expect_success();
    assert_eq!(run.json()["proposer_kind"], "PROPOSER_KIND_PARTY");
}
