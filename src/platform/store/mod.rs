//! Storage of the platform simulation: merchants, contracts, access tokens and spent
//! nonces, behind one [`PlatformStore`] trait with an SQLite and a PostgreSQL backend.
//!
//! The tables live in the outbox's database (migrations `0002_platform` and
//! `0003_contract_notifications`), so a contract's state change and its notification are
//! written in one transaction: either both happen or neither does. Tokens and nonces are in the database too, so several instances
//! agree on them.
//!
//! Invariants every backend keeps:
//! - A state change is planned by [`Lifecycle::plan`] on the row as locked inside the
//!   transaction, so two concurrent changes of one contract cannot both pass the state
//!   machine from the same state.
//! - A request's nonce is spent in the same transaction as the request's own write; a
//!   request that is refused spends nothing.
//! - Only a digest of an access token is stored.

pub mod postgres;
pub mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::auth::AppKey;
use super::contract::{ContractSnapshot, ContractState, IllegalTransition};
use super::lifecycle::Lifecycle;
use crate::store::{Database, NewNotification};

/// A merchant of the platform and the credentials it signs with.
#[derive(Debug, Clone)]
pub struct Merchant {
    pub mid: String,
    pub name: String,
    /// The default notify URL, used by contracts that name none.
    pub notify_url: Option<String>,
    pub app_id: String,
    /// `Debug` prints `AppKey(***)`: a merchant can be logged without its key.
    pub app_key: AppKey,
    /// Simulated consent: new contracts sign themselves after this delay.
    pub auto_consent_after: Option<Duration>,
    /// Every notification of this merchant is sent this many extra times.
    pub extra_copies: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewMerchant {
    pub mid: String,
    pub name: String,
    pub notify_url: Option<String>,
    pub app_id: String,
    pub app_key: AppKey,
    pub auto_consent_after: Option<Duration>,
    pub extra_copies: u32,
}

/// A partial update; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct MerchantPatch {
    pub name: Option<String>,
    pub notify_url: Option<Option<String>>,
    pub auto_consent_after: Option<Option<Duration>>,
    pub extra_copies: Option<u32>,
}

/// A password-free contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    /// Insertion order, the cursor of listings.
    pub seq: i64,
    pub contract_id: String,
    pub mid: String,
    pub contract_no: String,
    pub plan_id: String,
    pub state: ContractState,
    /// Where this contract's notifications go.
    pub notify_url: String,
    /// The delivery host (`host:port`) of `notify_url`, derived when the URL was accepted.
    pub notify_host: String,
    pub single_limit_amt: String,
    pub avl_num: String,
    /// When the contract was first signed; kept through later states.
    pub signed_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// When the simulated user consents, while that is still to come.
    pub consent_due_at: Option<DateTime<Utc>>,
    /// The `requestTimestamp` of the contract's last notification; the next one is later.
    pub last_notified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Contract {
    /// What a notification about this contract tells.
    pub fn snapshot(&self) -> ContractSnapshot {
        ContractSnapshot {
            mid: self.mid.clone(),
            contract_no: self.contract_no.clone(),
            contract_id: self.contract_id.clone(),
            state: self.state,
            signed_at: self.signed_at,
            expires_at: self.expires_at,
            single_limit_amt: self.single_limit_amt.clone(),
            avl_num: self.avl_num.clone(),
            plan_id: self.plan_id.clone(),
        }
    }
}

/// A contract to create, in state `UNSIGNED`.
#[derive(Debug, Clone)]
pub struct NewContract {
    pub contract_id: String,
    pub mid: String,
    pub contract_no: String,
    pub plan_id: String,
    pub notify_url: String,
    /// The delivery host of `notify_url`, from [`crate::platform::fields::notify_target`].
    pub notify_host: String,
    pub single_limit_amt: String,
    pub avl_num: String,
    pub consent_due_at: Option<DateTime<Utc>>,
}

/// A nonce a request spends, remembered until `expires_at`.
#[derive(Debug, Clone)]
pub struct NonceUse {
    pub app_id: String,
    pub nonce: String,
    pub expires_at: DateTime<Utc>,
}

/// An access token to store, by its digest.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub token_hash: String,
    pub app_id: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug)]
pub enum CreateOutcome {
    Created(Contract),
    /// The merchant already has a contract with this `contractNo`: this one.
    DuplicateContractNo(Contract),
    NonceReplayed,
}

/// Who asks for a state change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The admin API: any move the state machine allows.
    Admin,
    /// The simulated user's automatic consent: `UNSIGNED → SIGNED`, once it is due.
    Consent,
}

#[derive(Debug, Clone, Copy)]
pub struct Change {
    pub to: ContractState,
    pub cause: Cause,
    pub now: DateTime<Utc>,
}

#[derive(Debug)]
pub enum TransitionOutcome {
    /// Changed, with the ids of the notifications enqueued with the change.
    Done {
        contract: Box<Contract>,
        notifications: Vec<i64>,
    },
    NotFound,
    Illegal(IllegalTransition),
    /// An automatic consent that is no longer due (the contract moved meanwhile).
    Skipped,
}

#[derive(Debug, Clone, Default)]
pub struct ContractFilter {
    pub mid: Option<String>,
    pub state: Option<ContractState>,
    /// Only contracts before this `seq` (the cursor of the previous page).
    pub before_seq: Option<i64>,
    pub limit: u32,
}

/// The WHERE tail and ordering of a contract listing, the same SQL on both backends:
/// newest first, below the cursor. The query must already end in a WHERE clause.
pub(crate) fn push_contract_filter<'a, DB>(
    query: &mut sqlx::QueryBuilder<'a, DB>,
    filter: &'a ContractFilter,
) where
    DB: sqlx::Database,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    if let Some(mid) = &filter.mid {
        query.push(" AND mid = ").push_bind(mid.as_str());
    }
    if let Some(state) = filter.state {
        query.push(" AND state = ").push_bind(state.as_str());
    }
    if let Some(before) = filter.before_seq {
        query.push(" AND id < ").push_bind(before);
    }
    query
        .push(" ORDER BY id DESC LIMIT ")
        .push_bind(i64::from(filter.limit));
}

#[async_trait]
pub trait PlatformStore: Send + Sync + 'static {
    /// Creates a merchant; `None` if the `mid` is taken.
    async fn create_merchant(
        &self,
        new: NewMerchant,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<Merchant>>;

    /// Every merchant, by `mid`.
    async fn merchants(&self) -> anyhow::Result<Vec<Merchant>>;

    async fn merchant(&self, mid: &str) -> anyhow::Result<Option<Merchant>>;

    async fn merchant_by_app_id(&self, app_id: &str) -> anyhow::Result<Option<Merchant>>;

    /// Applies a patch; `None` if there is no such merchant.
    async fn update_merchant(
        &self,
        mid: &str,
        patch: MerchantPatch,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<Merchant>>;

    /// Stores a token and spends the nonce of its request; `false` (and nothing stored)
    /// if the nonce was already spent.
    async fn issue_token(
        &self,
        token: NewToken,
        nonce: NonceUse,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool>;

    /// The appId an unexpired token was issued to.
    async fn token_app_id(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<String>>;

    /// Whether a nonce is spent and still remembered.
    async fn nonce_spent(
        &self,
        app_id: &str,
        nonce: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool>;

    /// Spends a nonce for a request that writes nothing else; `false` if already spent.
    async fn spend_nonce(&self, nonce: NonceUse, now: DateTime<Utc>) -> anyhow::Result<bool>;

    /// Creates a contract in `UNSIGNED`, spending the request's nonce if it has one.
    async fn create_contract(
        &self,
        new: NewContract,
        nonce: Option<NonceUse>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<CreateOutcome>;

    async fn contract(&self, contract_id: &str) -> anyhow::Result<Option<Contract>>;

    async fn contract_by_no(
        &self,
        mid: &str,
        contract_no: &str,
    ) -> anyhow::Result<Option<Contract>>;

    /// Newest first.
    async fn contracts(&self, filter: &ContractFilter) -> anyhow::Result<Vec<Contract>>;

    /// Moves a contract along the state machine and enqueues its notifications, in one
    /// transaction.
    async fn transition(
        &self,
        contract_id: &str,
        change: Change,
        lifecycle: &Lifecycle,
    ) -> anyhow::Result<TransitionOutcome>;

    /// Contracts whose simulated consent is due, oldest due first.
    async fn due_consents(&self, now: DateTime<Utc>, limit: u32) -> anyhow::Result<Vec<String>>;

    /// Forgets expired tokens and nonces; returns how many rows went.
    async fn prune(&self, now: DateTime<Utc>) -> anyhow::Result<u64>;
}

/// The platform store of an open database, sharing its pools.
pub fn open(database: &Database) -> Arc<dyn PlatformStore> {
    match database {
        Database::Sqlite(store) => Arc::new(sqlite::SqlitePlatform::new(store.clone())),
        Database::Postgres(store) => Arc::new(postgres::PgPlatform::new(store.clone())),
    }
}

/// The contract a state change leads to and the notifications it sends, or the outcome
/// that refuses it; shared by the backends, which only lock, load and write.
pub(crate) fn plan(
    current: &Contract,
    extra_copies: u32,
    change: &Change,
    lifecycle: &Lifecycle,
) -> Result<(Contract, Vec<NewNotification>), TransitionOutcome> {
    if change.cause == Cause::Consent {
        let due = current.consent_due_at.is_some_and(|at| at <= change.now);
        if current.state != ContractState::Unsigned || !due {
            return Err(TransitionOutcome::Skipped);
        }
    }
    lifecycle
        .plan(current, change.to, extra_copies, change.now)
        .map_err(TransitionOutcome::Illegal)
}

/// The delivery host of a stored contract: the one derived when its notify URL was
/// accepted, or, for a contract stored before hosts were kept (migration 0003), derived
/// from the URL now. That cannot fail either: a URL that no longer validates is its own
/// host key, and its tries fail and are retried as any unreachable URL's are.
pub(crate) fn stored_notify_host(host: Option<String>, notify_url: &str) -> String {
    host.unwrap_or_else(|| {
        super::fields::notify_target(notify_url)
            .map(|target| target.host)
            .unwrap_or_else(|_| notify_url.to_owned())
    })
}
