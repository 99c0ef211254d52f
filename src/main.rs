//! The `ums-notify` command: parses the command line and hands over to the library.

use clap::Parser;
use tokio_util::sync::CancellationToken;

use ums_notify::clock::Clock;
use ums_notify::config::{Cli, Command};
use ums_notify::startup::{shutdown_signal, Application};
use ums_notify::{bench, receiver, store, telemetry};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    telemetry::init(&cli.log, &cli.log_format);
    match run(cli.command).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
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

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => {
            let app = Application::build(*args, Clock::system()).await?;
            app.run(on_signal()).await
        }
        Command::Migrate(args) => {
            let store = store::open(&args.database_url, &args.store_options()).await?;
            store.migrate().await?;
            tracing::info!(database = %store::redact_url(&args.database_url), "migrations applied");
            Ok(())
        }
        Command::Bench(args) => bench::run(args).await,
        Command::Receiver(args) => receiver::run(args, on_signal()).await,
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
    }
}
