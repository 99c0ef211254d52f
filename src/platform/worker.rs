//! The background work of the simulation: users who consent on their own after their
//! merchant's delay, buyers who pay after theirs, unpaid orders that expire, guarantee
//! holds cancelled 30 days after their payment, and the pruning of expired tokens and
//! nonces.
//!
//! Each round polls rather than sleeps until the next due time, so it follows an injected
//! clock that jumps, and several instances share the work: a consent, a payment and an
//! expiry are conditional changes, so only one instance applies each. Pruning follows the same clock: it runs
//! when a minute of that clock has passed since the last time (or the clock went back).

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::platform::contracts::contract::ContractState;
use crate::platform::contracts::events::Cause;
use crate::platform::contracts::store::TransitionOutcome;
use crate::platform::payments::events::{self, OrderEvent};
use crate::platform::payments::guarantee::Settlement;
use crate::platform::payments::store::OrderChangeOutcome;
use crate::platform::sandbox::Sandbox;

const BATCH: u32 = 100;
const PRUNE_EVERY: chrono::Duration = chrono::Duration::seconds(60);

/// Whether pruning is due at `now`, last done at `pruned_at`.
fn prune_due(pruned_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    pruned_at.is_none_or(|at| now - at >= PRUNE_EVERY || now < at)
}

/// Simulated users: automatic consent, and forgetting expired tokens and nonces.
/// Returns when `shutdown` is cancelled.
pub async fn run(sandbox: Sandbox, shutdown: CancellationToken) {
    let mut pruned_at: Option<DateTime<Utc>> = None;
    while !shutdown.is_cancelled() {
        consent_round(&sandbox)
            .instrument(tracing::debug_span!("platform_step", step = "consents"))
            .await;
        order_round(&sandbox)
            .instrument(tracing::debug_span!("platform_step", step = "orders"))
            .await;
        let now = sandbox.now();
        if prune_due(pruned_at, now) {
            pruned_at = Some(now);
            let pruned = sandbox
                .auth
                .prune(now)
                .instrument(tracing::debug_span!("platform_step", step = "prune"))
                .await;
            match pruned {
                Ok(0) => {}
                Ok(removed) => tracing::debug!(removed, "expired tokens and nonces pruned"),
                Err(error) => tracing::warn!(error = format!("{error:#}"), "pruning failed"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(sandbox.settings.consent_poll) => {}
            _ = shutdown.cancelled() => {}
        }
    }
}

/// Applies every due consent.
async fn consent_round(sandbox: &Sandbox) {
    let now = sandbox.now();
    let due = match sandbox.contracts.store.due_consents(now, BATCH).await {
        Ok(due) => due,
        Err(error) => {
            tracing::warn!(
                error = format!("{error:#}"),
                "looking for due consents failed"
            );
            return;
        }
    };
    for contract_id in due {
        match sandbox
            .contracts
            .change(&contract_id, ContractState::Signed, Cause::Consent)
            .instrument(tracing::info_span!("consent", %contract_id))
            .await
        {
            Ok(TransitionOutcome::Done { contract, .. }) => {
                tracing::info!(mid = %contract.mid, contract_no = %contract.contract_no, "simulated user consented");
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(error = format!("{error:#}"), %contract_id, "automatic consent failed");
            }
        }
    }
}

/// The channel a simulated buyer pays through.
const AUTO_PAY_CHANNEL: &str = "WXPay";

/// Applies every due simulated payment, then every due expiry, then every hold due for
/// its cancel.
async fn order_round(sandbox: &Sandbox) {
    let now = sandbox.now();
    let rounds = [
        (
            sandbox.orders.store.due_payments(now, BATCH).await,
            events::Cause::Buyer,
        ),
        (
            sandbox.orders.store.due_expiries(now, BATCH).await,
            events::Cause::Expiry,
        ),
        (
            sandbox.orders.store.due_holds(now, BATCH).await,
            events::Cause::HoldExpiry,
        ),
    ];
    for (due, cause) in rounds {
        let due = match due {
            Ok(due) => due,
            Err(error) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    ?cause,
                    "looking for due orders failed"
                );
                continue;
            }
        };
        for order_id in due {
            let event = match cause {
                events::Cause::Buyer => OrderEvent::Pay {
                    target_sys: AUTO_PAY_CHANNEL.to_owned(),
                },
                events::Cause::HoldExpiry => OrderEvent::Guarantee(Settlement::Cancel),
                _ => OrderEvent::Close,
            };
            let step = tracing::info_span!("order_event", order_id, ?cause);
            match sandbox
                .orders
                .apply(order_id, event, cause, None)
                .instrument(step)
                .await
            {
                Ok(OrderChangeOutcome::Done { order, .. }) => {
                    tracing::info!(mid = %order.mid, order_no = %order.order_no, status = order.status(), ?cause, "order moved by the simulation");
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        order_id,
                        ?cause,
                        "simulated order change failed"
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn pruning_follows_the_clock() {
        let t0 = Utc.with_ymd_and_hms(2024, 7, 1, 0, 0, 0).unwrap();
        let secs = chrono::Duration::seconds;
        assert!(prune_due(None, t0), "at start");
        assert!(!prune_due(Some(t0), t0 + secs(59)));
        assert!(prune_due(Some(t0), t0 + secs(60)));
        assert!(prune_due(Some(t0), t0 + secs(7200)), "a jump");
        assert!(prune_due(Some(t0), t0 - secs(1)), "a clock set back");
    }
}
