mod common;

// VerifyHistory over real gRPC: an empty and a clean store verify, with the head of the chain;
// an event edited on disk (its stored hash kept) is caught at its position and nowhere else.

use common::TestServer;
use common::plans::{
    CLERK_A, LEADER_A, UNIT_A, drive_plan, forward, rejected_and_revised, returned_and_reassigned,
};
use common::reads::{verify_history, whole_log};

#[tokio::test]
async fn verify_history_is_clean_and_catches_an_edited_event() {
    let mut server = TestServer::start().await;
    let client = server.client.clone();
    let empty = verify_history(&client).await;
    assert!(empty.ok, "an empty store verifies: {empty:?}");
    assert_eq!(
        (
            empty.events_checked,
            empty.proposals_checked,
            empty.head_position
        ),
        (0, 0, 0)
    );
    let plans = [
        forward(UNIT_A, CLERK_A, LEADER_A),
        returned_and_reassigned(),
        rejected_and_revised(),
    ];
    let mut caused = 0;
    for (i, plan) in plans.iter().enumerate() {
        caused += drive_plan(&client, i as u32 + 1, plan, 100).await.1;
    }
    let log = whole_log(&client).await;
    assert_eq!(log.len(), caused);
    let clean = verify_history(&server.client).await;
    assert!(clean.ok, "a clean store verifies: {clean:?}");
    assert!(
        clean.first_mismatch.is_empty() && clean.problems.is_empty(),
        "{clean:?}"
    );
    assert_eq!(clean.events_checked, caused as u64);
    assert_eq!(clean.proposals_checked, plans.len() as u64);
    assert_eq!(clean.head_position, caused as u64);
    assert_eq!(
        clean.head_hash,
        log.last().unwrap().hash,
        "the head is the last event's hash"
    );

    // Edit event 3's actor on disk, keeping its stored hash, as an editor of the files would.
    let original = log[2].clone();
    assert_eq!(original.position, 3);
    server.stop().await;
    let sled_dir = server.data_dir().join("sled");
    tokio::task::spawn_blocking(move || {
        let db = sled::Config::new()
            .path(&sled_dir)
            .open()
            .expect("opening sled");
        // The log names the event at each position; events are keyed by proposal and sequence.
        let log = db.open_tree("log").unwrap();
        let key = log
            .get(3u64.to_be_bytes())
            .unwrap()
            .expect("position 3 is in the log");
        let events = db.open_tree("events").unwrap();
        let value = events.get(&key).unwrap().expect("position 3 is stored");
        let (hash, json) = value.split_at(32);
        let json = std::str::from_utf8(json).expect("events are JSON");
        let field = format!(
            "\"actor\":{}",
            serde_json::to_string(&original.actor).unwrap()
        );
        assert_eq!(json.matches(&field).count(), 1, "{field} in {json}");
        let edited = json.replace(&field, "\"actor\":\"篡改者\"");
        events
            .insert(key, [hash, edited.as_bytes()].concat())
            .unwrap();
        db.flush().unwrap();
    })
    .await
    .unwrap();
    let server = server.restart().await;

    let after = whole_log(&server.client).await;
    assert_eq!(after[2].actor, "篡改者", "the edit took effect");
    assert_eq!(after[2].hash, original.hash, "the stored hash was kept");
    let report = verify_history(&server.client).await;
    assert!(!report.ok, "the edit is caught: {report:?}");
    assert_eq!(report.events_checked, caused as u64);
    assert!(
        report.first_mismatch.contains("position 3")
            && positions_named(&report.first_mismatch) == [3],
        "the first mismatch names position 3: {:?}",
        report.first_mismatch
    );
    assert_eq!(report.problems.first(), Some(&report.first_mismatch));
    for problem in &report.problems {
        assert!(
            positions_named(problem).iter().all(|p| *p == 3),
            "only position 3 is reported: {:?}",
            report.problems
        );
    }
    assert_eq!(
        (report.head_position, report.head_hash.as_str()),
        (clean.head_position, clean.head_hash.as_str()),
        "the later links are unchanged"
    );
}

/// Every number that follows "position " in `text`.
fn positions_named(text: &str) -> Vec<u64> {
    text.match_indices("position ")
        .filter_map(|(i, m)| {
            let digits: String = text[i + m.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .collect()
}
