mod common;

// `proposalctl`, the real binary, against a real server on 127.0.0.1:0, over the event log: the
// demo's whole lifecycle of proposal No. 228, `events` with its filters, `watch` until Ctrl-C,
// `verify`, `render` of the official document, and `export`/`import` through the binary.

use std::time::Duration;

use common::TestServer;
use common::ctl::{ctl, demo, interrupt, run_ctl, spawn_watch};
use common::lifecycle::{STATES, state_name};
use proposal_service::seed;
use serde_json::Value;

#[tokio::test]
async fn the_demo_drives_proposal_228_from_received_to_copied() {
    let mut server = TestServer::start().await;
    let seed = seed::proposal_228();
    let run = ctl(&server, &["demo"]).await.expect_success();
    assert!(run.stdout.contains("许环〔2019〕13号"), "{}", run.stdout);
    for state in STATES.map(state_name) {
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
