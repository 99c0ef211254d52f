//! Admin API of merchants: `POST|GET /admin/v1/merchants`, `GET|PATCH
//! /admin/v1/merchants/{mid}`.
//!
//! Creating a merchant issues its appId, appKey and communication key (`md5_key`, which
//! signs payment-result notices), 32 random characters each; a merchant may bring its own
//! `md5_key` instead. The keys are shown by these endpoints only: never logged (their
//! `Debug` is redacted), never a metric label.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::admin::error::{AdminErrors, ErrorBody};
use crate::admin::extract::{ApiJson, ApiPath};
use crate::admin::ApiError;
use crate::duration::{format_duration, parse_duration};
use crate::platform::auth::{generate_credential, AppKey, CREDENTIAL_LEN};
use crate::platform::merchants::merchant::{Merchant, MerchantPatch, NewMerchant};
use crate::platform::merchants::SignType;
use crate::platform::sandbox::Sandbox;
use crate::platform::wire::fields;

/// The most extra copies a merchant can ask for.
pub const MAX_EXTRA_COPIES: u32 = 10;
/// The longest simulated consent delay.
pub const MAX_CONSENT_DELAY: Duration = Duration::from_secs(30 * 24 * 3600);
const NAME_MAX_LEN: usize = 100;

/// A merchant to create; the sandbox issues its appId and appKey.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMerchant {
    mid: Option<String>,
    name: Option<String>,
    notify_url: Option<String>,
    auto_consent_after: Option<String>,
    auto_pay_after: Option<String>,
    /// The communication key; a random one when left out.
    md5_key: Option<String>,
    /// `SHA256` (the default) or `MD5`.
    #[schema(value_type = Option<SignType>)]
    sign_type: Option<String>,
    /// The source number (来源编号): 4 letters or digits; a random one when left out.
    msg_src_id: Option<String>,
    extra_copies: Option<u32>,
}

/// Absent stays `None`; `null` becomes `Some(None)`: a patch can clear a field.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A patch: an absent field is kept. `null` clears `notify_url` (no default) and
/// `auto_consent_after` (no automatic consent), and sets `extra_copies` to its default, 0;
/// `name` cannot be cleared, so `"name": null` is refused (`invalid_name`).
/// The fields to change; a field left out is kept, `null` clears it (see the guide).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchMerchant {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    notify_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    auto_consent_after: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    auto_pay_after: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    md5_key: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<SignType>)]
    sign_type: Option<Option<String>>,
    /// A new source number; `null` draws a random one. Orders made before keep theirs.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    msg_src_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>)]
    extra_copies: Option<Option<u32>>,
}

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
    auto_consent_after: Option<String>,
    auto_pay_after: Option<String>,
    extra_copies: u32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Merchant> for MerchantView {
    fn from(m: Merchant) -> Self {
        Self {
            mid: m.mid,
            name: m.name,
            notify_url: m.notify_url,
            app_id: m.app_id,
            app_key: m.app_key,
            md5_key: m.md5_key,
            sign_type: m.sign_type,
            msg_src_id: m.msg_src_id,
            auto_consent_after: m.auto_consent_after.map(format_duration),
            auto_pay_after: m.auto_pay_after.map(format_duration),
            extra_copies: m.extra_copies,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MerchantList {
    merchants: Vec<MerchantView>,
}

fn check_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX_LEN {
        return Err(ApiError::invalid(
            "invalid_name",
            format!("`name` must have 1 to {NAME_MAX_LEN} characters"),
        ));
    }
    Ok(name.to_owned())
}

fn check_notify_url(url: &str) -> Result<String, ApiError> {
    fields::validate_notify_url(url).map_err(|e| {
        ApiError::invalid(
            "invalid_notify_url",
            e.message.replace("notifyUrl", "`notify_url`"),
        )
    })?;
    Ok(url.to_owned())
}

fn check_delay(text: &str) -> Result<Duration, ApiError> {
    delay("auto_consent_after", "invalid_auto_consent_after", text)
}

fn check_pay_delay(text: &str) -> Result<Duration, ApiError> {
    delay("auto_pay_after", "invalid_auto_pay_after", text)
}

fn delay(field: &str, code: &'static str, text: &str) -> Result<Duration, ApiError> {
    let bad = |why: String| ApiError::invalid(code, why);
    let delay = parse_duration(text).map_err(|e| bad(format!("`{field}`: {e}")))?;
    if delay > MAX_CONSENT_DELAY {
        return Err(bad(format!("`{field}` must be at most 30d")));
    }
    Ok(delay)
}

/// A communication key a merchant brings: 8 to 64 printable ASCII characters, no
/// spaces (it is appended to the signed string as it is).
fn check_md5_key(key: &str) -> Result<AppKey, ApiError> {
    if !(8..=64).contains(&key.len()) || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::invalid(
            "invalid_md5_key",
            "`md5_key` must have 8 to 64 printable ASCII characters without spaces",
        ));
    }
    Ok(AppKey::new(key))
}

/// A source number: exactly 4 ASCII letters or digits.
fn check_msg_src_id(id: &str) -> Result<String, ApiError> {
    if id.len() != 4 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ApiError::invalid(
            "invalid_msg_src_id",
            "`msg_src_id` must be exactly 4 ASCII letters or digits",
        ));
    }
    Ok(id.to_owned())
}

/// A random source number: four digits or capital letters.
fn random_msg_src_id() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    (0..4)
        .map(|_| char::from(ALPHABET[rand::random_range(0..ALPHABET.len())]))
        .collect()
}

fn check_sign_type(text: &str) -> Result<SignType, ApiError> {
    match text {
        "MD5" => Ok(SignType::Md5),
        "SHA256" => Ok(SignType::Sha256),
        _ => Err(ApiError::invalid(
            "invalid_sign_type",
            format!(
                "`sign_type` must be SHA256 or MD5, not {:?}",
                text.chars().take(16).collect::<String>()
            ),
        )),
    }
}

fn check_copies(copies: u32) -> Result<u32, ApiError> {
    if copies > MAX_EXTRA_COPIES {
        return Err(ApiError::invalid(
            "invalid_extra_copies",
            format!("`extra_copies` must be between 0 and {MAX_EXTRA_COPIES}"),
        ));
    }
    Ok(copies)
}

/// Create a merchant with a new appId and appKey.
#[utoipa::path(post, path = "/merchants", tag = "merchants",
    request_body = CreateMerchant,
    responses(
        (status = 201, description = "Created, with its credentials", body = MerchantView),
        (status = 409, description = "`merchant_exists`", body = ErrorBody),
        (status = 422, description = "`invalid_mid`, `invalid_name`, `invalid_notify_url`, `invalid_auto_consent_after`, `invalid_auto_pay_after`, `invalid_md5_key`, `invalid_sign_type`, `invalid_msg_src_id`, `invalid_extra_copies`, `unknown_field`, `invalid_request`", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn create(
    State(sandbox): State<Sandbox>,
    ApiJson(request): ApiJson<CreateMerchant>,
) -> Result<(StatusCode, Json<MerchantView>), ApiError> {
    let mid = request
        .mid
        .ok_or_else(|| ApiError::invalid("invalid_mid", "`mid` is required"))?;
    fields::validate_mid(&mid).map_err(|e| ApiError::invalid("invalid_mid", e.message))?;
    let name = check_name(
        request
            .name
            .as_deref()
            .ok_or_else(|| ApiError::invalid("invalid_name", "`name` is required"))?,
    )?;
    let new = NewMerchant {
        mid,
        name,
        notify_url: request
            .notify_url
            .as_deref()
            .map(check_notify_url)
            .transpose()?,
        app_id: generate_credential(CREDENTIAL_LEN),
        app_key: AppKey::generate(),
        md5_key: match request.md5_key.as_deref() {
            Some(key) => check_md5_key(key)?,
            None => AppKey::generate(),
        },
        sign_type: request
            .sign_type
            .as_deref()
            .map(check_sign_type)
            .transpose()?
            .unwrap_or_default(),
        msg_src_id: match request.msg_src_id.as_deref() {
            Some(id) => check_msg_src_id(id)?,
            None => random_msg_src_id(),
        },
        auto_consent_after: request
            .auto_consent_after
            .as_deref()
            .map(check_delay)
            .transpose()?,
        auto_pay_after: request
            .auto_pay_after
            .as_deref()
            .map(check_pay_delay)
            .transpose()?,
        extra_copies: check_copies(request.extra_copies.unwrap_or(0))?,
    };
    let mid = new.mid.clone();
    let merchant = sandbox
        .merchants
        .create_merchant(new, sandbox.now())
        .await?
        .ok_or_else(|| {
            ApiError::conflict("merchant_exists", format!("merchant {mid} already exists"))
        })?;
    tracing::info!(%mid, app_id = %merchant.app_id, "merchant created");
    Ok((StatusCode::CREATED, Json(merchant.into())))
}

/// Every merchant.
#[utoipa::path(get, path = "/merchants", tag = "merchants",
    responses((status = 200, description = "Every merchant", body = MerchantList), AdminErrors),
    security(("admin_token" = [])))]
pub async fn list(State(sandbox): State<Sandbox>) -> Result<Json<MerchantList>, ApiError> {
    let merchants = sandbox.merchants.merchants().await?;
    Ok(Json(MerchantList {
        merchants: merchants.into_iter().map(Into::into).collect(),
    }))
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
    ApiPath(mid): ApiPath<String>,
) -> Result<Json<MerchantView>, ApiError> {
    let merchant = sandbox
        .merchants
        .merchant(&mid)
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("merchant {mid:?}")))?;
    Ok(Json(merchant.into()))
}

/// Change a merchant's name, notify URL, simulated users and buyers, communication key,
/// signType or extra copies.
#[utoipa::path(patch, path = "/merchants/{mid}", tag = "merchants",
    params(("mid" = String, Path, description = "The merchant number")),
    request_body = PatchMerchant,
    responses(
        (status = 200, description = "The merchant as changed", body = MerchantView),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 422, description = "`empty_patch`, `invalid_name`, `invalid_notify_url`, `invalid_auto_consent_after`, `invalid_auto_pay_after`, `invalid_md5_key`, `invalid_sign_type`, `invalid_msg_src_id`, `invalid_extra_copies`, `unknown_field`, `invalid_request`", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn update(
    State(sandbox): State<Sandbox>,
    ApiPath(mid): ApiPath<String>,
    ApiJson(request): ApiJson<PatchMerchant>,
) -> Result<Json<MerchantView>, ApiError> {
    let name = match request.name {
        None => None,
        Some(None) => {
            return Err(ApiError::invalid(
                "invalid_name",
                "`name` cannot be cleared: a merchant always has a name; give a new one or leave it out",
            ))
        }
        Some(Some(name)) => Some(check_name(&name)?),
    };
    let patch = MerchantPatch {
        name,
        notify_url: request
            .notify_url
            .map(|url| url.as_deref().map(check_notify_url).transpose())
            .transpose()?,
        auto_consent_after: request
            .auto_consent_after
            .map(|delay| delay.as_deref().map(check_delay).transpose())
            .transpose()?,
        auto_pay_after: request
            .auto_pay_after
            .map(|delay| delay.as_deref().map(check_pay_delay).transpose())
            .transpose()?,
        // `null` draws a new random key.
        md5_key: request
            .md5_key
            .map(|key| key.as_deref().map_or(Ok(AppKey::generate()), check_md5_key))
            .transpose()?,
        // `null` is the default, SHA256.
        sign_type: request
            .sign_type
            .map(|t| t.as_deref().map(check_sign_type).transpose())
            .transpose()?
            .map(Option::unwrap_or_default),
        msg_src_id: request
            .msg_src_id
            .map(|id| {
                id.as_deref()
                    .map_or(Ok(random_msg_src_id()), check_msg_src_id)
            })
            .transpose()?,
        // `null` is the default: no extra copies.
        extra_copies: request
            .extra_copies
            .map(|copies| check_copies(copies.unwrap_or(0)))
            .transpose()?,
    };
    if patch.is_empty() {
        return Err(ApiError::invalid(
            "empty_patch",
            "give at least one of name, notify_url, auto_consent_after, auto_pay_after, \
             md5_key, sign_type, msg_src_id, extra_copies",
        ));
    }
    let merchant = sandbox
        .merchants
        .update_merchant(&mid, patch, sandbox.now())
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("merchant {mid:?}")))?;
    Ok(Json(merchant.into()))
}
