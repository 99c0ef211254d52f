//! `ums-notify replay --since 2h [--status failed] [--tenant MID]`: redelivers the
//! notices a filter matches through a running sandbox
//! (`POST /admin/v1/notifications/redeliver`), at most 10,000 per call.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use serde_json::{Map, Value};

use super::{failed, refused, usage_error, Remote, RemoteArgs};
use crate::duration::parse_duration;

#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// Only notices created within this long before now (this machine's clock), such as
    /// `2h`.
    #[arg(long, value_parser = parse_duration)]
    pub since: Option<Duration>,
    /// Only notices in this status: pending, delivered, failed or cancelled.
    #[arg(long)]
    pub status: Option<String>,
    /// Only this merchant's notices (its mid).
    #[arg(long)]
    pub tenant: Option<String>,
    /// Only notices of this kind (`payment_result`, `contract_state`, `generic`).
    #[arg(long)]
    pub kind: Option<String>,
    /// Only notices about this subject (a contractId, an order number).
    #[arg(long)]
    pub subject: Option<String>,
    /// Print the sandbox's JSON answer instead of a sentence.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

pub async fn run(args: ReplayArgs) -> ExitCode {
    let remote = match Remote::new(&args.remote) {
        Ok(remote) => remote,
        Err(error) => return usage_error(error),
    };
    let mut filter = Map::new();
    if let Some(since) = args.since {
        let Some(from) = chrono::Duration::from_std(since)
            .ok()
            .and_then(|d| chrono::Utc::now().checked_sub_signed(d))
        else {
            return usage_error("--since is too long");
        };
        filter.insert(
            "created_from".to_owned(),
            Value::String(from.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        );
    }
    for (name, value) in [
        ("status", args.status),
        ("tenant", args.tenant),
        ("kind", args.kind),
        ("subject", args.subject),
    ] {
        if let Some(value) = value {
            filter.insert(name.to_owned(), Value::String(value));
        }
    }
    if filter.is_empty() {
        return usage_error(
            "give a filter (--since, --status, --tenant, --kind or --subject): replay does not \
             redeliver everything",
        );
    }
    match remote
        .post("notifications/redeliver", &Value::Object(filter))
        .await
    {
        Ok(Ok(answer)) if args.json => {
            println!("{answer}");
            ExitCode::SUCCESS
        }
        Ok(Ok(answer)) => {
            let count = answer["redelivered"].as_u64().unwrap_or(0);
            println!("redelivered {count} notification(s)");
            if let Some(running) = answer["skipped_running"].as_u64().filter(|n| *n > 0) {
                println!(
                    "{running} matching notification(s) had a try running and were left alone"
                );
            }
            if answer["more"] == Value::Bool(true) {
                println!(
                    "more matched than one call moves ({}): run the command again for the next ones",
                    answer["limit"]
                );
            }
            ExitCode::SUCCESS
        }
        Ok(Err(refusal)) => refused(&refusal),
        Err(error) => failed(error),
    }
}
