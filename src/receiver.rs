//! A demo merchant receiver: answers 200, or 500 for a configurable share of requests,
//! so a fresh deployment has deliveries, retries and failures to show. With `--verify` it
//! is the reference handler instead ([`crate::check::reference`]): it checks every
//! notice's signature, timestamp and nonce, and passes every conformance check.

use std::net::SocketAddr;

use axum::http::StatusCode;
use axum::routing::any;
use axum::Router;
use clap::Args;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::check::reference::{self, Reference, Verifier};
use crate::check::reference_payment::PaymentVerifier;
use crate::check::KnownOrder;
use crate::clock::Clock;
use crate::platform::auth::AppKey;
use crate::platform::payments::order::Product;

#[derive(Debug, Clone, Args)]
pub struct ReceiverArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9000")]
    pub listen: SocketAddr,
    /// Share of requests (0.0 to 1.0) answered with HTTP 500.
    #[arg(long, default_value_t = 0.0, conflicts_with = "verify")]
    pub failure_rate: f64,
    /// Be the reference merchant handler: verify each contract notice's OPEN-BODY-SIG
    /// signature, Timestamp and Nonce (with --app-id and --app-key), and each payment
    /// notice's `sign` and amount (with --md5-key and --order or --bill); answer only
    /// genuine notices.
    #[arg(long)]
    pub verify: bool,
    /// With --verify: the merchant's appId.
    #[arg(long, requires = "app_key")]
    pub app_id: Option<String>,
    /// With --verify: the merchant's appKey.
    #[arg(
        long,
        env = "UMS_NOTIFY_RECEIVER_APP_KEY",
        hide_env_values = true,
        requires = "app_id"
    )]
    pub app_key: Option<String>,
    /// With --verify: the communication key (md5Key) payment notices are signed with.
    #[arg(long, env = "UMS_NOTIFY_RECEIVER_MD5_KEY", hide_env_values = true)]
    pub md5_key: Option<String>,
    /// With --md5-key: an order the handler has, as MER_ORDER_ID=AMOUNT (fen); repeatable.
    #[arg(long = "order", value_name = "MER_ORDER_ID=AMOUNT", value_parser = trade_order)]
    pub orders: Vec<KnownOrder>,
    /// With --md5-key: a QR bill the handler has, as BILL_NO=AMOUNT (fen); repeatable.
    #[arg(long = "bill", value_name = "BILL_NO=AMOUNT", value_parser = bill)]
    pub bills: Vec<KnownOrder>,
}

fn trade_order(text: &str) -> Result<KnownOrder, String> {
    KnownOrder::parse(Product::Trade, text)
}

fn bill(text: &str) -> Result<KnownOrder, String> {
    KnownOrder::parse(Product::Bill, text)
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
    let app = if args.verify {
        let contract = args
            .app_id
            .zip(args.app_key)
            .map(|(app_id, app_key)| Verifier::new(app_id, AppKey::new(app_key), Clock::system()));
        let orders: Vec<KnownOrder> = args.orders.into_iter().chain(args.bills).collect();
        if args.md5_key.is_some() && orders.is_empty() {
            anyhow::bail!(
                "--md5-key needs the orders the handler has (--order or --bill): a payment notice of any other order is refused"
            );
        }
        let payment = args
            .md5_key
            .map(|key| PaymentVerifier::new(AppKey::new(key), &orders));
        if contract.is_none() && payment.is_none() {
            anyhow::bail!("--verify needs --app-id and --app-key, or --md5-key, or both");
        }
        tracing::info!(listen = %listener.local_addr()?, contract = contract.is_some(), payment = payment.is_some(), orders = orders.len(), "reference handler listening");
        reference::router(Reference { contract, payment })
    } else {
        // The keys may come from the environment, set for another run: they are ignored
        // here. Flags that only make sense with --verify are refused.
        if args.app_id.is_some() || !args.orders.is_empty() || !args.bills.is_empty() {
            anyhow::bail!("--app-id, --order and --bill only apply with --verify");
        }
        tracing::info!(listen = %listener.local_addr()?, failure_rate = args.failure_rate, "demo receiver listening");
        router(args.failure_rate)
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await?;
    Ok(())
}
