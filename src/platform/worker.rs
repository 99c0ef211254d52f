//! The background work of the simulation: users who consent on their own after their
//! merchant's delay, and the pruning of expired tokens and nonces.
//!
//! Consent polls rather than sleeps until the next due time, so it follows an injected
//! clock that jumps, and several instances share the work: a consent is a conditional
//! state change, so only one of them applies it.

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::contract::ContractState;
use super::sandbox::Sandbox;
use super::store::{Cause, TransitionOutcome};

const BATCH: u32 = 100;
const PRUNE_EVERY: Duration = Duration::from_secs(60);

pub async fn run(sandbox: Sandbox, shutdown: CancellationToken) {
    let mut pruned_at: Option<Instant> = None;
    while !shutdown.is_cancelled() {
        consent_round(&sandbox).await;
        if pruned_at.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
            pruned_at = Some(Instant::now());
            match sandbox.store.prune(sandbox.app.clock.now()).await {
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
    let now = sandbox.app.clock.now();
    let due = match sandbox.store.due_consents(now, BATCH).await {
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
            .change(&contract_id, ContractState::Signed, Cause::Consent)
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
