//! How the admin API shows orders, their payments, refunds, guarantee holds and split
//! plans, and the answers to order changes.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::platform::payments::guarantee::hold_ends_at;
use crate::platform::payments::order::{Order, OrderState, Product, Refund};
use crate::platform::payments::split::{plan_of, Share, SplitPlan};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PaymentView {
    target_sys: String,
    target_order_id: String,
    buyer_id: String,
    seq_id: String,
    paid_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RefundView {
    refund_order_id: String,
    amount: i64,
    refund_target_order_id: String,
    created_at: DateTime<Utc>,
}

impl From<Refund> for RefundView {
    fn from(r: Refund) -> Self {
        Self {
            refund_order_id: r.refund_order_id,
            amount: r.amount,
            refund_target_order_id: r.target_order_id,
            created_at: r.created_at,
        }
    }
}

/// A guarantee bill's hold (担保交易, made with `secureTransaction=true`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GuaranteeView {
    /// `UNCOMPLETED`, `PARTLY_COMPLETED`, `ALL_COMPLETED` or `CANCELED`; `null` until the
    /// bill is paid, when nothing is held yet.
    secure_status: Option<&'static str>,
    /// In fen: what the merchant completed (`secureComplete`); what was not completed
    /// went back to the buyer as a refund.
    completed_amount: i64,
    /// While `UNCOMPLETED`: when the hold is cancelled by itself, 30 days after the
    /// payment.
    cancels_at: Option<DateTime<Utc>>,
}

/// One share of a split bill, in fen.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ShareView {
    /// The sub-merchant's `mid`; absent on the platform's share.
    #[serde(skip_serializing_if = "Option::is_none")]
    mid: Option<String>,
    amount: i64,
    refunded: i64,
    /// What is left of it to refund.
    left: i64,
}

impl ShareView {
    fn new(mid: Option<String>, share: Share) -> Self {
        Self {
            mid,
            amount: share.amount,
            refunded: share.refunded,
            left: share.left(),
        }
    }
}

/// A split bill's plan (分账, made with `divisionFlag=true`) and what is left of each share.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SplitView {
    /// `goods` (in proportion to the items' `subOrderAmount`) or `subOrders` (exactly).
    by: &'static str,
    /// The platform merchant's share (`platformAmount`).
    platform: ShareView,
    /// Each sub-merchant's share.
    sub_orders: Vec<ShareView>,
}

impl From<&SplitPlan> for SplitView {
    fn from(plan: &SplitPlan) -> Self {
        Self {
            by: plan.by.as_str(),
            platform: ShareView::new(None, plan.platform),
            sub_orders: plan
                .sub_orders
                .iter()
                .map(|sub| ShareView::new(Some(sub.mid.clone()), sub.share))
                .collect(),
        }
    }
}

/// An order as the admin API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderView {
    id: i64,
    mid: String,
    product: Product,
    /// The `billNo` or `merOrderId`.
    order_no: String,
    tid: String,
    inst_mid: String,
    /// A bill's `billDate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    bill_date: Option<String>,
    /// A bill's `qrCodeId` and QR code URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    qr_code_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bill_qr_code: Option<String>,
    /// As the product names it (`billStatus` or `status`).
    status: &'static str,
    /// The states the order may move to next through `transitions`.
    allowed_transitions: Vec<&'static str>,
    total_amount: i64,
    refunded_amount: i64,
    /// What a refund may take now: 0 while a guarantee bill's hold is `UNCOMPLETED`.
    refundable_amount: i64,
    description: String,
    /// Where the order's notices go: its own `notifyUrl`, or the merchant's when
    /// `own_notify` is false. The merchant's current notify URL is notified as well.
    notify_url: String,
    /// Whether `notify_url` is the order's own, not the merchant's.
    own_notify: bool,
    payment: Option<PaymentView>,
    /// A guarantee bill's hold; absent on other orders.
    #[serde(skip_serializing_if = "Option::is_none")]
    guarantee: Option<GuaranteeView>,
    /// A split bill's plan; absent on other orders.
    #[serde(skip_serializing_if = "Option::is_none")]
    split: Option<SplitView>,
    /// Oldest first; only in the answers about one order.
    #[serde(skip_serializing_if = "Option::is_none")]
    refunds: Option<Vec<RefundView>>,
    closed_at: Option<DateTime<Utc>>,
    expires_at: DateTime<Utc>,
    /// When the simulated buyer pays, while that is still to come.
    pay_due_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl OrderView {
    /// The view of `order`, with `refunds` when the answer is about this one order.
    pub fn new(order: Order, refunds: Option<Vec<Refund>>) -> Self {
        let allowed_transitions = order
            .state
            .allowed_targets()
            .iter()
            .filter(|to| order.check_move(**to).is_ok())
            .map(|to| to.wire(order.product))
            .collect();
        let bill = order.product == Product::Bill;
        let refundable = order.check_move(OrderState::Refunded).is_ok();
        let guarantee = order.guarantee.map(|g| GuaranteeView {
            secure_status: g.status.map(|s| s.as_str()),
            completed_amount: g.completed_amount,
            cancels_at: hold_ends_at(&order),
        });
        Self {
            id: order.id,
            qr_code_id: order.qr_code_id().map(str::to_owned),
            bill_qr_code: order.bill_qr_code().map(str::to_owned),
            bill_date: bill.then(|| order.bill_date.clone()),
            status: order.status(),
            allowed_transitions,
            refundable_amount: if refundable { order.refundable() } else { 0 },
            guarantee,
            split: plan_of(&order).map(SplitView::from),
            mid: order.mid,
            product: order.product,
            order_no: order.order_no,
            tid: order.tid,
            inst_mid: order.inst_mid,
            total_amount: order.total_amount,
            refunded_amount: order.refunded_amount,
            description: order.description,
            notify_url: order.notify.url,
            own_notify: order.own_notify,
            payment: order.payment.map(|p| PaymentView {
                target_sys: p.target_sys,
                target_order_id: p.target_order_id,
                buyer_id: p.buyer_id,
                seq_id: p.seq_id,
                paid_at: p.paid_at,
            }),
            refunds: refunds.map(|r| r.into_iter().map(Into::into).collect()),
            closed_at: order.closed_at,
            expires_at: order.expires_at,
            pay_due_at: order.pay_due_at,
            created_at: order.created_at,
            updated_at: order.updated_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderList {
    pub(super) orders: Vec<OrderView>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub(super) next_cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderChangeView {
    pub(super) order: OrderView,
    /// The refund the change made, if it was one.
    pub(super) refund: Option<RefundView>,
    /// The payment-result notices the change enqueued (one, plus the merchant's extra
    /// copies).
    pub(super) notification_ids: Vec<i64>,
}
