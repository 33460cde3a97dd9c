mod common;

// `proposalctl stats`, the real binary against a real server: a session's figures as of a
// day as a table, as JSON and as CSV, with and without the rows by unit; what the server
// refuses (a day in the future) and what the command line cannot mean are errors with their
// exit codes.

use common::TestServer;
use common::ctl::ctl;
use common::requests as rq;
use proposal_service::pb;
use serde_json::json;

#[tokio::test]
async fn stats_prints_the_figures_as_of_a_day_as_a_table_json_and_csv() {
    let server = TestServer::start().await;
    let (committee, session) = session_of_two(&server).await;
    let args = |extra: &[&'static str]| {
        let mut args = vec![
            "stats",
            "--committee",
            committee.as_str(),
            "--session",
            session.as_str(),
        ];
        args.extend_from_slice(extra);
        args
    };

    // As JSON: before anything happened, then once both were received, one replied.
    let before = ctl(
        &server,
        &[&["--json"], &args(&["--as-of", "2024-01-09"])[..]].concat(),
    )
    .await
    .expect_success()
    .json();
    assert_eq!(before["as_of"], "2024-01-09");
    assert_eq!(before["totals"]["received"], 0);
    assert_eq!(before["totals"]["reply_rate"], json!(null));
    assert!(before.get("units").is_none(), "no rows without --by-unit");
    let after = ctl(
        &server,
        &[
            &["--json"],
            &args(&["--as-of", "2024-03-10", "--by-unit"])[..],
        ]
        .concat(),
    )
    .await
    .expect_success()
    .json();
    let totals = &after["totals"];
    assert_eq!(
        [
            &totals["received"],
            &totals["accepted"],
            &totals["replied"],
            &totals["overdue"]
        ],
        [&json!(2), &json!(2), &json!(1), &json!(1)],
        "{after}"
    );
    assert_eq!(totals["reply_rate"], json!(0.5));
    assert_eq!(totals["result_codes"], json!([{"code": "A", "count": 1}]));
    assert_eq!(after["units"][0]["unit"], rq::SEED.handling_unit.as_str());
    assert_eq!(after["units"][0]["sole"], 2);

    // The table: a title line, one line per figure, and the rows by unit.
    let table = ctl(&server, &args(&["--as-of", "2024-03-10", "--by-unit"]))
        .await
        .expect_success()
        .stdout;
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0], format!("{committee} {session}, as of 2024-03-10"));
    for (label, value) in [
        ("received", "2"),
        ("replied", "1  reply rate 50.0%"),
        ("overdue", "1"),
        ("result codes", "A 1"),
        ("not satisfied", "0  satisfaction rate –"),
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.trim_start().starts_with(label) && l.trim_end().ends_with(value)),
            "{label} … {value} in\n{table}"
        );
    }
    let header = lines.iter().position(|l| l.contains("SOLE")).expect(&table);
    assert!(
        lines[header + 1].ends_with(rq::SEED.handling_unit.as_str()),
        "{table}"
    );

    // CSV: a header and one row of totals; with --by-unit, a row per unit.
    let csv = ctl(&server, &args(&["--as-of", "2024-03-10", "--csv"]))
        .await
        .expect_success()
        .stdout;
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 2, "{csv}");
    let header: Vec<&str> = rows[0].split(',').collect();
    let values: Vec<&str> = rows[1].split(',').collect();
    assert_eq!(header.len(), values.len(), "{csv}");
    let column = |name: &str| values[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(
        (
            column("as_of"),
            column("received"),
            column("replied"),
            column("code_a")
        ),
        ("2024-03-10", "2", "1", "1")
    );
    assert_eq!(column("reply_rate"), "0.5000");
    assert_eq!(column("satisfaction_rate"), "", "no verdict: no rate");
    let by_unit = ctl(
        &server,
        &args(&["--as-of", "2024-03-10", "--csv", "--by-unit"]),
    )
    .await
    .expect_success()
    .stdout;
    let rows: Vec<&str> = by_unit.lines().collect();
    assert_eq!(rows.len(), 2, "{by_unit}");
    assert!(
        rows[0].starts_with("committee,session,as_of,unit,sole"),
        "{by_unit}"
    );
    assert!(
        rows[1].contains(&format!(",{},2,0,0,0,1,", rq::SEED.handling_unit)),
        "{by_unit}"
    );
}

#[tokio::test]
async fn stats_refuses_a_future_day_a_missing_session_and_two_output_forms() {
    let server = TestServer::start().await;
    let future = ctl(
        &server,
        &[
            "stats",
            "--committee",
            "许昌市政协",
            "--session",
            "七届三次会议",
            "--as-of",
            "9999-01-01",
        ],
    )
    .await;
    assert_eq!(future.code, Some(1), "{future:#?}");
    assert!(future.stderr.contains("as_of"), "{future:#?}");
    let missing = ctl(&server, &["stats", "--committee", "许昌市政协"]).await;
    assert_eq!(missing.code, Some(2), "{missing:#?}");
    let both = ctl(
        &server,
        &[
            "--json",
            "stats",
            "--committee",
            "许昌市政协",
            "--session",
            "七届三次会议",
            "--csv",
        ],
    )
    .await;
    assert_eq!(both.code, Some(2), "{both:#?}");
}

/// Two proposals of the seed's session received on 2024-01-10 and assigned on 01-20 to the
/// seed's unit: one due 02-20 and never replied, one due 04-20 and replied on 03-01.
async fn session_of_two(server: &TestServer) -> (String, String) {
    let mut client = server.client.clone();
    let mut replied = None;
    for due in ["2024-02-20", "2024-04-20"] {
        let p = client
            .receive_proposal(pb::ReceiveProposalRequest {
                effective_date: "2024-01-10".into(),
                ..rq::receive(rq::next_number())
            })
            .await
            .unwrap()
            .into_inner()
            .proposal
            .unwrap();
        let p = client
            .assign_proposal(pb::AssignProposalRequest {
                effective_date: "2024-01-20".into(),
                due_date: due.into(),
                ..rq::assign(&p)
            })
            .await
            .unwrap()
            .into_inner()
            .proposal
            .unwrap();
        replied = Some(p);
    }
    let p = replied.unwrap();
    let dated = |date: &str| date.to_owned();
    client
        .draft_reply(pb::DraftReplyRequest {
            effective_date: dated("2024-02-25"),
            ..rq::draft(&p)
        })
        .await
        .unwrap();
    client
        .sign_reply(pb::SignReplyRequest {
            effective_date: dated("2024-02-28"),
            ..rq::sign(&p)
        })
        .await
        .unwrap();
    client
        .issue_reply(pb::IssueReplyRequest {
            effective_date: dated("2024-03-01"),
            issue_date: dated("2024-03-01"),
            ..rq::issue(&p)
        })
        .await
        .unwrap();
    (p.committee, p.session)
}
