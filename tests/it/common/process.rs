//! The real `ums-notify` binary as a child process, for tests that kill it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct ServiceProcess {
    child: Child,
    pub addr: SocketAddr,
    /// Every JSON log line the process has written so far.
    logs: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl ServiceProcess {
    /// Starts `ums-notify serve` on a free port against `database_url` and waits until it
    /// says where it listens.
    pub fn start(database_url: &str, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ums-notify"))
            .args([
                "--log-format",
                "json",
                "--log",
                "info",
                "serve",
                "--listen",
                "127.0.0.1:0",
            ])
            .args(extra)
            .env("UMS_NOTIFY_DATABASE_URL", database_url)
            .env("UMS_NOTIFY_ADMIN_TOKEN", super::ADMIN_TOKEN)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ums-notify");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let kept = logs.clone();
        std::thread::spawn(move || {
            let mut sent = false;
            // Keeps draining so the child never blocks on a full pipe.
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
                    continue;
                };
                if !sent {
                    if let Some(listen) = event["fields"]["listen"].as_str() {
                        let _ = tx.send(listen.to_owned());
                        sent = true;
                    }
                }
                kept.lock().unwrap().push(event);
            }
        });
        let listen = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("ums-notify reports its address within 30s");
        Self {
            child,
            addr: listen.parse().expect("listen address"),
            logs,
        }
    }

    /// Waits up to `within` for a JSON log line that `matches`, and returns it.
    pub async fn wait_for_log(
        &self,
        within: Duration,
        matches: impl Fn(&serde_json::Value) -> bool,
    ) -> Option<serde_json::Value> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(line) = self.logs.lock().unwrap().iter().find(|l| matches(l)) {
                return Some(line.clone());
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        self.child.wait().expect("wait for ums-notify")
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
