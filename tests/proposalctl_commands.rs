mod common;

// `proposalctl`, the real binary, against a real server on 127.0.0.1:0, one proposal at a time:
// every subcommand's help, a round trip in JSON, how refusals and an unreachable server are
// reported (and their exit codes), and a reply body read from stdin kept byte for byte.

use common::TestServer;
use common::ctl::{SUBCOMMANDS, ctl, ctl_with_stdin, receive_228, run_ctl};
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
