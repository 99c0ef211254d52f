//! The platform simulation as one value the application wires in: its store, settings
//! and rules, the routers it mounts, the signer the dispatcher uses, and the background
//! work of simulated users.

use std::sync::Arc;

use axum::Router;
use tokio_util::sync::CancellationToken;

use super::api;
use super::config::PlatformArgs;
use super::contract::{self, ContractState};
use super::fields::NotifyTarget;
use super::lifecycle::{DeliveryPolicy, Lifecycle};
use super::signer::MerchantSigner;
use super::store::{self, Cause, Change, Merchant, NewContract, PlatformStore, TransitionOutcome};
use crate::api::AppState;
use crate::delivery::Signer;
use crate::store::Database;

/// Cheap to clone: every handler and task holds one.
#[derive(Clone)]
pub struct Sandbox {
    pub app: AppState,
    pub store: Arc<dyn PlatformStore>,
    pub settings: Arc<PlatformArgs>,
    pub lifecycle: Arc<Lifecycle>,
}

impl Sandbox {
    /// The simulation over the application's database (already migrated).
    pub fn new(database: &Database, settings: PlatformArgs, app: AppState) -> anyhow::Result<Self> {
        settings.validate()?;
        let contract_term = chrono::Duration::from_std(settings.contract_term)
            .map_err(|_| anyhow::anyhow!("UMS_NOTIFY_PLATFORM_CONTRACT_TERM is too long"))?;
        let lifecycle = Lifecycle {
            contract_term,
            delivery: DeliveryPolicy {
                max_attempts: app.defaults.max_attempts,
                retry_schedule: app.defaults.retry_schedule.clone(),
            },
        };
        Ok(Self {
            store: store::open(database),
            settings: Arc::new(settings),
            lifecycle: Arc::new(lifecycle),
            app,
        })
    }

    /// Routes mounted under `/admin/v1`, behind the admin token.
    pub fn admin_router(&self) -> Router<AppState> {
        api::admin_router().with_state(self.clone())
    }

    /// The platform's own routes (`/v1/...`), authenticated by the platform's schemes.
    pub fn public_router(&self) -> Router<AppState> {
        api::public_router().with_state(self.clone())
    }

    /// Signs every try of a merchant's notification with the merchant's key.
    pub fn signer(&self) -> Arc<dyn Signer> {
        Arc::new(MerchantSigner::new(
            self.store.clone(),
            self.app.clock.clone(),
        ))
    }

    /// Simulated users: automatic consent, and forgetting expired tokens and nonces.
    /// Returns when `shutdown` is cancelled.
    pub async fn run(self, shutdown: CancellationToken) {
        super::worker::run(self, shutdown).await;
    }

    /// A new contract of `merchant` notified at `notify` (a URL accepted by
    /// [`super::fields::notify_target`]), with a fresh contractId, and its simulated
    /// consent due after the merchant's delay if it has one.
    pub fn draft_contract(
        &self,
        merchant: &Merchant,
        contract_no: &str,
        plan_id: &str,
        notify: NotifyTarget,
        single_limit_amt: &str,
        avl_num: &str,
    ) -> NewContract {
        let now = self.app.clock.now();
        NewContract {
            contract_id: contract::contract_id(),
            mid: merchant.mid.clone(),
            contract_no: contract_no.to_owned(),
            plan_id: plan_id.to_owned(),
            notify_url: notify.url,
            notify_host: notify.host,
            single_limit_amt: single_limit_amt.to_owned(),
            avl_num: avl_num.to_owned(),
            consent_due_at: merchant
                .auto_consent_after
                .and_then(|delay| chrono::Duration::from_std(delay).ok())
                .map(|delay| now + delay),
        }
    }

    /// Moves a contract and enqueues its notifications in one transaction, then wakes the
    /// dispatcher so they are sent at once.
    pub async fn change(
        &self,
        contract_id: &str,
        to: ContractState,
        cause: Cause,
    ) -> anyhow::Result<TransitionOutcome> {
        let change = Change {
            to,
            cause,
            now: self.app.clock.now(),
        };
        let outcome = self
            .store
            .transition(contract_id, change, &self.lifecycle)
            .await?;
        if let TransitionOutcome::Done { notifications, .. } = &outcome {
            self.app.metrics.enqueued.inc_by(notifications.len() as u64);
            self.app.wakeup.wake();
        }
        Ok(outcome)
    }
}
