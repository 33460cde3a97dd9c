mod common;

// `proposalctl`, the real binary, against a real server on 127.0.0.1:0: every subcommand's
// help, a round trip in JSON, how refusals and an unreachable server are reported (and their
// exit codes), a reply body read from stdin kept byte for byte, and the demo's whole lifecycle
// of proposal No. 228.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::TestServer;
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
    let unreadable = ctl(
        &server,
        &[
            "draft",
            "x",
            "--actor",
            "a",
            "--result",
            "A",
            "--body-file",
            "/nonexistent/body",
        ],
    )
    .await;
    assert_eq!(unreadable.code, Some(2), "{unreadable:#?}");
    assert!(unreadable.stderr.contains("/nonexistent/body"));
    let not_utf8 = ctl_with_stdin(
        &server,
        &[
            "draft",
            "x",
            "--actor",
            "a",
            "--result",
            "A",
            "--body-file",
            "-",
        ],
        Some(vec![0xff, 0xfe, b'a']),
    )
    .await;
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

#[tokio::test]
async fn the_demo_drives_proposal_228_from_received_to_copied() {
    let mut server = TestServer::start().await;
    let seed = seed::proposal_228();
    let run = ctl(&server, &["demo"]).await.expect_success();
    assert!(run.stdout.contains("许环〔2019〕13号"), "{}", run.stdout);
    for state in STATES {
        assert!(run.stdout.contains(state), "the demo shows {state}");
    }
    for fact in [
        &seed.handling_unit,
        &seed.signer,
        &seed.issuing_office,
        &seed.recipients.join(", "),
    ] {
        assert!(run.stdout.contains(fact.as_str()), "the demo shows {fact}");
    }

    let list = ctl(&server, &["--json", "list", "--view", "full"])
        .await
        .expect_success()
        .json();
    let proposal = &list["proposals"][0];
    assert_eq!(proposal["state"], "PROPOSAL_STATE_COPIED");
    assert_eq!(proposal["version"], 6);
    assert_eq!(proposal["document_number"], "许环〔2019〕13号");
    assert_eq!(proposal["copied_to"], serde_json::json!(seed.recipients));
    assert!(proposal["reply"]["body"].as_str().unwrap().as_bytes() == seed.body.as_bytes());

    // Again: No. 228 exists; the demo says so, shows it and records nothing new.
    let again = ctl(&server, &["demo"]).await.expect_success();
    assert!(
        again.stdout.contains("already registered"),
        "{}",
        again.stdout
    );
    assert!(again.stdout.contains("许环〔2019〕13号"));
    let list = ctl(&server, &["--json", "list"])
        .await
        .expect_success()
        .json();
    assert_eq!(list["proposals"].as_array().unwrap().len(), 1);
    assert_eq!(list["proposals"][0]["version"], 6);

    // A fresh copy under another number and document number.
    let copy = ctl(
        &server,
        &[
            "--json",
            "demo",
            "--number",
            "229",
            "--document-number",
            "许环〔2019〕14号",
        ],
    )
    .await
    .expect_success()
    .json();
    assert_eq!(copy["proposal"]["number"], 229);
    assert_eq!(copy["proposal"]["state"], "PROPOSAL_STATE_COPIED");
    assert_eq!(copy["history"].as_array().unwrap().len(), 6);
    server.stop().await;
}

#[tokio::test]
async fn events_lists_the_audit_trail_with_its_filters() {
    let mut server = TestServer::start().await;
    let id = demo(&server).await;
    let events = |args: &'static [&'static str]| {
        let server = &server;
        async move {
            let mut all = vec!["--json", "events", "--all"];
            all.extend_from_slice(args);
            ctl(server, &all).await.expect_success().json()["events"]
                .as_array()
                .unwrap()
                .clone()
        }
    };
    let every = events(&["--page-size", "2"]).await;
    let positions: Vec<u64> = every
        .iter()
        .map(|e| e["position"].as_u64().unwrap())
        .collect();
    assert_eq!(positions, [1, 2, 3, 4, 5, 6], "every page followed");

    let issued = events(&["--kind", "reply-issued"]).await;
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0]["issued"]["document_number"], "许环〔2019〕13号");
    let two_kinds = events(&["--kind", "reply-signed", "--kind", "reply-copied"]).await;
    assert_eq!(two_kinds.len(), 2);
    assert_eq!(events(&["--to-state", "copied"]).await.len(), 1);
    assert_eq!(events(&["--actor", "李光亚"]).await.len(), 1);
    assert_eq!(
        events(&[
            "--after",
            "2000-01-01",
            "--before",
            "2100-01-01T00:00:00+08:00"
        ])
        .await
        .len(),
        6
    );
    assert_eq!(events(&["--before", "2000-01-01"]).await.len(), 0);
    assert!(!events(&["--unit", "许昌市生态环境局"]).await.is_empty());
    let by_id = ctl(&server, &["--json", "events", "--all", "--proposal", &id]).await;
    assert_eq!(
        by_id.expect_success().json()["events"]
            .as_array()
            .unwrap()
            .len(),
        6
    );

    let table = ctl(&server, &["events", "--kind", "reply-issued"])
        .await
        .expect_success();
    assert!(table.stdout.contains(&id) && table.stdout.contains("reply-issued"));
    server.stop().await;
}

// Multi-threaded: the test blocks on the watcher's output while the in-process server serves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_prints_each_event_as_it_arrives_and_exits_0_on_ctrl_c() {
    let mut server = TestServer::start().await;
    let (watch, received) = spawn_watch(&server, &["--json"]);
    demo(&server).await;
    let mut kinds = Vec::new();
    for _ in 0..6 {
        let line = received
            .recv_timeout(Duration::from_secs(30))
            .expect("watch prints each event");
        let event: Value = serde_json::from_str(&line).expect("one JSON object per line");
        kinds.push(event["kind"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        kinds,
        [
            "EVENT_KIND_PROPOSAL_RECEIVED",
            "EVENT_KIND_PROPOSAL_ASSIGNED",
            "EVENT_KIND_REPLY_DRAFTED",
            "EVENT_KIND_REPLY_SIGNED",
            "EVENT_KIND_REPLY_ISSUED",
            "EVENT_KIND_REPLY_COPIED",
        ]
    );

    assert_eq!(
        interrupt(watch).await,
        Some(0),
        "Ctrl-C ends watch with exit 0"
    );

    // Resuming after a position delivers what came after it, in text one line each.
    let (watch, received) = spawn_watch(&server, &["--after-position", "5"]);
    let line = received
        .recv_timeout(Duration::from_secs(30))
        .expect("watch prints the event after position 5");
    assert!(
        line.starts_with("6  ") && line.contains("reply-copied"),
        "{line}"
    );
    assert_eq!(interrupt(watch).await, Some(0));
    server.stop().await;
}

/// Starts `proposalctl watch` with `args`; its stdout lines arrive on the receiver as they are
/// printed.
fn spawn_watch(server: &TestServer, args: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut watch = Command::new(env!("CARGO_BIN_EXE_proposalctl"))
        .args(["--server", &url(server), "watch"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting proposalctl watch");
    let stdout = watch.stdout.take().unwrap();
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    (watch, received)
}

/// Sends SIGINT, as Ctrl-C does, and returns the exit code.
async fn interrupt(mut watch: Child) -> Option<i32> {
    let sent = Command::new("kill")
        .args(["-INT", &watch.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    tokio::task::spawn_blocking(move || watch.wait().unwrap().code())
        .await
        .unwrap()
}

#[tokio::test]
async fn verify_reports_a_sound_history_and_exits_0() {
    let mut server = TestServer::start().await;
    demo(&server).await;
    let report = ctl(&server, &["--json", "verify"])
        .await
        .expect_success()
        .json();
    assert_eq!(report["ok"], true);
    assert_eq!(report["events_checked"], 6);
    assert_eq!(report["proposals_checked"], 1);
    assert_eq!(report["head_position"], 6);
    let text = ctl(&server, &["verify"]).await.expect_success().stdout;
    assert!(text.contains("ok:") && text.contains("yes"), "{text}");
    server.stop().await;
}

#[tokio::test]
async fn render_prints_the_issued_reply_as_the_official_document() {
    let mut server = TestServer::start().await;
    let run = ctl(&server, &["demo"]).await.expect_success();
    assert!(
        run.stdout.contains("苏会兴委员："),
        "the demo shows the rendered reply"
    );
    assert!(!run.stdout.contains("cannot render"), "{}", run.stdout);
    let id = ctl(&server, &["--json", "list"])
        .await
        .expect_success()
        .json()["proposals"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let document = ctl(&server, &["render", &id]).await.expect_success().stdout;
    for line in [
        "许昌市生态环境局文件",
        "许环〔2019〕13号",
        "签发人：李光亚",
        "办理结果：A",
        "苏会兴委员：",
        "2019年9月29日",
        "抄送：市政协提案委、市政府督查室。",
        "2019年9月29日印发",
    ] {
        assert!(
            document.contains(line),
            "the document has {line}:\n{document}"
        );
    }
    let json = ctl(&server, &["--json", "render", &id])
        .await
        .expect_success()
        .json();
    assert_eq!(json["document_number"], "许环〔2019〕13号");
    server.stop().await;
}

/// `export` then `import` through the binary: the imported directory serves the same
/// proposal, the same history (hashes included) and verifies clean; the export is refused while
/// a server holds the directory.
#[tokio::test]
async fn export_and_import_round_trip_through_the_binary() {
    let temp = tempfile::tempdir().unwrap();
    let (source, target) = (temp.path().join("source"), temp.path().join("target"));
    let file = temp.path().join("events.jsonl");
    let (source_arg, target_arg, file_arg) = (
        source.display().to_string(),
        target.display().to_string(),
        file.display().to_string(),
    );
    let mut server = TestServer::start_in(&source).await;
    let id = demo(&server).await;
    let held = run_ctl(
        None,
        &["export", "--data-dir", &source_arg, "--output", &file_arg],
        None,
    );
    assert_ne!(held.code, Some(0), "a directory in use is refused");
    let before = (
        ctl(&server, &["--json", "get", &id])
            .await
            .expect_success()
            .json(),
        ctl(&server, &["--json", "history", &id])
            .await
            .expect_success()
            .json(),
    );
    server.stop().await;

    run_ctl(
        None,
        &["export", "--data-dir", &source_arg, "--output", &file_arg],
        None,
    )
    .expect_success();
    run_ctl(
        None,
        &["import", "--data-dir", &target_arg, "--input", &file_arg],
        None,
    )
    .expect_success();
    let again = run_ctl(
        None,
        &["import", "--data-dir", &target_arg, "--input", &file_arg],
        None,
    );
    assert_ne!(
        again.code,
        Some(0),
        "importing into a non-empty directory is refused"
    );

    let mut imported = TestServer::start_in(&target).await;
    let after = (
        ctl(&imported, &["--json", "get", &id])
            .await
            .expect_success()
            .json(),
        ctl(&imported, &["--json", "history", &id])
            .await
            .expect_success()
            .json(),
    );
    assert_eq!(after, before);
    ctl(&imported, &["verify"]).await.expect_success();
    imported.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Running proposalctl
// ---------------------------------------------------------------------------------------------

const SUBCOMMANDS: [&str; 16] = [
    "receive", "assign", "return", "draft", "reject", "sign", "issue", "copy", "get", "list",
    "history", "render", "events", "watch", "verify", "demo",
];

const STATES: [&str; 6] = [
    "RECEIVED", "ASSIGNED", "DRAFTED", "SIGNED", "ISSUED", "COPIED",
];

/// How one run of `proposalctl` ended.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }

    #[track_caller]
    fn expect_success(self) -> Self {
        assert_eq!(self.code, Some(0), "proposalctl failed: {self:#?}");
        self
    }
}

/// Runs `proposalctl` with `args` (after `--server url` when given), feeding it `stdin`.
/// The environment cannot leak a server, an actor or a token into the run.
fn run_ctl(server: Option<&str>, args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_proposalctl"));
    command
        .env_remove("PROPOSAL_SERVER")
        .env_remove("PROPOSAL_ACTOR")
        .env_remove("PROPOSAL_TOKEN");
    if let Some(url) = server {
        command.arg("--server").arg(url);
    }
    command
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("starting proposalctl");
    if let Some(bytes) = stdin {
        // Dropping the handle closes stdin, so the child sees the end of the input.
        let mut input = child.stdin.take().unwrap();
        input.write_all(bytes).expect("writing proposalctl's stdin");
    }
    let output = child.wait_with_output().expect("waiting for proposalctl");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

fn url(server: &TestServer) -> String {
    format!("http://{}", server.addr)
}

/// Runs `proposalctl` against `server` off the runtime, so the in-process server keeps serving.
async fn ctl(server: &TestServer, args: &[&str]) -> Run {
    ctl_with_stdin(server, args, None).await
}

async fn ctl_with_stdin(server: &TestServer, args: &[&str], stdin: Option<Vec<u8>>) -> Run {
    let url = url(server);
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_ctl(Some(&url), &args, stdin.as_deref())
    })
    .await
    .unwrap()
}

/// Registers the seed's proposal with `proposalctl receive --json`; returns it.
async fn receive_228(server: &TestServer) -> Value {
    let seed = seed::proposal_228();
    let number = seed.number.to_string();
    ctl(
        server,
        &[
            "--json",
            "receive",
            "--committee",
            &seed.committee,
            "--session",
            &seed.session,
            "--number",
            &number,
            "--title",
            &seed.title,
            "--proposer",
            &seed.proposers[0],
            "--content",
            seed::CONTENT,
            "--actor",
            "提案委登记员",
            "--request-id",
            "receive/228",
        ],
    )
    .await
    .expect_success()
    .json()
}

/// Runs the demo and returns its proposal's id.
async fn demo(server: &TestServer) -> String {
    ctl(server, &["demo"]).await.expect_success();
    let list = ctl(server, &["--json", "list"])
        .await
        .expect_success()
        .json();
    list["proposals"][0]["id"].as_str().unwrap().to_owned()
}
