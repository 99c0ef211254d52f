//! Access tokens and spent nonces in storage, in the outbox's database (so several
//! instances agree on them), each query written once for both backends.
//!
//! Invariants:
//! - A request's nonce is spent in the same transaction as the request's own write
//!   ([`spend`], called by the contract and order stores inside theirs); a request that
//!   is refused spends nothing.
//! - Only a digest of an access token is stored.

use chrono::{DateTime, Utc};

use crate::db::{Db, Sql, Tx};

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

/// Spends a nonce unless it is spent and still remembered. An expired record of the same
/// nonce is taken over, so pruning is an optimisation, not a requirement.
pub(crate) async fn spend(
    tx: &mut Tx,
    nonce: &NonceUse,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
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

/// Tokens and nonces. Cheap to clone.
#[derive(Clone)]
pub struct AuthStore {
    db: Db,
}

impl AuthStore {
    pub fn new(db: Db) -> Self {
        Self { db }
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
