mod common;

// RenderReply of the seed, proposal No. 228, over real gRPC, its acts dated as they happened:
// refused with NOT_ISSUED before it is issued, then the official reply document byte for byte
// once ISSUED (its 抄送 line is part of the document as issued, its date line the day the
// leader signed) and unchanged once copied; an unknown or malformed id is refused.

use common::calls::ok;
use common::plans::{CLERK_A, LEADER_A, OFFICE, REGISTRAR_1};
use common::requests::{self, CommandFields};
use common::status::{assert_invalid, error_info};
use common::{Client, TestServer};
use proposal_service::pb;
use proposal_service::seed;
use tonic::{Code, Status};

#[tokio::test]
async fn the_seed_proposal_renders_as_its_reply_document() {
    let server = TestServer::start().await;
    let mut client = server.client.clone();
    let seed = seed::proposal_228();
    let registration = pb::ReceiveProposalRequest {
        actor: "提案委登记员".into(),
        ..seed.registration().into()
    }
    .dated("2019-03-10");
    let p = ok(&mut client, registration).await;
    let id = p.id.clone();
    let not_issued = |result: Result<pb::RenderReplyResponse, Status>, state: &str| {
        let status = result.expect_err("no document before ISSUED");
        let metadata = error_info(&status, Code::FailedPrecondition, "NOT_ISSUED");
        assert_eq!(
            metadata.get("currentState").map(String::as_str),
            Some(state),
            "{status:?}"
        );
    };
    not_issued(render(&client, &id).await, "RECEIVED");
    ok(
        &mut client,
        requests::assign(&p).by(REGISTRAR_1).dated("2019-05-31"),
    )
    .await;
    not_issued(render(&client, &id).await, "ASSIGNED");
    ok(
        &mut client,
        requests::draft(&p).by(CLERK_A).dated("2019-09-20"),
    )
    .await;
    not_issued(render(&client, &id).await, "DRAFTED");
    // The leader signs on the 29th; the office enters it the next day.
    let sign = pb::SignReplyRequest {
        sign_date: "2019-09-29".into(),
        ..requests::sign(&p)
    };
    let signed = ok(&mut client, sign.by(LEADER_A).dated("2019-09-30")).await;
    assert_eq!(signed.sign_date, "2019-09-29");
    not_issued(render(&client, &id).await, "SIGNED");
    let issue = pb::IssueReplyRequest {
        document_number: seed.document_number.clone(),
        copy_to: seed.recipients.clone(),
        ..requests::issue(&p)
    };
    let issued = ok(&mut client, issue.by(OFFICE).dated("2019-09-30")).await;
    assert_eq!(issued.copy_to, seed.recipients);
    assert!(issued.copied_to.is_empty(), "not dispatched yet");
    // Issued, not copied yet: the whole document, its 抄送 line and date line included.
    let copy_line = format!("\n抄送：{}。\n", seed.recipients.join("、"));
    assert_eq!(
        seed::DOCUMENT.matches(&copy_line).count(),
        1,
        "the seed has one copy line"
    );
    let rendered = render(&client, &id).await.expect("an issued reply renders");
    assert_eq!(rendered.document_number, "许环〔2019〕13号");
    assert_same_text(&rendered.text, seed::DOCUMENT, "ISSUED");

    // Dispatched to the proposer and, by default, to the document's 抄送 line.
    let copy = pb::CopyReplyRequest {
        recipients: Vec::new(),
        ..requests::copy(&p)
    };
    let copied = ok(&mut client, copy.by(OFFICE).dated("2019-10-08")).await;
    assert_eq!(copied.copied_to, seed.recipients);
    let rendered = render(&client, &id).await.expect("a copied reply renders");
    assert_same_text(&rendered.text, seed::DOCUMENT, "COPIED");

    let unknown = render(&client, &uuid::Uuid::now_v7().to_string())
        .await
        .expect_err("no such proposal");
    assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");
    assert_invalid(
        render(&client, "许环〔2019〕13号").await,
        "proposal_id",
        "RenderReply with a malformed id",
    );
    assert_invalid(
        render(&client, "").await,
        "proposal_id",
        "RenderReply without an id",
    );
}

async fn render(client: &Client, id: &str) -> Result<pb::RenderReplyResponse, Status> {
    client
        .clone()
        .render_reply(requests::render(id))
        .await
        .map(tonic::Response::into_inner)
}

/// Fails, saying how, unless `rendered` is `expected` byte for byte.
fn assert_same_text(rendered: &str, expected: &str, what: &str) {
    if rendered == expected {
        return;
    }
    let non_empty = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect()
    };
    let rendered_lines = non_empty(rendered);
    let expected_lines = non_empty(expected);
    let first = rendered_lines
        .iter()
        .zip(&expected_lines)
        .position(|(r, e)| r != e);
    panic!(
        "{what}: the rendered text differs from the document; non-empty lines equal: {}; \
         first differing non-empty line: {:?}; line counts {} vs {} (non-empty {} vs {})\n\
         --- rendered\n{rendered}\n--- expected\n{expected}",
        rendered_lines == expected_lines,
        first.map(|i| (&rendered_lines[i], &expected_lines[i])),
        rendered.lines().count(),
        expected.lines().count(),
        rendered_lines.len(),
        expected_lines.len(),
    );
}
