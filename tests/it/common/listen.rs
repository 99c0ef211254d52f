//! The real `ums-notify listen` as a child process: its stderr lines kept as they come,
//! so a test can wait for "Ready" or "replaced", and killed on drop.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

pub struct ListenProcess {
    pub child: Child,
    stderr: Arc<Mutex<Vec<String>>>,
    stdout: Arc<Mutex<Vec<String>>>,
}

impl ListenProcess {
    /// Starts `ums-notify listen` with `args` (after `listen`).
    pub fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ums-notify"))
            .arg("listen")
            .args(args)
            .env("UMS_NOTIFY_LOG", "warn")
            .env_remove("UMS_NOTIFY_SANDBOX")
            .env_remove("UMS_NOTIFY_KEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start ums-notify listen");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let (err, out) = (stderr.clone(), stdout.clone());
        let mut err_lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let mut out_lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = err_lines.next_line().await {
                err.lock().unwrap().push(line);
            }
        });
        tokio::spawn(async move {
            while let Ok(Some(line)) = out_lines.next_line().await {
                out.lock().unwrap().push(line);
            }
        });
        Self {
            child,
            stderr,
            stdout,
        }
    }

    pub fn stderr(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    pub fn stdout(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// Waits up to `within` for a stderr line containing `text`.
    pub async fn wait_for_stderr(&self, text: &str, within: Duration) {
        let found = super::eventually(within, || async {
            self.stderr().iter().any(|line| line.contains(text))
        })
        .await;
        assert!(
            found,
            "no {text:?} on listen's stderr within {within:?}: {:#?}",
            self.stderr()
        );
    }

    /// Waits up to `within` for `n` lines on stdout.
    pub async fn wait_for_lines(&self, n: usize, within: Duration) -> Vec<String> {
        let found = super::eventually(within, || async { self.stdout().len() >= n }).await;
        assert!(
            found,
            "fewer than {n} lines on listen's stdout within {within:?}: {:#?}",
            self.stdout()
        );
        self.stdout()
    }
}
