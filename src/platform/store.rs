//! Storage of the platform simulation: merchants, contracts, access tokens and spent
//! nonces, in the outbox's database, with each query written once for both backends.
//!
//! The tables share the outbox's database, so a contract's state change and its
//! notifications are written in one transaction: either both happen or neither does.
//! Tokens and nonces are in the database too, so several instances agree on them.
//!
//! Invariants:
//! - A state change is planned on the contract row as locked inside the transaction
//!   (`FOR UPDATE`, or SQLite's single writer), so two concurrent changes of one contract
//!   cannot both pass the state machine from the same state.
//! - A request's nonce is spent in the same transaction as the request's own write; a
//!   request that is refused spends nothing.
//! - Only a digest of an access token is stored.

use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::auth::AppKey;
use super::contract::{Contract, ContractState, NewContract};
use super::lifecycle::{Planned, Refused};
use super::merchant::{Merchant, MerchantPatch, NewMerchant};
use crate::policy::Destination;
use crate::store::outbox::enqueue_in;
use crate::store::sql::{Db, Sql, Ts, Tx};

const MERCHANT_COLUMNS: &str = "mid, name, notify_url, app_id, app_key, auto_consent_ms, \
     extra_copies, created_at, updated_at";
const CONTRACT_COLUMNS: &str = "id, contract_id, mid, contract_no, plan_id, state, notify_url, \
     notify_host, single_limit_amt, avl_num, signed_at, expires_at, consent_due_at, \
     last_notified_at, created_at, updated_at";

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

#[derive(Debug)]
pub enum TransitionOutcome {
    /// Changed, with the ids of the notifications enqueued with the change.
    Done {
        contract: Box<Contract>,
        notifications: Vec<i64>,
    },
    NotFound,
    Refused(Refused),
}

#[derive(Debug, Clone, Default)]
pub struct ContractFilter {
    pub mid: Option<String>,
    pub state: Option<ContractState>,
    /// Only contracts before this `seq` (the cursor of the previous page).
    pub before_seq: Option<i64>,
    pub limit: u32,
}

#[derive(sqlx::FromRow)]
struct MerchantRow {
    mid: String,
    name: String,
    notify_url: Option<String>,
    app_id: String,
    app_key: String,
    auto_consent_ms: Option<i64>,
    extra_copies: i32,
    created_at: Ts,
    updated_at: Ts,
}

impl From<MerchantRow> for Merchant {
    fn from(row: MerchantRow) -> Self {
        Merchant {
            mid: row.mid,
            name: row.name,
            notify_url: row.notify_url,
            app_id: row.app_id,
            app_key: AppKey::new(row.app_key),
            auto_consent_after: row
                .auto_consent_ms
                .map(|ms| Duration::from_millis(ms.max(0) as u64)),
            extra_copies: row.extra_copies.max(0) as u32,
            created_at: row.created_at.into(),
            updated_at: row.updated_at.into(),
        }
    }
}

#[derive(sqlx::FromRow)]
struct ContractRow {
    id: i64,
    contract_id: String,
    mid: String,
    contract_no: String,
    plan_id: String,
    state: String,
    notify_url: String,
    notify_host: Option<String>,
    single_limit_amt: String,
    avl_num: String,
    signed_at: Option<Ts>,
    expires_at: Option<Ts>,
    consent_due_at: Option<Ts>,
    last_notified_at: Option<Ts>,
    created_at: Ts,
    updated_at: Ts,
}

impl TryFrom<ContractRow> for Contract {
    type Error = anyhow::Error;

    fn try_from(row: ContractRow) -> anyhow::Result<Self> {
        Ok(Contract {
            seq: row.id,
            state: row
                .state
                .parse()
                .with_context(|| format!("contract {}", row.contract_id))?,
            contract_id: row.contract_id,
            mid: row.mid,
            contract_no: row.contract_no,
            plan_id: row.plan_id,
            notify: stored_notify(row.notify_url, row.notify_host),
            single_limit_amt: row.single_limit_amt,
            avl_num: row.avl_num,
            signed_at: row.signed_at.map(Into::into),
            expires_at: row.expires_at.map(Into::into),
            consent_due_at: row.consent_due_at.map(Into::into),
            last_notified_at: row.last_notified_at.map(Into::into),
            created_at: row.created_at.into(),
            updated_at: row.updated_at.into(),
        })
    }
}

/// The destination of a stored contract: its URL with the host derived when the URL was
/// accepted, or, for a contract stored before hosts were kept (migration 0003), derived
/// now. That cannot fail either: a URL that no longer validates is its own host key, and
/// its tries fail and are retried as any unreachable URL's are.
fn stored_notify(url: String, host: Option<String>) -> Destination {
    match host {
        Some(host) => Destination::stored(url, host),
        None => Destination::parse(&url).unwrap_or_else(|_| Destination::stored(url.clone(), url)),
    }
}

fn duration_ms(duration: Option<Duration>) -> Option<i64> {
    duration.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn contract_where(condition: &str) -> String {
    format!("SELECT {CONTRACT_COLUMNS} FROM contracts WHERE {condition}")
}

async fn fetch_contract(tx: &mut Tx, sql: &Sql) -> anyhow::Result<Option<Contract>> {
    let row: Option<ContractRow> = tx.fetch_optional(sql).await?;
    row.map(TryInto::try_into).transpose()
}

/// Spends a nonce unless it is spent and still remembered. An expired record of the same
/// nonce is taken over, so pruning is an optimisation, not a requirement.
async fn spend(tx: &mut Tx, nonce: &NonceUse, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let sql = Sql::new(
        "INSERT INTO used_nonces (app_id, nonce, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (app_id, nonce) DO UPDATE SET expires_at = excluded.expires_at \
         WHERE used_nonces.expires_at <= $4",
    )
    .bind(&nonce.app_id)
    .bind(&nonce.nonce)
    .bind(nonce.expires_at)
    .bind(now);
    Ok(tx.execute(&sql).await? == 1)
}

/// Merchants, contracts, tokens and nonces. Cheap to clone.
#[derive(Clone)]
pub struct PlatformStore {
    db: Db,
}

impl PlatformStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Creates a merchant; `None` if the `mid` is taken.
    pub async fn create_merchant(
        &self,
        new: NewMerchant,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<Merchant>> {
        let sql = Sql::new(format!(
            "INSERT INTO merchants ({MERCHANT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
             ON CONFLICT (mid) DO NOTHING RETURNING {MERCHANT_COLUMNS}"
        ))
        .bind(new.mid)
        .bind(new.name)
        .bind(new.notify_url)
        .bind(new.app_id)
        .bind(new.app_key.expose())
        .bind(duration_ms(new.auto_consent_after))
        .bind(new.extra_copies)
        .bind(now);
        let row: Option<MerchantRow> = self.db.write_optional(&sql).await?;
        Ok(row.map(Into::into))
    }

    /// Every merchant, by `mid`.
    pub async fn merchants(&self) -> anyhow::Result<Vec<Merchant>> {
        let sql = Sql::new(format!(
            "SELECT {MERCHANT_COLUMNS} FROM merchants ORDER BY mid"
        ));
        let rows: Vec<MerchantRow> = self.db.read_all(&sql).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub async fn merchant(&self, mid: &str) -> anyhow::Result<Option<Merchant>> {
        self.merchant_where("mid = $1", mid).await
    }

    pub async fn merchant_by_app_id(&self, app_id: &str) -> anyhow::Result<Option<Merchant>> {
        self.merchant_where("app_id = $1", app_id).await
    }

    async fn merchant_where(
        &self,
        condition: &str,
        value: &str,
    ) -> anyhow::Result<Option<Merchant>> {
        let sql = Sql::new(format!(
            "SELECT {MERCHANT_COLUMNS} FROM merchants WHERE {condition}"
        ))
        .bind(value);
        let row: Option<MerchantRow> = self.db.read_optional(&sql).await?;
        Ok(row.map(Into::into))
    }

    /// Applies a patch; `None` if there is no such merchant.
    pub async fn update_merchant(
        &self,
        mid: &str,
        patch: MerchantPatch,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<Merchant>> {
        let mut sql = Sql::new("UPDATE merchants SET updated_at = ");
        sql.push_bind(now);
        if let Some(name) = patch.name {
            sql.push(", name = ").push_bind(name);
        }
        if let Some(url) = patch.notify_url {
            sql.push(", notify_url = ").push_bind(url);
        }
        if let Some(after) = patch.auto_consent_after {
            sql.push(", auto_consent_ms = ")
                .push_bind(duration_ms(after));
        }
        if let Some(copies) = patch.extra_copies {
            sql.push(", extra_copies = ").push_bind(copies);
        }
        sql.push(" WHERE mid = ").push_bind(mid);
        sql.push(" RETURNING ").push(MERCHANT_COLUMNS);
        let row: Option<MerchantRow> = self.db.write_optional(&sql).await?;
        Ok(row.map(Into::into))
    }

    /// Stores a token and spends the nonce of its request; `false` (and nothing stored)
    /// if the nonce was already spent.
    pub async fn issue_token(
        &self,
        token: NewToken,
        nonce: NonceUse,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let mut tx = self.db.begin().await?;
        if !spend(&mut tx, &nonce, now).await? {
            return Ok(false);
        }
        let sql = Sql::new(
            "INSERT INTO access_tokens (token_hash, app_id, expires_at, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token.token_hash)
        .bind(token.app_id)
        .bind(token.expires_at)
        .bind(now);
        tx.execute(&sql).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The appId an unexpired token was issued to.
    pub async fn token_app_id(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<String>> {
        let sql =
            Sql::new("SELECT app_id FROM access_tokens WHERE token_hash = $1 AND expires_at > $2")
                .bind(token_hash)
                .bind(now);
        let row: Option<(String,)> = self.db.read_optional(&sql).await?;
        Ok(row.map(|(app_id,)| app_id))
    }

    /// Whether a nonce is spent and still remembered.
    pub async fn nonce_spent(
        &self,
        app_id: &str,
        nonce: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let sql = Sql::new(
            "SELECT COUNT(*) FROM used_nonces WHERE app_id = $1 AND nonce = $2 AND expires_at > $3",
        )
        .bind(app_id)
        .bind(nonce)
        .bind(now);
        let (count,): (i64,) = self.db.read_one(&sql).await?;
        Ok(count > 0)
    }

    /// Spends a nonce for a request that writes nothing else; `false` if already spent.
    pub async fn spend_nonce(&self, nonce: NonceUse, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let mut tx = self.db.begin().await?;
        let spent = spend(&mut tx, &nonce, now).await?;
        tx.commit().await?;
        Ok(spent)
    }

    /// Creates a contract in `UNSIGNED`, spending the request's nonce if it has one.
    pub async fn create_contract(
        &self,
        new: NewContract,
        nonce: Option<NonceUse>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<CreateOutcome> {
        let mut tx = self.db.begin().await?;
        if let Some(nonce) = &nonce {
            if !spend(&mut tx, nonce, now).await? {
                return Ok(CreateOutcome::NonceReplayed);
            }
        }
        // The unique key decides, not a prior lookup.
        let insert = Sql::new(format!(
            "INSERT INTO contracts (contract_id, mid, contract_no, plan_id, state, notify_url, \
             notify_host, single_limit_amt, avl_num, consent_due_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'UNSIGNED', $5, $6, $7, $8, $9, $10, $10) \
             ON CONFLICT (mid, contract_no) DO NOTHING RETURNING {CONTRACT_COLUMNS}"
        ))
        .bind(&new.contract_id)
        .bind(&new.mid)
        .bind(&new.contract_no)
        .bind(&new.plan_id)
        .bind(&new.notify.url)
        .bind(&new.notify.host)
        .bind(&new.single_limit_amt)
        .bind(&new.avl_num)
        .bind(new.consent_due_at)
        .bind(now);
        let Some(contract) = fetch_contract(&mut tx, &insert).await? else {
            // Read in the same transaction, which the drop then rolls back: the refused
            // request spends no nonce.
            let existing = Sql::new(contract_where("mid = $1 AND contract_no = $2"))
                .bind(&new.mid)
                .bind(&new.contract_no);
            let existing = fetch_contract(&mut tx, &existing)
                .await?
                .context("a contractNo conflict without a contract")?;
            return Ok(CreateOutcome::DuplicateContractNo(existing));
        };
        tx.commit().await?;
        Ok(CreateOutcome::Created(contract))
    }

    pub async fn contract(&self, contract_id: &str) -> anyhow::Result<Option<Contract>> {
        let sql = Sql::new(contract_where("contract_id = $1")).bind(contract_id);
        let row: Option<ContractRow> = self.db.read_optional(&sql).await?;
        row.map(TryInto::try_into).transpose()
    }

    pub async fn contract_by_no(
        &self,
        mid: &str,
        contract_no: &str,
    ) -> anyhow::Result<Option<Contract>> {
        let sql = Sql::new(contract_where("mid = $1 AND contract_no = $2"))
            .bind(mid)
            .bind(contract_no);
        let row: Option<ContractRow> = self.db.read_optional(&sql).await?;
        row.map(TryInto::try_into).transpose()
    }

    /// Newest first.
    pub async fn contracts(&self, filter: &ContractFilter) -> anyhow::Result<Vec<Contract>> {
        let mut sql = Sql::new(contract_where("1 = 1"));
        if let Some(mid) = &filter.mid {
            sql.push(" AND mid = ").push_bind(mid);
        }
        if let Some(state) = filter.state {
            sql.push(" AND state = ").push_bind(state.as_str());
        }
        if let Some(before) = filter.before_seq {
            sql.push(" AND id < ").push_bind(before);
        }
        sql.push(" ORDER BY id DESC LIMIT ").push_bind(filter.limit);
        let rows: Vec<ContractRow> = self.db.read_all(&sql).await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Moves a contract and enqueues its notifications, in one transaction. `plan` sees
    /// the contract as locked and its merchant's extra copies, and decides.
    pub async fn transition(
        &self,
        contract_id: &str,
        now: DateTime<Utc>,
        plan: impl FnOnce(&Contract, u32) -> Result<Planned, Refused> + Send,
    ) -> anyhow::Result<TransitionOutcome> {
        let mut tx = self.db.begin().await?;
        let lock = tx.row_lock();
        let locked = Sql::new(contract_where("contract_id = $1") + lock).bind(contract_id);
        let Some(current) = fetch_contract(&mut tx, &locked).await? else {
            return Ok(TransitionOutcome::NotFound);
        };
        let copies =
            Sql::new("SELECT extra_copies FROM merchants WHERE mid = $1").bind(&current.mid);
        let (extra_copies,): (i32,) = tx.fetch_one(&copies).await?;
        let (contract, notifications) = match plan(&current, extra_copies.max(0) as u32) {
            Ok(planned) => planned,
            Err(refused) => return Ok(TransitionOutcome::Refused(refused)),
        };
        let update = Sql::new(
            "UPDATE contracts SET state = $1, signed_at = $2, expires_at = $3, \
             consent_due_at = $4, last_notified_at = $5, updated_at = $6 WHERE id = $7",
        )
        .bind(contract.state.as_str())
        .bind(contract.signed_at)
        .bind(contract.expires_at)
        .bind(contract.consent_due_at)
        .bind(contract.last_notified_at)
        .bind(contract.updated_at)
        .bind(contract.seq);
        tx.execute(&update).await?;
        let mut ids = Vec::with_capacity(notifications.len());
        for notification in notifications {
            ids.push(
                enqueue_in(&mut tx, notification, now)
                    .await?
                    .notification
                    .id,
            );
        }
        tx.commit().await?;
        Ok(TransitionOutcome::Done {
            contract: Box::new(contract),
            notifications: ids,
        })
    }

    /// Contracts whose simulated consent is due, oldest due first.
    pub async fn due_consents(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<String>> {
        let sql = Sql::new(
            "SELECT contract_id FROM contracts WHERE consent_due_at <= $1 AND state = 'UNSIGNED' \
             ORDER BY consent_due_at LIMIT $2",
        )
        .bind(now)
        .bind(limit);
        let rows: Vec<(String,)> = self.db.read_all(&sql).await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Forgets expired tokens and nonces; returns how many rows went.
    pub async fn prune(&self, now: DateTime<Utc>) -> anyhow::Result<u64> {
        let mut tx = self.db.begin().await?;
        let tokens = tx
            .execute(&Sql::new("DELETE FROM access_tokens WHERE expires_at <= $1").bind(now))
            .await?;
        let nonces = tx
            .execute(&Sql::new("DELETE FROM used_nonces WHERE expires_at <= $1").bind(now))
            .await?;
        tx.commit().await?;
        Ok(tokens + nonces)
    }
}
