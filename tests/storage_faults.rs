//! Storage faults on the real binary: a full disk is reported to callers and in health, nothing
//! unacknowledged is claimed and nothing acknowledged is lost; a damaged data directory is
//! refused at start with a message naming the problem.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::process::{ServerProcess, Started, temp_data_dir};
use proposal_service::pb;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// A small tmpfs mounted for one test (needs root, as CI runs); unmounted when dropped.
struct Tmpfs {
    _parent: tempfile::TempDir,
    path: PathBuf,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Self> {
        let parent = tempfile::tempdir().unwrap();
        let path = parent.path().join("mnt");
        std::fs::create_dir(&path).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .status()
            .is_ok_and(|s| s.success());
        mounted.then_some(Self {
            _parent: parent,
            path,
        })
    }

    fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.path)
            .status()
            .unwrap();
        assert!(status.success(), "remounting the tmpfs larger");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

fn registration(number: u32, content: &str) -> pb::ReceiveProposalRequest {
    pb::ReceiveProposalRequest {
        committee: "许昌市政协".into(),
        session: "七届三次会议".into(),
        number,
        title: format!("第{number}号提案"),
        proposers: vec!["苏会兴".into()],
        content: content.into(),
        request_id: String::new(),
        actor: "登记员".into(),
        effective_date: String::new(),
        proposer_kind: pb::ProposerKind::Member as i32,
    }
}

async fn health(addr: std::net::SocketAddr) -> i32 {
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let request = HealthCheckRequest {
        service: "proposal.v1.ProposalService".into(),
    };
    HealthClient::new(channel)
        .check(request)
        .await
        .unwrap()
        .into_inner()
        .status
}

#[tokio::test]
async fn a_full_disk_fails_writes_loudly_and_loses_nothing_acknowledged() {
    let Some(disk) = Tmpfs::mount("6m") else {
        eprintln!("SKIPPED: mounting a tmpfs needs root (CI runs as root)");
        return;
    };
    let data = disk.path.join("data");
    let mut server = ServerProcess::expect_start(&data);
    let mut client = server.client().await;
    // About 150 KB of UTF-8 per proposal: the disk fills within a few dozen.
    let content = "环境保护".repeat(12_500);
    let mut acknowledged = Vec::new();
    let failure = loop {
        let number = acknowledged.len() as u32 + 1;
        assert!(number < 1000, "a 6 MiB disk never filled up");
        match client
            .receive_proposal(registration(number, &content))
            .await
        {
            Ok(response) => acknowledged.push(response.into_inner().proposal.unwrap()),
            Err(status) => break status,
        }
    };
    assert_eq!(failure.code(), Code::Internal, "{failure:?}");
    assert!(
        !acknowledged.is_empty(),
        "some writes fit before the disk filled"
    );
    // Health follows the failure asynchronously (the writer reports it, a task updates health):
    // poll until it says so, within a bound.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while health(server.addr).await != ServingStatus::NotServing as i32 {
        assert!(
            std::time::Instant::now() < deadline,
            "health still SERVING 10 s after the storage failure"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // Once storage failed, every write is refused, even a small one.
    let small = client
        .receive_proposal(registration(5000, "短"))
        .await
        .unwrap_err();
    assert_eq!(small.code(), Code::Internal);
    assert!(
        server.wait_for_log("commit failed", std::time::Duration::from_secs(10)),
        "the failure is logged:\n{}",
        server.log().join("\n")
    );

    server.kill();
    disk.resize("64m");
    let server = ServerProcess::expect_start(&data);
    let mut client = server.client().await;
    for proposal in &acknowledged {
        let request = pb::GetProposalRequest {
            proposal_id: proposal.id.clone(),
            ..Default::default()
        };
        let stored = client.get_proposal(request).await.unwrap().into_inner();
        assert_eq!(
            stored.proposal.as_ref(),
            Some(proposal),
            "acknowledged, so still there"
        );
    }
    // And the store takes writes again, continuing the log.
    let next = client
        .receive_proposal(registration(6000, "短"))
        .await
        .unwrap();
    assert_eq!(next.into_inner().proposal.unwrap().version, 1);
}

fn start_refused(data: &Path) -> String {
    match ServerProcess::start(data) {
        Started::Running(_) => panic!("the server started on a damaged directory"),
        Started::Refused(status, log) => {
            assert!(!status.success());
            log.join("\n")
        }
    }
}

#[tokio::test]
async fn a_damaged_data_directory_is_refused_with_a_clear_message() {
    let (_temp, data) = temp_data_dir();
    {
        let server = ServerProcess::expect_start(&data);
        let mut client = server.client().await;
        for number in 1..=20 {
            client
                .receive_proposal(registration(number, "加强环境保护。"))
                .await
                .unwrap();
        }
        assert!(server.terminate().await.success());
    }
    // Overwrite the middle of sled's data file with garbage.
    let file = std::fs::read_dir(data.join("sled"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().is_some_and(|n| n == "db"))
        .expect("sled's db file");
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    let end = (middle + 4096).min(bytes.len());
    for b in &mut bytes[middle..end] {
        *b ^= 0x5a;
    }
    std::fs::write(&file, bytes).unwrap();
    let log = start_refused(&data);
    assert!(
        log.contains("damaged") || log.contains("corrupt"),
        "the refusal names the problem:\n{log}"
    );
}

#[tokio::test]
async fn a_directory_in_use_is_refused() {
    let (_temp, data) = temp_data_dir();
    let _first = ServerProcess::expect_start(&data);
    let log = start_refused(&data);
    assert!(log.contains("already in use"), "{log}");
}
