//! The platform simulation as one value: its store, its contract and order services and settings
//! (the state of its handlers and workers), and the signer it plugs into the dispatcher
//! for its notice family. The application mounts its routers ([`super::api`]) and runs
//! its workers ([`super::worker`]) with it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::config::PlatformArgs;
use super::lifecycle::Lifecycle;
use super::notice;
use super::order_service::OrderService;
use super::service::ContractService;
use super::signer::MerchantSigner;
use super::store::PlatformStore;
use crate::check::{self, runs::CheckRuns};
use crate::delivery::Signers;
use crate::outbox::Db;
use crate::policy::RetryPolicy;
use crate::producer::Producer;

/// Cheap to clone: every handler and task holds one.
#[derive(Clone)]
pub struct Sandbox {
    pub store: PlatformStore,
    pub contracts: ContractService,
    pub orders: OrderService,
    pub settings: Arc<PlatformArgs>,
    /// The outbox door, for the notifications the simulation sends outside a contract
    /// change (duplicates).
    pub producer: Producer,
    /// Conformance check runs against merchants' notify URLs.
    pub checks: CheckRuns,
}

impl Sandbox {
    /// The simulation over the application's database (already migrated); its notices
    /// are retried by `delivery`.
    pub fn new(
        db: &Db,
        settings: PlatformArgs,
        producer: Producer,
        delivery: RetryPolicy,
        request_timeout: Duration,
    ) -> anyhow::Result<Self> {
        settings.validate()?;
        let contract_term = chrono::Duration::from_std(settings.contract_term)
            .context("UMS_NOTIFY_PLATFORM_CONTRACT_TERM is too long")?;
        let store = PlatformStore::new(db.clone());
        let checks = CheckRuns::new(
            db.clone(),
            producer.clock.clone(),
            check::Settings {
                request_timeout,
                max_attempts: delivery.max_attempts,
            },
        );
        let orders = OrderService::new(store.clone(), delivery.clone(), producer.clone());
        let lifecycle = Lifecycle {
            contract_term,
            delivery,
        };
        Ok(Self {
            contracts: ContractService::new(store.clone(), lifecycle, producer.clone()),
            orders,
            store,
            settings: Arc::new(settings),
            producer,
            checks,
        })
    }

    /// The simulation's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.producer.clock.now()
    }

    /// The signers of the simulation's notice families: every try of a contract notice
    /// is signed with its merchant's key. Payment-result notices carry their `sign` in the
    /// body, signed once when they are enqueued, and need no signer.
    pub fn signers(&self) -> Signers {
        let signer = MerchantSigner::new(self.store.clone(), self.producer.clock.clone());
        Signers::default().with(notice::KIND, Arc::new(signer))
    }
}
