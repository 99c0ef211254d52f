//! The password-free contract APIs merchants call: sign
//! (`POST /v1/inip/sign/uac/entrust-pay/sign`) and the status query
//! (`POST /v1/inip/sign/uac/entrust-pay/sign-query`), the one the platform tells merchants
//! to trust when they see a duplicate notification.
//!
//! Fields are validated in the order of the documentation, and the first violation is
//! answered; a request is checked completely before anything is written.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use crate::platform::contracts::contract::Contract;
use crate::platform::contracts::notice::ContractNotification;
use crate::platform::contracts::service::ContractTerms;
use crate::platform::contracts::store::CreateOutcome;
use crate::platform::http::open::authn::{auth_window, authenticate, replayed, Caller};
use crate::platform::http::open::error::{parse_body, success, PlatformError};
use crate::platform::merchants::merchant::Merchant;
use crate::platform::sandbox::Sandbox;
use crate::platform::wire::errcode::ErrCode;
use crate::platform::wire::fields::{self, require};
use crate::platform::wire::time::check_skew;
use crate::policy::Destination;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignRequest {
    request_timestamp: Option<String>,
    mid: Option<String>,
    contract_no: Option<String>,
    plan_id: Option<String>,
    notify_url: Option<String>,
    single_limit_amt: Option<String>,
    avl_num: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueryRequest {
    request_timestamp: Option<String>,
    mid: Option<String>,
    plan_id: Option<String>,
    contract_no: Option<String>,
    contract_id: Option<String>,
}

/// An optional field: absent and empty are the same.
fn optional(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

/// A merchant acts only on its own `mid`.
fn own_mid(caller: &Caller, mid: &str) -> Result<(), PlatformError> {
    if caller.merchant.mid == mid {
        Ok(())
    } else {
        Err(PlatformError::new(
            ErrCode::UnknownMerchant,
            format!("mid {mid} is not a merchant of this appId"),
        ))
    }
}

/// `requestTimestamp`: `yyyy-MM-dd HH:mm:ss` (`1004` otherwise), and within the auth
/// window of the sandbox's clock (`1006`, netpay's `ABNORMAL_REQUEST_TIME`).
fn request_time(sandbox: &Sandbox, value: Option<&str>) -> Result<(), PlatformError> {
    let text = require("requestTimestamp", value)?;
    let at = fields::parse_request_timestamp(text)?;
    check_skew(
        "requestTimestamp",
        text,
        at,
        sandbox.now(),
        auth_window(sandbox),
    )
    // The code is numeric like every code of this API; the text opens with the name
    // netpay gives the refusal, so a merchant searching for it finds it.
    .map_err(|skew| {
        PlatformError::new(
            ErrCode::AbnormalRequestTime,
            format!("ABNORMAL_REQUEST_TIME: {skew}"),
        )
    })
}

/// The contract as the platform answers it: the notification's fields but the time of
/// the request.
pub fn contract_answer(
    sandbox: &Sandbox,
    contract: &Contract,
) -> Result<Json<Value>, PlatformError> {
    let now = sandbox.now();
    let answer = ContractNotification::of(contract, now);
    let mut value = serde_json::to_value(answer).map_err(anyhow::Error::from)?;
    if let Value::Object(map) = &mut value {
        map.remove("requestTimestamp");
    }
    success(value)
}

/// The merchant's default notify URL, for a sign request that names none. It was accepted
/// by the same check when the merchant was saved; should it fail now, the request is
/// refused here rather than every notification of the contract later.
fn default_notify_target(merchant: &Merchant) -> Result<Destination, PlatformError> {
    let url = merchant.notify_url.as_deref().ok_or_else(|| {
        PlatformError::new(
            ErrCode::MissingField,
            "notifyUrl is required: the merchant has no default notify URL",
        )
    })?;
    fields::notify_target(url).map_err(|error| {
        PlatformError::new(
            error.err_code,
            format!("the merchant's default notify URL is refused: {error}; send a notifyUrl"),
        )
    })
}

/// `POST /v1/inip/sign/uac/entrust-pay/sign`: creates the contract in `UNSIGNED`.
/// Ask to sign a password-free contract; the contract starts `UNSIGNED`.
#[utoipa::path(post, path = "/v1/inip/sign/uac/entrust-pay/sign", tag = "platform",
    request_body = SignRequest,
    responses(
        (status = 200, description = "Always 200: read `errCode`. On success, the contract's fields", body = crate::platform::http::open::error::PlatformAnswer),
        (status = 500, description = "`9999`: internal error", body = crate::platform::http::open::error::PlatformAnswer),
    ),
    security(("open_access_token" = []), ("open_body_sig" = [])))]
pub async fn sign(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, PlatformError> {
    let caller = authenticate(&sandbox, &headers, &body).await?;
    let request: SignRequest = parse_body(&body, ErrCode::BadFormat)?;
    request_time(&sandbox, request.request_timestamp.as_deref())?;
    let mid = require("mid", request.mid.as_deref())?;
    fields::validate_mid(mid)?;
    let contract_no = require("contractNo", request.contract_no.as_deref())?;
    fields::validate_contract_no(contract_no)?;
    let plan_id = require("planId", request.plan_id.as_deref())?;
    fields::validate_plan_id(plan_id)?;
    let notify = optional(&request.notify_url)
        .map(fields::notify_target)
        .transpose()?;
    if let Some(notify) = &notify {
        sandbox
            .producer
            .egress
            .admit_url(&notify.url)
            .map_err(|refused| {
                PlatformError::new(ErrCode::BadUrl, format!("notifyUrl: {refused}"))
            })?;
    }
    let single_limit_amt = optional(&request.single_limit_amt);
    fields::validate_single_limit_amt(single_limit_amt)?;
    let avl_num = optional(&request.avl_num);
    fields::validate_avl_num(avl_num)?;
    own_mid(&caller, mid)?;
    let notify = match notify {
        Some(notify) => notify,
        None => default_notify_target(&caller.merchant)?,
    };
    let terms = ContractTerms {
        contract_no,
        plan_id,
        single_limit_amt: single_limit_amt.unwrap_or_default(),
        avl_num: avl_num.unwrap_or_default(),
    };
    let new = sandbox.contracts.draft(&caller.merchant, terms, notify);
    let now = sandbox.now();
    let nonce_text = caller
        .nonce
        .as_ref()
        .map(|n| n.nonce.clone())
        .unwrap_or_default();
    match sandbox.contracts.store.create_contract(new, caller.nonce, now).await? {
        CreateOutcome::Created(contract) => {
            tracing::info!(mid, contract_no, "contract requested through the platform API");
            contract_answer(&sandbox, &contract)
        }
        CreateOutcome::DuplicateContractNo(existing) => Err(PlatformError::new(
            ErrCode::DuplicateContractNo,
            format!(
                "contractNo {contract_no} was already used for contract {}; query it with sign-query",
                existing.contract_id
            ),
        )),
        CreateOutcome::NonceReplayed => Err(replayed(&nonce_text)),
    }
}

/// `POST /v1/inip/sign/uac/entrust-pay/sign-query`: the contract's current state, by
/// `contractId` or `contractNo` (both must agree when both are given).
/// Query a contract's state: the merchant's source of truth.
#[utoipa::path(post, path = "/v1/inip/sign/uac/entrust-pay/sign-query", tag = "platform",
    request_body = QueryRequest,
    responses(
        (status = 200, description = "Always 200: read `errCode`. On success, the contract's state and fields", body = crate::platform::http::open::error::PlatformAnswer),
        (status = 500, description = "`9999`: internal error", body = crate::platform::http::open::error::PlatformAnswer),
    ),
    security(("open_access_token" = []), ("open_body_sig" = [])))]
pub async fn sign_query(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, PlatformError> {
    let caller = authenticate(&sandbox, &headers, &body).await?;
    let request: QueryRequest = parse_body(&body, ErrCode::BadFormat)?;
    let mid = require("mid", request.mid.as_deref())?;
    fields::validate_mid(mid)?;
    request_time(&sandbox, request.request_timestamp.as_deref())?;
    let plan_id = optional(&request.plan_id);
    if let Some(plan_id) = plan_id {
        fields::validate_plan_id(plan_id)?;
    }
    let contract_no = optional(&request.contract_no);
    if let Some(no) = contract_no {
        fields::validate_contract_no(no)?;
    }
    let contract_id = optional(&request.contract_id);
    if let Some(id) = contract_id {
        fields::validate_contract_id(id)?;
    }
    own_mid(&caller, mid)?;
    let found = match (contract_id, contract_no) {
        (Some(id), _) => sandbox.contracts.store.contract(id).await?,
        (None, Some(no)) => sandbox.contracts.store.contract_by_no(mid, no).await?,
        (None, None) => {
            return Err(PlatformError::new(
                ErrCode::MissingField,
                "contractNo or contractId is required",
            ))
        }
    };
    let contract = found
        .filter(|c| c.mid == mid)
        .filter(|c| contract_no.is_none_or(|no| c.contract_no == no))
        .filter(|c| plan_id.is_none_or(|plan| c.plan_id == plan))
        .ok_or_else(|| {
            PlatformError::new(
                ErrCode::ContractNotFound,
                format!(
                    "merchant {mid} has no contract with the given contractId/contractNo/planId"
                ),
            )
        })?;
    if let Some(nonce) = caller.nonce {
        let text = nonce.nonce.clone();
        if !sandbox.auth.spend_nonce(nonce, sandbox.now()).await? {
            return Err(replayed(&text));
        }
    }
    contract_answer(&sandbox, &contract)
}
