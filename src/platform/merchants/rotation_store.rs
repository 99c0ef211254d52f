//! A rotation in storage: the merchants' rows take the new key and keep the replaced one
//! with the end of its grace, and the access tokens of the appId are cut to the grace,
//! in one transaction.

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use crate::db::Sql;
use crate::platform::auth::AppKey;
use crate::platform::merchants::merchant::Merchant;
use crate::platform::merchants::rotation::Credential;
use crate::platform::merchants::store::{merchant_in, MerchantStore};

impl MerchantStore {
    /// Replaces `credential` of merchant `mid` with `key` — of every merchant of its
    /// message source, for the communication key — keeping the replaced key with `until`,
    /// the end of its grace (the key an earlier rotation kept is forgotten). Rotating the
    /// appKey also cuts every unexpired access token of the merchant's appId to expire at
    /// `until` at the latest. Returns the merchant as rotated and the `mid`s that took
    /// the key; `None`, with nothing written, if no merchant has `mid`.
    pub async fn rotate_key(
        &self,
        mid: &str,
        credential: Credential,
        key: &AppKey,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<(Merchant, Vec<String>)>> {
        let mut tx = self.db.begin().await?;
        let Some(merchant) = merchant_in(&mut tx, mid).await? else {
            return Ok(None);
        };
        let merchants = match credential {
            Credential::AppKey => {
                // The right-hand sides read the row as it was: the previous key is the
                // one being replaced.
                let rotate = Sql::new(
                    "UPDATE merchants SET app_key_previous = app_key, \
                     app_key_previous_until = $1, app_key = $2, updated_at = $3 WHERE mid = $4",
                )
                .bind(until)
                .bind(key.expose())
                .bind(now)
                .bind(mid);
                tx.execute(&rotate).await?;
                let tokens = Sql::new(
                    "UPDATE access_tokens SET expires_at = $1 \
                     WHERE app_id = $2 AND expires_at > $1",
                )
                .bind(until)
                .bind(merchant.app_id.as_str());
                tx.execute(&tokens).await?;
                vec![mid.to_owned()]
            }
            Credential::Md5Key => {
                // A message source has one key: all of its merchants take the new one
                // and keep the replaced one alike.
                let rotate = Sql::new(
                    "UPDATE merchants SET md5_key_previous = md5_key, \
                     md5_key_previous_until = $1, md5_key = $2, updated_at = $3 \
                     WHERE msg_src = $4 OR mid = $5",
                )
                .bind(until)
                .bind(key.expose())
                .bind(now)
                .bind(merchant.msg_src.as_str())
                .bind(mid);
                tx.execute(&rotate).await?;
                let of_source = Sql::new(
                    "SELECT mid FROM merchants WHERE msg_src = $1 OR mid = $2 ORDER BY mid",
                )
                .bind(merchant.msg_src.as_str())
                .bind(mid);
                let rows: Vec<(String,)> = tx.fetch_all(&of_source).await?;
                rows.into_iter().map(|(mid,)| mid).collect()
            }
        };
        let rotated = merchant_in(&mut tx, mid)
            .await?
            .with_context(|| format!("merchant {mid} vanished while its key was rotated"))?;
        tx.commit().await?;
        Ok(Some((rotated, merchants)))
    }
}
