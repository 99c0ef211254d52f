//! Admin API of merchants: `POST|GET /admin/v1/merchants`, `GET|PATCH
//! /admin/v1/merchants/{mid}` (rotating a key is [`super::rotation`]'s).
//!
//! Creating a merchant issues its appId, appKey and communication key (`md5_key`, which
//! signs payment-result notices), 32 random characters each; a merchant may bring its own
//! `md5_key` instead. The keys are shown by these endpoints only: never logged (their
//! `Debug` is redacted), never a metric label.
//!
//! The rules of creating and changing a merchant are the merchant service's
//! ([`crate::platform::merchants::MerchantService`]); [`refused`] answers its refusals.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::access::Principal;
use crate::admin::error::{AdminErrors, ErrorBody};
use crate::admin::extract::{ApiJson, ApiPath};
use crate::admin::ApiError;
use crate::duration::format_duration;
use crate::platform::auth::AppKey;
use crate::platform::merchants::merchant::{DeliveryMode, Merchant, PaymentNotices};
use crate::platform::merchants::requests::{CreateMerchant, PatchMerchant};
use crate::platform::merchants::requests::{MerchantField, MerchantRefused};
use crate::platform::merchants::rotation::Credential;
use crate::platform::merchants::SignType;
use crate::platform::sandbox::Sandbox;

/// A merchant as the admin API shows it, key included.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MerchantView {
    mid: String,
    name: String,
    notify_url: Option<String>,
    app_id: String,
    #[schema(value_type = String)]
    app_key: AppKey,
    /// The communication key (通讯密钥) that signs payment-result notices.
    #[schema(value_type = String)]
    md5_key: AppKey,
    sign_type: SignType,
    /// The source number (来源编号) every order number of the merchant starts with.
    msg_src_id: String,
    /// The message source (`msgSrc`) it calls the bill gateway as.
    msg_src: String,
    auto_consent_after: Option<String>,
    auto_pay_after: Option<String>,
    extra_copies: u32,
    /// Which order changes send a payment-result notice.
    payment_notices: PaymentNotices,
    /// The request budget on the platform API (`null`: the default, 50 per second).
    rate_limit_per_second: Option<u32>,
    /// Its burst (`null`: the default, 100).
    rate_limit_burst: Option<u32>,
    /// Where its notices go: `http` (its notify URLs) or `relay` (its live
    /// `ums-notify listen` session).
    delivery: DeliveryMode,
    /// The rotations whose grace lasts: the key each replaced (never shown) is still
    /// accepted until `grace_until`. Empty when none does.
    rotations: Vec<GraceView>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// A rotation in its grace period.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GraceView {
    credential: Credential,
    /// When the replaced key stops being accepted.
    grace_until: DateTime<Utc>,
}

impl MerchantView {
    /// The merchant as the admin API shows it at `now`.
    pub fn at(m: Merchant, now: DateTime<Utc>) -> Self {
        let rotations = m
            .graces(now)
            .into_iter()
            .map(|(credential, grace_until)| GraceView {
                credential,
                grace_until,
            })
            .collect();
        Self {
            rotations,
            mid: m.mid,
            name: m.name,
            notify_url: m.notify_url,
            app_id: m.app_id,
            app_key: m.app_key,
            md5_key: m.md5_key,
            sign_type: m.sign_type,
            msg_src_id: m.msg_src_id,
            msg_src: m.msg_src,
            auto_consent_after: m.auto_consent_after.map(format_duration),
            auto_pay_after: m.auto_pay_after.map(format_duration),
            extra_copies: m.extra_copies,
            payment_notices: m.payment_notices,
            rate_limit_per_second: m.rate_limit_per_second,
            rate_limit_burst: m.rate_limit_burst,
            delivery: m.delivery,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MerchantList {
    merchants: Vec<MerchantView>,
}

/// A refusal of the merchant service as the admin API answers it (the console shows its
/// message too).
pub fn refused(refusal: MerchantRefused) -> ApiError {
    let message = refusal.to_string();
    match refusal {
        MerchantRefused::Invalid { field, .. } => ApiError::invalid(invalid_code(field), message),
        MerchantRefused::DestinationNotAllowed(_) => {
            ApiError::invalid("destination_not_allowed", message)
        }
        MerchantRefused::EmptyPatch => ApiError::invalid("empty_patch", message),
        MerchantRefused::Exists(_) => ApiError::conflict("merchant_exists", message),
        MerchantRefused::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, "not_found", message),
    }
}

/// The code of a bad field: `invalid_` and its name.
fn invalid_code(field: MerchantField) -> &'static str {
    match field {
        MerchantField::Mid => "invalid_mid",
        MerchantField::Name => "invalid_name",
        MerchantField::NotifyUrl => "invalid_notify_url",
        MerchantField::AutoConsentAfter => "invalid_auto_consent_after",
        MerchantField::AutoPayAfter => "invalid_auto_pay_after",
        MerchantField::Md5Key => "invalid_md5_key",
        MerchantField::SignType => "invalid_sign_type",
        MerchantField::MsgSrcId => "invalid_msg_src_id",
        MerchantField::MsgSrc => "invalid_msg_src",
        MerchantField::ExtraCopies => "invalid_extra_copies",
        MerchantField::PaymentNotices => "invalid_payment_notices",
        MerchantField::RateLimitPerSecond => "invalid_rate_limit_per_second",
        MerchantField::Delivery => "invalid_delivery",
        MerchantField::RateLimitBurst => "invalid_rate_limit_burst",
        MerchantField::Credential => "invalid_credential",
        MerchantField::Grace => "invalid_grace",
    }
}

/// Create a merchant with a new appId and appKey.
#[utoipa::path(post, path = "/merchants", tag = "merchants",
    request_body = CreateMerchant,
    responses(
        (status = 201, description = "Created, with its credentials", body = MerchantView),
        (status = 409, description = "`merchant_exists`", body = ErrorBody),
        (status = 422, description = "`invalid_mid`, `invalid_name`, `invalid_notify_url`, `destination_not_allowed`, `invalid_auto_consent_after`, `invalid_auto_pay_after`, `invalid_md5_key`, `invalid_sign_type`, `invalid_msg_src_id`, `invalid_msg_src`, `invalid_extra_copies`, `invalid_payment_notices`, `invalid_rate_limit_per_second`, `invalid_rate_limit_burst`, `unknown_field`, `invalid_request`", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn create(
    State(sandbox): State<Sandbox>,
    ApiJson(request): ApiJson<CreateMerchant>,
) -> Result<(StatusCode, Json<MerchantView>), ApiError> {
    let merchant = sandbox
        .merchant_service
        .create(request)
        .await?
        .map_err(refused)?;
    Ok((
        StatusCode::CREATED,
        Json(MerchantView::at(merchant, sandbox.now())),
    ))
}

/// Every merchant.
#[utoipa::path(get, path = "/merchants", tag = "merchants",
    responses((status = 200, description = "Every merchant", body = MerchantList), AdminErrors),
    security(("admin_token" = [])))]
pub async fn list(
    State(sandbox): State<Sandbox>,
    principal: Principal,
) -> Result<Json<MerchantList>, ApiError> {
    let merchants = sandbox.merchants.merchants().await?;
    let now = sandbox.now();
    Ok(Json(MerchantList {
        merchants: merchants
            .into_iter()
            .filter(|m| principal.sees(Some(&m.mid)))
            .map(|m| MerchantView::at(m, now))
            .collect(),
    }))
}

/// Merchant `mid`, if it exists and `principal` sees it; else its 404.
pub async fn visible(
    sandbox: &Sandbox,
    principal: &Principal,
    mid: &str,
) -> Result<Merchant, ApiError> {
    sandbox
        .merchants
        .merchant(mid)
        .await?
        .filter(|m| principal.sees(Some(&m.mid)))
        .ok_or_else(|| ApiError::not_found(&format!("merchant {mid:?}")))
}

/// Refuses a merchant a change of its communication key while other merchants share
/// it (one key per message source): that would change theirs too.
pub async fn own_source_key(
    sandbox: &Sandbox,
    principal: &Principal,
    merchant: &Merchant,
) -> Result<(), ApiError> {
    if principal.is_operator() {
        return Ok(());
    }
    let others = sandbox
        .merchants
        .merchants_of_source(&merchant.msg_src)
        .await?
        .into_iter()
        .filter(|m| m.mid != merchant.mid)
        .count();
    if others == 0 {
        return Ok(());
    }
    Err(ApiError::forbidden(format!(
        "the communication key of message source {} is shared with {others} other merchant(s); only the operator may change it",
        merchant.msg_src
    )))
}

/// One merchant.
#[utoipa::path(get, path = "/merchants/{mid}", tag = "merchants",
    params(("mid" = String, Path, description = "The merchant number")),
    responses(
        (status = 200, description = "The merchant", body = MerchantView),
        (status = 404, description = "`not_found`", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn show(
    State(sandbox): State<Sandbox>,
    principal: Principal,
    ApiPath(mid): ApiPath<String>,
) -> Result<Json<MerchantView>, ApiError> {
    let merchant = visible(&sandbox, &principal, &mid).await?;
    Ok(Json(MerchantView::at(merchant, sandbox.now())))
}

/// Change a merchant's name, notify URL, simulated users and buyers, communication key,
/// signType or extra copies.
#[utoipa::path(patch, path = "/merchants/{mid}", tag = "merchants",
    params(("mid" = String, Path, description = "The merchant number")),
    request_body = PatchMerchant,
    responses(
        (status = 200, description = "The merchant as changed", body = MerchantView),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 422, description = "`empty_patch`, `invalid_name`, `invalid_notify_url`, `destination_not_allowed`, `invalid_auto_consent_after`, `invalid_auto_pay_after`, `invalid_md5_key`, `invalid_sign_type`, `invalid_msg_src_id`, `invalid_extra_copies`, `invalid_payment_notices`, `invalid_rate_limit_per_second`, `invalid_rate_limit_burst`, `invalid_delivery`, `unknown_field`, `invalid_request`", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn update(
    State(sandbox): State<Sandbox>,
    principal: Principal,
    ApiPath(mid): ApiPath<String>,
    ApiJson(request): ApiJson<PatchMerchant>,
) -> Result<Json<MerchantView>, ApiError> {
    let own = visible(&sandbox, &principal, &mid).await?;
    if request.rate_limit_per_second.is_some() || request.rate_limit_burst.is_some() {
        principal.require_operator("set a merchant's request budget")?;
    }
    if request.md5_key.is_some() {
        own_source_key(&sandbox, &principal, &own).await?;
    }
    let merchant = sandbox
        .merchant_service
        .update(&mid, request)
        .await?
        .map_err(refused)?;
    sandbox.relay.forget_mode(&mid);
    Ok(Json(MerchantView::at(merchant, sandbox.now())))
}
