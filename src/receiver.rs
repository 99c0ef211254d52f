//! A demo merchant receiver: answers 200, or 500 for a configurable share of requests,
//! so a fresh deployment has deliveries, retries and failures to show. With `--verify` it
//! is the reference handler instead ([`crate::check::reference`]): it checks every
//! notice's signature, timestamp and nonce, and passes every conformance check.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::any;
use axum::Router;
use clap::Args;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::check::reference::{self, Verifier};
use crate::clock::Clock;
use crate::platform::auth::AppKey;

#[derive(Debug, Clone, Args)]
pub struct ReceiverArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9000")]
    pub listen: SocketAddr,
    /// Share of requests (0.0 to 1.0) answered with HTTP 500.
    #[arg(long, default_value_t = 0.0, conflicts_with = "verify")]
    pub failure_rate: f64,
    /// Be the reference merchant handler: verify each notice's OPEN-BODY-SIG signature,
    /// Timestamp and Nonce, and answer 200 only to genuine notices.
    #[arg(long, requires_all = ["app_id", "app_key"])]
    pub verify: bool,
    /// With --verify: the merchant's appId.
    #[arg(long)]
    pub app_id: Option<String>,
    /// With --verify: the merchant's appKey.
    #[arg(long, env = "UMS_NOTIFY_RECEIVER_APP_KEY", hide_env_values = true)]
    pub app_key: Option<String>,
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
    let app = match (args.verify, args.app_id, args.app_key) {
        (true, Some(app_id), Some(app_key)) => {
            tracing::info!(listen = %listener.local_addr()?, app_id, "reference handler listening");
            let verifier = Verifier::new(app_id, AppKey::new(app_key), Clock::system());
            reference::router(Arc::new(verifier))
        }
        (true, _, _) => anyhow::bail!("--verify needs --app-id and --app-key"),
        (false, _, _) => {
            tracing::info!(listen = %listener.local_addr()?, failure_rate = args.failure_rate, "demo receiver listening");
            router(args.failure_rate)
        }
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await?;
    Ok(())
}
