//! The order service: drafting new orders and applying order events (payment, close,
//! refund), with each event and its payment-result notices committed together; the
//! admin's requests of it are in [`admin`].

mod admin;

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};

use crate::platform::auth::store::NonceUse;
use crate::platform::merchants::merchant::Merchant;
use crate::platform::merchants::MerchantStore;
use crate::platform::payments::bill::BillTerms;
use crate::platform::payments::events::{self, Cause, OrderChange, OrderEvent};
use crate::platform::payments::order::{H5Cashier, NewOrder, Product};
use crate::platform::payments::store::{OrderChangeOutcome, OrderStore};
use crate::policy::{Destination, RetryPolicy};
use crate::producer::Producer;

/// How long an order stays payable when its request names no expiry.
pub const DEFAULT_EXPIRY: Duration = Duration::from_secs(30 * 60);

/// Cheap to clone.
#[derive(Clone)]
pub struct OrderService {
    pub store: OrderStore,
    merchants: MerchantStore,
    pub(super) delivery: RetryPolicy,
    pub(super) producer: Producer,
    /// The sandbox's public address, the base of the QR code URLs it hands out.
    code_base: String,
}

/// The fields of an order a merchant asks for.
#[derive(Debug, Clone)]
pub struct OrderTerms {
    pub product: Product,
    pub order_no: String,
    pub tid: String,
    pub inst_mid: String,
    /// A bill's `billDate`; empty for trade orders.
    pub bill_date: String,
    pub total_amount: i64,
    pub description: String,
    /// When an unpaid order closes itself; [`DEFAULT_EXPIRY`] from now when `None`.
    pub expires_at: Option<DateTime<Utc>>,
    /// An H5 order's cashier page.
    pub h5: Option<H5Cashier>,
    /// A guarantee bill (`secureTransaction=true`).
    pub guarantee: bool,
    /// A bill's own code and echoed data; the default when `None`.
    pub bill: Option<BillTerms>,
}

impl OrderService {
    pub fn new(
        store: OrderStore,
        merchants: MerchantStore,
        delivery: RetryPolicy,
        producer: Producer,
        code_base: String,
    ) -> Self {
        Self {
            store,
            merchants,
            delivery,
            producer,
            code_base,
        }
    }

    /// The address a code's URL starts with (the sandbox's public one).
    pub fn code_base(&self) -> &str {
        &self.code_base
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.producer.clock.now()
    }

    /// A new unpaid order of `merchant` notified at `notify` (the order's own `notifyUrl`
    /// when `own_notify`, the merchant's otherwise), created at `now` (the time its row is
    /// written with), paid by the simulated buyer after the merchant's delay if it has
    /// one.
    pub fn draft(
        &self,
        merchant: &Merchant,
        terms: OrderTerms,
        notify: Destination,
        own_notify: bool,
        now: DateTime<Utc>,
    ) -> NewOrder {
        let after = |delay: Duration| chrono::Duration::from_std(delay).ok().map(|d| now + d);
        let bill = (terms.product == Product::Bill).then(|| {
            let bill = terms.bill.unwrap_or_default();
            bill.data(&terms.order_no, &self.code_base, now)
        });
        NewOrder {
            mid: merchant.mid.clone(),
            tid: terms.tid,
            inst_mid: terms.inst_mid,
            product: terms.product,
            order_no: terms.order_no,
            bill_date: terms.bill_date,
            total_amount: terms.total_amount,
            description: terms.description,
            notify,
            own_notify,
            expires_at: terms
                .expires_at
                .or_else(|| after(DEFAULT_EXPIRY))
                .unwrap_or(now),
            pay_due_at: merchant.auto_pay_after.and_then(after),
            h5: terms.h5,
            guarantee: terms.guarantee,
            bill,
        }
    }

    /// Applies `event` to order `order_id` and enqueues its notices in one transaction
    /// (spending `nonce` with it), then wakes the dispatcher.
    pub async fn apply(
        &self,
        order_id: i64,
        event: OrderEvent,
        cause: Cause,
        nonce: Option<NonceUse>,
    ) -> anyhow::Result<OrderChangeOutcome> {
        // Whole milliseconds, as both backends keep them: the answer built from the
        // planned order then reads back the same.
        let change = OrderChange {
            event,
            cause,
            now: self.now().trunc_subsecs(3),
        };
        let delivery = &self.delivery;
        let outcome = self
            .store
            .change_order(
                order_id,
                change.refund_order_id(),
                nonce,
                change.now,
                |current, merchant, existing| {
                    events::plan(current, merchant, existing, &change, delivery)
                },
            )
            .await?;
        Ok(outcome.accepted(&self.producer))
    }
}
