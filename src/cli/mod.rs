//! The merchant's daily commands that talk to a running sandbox over its admin API
//! (`Authorization: Bearer`): [`trigger`] fires named notices, [`replay`] redelivers the
//! notices a filter matches, [`listen`] relays the merchant's notices to a local handler
//! (through [`forward`]). [`Remote`] is their HTTP client. Exit 0 on success, 1 when
//! the sandbox refused or could not be reached, 2 on bad arguments.

pub mod forward;
pub mod listen;
pub mod replay;
pub mod trigger;

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use serde_json::Value;

/// Where the sandbox is and how to authenticate to it.
#[derive(Debug, Clone, Args)]
pub struct RemoteArgs {
    /// The sandbox's base URL.
    #[arg(
        long,
        env = "UMS_NOTIFY_SANDBOX",
        default_value = "http://127.0.0.1:8080"
    )]
    pub sandbox: String,
    /// The bearer credential of its admin API: the admin token, or a merchant access
    /// key (`umsk_…`, which reaches that merchant only); none when the sandbox has no
    /// admin token set.
    #[arg(long, env = "UMS_NOTIFY_KEY", hide_env_values = true)]
    pub key: Option<String>,
}

/// An error answer of the admin API.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub status: u16,
    pub code: String,
    pub message: String,
}

/// A client of one sandbox's admin API.
pub struct Remote {
    base: url::Url,
    key: Option<String>,
    http: reqwest::Client,
}

impl Remote {
    pub fn new(args: &RemoteArgs) -> Result<Self, String> {
        let mut base = url::Url::parse(&args.sandbox)
            .map_err(|e| format!("--sandbox {:?}: {e}", args.sandbox))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(format!("--sandbox {:?}: not an http(s) URL", args.sandbox));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            base,
            key: args.key.clone().filter(|k| !k.is_empty()),
            http,
        })
    }

    /// POSTs `body` to `path` under `/admin/v1/`: the answer's JSON, or the refusal.
    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Result<Value, Refusal>> {
        let url = self.base.join(&format!("admin/v1/{path}"))?;
        let mut request = self.http.post(url.clone()).json(body);
        if let Some(key) = &self.key {
            request = request.bearer_auth(key);
        }
        let response = request
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("cannot reach the sandbox at {url}: {e}"))?;
        let status = response.status();
        let text = response.text().await?;
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(Ok(json));
        }
        let field = |name: &str| json["error"][name].as_str().map(str::to_owned);
        Ok(Err(Refusal {
            status: status.as_u16(),
            code: field("code").unwrap_or_else(|| "unknown".to_owned()),
            message: field("message").unwrap_or(text),
        }))
    }
}

/// Exit code 2: the arguments cannot make a request.
pub fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

/// Exit code 1: the sandbox refused, saying why.
pub fn refused(refusal: &Refusal) -> ExitCode {
    eprintln!(
        "error: the sandbox answered {} {}: {}",
        refusal.status, refusal.code, refusal.message
    );
    ExitCode::FAILURE
}

/// Exit code 1: the request failed.
pub fn failed(error: anyhow::Error) -> ExitCode {
    eprintln!("error: {error:#}");
    ExitCode::FAILURE
}
