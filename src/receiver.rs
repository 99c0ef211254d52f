//! A demo merchant receiver: answers 200, or 500 for a configurable share of requests,
//! so a fresh deployment has deliveries, retries and failures to show.

use std::net::SocketAddr;

use axum::http::StatusCode;
use axum::routing::any;
use axum::Router;
use clap::Args;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Args)]
pub struct ReceiverArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9000")]
    pub listen: SocketAddr,
    /// Share of requests (0.0 to 1.0) answered with HTTP 500.
    #[arg(long, default_value_t = 0.0)]
    pub failure_rate: f64,
}

/// The receiver's routes: every path and method.
pub fn router(failure_rate: f64) -> Router {
    Router::new().fallback(any(move || async move {
        if rand::random::<f64>() < failure_rate {
            (StatusCode::INTERNAL_SERVER_ERROR, "simulated failure")
        } else {
            (StatusCode::OK, "SUCCESS")
        }
    }))
}

pub async fn run(args: ReceiverArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    if !(0.0..=1.0).contains(&args.failure_rate) {
        anyhow::bail!("--failure-rate must be between 0.0 and 1.0");
    }
    let listener = TcpListener::bind(args.listen).await?;
    tracing::info!(listen = %listener.local_addr()?, failure_rate = args.failure_rate, "demo receiver listening");
    axum::serve(listener, router(args.failure_rate))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await?;
    Ok(())
}
