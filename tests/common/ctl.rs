//! `proposalctl`, the real binary, run the way a user runs it: with arguments, optional stdin,
//! and an environment that cannot leak a server, an actor or a token into the run; against an
//! in-process [`TestServer`] off the runtime, so the server keeps serving meanwhile. Also
//! `proposalctl watch` as a long-running child whose lines arrive as they are printed, and the
//! seed proposal registered or the whole demo run through it.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use proposal_service::seed;
use serde_json::Value;

use super::TestServer;

/// Every subcommand, as `proposalctl --help` lists them.
pub const SUBCOMMANDS: [&str; 32] = [
    "receive",
    "assign",
    "return",
    "draft",
    "reject",
    "sign",
    "issue",
    "copy",
    "refuse",
    "acknowledge",
    "contact",
    "request-extension",
    "decide-extension",
    "request-return",
    "decide-return",
    "submit-opinion",
    "merge",
    "feedback",
    "close",
    "reopen",
    "set-key",
    "rules",
    "get",
    "list",
    "overdue",
    "stats",
    "history",
    "render",
    "events",
    "watch",
    "verify",
    "demo",
];

/// How one run of `proposalctl` ended.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }

    #[track_caller]
    pub fn expect_success(self) -> Self {
        assert_eq!(self.code, Some(0), "proposalctl failed: {self:#?}");
        self
    }
}

/// Runs `proposalctl` with `args` (after `--server url` when given), feeding it `stdin`.
/// The environment cannot leak a server, an actor or a token into the run.
pub fn run_ctl(server: Option<&str>, args: &[&str], stdin: Option<&[u8]>) -> Run {
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

pub fn url(server: &TestServer) -> String {
    format!("http://{}", server.addr)
}

/// Runs `proposalctl` against `server` off the runtime, so the in-process server keeps serving.
pub async fn ctl(server: &TestServer, args: &[&str]) -> Run {
    ctl_with_stdin(server, args, None).await
}

pub async fn ctl_with_stdin(server: &TestServer, args: &[&str], stdin: Option<Vec<u8>>) -> Run {
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
pub async fn receive_228(server: &TestServer) -> Value {
    receive_228_with(server, &["--request-id", "receive/228"]).await
}

/// As [`receive_228`], with `extra` flags (e.g. an effective date) instead of the request id.
pub async fn receive_228_with(server: &TestServer, extra: &[&str]) -> Value {
    let seed = seed::proposal_228();
    let number = seed.number.to_string();
    let mut args = vec![
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
    ];
    args.extend_from_slice(extra);
    ctl(server, &args).await.expect_success().json()
}

/// Runs the demo and returns its proposal's id.
pub async fn demo(server: &TestServer) -> String {
    ctl(server, &["demo"]).await.expect_success();
    let list = ctl(server, &["--json", "list"])
        .await
        .expect_success()
        .json();
    list["proposals"][0]["id"].as_str().unwrap().to_owned()
}

/// Starts `proposalctl watch` with `args`; its stdout lines arrive on the receiver as they are
/// printed.
pub fn spawn_watch(server: &TestServer, args: &[&str]) -> (Child, mpsc::Receiver<String>) {
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
pub async fn interrupt(mut watch: Child) -> Option<i32> {
    let sent = Command::new("kill")
        .args(["-INT", &watch.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    tokio::task::spawn_blocking(move || watch.wait().unwrap().code())
        .await
        .unwrap()
}
