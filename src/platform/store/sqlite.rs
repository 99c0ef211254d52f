//! The SQLite backend of the platform store. Every write goes through the outbox's single
//! writer connection under `BEGIN IMMEDIATE`, so a contract's change, its notifications
//! and the request's nonce commit together, and changes of one contract are serialised.

use std::str::FromStr;

use async_trait::async_trait;
use chrono::TimeZone;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::*;
use crate::store::sqlite::SqliteStore;

const MERCHANT_COLUMNS: &str = "mid, name, notify_url, app_id, app_key, auto_consent_ms, \
     extra_copies, created_at, updated_at";
const CONTRACT_COLUMNS: &str = "id, contract_id, mid, contract_no, plan_id, state, notify_url, \
     notify_host, single_limit_amt, avl_num, signed_at, expires_at, consent_due_at, \
     last_notified_at, created_at, updated_at";

#[derive(Clone)]
pub struct SqlitePlatform {
    db: SqliteStore,
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn merchant_from_row(row: &SqliteRow) -> anyhow::Result<Merchant> {
    Ok(Merchant {
        mid: row.try_get("mid")?,
        name: row.try_get("name")?,
        notify_url: row.try_get("notify_url")?,
        app_id: row.try_get("app_id")?,
        app_key: AppKey::new(row.try_get::<String, _>("app_key")?),
        auto_consent_after: row
            .try_get::<Option<i64>, _>("auto_consent_ms")?
            .map(|ms| Duration::from_millis(ms.max(0) as u64)),
        extra_copies: row.try_get::<i64, _>("extra_copies")?.max(0) as u32,
        created_at: from_ms(row.try_get("created_at")?),
        updated_at: from_ms(row.try_get("updated_at")?),
    })
}

fn contract_from_row(row: &SqliteRow) -> anyhow::Result<Contract> {
    let notify_url: String = row.try_get("notify_url")?;
    Ok(Contract {
        seq: row.try_get("id")?,
        contract_id: row.try_get("contract_id")?,
        mid: row.try_get("mid")?,
        contract_no: row.try_get("contract_no")?,
        plan_id: row.try_get("plan_id")?,
        state: ContractState::from_str(row.try_get("state")?)?,
        notify_host: stored_notify_host(row.try_get("notify_host")?, &notify_url),
        notify_url,
        single_limit_amt: row.try_get("single_limit_amt")?,
        avl_num: row.try_get("avl_num")?,
        signed_at: row.try_get::<Option<i64>, _>("signed_at")?.map(from_ms),
        expires_at: row.try_get::<Option<i64>, _>("expires_at")?.map(from_ms),
        consent_due_at: row
            .try_get::<Option<i64>, _>("consent_due_at")?
            .map(from_ms),
        last_notified_at: row
            .try_get::<Option<i64>, _>("last_notified_at")?
            .map(from_ms),
        created_at: from_ms(row.try_get("created_at")?),
        updated_at: from_ms(row.try_get("updated_at")?),
    })
}

fn duration_ms(duration: Option<Duration>) -> Option<i64> {
    duration.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl SqlitePlatform {
    pub fn new(db: SqliteStore) -> Self {
        Self { db }
    }

    /// Spends a nonce unless it is spent and still remembered. An expired record of the
    /// same nonce is taken over, so pruning is an optimisation, not a requirement.
    async fn spend(
        conn: &mut SqliteConnection,
        nonce: &NonceUse,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "INSERT INTO used_nonces (app_id, nonce, expires_at) VALUES (?, ?, ?) \
             ON CONFLICT (app_id, nonce) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE used_nonces.expires_at <= ?",
        )
        .bind(&nonce.app_id)
        .bind(&nonce.nonce)
        .bind(ms(nonce.expires_at))
        .bind(ms(now))
        .execute(conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn contract_where(
        conn: &mut SqliteConnection,
        condition: &str,
        binds: &[&str],
    ) -> anyhow::Result<Option<Contract>> {
        let sql = format!("SELECT {CONTRACT_COLUMNS} FROM contracts WHERE {condition}");
        let mut query = sqlx::query(&sql);
        for bind in binds {
            query = query.bind(*bind);
        }
        let row = query.fetch_optional(conn).await?;
        row.as_ref().map(contract_from_row).transpose()
    }
}

#[async_trait]
impl PlatformStore for SqlitePlatform {
    async fn create_merchant(
        &self,
        new: NewMerchant,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<Merchant>> {
        let row = sqlx::query(&format!(
            "INSERT INTO merchants ({MERCHANT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (mid) DO NOTHING RETURNING {MERCHANT_COLUMNS}"
        ))
        .bind(&new.mid)
        .bind(&new.name)
        .bind(&new.notify_url)
        .bind(&new.app_id)
        .bind(new.app_key.expose())
        .bind(duration_ms(new.auto_consent_after))
        .bind(i64::from(new.extra_copies))
        .bind(ms(now))
        .bind(ms(now))
        .fetch_optional(self.db.writer())
        .await?;
        row.as_ref().map(merchant_from_row).transpose()
    }

    async fn merchants(&self) -> anyhow::Result<Vec<Merchant>> {
        let rows = sqlx::query(&format!(
            "SELECT {MERCHANT_COLUMNS} FROM merchants ORDER BY mid"
        ))
        .fetch_all(self.db.reader())
        .await?;
        rows.iter().map(merchant_from_row).collect()
    }

    async fn merchant(&self, mid: &str) -> anyhow::Result<Option<Merchant>> {
        let row = sqlx::query(&format!(
            "SELECT {MERCHANT_COLUMNS} FROM merchants WHERE mid = ?"
        ))
        .bind(mid)
        .fetch_optional(self.db.reader())
        .await?;
        row.as_ref().map(merchant_from_row).transpose()
    }

    async fn merchant_by_app_id(&self, app_id: &str) -> anyhow::Result<Option<Merchant>> {
        let row = sqlx::query(&format!(
            "SELECT {MERCHANT_COLUMNS} FROM merchants WHERE app_id = ?"
        ))
        .bind(app_id)
        .fetch_optional(self.db.reader())
        .await?;
        row.as_ref().map(merchant_from_row).transpose()
    }

    async fn update_merchant(
        &self,
        mid: &str,
        patch: MerchantPatch,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<Merchant>> {
        let mut query = QueryBuilder::<Sqlite>::new("UPDATE merchants SET updated_at = ");
        query.push_bind(ms(now));
        if let Some(name) = patch.name {
            query.push(", name = ").push_bind(name);
        }
        if let Some(url) = patch.notify_url {
            query.push(", notify_url = ").push_bind(url);
        }
        if let Some(after) = patch.auto_consent_after {
            query
                .push(", auto_consent_ms = ")
                .push_bind(duration_ms(after));
        }
        if let Some(copies) = patch.extra_copies {
            query.push(", extra_copies = ").push_bind(i64::from(copies));
        }
        query.push(" WHERE mid = ").push_bind(mid);
        query.push(" RETURNING ").push(MERCHANT_COLUMNS);
        let row = query.build().fetch_optional(self.db.writer()).await?;
        row.as_ref().map(merchant_from_row).transpose()
    }

    async fn issue_token(
        &self,
        token: NewToken,
        nonce: NonceUse,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let mut tx = self.db.writer().begin_with("BEGIN IMMEDIATE").await?;
        if !Self::spend(&mut tx, &nonce, now).await? {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO access_tokens (token_hash, app_id, expires_at, created_at) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(&token.token_hash)
        .bind(&token.app_id)
        .bind(ms(token.expires_at))
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn token_app_id(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT app_id FROM access_tokens WHERE token_hash = ? AND expires_at > ?",
        )
        .bind(token_hash)
        .bind(ms(now))
        .fetch_optional(self.db.reader())
        .await?)
    }

    async fn nonce_spent(
        &self,
        app_id: &str,
        nonce: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM used_nonces WHERE app_id = ? AND nonce = ? AND expires_at > ?",
        )
        .bind(app_id)
        .bind(nonce)
        .bind(ms(now))
        .fetch_optional(self.db.reader())
        .await?;
        Ok(found.is_some())
    }

    async fn spend_nonce(&self, nonce: NonceUse, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let mut conn = self.db.writer().acquire().await?;
        Self::spend(&mut conn, &nonce, now).await
    }

    async fn create_contract(
        &self,
        new: NewContract,
        nonce: Option<NonceUse>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<CreateOutcome> {
        let mut tx = self.db.writer().begin_with("BEGIN IMMEDIATE").await?;
        if let Some(nonce) = &nonce {
            if !Self::spend(&mut tx, nonce, now).await? {
                return Ok(CreateOutcome::NonceReplayed);
            }
        }
        // `ON CONFLICT` as on PostgreSQL: the unique key decides, not a prior lookup.
        let row = sqlx::query(&format!(
            "INSERT INTO contracts (contract_id, mid, contract_no, plan_id, state, notify_url, \
             notify_host, single_limit_amt, avl_num, consent_due_at, created_at, updated_at) \
             VALUES (?, ?, ?, ?, 'UNSIGNED', ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (mid, contract_no) DO NOTHING RETURNING {CONTRACT_COLUMNS}"
        ))
        .bind(&new.contract_id)
        .bind(&new.mid)
        .bind(&new.contract_no)
        .bind(&new.plan_id)
        .bind(&new.notify_url)
        .bind(&new.notify_host)
        .bind(&new.single_limit_amt)
        .bind(&new.avl_num)
        .bind(new.consent_due_at.map(ms))
        .bind(ms(now))
        .bind(ms(now))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            // Read in the same transaction, which the drop then rolls back: the refused
            // request spends no nonce.
            let existing = Self::contract_where(
                &mut tx,
                "mid = ? AND contract_no = ?",
                &[new.mid.as_str(), new.contract_no.as_str()],
            )
            .await?
            .ok_or_else(|| anyhow::anyhow!("contractNo conflict without a contract"))?;
            return Ok(CreateOutcome::DuplicateContractNo(existing));
        };
        let contract = contract_from_row(&row)?;
        tx.commit().await?;
        Ok(CreateOutcome::Created(contract))
    }

    async fn contract(&self, contract_id: &str) -> anyhow::Result<Option<Contract>> {
        let mut conn = self.db.reader().acquire().await?;
        Self::contract_where(&mut conn, "contract_id = ?", &[contract_id]).await
    }

    async fn contract_by_no(
        &self,
        mid: &str,
        contract_no: &str,
    ) -> anyhow::Result<Option<Contract>> {
        let mut conn = self.db.reader().acquire().await?;
        Self::contract_where(
            &mut conn,
            "mid = ? AND contract_no = ?",
            &[mid, contract_no],
        )
        .await
    }

    async fn contracts(&self, filter: &ContractFilter) -> anyhow::Result<Vec<Contract>> {
        let mut query = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {CONTRACT_COLUMNS} FROM contracts WHERE 1 = 1"
        ));
        push_contract_filter(&mut query, filter);
        let rows = query.build().fetch_all(self.db.reader()).await?;
        rows.iter().map(contract_from_row).collect()
    }

    async fn transition(
        &self,
        contract_id: &str,
        change: Change,
        lifecycle: &Lifecycle,
    ) -> anyhow::Result<TransitionOutcome> {
        let mut tx = self.db.writer().begin_with("BEGIN IMMEDIATE").await?;
        let Some(current) =
            Self::contract_where(&mut tx, "contract_id = ?", &[contract_id]).await?
        else {
            return Ok(TransitionOutcome::NotFound);
        };
        let copies: i64 = sqlx::query_scalar("SELECT extra_copies FROM merchants WHERE mid = ?")
            .bind(&current.mid)
            .fetch_one(&mut *tx)
            .await?;
        let (contract, notifications) =
            match plan(&current, copies.max(0) as u32, &change, lifecycle) {
                Ok(planned) => planned,
                Err(refused) => return Ok(refused),
            };
        sqlx::query(
            "UPDATE contracts SET state = ?, signed_at = ?, expires_at = ?, consent_due_at = ?, \
             last_notified_at = ?, updated_at = ? WHERE id = ?",
        )
        .bind(contract.state.as_str())
        .bind(contract.signed_at.map(ms))
        .bind(contract.expires_at.map(ms))
        .bind(contract.consent_due_at.map(ms))
        .bind(contract.last_notified_at.map(ms))
        .bind(ms(contract.updated_at))
        .bind(contract.seq)
        .execute(&mut *tx)
        .await?;
        let mut ids = Vec::with_capacity(notifications.len());
        for notification in notifications {
            let enqueued = SqliteStore::enqueue_in(&mut tx, notification, change.now).await?;
            ids.push(enqueued.notification.id);
        }
        tx.commit().await?;
        Ok(TransitionOutcome::Done {
            contract: Box::new(contract),
            notifications: ids,
        })
    }

    async fn due_consents(&self, now: DateTime<Utc>, limit: u32) -> anyhow::Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT contract_id FROM contracts WHERE consent_due_at <= ? AND state = 'UNSIGNED' \
             ORDER BY consent_due_at LIMIT ?",
        )
        .bind(ms(now))
        .bind(i64::from(limit))
        .fetch_all(self.db.reader())
        .await?)
    }

    async fn prune(&self, now: DateTime<Utc>) -> anyhow::Result<u64> {
        let mut tx = self.db.writer().begin_with("BEGIN IMMEDIATE").await?;
        let tokens = sqlx::query("DELETE FROM access_tokens WHERE expires_at <= ?")
            .bind(ms(now))
            .execute(&mut *tx)
            .await?;
        let nonces = sqlx::query("DELETE FROM used_nonces WHERE expires_at <= ?")
            .bind(ms(now))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(tokens.rows_affected() + nonces.rows_affected())
    }
}
