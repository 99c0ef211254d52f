//! Orders in storage: their rows and refunds, creation, listing, and the order event
//! that writes its refund and enqueues its notices in the same transaction; a guarantee
//! bill's columns in [`guarantee`], a split bill's in [`split`].

pub(super) mod guarantee;
pub(super) mod split;

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use crate::db::{Db, Sql, Ts, Tx};
use crate::platform::auth::store::{spend, NonceUse};
use crate::platform::merchants::merchant::Merchant;
use crate::platform::merchants::store::merchant_in;
use crate::platform::payments::events::{Planned, Refused};
use crate::platform::payments::order::{
    H5Cashier, NewOrder, Order, OrderState, Payment, Product, Refund,
};
use crate::platform::payments::writes::{insert_order, write_planned};
use crate::platform::payments::{bill, codes};
use crate::policy::Destination;
use crate::producer::{Producer, Receipt};

pub(super) const ORDER_COLUMNS: &str =
    "id, mid, tid, inst_mid, product, order_no, bill_date, state, \
     total_amount, refunded_amount, description, notify_url, notify_host, target_sys, \
     target_order_id, buyer_id, seq_id, paid_at, closed_at, expires_at, pay_due_at, \
     created_at, updated_at, return_url, cashier_token, own_notify, qr_code_id, qr_code_url, \
     member_id, counter_no, goods, secure_transaction, secure_status, completed_amount, \
     split_plan";

const REFUND_COLUMNS: &str = "refund_order_id, amount, target_order_id, created_at";

#[derive(Debug)]
pub enum OrderCreateOutcome {
    Created(Order),
    /// The merchant already has an order with this number: this one.
    DuplicateOrderNo(Order),
    /// The bill's QR code id is already a code's (of any merchant): this one.
    DuplicateQrCode(String),
    NonceReplayed,
}

#[derive(Debug)]
pub enum OrderChangeOutcome<N = Vec<i64>> {
    /// Changed, with the notifications enqueued with the change: the store's [`Receipt`],
    /// which the service hands to the producer, and their ids from then on.
    Done {
        order: Box<Order>,
        refund: Option<Refund>,
        notifications: N,
    },
    NotFound,
    Refused(Refused),
    NonceReplayed,
}

impl OrderChangeOutcome<Receipt> {
    /// The outcome once the producer has taken the receipt of its notifications.
    pub fn accepted(self, producer: &Producer) -> OrderChangeOutcome {
        match self {
            Self::Done {
                order,
                refund,
                notifications,
            } => OrderChangeOutcome::Done {
                order,
                refund,
                notifications: producer.accepted(notifications),
            },
            Self::NotFound => OrderChangeOutcome::NotFound,
            Self::Refused(refused) => OrderChangeOutcome::Refused(refused),
            Self::NonceReplayed => OrderChangeOutcome::NonceReplayed,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub mid: Option<String>,
    pub product: Option<Product>,
    pub state: Option<OrderState>,
    /// Only orders before this id (the cursor of the previous page).
    pub before_id: Option<i64>,
    pub limit: u32,
}

#[derive(sqlx::FromRow)]
struct OrderRow {
    id: i64,
    mid: String,
    tid: String,
    inst_mid: String,
    product: String,
    order_no: String,
    bill_date: String,
    state: String,
    total_amount: i64,
    refunded_amount: i64,
    description: String,
    notify_url: String,
    notify_host: String,
    own_notify: i32,
    target_sys: Option<String>,
    target_order_id: Option<String>,
    buyer_id: Option<String>,
    seq_id: Option<String>,
    paid_at: Option<Ts>,
    closed_at: Option<Ts>,
    expires_at: Ts,
    pay_due_at: Option<Ts>,
    created_at: Ts,
    updated_at: Ts,
    return_url: Option<String>,
    cashier_token: Option<String>,
    qr_code_id: Option<String>,
    qr_code_url: Option<String>,
    member_id: Option<String>,
    counter_no: Option<String>,
    goods: Option<String>,
    #[sqlx(flatten)]
    guarantee: guarantee::GuaranteeRow,
    split_plan: Option<String>,
}

impl TryFrom<OrderRow> for Order {
    type Error = anyhow::Error;

    fn try_from(row: OrderRow) -> anyhow::Result<Self> {
        let what = || format!("order {}", row.id);
        let payment = match (row.target_sys, row.target_order_id, row.paid_at) {
            (Some(target_sys), Some(target_order_id), Some(paid_at)) => Some(Payment {
                target_sys,
                target_order_id,
                buyer_id: row.buyer_id.unwrap_or_default(),
                seq_id: row.seq_id.unwrap_or_default(),
                paid_at: paid_at.into(),
            }),
            _ => None,
        };
        let product: Product = row
            .product
            .parse()
            .map_err(anyhow::Error::msg)
            .with_context(what)?;
        let bill = bill::of_row(
            row.id,
            product,
            (row.qr_code_id, row.qr_code_url),
            (row.member_id, row.counter_no, row.goods),
            row.return_url.clone().filter(|_| product == Product::Bill),
            split::plan(row.split_plan).with_context(what)?,
        )?;
        Ok(Order {
            id: row.id,
            product,
            state: OrderState::from_stored(&row.state)
                .with_context(|| format!("unknown state {:?}", row.state))
                .with_context(what)?,
            mid: row.mid,
            tid: row.tid,
            inst_mid: row.inst_mid,
            order_no: row.order_no,
            bill_date: row.bill_date,
            total_amount: row.total_amount,
            refunded_amount: row.refunded_amount,
            description: row.description,
            notify: Destination::stored(row.notify_url, row.notify_host),
            own_notify: row.own_notify != 0,
            payment,
            closed_at: row.closed_at.map(Into::into),
            expires_at: row.expires_at.into(),
            pay_due_at: row.pay_due_at.map(Into::into),
            h5: row.cashier_token.map(|token| H5Cashier {
                token,
                return_url: row.return_url,
            }),
            guarantee: row.guarantee.guarantee().with_context(what)?,
            bill,
            created_at: row.created_at.into(),
            updated_at: row.updated_at.into(),
        })
    }
}

#[derive(sqlx::FromRow)]
struct RefundRow {
    refund_order_id: String,
    amount: i64,
    target_order_id: String,
    created_at: Ts,
}

impl From<RefundRow> for Refund {
    fn from(row: RefundRow) -> Self {
        Refund {
            refund_order_id: row.refund_order_id,
            amount: row.amount,
            target_order_id: row.target_order_id,
            created_at: row.created_at.into(),
        }
    }
}

pub(super) fn order_where(condition: &str) -> String {
    format!("SELECT {ORDER_COLUMNS} FROM orders WHERE {condition}")
}

pub(super) async fn fetch_order(tx: &mut Tx, sql: &Sql<'_>) -> anyhow::Result<Option<Order>> {
    let row: Option<OrderRow> = tx.fetch_optional(sql).await?;
    row.map(TryInto::try_into).transpose()
}

/// Orders and their refunds. Cheap to clone.
#[derive(Clone)]
pub struct OrderStore {
    pub(super) db: Db,
}

impl OrderStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Creates an unpaid order, spending the request's nonce if it has one.
    pub async fn create_order(
        &self,
        new: NewOrder,
        nonce: Option<NonceUse>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<OrderCreateOutcome> {
        let mut tx = self.db.begin().await?;
        if let Some(nonce) = &nonce {
            if !spend(&mut tx, nonce, now).await? {
                return Ok(OrderCreateOutcome::NonceReplayed);
            }
        }
        let Some(order) = insert_order(&mut tx, &new, now).await? else {
            // Read in the same transaction, which the drop rolls back: the refused request
            // spends no nonce.
            let existing = Sql::new(order_where("mid = $1 AND order_no = $2"))
                .bind(&new.mid)
                .bind(&new.order_no);
            let existing = fetch_order(&mut tx, &existing)
                .await?
                .context("an order number conflict without an order")?;
            return Ok(OrderCreateOutcome::DuplicateOrderNo(existing));
        };
        if let Some(code) = order.qr_code_id() {
            if !codes::insert_code(&mut tx, code, &order).await? {
                return Ok(OrderCreateOutcome::DuplicateQrCode(code.to_owned()));
            }
        }
        tx.commit().await?;
        Ok(OrderCreateOutcome::Created(order))
    }

    /// The order `sql` reads (a `SELECT` of [`ORDER_COLUMNS`]), if any.
    pub(super) async fn read_order(&self, sql: &Sql<'_>) -> anyhow::Result<Option<Order>> {
        let row: Option<OrderRow> = self.db.read_optional(sql).await?;
        row.map(TryInto::try_into).transpose()
    }

    pub async fn order(&self, id: i64) -> anyhow::Result<Option<Order>> {
        let sql = Sql::new(order_where("id = $1")).bind(id);
        let row: Option<OrderRow> = self.db.read_optional(&sql).await?;
        row.map(TryInto::try_into).transpose()
    }

    /// The H5 order whose cashier page has `token`.
    pub async fn order_by_cashier(&self, token: &str) -> anyhow::Result<Option<Order>> {
        let sql = Sql::new(order_where("cashier_token = $1")).bind(token);
        let row: Option<OrderRow> = self.db.read_optional(&sql).await?;
        row.map(TryInto::try_into).transpose()
    }

    pub async fn order_by_no(&self, mid: &str, order_no: &str) -> anyhow::Result<Option<Order>> {
        let sql = Sql::new(order_where("mid = $1 AND order_no = $2"))
            .bind(mid)
            .bind(order_no);
        let row: Option<OrderRow> = self.db.read_optional(&sql).await?;
        row.map(TryInto::try_into).transpose()
    }

    /// Newest first.
    pub async fn orders(&self, filter: &OrderFilter) -> anyhow::Result<Vec<Order>> {
        let mut sql = Sql::new(order_where("1 = 1"));
        if let Some(mid) = &filter.mid {
            sql.push(" AND mid = ").push_bind(mid);
        }
        if let Some(product) = filter.product {
            sql.push(" AND product = ").push_bind(product.as_str());
        }
        if let Some(state) = filter.state {
            sql.push(" AND state = ").push_bind(state.as_str());
        }
        if let Some(before) = filter.before_id {
            sql.push(" AND id < ").push_bind(before);
        }
        sql.push(" ORDER BY id DESC LIMIT ").push_bind(filter.limit);
        let rows: Vec<OrderRow> = self.db.read_all(&sql).await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// An order's refunds, oldest first.
    pub async fn refunds(&self, order_id: i64) -> anyhow::Result<Vec<Refund>> {
        let sql = Sql::new(format!(
            "SELECT {REFUND_COLUMNS} FROM order_refunds WHERE order_id = $1 ORDER BY id"
        ))
        .bind(order_id);
        let rows: Vec<RefundRow> = self.db.read_all(&sql).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Applies an event to an order: writes the order, its refund and its notices in one
    /// transaction, spending the request's nonce if it has one. `plan` sees the order as
    /// locked, its merchant, and the refund already made under `refund_order_id`.
    pub async fn change_order(
        &self,
        order_id: i64,
        refund_order_id: Option<&str>,
        nonce: Option<NonceUse>,
        now: DateTime<Utc>,
        plan: impl FnOnce(&Order, &Merchant, Option<&Refund>) -> Result<Planned, Refused> + Send,
    ) -> anyhow::Result<OrderChangeOutcome<Receipt>> {
        let mut tx = self.db.begin().await?;
        let lock = tx.row_lock();
        let locked = Sql::new(order_where("id = $1") + lock).bind(order_id);
        let Some(current) = fetch_order(&mut tx, &locked).await? else {
            return Ok(OrderChangeOutcome::NotFound);
        };
        let merchant = merchant_in(&mut tx, &current.mid)
            .await?
            .with_context(|| format!("order {order_id} without its merchant"))?;
        let existing = match refund_order_id {
            Some(refund_order_id) => {
                let sql = Sql::new(format!(
                    "SELECT {REFUND_COLUMNS} FROM order_refunds \
                     WHERE order_id = $1 AND refund_order_id = $2"
                ))
                .bind(order_id)
                .bind(refund_order_id);
                let row: Option<RefundRow> = tx.fetch_optional(&sql).await?;
                row.map(Refund::from)
            }
            None => None,
        };
        let planned = match plan(&current, &merchant, existing.as_ref()) {
            Ok(planned) => planned,
            Err(Refused::Repeated(refund)) => {
                // A repeated refund is answered as done: its request spends its nonce like
                // any successful one, so it cannot be replayed either.
                if let Some(nonce) = &nonce {
                    if !spend(&mut tx, nonce, now).await? {
                        return Ok(OrderChangeOutcome::NonceReplayed);
                    }
                    tx.commit().await?;
                }
                return Ok(OrderChangeOutcome::Refused(Refused::Repeated(refund)));
            }
            Err(refused) => return Ok(OrderChangeOutcome::Refused(refused)),
        };
        if let Some(nonce) = &nonce {
            if !spend(&mut tx, nonce, now).await? {
                return Ok(OrderChangeOutcome::NonceReplayed);
            }
        }
        let (order, refund, receipt) = write_planned(&mut tx, planned, now).await?;
        tx.commit().await?;
        Ok(OrderChangeOutcome::Done {
            order: Box::new(order),
            refund,
            notifications: receipt,
        })
    }

    /// Unpaid orders whose simulated payment is due, oldest due first.
    pub async fn due_payments(&self, now: DateTime<Utc>, limit: u32) -> anyhow::Result<Vec<i64>> {
        let sql = Sql::new(
            "SELECT id FROM orders WHERE pay_due_at <= $1 AND state = 'UNPAID' \
             ORDER BY pay_due_at LIMIT $2",
        )
        .bind(now)
        .bind(limit);
        let rows: Vec<(i64,)> = self.db.read_all(&sql).await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Unpaid orders past their expiry, oldest first.
    pub async fn due_expiries(&self, now: DateTime<Utc>, limit: u32) -> anyhow::Result<Vec<i64>> {
        let sql = Sql::new(
            "SELECT id FROM orders WHERE state = 'UNPAID' AND expires_at <= $1 \
             ORDER BY expires_at LIMIT $2",
        )
        .bind(now)
        .bind(limit);
        let rows: Vec<(i64,)> = self.db.read_all(&sql).await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }
}
