//! The service under test as a child process: `serve` of this same binary on a free
//! loopback port, default settings but for the database, the admin token and a `warn`
//! log level; started, waited for on `/readyz`, measured (peak RSS) and stopped with
//! SIGTERM. Its output goes to a temporary log file that is kept when something fails.

use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::process::{Child, Command};

/// How long the child may take to answer `/readyz`.
const READY_DEADLINE: Duration = Duration::from_secs(30);
/// How long it may take to exit after SIGTERM (its shutdown grace is 15 s by default).
const STOP_DEADLINE: Duration = Duration::from_secs(30);

pub struct Server {
    child: Child,
    pid: u32,
    /// `http://127.0.0.1:<port>`
    pub base_url: String,
    log: tempfile::NamedTempFile,
}

impl Server {
    /// Starts `serve` on a free loopback port against `database_url` and waits until it is
    /// ready. Every other `UMS_NOTIFY_*` variable of this environment is withheld, so the
    /// child runs with the defaults.
    /// `binary` is the `ums-notify` to run, this one when `None`.
    pub async fn start(
        binary: Option<&std::path::Path>,
        database_url: &str,
        admin_token: &str,
    ) -> anyhow::Result<Self> {
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
            probe.local_addr()?.port()
        };
        let log = tempfile::Builder::new()
            .prefix("ums-notify-bench-server-")
            .suffix(".log")
            .tempfile()
            .context("creating the server's log file")?;
        let stdout = log.as_file().try_clone()?;
        let stderr = log.as_file().try_clone()?;
        let exe = match binary {
            Some(path) => path.to_path_buf(),
            None => std::env::current_exe().context("locating this binary")?,
        };
        let mut command = Command::new(&exe);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("UMS_NOTIFY_") {
                command.env_remove(name);
            }
        }
        command
            .arg("serve")
            .env("UMS_NOTIFY_LISTEN", format!("127.0.0.1:{port}"))
            .env("UMS_NOTIFY_DATABASE_URL", database_url)
            .env("UMS_NOTIFY_ADMIN_TOKEN", admin_token)
            .env("UMS_NOTIFY_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            // Only a fallback if this process bails out before `stop`.
            .kill_on_drop(true);
        let child = command
            .spawn()
            .with_context(|| format!("starting {} serve", exe.display()))?;
        let pid = child
            .id()
            .ok_or_else(|| anyhow::anyhow!("the server exited at once"))?;
        let mut server = Self {
            child,
            pid,
            base_url: format!("http://127.0.0.1:{port}"),
            log,
        };
        if let Err(error) = server.wait_ready().await {
            let _ = server.child.start_kill();
            let _ = server.child.wait().await;
            let tail = server.log_tail(20);
            let path = server.keep_log();
            return Err(error.context(format!(
                "the server did not become ready; its log is {}{tail}",
                path.display()
            )));
        }
        Ok(server)
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()?;
        let url = format!("{}/readyz", self.base_url);
        let started = Instant::now();
        loop {
            self.check_running()?;
            if let Ok(response) = client.get(&url).send().await {
                if response.status() == reqwest::StatusCode::OK {
                    return Ok(());
                }
            }
            if started.elapsed() > READY_DEADLINE {
                anyhow::bail!("{url} did not answer 200 within {READY_DEADLINE:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// An error if the child has exited.
    pub fn check_running(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => anyhow::bail!("the server exited early ({status})"),
        }
    }

    /// The child's peak resident memory in KiB (read it before `stop`).
    pub fn peak_rss_kib(&self) -> Option<u64> {
        super::peak_rss_kib(&self.pid.to_string())
    }

    /// SIGTERM, then waits for the exit; SIGKILL only if it does not exit in time.
    pub async fn stop(&mut self) -> anyhow::Result<ExitStatus> {
        if let Some(status) = self.child.try_wait()? {
            return Ok(status);
        }
        let signalled = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status()
            .await;
        if !matches!(&signalled, Ok(status) if status.success()) {
            tracing::warn!(?signalled, "kill -TERM failed; killing the server");
            self.child.start_kill()?;
        }
        match tokio::time::timeout(STOP_DEADLINE, self.child.wait()).await {
            Ok(status) => Ok(status?),
            Err(_) => {
                self.child.start_kill()?;
                self.child.wait().await?;
                anyhow::bail!(
                    "the server did not exit within {STOP_DEADLINE:?} of SIGTERM; killed it"
                )
            }
        }
    }

    /// Whether the child wrote anything (at `warn` and above).
    pub fn logged_anything(&self) -> bool {
        self.log
            .as_file()
            .metadata()
            .map(|m| m.len() > 0)
            .unwrap_or(false)
    }

    /// The last `lines` lines of the log, indented, for an error message.
    fn log_tail(&self, lines: usize) -> String {
        let mut text = String::new();
        let mut file = self.log.as_file();
        if file.seek(SeekFrom::Start(0)).is_err() || file.read_to_string(&mut text).is_err() {
            return String::new();
        }
        let tail: Vec<&str> = text.lines().rev().take(lines).collect();
        if tail.is_empty() {
            return String::new();
        }
        let mut out = String::from("\n  last lines of the log:");
        for line in tail.iter().rev() {
            out.push_str("\n    ");
            out.push_str(line);
        }
        out
    }

    /// Keeps the log file past this process and returns its path.
    pub fn keep_log(self) -> PathBuf {
        let path = self.log.path().to_path_buf();
        match self.log.keep() {
            Ok((_, kept)) => kept,
            Err(_) => path,
        }
    }
}
