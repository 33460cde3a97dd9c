//! The real `proposal-server` binary as a child process, for tests that kill it, starve it of
//! disk or damage its files. The listening address is read from its first JSON log line.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::Client;

/// A running `proposal-server` process.
pub struct ServerProcess {
    pub addr: SocketAddr,
    child: Child,
    /// Every log line the server wrote to stderr so far, collected by a reader thread.
    log: mpsc::Receiver<String>,
    seen: Vec<String>,
}

/// How a start attempt ended.
pub enum Started {
    Running(ServerProcess),
    /// The server exited before listening; its status and what it logged.
    Refused(ExitStatus, Vec<String>),
}

impl ServerProcess {
    /// Starts the binary on 127.0.0.1:0 over `data_dir`, waiting until it logs its address.
    pub fn start(data_dir: &Path) -> Started {
        Self::start_with_args(data_dir, &[])
    }

    /// Like [`ServerProcess::start`], with extra command-line arguments (e.g.
    /// `["--max-in-flight", "2"]`).
    pub fn start_with_args(data_dir: &Path, args: &[&str]) -> Started {
        Self::start_listening(data_dir, "127.0.0.1:0", args)
    }

    /// Like [`ServerProcess::start_with_args`], listening on `listen` (e.g. `0.0.0.0:0`, to
    /// see the exposure rules refuse it).
    pub fn start_listening(data_dir: &Path, listen: &str, args: &[&str]) -> Started {
        let mut child = Command::new(env!("CARGO_BIN_EXE_proposal-server"))
            .arg("--listen")
            .arg(listen)
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--log-format")
            .arg("json")
            .args(args)
            .env(
                "RUST_LOG",
                "warn,proposal_server=info,proposal_service::server=info",
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting proposal-server");
        let stderr = child.stderr.take().unwrap();
        let (sender, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut seen = Vec::new();
        // The reader thread ends when the process closes stderr, so this loop always ends.
        while let Ok(line) = log.recv() {
            seen.push(line.clone());
            if let Some(addr) = listening_address(&line) {
                return Started::Running(Self {
                    addr,
                    child,
                    log,
                    seen,
                });
            }
        }
        let status = child.wait().expect("waiting for proposal-server");
        Started::Refused(status, seen)
    }

    /// Starts the server and panics if it does not come up.
    pub fn expect_start(data_dir: &Path) -> Self {
        Self::expect_start_with_args(data_dir, &[])
    }

    /// Starts the server with extra arguments and panics if it does not come up.
    pub fn expect_start_with_args(data_dir: &Path, args: &[&str]) -> Self {
        match Self::start_with_args(data_dir, args) {
            Started::Running(server) => server,
            Started::Refused(status, log) => {
                panic!("proposal-server exited with {status}:\n{}", log.join("\n"))
            }
        }
    }

    pub async fn client(&self) -> Client {
        let channel = tonic::transport::Channel::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .expect("connecting to proposal-server");
        super::wait_until_serving(channel.clone()).await;
        Client::new(channel)
    }

    /// Kills the server with SIGKILL: no shutdown code runs.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaping the killed server");
    }

    /// Sends SIGTERM and waits for the process to exit; returns its status. Waits off the
    /// runtime, so that the test's own client connections keep being served meanwhile.
    pub async fn terminate(self) -> ExitStatus {
        self.terminate_with_log().await.0
    }

    /// Like [`ServerProcess::terminate`], and also returns every line the server logged.
    pub async fn terminate_with_log(self) -> (ExitStatus, Vec<String>) {
        self.signal("TERM");
        tokio::task::spawn_blocking(move || {
            let mut server = self;
            let status = server.child.wait().expect("waiting for the server to exit");
            // The reader thread ends when the exited server's stderr closes.
            while let Ok(line) = server.log.recv() {
                server.seen.push(line);
            }
            (status, std::mem::take(&mut server.seen))
        })
        .await
        .unwrap()
    }

    /// Sends SIGHUP: the server re-reads its principals file.
    pub fn hangup(&self) {
        self.signal("HUP");
    }

    /// Sends the signal `name` (`TERM`, `HUP`) with `kill`.
    fn signal(&self, name: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .expect("kill");
        assert!(sent.success(), "sending SIG{name} failed");
    }

    /// Waits up to `limit` for the server to exit on its own (no signal sent), and returns its
    /// status and every line it logged; `None` if it is still running (it is killed on drop).
    pub fn wait_for_exit(mut self, limit: Duration) -> Option<(ExitStatus, Vec<String>)> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("polling proposal-server") {
                // The reader thread ends when the exited server's stderr closes.
                while let Ok(line) = self.log.recv() {
                    self.seen.push(line);
                }
                return Some((status, std::mem::take(&mut self.seen)));
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits up to `limit` for a log line containing `needle` (the server writes its log
    /// asynchronously to what a client sees); whether one came.
    pub fn wait_for_log(&mut self, needle: &str, limit: Duration) -> bool {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if self.log().iter().any(|line| line.contains(needle)) {
                return true;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            if let Ok(line) = self.log.recv_timeout(left.min(Duration::from_millis(50))) {
                self.seen.push(line);
            }
        }
    }

    /// The log lines written so far.
    pub fn log(&mut self) -> &[String] {
        while let Ok(line) = self.log.try_recv() {
            self.seen.push(line);
        }
        &self.seen
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn listening_address(line: &str) -> Option<SocketAddr> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    let fields = value.get("fields")?;
    if fields.get("message")?.as_str()? != "proposal-server listening" {
        return None;
    }
    fields.get("listen")?.as_str()?.parse().ok()
}

/// A fresh directory for a test's data, removed when dropped.
pub fn temp_data_dir() -> (tempfile::TempDir, PathBuf) {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    (temp, dir)
}
