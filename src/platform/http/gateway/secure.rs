//! The gateway's guarantee operations (spec §10, §11): `secureComplete` settles part or
//! all of a paid guarantee bill's hold and gives the rest back to the buyer,
//! `secureCancel` gives all of it back. Both name the bill by its payment's `merOrderId`
//! (`billPayment.merOrderId`: the bill number and `0`), not by its `billNo`. The rules
//! are the order service's ([`crate::platform::payments::guarantee`]); this reads the
//! call and shapes the answer.

use serde_json::Map;

use super::operations::{request, Answered};
use super::Call;
use crate::platform::http::open::netpay::{put, refused, NetpayCode, NetpayError, Request};
use crate::platform::payments::events::{Cause, OrderEvent};
use crate::platform::payments::guarantee::Settlement;
use crate::platform::payments::notice::payment_order_id;
use crate::platform::payments::order::{Order, Product};
use crate::platform::payments::store::OrderChangeOutcome;

/// `secureComplete` (spec §11): `completedAmount` fen of the hold are settled to the
/// merchant, the rest goes back to the buyer.
pub(super) async fn secure_complete(call: &Call<'_>) -> Result<Answered, NetpayError> {
    let request = request(call)?;
    let mer_order_id = request.order_no("merOrderId", 32)?.to_owned();
    let completed_amount = request.amount("completedAmount")?;
    let settlement = Settlement::Complete { completed_amount };
    let fields = settle(call, request, &mer_order_id, settlement).await?;
    Ok(("担保完成成功 (guarantee completed)", fields))
}

/// `secureCancel` (spec §10): all of the hold goes back to the buyer.
pub(super) async fn secure_cancel(call: &Call<'_>) -> Result<Answered, NetpayError> {
    let request = request(call)?;
    let mer_order_id = request.order_no("merOrderId", 32)?.to_owned();
    let fields = settle(call, request, &mer_order_id, Settlement::Cancel).await?;
    Ok(("担保撤销成功 (guarantee cancelled)", fields))
}

/// Applies `settlement` to the bill paid under `mer_order_id`; the answer's fields:
/// `merOrderId`, `secureStatus`, `completedAmount` and `totalAmount`.
async fn settle(
    call: &Call<'_>,
    mut request: Request,
    mer_order_id: &str,
    settlement: Settlement,
) -> Result<Map<String, serde_json::Value>, NetpayError> {
    let order = bill_of_payment(call, &request, mer_order_id).await?;
    let (nonce, nonce_text) = request.take_nonce();
    let event = OrderEvent::Guarantee(settlement);
    let order = match call
        .sandbox
        .orders
        .apply(order.id, event, Cause::Merchant, nonce)
        .await?
    {
        OrderChangeOutcome::Done { order, .. } => *order,
        other => return Err(refused(other, &nonce_text)),
    };
    tracing::info!(mid = %order.mid, order_no = %order.order_no, operation = settlement.name(), "guarantee settled by the merchant");
    let guarantee = order.guarantee.unwrap_or_default();
    let mut fields = Map::new();
    put(&mut fields, "merOrderId", mer_order_id);
    if let Some(status) = guarantee.status {
        put(&mut fields, "secureStatus", status.as_str());
    }
    put(&mut fields, "completedAmount", guarantee.completed_amount);
    put(&mut fields, "totalAmount", order.total_amount);
    Ok(fields)
}

/// The caller's bill whose payment's `merOrderId` is `mer_order_id` (its bill number and
/// `0`), or `NO_ORDER`; a bill number given in its place is named as such.
async fn bill_of_payment(
    call: &Call<'_>,
    request: &Request,
    mer_order_id: &str,
) -> Result<Order, NetpayError> {
    let mid = &request.caller.merchant.mid;
    let store = &call.sandbox.orders.store;
    let bill = |order: &Order| order.product == Product::Bill;
    if let Some(bill_no) = mer_order_id.strip_suffix('0').filter(|n| !n.is_empty()) {
        let paid_under = store
            .order_by_no(mid, bill_no)
            .await?
            .filter(|o| bill(o) && payment_order_id(o) == mer_order_id);
        if let Some(order) = paid_under {
            return Ok(order);
        }
    }
    let message = if store
        .order_by_no(mid, mer_order_id)
        .await?
        .is_some_and(|o| bill(&o))
    {
        format!(
            "merOrderId {mer_order_id} is a billNo; secureComplete and secureCancel take the \
             payment's merOrderId (billPayment.merOrderId), {mer_order_id}0"
        )
    } else {
        format!(
            "no bill of merchant {mid} has the payment merOrderId {mer_order_id}; expected a \
             billPayment.merOrderId (the billNo and 0)"
        )
    };
    Err(NetpayError::new(NetpayCode::NoOrder, message))
}
