//! The writes of an order inside a transaction, shared by the order store and the bill
//! codes: inserting a new order, and writing an event's result (the order, its refund
//! and its notices).

use chrono::{DateTime, Utc};

use crate::db::{Sql, Tx};
use crate::platform::payments::events::Planned;
use crate::platform::payments::order::{NewOrder, Order, Refund};
use crate::platform::payments::store::{fetch_order, guarantee, split, ORDER_COLUMNS};
use crate::producer::{enqueue_in, Receipt};

/// Inserts the unpaid order `new` created at `now`; `None` when the merchant already has
/// an order with its number.
pub(super) async fn insert_order(
    tx: &mut Tx,
    new: &NewOrder,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<Order>> {
    let bill = new.bill.as_ref();
    let return_url = match &new.h5 {
        Some(h5) => h5.return_url.as_deref(),
        None => bill.and_then(|b| b.return_url.as_deref()),
    };
    let insert = Sql::new(format!(
        "INSERT INTO orders (mid, tid, inst_mid, product, order_no, bill_date, state, \
         total_amount, description, notify_url, notify_host, expires_at, pay_due_at, \
         created_at, updated_at, return_url, cashier_token, own_notify, qr_code_id, \
         qr_code_url, member_id, counter_no, goods, secure_transaction, split_plan) \
         VALUES ($1, $2, $3, $4, $5, $6, 'UNPAID', $7, $8, $9, $10, $11, $12, $13, $13, $14, \
         $15, $16, $17, $18, $19, $20, $21, $22, $23) \
         ON CONFLICT (mid, order_no) DO NOTHING RETURNING {ORDER_COLUMNS}"
    ))
    .bind(&new.mid)
    .bind(&new.tid)
    .bind(&new.inst_mid)
    .bind(new.product.as_str())
    .bind(&new.order_no)
    .bind(&new.bill_date)
    .bind(new.total_amount)
    .bind(&new.description)
    .bind(&new.notify.url)
    .bind(&new.notify.host)
    .bind(new.expires_at)
    .bind(new.pay_due_at)
    .bind(now)
    .bind(return_url)
    .bind(new.h5.as_ref().map(|h5| h5.token.as_str()))
    .bind(i32::from(new.own_notify))
    .bind(bill.map(|b| b.qr_code_id.as_str()))
    .bind(bill.map(|b| b.qr_code_url.as_str()))
    .bind(bill.and_then(|b| b.member_id.as_deref()))
    .bind(bill.and_then(|b| b.counter_no.as_deref()))
    .bind(bill.and_then(|b| b.goods.as_deref()))
    .bind(i32::from(new.guarantee))
    .bind(split::stored(bill.and_then(|b| b.split.as_ref()))?);
    fetch_order(tx, &insert).await
}

/// Writes a planned order event: the order, its refund and its notices (enqueued).
pub(super) async fn write_planned(
    tx: &mut Tx,
    planned: Planned,
    now: DateTime<Utc>,
) -> anyhow::Result<(Order, Option<Refund>, Receipt)> {
    let Planned {
        order,
        refund,
        notifications,
    } = planned;
    let payment = order.payment.as_ref();
    let (secure_status, completed_amount) = guarantee::stored(&order);
    let update = Sql::new(
        "UPDATE orders SET state = $1, refunded_amount = $2, target_sys = $3, \
         target_order_id = $4, buyer_id = $5, seq_id = $6, paid_at = $7, closed_at = $8, \
         pay_due_at = $9, updated_at = $10, secure_status = $11, completed_amount = $12, \
         split_plan = $13 WHERE id = $14",
    )
    .bind(order.state.as_str())
    .bind(order.refunded_amount)
    .bind(payment.map(|p| p.target_sys.as_str()))
    .bind(payment.map(|p| p.target_order_id.as_str()))
    .bind(payment.map(|p| p.buyer_id.as_str()))
    .bind(payment.map(|p| p.seq_id.as_str()))
    .bind(payment.map(|p| p.paid_at))
    .bind(order.closed_at)
    .bind(order.pay_due_at)
    .bind(order.updated_at)
    .bind(secure_status)
    .bind(completed_amount)
    .bind(split::stored(
        order.bill.as_ref().and_then(|b| b.split.as_ref()),
    )?)
    .bind(order.id);
    tx.execute(&update).await?;
    if let Some(refund) = &refund {
        let insert = Sql::new(
            "INSERT INTO order_refunds (order_id, refund_order_id, amount, target_order_id, \
             created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(order.id)
        .bind(&refund.refund_order_id)
        .bind(refund.amount)
        .bind(&refund.target_order_id)
        .bind(refund.created_at);
        tx.execute(&insert).await?;
    }
    let receipt = enqueue_in(tx, notifications, now).await?;
    Ok((order, refund, receipt))
}
