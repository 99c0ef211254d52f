//! Merchants in storage: their rows and the store's merchant methods.

use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use crate::db::{Db, Sql, Ts, Tx};
use crate::platform::auth::AppKey;
use crate::platform::merchants::merchant::{
    DeliveryMode, Merchant, MerchantPatch, NewMerchant, PaymentNotices,
};
use crate::platform::merchants::rotation::Grace;
use crate::platform::merchants::SignType;

pub(super) const MERCHANT_COLUMNS: &str = "mid, name, notify_url, app_id, app_key, \
     auto_consent_ms, extra_copies, created_at, updated_at, md5_key, sign_type, auto_pay_ms, \
     msg_src_id, payment_notices, msg_src, app_key_previous, app_key_previous_until, \
     md5_key_previous, md5_key_previous_until, rate_limit_per_second, rate_limit_burst, \
     delivery";

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
    md5_key: String,
    sign_type: String,
    auto_pay_ms: Option<i64>,
    msg_src_id: String,
    payment_notices: String,
    msg_src: Option<String>,
    app_key_previous: Option<String>,
    app_key_previous_until: Option<Ts>,
    md5_key_previous: Option<String>,
    md5_key_previous_until: Option<Ts>,
    rate_limit_per_second: Option<i32>,
    rate_limit_burst: Option<i32>,
    delivery: String,
}

impl TryFrom<MerchantRow> for Merchant {
    type Error = anyhow::Error;

    fn try_from(row: MerchantRow) -> anyhow::Result<Self> {
        let sign_type = SignType::parse(&row.sign_type).with_context(|| {
            format!(
                "merchant {}: unknown sign_type {:?}",
                row.mid, row.sign_type
            )
        })?;
        let payment_notices = PaymentNotices::parse(&row.payment_notices).with_context(|| {
            format!(
                "merchant {}: unknown payment_notices {:?}",
                row.mid, row.payment_notices
            )
        })?;
        let delivery = DeliveryMode::parse(&row.delivery).with_context(|| {
            format!("merchant {}: unknown delivery {:?}", row.mid, row.delivery)
        })?;
        let mid = row.mid;
        Ok(Merchant {
            mid: mid.clone(),
            name: row.name,
            notify_url: row.notify_url,
            app_id: row.app_id,
            app_key: AppKey::new(row.app_key),
            md5_key: AppKey::new(row.md5_key),
            app_key_grace: grace(row.app_key_previous, row.app_key_previous_until),
            md5_key_grace: grace(row.md5_key_previous, row.md5_key_previous_until),
            sign_type,
            msg_src: row.msg_src.unwrap_or_else(|| mid.clone()),
            msg_src_id: row.msg_src_id,
            auto_consent_after: row.auto_consent_ms.map(stored_duration),
            auto_pay_after: row.auto_pay_ms.map(stored_duration),
            extra_copies: row.extra_copies.max(0) as u32,
            payment_notices,
            rate_limit_per_second: row.rate_limit_per_second.map(stored_count),
            rate_limit_burst: row.rate_limit_burst.map(stored_count),
            delivery,
            created_at: row.created_at.into(),
            updated_at: row.updated_at.into(),
        })
    }
}

/// The key a rotation replaced and the end of its grace, when both are stored.
fn grace(previous: Option<String>, until: Option<Ts>) -> Option<Grace> {
    Some(Grace {
        previous: AppKey::new(previous?),
        until: until?.into(),
    })
}

fn stored_duration(ms: i64) -> Duration {
    Duration::from_millis(ms.max(0) as u64)
}

fn stored_count(count: i32) -> u32 {
    count.max(0) as u32
}

fn duration_ms(duration: Option<Duration>) -> Option<i64> {
    duration.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The merchant `mid` as seen inside `tx`.
pub(crate) async fn merchant_in(tx: &mut Tx, mid: &str) -> anyhow::Result<Option<Merchant>> {
    let sql = Sql::new(format!(
        "SELECT {MERCHANT_COLUMNS} FROM merchants WHERE mid = $1"
    ))
    .bind(mid);
    let row: Option<MerchantRow> = tx.fetch_optional(&sql).await?;
    row.map(TryInto::try_into).transpose()
}

/// What creating a merchant did.
#[derive(Debug)]
pub enum MerchantCreateOutcome {
    Created(Box<Merchant>),
    /// Another merchant has the `mid`.
    MidTaken,
    /// The merchant joins this message source with a key other than the source's.
    SourceKeyDiffers(String),
}

/// Merchants. Cheap to clone.
#[derive(Clone)]
pub struct MerchantStore {
    pub(super) db: Db,
}

impl MerchantStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Creates a merchant. A merchant joining a message source that already serves
    /// merchants takes the source's communication key: one it brings must be that key.
    /// It takes the source's grace too: while one lasts, the key the source's last
    /// rotation replaced is accepted for it as for the others.
    /// On PostgreSQL two merchants creating one new source at the same moment with
    /// different keys are not kept apart; each source's key is then what the first of
    /// them reads.
    pub async fn create_merchant(
        &self,
        new: NewMerchant,
        now: DateTime<Utc>,
    ) -> anyhow::Result<MerchantCreateOutcome> {
        let mut tx = self.db.begin().await?;
        let source_key: Option<(String, Option<String>, Option<Ts>)> = tx
            .fetch_optional(
                &Sql::new(
                    "SELECT md5_key, md5_key_previous, md5_key_previous_until \
                     FROM merchants WHERE msg_src = $1 LIMIT 1",
                )
                .bind(new.msg_src.as_str()),
            )
            .await?;
        let (md5_key, previous, until) = match (source_key, new.md5_key) {
            (Some((shared, ..)), Some(given)) if given.expose() != shared => {
                return Ok(MerchantCreateOutcome::SourceKeyDiffers(new.msg_src));
            }
            (Some((shared, previous, until)), _) => (AppKey::new(shared), previous, until),
            (None, given) => (given.unwrap_or_else(AppKey::generate), None, None),
        };
        let sql = Sql::new(format!(
            "INSERT INTO merchants ({MERCHANT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11, $12, $13, $14, \
                     NULL, NULL, $15, $16, $17, $18, 'http') \
             ON CONFLICT (mid) DO NOTHING RETURNING {MERCHANT_COLUMNS}"
        ))
        .bind(new.mid)
        .bind(new.name)
        .bind(new.notify_url)
        .bind(new.app_id)
        .bind(new.app_key.expose())
        .bind(duration_ms(new.auto_consent_after))
        .bind(new.extra_copies)
        .bind(now)
        .bind(md5_key.expose())
        .bind(new.sign_type.as_str())
        .bind(duration_ms(new.auto_pay_after))
        .bind(new.msg_src_id)
        .bind(new.payment_notices.as_str())
        .bind(new.msg_src)
        .bind(previous)
        .bind(until.map(DateTime::<Utc>::from))
        .bind(new.rate_limit_per_second.map(i64::from))
        .bind(new.rate_limit_burst.map(i64::from));
        let row: Option<MerchantRow> = tx.fetch_optional(&sql).await?;
        let Some(row) = row else {
            return Ok(MerchantCreateOutcome::MidTaken);
        };
        tx.commit().await?;
        Ok(MerchantCreateOutcome::Created(Box::new(row.try_into()?)))
    }

    /// The merchants message source `msg_src` serves, by `mid`.
    pub async fn merchants_of_source(&self, msg_src: &str) -> anyhow::Result<Vec<Merchant>> {
        let sql = Sql::new(format!(
            "SELECT {MERCHANT_COLUMNS} FROM merchants WHERE msg_src = $1 ORDER BY mid"
        ))
        .bind(msg_src);
        let rows: Vec<MerchantRow> = self.db.read_all(&sql).await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Every merchant, by `mid`.
    pub async fn merchants(&self) -> anyhow::Result<Vec<Merchant>> {
        let sql = Sql::new(format!(
            "SELECT {MERCHANT_COLUMNS} FROM merchants ORDER BY mid"
        ));
        let rows: Vec<MerchantRow> = self.db.read_all(&sql).await?;
        rows.into_iter().map(TryInto::try_into).collect()
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
        row.map(TryInto::try_into).transpose()
    }

    /// Where merchant `mid`'s notices go; `None` if there is no such merchant.
    pub async fn delivery_mode(&self, mid: &str) -> anyhow::Result<Option<DeliveryMode>> {
        let sql = Sql::new("SELECT delivery FROM merchants WHERE mid = $1").bind(mid);
        let row: Option<(String,)> = self.db.read_optional(&sql).await?;
        Ok(row.map(|(text,)| DeliveryMode::parse(&text).unwrap_or_default()))
    }

    /// Applies a patch; `None` if there is no such merchant. A new communication key is
    /// the key of the merchant's message source, so every merchant of it takes it; it
    /// replaces the key at once, so it ends a rotation's grace in progress too.
    pub async fn update_merchant(
        &self,
        mid: &str,
        patch: MerchantPatch,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<Merchant>> {
        let mut tx = self.db.begin().await?;
        if let Some(key) = &patch.md5_key {
            // A message source has one key: its other merchants change with this one.
            let shared = Sql::new(
                "UPDATE merchants SET md5_key = $1, updated_at = $2, \
                 md5_key_previous = NULL, md5_key_previous_until = NULL \
                 WHERE msg_src = (SELECT msg_src FROM merchants WHERE mid = $3) AND mid <> $3",
            )
            .bind(key.expose())
            .bind(now)
            .bind(mid);
            tx.execute(&shared).await?;
        }
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
        if let Some(after) = patch.auto_pay_after {
            sql.push(", auto_pay_ms = ").push_bind(duration_ms(after));
        }
        if let Some(key) = &patch.md5_key {
            sql.push(", md5_key = ").push_bind(key.expose());
            sql.push(", md5_key_previous = NULL, md5_key_previous_until = NULL");
        }
        if let Some(msg_src_id) = &patch.msg_src_id {
            sql.push(", msg_src_id = ").push_bind(msg_src_id);
        }
        if let Some(sign_type) = patch.sign_type {
            sql.push(", sign_type = ").push_bind(sign_type.as_str());
        }
        if let Some(copies) = patch.extra_copies {
            sql.push(", extra_copies = ").push_bind(copies);
        }
        if let Some(which) = patch.payment_notices {
            sql.push(", payment_notices = ").push_bind(which.as_str());
        }
        if let Some(per_second) = patch.rate_limit_per_second {
            sql.push(", rate_limit_per_second = ")
                .push_bind(per_second.map(i64::from));
        }
        if let Some(burst) = patch.rate_limit_burst {
            sql.push(", rate_limit_burst = ")
                .push_bind(burst.map(i64::from));
        }
        if let Some(delivery) = patch.delivery {
            sql.push(", delivery = ").push_bind(delivery.as_str());
        }
        sql.push(" WHERE mid = ").push_bind(mid);
        sql.push(" RETURNING ").push(MERCHANT_COLUMNS);
        let row: Option<MerchantRow> = tx.fetch_optional(&sql).await?;
        tx.commit().await?;
        row.map(TryInto::try_into).transpose()
    }
}
