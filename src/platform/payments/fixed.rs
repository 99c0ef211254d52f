//! Fixed QR codes (固定二维码, spec V3.5 §3.4): codes made without a bill, which buyers
//! scan again and again (table `fixed_codes`, migration 0016), and what a scan does.
//!
//! A fixed code with an amount (带金额) takes that amount on every scan. One without (不带
//! 金额) asks the merchant's `payInfoQueryAddr` for it (the payment-element query, spec
//! §9, which the gateway's `pay_info` makes and judges), or the buyer types it when the
//! code has no query address. Each scan that pays makes a bill of its own on the code: a
//! bill number the platform makes up (the merchant's source number, the China Standard
//! Time to the millisecond and 7 random digits), today's bill date, the code's id and URL
//! (`billQRCode`), description, notify address and echoed fields (the query's answer can
//! set `billDesc`, `memberId` and `counterNo`); the buyer then pays it at once, and the
//! payment-result notice goes out like any bill's. A closed code takes no more scans.

use chrono::{DateTime, Utc};

use crate::db::{Sql, Ts};
use crate::platform::merchants::merchant::Merchant;
use crate::platform::payments::bill::BillTerms;
use crate::platform::payments::events::{Cause, OrderEvent};
use crate::platform::payments::fields::{generate_order_no, source_number};
use crate::platform::payments::order::{Order, Product};
use crate::platform::payments::service::{OrderService, OrderTerms};
use crate::platform::payments::store::{OrderChangeOutcome, OrderStore};
use crate::platform::payments::writes::insert_order;
use crate::platform::wire::time::format_wall_clock;
use crate::policy::Destination;

/// A fixed code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedCode {
    pub qr_code_id: String,
    pub qr_code_url: String,
    pub mid: String,
    pub tid: String,
    pub inst_mid: String,
    pub msg_src: String,
    /// The amount of every scan, in fen; `None`: asked for, or typed by the buyer.
    pub total_amount: Option<i64>,
    pub description: String,
    pub notify: Destination,
    pub own_notify: bool,
    pub pay_info_query_addr: Option<String>,
    pub member_id: Option<String>,
    pub counter_no: Option<String>,
    pub return_url: Option<String>,
    pub system_id: Option<String>,
    pub src_reserve: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl FixedCode {
    /// Whether a buyer can scan it at `now`.
    pub fn open_at(&self, now: DateTime<Utc>) -> bool {
        self.closed_at.is_none() && self.expires_at.is_none_or(|at| now < at)
    }
}

const FIXED_COLUMNS: &str = "qr_code_id, qr_code_url, mid, tid, inst_mid, msg_src, \
     total_amount, description, notify_url, notify_host, own_notify, pay_info_query_addr, \
     member_id, counter_no, return_url, system_id, src_reserve, expires_at, closed_at, \
     created_at";

#[derive(sqlx::FromRow)]
struct FixedRow {
    qr_code_id: String,
    qr_code_url: String,
    mid: String,
    tid: String,
    inst_mid: String,
    msg_src: String,
    total_amount: Option<i64>,
    description: String,
    notify_url: String,
    notify_host: String,
    own_notify: i32,
    pay_info_query_addr: Option<String>,
    member_id: Option<String>,
    counter_no: Option<String>,
    return_url: Option<String>,
    system_id: Option<String>,
    src_reserve: Option<String>,
    expires_at: Option<Ts>,
    closed_at: Option<Ts>,
    created_at: Ts,
}

impl From<FixedRow> for FixedCode {
    fn from(row: FixedRow) -> Self {
        Self {
            qr_code_id: row.qr_code_id,
            qr_code_url: row.qr_code_url,
            mid: row.mid,
            tid: row.tid,
            inst_mid: row.inst_mid,
            msg_src: row.msg_src,
            total_amount: row.total_amount,
            description: row.description,
            notify: Destination::stored(row.notify_url, row.notify_host),
            own_notify: row.own_notify != 0,
            pay_info_query_addr: row.pay_info_query_addr,
            member_id: row.member_id,
            counter_no: row.counter_no,
            return_url: row.return_url,
            system_id: row.system_id,
            src_reserve: row.src_reserve,
            expires_at: row.expires_at.map(Into::into),
            closed_at: row.closed_at.map(Into::into),
            created_at: row.created_at.into(),
        }
    }
}

/// One payment-element query made for a scan, as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayInfoQuery {
    pub id: i64,
    pub qr_code_id: String,
    pub url: String,
    pub request: String,
    pub status: Option<u16>,
    pub answer: String,
    pub error: Option<String>,
    /// What was wrong with the answer; empty when it was right.
    pub problems: Vec<String>,
    pub amount: Option<i64>,
    pub duration_ms: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct QueryRow {
    id: i64,
    qr_code_id: String,
    url: String,
    request: String,
    status: Option<i32>,
    answer: String,
    error: Option<String>,
    problems: String,
    amount: Option<i64>,
    duration_ms: i64,
    created_at: Ts,
}

impl From<QueryRow> for PayInfoQuery {
    fn from(row: QueryRow) -> Self {
        Self {
            id: row.id,
            qr_code_id: row.qr_code_id,
            url: row.url,
            request: row.request,
            status: row.status.and_then(|s| u16::try_from(s).ok()),
            answer: row.answer,
            error: row.error,
            problems: serde_json::from_str(&row.problems).unwrap_or_default(),
            amount: row.amount,
            duration_ms: row.duration_ms,
            created_at: row.created_at.into(),
        }
    }
}

impl OrderStore {
    /// Records fixed code `code`; `false` if its id is taken by any code, fixed or not.
    pub async fn create_fixed_code(&self, code: &FixedCode) -> anyhow::Result<bool> {
        let sql = Sql::new(format!(
            "INSERT INTO fixed_codes ({FIXED_COLUMNS}) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17, $18, NULL, $19 \
             WHERE NOT EXISTS (SELECT 1 FROM bill_codes WHERE qr_code_id = $1) \
             ON CONFLICT (qr_code_id) DO NOTHING"
        ))
        .bind(code.qr_code_id.as_str())
        .bind(code.qr_code_url.as_str())
        .bind(code.mid.as_str())
        .bind(code.tid.as_str())
        .bind(code.inst_mid.as_str())
        .bind(code.msg_src.as_str())
        .bind(code.total_amount)
        .bind(code.description.as_str())
        .bind(code.notify.url.as_str())
        .bind(code.notify.host.as_str())
        .bind(i32::from(code.own_notify))
        .bind(code.pay_info_query_addr.as_deref())
        .bind(code.member_id.as_deref())
        .bind(code.counter_no.as_deref())
        .bind(code.return_url.as_deref())
        .bind(code.system_id.as_deref())
        .bind(code.src_reserve.as_deref())
        .bind(code.expires_at)
        .bind(code.created_at);
        Ok(self.db.write(&sql).await? == 1)
    }

    /// Fixed code `qr_code_id`, whoever it is of.
    pub async fn fixed_code(&self, qr_code_id: &str) -> anyhow::Result<Option<FixedCode>> {
        let sql = Sql::new(format!(
            "SELECT {FIXED_COLUMNS} FROM fixed_codes WHERE qr_code_id = $1"
        ))
        .bind(qr_code_id);
        let row: Option<FixedRow> = self.db.read_optional(&sql).await?;
        Ok(row.map(Into::into))
    }

    /// Closes fixed code `qr_code_id` at `now`; the code as closed, or `None` if it was
    /// closed already (or is no fixed code).
    pub async fn close_fixed_code(
        &self,
        qr_code_id: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<FixedCode>> {
        let sql = Sql::new(format!(
            "UPDATE fixed_codes SET closed_at = $1 WHERE qr_code_id = $2 AND closed_at IS NULL \
             RETURNING {FIXED_COLUMNS}"
        ))
        .bind(now)
        .bind(qr_code_id);
        let row: Option<FixedRow> = self.db.write_optional(&sql).await?;
        Ok(row.map(Into::into))
    }

    /// Keeps a payment-element query made for a scan of `qr_code_id`.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_pay_info_query(
        &self,
        qr_code_id: &str,
        url: &str,
        request: &str,
        status: Option<u16>,
        answer: &str,
        error: Option<&str>,
        problems: &[String],
        amount: Option<i64>,
        duration_ms: i64,
        now: DateTime<Utc>,
    ) -> anyhow::Result<PayInfoQuery> {
        let problems = serde_json::to_string(problems)?;
        let sql = Sql::new(
            "INSERT INTO pay_info_queries (qr_code_id, url, request, status, answer, error, \
             problems, amount, duration_ms, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             RETURNING id, qr_code_id, url, request, status, answer, error, problems, amount, \
             duration_ms, created_at",
        )
        .bind(qr_code_id)
        .bind(url)
        .bind(request)
        .bind(status.map(i64::from))
        .bind(answer)
        .bind(error)
        .bind(problems)
        .bind(amount)
        .bind(duration_ms)
        .bind(now);
        let row: Option<QueryRow> = self.db.write_optional(&sql).await?;
        row.map(Into::into)
            .ok_or_else(|| anyhow::anyhow!("the query was not kept"))
    }

    /// The payment-element queries made for `qr_code_id`, newest first, at most `limit`.
    pub async fn pay_info_queries(
        &self,
        qr_code_id: &str,
        limit: u32,
    ) -> anyhow::Result<Vec<PayInfoQuery>> {
        let sql = Sql::new(
            "SELECT id, qr_code_id, url, request, status, answer, error, problems, amount, \
             duration_ms, created_at FROM pay_info_queries WHERE qr_code_id = $1 \
             ORDER BY id DESC LIMIT $2",
        )
        .bind(qr_code_id)
        .bind(limit);
        let rows: Vec<QueryRow> = self.db.read_all(&sql).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// The fixed codes of merchant `mid`, newest first, at most `limit`.
    pub async fn fixed_codes_of(&self, mid: &str, limit: u32) -> anyhow::Result<Vec<FixedCode>> {
        let sql = Sql::new(format!(
            "SELECT {FIXED_COLUMNS} FROM fixed_codes WHERE mid = $1 ORDER BY created_at DESC LIMIT $2"
        ))
        .bind(mid)
        .bind(limit);
        let rows: Vec<FixedRow> = self.db.read_all(&sql).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}

/// What a scan brings beyond the code: the amount (the code's, the query's answer's or
/// the buyer's), and what the query's answer set.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub amount: i64,
    pub description: Option<String>,
    pub member_id: Option<String>,
    pub counter_no: Option<String>,
    /// The channel the buyer pays through.
    pub target_sys: String,
}

/// Why a scan made no payment.
#[derive(Debug)]
pub enum ScanRefused {
    /// The bill could not be paid (it was made, and expires unpaid).
    Payment(OrderChangeOutcome),
    /// The platform's bill number was taken (a near-impossible draw): nothing was made.
    NumberTaken,
    /// The code was closed, or expired, before the bill was made: nothing was made.
    Closed,
}

impl OrderService {
    /// A buyer's scan of fixed code `code` of `merchant`: its bill is made and paid (two
    /// steps, as a buyer scans, then pays), and the payment's notices are enqueued with the
    /// payment.
    pub async fn scan(
        &self,
        code: &FixedCode,
        merchant: &Merchant,
        scan: Scan,
    ) -> anyhow::Result<Result<(Order, Vec<i64>), ScanRefused>> {
        let now = self.now();
        let order_no = generate_order_no(&source_number(&code.qr_code_id), now);
        let terms = OrderTerms {
            product: Product::Bill,
            order_no,
            tid: code.tid.clone(),
            inst_mid: code.inst_mid.clone(),
            bill_date: format_wall_clock(now, "%Y-%m-%d"),
            total_amount: scan.amount,
            description: scan.description.unwrap_or_else(|| code.description.clone()),
            expires_at: None,
            h5: None,
            guarantee: false,
            bill: Some(BillTerms {
                qr_code_id: Some(code.qr_code_id.clone()),
                member_id: scan.member_id.or_else(|| code.member_id.clone()),
                counter_no: scan.counter_no.or_else(|| code.counter_no.clone()),
                goods: None,
                return_url: code.return_url.clone(),
                split: None,
            }),
        };
        let mut new = self.draft(merchant, terms, code.notify.clone(), code.own_notify, now);
        if let Some(bill) = new.bill.as_mut() {
            // The bill carries the code's URL as it was handed out.
            bill.qr_code_url = code.qr_code_url.clone();
        }
        // The buyer pays now: the simulated buyer's own payment does not race this one.
        new.pay_due_at = None;
        let mut tx = self.store.db.begin().await?;
        // The code is read again, locked, in the transaction that makes the bill: one
        // closed (or expired) while the scan asked the merchant for its amount makes none.
        let lock = tx.row_lock();
        let open = Sql::new(format!(
            "SELECT qr_code_id FROM fixed_codes WHERE qr_code_id = $1 AND closed_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $2){lock}"
        ))
        .bind(code.qr_code_id.as_str())
        .bind(now);
        let still_open: Option<(String,)> = tx.fetch_optional(&open).await?;
        if still_open.is_none() {
            return Ok(Err(ScanRefused::Closed));
        }
        let Some(order) = insert_order(&mut tx, &new, now).await? else {
            return Ok(Err(ScanRefused::NumberTaken));
        };
        tx.commit().await?;
        let event = OrderEvent::Pay {
            target_sys: scan.target_sys,
        };
        Ok(
            match self.apply(order.id, event, Cause::Admin, None).await? {
                OrderChangeOutcome::Done {
                    order,
                    notifications,
                    ..
                } => {
                    tracing::info!(mid = %order.mid, bill_no = %order.order_no, qr_code_id = %code.qr_code_id, "a fixed code was scanned and paid");
                    Ok((*order, notifications))
                }
                other => Err(ScanRefused::Payment(other)),
            },
        )
    }
}
