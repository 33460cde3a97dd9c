mod common;

// `proposalctl`, the real binary, against a real server on 127.0.0.1:0, one proposal at a time:
// every subcommand's help, a round trip in JSON, how refusals and an unreachable server are
// reported (and their exit codes), and a reply body read from stdin kept byte for byte.

use common::TestServer;
use common::ctl::{SUBCOMMANDS, ctl, ctl_with_stdin, receive_228, receive_228_with, run_ctl};
use proposal_service::seed;
use serde_json::Value;

#[test]
fn every_subcommand_has_help() {
    let top = run_ctl(None, &["--help"], None);
    assert_eq!(top.code, Some(0), "{top:#?}");
    for subcommand in SUBCOMMANDS {
        assert!(
            top.stdout.contains(&format!("\n  {subcommand} ")),
            "`proposalctl --help` lists {subcommand}"
        );
        let help = run_ctl(None, &[subcommand, "--help"], None);
        assert_eq!(help.code, Some(0), "{subcommand} --help: {help:#?}");
        assert!(
            help.stdout
                .contains(&format!("Usage: proposalctl {subcommand}")),
            "{subcommand} --help: {}",
            help.stdout
        );
        assert!(help.stdout.contains("--server <URL>"), "global options");
    }
}

#[tokio::test]
async fn receive_get_list_and_history_round_trip_in_json() {
    let mut server = TestServer::start().await;
    let received = receive_228(&server).await;
    let id = received["id"].as_str().expect("an id").to_owned();
    assert_eq!(received["state"], "PROPOSAL_STATE_RECEIVED");
    assert_eq!(received["version"], 1);
    assert_eq!(received["number"], 228);
    assert_eq!(received["proposers"], serde_json::json!(["苏会兴"]));
    assert_eq!(received["content"], seed::CONTENT);
    assert_eq!(received["reply"], Value::Null);

    let got = ctl(&server, &["--json", "get", &id]).await.expect_success();
    assert_eq!(got.json(), received, "get shows what receive returned");

    let basic = ctl(&server, &["--json", "get", &id, "--view", "basic"]).await;
    let basic = basic.expect_success().json();
    assert_eq!(basic["title"], received["title"]);
    assert_eq!(
        basic["content"], "",
        "the basic view leaves the content out"
    );
    let text = ctl(&server, &["get", &id, "--view", "basic"]).await;
    let text = text.expect_success().stdout;
    assert!(
        text.contains("title:") && !text.contains("content:"),
        "{text}"
    );

    let list = ctl(
        &server,
        &["--json", "list", "--state", "received", "--view", "full"],
    )
    .await
    .expect_success()
    .json();
    assert_eq!(list["proposals"].as_array().unwrap().len(), 1);
    assert_eq!(list["proposals"][0], received);
    assert_eq!(list["next_page_token"], "");
    let list = ctl(&server, &["--json", "list", "--state", "received"]).await;
    assert_eq!(
        list.expect_success().json()["proposals"][0],
        basic,
        "a listing is basic unless told"
    );
    let none = ctl(&server, &["--json", "list", "--state", "copied"]).await;
    assert_eq!(
        none.expect_success().json()["proposals"],
        serde_json::json!([])
    );

    let history = ctl(&server, &["--json", "history", &id, "--all"])
        .await
        .expect_success()
        .json();
    let events = history["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["kind"], "EVENT_KIND_PROPOSAL_RECEIVED");
    assert_eq!(events[0]["to_state"], "PROPOSAL_STATE_RECEIVED");
    assert_eq!(events[0]["request_id"], "receive/228");
    assert_eq!(events[0]["received"]["title"], received["title"]);

    // The text forms carry the same facts.
    let text = ctl(&server, &["get", &id]).await.expect_success().stdout;
    assert!(
        text.contains("state:") && text.contains("RECEIVED"),
        "{text}"
    );
    assert!(text.contains(seed::CONTENT), "get shows the whole content");
    let table = ctl(&server, &["list"]).await.expect_success().stdout;
    assert!(
        table.contains(&id) && table.contains("许昌市政协"),
        "{table}"
    );
    let table = ctl(&server, &["history", &id])
        .await
        .expect_success()
        .stdout;
    assert!(table.contains("proposal-received"), "{table}");

    // A change with a stale --expected-version is refused with its reason.
    let assign = [
        "assign",
        &id,
        "--handling-unit",
        "许昌市生态环境局",
        "--expected-version",
        "1",
        "--actor",
        "提案委登记员",
    ];
    let assigned = ctl(&server, &assign).await.expect_success().stdout;
    assert!(assigned.contains("ASSIGNED"), "{assigned}");
    let stale = ctl(&server, &assign).await;
    assert_eq!(stale.code, Some(1), "{stale:#?}");
    assert!(
        stale.stderr.starts_with("error: ABORTED: "),
        "{}",
        stale.stderr
    );
    assert!(
        stale.stderr.contains("reason: VERSION_MISMATCH"),
        "{}",
        stale.stderr
    );
    server.stop().await;
}

#[tokio::test]
async fn refusals_print_each_field_violation_and_exit_non_zero() {
    let mut server = TestServer::start().await;
    let refused = ctl(
        &server,
        &[
            "assign",
            "not-a-uuid",
            "--handling-unit",
            "许昌市生态环境局",
            "--actor",
            "",
        ],
    )
    .await;
    assert_eq!(refused.code, Some(1), "{refused:#?}");
    assert!(refused.stdout.is_empty());
    let lines: Vec<&str> = refused.stderr.lines().collect();
    assert!(
        lines[0].starts_with("error: INVALID_ARGUMENT: "),
        "{lines:?}"
    );
    assert!(
        lines.contains(
            &"  proposal_id: must be a UUID such as 0190a4e2-7c1b-7d3e-9f00-5a1b2c3d4e5f"
        ),
        "{lines:?}"
    );
    assert!(lines.contains(&"  actor: is required"), "{lines:?}");

    // A hundred bad proposers: refused as INVALID_ARGUMENT that the client can read, with the
    // first violations and a count of the rest (it was an HTTP/2 error past 16 KiB).
    let content = server.data_dir().join("content.txt");
    std::fs::write(&content, "建议").unwrap();
    let mut args = vec![
        "receive",
        "--committee",
        "许昌市政协",
        "--session",
        "s",
        "--number",
        "1",
        "--title",
        "t",
        "--content-file",
        content.to_str().unwrap(),
        "--actor",
        "a",
    ];
    for _ in 0..100 {
        args.extend(["--proposer", ""]);
    }
    let many = ctl(&server, &args).await;
    assert_eq!(many.code, Some(1), "{many:#?}");
    assert!(
        many.stderr.starts_with("error: INVALID_ARGUMENT: ")
            && many.stderr.contains("and 194 more"),
        "{}",
        many.stderr
    );
    assert!(
        many.stderr.contains("reason: VIOLATIONS_TRUNCATED"),
        "{}",
        many.stderr
    );

    let json = ctl(&server, &["--json", "get", "not-a-uuid"]).await;
    assert_eq!(json.code, Some(1));
    let error: Value = serde_json::from_str(&json.stderr).expect("the error as JSON");
    assert_eq!(error["error"]["code"], "INVALID_ARGUMENT");
    assert_eq!(
        error["error"]["field_violations"][0]["field"],
        "proposal_id"
    );

    let missing = ctl(&server, &["get", "01a225a2-3ed2-7187-b9fb-686189eaff81"]).await;
    assert_eq!(missing.code, Some(1));
    assert!(
        missing.stderr.starts_with("error: NOT_FOUND: "),
        "{missing:#?}"
    );

    // Usage errors: clap's, and an input file that cannot be read.
    let usage = ctl(&server, &["get"]).await;
    assert_eq!(usage.code, Some(2), "{usage:#?}");
    let draft_from = |body_file| {
        [
            "draft",
            "x",
            "--actor",
            "a",
            "--result",
            "A",
            "--body-file",
            body_file,
        ]
    };
    let unreadable = ctl(&server, &draft_from("/nonexistent/body")).await;
    assert_eq!(unreadable.code, Some(2), "{unreadable:#?}");
    assert!(unreadable.stderr.contains("/nonexistent/body"));
    let not_utf8 = ctl_with_stdin(&server, &draft_from("-"), Some(vec![0xff, 0xfe, b'a'])).await;
    assert_eq!(not_utf8.code, Some(2), "{not_utf8:#?}");
    assert!(not_utf8.stderr.contains("not UTF-8"), "{not_utf8:#?}");
    server.stop().await;
}

#[tokio::test]
async fn a_reply_body_read_from_stdin_is_kept_byte_for_byte() {
    let mut server = TestServer::start().await;
    let seed = seed::proposal_228();
    let id = receive_228(&server).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let assign = [
        "assign",
        &id,
        "--handling-unit",
        &seed.handling_unit,
        "--due-date",
        "2019-08-31",
        "--actor",
        "提案委登记员",
    ];
    ctl(&server, &assign).await.expect_success();

    // The seed's body: many paragraphs of Chinese with full-width punctuation; a file's
    // final line break is kept too.
    let body = format!("{}\n", seed.body);
    let draft = [
        "--json",
        "draft",
        &id,
        "--body-file",
        "-",
        "--result",
        "a",
        "--contact-unit",
        &seed.contact_unit,
        "--contact-phone",
        &seed.contact_phone,
        "--actor",
        &seed.handling_unit,
        "--expected-version",
        "2",
    ];
    let drafted = ctl_with_stdin(&server, &draft, Some(body.clone().into_bytes()))
        .await
        .expect_success()
        .json();
    assert_eq!(drafted["state"], "PROPOSAL_STATE_DRAFTED");
    assert_eq!(drafted["reply"]["result_code"], "RESULT_CODE_A");

    let got = ctl(&server, &["--json", "get", &id])
        .await
        .expect_success()
        .json();
    let stored = got["reply"]["body"].as_str().unwrap();
    assert!(
        stored.as_bytes() == body.as_bytes(),
        "the body is byte-identical"
    );
    assert_eq!(got["reply"]["contact_unit"], "许昌市生态环境局综合科");

    // Text output summarises the body; `get` prints it whole.
    let summary = ctl(&server, &["history", &id])
        .await
        .expect_success()
        .stdout;
    assert!(!summary.contains("二、"), "history does not dump the body");
    let full = ctl(&server, &["get", &id]).await.expect_success().stdout;
    for paragraph in seed.body.lines().filter(|l| !l.is_empty()) {
        assert!(full.contains(paragraph), "get shows {paragraph}");
    }
    server.stop().await;
}

#[test]
fn an_unreachable_server_exits_3_with_a_clear_message() {
    // A port that was just free: nothing listens on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    for args in [&["list"][..], &["--json", "get", "x"], &["demo"]] {
        let run = run_ctl(Some(&url), args, None);
        assert_eq!(run.code, Some(3), "{args:?}: {run:#?}");
        assert!(run.stdout.is_empty());
        assert!(
            run.stderr.contains(&format!("cannot connect to {url}")),
            "{args:?}: {}",
            run.stderr
        );
    }
    let bad_url = run_ctl(Some("https://127.0.0.1:1"), &["list"], None);
    assert_eq!(
        bad_url.code,
        Some(2),
        "a URL proposalctl cannot use is a usage error"
    );
}

/// The handling unit's records and the office's decisions on them; `every_subcommand_has_help`
/// checks that each has help, and the test below that each takes the shared flags.
const HANDLING_SUBCOMMANDS: [&str; 6] = [
    "acknowledge",
    "contact",
    "request-extension",
    "decide-extension",
    "request-return",
    "decide-return",
];

#[tokio::test]
async fn a_unit_acknowledges_contacts_and_gets_an_extension_approved() {
    let mut server = TestServer::start().await;
    let seed = seed::proposal_228();
    let unit = seed.handling_unit.as_str();
    let id = receive_228(&server).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rules = ctl(&server, &["--json", "rules"])
        .await
        .expect_success()
        .json();
    assert_eq!(rules["rules"]["max_extension_days"], 90, "{rules}");
    assert_eq!(rules["rules"]["contact_required_before_draft"], false);
    let today = rules["today"].as_str().unwrap().to_owned();
    let text = ctl(&server, &["rules"]).await.expect_success().stdout;
    assert!(text.contains("max_extension_days:"), "{text}");
    assert!(text.contains("contact_required_before_draft:"), "{text}");

    assign_228(&server, &id, None).await;
    let assigned = ctl(&server, &["--json", "get", &id])
        .await
        .expect_success()
        .json();
    let handlings = assigned["handlings"].as_array().expect("handlings");
    assert_eq!(handlings.len(), 1, "{assigned}");
    assert_eq!(handlings[0]["unit"], unit);
    assert_eq!(handlings[0]["role"], "HANDLING_ROLE_SOLE");
    assert_eq!(handlings[0]["acknowledged_date"], "");
    assert_eq!(handlings[0]["due_date"], "2019-08-31");

    // Signing for receipt, without --unit: the one replying unit.
    let acknowledged = ctl(
        &server,
        &[
            "--json",
            "acknowledge",
            &id,
            "--expected-version",
            "2",
            "--actor",
            unit,
        ],
    )
    .await
    .expect_success()
    .json();
    assert_eq!(acknowledged["state"], "PROPOSAL_STATE_ASSIGNED");
    assert_eq!(acknowledged["version"], 3);
    assert_eq!(acknowledged["handlings"][0]["acknowledged_date"], today);
    let again = ctl(&server, &["acknowledge", &id, "--actor", unit]).await;
    assert_eq!(again.code, Some(1), "{again:#?}");
    assert!(
        again.stderr.starts_with("error: FAILED_PRECONDITION: ")
            && again.stderr.contains("reason: ALREADY_ACKNOWLEDGED"),
        "{}",
        again.stderr
    );
    let stranger = ctl(
        &server,
        &["acknowledge", &id, "--unit", "许昌市财政局", "--actor", "a"],
    )
    .await;
    assert_eq!(stranger.code, Some(1), "{stranger:#?}");
    assert!(
        stranger.stderr.contains("reason: NOT_A_HANDLING_UNIT"),
        "{}",
        stranger.stderr
    );

    // A contact with the named unit and proposer, on an explicit date.
    let contacted = ctl(
        &server,
        &[
            "--json",
            "contact",
            &id,
            "--unit",
            unit,
            "--method",
            "Phone",
            "--date",
            &today,
            "--proposer",
            &seed.proposers[0],
            "--summary",
            "电话沟通办理思路",
            "--actor",
            unit,
            "--request-id",
            "contact/228",
        ],
    )
    .await
    .expect_success()
    .json();
    let contacts = &contacted["handlings"][0]["contacts"];
    assert_eq!(
        contacts,
        &serde_json::json!([{
            "contact_date": today,
            "method": "CONTACT_METHOD_PHONE",
            "proposers": [seed.proposers[0]],
            "summary": "电话沟通办理思路",
        }])
    );

    // An extension: requested, refused a second request while pending, then approved.
    let requested = ctl(
        &server,
        &[
            "--json",
            "request-extension",
            &id,
            "--new-due-date",
            "2019-09-30",
            "--reason",
            "需会同多个部门调研",
            "--actor",
            unit,
        ],
    )
    .await
    .expect_success()
    .json();
    let extension = &requested["handlings"][0]["extensions"][0];
    assert_eq!(extension["status"], "REQUEST_STATUS_PENDING", "{requested}");
    assert_eq!(extension["new_due_date"], "2019-09-30");
    assert_eq!(extension["requested_date"], today);
    assert_eq!(requested["handlings"][0]["due_date"], "2019-08-31");
    let pending = ctl(
        &server,
        &[
            "request-extension",
            &id,
            "--new-due-date",
            "2019-10-15",
            "--reason",
            "再延",
            "--actor",
            unit,
        ],
    )
    .await;
    assert_eq!(pending.code, Some(1), "{pending:#?}");
    assert!(
        pending.stderr.contains("reason: EXTENSION_PENDING"),
        "{}",
        pending.stderr
    );
    let decided = ctl(
        &server,
        &[
            "decide-extension",
            &id,
            "--approve",
            "--note",
            "同意延期",
            "--actor",
            "提案委",
        ],
    )
    .await
    .expect_success()
    .stdout;
    assert!(decided.contains("2019-09-30"), "{decided}");
    let nothing_pending = ctl(
        &server,
        &["decide-extension", &id, "--refuse", "--actor", "提案委"],
    )
    .await;
    assert_eq!(nothing_pending.code, Some(1), "{nothing_pending:#?}");
    assert!(
        nothing_pending
            .stderr
            .contains("reason: NO_PENDING_EXTENSION"),
        "{}",
        nothing_pending.stderr
    );

    let got = ctl(&server, &["--json", "get", &id])
        .await
        .expect_success()
        .json();
    assert_eq!(got["version"], 6, "{got}");
    assert_eq!(
        got["due_date"], "2019-09-30",
        "the approval moves the due date"
    );
    let handling = &got["handlings"][0];
    assert_eq!(handling["unit"], unit);
    assert_eq!(handling["state"], "PROPOSAL_STATE_ASSIGNED");
    assert_eq!(handling["original_due_date"], "2019-08-31");
    assert_eq!(handling["due_date"], "2019-09-30");
    assert_eq!(handling["acknowledged_date"], today);
    assert_eq!(handling["contacts"], *contacts);
    assert_eq!(
        handling["extensions"],
        serde_json::json!([{
            "requested_date": today,
            "new_due_date": "2019-09-30",
            "reason": "需会同多个部门调研",
            "status": "REQUEST_STATUS_APPROVED",
            "decision_note": "同意延期",
            "decided_date": today,
        }])
    );

    // The text forms carry the same facts.
    let text = ctl(&server, &["get", &id]).await.expect_success().stdout;
    for fact in [
        "handlings:",
        &format!("{unit} (sole, ASSIGNED)"),
        "2019-09-30 (originally 2019-08-31)",
        &format!("acknowledged: {today}"),
        &format!("{today} phone with {}: 电话沟通办理思路", seed.proposers[0]),
        &format!("{today} asked for 2019-09-30: 需会同多个部门调研; APPROVED {today} (同意延期)"),
    ] {
        assert!(text.contains(fact), "get shows {fact:?}:\n{text}");
    }

    // The history in both forms.
    let history = ctl(&server, &["--json", "history", &id, "--all"])
        .await
        .expect_success()
        .json();
    let events = history["events"].as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "EVENT_KIND_PROPOSAL_RECEIVED",
            "EVENT_KIND_PROPOSAL_ASSIGNED",
            "EVENT_KIND_ASSIGNMENT_ACKNOWLEDGED",
            "EVENT_KIND_PROPOSER_CONTACTED",
            "EVENT_KIND_EXTENSION_REQUESTED",
            "EVENT_KIND_EXTENSION_DECIDED",
        ]
    );
    assert_eq!(events[2]["acknowledged"]["handling_unit"], unit);
    assert_eq!(events[3]["contacted"]["handling_unit"], unit);
    assert_eq!(
        events[3]["contacted"]["contact"]["method"],
        "CONTACT_METHOD_PHONE"
    );
    assert_eq!(events[3]["request_id"], "contact/228");
    assert_eq!(
        events[4]["extension_requested"]["new_due_date"],
        "2019-09-30"
    );
    assert_eq!(
        events[5]["extension_decided"],
        serde_json::json!({
            "handling_unit": unit,
            "approved": true,
            "note": "同意延期",
            "due_date": "2019-09-30",
        })
    );
    assert_eq!(events[5]["from_state"], "PROPOSAL_STATE_ASSIGNED");
    assert_eq!(events[5]["to_state"], "PROPOSAL_STATE_ASSIGNED");
    let table = ctl(&server, &["history", &id])
        .await
        .expect_success()
        .stdout;
    for fact in [
        "assignment-acknowledged",
        "proposer-contacted",
        "extension-requested",
        "extension-decided",
        "approved, due 2019-09-30",
    ] {
        assert!(table.contains(fact), "history shows {fact:?}:\n{table}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_refused_extension_keeps_the_due_date_and_contacts_default_to_every_proposer() {
    let mut server = TestServer::start().await;
    let seed = seed::proposal_228();
    let id = receive_228(&server).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assign_228(&server, &id, None).await;
    let contacted = ctl(
        &server,
        &[
            "--json",
            "contact",
            &id,
            "--method",
            "meeting",
            "--summary",
            "座谈",
            "--actor",
            &seed.handling_unit,
        ],
    )
    .await
    .expect_success()
    .json();
    let contact = &contacted["handlings"][0]["contacts"][0];
    assert_eq!(contact["method"], "CONTACT_METHOD_MEETING");
    assert_eq!(
        contact["proposers"],
        serde_json::json!(seed.proposers),
        "every proposer by default"
    );
    assert_eq!(
        contact["contact_date"], contacted["last_act_date"],
        "the effective date by default"
    );

    let too_far = ctl(
        &server,
        &[
            "request-extension",
            &id,
            "--new-due-date",
            "2020-08-31",
            "--reason",
            "r",
            "--actor",
            "a",
        ],
    )
    .await;
    assert_eq!(too_far.code, Some(1), "{too_far:#?}");
    assert!(
        too_far.stderr.contains("reason: EXTENSION_LIMIT"),
        "{}",
        too_far.stderr
    );
    let request = [
        "request-extension",
        &id,
        "--unit",
        &seed.handling_unit,
        "--new-due-date",
        "2019-10-31",
        "--reason",
        "需要更多时间",
        "--actor",
        &seed.handling_unit,
    ];
    ctl(&server, &request).await.expect_success();
    let refused = ctl(
        &server,
        &[
            "--json",
            "decide-extension",
            &id,
            "--refuse",
            "--unit",
            &seed.handling_unit,
            "--actor",
            "提案委",
        ],
    )
    .await
    .expect_success()
    .json();
    let handling = &refused["handlings"][0];
    assert_eq!(handling["due_date"], "2019-08-31", "{refused}");
    assert_eq!(refused["due_date"], "2019-08-31");
    assert_eq!(
        handling["extensions"][0]["status"],
        "REQUEST_STATUS_REFUSED"
    );
    assert_eq!(handling["extensions"][0]["decision_note"], "");

    let history = ctl(&server, &["--json", "history", &id, "--all"])
        .await
        .expect_success()
        .json();
    let decided = &history["events"][4]["extension_decided"];
    assert_eq!(decided["approved"], false, "{history}");
    assert_eq!(decided["due_date"], "");
    let table = ctl(&server, &["history", &id])
        .await
        .expect_success()
        .stdout;
    assert!(table.contains("meeting"), "{table}");
    assert!(
        table.contains(&format!("{}: refused", seed.handling_unit)),
        "{table}"
    );
    server.stop().await;
}

#[test]
fn the_handling_subcommands_have_help_and_refuse_bad_flags() {
    let top = run_ctl(None, &["--help"], None);
    for subcommand in HANDLING_SUBCOMMANDS {
        assert!(
            top.stdout.contains(&format!("\n  {subcommand} ")),
            "`proposalctl --help` lists {subcommand}"
        );
        let help = run_ctl(None, &[subcommand, "--help"], None);
        assert_eq!(help.code, Some(0), "{subcommand} --help: {help:#?}");
        for flag in [
            "--unit",
            "--expected-version",
            "--request-id",
            "--actor",
            "--effective-date",
        ] {
            assert!(
                help.stdout.contains(flag),
                "{subcommand} --help: {}",
                help.stdout
            );
        }
    }

    // No server is needed to refuse these: nothing is sent (exit 2, a usage error).
    let contact = |method: &'static str| {
        run_ctl(
            Some("http://127.0.0.1:1"),
            &[
                "contact",
                "x",
                "--method",
                method,
                "--summary",
                "s",
                "--actor",
                "a",
            ],
            None,
        )
    };
    let fax = contact("fax");
    assert_eq!(fax.code, Some(2), "{fax:#?}");
    assert!(
        fax.stderr
            .contains("invalid value 'fax' for '--method <METHOD>'")
            && fax
                .stderr
                .contains("[possible values: phone, meeting, visit, letter, online, other]"),
        "{}",
        fax.stderr
    );
    let unspecified = contact("unspecified");
    assert_eq!(unspecified.code, Some(2), "{unspecified:#?}");
    let no_method = run_ctl(
        None,
        &["contact", "x", "--summary", "s", "--actor", "a"],
        None,
    );
    assert_eq!(no_method.code, Some(2), "{no_method:#?}");
    assert!(
        no_method.stderr.contains("--method"),
        "{}",
        no_method.stderr
    );

    let decide = |decision: &[&str]| {
        let mut args = vec!["decide-extension", "x", "--actor", "a"];
        args.extend(decision);
        run_ctl(Some("http://127.0.0.1:1"), &args, None)
    };
    let neither = decide(&[]);
    assert_eq!(neither.code, Some(2), "{neither:#?}");
    assert!(
        neither.stderr.contains("<--approve|--refuse>"),
        "{}",
        neither.stderr
    );
    let both = decide(&["--approve", "--refuse"]);
    assert_eq!(both.code, Some(2), "{both:#?}");
    assert!(
        both.stderr
            .contains("the argument '--approve' cannot be used with '--refuse'"),
        "{}",
        both.stderr
    );
    let missing = run_ctl(
        None,
        &["request-extension", "x", "--reason", "r", "--actor", "a"],
        None,
    );
    assert_eq!(missing.code, Some(2), "{missing:#?}");
    assert!(
        missing.stderr.contains("--new-due-date"),
        "{}",
        missing.stderr
    );
}

/// The unit that takes over proposal No. 228 when the office approves its return.
const NEW_UNIT: &str = "许昌市住房和城乡建设局";

/// Assigns `id` to the seed's unit with `proposalctl assign`, on today's date unless
/// `effective_date` says otherwise.
async fn assign_228(server: &TestServer, id: &str, effective_date: Option<&str>) {
    let seed = seed::proposal_228();
    let mut args = vec![
        "assign",
        id,
        "--handling-unit",
        &seed.handling_unit,
        "--due-date",
        "2019-08-31",
        "--actor",
        "提案委登记员",
    ];
    if let Some(date) = effective_date {
        args.extend(["--effective-date", date]);
    }
    ctl(server, &args).await.expect_success();
}

#[tokio::test]
async fn a_unit_asks_to_return_a_proposal_and_the_office_reassigns_it() {
    let mut server = TestServer::start().await;
    let seed = seed::proposal_228();
    let unit = seed.handling_unit.as_str();
    let id = receive_228(&server).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rules = ctl(&server, &["--json", "rules"])
        .await
        .expect_success()
        .json();
    assert_eq!(rules["rules"]["return_window_days"], 7, "{rules}");
    assert_eq!(rules["rules"]["unit_may_return_directly"], false, "{rules}");
    let today = rules["today"].as_str().unwrap().to_owned();
    let text = ctl(&server, &["rules"]).await.expect_success().stdout;
    assert!(text.contains("return_window_days:"), "{text}");
    assert!(text.contains("unit_may_return_directly:"), "{text}");
    // A due date surely after today, in whatever year the test runs.
    let year: u32 = today[..4].parse().unwrap();
    let new_due_date = format!("{}-12-31", year + 1);

    // Assigned today: the window counts from the assignment, so asking today is in time.
    assign_228(&server, &id, None).await;
    let requested = ctl(
        &server,
        &[
            "--json",
            "request-return",
            &id,
            "--reason",
            "不属于本单位职责",
            "--expected-version",
            "2",
            "--actor",
            unit,
            "--request-id",
            "return/228",
        ],
    )
    .await
    .expect_success()
    .json();
    assert_eq!(requested["state"], "PROPOSAL_STATE_ASSIGNED", "{requested}");
    assert_eq!(requested["version"], 3);
    assert_eq!(requested["handling_unit"], unit);
    assert_eq!(
        requested["handlings"][0]["return_requests"],
        serde_json::json!([{
            "requested_date": today,
            "reason": "不属于本单位职责",
            "status": "REQUEST_STATUS_PENDING",
            "decision_note": "",
            "decided_date": "",
        }])
    );
    let text = ctl(&server, &["get", &id]).await.expect_success().stdout;
    let fact = format!("{today} asked to return it: 不属于本单位职责; PENDING");
    assert!(text.contains(&fact), "get shows {fact:?}:\n{text}");

    // One request at a time.
    let pending = ctl(
        &server,
        &[
            "request-return",
            &id,
            "--unit",
            unit,
            "--reason",
            "再次申请",
            "--actor",
            unit,
        ],
    )
    .await;
    assert_eq!(pending.code, Some(1), "{pending:#?}");
    assert!(pending.stdout.is_empty());
    assert!(
        pending.stderr.starts_with("error: FAILED_PRECONDITION: ")
            && pending.stderr.contains("reason: RETURN_PENDING"),
        "{}",
        pending.stderr
    );

    // Approved and handed straight to another unit: a fresh handling.
    let decided = ctl(
        &server,
        &[
            "decide-return",
            &id,
            "--approve",
            "--reassign-to",
            NEW_UNIT,
            "--due-date",
            &new_due_date,
            "--note",
            "改由住建局办理",
            "--actor",
            "提案委",
        ],
    )
    .await
    .expect_success()
    .stdout;
    assert!(
        decided.contains("ASSIGNED") && decided.contains(NEW_UNIT),
        "{decided}"
    );
    let got = ctl(&server, &["--json", "get", &id])
        .await
        .expect_success()
        .json();
    assert_eq!(got["state"], "PROPOSAL_STATE_ASSIGNED", "{got}");
    assert_eq!(got["version"], 4);
    assert_eq!(got["handling_unit"], NEW_UNIT);
    assert_eq!(got["due_date"], new_due_date.as_str());
    assert_eq!(
        got["handlings"],
        serde_json::json!([{
            "unit": NEW_UNIT,
            "role": "HANDLING_ROLE_SOLE",
            "state": "PROPOSAL_STATE_ASSIGNED",
            "assigned_date": today,
            "original_due_date": new_due_date,
            "due_date": new_due_date,
            "acknowledged_date": "",
            "contacts": [],
            "extensions": [],
            "return_requests": [],
            "opinion": null,
            "reply": null,
            "signer": "",
            "sign_date": "",
            "document_number": "",
            "issue_date": "",
            "issuing_office": "",
            "copy_to": [],
            "public": false,
            "copied_to": [],
        }]),
        "the new unit's handling starts afresh"
    );

    // Nothing is pending for the new unit.
    let nothing_pending = ctl(
        &server,
        &["decide-return", &id, "--refuse", "--actor", "提案委"],
    )
    .await;
    assert_eq!(nothing_pending.code, Some(1), "{nothing_pending:#?}");
    assert!(
        nothing_pending
            .stderr
            .starts_with("error: FAILED_PRECONDITION: ")
            && nothing_pending.stderr.contains("reason: NO_PENDING_RETURN"),
        "{}",
        nothing_pending.stderr
    );

    // The history in both forms.
    let history = ctl(&server, &["--json", "history", &id, "--all"])
        .await
        .expect_success()
        .json();
    let events = history["events"].as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "EVENT_KIND_PROPOSAL_RECEIVED",
            "EVENT_KIND_PROPOSAL_ASSIGNED",
            "EVENT_KIND_RETURN_REQUESTED",
            "EVENT_KIND_RETURN_DECIDED",
        ]
    );
    assert_eq!(
        events[2]["return_requested"],
        serde_json::json!({ "handling_unit": unit, "reason": "不属于本单位职责" })
    );
    assert_eq!(events[2]["request_id"], "return/228");
    assert_eq!(
        events[3]["return_decided"],
        serde_json::json!({
            "handling_unit": unit,
            "approved": true,
            "note": "改由住建局办理",
            "reassigned_to": NEW_UNIT,
            "due_date": new_due_date,
        })
    );
    assert_eq!(events[3]["from_state"], "PROPOSAL_STATE_ASSIGNED");
    assert_eq!(events[3]["to_state"], "PROPOSAL_STATE_ASSIGNED");
    let table = ctl(&server, &["history", &id])
        .await
        .expect_success()
        .stdout;
    for fact in [
        "return-requested",
        &format!("{unit} asks to return it; reason: 不属于本单位职责"),
        "return-decided",
        &format!(
            "{unit}: approved, reassigned to {NEW_UNIT}, due {new_due_date}; note: 改由住建局办理"
        ),
    ] {
        assert!(table.contains(fact), "history shows {fact:?}:\n{table}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_refused_return_keeps_the_proposal_with_the_unit_and_an_approved_one_gives_it_back() {
    let mut server = TestServer::start().await;
    let seed = seed::proposal_228();
    let unit = seed.handling_unit.as_str();
    let id = receive_228(&server).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assign_228(&server, &id, None).await;
    let request = |reason: &'static str| {
        [
            "request-return",
            &id,
            "--unit",
            unit,
            "--reason",
            reason,
            "--actor",
            unit,
        ]
    };
    ctl(&server, &request("不属于本单位职责"))
        .await
        .expect_success();
    let refused = ctl(
        &server,
        &[
            "--json",
            "decide-return",
            &id,
            "--refuse",
            "--unit",
            unit,
            "--note",
            "属本单位职责，请认真办理",
            "--actor",
            "提案委",
        ],
    )
    .await
    .expect_success()
    .json();
    assert_eq!(refused["state"], "PROPOSAL_STATE_ASSIGNED", "{refused}");
    assert_eq!(refused["handling_unit"], unit);
    assert_eq!(refused["due_date"], "2019-08-31");
    let handlings = refused["handlings"].as_array().unwrap();
    assert_eq!(handlings.len(), 1, "{refused}");
    assert_eq!(handlings[0]["unit"], unit);
    let today = refused["last_act_date"].as_str().unwrap().to_owned();
    assert_eq!(
        handlings[0]["return_requests"],
        serde_json::json!([{
            "requested_date": today,
            "reason": "不属于本单位职责",
            "status": "REQUEST_STATUS_REFUSED",
            "decision_note": "属本单位职责，请认真办理",
            "decided_date": today,
        }])
    );
    let got = ctl(&server, &["--json", "get", &id])
        .await
        .expect_success()
        .json();
    assert_eq!(got, refused, "get shows what decide-return returned");
    let text = ctl(&server, &["get", &id]).await.expect_success().stdout;
    let fact = format!(
        "{today} asked to return it: 不属于本单位职责; REFUSED {today} (属本单位职责，请认真办理)"
    );
    assert!(text.contains(&fact), "get shows {fact:?}:\n{text}");
    let table = ctl(&server, &["history", &id])
        .await
        .expect_success()
        .stdout;
    assert!(
        table.contains(&format!("{unit}: refused; note: 属本单位职责，请认真办理")),
        "{table}"
    );

    // After a refusal the unit may ask again; an approval without --reassign-to gives the
    // proposal back to the office.
    let again = ctl(&server, &request("确需退回")).await.expect_success();
    assert!(again.stdout.contains("ASSIGNED"), "{again:#?}");
    let back = ctl(
        &server,
        &[
            "--json",
            "decide-return",
            &id,
            "--approve",
            "--actor",
            "提案委",
        ],
    )
    .await
    .expect_success()
    .json();
    assert_eq!(back["state"], "PROPOSAL_STATE_RECEIVED", "{back}");
    assert_eq!(back["handling_unit"], "");
    assert_eq!(back["handlings"], serde_json::json!([]));
    let history = ctl(&server, &["--json", "history", &id, "--all"])
        .await
        .expect_success()
        .json();
    let last = &history["events"][5];
    assert_eq!(last["kind"], "EVENT_KIND_RETURN_DECIDED", "{history}");
    assert_eq!(last["to_state"], "PROPOSAL_STATE_RECEIVED");
    assert_eq!(
        last["return_decided"],
        serde_json::json!({
            "handling_unit": unit,
            "approved": true,
            "note": "",
            "reassigned_to": "",
            "due_date": "",
        })
    );
    let table = ctl(&server, &["history", &id])
        .await
        .expect_success()
        .stdout;
    assert!(table.contains(&format!("{unit}: approved")), "{table}");
    server.stop().await;
}

#[tokio::test]
async fn a_return_asked_for_after_the_window_is_refused() {
    let mut server = TestServer::start().await;
    let seed = seed::proposal_228();
    let received = receive_228_with(&server, &["--effective-date", "2019-07-01"]).await;
    let id = received["id"].as_str().unwrap().to_owned();
    assign_228(&server, &id, Some("2019-07-01")).await;
    let late = ctl(
        &server,
        &[
            "request-return",
            &id,
            "--reason",
            "不属于本单位职责",
            "--actor",
            &seed.handling_unit,
        ],
    )
    .await;
    assert_eq!(late.code, Some(1), "{late:#?}");
    assert!(
        late.stderr.starts_with("error: FAILED_PRECONDITION: ")
            && late.stderr.contains("reason: RETURN_WINDOW_CLOSED"),
        "{}",
        late.stderr
    );
    // Within the window, counted from the assignment's effective date, it is accepted.
    let in_time = ctl(
        &server,
        &[
            "--json",
            "request-return",
            &id,
            "--reason",
            "不属于本单位职责",
            "--effective-date",
            "2019-07-08",
            "--actor",
            &seed.handling_unit,
        ],
    )
    .await
    .expect_success()
    .json();
    assert_eq!(
        in_time["handlings"][0]["return_requests"][0]["requested_date"],
        "2019-07-08"
    );
    server.stop().await;
}

#[test]
fn the_return_subcommands_refuse_bad_flags() {
    // No server is needed to refuse these: nothing is sent (exit 2, a usage error).
    let decide = |flags: &[&str]| {
        let mut args = vec!["decide-return", "x", "--actor", "a"];
        args.extend(flags);
        run_ctl(Some("http://127.0.0.1:1"), &args, None)
    };
    let neither = decide(&[]);
    assert_eq!(neither.code, Some(2), "{neither:#?}");
    assert!(
        neither.stderr.contains("<--approve|--refuse>"),
        "{}",
        neither.stderr
    );
    let both = decide(&["--approve", "--refuse"]);
    assert_eq!(both.code, Some(2), "{both:#?}");
    assert!(
        both.stderr.contains("cannot be used with"),
        "{}",
        both.stderr
    );
    let refused_elsewhere = decide(&["--refuse", "--reassign-to", "X"]);
    assert_eq!(refused_elsewhere.code, Some(2), "{refused_elsewhere:#?}");
    assert!(
        refused_elsewhere.stderr.contains("cannot be used with")
            && refused_elsewhere.stderr.contains("--reassign-to"),
        "{}",
        refused_elsewhere.stderr
    );
    let due_alone = decide(&["--approve", "--due-date", "2019-12-31"]);
    assert_eq!(due_alone.code, Some(2), "{due_alone:#?}");
    assert!(
        due_alone.stderr.contains("--reassign-to"),
        "{}",
        due_alone.stderr
    );
    let no_reason = run_ctl(
        Some("http://127.0.0.1:1"),
        &["request-return", "x", "--actor", "a"],
        None,
    );
    assert_eq!(no_reason.code, Some(2), "{no_reason:#?}");
    assert!(
        no_reason.stderr.contains("--reason"),
        "{}",
        no_reason.stderr
    );

    // A reassignment with its due date gets through to the server (3: none is listening).
    let reassigned = decide(&[
        "--approve",
        "--reassign-to",
        NEW_UNIT,
        "--due-date",
        "2019-12-31",
    ]);
    assert_eq!(reassigned.code, Some(3), "{reassigned:#?}");

    // `return` is the office withdrawing an assignment now.
    let help = run_ctl(None, &["return", "--help"], None);
    assert_eq!(help.code, Some(0), "{help:#?}");
    assert!(
        help.stdout.contains("撤回交办") && help.stdout.contains("request-return"),
        "{}",
        help.stdout
    );
}

/// The co-handling units (会办) of proposal No. 228 in the test below.
const CO_UNITS: [&str; 2] = ["许昌市发展和改革委员会", "许昌市财政局"];

#[tokio::test]
async fn a_lead_unit_and_two_co_units_one_of_which_submits_its_opinion() {
    let mut server = TestServer::start().await;
    let seed = seed::proposal_228();
    let lead = seed.handling_unit.as_str();
    let received = receive_228_with(&server, &["--effective-date", "2019-07-01"]).await;
    let id = received["id"].as_str().unwrap().to_owned();
    let assigned = ctl(
        &server,
        &[
            "--json",
            "assign",
            &id,
            "--handling-unit",
            lead,
            "--due-date",
            "2019-08-31",
            "--co-unit",
            CO_UNITS[0],
            "--co-unit",
            CO_UNITS[1],
            "--co-due-date",
            "2019-07-31",
            "--effective-date",
            "2019-07-01",
            "--actor",
            "提案委登记员",
        ],
    )
    .await
    .expect_success()
    .json();
    assert_eq!(assigned["state"], "PROPOSAL_STATE_ASSIGNED", "{assigned}");
    assert_eq!(assigned["handling_unit"], lead);
    let roles: Vec<(&str, &str)> = assigned["handlings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["unit"].as_str().unwrap(), h["role"].as_str().unwrap()))
        .collect();
    assert_eq!(
        roles,
        [
            (lead, "HANDLING_ROLE_LEAD"),
            (CO_UNITS[0], "HANDLING_ROLE_CO"),
            (CO_UNITS[1], "HANDLING_ROLE_CO"),
        ],
        "{assigned}"
    );
    for handling in assigned["handlings"].as_array().unwrap() {
        assert_eq!(handling["opinion"], Value::Null, "{handling}");
    }

    // The first co-unit's opinion, its text read from stdin; named with --unit, as there are
    // two co-units.
    let body = "建议加大财政投入。\n\n（会办意见）";
    let submitted = ctl_with_stdin(
        &server,
        &[
            "--json",
            "submit-opinion",
            &id,
            "--unit",
            CO_UNITS[0],
            "--body-file",
            "-",
            "--document-number",
            "许发改〔2019〕5号",
            "--contact-person",
            "王伟",
            "--contact-phone",
            "6069516",
            "--expected-version",
            "2",
            "--effective-date",
            "2019-07-15",
            "--request-id",
            "opinion/228",
            "--actor",
            CO_UNITS[0],
        ],
        Some(body.as_bytes().to_vec()),
    )
    .await
    .expect_success()
    .json();
    assert_eq!(submitted["state"], "PROPOSAL_STATE_ASSIGNED", "{submitted}");
    assert_eq!(submitted["version"], 3);
    let handlings = submitted["handlings"].as_array().unwrap();
    assert_eq!(handlings.len(), 3, "{submitted}");
    let co = |unit: &str| {
        handlings
            .iter()
            .find(|h| h["unit"] == unit)
            .unwrap_or_else(|| panic!("a handling for {unit}: {submitted}"))
    };
    assert_eq!(co(lead)["role"], "HANDLING_ROLE_LEAD");
    assert_eq!(co(lead)["opinion"], Value::Null);
    assert_eq!(co(CO_UNITS[0])["role"], "HANDLING_ROLE_CO");
    assert_eq!(co(CO_UNITS[0])["due_date"], "2019-07-31");
    assert_eq!(
        co(CO_UNITS[0])["opinion"],
        serde_json::json!({
            "body": body,
            "document_number": "许发改〔2019〕5号",
            "contact_person": "王伟",
            "contact_phone": "6069516",
            "submitted_date": "2019-07-15",
        })
    );
    assert_eq!(co(CO_UNITS[1])["role"], "HANDLING_ROLE_CO");
    assert_eq!(co(CO_UNITS[1])["due_date"], "2019-07-31");
    assert_eq!(co(CO_UNITS[1])["opinion"], Value::Null);

    // Text: each handling's role, and whether a co-unit's opinion is in.
    let text = ctl(&server, &["get", &id]).await.expect_success().stdout;
    for fact in [
        format!("{lead} (lead, ASSIGNED)"),
        format!("{} (co, ", CO_UNITS[0]),
        "2019-07-15 (许发改〔2019〕5号), contact 王伟 6069516".to_owned(),
        format!("{} (co, ASSIGNED)", CO_UNITS[1]),
        "opinion:      not yet".to_owned(),
    ] {
        assert!(text.contains(&fact), "get shows {fact:?}:\n{text}");
    }

    // The history: the assignment's co-units and their due date, then the opinion.
    let history = ctl(&server, &["--json", "history", &id, "--all"])
        .await
        .expect_success()
        .json();
    let events = history["events"].as_array().unwrap();
    assert_eq!(events.len(), 3, "{history}");
    assert_eq!(
        events[1]["assigned"],
        serde_json::json!({
            "handling_unit": lead,
            "due_date": "2019-08-31",
            "co_units": CO_UNITS,
            "co_due_date": "2019-07-31",
            "split_units": [],
        })
    );
    assert_eq!(events[2]["kind"], "EVENT_KIND_OPINION_SUBMITTED");
    assert_eq!(events[2]["request_id"], "opinion/228");
    assert_eq!(events[2]["effective_date"], "2019-07-15");
    assert_eq!(events[2]["opinion_submitted"]["handling_unit"], CO_UNITS[0]);
    assert_eq!(
        events[2]["opinion_submitted"]["opinion"],
        co(CO_UNITS[0])["opinion"]
    );
    let table = ctl(&server, &["history", &id])
        .await
        .expect_success()
        .stdout;
    for fact in [
        format!(
            "to {lead}, due 2019-08-31; co-units {}, {}, opinions due 2019-07-31",
            CO_UNITS[0], CO_UNITS[1]
        ),
        "opinion-submitted".to_owned(),
        format!(
            "{}: opinion 许发改〔2019〕5号: 建议加大财政投入。",
            CO_UNITS[0]
        ),
    ] {
        assert!(table.contains(&fact), "history shows {fact:?}:\n{table}");
    }

    // The listing by role: a co-unit's handling, not a sole one.
    let listed = |role: &'static str| {
        let server = &server;
        async move {
            let list = ctl(server, &["--json", "list", "--handling-role", role])
                .await
                .expect_success()
                .json();
            list["proposals"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed("co").await, [id.as_str()]);
    assert_eq!(listed("lead").await, [id.as_str()]);
    assert_eq!(listed("sole").await, Vec::<String>::new());
    let by_unit = ctl(
        &server,
        &["--json", "list", "--handling-role", "CO", "--unit", lead],
    )
    .await
    .expect_success()
    .json();
    assert_eq!(
        by_unit["proposals"],
        serde_json::json!([]),
        "the lead's own handling is not a co-unit's"
    );
    let bad_role = ctl(&server, &["list", "--handling-role", "main"]).await;
    assert_eq!(bad_role.code, Some(2), "{bad_role:#?}");
    assert!(
        bad_role
            .stderr
            .contains("[possible values: sole, lead, co, split]"),
        "{}",
        bad_role.stderr
    );

    // The rules behind the co-units' defaults.
    let rules = ctl(&server, &["--json", "rules"])
        .await
        .expect_success()
        .json();
    assert!(rules["rules"]["co_opinion_days"].is_u64(), "{rules}");
    assert!(
        rules["rules"]["require_co_opinions_before_sign"].is_boolean(),
        "{rules}"
    );
    let text = ctl(&server, &["rules"]).await.expect_success().stdout;
    assert!(
        text.contains("co_opinion_days:") && text.contains("require_co_opinions_before_sign:"),
        "{text}"
    );
    server.stop().await;
}

#[test]
fn the_co_handling_flags_refuse_bad_combinations() {
    // No server is needed to refuse these: nothing is sent (exit 2, a usage error).
    let opinion = |flags: &[&str]| {
        let mut args = vec!["submit-opinion", "x", "--actor", "a"];
        args.extend(flags);
        run_ctl(Some("http://127.0.0.1:1"), &args, None)
    };
    let no_body = opinion(&["--contact-person", "p", "--contact-phone", "1"]);
    assert_eq!(no_body.code, Some(2), "{no_body:#?}");
    assert!(
        no_body
            .stderr
            .contains("<--body <BODY>|--body-file <PATH>>"),
        "{}",
        no_body.stderr
    );
    let no_contact = opinion(&["--body", "b"]);
    assert_eq!(no_contact.code, Some(2), "{no_contact:#?}");
    assert!(
        no_contact.stderr.contains("--contact-person"),
        "{}",
        no_contact.stderr
    );
    let help = run_ctl(None, &["submit-opinion", "--help"], None);
    assert_eq!(help.code, Some(0), "{help:#?}");
    for flag in [
        "--unit",
        "--document-number",
        "--expected-version",
        "--request-id",
        "--actor",
        "--effective-date",
    ] {
        assert!(help.stdout.contains(flag), "{}", help.stdout);
    }
    let due_alone = run_ctl(
        Some("http://127.0.0.1:1"),
        &[
            "assign",
            "x",
            "--handling-unit",
            "U",
            "--co-due-date",
            "2019-07-31",
            "--actor",
            "a",
        ],
        None,
    );
    assert_eq!(due_alone.code, Some(2), "{due_alone:#?}");
    assert!(
        due_alone.stderr.contains("--co-unit"),
        "{}",
        due_alone.stderr
    );
}

/// `demo --full`: after No. 228, No. 231 is handled by a lead unit and the two co-units, every
/// act dated as the offices did it; a second run records nothing and shows both as they are.
#[tokio::test]
async fn the_full_demo_runs_a_lead_and_two_co_units_with_dated_acts_and_can_be_run_again() {
    let mut server = TestServer::start().await;
    let lead = "许昌市生态环境局";
    let copy_line = format!(
        "抄送：市政协提案委、市政府督查室、{}、{}。",
        CO_UNITS[0], CO_UNITS[1]
    );
    let run = ctl(&server, &["demo", "--full"]).await.expect_success();
    for fact in [
        "许环〔2019〕13号".to_owned(),
        "No. 231: 关于治理大气污染的提案".to_owned(),
        format!("2019-03-10  to {lead} (lead), due 2019-06-10; co-units"),
        "2019-05-24  extension approved by 提案委: due 2019-07-10".to_owned(),
        "2019-07-05  issued as 许环〔2019〕21号".to_owned(),
        format!("{lead} (lead, COPIED)"),
        format!("{} (co, COPIED)", CO_UNITS[0]),
        format!("{} (co, COPIED)", CO_UNITS[1]),
        "the issued reply 许环〔2019〕21号:".to_owned(),
        "张建华、刘丽委员：".to_owned(),
        copy_line.clone(),
    ] {
        assert!(
            run.stdout.contains(&fact),
            "the demo shows {fact:?}:\n{}",
            run.stdout
        );
    }

    // The server's record of both proposals.
    let list = ctl(&server, &["--json", "list"])
        .await
        .expect_success()
        .json();
    let proposals = list["proposals"].as_array().unwrap();
    let numbered = |number: u64| {
        proposals
            .iter()
            .find(|p| p["number"] == number)
            .unwrap_or_else(|| panic!("No. {number} is listed: {list}"))
    };
    assert_eq!(proposals.len(), 2, "{list}");
    assert_eq!(numbered(228)["state"], "PROPOSAL_STATE_COPIED");
    assert_eq!(
        numbered(228)["version"],
        6,
        "No. 228 as plain demo leaves it"
    );
    let id = numbered(231)["id"].as_str().unwrap().to_owned();
    let got = ctl(&server, &["--json", "get", &id])
        .await
        .expect_success()
        .json();
    assert_eq!(got["state"], "PROPOSAL_STATE_COPIED", "{got}");
    assert_eq!(got["version"], 13, "{got}");
    assert_eq!(got["title"], "关于治理大气污染的提案");
    assert_eq!(got["handling_unit"], lead);
    assert_eq!(got["document_number"], "许环〔2019〕21号");
    assert_eq!(got["issue_date"], "2019-07-05");
    assert_eq!(got["last_act_date"], "2019-07-08");
    assert_eq!(
        got["copied_to"],
        serde_json::json!(["市政协提案委", "市政府督查室", CO_UNITS[0], CO_UNITS[1]])
    );
    let handlings = got["handlings"].as_array().unwrap();
    let roles: Vec<(&str, &str)> = handlings
        .iter()
        .map(|h| (h["unit"].as_str().unwrap(), h["role"].as_str().unwrap()))
        .collect();
    assert_eq!(
        roles,
        [
            (lead, "HANDLING_ROLE_LEAD"),
            (CO_UNITS[0], "HANDLING_ROLE_CO"),
            (CO_UNITS[1], "HANDLING_ROLE_CO"),
        ],
        "{got}"
    );
    let (lead_handling, co) = (&handlings[0], &handlings[1..]);
    assert_eq!(lead_handling["assigned_date"], "2019-03-10");
    assert_eq!(lead_handling["acknowledged_date"], "2019-03-12");
    assert_eq!(lead_handling["original_due_date"], "2019-06-10");
    assert_eq!(lead_handling["due_date"], "2019-07-10");
    assert_eq!(lead_handling["opinion"], Value::Null);
    assert_eq!(
        lead_handling["contacts"][0]["method"],
        "CONTACT_METHOD_MEETING"
    );
    let extensions = lead_handling["extensions"].as_array().unwrap();
    assert_eq!(extensions.len(), 1, "{got}");
    assert_eq!(extensions[0]["status"], "REQUEST_STATUS_APPROVED");
    assert_eq!(extensions[0]["new_due_date"], "2019-07-10");
    assert_eq!(extensions[0]["decided_date"], "2019-05-24");
    assert_eq!(co[0]["acknowledged_date"], "2019-03-13");
    assert_eq!(co[1]["acknowledged_date"], "");
    for (handling, (date, document_number)) in co
        .iter()
        .zip([("2019-04-02", "许发改〔2019〕36号"), ("2019-04-08", "")])
    {
        // The co-units' due date is the rules' default, before the lead's.
        let co_due = handling["due_date"].as_str().unwrap();
        assert!(("2019-03-10".."2019-06-10").contains(&co_due), "{handling}");
        let opinion = &handling["opinion"];
        assert_eq!(opinion["submitted_date"], date, "{handling}");
        assert_eq!(opinion["document_number"], document_number, "{handling}");
        assert!(!opinion["body"].as_str().unwrap().is_empty());
        assert!(!opinion["contact_person"].as_str().unwrap().is_empty());
        assert!(!opinion["contact_phone"].as_str().unwrap().is_empty());
    }

    // Every act dated, none before the one before it.
    let history = ctl(&server, &["--json", "history", &id, "--all"])
        .await
        .expect_success()
        .json();
    let dates: Vec<&str> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["effective_date"].as_str().unwrap())
        .collect();
    assert_eq!(dates.len(), 13, "{history}");
    assert_eq!(dates[0], "2019-03-01");
    assert!(dates.is_sorted(), "{dates:?}");

    let document = ctl(&server, &["render", &id]).await.expect_success().stdout;
    let copied = document
        .lines()
        .find(|l| l.starts_with("抄送："))
        .unwrap_or_else(|| panic!("a copy line:\n{document}"));
    assert_eq!(copied, copy_line);

    // Again, in JSON: both exist; the demo says so, shows them and records nothing new.
    let again = ctl(&server, &["--json", "demo", "--full"])
        .await
        .expect_success();
    assert_eq!(
        again.stderr.matches("is already registered").count(),
        2,
        "{}",
        again.stderr
    );
    let again = again.json();
    assert_eq!(again["proposal"]["number"], 228);
    assert_eq!(again["steps"], serde_json::json!([]));
    let co_handled = &again["co_handled"];
    assert_eq!(co_handled["proposal"]["id"], id.as_str());
    assert_eq!(co_handled["proposal"]["version"], 13);
    assert_eq!(co_handled["steps"], serde_json::json!([]));
    assert_eq!(co_handled["history"].as_array().unwrap().len(), 13);
    assert!(
        co_handled["notes"][0]
            .as_str()
            .unwrap()
            .contains("No. 231 is already registered"),
        "{co_handled}"
    );
    assert!(
        co_handled["rendered"]["text"]
            .as_str()
            .unwrap()
            .contains(&copy_line)
    );
    let list = ctl(&server, &["--json", "list"])
        .await
        .expect_success()
        .json();
    assert_eq!(list["proposals"].as_array().unwrap().len(), 2, "{list}");

    // Plain demo keeps its report: no second proposal in it.
    let plain = ctl(&server, &["--json", "demo"])
        .await
        .expect_success()
        .json();
    assert_eq!(plain.get("co_handled"), None, "{plain}");
    // --full's own number is refused for No. 228's copy, before anything is sent.
    let clash = ctl(&server, &["demo", "--full", "--number", "231"]).await;
    assert_eq!(clash.code, Some(2), "{clash:#?}");
    server.stop().await;
}

/// `merge` (并案): No. 229 is merged into No. 228, which lists it and records the merge in its
/// history; `list --state merged` finds it; a proposal merged into itself is refused with
/// MERGE_NOT_ALLOWED, an unknown --into is NOT_FOUND and a malformed one INVALID_ARGUMENT.
#[tokio::test]
async fn a_proposal_is_merged_into_a_similar_one_which_lists_it() {
    let mut server = TestServer::start().await;
    let seed = seed::proposal_228();
    let into = receive_228(&server).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let merged = ctl(
        &server,
        &[
            "--json",
            "receive",
            "--committee",
            &seed.committee,
            "--session",
            &seed.session,
            "--number",
            "229",
            "--title",
            "关于改善我市空气质量的提案",
            "--proposer",
            "张建华",
            "--content",
            "建议加强大气污染防治。",
            "--actor",
            "提案委登记员",
        ],
    )
    .await
    .expect_success()
    .json();
    let id = merged["id"].as_str().unwrap().to_owned();

    let done = ctl(
        &server,
        &[
            "--json",
            "merge",
            &id,
            "--into",
            &into,
            "--note",
            "内容相近，并案办理",
            "--expected-version",
            "1",
            "--request-id",
            "merge/229",
            "--actor",
            "提案委登记员",
        ],
    )
    .await
    .expect_success()
    .json();
    assert_eq!(done["id"], id.as_str(), "{done}");
    assert_eq!(done["state"], "PROPOSAL_STATE_MERGED", "{done}");
    assert_eq!(done["merged_into"], into.as_str(), "{done}");
    assert_eq!(done["version"], 2, "{done}");

    let other = ctl(&server, &["--json", "get", &into])
        .await
        .expect_success()
        .json();
    assert_eq!(other["state"], "PROPOSAL_STATE_RECEIVED", "{other}");
    assert_eq!(
        other["merged_proposal_ids"],
        serde_json::json!([id]),
        "{other}"
    );
    assert_eq!(other["merged_into"], "", "{other}");
    let shown = ctl(&server, &["get", &into]).await.expect_success().stdout;
    assert!(
        shown.contains(&format!("merged proposals: {id}")),
        "{shown}"
    );

    let history = ctl(&server, &["history", &into])
        .await
        .expect_success()
        .stdout;
    assert!(
        history.contains("merge-joined")
            && history.contains(&format!("No. 229 ({id}) merged into this one")),
        "{history}"
    );
    let history = ctl(&server, &["history", &id])
        .await
        .expect_success()
        .stdout;
    assert!(
        history.contains("proposal-merged")
            && history.contains(&format!("into {into}; note: 内容相近，并案办理")),
        "{history}"
    );

    let listed = ctl(&server, &["--json", "list", "--state", "merged"])
        .await
        .expect_success()
        .json();
    let ids: Vec<&str> = listed["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id.as_str()], "{listed}");
    let table = ctl(&server, &["list", "--state", "merged"])
        .await
        .expect_success()
        .stdout;
    assert!(table.contains(&id) && table.contains("MERGED"), "{table}");

    // Refusals: into itself, into a proposal that does not exist, into a malformed id.
    let merge_into = |target: &str| {
        [
            "merge",
            into.as_str(),
            "--into",
            target,
            "--actor",
            "提案委登记员",
        ]
        .map(str::to_owned)
    };
    let args = merge_into(&into);
    let itself = ctl(&server, &args.each_ref().map(String::as_str)).await;
    assert_eq!(itself.code, Some(1), "{itself:#?}");
    assert!(itself.stdout.is_empty(), "{itself:#?}");
    assert!(
        itself.stderr.starts_with("error: FAILED_PRECONDITION: ")
            && itself.stderr.contains("reason: MERGE_NOT_ALLOWED"),
        "{}",
        itself.stderr
    );
    let args = merge_into("01a225a2-3ed2-7187-b9fb-686189eaff81");
    let unknown = ctl(&server, &args.each_ref().map(String::as_str)).await;
    assert_eq!(unknown.code, Some(1), "{unknown:#?}");
    assert!(
        unknown.stderr.starts_with("error: NOT_FOUND: "),
        "{}",
        unknown.stderr
    );
    let args = merge_into("not-a-uuid");
    let malformed = ctl(&server, &args.each_ref().map(String::as_str)).await;
    assert_eq!(malformed.code, Some(1), "{malformed:#?}");
    assert!(
        malformed.stderr.starts_with("error: INVALID_ARGUMENT: ")
            && malformed.stderr.contains("into_proposal_id"),
        "{}",
        malformed.stderr
    );
    let unchanged = ctl(&server, &["--json", "get", &into])
        .await
        .expect_success()
        .json();
    assert_eq!(unchanged["version"], other["version"], "{unchanged}");
    server.stop().await;
}

#[tokio::test]
async fn a_proposal_split_between_two_units_is_replied_to_by_each() {
    let mut server = TestServer::start().await;
    let seed = seed::proposal_228();
    let id = receive_228(&server).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let housing = "许昌市住房和城乡建设局";
    let assigned = ctl(
        &server,
        &[
            "--json",
            "assign",
            &id,
            "--handling-unit",
            &seed.handling_unit,
            "--split-unit",
            housing,
            "--due-date",
            "2019-08-31",
            "--actor",
            "提案委登记员",
        ],
    )
    .await
    .expect_success()
    .json();
    let roles: Vec<&str> = assigned["handlings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["HANDLING_ROLE_SPLIT", "HANDLING_ROLE_SPLIT"]);
    // Not with co-units.
    let both = ctl(
        &server,
        &[
            "assign",
            &id,
            "--handling-unit",
            housing,
            "--split-unit",
            "a",
            "--co-unit",
            "b",
            "--actor",
            "x",
        ],
    )
    .await;
    assert_eq!(both.code, Some(2), "{both:#?}");

    // Which unit's reply must be said.
    let body = std::env::temp_dir().join(format!("split-{id}.txt"));
    std::fs::write(&body, "现答复如下：……").unwrap();
    let body = body.to_str().unwrap();
    let unnamed = ctl(
        &server,
        &[
            "draft",
            &id,
            "--body-file",
            body,
            "--result",
            "B",
            "--actor",
            "x",
        ],
    )
    .await;
    assert_ne!(unnamed.code, Some(0), "{unnamed:#?}");
    assert!(
        unnamed.stderr.contains("HANDLING_UNIT_REQUIRED"),
        "{}",
        unnamed.stderr
    );
    let unit = seed.handling_unit.as_str();
    for args in [
        vec![
            "draft",
            &id,
            "--unit",
            unit,
            "--body-file",
            body,
            "--result",
            "B",
        ],
        vec!["sign", &id, "--unit", unit, "--signer", "李光亚"],
        vec![
            "issue",
            &id,
            "--unit",
            unit,
            "--document-number",
            "许环〔2019〕13号",
            "--issue-date",
            "2019-09-29",
            "--issuing-office",
            "许昌市生态环境局办公室",
        ],
        vec!["copy", &id, "--unit", unit, "--recipient", "市政协提案委"],
    ] {
        let mut args = args.clone();
        args.extend(["--actor", "提案办理员"]);
        ctl(&server, &args).await.expect_success();
    }
    let got = ctl(&server, &["--json", "get", &id])
        .await
        .expect_success()
        .json();
    assert_eq!(got["state"], "PROPOSAL_STATE_ASSIGNED", "{got}");
    assert_eq!(got["handlings"][0]["state"], "PROPOSAL_STATE_COPIED");
    assert_eq!(got["handlings"][0]["document_number"], "许环〔2019〕13号");
    assert_eq!(got["handlings"][1]["state"], "PROPOSAL_STATE_ASSIGNED");
    let shown = ctl(&server, &["get", &id]).await.expect_success().stdout;
    assert!(
        shown.contains(&format!("{unit} (split, COPIED)"))
            && shown.contains("许环〔2019〕13号 of 2019-09-29")
            && shown.contains(&format!("{housing} (split, ASSIGNED)")),
        "{shown}"
    );
    let history = ctl(&server, &["history", &id, "--all"])
        .await
        .expect_success()
        .stdout;
    assert!(
        history.contains(&format!("split with {housing}"))
            && history.contains(&format!("{unit}: 许环〔2019〕13号")),
        "{history}"
    );
    let rendered = ctl(&server, &["render", &id, "--unit", unit])
        .await
        .expect_success()
        .stdout;
    assert!(rendered.contains(&format!("{unit}文件")), "{rendered}");
    let not_yet = ctl(&server, &["render", &id, "--unit", housing]).await;
    assert!(not_yet.stderr.contains("NOT_ISSUED"), "{not_yet:#?}");
    std::fs::remove_file(body).unwrap();
    server.stop().await;
}

#[tokio::test]
async fn overdue_lists_the_late_replies_on_a_day_most_overdue_first() {
    let mut server = TestServer::start().await;
    let (env, housing) = ("许昌市生态环境局", "许昌市住房和城乡建设局");
    let body = server.data_dir().join("reply.txt");
    std::fs::write(&body, "现答复如下：……").unwrap();
    let body = body.to_str().unwrap().to_owned();
    // Received on 2019-03-01 and assigned on 2019-03-05 with `assign` (due dates given); then
    // `replies` (unit, issue date) each drafted, signed and issued by its unit, dated in order.
    let proposal = |number: &'static str,
                    assign: Vec<&'static str>,
                    replies: Vec<(&'static str, &'static str)>| {
        let (server, body) = (&server, &body);
        async move {
            let title = format!("关于第{number}号事项的提案");
            let document = format!("许环〔2019〕{number}号");
            let received = ctl(
                server,
                &[
                    "--json",
                    "receive",
                    "--committee",
                    "许昌市政协",
                    "--session",
                    "七届三次会议",
                    "--number",
                    number,
                    "--title",
                    &title,
                    "--proposer",
                    "苏会兴",
                    "--content",
                    "建议……",
                    "--effective-date",
                    "2019-03-01",
                    "--actor",
                    "提案委登记员",
                ],
            )
            .await
            .expect_success()
            .json();
            let id = received["id"].as_str().unwrap().to_owned();
            let mut args = vec!["assign", &id];
            args.extend(assign);
            args.extend(["--effective-date", "2019-03-05", "--actor", "提案委登记员"]);
            ctl(server, &args).await.expect_success();
            for (unit, issue_date) in replies {
                for act in [
                    vec!["draft", "--body-file", body, "--result", "B"],
                    vec!["sign", "--signer", "李光亚"],
                    vec![
                        "issue",
                        "--document-number",
                        &document,
                        "--issue-date",
                        issue_date,
                        "--issuing-office",
                        "办公室",
                    ],
                ] {
                    let mut args = act.clone();
                    args.extend([&id, "--unit", unit, "--effective-date", issue_date]);
                    args.extend(["--actor", "提案办理员"]);
                    ctl(server, &args).await.expect_success();
                }
            }
            id
        }
    };
    // No. 301, due 2019-06-30: no reply, 154 days late on 2019-12-01.
    let late = proposal(
        "301",
        vec!["--handling-unit", housing, "--due-date", "2019-06-30"],
        vec![],
    )
    .await;
    // No. 302, due 2019-08-31, replied on 2019-08-20: never late.
    proposal(
        "302",
        vec!["--handling-unit", env, "--due-date", "2019-08-31"],
        vec![(env, "2019-08-20")],
    )
    .await;
    // No. 303, split, due 2019-09-30: the environment bureau replied on 2019-09-20, the
    // housing bureau has not (62 days).
    proposal(
        "303",
        vec![
            "--handling-unit",
            env,
            "--split-unit",
            housing,
            "--due-date",
            "2019-09-30",
        ],
        vec![(env, "2019-09-20")],
    )
    .await;
    // No. 304, lead and co-unit, due 2019-10-31 (31 days); the co-unit's opinion is late too,
    // but it owes no reply.
    proposal(
        "304",
        vec![
            "--handling-unit",
            env,
            "--due-date",
            "2019-10-31",
            "--co-unit",
            CO_UNITS[0],
            "--co-due-date",
            "2019-04-30",
        ],
        vec![],
    )
    .await;

    // Every page is read, even one proposal at a time.
    let listed = ctl(
        &server,
        &[
            "--json",
            "overdue",
            "--on",
            "2019-12-01",
            "--page-size",
            "1",
        ],
    )
    .await
    .expect_success()
    .json();
    // Each row's number, days overdue, state and late units (unit, due date, days overdue).
    let rows: Vec<Value> = listed
        .as_array()
        .unwrap_or_else(|| panic!("an array: {listed}"))
        .iter()
        .map(|row| {
            let units: Vec<Value> = row["late_units"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| serde_json::json!([u["unit"], u["due_date"], u["days_overdue"]]))
                .collect();
            serde_json::json!([row["number"], row["days_overdue"], row["state"], units])
        })
        .collect();
    let assigned = "PROPOSAL_STATE_ASSIGNED";
    assert_eq!(
        rows,
        [
            serde_json::json!([301, 154, assigned, [[housing, "2019-06-30", 154]]]),
            serde_json::json!([303, 62, assigned, [[housing, "2019-09-30", 62]]]),
            serde_json::json!([304, 31, assigned, [[env, "2019-10-31", 31]]]),
        ],
        "{listed}"
    );
    assert_eq!(listed[0]["id"], late.as_str());
    assert_eq!(listed[0]["title"], "关于第301号事项的提案");
    assert_eq!(listed[0]["overdue_on"], "2019-12-01");
    assert_eq!(listed[2]["late_units"][0]["role"], "HANDLING_ROLE_LEAD");

    // The text table: the same rows, a unit's late replies with --unit, a clear line for none.
    let text = ctl(&server, &["overdue", "--on", "2019-12-01"])
        .await
        .expect_success()
        .stdout;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert_eq!(lines[0], "overdue on 2019-12-01: 3 proposals");
    assert!(
        lines[1].starts_with("NO.") && lines[1].contains("DAYS"),
        "{text}"
    );
    for (line, facts) in lines[2..].iter().zip([
        ["301", housing, "2019-06-30", "154"],
        ["303", housing, "2019-09-30", "62"],
        ["304", env, "2019-10-31", "31"],
    ]) {
        for fact in facts {
            assert!(line.contains(fact), "{fact} in {line:?}:\n{text}");
        }
    }
    let unit = ctl(
        &server,
        &["--json", "overdue", "--on", "2019-12-01", "--unit", env],
    )
    .await
    .expect_success()
    .json();
    assert_eq!(unit.as_array().unwrap().len(), 1, "{unit}");
    assert_eq!(unit[0]["number"], 304);
    let co = ctl(
        &server,
        &["overdue", "--on", "2019-12-01", "--unit", CO_UNITS[0]],
    )
    .await;
    assert_eq!(
        co.expect_success().stdout,
        "no proposals overdue on 2019-12-01\n"
    );
    let early = ctl(&server, &["--json", "overdue", "--on", "2019-06-30"]).await;
    assert_eq!(early.expect_success().json(), serde_json::json!([]));
    let bad = ctl(&server, &["overdue", "--on", "2019-13-01"]).await;
    assert_eq!(bad.code, Some(2), "{bad:#?}");

    // By default, today in the rules.
    let rules = ctl(&server, &["--json", "rules"])
        .await
        .expect_success()
        .json();
    let today = rules["today"].as_str().unwrap();
    let by_default = ctl(&server, &["--json", "overdue"])
        .await
        .expect_success()
        .json();
    let on_today = ctl(&server, &["--json", "overdue", "--on", today])
        .await
        .expect_success()
        .json();
    assert_eq!(by_default, on_today);
    assert_eq!(by_default.as_array().unwrap().len(), 3, "{by_default}");
    server.stop().await;
}

/// The document as issued and what follows it, from the command line, acts dated as they
/// happened: signed on one day and entered the next, issued with its 抄送 line and public,
/// dispatched by default to that line, made a key proposal, the proposer's verdict recorded
/// (once), and closed.
#[tokio::test]
async fn a_reply_is_issued_as_signed_dispatched_rated_and_closed() {
    let server = TestServer::start().await;
    let seed = seed::proposal_228();
    let id = receive_228_with(&server, &["--effective-date", "2019-03-10"]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assign_228(&server, &id, Some("2019-05-31")).await;
    let draft = [
        "draft",
        &id,
        "--body-file",
        "-",
        "--result",
        "B",
        "--actor",
        "经办人",
        "--effective-date",
        "2019-09-20",
    ];
    ctl_with_stdin(&server, &draft, Some("现答复如下。".as_bytes().to_vec()))
        .await
        .expect_success();
    let signed = json_of(
        &server,
        &[
            "--json",
            "sign",
            &id,
            "--signer",
            &seed.signer,
            "--sign-date",
            "2019-09-26",
            "--actor",
            "提案委",
            "--effective-date",
            "2019-09-27",
        ],
    )
    .await;
    assert_eq!(signed["sign_date"], "2019-09-26");
    let issued = json_of(
        &server,
        &[
            "--json",
            "issue",
            &id,
            "--document-number",
            "许环〔2019〕31号",
            "--issue-date",
            "2019-09-29",
            "--issuing-office",
            &seed.issuing_office,
            "--copy-to",
            "市政协提案委",
            "--copy-to",
            "市政府督查室",
            "--public",
            "true",
            "--actor",
            "提案委",
            "--effective-date",
            "2019-09-29",
        ],
    )
    .await;
    assert_eq!(
        issued["copy_to"],
        serde_json::json!(["市政协提案委", "市政府督查室"])
    );
    assert_eq!(issued["public"], true);
    let rendered = ctl(&server, &["render", &id]).await.expect_success().stdout;
    assert!(
        rendered.contains("\n2019年9月26日\n"),
        "the date line:\n{rendered}"
    );
    assert!(
        rendered.contains("\n抄送：市政协提案委、市政府督查室。\n"),
        "{rendered}"
    );
    let copied = json_of(
        &server,
        &[
            "--json",
            "copy",
            &id,
            "--actor",
            "提案委",
            "--effective-date",
            "2019-10-08",
        ],
    )
    .await;
    assert_eq!(
        copied["copied_to"], issued["copy_to"],
        "by default, the 抄送 line"
    );
    let history = ctl(&server, &["history", &id])
        .await
        .expect_success()
        .stdout;
    assert!(
        history.contains("to 苏会兴 with the feedback form; copies to 市政协提案委, 市政府督查室"),
        "{history}"
    );

    let key = json_of(
        &server,
        &[
            "--json",
            "set-key",
            &id,
            "--supervisor",
            "市政协副主席王明",
            "--actor",
            "提案委",
            "--effective-date",
            "2019-10-09",
        ],
    )
    .await;
    assert_eq!(key["key"]["supervisor"], "市政协副主席王明");
    let listed = json_of(&server, &["--json", "list", "--key-only"]).await;
    assert_eq!(
        listed["proposals"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    let rated = json_of(
        &server,
        &[
            "--json",
            "feedback",
            &id,
            "--proposer",
            "苏会兴",
            "--satisfaction",
            "basically-satisfied",
            "--attitude",
            "satisfied",
            "--comment",
            "希望加快进度",
            "--actor",
            "提案委",
            "--effective-date",
            "2019-10-20",
        ],
    )
    .await;
    assert_eq!(
        rated["feedback"][0]["satisfaction"],
        "SATISFACTION_BASICALLY_SATISFIED"
    );
    assert_eq!(rated["feedback"][0]["recorded_date"], "2019-10-20");
    let again = ctl(
        &server,
        &[
            "feedback",
            &id,
            "--proposer",
            "苏会兴",
            "--satisfaction",
            "satisfied",
            "--actor",
            "提案委",
        ],
    )
    .await;
    assert_ne!(again.code, Some(0), "{again:#?}");
    assert!(
        again.stderr.contains("FEEDBACK_RECORDED"),
        "{}",
        again.stderr
    );
    let closed = json_of(
        &server,
        &[
            "--json",
            "close",
            &id,
            "--note",
            "办理完毕",
            "--actor",
            "提案委",
            "--effective-date",
            "2019-10-31",
        ],
    )
    .await;
    assert_eq!(closed["state"], "PROPOSAL_STATE_CLOSED");
    assert_eq!(closed["closed_date"], "2019-10-31");
    let text = ctl(&server, &["get", &id]).await.expect_success().stdout;
    for line in [
        "sign date",
        "copy line",
        "key proposal",
        "feedback",
        "closed",
    ] {
        assert!(text.contains(line), "get shows {line}:\n{text}");
    }
}

/// Runs proposalctl, which must succeed, and reads its JSON output.
async fn json_of(server: &TestServer, args: &[&str]) -> Value {
    ctl(server, args).await.expect_success().json()
}

/// 重新办理 from the command line: refused without a dissatisfied verdict, then a new round
/// whose earlier document still renders with --round.
#[tokio::test]
async fn a_dissatisfied_verdict_reopens_the_proposal_into_a_new_round() {
    let server = TestServer::start().await;
    let p = common::lifecycle::drive(&mut server.client.clone(), common::lifecycle::State::Copied)
        .await;
    let id = p.id.clone();
    let reopen = [
        "--json",
        "reopen",
        &id,
        "--reason",
        "提案人对答复不满意",
        "--actor",
        "提案委",
    ];
    let refused = ctl(&server, &reopen).await;
    assert_ne!(refused.code, Some(0), "{refused:#?}");
    assert!(
        refused.stderr.contains("NO_DISSATISFACTION"),
        "{}",
        refused.stderr
    );
    let feedback = [
        "feedback",
        &id,
        "--proposer",
        &p.proposers[0],
        "--satisfaction",
        "not-satisfied",
        "--actor",
        "提案委",
    ];
    ctl(&server, &feedback).await.expect_success();
    let first = ctl(&server, &["render", &id]).await.expect_success().stdout;
    let reopened = json_of(&server, &reopen).await;
    assert_eq!(reopened["state"], "PROPOSAL_STATE_ASSIGNED");
    assert_eq!(reopened["round"], 2);
    assert_eq!(reopened["rounds"][0]["round"], 1);
    assert_eq!(
        reopened["rounds"][0]["feedback"][0]["satisfaction"],
        "SATISFACTION_NOT_SATISFIED"
    );
    let text = ctl(&server, &["get", &id]).await.expect_success().stdout;
    for line in ["round", "earlier round", "earlier feedback"] {
        assert!(text.contains(line), "get shows {line}:\n{text}");
    }
    let earlier = ctl(&server, &["render", &id, "--round", "1"])
        .await
        .expect_success()
        .stdout;
    assert_eq!(earlier, first);
    let history = ctl(&server, &["history", &id])
        .await
        .expect_success()
        .stdout;
    assert!(
        history.contains("round 2, due"),
        "the reopening in the history:\n{history}"
    );
}
