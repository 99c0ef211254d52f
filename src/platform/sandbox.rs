//! The platform simulation as one value: the stores and services of its concepts and its
//! settings (the state of its handlers and workers), and the signer it plugs into the
//! dispatcher for its notice family. The application mounts its routers
//! ([`crate::platform::http`]) and runs its workers ([`crate::platform::worker`]) with it.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use crate::access::keys::AccessKeys;
use crate::db::Db;
use crate::delivery::Signers;
use crate::limits::RateLimits;
use crate::platform::auth::AuthStore;
use crate::platform::config::PlatformArgs;
use crate::platform::contracts::events::Lifecycle;
use crate::platform::contracts::signer::MerchantSigner;
use crate::platform::contracts::{notice, ContractService, ContractStore};
use crate::platform::http::gateway::pay_info::PayInfoClient;
use crate::platform::merchants::{MerchantService, MerchantStore};
use crate::platform::payments::{OrderService, OrderStore};
use crate::policy::RetryPolicy;
use crate::producer::Producer;
use crate::relay::Relay;

/// Cheap to clone: every handler and task holds one.
#[derive(Clone)]
pub struct Sandbox {
    /// Merchants and their credentials: their rows.
    pub merchants: MerchantStore,
    /// Merchants: an admin creating and changing them (over the same rows).
    pub merchant_service: MerchantService,
    /// Access tokens and spent nonces.
    pub auth: AuthStore,
    /// Contracts: drafting and changing them; their rows in `contracts.store`.
    pub contracts: ContractService,
    /// Orders: drafting them and applying their events; their rows in `orders.store`.
    pub orders: OrderService,
    pub settings: Arc<PlatformArgs>,
    /// The outbox door.
    pub producer: Producer,
    /// The request budgets of the platform API, per appId.
    pub limits: Arc<RateLimits>,
    /// Asks merchants for a fixed code's amount (the payment-element query).
    pub pay_info: PayInfoClient,
    /// The merchants' access keys to the admin API and the console.
    pub access_keys: AccessKeys,
    /// The merchants' live `ums-notify listen` sessions on this instance.
    pub relay: Relay,
}

impl Sandbox {
    /// The simulation over the application's database (already migrated), served at
    /// `listening`; its notices are retried by `delivery`.
    pub fn new(
        db: &Db,
        settings: PlatformArgs,
        listening: SocketAddr,
        producer: Producer,
        delivery: RetryPolicy,
    ) -> anyhow::Result<Self> {
        settings.validate()?;
        let contract_term = chrono::Duration::from_std(settings.contract_term)
            .context("UMS_NOTIFY_PLATFORM_CONTRACT_TERM is too long")?;
        let merchants = MerchantStore::new(db.clone());
        let orders = OrderService::new(
            OrderStore::new(db.clone()),
            merchants.clone(),
            delivery.clone(),
            producer.clone(),
            settings.code_base(listening),
        );
        let lifecycle = Lifecycle {
            contract_term,
            delivery,
        };
        Ok(Self {
            relay: Relay::new(
                merchants.clone(),
                crate::relay::registry::Registry::new(db.clone(), producer.clock.clone()),
            ),
            merchant_service: MerchantService::new(
                merchants.clone(),
                producer.clock.clone(),
                producer.egress.clone(),
            ),
            merchants,
            auth: AuthStore::new(db.clone()),
            contracts: ContractService::new(
                ContractStore::new(db.clone()),
                lifecycle,
                producer.clone(),
            ),
            orders,
            settings: Arc::new(settings),
            limits: Arc::new(RateLimits::new(
                producer
                    .metrics
                    .rate_limited
                    .with_label_values(&["platform"]),
                producer.clock.clone(),
            )),
            pay_info: PayInfoClient::new(&producer.egress)?,
            access_keys: AccessKeys::new(db.clone()),
            producer,
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
        let signer = MerchantSigner::new(self.merchants.clone(), self.producer.clock.clone());
        Signers::default().with(notice::KIND, Arc::new(signer))
    }
}
