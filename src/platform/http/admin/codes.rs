//! Admin API of fixed QR codes, standing in for the buyer who scans one:
//! `GET /admin/v1/codes/{qr_code_id}` (the code and its payment-element queries) and
//! `POST /admin/v1/codes/{qr_code_id}/scans` (a buyer scans it and pays).
//!
//! The rules of a scan, which the console's code page plays too, are in [`super::scans`]:
//! a code without an amount asks the merchant's `payInfoQueryAddr` for it first (spec
//! §9), and the query, the answer and what was wrong with it are kept and shown here.
//! Without a query address the buyer types the amount (`amount`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::scans::{self, code_of, ScanRequest};
use crate::access::Principal;
use crate::admin::error::{AdminErrors, ErrorBody};
use crate::admin::extract::{ApiJson, ApiPath};
use crate::admin::ApiError;
use crate::platform::http::admin::order_views::OrderView;
use crate::platform::payments::fixed::{FixedCode, PayInfoQuery};
use crate::platform::sandbox::Sandbox;

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
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<FixedCodeView>, ApiError> {
    let code = code_of(&sandbox, &principal, &id).await?;
    let queries = sandbox.orders.store.pay_info_queries(&id, 20).await?;
    Ok(Json(view(code, queries, sandbox.now())))
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
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<ScanRequest>,
) -> Result<(StatusCode, Json<ScanView>), ApiError> {
    let paid = scans::scan(&sandbox, &principal, &id, request).await?;
    let refunds = sandbox.orders.store.refunds(paid.order.id).await?;
    Ok((
        StatusCode::CREATED,
        Json(ScanView {
            order: OrderView::new(paid.order, Some(refunds)),
            notification_ids: paid.notification_ids,
            pay_info_query: paid.pay_info_query.map(Into::into),
        }),
    ))
}
