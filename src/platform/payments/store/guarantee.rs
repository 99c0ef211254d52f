//! A guarantee bill's hold in storage: its columns of `orders` (migration 0013), read as
//! part of an order's row, and the holds due for their automatic cancel.

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::OrderStore;
use crate::db::Sql;
use crate::platform::payments::guarantee::{Guarantee, SecureStatus, HOLD};
use crate::platform::payments::order::Order;

/// The hold's columns of an order's row.
#[derive(sqlx::FromRow)]
pub(super) struct GuaranteeRow {
    secure_transaction: i32,
    secure_status: Option<String>,
    completed_amount: i64,
}

impl GuaranteeRow {
    /// The hold, on a guarantee bill.
    pub(super) fn guarantee(self) -> anyhow::Result<Option<Guarantee>> {
        if self.secure_transaction == 0 {
            return Ok(None);
        }
        let status = self
            .secure_status
            .map(|s| {
                SecureStatus::from_stored(&s).with_context(|| {
                    format!("unknown secure_status {s:?}; expected one of UNCOMPLETED, PARTLY_COMPLETED, ALL_COMPLETED, CANCELED")
                })
            })
            .transpose()?;
        Ok(Some(Guarantee {
            status,
            completed_amount: self.completed_amount,
        }))
    }
}

/// The hold's stored `secure_status` and `completed_amount` of `order`.
pub(in crate::platform::payments) fn stored(order: &Order) -> (Option<&'static str>, i64) {
    let guarantee = order.guarantee.unwrap_or_default();
    (
        guarantee.status.map(SecureStatus::as_str),
        guarantee.completed_amount,
    )
}

impl OrderStore {
    /// Paid guarantee bills whose hold is still `UNCOMPLETED` [`HOLD`] after the payment,
    /// at `now`: due for their automatic cancel, oldest payment first.
    pub async fn due_holds(&self, now: DateTime<Utc>, limit: u32) -> anyhow::Result<Vec<i64>> {
        let paid_before = now.checked_sub_signed(HOLD).unwrap_or(now);
        let sql = Sql::new(
            "SELECT id FROM orders WHERE secure_status = 'UNCOMPLETED' AND state = 'PAID' \
             AND paid_at <= $1 ORDER BY paid_at LIMIT $2",
        )
        .bind(paid_before)
        .bind(limit);
        let rows: Vec<(i64,)> = self.db.read_all(&sql).await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }
}
