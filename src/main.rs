//! The `ums-notify` command: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use ums_notify::clock::Clock;
use ums_notify::config::{DatabaseArgs, ServeArgs};
use ums_notify::db::{self, Db};
use ums_notify::startup::{shutdown_signal, Application};
use ums_notify::{bench, check, cli as tools, receiver, telemetry};

#[derive(Debug, Parser)]
#[command(
    name = "ums-notify",
    version,
    about = "A sandbox of the ChinaUMS open platform's notification center: a durable, retrying notification dispatcher."
)]
struct Cli {
    /// Log filter, such as `info` or `ums_notify=debug,info`.
    #[arg(long, env = "UMS_NOTIFY_LOG", default_value = "info", global = true)]
    log: String,
    /// Log format.
    #[arg(long, env = "UMS_NOTIFY_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"], global = true)]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service: admin API, platform API, metrics and the delivery workers.
    Serve(Box<ServeArgs>),
    /// Apply the database migrations and exit.
    Migrate(DatabaseArgs),
    /// Measure the whole pipeline against a temporary database and a built-in receiver.
    Bench(bench::BenchArgs),
    /// Run a demo merchant receiver: answers 200 (or 500 for a share of requests), or
    /// with --verify, the reference handler that checks every notice's signature.
    Receiver(receiver::ReceiverArgs),
    /// Check a merchant's notify URL: send signed notices and judge the answers. Exits 0
    /// when no `must` check failed, 1 when one did, 2 on bad arguments.
    Check(check::cli::CheckArgs),
    /// Fire a named notice (such as `payment.paid`) for a merchant through a running
    /// sandbox; `--list` shows every fixture.
    Trigger(tools::trigger::TriggerArgs),
    /// Redeliver the notices a filter matches (such as `--since 2h --status failed`)
    /// through a running sandbox.
    Replay(tools::replay::ReplayArgs),
    /// Relay a merchant's notices from a sandbox to a local handler (`--forward-to`),
    /// over a WebSocket opened with the merchant's access key.
    Listen(tools::listen::ListenArgs),
    /// Exit 0 if the URL answers HTTP 200 (for container health checks).
    HealthCheck(HealthCheckArgs),
}

#[derive(Debug, Clone, Args)]
struct HealthCheckArgs {
    /// The URL to check.
    #[arg(long, default_value = "http://127.0.0.1:8080/healthz")]
    url: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(&cli.log, &cli.log_format);
    match run(cli.command).await {
        Ok(code) => code,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// A token cancelled by SIGINT or SIGTERM.
fn on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let trigger = token.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        trigger.cancel();
    });
    token
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    let done = match command {
        Command::Serve(args) => {
            let app = Application::build(*args, Clock::system()).await?;
            app.run(on_signal()).await
        }
        Command::Migrate(args) => {
            let db = Db::connect(&args.database_url, &args.store_options()).await?;
            db.migrate().await?;
            tracing::info!(database = %db::redact_url(&args.database_url), "migrations applied");
            Ok(())
        }
        Command::Bench(args) => bench::run(args).await,
        Command::Receiver(args) => receiver::run(args, on_signal()).await,
        // The check's exit code says how the merchant's handler did.
        Command::Check(args) => return Ok(check::cli::run(args).await),
        Command::Trigger(args) => return Ok(tools::trigger::run(args).await),
        Command::Replay(args) => return Ok(tools::replay::run(args).await),
        Command::Listen(args) => return Ok(tools::listen::run(args, on_signal()).await),
        Command::HealthCheck(args) => {
            let response = reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(5))
                .build()?
                .get(&args.url)
                .send()
                .await?;
            if response.status() == reqwest::StatusCode::OK {
                Ok(())
            } else {
                anyhow::bail!("{} answered {}", args.url, response.status())
            }
        }
    };
    done.map(|()| ExitCode::SUCCESS)
}
