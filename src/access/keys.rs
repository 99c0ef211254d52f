//! Merchant access keys in storage: issuing one (the secret is returned once and only
//! its SHA-256 digest is kept), listing and revoking a merchant's keys, and finding the
//! holder of a presented key.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::db::{Db, Sql, Ts};
use crate::limits::Budget;

/// Every merchant access key starts with this, so the gate knows a key from an admin
/// token without a lookup, and a leaked key is recognisable in a scanner's rules.
pub const KEY_PREFIX: &str = "umsk_";

/// The most keys one merchant may hold at once.
pub const MAX_KEYS_PER_MERCHANT: usize = 20;

/// The longest name a key may be given.
pub const MAX_NAME_CHARS: usize = 64;

/// A key as listed: never its secret.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KeyInfo {
    /// The key's id (`ak_…`), to revoke it by.
    pub id: String,
    /// The merchant it acts as.
    pub mid: String,
    /// What the merchant called it (`laptop`, `ci`), if anything.
    pub name: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A key just issued: the only time its secret is seen.
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct IssuedKey {
    #[serde(flatten)]
    pub info: KeyInfo,
    /// The secret, `umsk_` and 40 hex digits: send it as `Authorization: Bearer <key>`.
    /// It is not stored and cannot be shown again.
    pub key: String,
}

impl std::fmt::Debug for IssuedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedKey")
            .field("info", &self.info)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Who holds a presented key, with the budget of its requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub key_id: String,
    pub mid: String,
    pub budget: Budget,
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    id: String,
    mid: String,
    name: Option<String>,
    created_at: Ts,
}

impl From<KeyRow> for KeyInfo {
    fn from(row: KeyRow) -> Self {
        Self {
            id: row.id,
            mid: row.mid,
            name: row.name,
            created_at: row.created_at.0,
        }
    }
}

/// The digest a key is stored and found by.
fn digest(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Why a key was not issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueRefused {
    /// No merchant has this number.
    NoMerchant,
    /// The merchant already holds the most keys it may.
    TooMany,
    /// The name is empty, too long or holds a control character: what was received.
    InvalidName { chars: usize },
}

impl std::fmt::Display for IssueRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IssueRefused::NoMerchant => f.write_str("no merchant has this number"),
            IssueRefused::TooMany => write!(
                f,
                "the merchant already holds {MAX_KEYS_PER_MERCHANT} access keys, the most it may; revoke one first"
            ),
            IssueRefused::InvalidName { chars } => write!(
                f,
                "`name` must have 1 to {MAX_NAME_CHARS} characters and no control characters; received {chars} characters"
            ),
        }
    }
}

/// A key's name as stored (trimmed), if it is one.
fn checked_name(name: Option<String>) -> Result<Option<String>, IssueRefused> {
    let Some(name) = name.map(|name| name.trim().to_owned()) else {
        return Ok(None);
    };
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(IssueRefused::InvalidName { chars });
    }
    Ok(Some(name))
}

/// The access keys' rows. Cheap to clone.
#[derive(Clone)]
pub struct AccessKeys {
    db: Db,
}

impl AccessKeys {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Issues a new key for merchant `mid`, named `name` (trimmed; 1 to 64 characters, no
    /// control characters). The count and the insert share one write transaction, so
    /// concurrent issues cannot pass the limit together.
    pub async fn issue(
        &self,
        mid: &str,
        name: Option<String>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Result<IssuedKey, IssueRefused>> {
        let name = match checked_name(name) {
            Ok(name) => name,
            Err(refused) => return Ok(Err(refused)),
        };
        // Stored to the millisecond (SQLite's precision), so the answer shows what a
        // later listing shows.
        let now = DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
        let key = format!("{KEY_PREFIX}{}", hex::encode(rand::random::<[u8; 20]>()));
        let id = format!("ak_{}", hex::encode(rand::random::<[u8; 8]>()));
        let mut tx = self.db.begin().await?;
        let lock = tx.row_lock();
        let owner: Option<(String,)> = tx
            .fetch_optional(
                &Sql::new(format!("SELECT mid FROM merchants WHERE mid = $1{lock}")).bind(mid),
            )
            .await?;
        if owner.is_none() {
            return Ok(Err(IssueRefused::NoMerchant));
        }
        let (held,): (i64,) = tx
            .fetch_one(&Sql::new("SELECT COUNT(*) FROM access_keys WHERE mid = $1").bind(mid))
            .await?;
        if held >= MAX_KEYS_PER_MERCHANT as i64 {
            return Ok(Err(IssueRefused::TooMany));
        }
        let insert = Sql::new(
            "INSERT INTO access_keys (id, mid, digest, name, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.as_str())
        .bind(mid)
        .bind(digest(&key))
        .bind(name.as_deref())
        .bind(now);
        tx.execute(&insert).await?;
        tx.commit().await?;
        Ok(Ok(IssuedKey {
            info: KeyInfo {
                id,
                mid: mid.to_owned(),
                name,
                created_at: now,
            },
            key,
        }))
    }

    /// The keys of merchant `mid`, oldest first.
    pub async fn list(&self, mid: &str) -> anyhow::Result<Vec<KeyInfo>> {
        let rows: Vec<KeyRow> = self
            .db
            .read_all(
                &Sql::new(
                    "SELECT id, mid, name, created_at FROM access_keys WHERE mid = $1 \
                     ORDER BY created_at, id",
                )
                .bind(mid),
            )
            .await?;
        Ok(rows.into_iter().map(KeyInfo::from).collect())
    }

    /// Revokes key `id` of merchant `mid` at once; whether there was such a key.
    pub async fn revoke(&self, mid: &str, id: &str) -> anyhow::Result<bool> {
        let deleted = self
            .db
            .write(
                &Sql::new("DELETE FROM access_keys WHERE mid = $1 AND id = $2")
                    .bind(mid)
                    .bind(id),
            )
            .await?;
        Ok(deleted > 0)
    }

    /// Who holds `key`, if it is a live key.
    pub async fn holder(&self, key: &str) -> anyhow::Result<Option<Holder>> {
        if !key.starts_with(KEY_PREFIX) {
            return Ok(None);
        }
        let found: Option<(String, String, Option<i32>, Option<i32>)> = self
            .db
            .read_optional(
                &Sql::new(
                    "SELECT k.id, k.mid, m.rate_limit_per_second, m.rate_limit_burst \
                     FROM access_keys k JOIN merchants m ON m.mid = k.mid WHERE k.digest = $1",
                )
                .bind(digest(key)),
            )
            .await?;
        Ok(found.map(|(key_id, mid, per_second, burst)| Holder {
            key_id,
            mid,
            budget: Budget::of(
                per_second.and_then(|v| u32::try_from(v).ok()),
                burst.and_then(|v| u32::try_from(v).ok()),
            ),
        }))
    }

    /// Whether key `id` is still live, and whose it is (for a console session).
    pub async fn owner_of(&self, id: &str) -> anyhow::Result<Option<String>> {
        let found: Option<(String,)> = self
            .db
            .read_optional(&Sql::new("SELECT mid FROM access_keys WHERE id = $1").bind(id))
            .await?;
        Ok(found.map(|(mid,)| mid))
    }
}
