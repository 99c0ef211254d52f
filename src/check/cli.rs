//! `ums-notify check`: the catalogue run once against a notify URL, with no server or
//! database, for a merchant's CI job. Exit 0 when no `must` check failed, 1 when one did,
//! 2 on bad arguments.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::{Family, KnownOrder, PaymentTarget, Settings, Target, DEFAULT_MID};
use crate::clock::Clock;
use crate::duration::parse_duration;
use crate::platform::auth::AppKey;
use crate::platform::merchants::SignType;
use crate::platform::payments::order::Product;
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FamilyArg {
    Contract,
    Payment,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SignTypeArg {
    Sha256,
    Md5,
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The merchant's notify URL to check.
    #[arg(long)]
    pub notify_url: String,
    /// Which notices to check: `contract` (JSON, OPEN-BODY-SIG) or `payment` (form,
    /// `sign`, answered SUCCESS). `--only` overrides it.
    #[arg(long, value_enum, default_value = "contract")]
    pub family: FamilyArg,
    /// The appId contract notices are signed with.
    #[arg(long)]
    pub app_id: Option<String>,
    /// The appKey contract notices are signed with (the merchant's secret).
    #[arg(long, env = "UMS_NOTIFY_CHECK_APP_KEY", hide_env_values = true, value_parser = parse_key)]
    pub app_key: Option<AppKey>,
    /// The communication key (md5Key) payment notices are signed with.
    #[arg(long, env = "UMS_NOTIFY_CHECK_MD5_KEY", hide_env_values = true, value_parser = parse_key)]
    pub md5_key: Option<AppKey>,
    /// How payment notices are signed.
    #[arg(long, value_enum, default_value = "sha256")]
    pub sign_type: SignTypeArg,
    /// The order payment notices report paid, one your handler has: MER_ORDER_ID=AMOUNT
    /// (fen).
    #[arg(long, value_name = "MER_ORDER_ID=AMOUNT", conflicts_with = "bill",
          value_parser = |t: &str| KnownOrder::parse(Product::Trade, t))]
    pub order: Option<KnownOrder>,
    /// Or a QR bill your handler has: BILL_NO=AMOUNT (fen).
    #[arg(long, value_name = "BILL_NO=AMOUNT",
          value_parser = |t: &str| KnownOrder::parse(Product::Bill, t))]
    pub bill: Option<KnownOrder>,
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
    if args.request_timeout.is_zero() {
        return usage_error("--request-timeout must be above zero");
    }
    let family = match args.family {
        FamilyArg::Contract => Family::Contract,
        FamilyArg::Payment => Family::Payment,
    };
    let checks = match super::select(&args.only, family) {
        Ok(checks) => checks,
        Err(error) => return usage_error(error),
    };
    let contract = super::needs(&checks, Family::Contract);
    let (app_id, app_key) = match (args.app_id.clone(), args.app_key.clone()) {
        (Some(id), Some(key)) if !id.trim().is_empty() => (id, key),
        (Some(id), _) if id.trim().is_empty() => return usage_error("--app-id must not be empty"),
        _ if contract => return usage_error("the contract checks need --app-id and --app-key"),
        _ => (String::new(), AppKey::new("")),
    };
    let payment = match (
        args.md5_key.clone(),
        args.order.clone().or(args.bill.clone()),
    ) {
        (Some(md5_key), Some(order)) => Some(PaymentTarget {
            md5_key,
            sign_type: match args.sign_type {
                SignTypeArg::Sha256 => SignType::Sha256,
                SignTypeArg::Md5 => SignType::Md5,
            },
            order,
        }),
        _ if super::needs(&checks, Family::Payment) => return usage_error(
            "the payment checks need --md5-key and an order your handler has (--order or --bill)",
        ),
        _ => None,
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
        app_id,
        app_key,
        mid: args.mid.clone(),
        payment,
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
