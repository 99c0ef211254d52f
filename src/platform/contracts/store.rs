//! Contracts in storage: their rows, creation, listing and the state change that
//! enqueues its notices in the same transaction.

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use crate::db::{Db, Sql, Ts, Tx};
use crate::platform::auth::store::{spend, NonceUse};
use crate::platform::contracts::contract::{Contract, ContractState, NewContract};
use crate::platform::contracts::events::{Planned, Refused};
use crate::policy::Destination;
use crate::producer::{enqueue_in, Producer, Receipt};

const CONTRACT_COLUMNS: &str = "id, contract_id, mid, contract_no, plan_id, state, notify_url, \
     notify_host, single_limit_amt, avl_num, signed_at, expires_at, consent_due_at, \
     last_notified_at, created_at, updated_at";

#[derive(Debug)]
pub enum CreateOutcome {
    Created(Contract),
    /// The merchant already has a contract with this `contractNo`: this one.
    DuplicateContractNo(Contract),
    NonceReplayed,
}

#[derive(Debug)]
pub enum TransitionOutcome<N = Vec<i64>> {
    /// Changed, with the notifications enqueued with the change: the store's [`Receipt`],
    /// which the service hands to the producer, and their ids from then on.
    Done {
        contract: Box<Contract>,
        notifications: N,
    },
    NotFound,
    Refused(Refused),
}

impl TransitionOutcome<Receipt> {
    /// The outcome once the producer has taken the receipt of its notifications.
    pub fn accepted(self, producer: &Producer) -> TransitionOutcome {
        match self {
            Self::Done {
                contract,
                notifications,
            } => TransitionOutcome::Done {
                contract,
                notifications: producer.accepted(notifications),
            },
            Self::NotFound => TransitionOutcome::NotFound,
            Self::Refused(refused) => TransitionOutcome::Refused(refused),
        }
    }
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

fn contract_where(condition: &str) -> String {
    format!("SELECT {CONTRACT_COLUMNS} FROM contracts WHERE {condition}")
}

async fn fetch_contract(tx: &mut Tx, sql: &Sql<'_>) -> anyhow::Result<Option<Contract>> {
    let row: Option<ContractRow> = tx.fetch_optional(sql).await?;
    row.map(TryInto::try_into).transpose()
}

/// Contracts. Cheap to clone.
#[derive(Clone)]
pub struct ContractStore {
    db: Db,
}

impl ContractStore {
    pub fn new(db: Db) -> Self {
        Self { db }
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
    ) -> anyhow::Result<TransitionOutcome<Receipt>> {
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
        let receipt = enqueue_in(&mut tx, notifications, now).await?;
        tx.commit().await?;
        Ok(TransitionOutcome::Done {
            contract: Box::new(contract),
            notifications: receipt,
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
}
