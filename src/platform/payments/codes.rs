//! The QR codes of bills (table `bill_codes`, migration 0014): each code once, with the
//! merchant, business type (`instMid`) and message source it was made for and the bill it
//! holds now; finding a code's bill; and rebinding a code to a new bill
//! (`bills.updateQRCode`, spec V3.5 §4).
//!
//! # Rebinding
//!
//! A code holds one bill at a time. Binding a new bill to it:
//!
//! - the new bill is created as `bills.getQRCode` creates one, from the update's data
//!   alone (nothing is inherited from the code's bill but the code itself: its id, its
//!   URL, its merchant, `instMid` and message source);
//! - the code's bill, if it is still unpaid, is closed: a code shows one bill, and a
//!   buyer who scanned it before the update cannot pay the bill it replaced; a bill that
//!   was paid, refunded or closed stays as it is (it can still be queried and refunded by
//!   its `billNo`);
//! - the code then holds the new bill: its page, `bills.closeQRCode` and
//!   `bills.queryQRCodeInfo` act on that one.
//!
//! All three happen in one transaction, with the close's notice if the merchant's notice
//! rule sends one: a refused update (a `billNo` taken, even by the code's own bill)
//! changes nothing.

use chrono::{DateTime, SubsecRound, Utc};

use crate::db::{Sql, Tx};
use crate::platform::merchants::merchant::Merchant;
use crate::platform::merchants::store::merchant_in;
use crate::platform::payments::events::{self, Cause, OrderChange, OrderEvent, Planned, Refused};
use crate::platform::payments::order::{NewOrder, Order, OrderState};
use crate::platform::payments::service::{OrderService, OrderTerms};
use crate::platform::payments::store::{fetch_order, order_where, OrderStore};
use crate::platform::payments::writes::{insert_order, write_planned};
use crate::policy::Destination;
use crate::producer::Receipt;

/// A bill's QR code: who it was made for, and the bill it holds now.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BillCode {
    pub qr_code_id: String,
    pub mid: String,
    pub inst_mid: String,
    pub msg_src: String,
    /// The bill the code holds now.
    pub order_id: i64,
}

const CODE_COLUMNS: &str = "qr_code_id, mid, inst_mid, msg_src, order_id";

/// What rebinding a code did.
#[derive(Debug)]
pub enum Rebound<N = Vec<i64>> {
    /// The code holds `order` now; `previous` is the bill it held before, as the
    /// rebinding left it: `closed` by it when it was unpaid (`notifications`: the close's
    /// notices, if any).
    Done {
        order: Box<Order>,
        previous: Box<Order>,
        closed: bool,
        notifications: N,
    },
    /// No such code.
    NoCode,
    /// The merchant already has a bill with the new bill's number: this one.
    DuplicateOrderNo(Box<Order>),
}

/// Records code `qr_code_id` as made with `order`, for the order's merchant and business
/// type and the merchant's message source; `false` if it is already a code (fixed codes
/// included).
pub(super) async fn insert_code(
    tx: &mut Tx,
    qr_code_id: &str,
    order: &Order,
) -> anyhow::Result<bool> {
    // The WHERE clause also keeps SQLite from reading ON CONFLICT as a join's.
    let sql = Sql::new(
        "INSERT INTO bill_codes (qr_code_id, mid, inst_mid, msg_src, order_id) \
         SELECT $1, mid, $2, COALESCE(msg_src, mid), $3 FROM merchants WHERE mid = $4 \
         AND NOT EXISTS (SELECT 1 FROM fixed_codes WHERE qr_code_id = $1) \
         ON CONFLICT (qr_code_id) DO NOTHING",
    )
    .bind(qr_code_id)
    .bind(&order.inst_mid)
    .bind(order.id)
    .bind(&order.mid);
    Ok(tx.execute(&sql).await? == 1)
}

impl OrderStore {
    /// Code `qr_code_id`, whoever it is of.
    pub async fn code(&self, qr_code_id: &str) -> anyhow::Result<Option<BillCode>> {
        let sql = Sql::new(format!(
            "SELECT {CODE_COLUMNS} FROM bill_codes WHERE qr_code_id = $1"
        ))
        .bind(qr_code_id);
        self.db.read_optional(&sql).await
    }

    /// Code `qr_code_id` and the bill it holds now.
    pub async fn bill_of_code(
        &self,
        qr_code_id: &str,
    ) -> anyhow::Result<Option<(BillCode, Order)>> {
        let Some(code) = self.code(qr_code_id).await? else {
            return Ok(None);
        };
        Ok(self.order(code.order_id).await?.map(|order| (code, order)))
    }

    /// The bill `bill_no` made on code `qr_code_id`, whether the code holds it now or held
    /// it before.
    pub async fn bill_on_code(
        &self,
        qr_code_id: &str,
        bill_no: &str,
    ) -> anyhow::Result<Option<Order>> {
        let sql = Sql::new(order_where(
            "qr_code_id = $1 AND order_no = $2 AND product = 'bill'",
        ))
        .bind(qr_code_id)
        .bind(bill_no);
        self.read_order(&sql).await
    }

    /// The newest bill of merchant `mid` made on terminal `tid`.
    pub async fn last_bill(&self, mid: &str, tid: &str) -> anyhow::Result<Option<Order>> {
        let sql = Sql::new(order_where(
            "mid = $1 AND tid = $2 AND product = 'bill' ORDER BY id DESC LIMIT 1",
        ))
        .bind(mid)
        .bind(tid);
        self.read_order(&sql).await
    }

    /// Binds the new bill `new` to code `qr_code_id` (see the module's rules): in one
    /// transaction, the new bill is created with the code's id and URL, the code's bill is
    /// closed if it is unpaid (as `close` plans it, with its notices), and the code holds
    /// the new bill.
    pub async fn rebind_code(
        &self,
        qr_code_id: &str,
        mut new: NewOrder,
        now: DateTime<Utc>,
        close: impl FnOnce(&Order, &Merchant) -> Result<Planned, Refused> + Send,
    ) -> anyhow::Result<Rebound<Option<Receipt>>> {
        let mut tx = self.db.begin().await?;
        let lock = tx.row_lock();
        let locked = Sql::new(format!(
            "SELECT {CODE_COLUMNS} FROM bill_codes WHERE qr_code_id = $1{lock}"
        ))
        .bind(qr_code_id);
        let Some(code) = tx.fetch_optional::<BillCode>(&locked).await? else {
            return Ok(Rebound::NoCode);
        };
        let current = Sql::new(order_where("id = $1") + lock).bind(code.order_id);
        let previous = fetch_order(&mut tx, &current)
            .await?
            .ok_or_else(|| anyhow::anyhow!("code {qr_code_id} holds no bill"))?;
        if let Some(bill) = new.bill.as_mut() {
            let url = previous.bill_qr_code().ok_or_else(|| {
                anyhow::anyhow!("bill {} of code {qr_code_id} has no URL", previous.id)
            })?;
            bill.qr_code_id = code.qr_code_id.clone();
            bill.qr_code_url = url.to_owned();
        }
        let Some(order) = insert_order(&mut tx, &new, now).await? else {
            // Read in the same transaction, which the drop rolls back.
            let existing = Sql::new(order_where("mid = $1 AND order_no = $2"))
                .bind(&new.mid)
                .bind(&new.order_no);
            let existing = fetch_order(&mut tx, &existing)
                .await?
                .ok_or_else(|| anyhow::anyhow!("an order number conflict without an order"))?;
            return Ok(Rebound::DuplicateOrderNo(Box::new(existing)));
        };
        let closed = previous.state == OrderState::Unpaid;
        let (previous, receipt) = if closed {
            let merchant = merchant_in(&mut tx, &previous.mid)
                .await?
                .ok_or_else(|| anyhow::anyhow!("bill {} without its merchant", previous.id))?;
            let planned = close(&previous, &merchant).map_err(|refused| {
                anyhow::anyhow!("closing the code's unpaid bill was refused: {refused:?}")
            })?;
            let (after, _, receipt) = write_planned(&mut tx, planned, now).await?;
            (after, Some(receipt))
        } else {
            (previous, None)
        };
        let rebind = Sql::new("UPDATE bill_codes SET order_id = $1 WHERE qr_code_id = $2")
            .bind(order.id)
            .bind(&code.qr_code_id);
        tx.execute(&rebind).await?;
        tx.commit().await?;
        Ok(Rebound::Done {
            order: Box::new(order),
            previous: Box::new(previous),
            closed,
            notifications: receipt,
        })
    }
}

impl OrderService {
    /// Binds a new bill of `merchant` on `terms` to code `qr_code_id` (see the module's
    /// rules), notified at `notify` (its own `notifyUrl` when `own_notify`), then wakes
    /// the dispatcher for the notices of the bill it closed, if any.
    pub async fn rebind_code(
        &self,
        qr_code_id: &str,
        merchant: &Merchant,
        terms: OrderTerms,
        notify: Destination,
        own_notify: bool,
    ) -> anyhow::Result<Rebound> {
        // Whole milliseconds, as both backends keep them (see `apply`).
        let now = self.now().trunc_subsecs(3);
        let new = self.draft(merchant, terms, notify, own_notify, now);
        let change = OrderChange {
            event: OrderEvent::Close,
            cause: Cause::Merchant,
            now,
        };
        let delivery = &self.delivery;
        let outcome = self
            .store
            .rebind_code(qr_code_id, new, now, |current, merchant| {
                events::plan(current, merchant, None, &change, delivery)
            })
            .await?;
        Ok(match outcome {
            Rebound::Done {
                order,
                previous,
                closed,
                notifications,
            } => Rebound::Done {
                order,
                previous,
                closed,
                notifications: notifications
                    .map(|receipt| self.producer.accepted(receipt))
                    .unwrap_or_default(),
            },
            Rebound::NoCode => Rebound::NoCode,
            Rebound::DuplicateOrderNo(existing) => Rebound::DuplicateOrderNo(existing),
        })
    }
}
