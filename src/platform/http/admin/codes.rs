//! Admin API of fixed QR codes, standing in for the buyer who scans one:
//! `GET /admin/v1/codes/{qr_code_id}` (the code and its payment-element queries) and
//! `POST /admin/v1/codes/{qr_code_id}/scans` (a buyer scans it and pays).
//!
//! A scan of a code without an amount asks the merchant's `payInfoQueryAddr` for it
//! first (spec §9): the query, the answer and what was wrong with it are kept and shown,
//! and a wrong answer pays nothing (`409 pay_info_refused`), as the platform would show
//! the buyer the merchant's `errMsg` and stop. Without a query address the buyer types
//! the amount (`amount`).

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::admin::error::{AdminErrors, ErrorBody};
use crate::admin::extract::{ApiJson, ApiPath};
use crate::admin::ApiError;
use crate::platform::http::admin::order_views::OrderView;
use crate::platform::http::gateway::pay_info::{self, Scanned};
use crate::platform::payments::fields as order_fields;
use crate::platform::payments::fixed::{FixedCode, PayInfoQuery, Scan, ScanRefused};
use crate::platform::payments::order::CHANNELS;
use crate::platform::sandbox::Sandbox;
use crate::platform::wire::time::format_cst;

/// How long the sandbox waits for the merchant's answer to a payment-element query.
pub const PAY_INFO_TIMEOUT: Duration = Duration::from_secs(10);

/// A fixed code, with the payment-element queries its scans made (newest first).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FixedCodeView {
    qr_code_id: String,
    qr_code_url: String,
    mid: String,
    tid: String,
    inst_mid: String,
    msg_src: String,
    /// Every scan's amount in fen; absent when it is asked for or typed.
    total_amount: Option<i64>,
    description: String,
    notify_url: String,
    pay_info_query_addr: Option<String>,
    /// Whether a buyer can scan it now.
    open: bool,
    expires_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    pay_info_queries: Vec<PayInfoQueryView>,
}

/// One payment-element query: what was sent, what came back, what was wrong.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PayInfoQueryView {
    id: i64,
    url: String,
    /// The query's JSON body, as sent.
    request: String,
    /// The answer's HTTP status; absent when none came.
    status: Option<u16>,
    /// The answer, its first 4 KiB.
    answer: String,
    /// Why no answer came.
    error: Option<String>,
    /// Each mistake of the answer; empty when it was right.
    problems: Vec<String>,
    /// The amount a right answer gave.
    amount: Option<i64>,
    duration_ms: i64,
    created_at: DateTime<Utc>,
}

impl From<PayInfoQuery> for PayInfoQueryView {
    fn from(q: PayInfoQuery) -> Self {
        Self {
            id: q.id,
            url: q.url,
            request: q.request,
            status: q.status,
            answer: q.answer,
            error: q.error,
            problems: q.problems,
            amount: q.amount,
            duration_ms: q.duration_ms,
            created_at: q.created_at,
        }
    }
}

fn view(code: FixedCode, queries: Vec<PayInfoQuery>, now: DateTime<Utc>) -> FixedCodeView {
    FixedCodeView {
        open: code.open_at(now),
        qr_code_id: code.qr_code_id,
        qr_code_url: code.qr_code_url,
        mid: code.mid,
        tid: code.tid,
        inst_mid: code.inst_mid,
        msg_src: code.msg_src,
        total_amount: code.total_amount,
        description: code.description,
        notify_url: code.notify.url,
        pay_info_query_addr: code.pay_info_query_addr,
        expires_at: code.expires_at,
        closed_at: code.closed_at,
        created_at: code.created_at,
        pay_info_queries: queries.into_iter().map(Into::into).collect(),
    }
}

async fn code_of(sandbox: &Sandbox, id: &str) -> Result<FixedCode, ApiError> {
    sandbox
        .orders
        .store
        .fixed_code(id)
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("fixed code {id}")))
}

/// A fixed code and its payment-element queries.
#[utoipa::path(get, path = "/codes/{qr_code_id}", tag = "orders",
    params(("qr_code_id" = String, Path, description = "The fixed code's `qrCodeId`")),
    responses(
        (status = 200, description = "The code", body = FixedCodeView),
        (status = 404, description = "`not_found`", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn show(
    State(sandbox): State<Sandbox>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<FixedCodeView>, ApiError> {
    let code = code_of(&sandbox, &id).await?;
    let queries = sandbox.orders.store.pay_info_queries(&id, 20).await?;
    Ok(Json(view(code, queries, sandbox.now())))
}

/// A buyer's scan of a fixed code.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    /// The amount the buyer types, in fen: only for a code that has no amount and no
    /// `payInfoQueryAddr`.
    amount: Option<serde_json::Value>,
    /// The channel the buyer pays through (`WXPay` by default).
    target_sys: Option<String>,
}

/// What a scan did: the bill it made and paid, its notices, and the payment-element
/// query it made, if any.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScanView {
    order: OrderView,
    notification_ids: Vec<i64>,
    pay_info_query: Option<PayInfoQueryView>,
}

/// A buyer scans a fixed code and pays: a bill of its own is made on the code and paid,
/// and its payment-result notice is enqueued.
#[utoipa::path(post, path = "/codes/{qr_code_id}/scans", tag = "orders",
    params(("qr_code_id" = String, Path, description = "The fixed code's `qrCodeId`")),
    request_body = ScanRequest,
    responses(
        (status = 201, description = "Paid; the bill and its notices", body = ScanView),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`code_closed`, `pay_info_refused` (the merchant's answer to the payment-element query was wrong or a refusal; nothing was paid)", body = ErrorBody),
        (status = 422, description = "`invalid_amount`, `amount_required`, `invalid_target_sys`, `unknown_field`, `invalid_request`", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn scan(
    State(sandbox): State<Sandbox>,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<ScanRequest>,
) -> Result<(StatusCode, Json<ScanView>), ApiError> {
    let code = code_of(&sandbox, &id).await?;
    let now = sandbox.now();
    if !code.open_at(now) {
        let why = if code.closed_at.is_some() {
            "closed"
        } else {
            "expired"
        };
        return Err(ApiError::conflict(
            "code_closed",
            format!("fixed code {id} is {why}: a scan pays nothing"),
        ));
    }
    let target_sys = match request.target_sys {
        None => CHANNELS[0].to_owned(),
        Some(channel) if CHANNELS.contains(&channel.as_str()) => channel,
        Some(_) => {
            return Err(ApiError::invalid(
                "invalid_target_sys",
                format!("`target_sys` must be one of {}", CHANNELS.join(", ")),
            ))
        }
    };
    let typed = request
        .amount
        .as_ref()
        .map(|value| order_fields::amount("`amount`", value))
        .transpose()
        .map_err(|message| ApiError::invalid("invalid_amount", message))?;
    let merchant = sandbox
        .merchants
        .merchant(&code.mid)
        .await?
        .ok_or_else(|| anyhow::anyhow!("fixed code {id} without its merchant {}", code.mid))?;
    let mut scan = Scan {
        target_sys,
        ..Scan::default()
    };
    let mut asked = None;
    match (code.total_amount, code.pay_info_query_addr.as_deref(), typed) {
        (Some(amount), _, None) => scan.amount = amount,
        (Some(amount), _, Some(_)) => {
            return Err(ApiError::invalid(
                "invalid_amount",
                format!("fixed code {id} has its own amount, {amount} fen: leave `amount` out"),
            ))
        }
        (None, Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "invalid_amount",
                format!(
                    "fixed code {id} asks its merchant's payInfoQueryAddr for the amount: leave `amount` out"
                ),
            ))
        }
        (None, Some(url), None) => {
            let (query, verdict) = ask(&sandbox, &code, merchant.md5_key.expose(), url).await?;
            let Some(amount) = query.amount else {
                let problems = query.problems.join("; ");
                return Err(ApiError::conflict(
                    "pay_info_refused",
                    format!(
                        "the payment-element query to {url} (query {}) gave no amount: {problems}",
                        query.id
                    ),
                ));
            };
            scan.amount = amount;
            // What the merchant's answer said goes into the bill and its notice.
            scan.description = Some(verdict.bill_desc).filter(|d| !d.is_empty());
            scan.member_id = Some(verdict.member_id).filter(|m| !m.is_empty());
            scan.counter_no = Some(verdict.counter_no).filter(|c| !c.is_empty());
            asked = Some(query);
        }
        (None, None, Some(amount)) => scan.amount = amount,
        (None, None, None) => {
            return Err(ApiError::invalid(
                "amount_required",
                format!(
                    "fixed code {id} has no amount and no payInfoQueryAddr: the buyer types it, give `amount` in fen"
                ),
            ))
        }
    }
    let (order, notification_ids) = match sandbox.orders.scan(&code, &merchant, scan).await? {
        Ok(paid) => paid,
        Err(ScanRefused::NumberTaken) => {
            return Err(ApiError::conflict(
                "number_taken",
                "the bill number drawn for the scan was taken; scan again",
            ))
        }
        Err(ScanRefused::Payment(outcome)) => {
            return Err(anyhow::anyhow!("a scan's payment was refused: {outcome:?}").into())
        }
    };
    let refunds = sandbox.orders.store.refunds(order.id).await?;
    Ok((
        StatusCode::CREATED,
        Json(ScanView {
            order: OrderView::new(order, Some(refunds)),
            notification_ids,
            pay_info_query: asked.map(Into::into),
        }),
    ))
}

/// Asks `url` for the amount of a scan of `code`, signed with `key`, and keeps the query;
/// the query as kept and the verdict on its answer.
async fn ask(
    sandbox: &Sandbox,
    code: &FixedCode,
    key: &str,
    url: &str,
) -> Result<(PayInfoQuery, pay_info::Verdict), ApiError> {
    let now = sandbox.now();
    let msg_id = format!("{:032x}", rand::random::<u128>());
    let scanned = Scanned {
        msg_src: &code.msg_src,
        mid: &code.mid,
        tid: &code.tid,
        qr_code_id: &code.qr_code_id,
        system_id: code.system_id.as_deref().unwrap_or_default(),
        src_reserve: code.src_reserve.as_deref().unwrap_or_default(),
        member_id: code.member_id.as_deref().unwrap_or_default(),
        counter_no: code.counter_no.as_deref().unwrap_or_default(),
    };
    let fields = pay_info::query(&scanned, &msg_id, &format_cst(now), key);
    let asked = pay_info::ask(
        &sandbox.producer.egress,
        url,
        &fields,
        key,
        PAY_INFO_TIMEOUT,
    )
    .await;
    let duration_ms = i64::try_from(asked.duration.as_millis()).unwrap_or(i64::MAX);
    let query = sandbox
        .orders
        .store
        .record_pay_info_query(
            &code.qr_code_id,
            url,
            &String::from_utf8_lossy(&asked.request),
            asked.status,
            &String::from_utf8_lossy(&asked.answer),
            asked.error.as_deref(),
            &asked.verdict.problems,
            asked.verdict.amount,
            duration_ms,
            now,
        )
        .await?;
    tracing::info!(qr_code_id = %code.qr_code_id, status = ?asked.status, amount = ?asked.verdict.amount, problems = asked.verdict.problems.len(), "payment-element query");
    Ok((query, asked.verdict))
}
