//! A buyer's scan of a fixed QR code, as the admin API (`POST /admin/v1/codes/{id}/scans`)
//! and the console's code page both play it: the code must be open, the channel one of
//! [`CHANNELS`], and the amount the code's own, the answer of the merchant's
//! `payInfoQueryAddr` (spec §9), or, for a code with neither, the buyer's. A refusal is
//! the admin API's error, whose message the console shows as it is.
//!
//! The payment-element query, the answer and what was wrong with it are kept whatever
//! the answer was; a wrong answer pays nothing (`409 pay_info_refused`), as the platform
//! would show the buyer the merchant's `errMsg` and stop.

use serde::Deserialize;

use crate::access::Principal;
use crate::admin::ApiError;
use crate::platform::http::gateway::pay_info::{self, Scanned};
use crate::platform::merchants::Merchant;
use crate::platform::payments::fields as order_fields;
use crate::platform::payments::fixed::{FixedCode, PayInfoQuery, Scan, ScanRefused};
use crate::platform::payments::order::{Order, CHANNELS};
use crate::platform::payments::payment::channel_named;
use crate::platform::sandbox::Sandbox;
use crate::platform::wire::time::format_cst;

/// A buyer's scan of a fixed code.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    /// The amount the buyer types, in fen: only for a code that has no amount and no
    /// `payInfoQueryAddr`.
    pub amount: Option<serde_json::Value>,
    /// The channel the buyer pays through (`WXPay` by default).
    pub target_sys: Option<String>,
}

/// What a scan did: the bill it made and paid, its notices' ids, and the
/// payment-element query it made, if any.
#[derive(Debug)]
pub struct Paid {
    pub order: Order,
    pub notification_ids: Vec<i64>,
    pub pay_info_query: Option<PayInfoQuery>,
}

/// Fixed code `id`, whoever it is of.
pub async fn code_of(
    sandbox: &Sandbox,
    principal: &Principal,
    id: &str,
) -> Result<FixedCode, ApiError> {
    sandbox
        .orders
        .store
        .fixed_code(id)
        .await?
        .filter(|code| principal.sees(Some(&code.mid)))
        .ok_or_else(|| ApiError::not_found(&format!("fixed code {id}")))
}

/// A buyer scans fixed code `id` and pays: a bill of its own is made on the code and
/// paid, and its payment-result notice is enqueued.
pub async fn scan(
    sandbox: &Sandbox,
    principal: &Principal,
    id: &str,
    request: ScanRequest,
) -> Result<Paid, ApiError> {
    let code = code_of(sandbox, principal, id).await?;
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
    let target_sys = channel_named(request.target_sys).ok_or_else(|| {
        ApiError::invalid(
            "invalid_target_sys",
            format!("`target_sys` must be one of {}", CHANNELS.join(", ")),
        )
    })?;
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
            let (query, verdict) = ask(sandbox, &code, &merchant, url).await?;
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
    match sandbox.orders.scan(&code, &merchant, scan).await? {
        Ok((order, notification_ids)) => Ok(Paid {
            order,
            notification_ids,
            pay_info_query: asked,
        }),
        Err(ScanRefused::Closed) => Err(ApiError::conflict(
            "code_closed",
            format!(
                "fixed code {id} was closed or expired while it was scanned: a scan pays nothing"
            ),
        )),
        Err(ScanRefused::NumberTaken) => Err(ApiError::conflict(
            "number_taken",
            "the bill number drawn for the scan was taken; scan again",
        )),
        Err(ScanRefused::Payment(outcome)) => {
            Err(anyhow::anyhow!("a scan's payment was refused: {outcome:?}").into())
        }
    }
}

/// Asks `url` for the amount of a scan of `code`, signed with the source's communication
/// key (an answer signed with the key a rotation replaced is right while its grace
/// lasts), and keeps the query; the query as kept and the verdict on its answer.
async fn ask(
    sandbox: &Sandbox,
    code: &FixedCode,
    merchant: &Merchant,
    url: &str,
) -> Result<(PayInfoQuery, pay_info::Verdict), ApiError> {
    let now = sandbox.now();
    let accepted = merchant.accepted_md5_keys(now);
    let keys: Vec<&str> = accepted
        .iter()
        .map(|accepted| accepted.key.expose())
        .collect();
    let key = merchant.md5_key.expose();
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
    let asked = sandbox.pay_info.ask(url, &fields, &keys).await;
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
