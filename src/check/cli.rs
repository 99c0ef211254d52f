//! `ums-notify check`: the catalogue run once against a notify URL, with no server or
//! database, for a merchant's CI job. Exit 0 when no `must` check failed, 1 when one did,
//! 2 on bad arguments.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::{Settings, Target, DEFAULT_MID};
use crate::clock::Clock;
use crate::duration::parse_duration;
use crate::platform::auth::AppKey;
use crate::policy::Destination;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for a person at a terminal (coloured only on a terminal).
    Text,
    /// The report as JSON (field names are stable).
    Json,
    /// JUnit XML, one test case per check.
    Junit,
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The merchant's notify URL to check.
    #[arg(long)]
    pub notify_url: String,
    /// The appId the notices are signed with.
    #[arg(long)]
    pub app_id: String,
    /// The appKey the notices are signed with (the merchant's secret).
    #[arg(long, env = "UMS_NOTIFY_CHECK_APP_KEY", hide_env_values = true, value_parser = parse_key)]
    pub app_key: AppKey,
    /// The merchant number the notices carry.
    #[arg(long, default_value = DEFAULT_MID)]
    pub mid: String,
    /// Run only these checks (comma-separated ids; all by default).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Timeout of one request, as the platform's.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub request_timeout: Duration,
}

/// The key as an [`AppKey`], so no `Debug` of the arguments prints it.
fn parse_key(text: &str) -> Result<AppKey, String> {
    if text.is_empty() {
        return Err("the appKey must not be empty".to_owned());
    }
    Ok(AppKey::new(text))
}

/// Exit code 2: the arguments cannot make a run.
fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

pub async fn run(args: CheckArgs) -> ExitCode {
    if let Err(error) = Destination::parse(&args.notify_url) {
        return usage_error(format!("--notify-url {:?}: {error}", args.notify_url));
    }
    if args.app_id.trim().is_empty() {
        return usage_error("--app-id must not be empty");
    }
    if args.request_timeout.is_zero() {
        return usage_error("--request-timeout must be above zero");
    }
    let checks = match super::select(&args.only) {
        Ok(checks) => checks,
        Err(error) => return usage_error(error),
    };
    // A report that cannot be written is found before the run, not after it.
    let mut output = match &args.output {
        Some(path) => match std::fs::File::create(path) {
            Ok(file) => Some(file),
            Err(error) => return usage_error(format!("--output {}: {error}", path.display())),
        },
        None => None,
    };
    let target = Target {
        notify_url: args.notify_url.clone(),
        app_id: args.app_id.clone(),
        app_key: args.app_key.clone(),
        mid: args.mid.clone(),
    };
    let settings = Settings {
        request_timeout: args.request_timeout,
        ..Settings::default()
    };
    let report = match super::run(target, &checks, &settings, Clock::system()).await {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    let colour = args.output.is_none()
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    let rendered = match args.format {
        Format::Text => report.to_text(colour),
        Format::Json => report.to_json() + "\n",
        Format::Junit => report.to_junit(),
    };
    let written = match (&mut output, &args.output) {
        (Some(file), Some(path)) => file
            .write_all(rendered.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", path.display())),
        _ => std::io::stdout()
            .write_all(rendered.as_bytes())
            .map_err(|e| e.to_string()),
    };
    if let Err(error) = written {
        eprintln!("error: {error}");
        return ExitCode::FAILURE;
    }
    if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
