mod common;

// RenderReply of the seed, proposal No. 228, over real gRPC: refused with NOT_ISSUED before it
// is issued, then the official reply document byte for byte (without its copy line until it is
// copied); an unknown or malformed id is refused.

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
    };
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
    ok(&mut client, requests::assign(&p).by(REGISTRAR_1)).await;
    not_issued(render(&client, &id).await, "ASSIGNED");
    ok(&mut client, requests::draft(&p).by(CLERK_A)).await;
    not_issued(render(&client, &id).await, "DRAFTED");
    ok(&mut client, requests::sign(&p).by(LEADER_A)).await;
    not_issued(render(&client, &id).await, "SIGNED");
    let issue = pb::IssueReplyRequest {
        document_number: seed.document_number.clone(),
        ..requests::issue(&p)
    };
    ok(&mut client, issue.by(OFFICE)).await;
    // Issued, not copied yet: the document without its copy line (and the blank line above it).
    let issued = render(&client, &id).await.expect("an issued reply renders");
    assert_eq!(issued.document_number, "许环〔2019〕13号");
    let copy_line = format!("\n抄送：{}。\n", seed.recipients.join("、"));
    assert_eq!(
        seed::DOCUMENT.matches(&copy_line).count(),
        1,
        "the seed has one copy line"
    );
    let without_copy_line = seed::DOCUMENT.replacen(&copy_line, "", 1);
    assert_same_text(&issued.text, &without_copy_line, "ISSUED");

    ok(&mut client, requests::copy(&p).by(OFFICE)).await;
    let copied = render(&client, &id).await.expect("a copied reply renders");
    assert_eq!(copied.document_number, "许环〔2019〕13号");
    assert_same_text(&copied.text, seed::DOCUMENT, "COPIED");

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
