//! Admin API of credential rotation: `POST /admin/v1/merchants/{mid}/rotate` replaces a
//! merchant's appKey, or its message source's communication key, with a new random key,
//! shown in this answer, and keeps the replaced key accepted for a grace period. The
//! rules are the merchant service's ([`crate::platform::merchants::rotation`]).

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::access::Principal;
use crate::admin::error::{AdminErrors, ErrorBody};
use crate::admin::extract::{ApiJson, ApiPath};
use crate::admin::ApiError;
use crate::duration::format_duration;
use crate::platform::auth::AppKey;
use crate::platform::http::admin::merchants::{own_source_key, refused, visible, MerchantView};
use crate::platform::merchants::rotation::{Credential, RotateCredential, Rotation};
use crate::platform::sandbox::Sandbox;

/// A rotation made: the new key, when the replaced one stops being accepted, and the
/// merchant as rotated.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RotationView {
    credential: Credential,
    /// The new key. Every notice is signed with it from now on.
    #[schema(value_type = String)]
    key: AppKey,
    rotated_at: DateTime<Utc>,
    /// The grace, as a duration such as `1h`.
    grace: String,
    /// When the replaced key stops being accepted (at this instant, no longer).
    grace_until: DateTime<Utc>,
    /// The merchants that took the new key, by `mid`: the merchant itself for
    /// `app_key`, every merchant of its message source for `md5_key`.
    merchants: Vec<String>,
    merchant: MerchantView,
}

impl RotationView {
    fn at(rotation: Rotation, now: DateTime<Utc>) -> Self {
        Self {
            credential: rotation.credential,
            key: rotation.key,
            rotated_at: rotation.rotated_at,
            grace: format_duration(rotation.grace),
            grace_until: rotation.grace_until,
            merchants: rotation.merchants,
            merchant: MerchantView::at(rotation.merchant, now),
        }
    }
}

/// Rotate a merchant's appKey or its message source's communication key.
///
/// `app_key` replaces the merchant's appKey; `md5_key` the communication key of its
/// message source, shared by every merchant of the source. The new key is in the answer;
/// notices are signed with it from now on, and requests signed with the replaced key are
/// accepted until `grace_until`.
#[utoipa::path(post, path = "/merchants/{mid}/rotate", tag = "merchants",
    params(("mid" = String, Path, description = "The merchant number")),
    request_body = RotateCredential,
    responses(
        (status = 200, description = "Rotated: the new key, shown here, and the end of the grace", body = RotationView),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 422, description = "`invalid_credential`, `invalid_grace`, `unknown_field`, `invalid_request`", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn rotate(
    State(sandbox): State<Sandbox>,
    principal: Principal,
    ApiPath(mid): ApiPath<String>,
    ApiJson(request): ApiJson<RotateCredential>,
) -> Result<Json<RotationView>, ApiError> {
    let own = visible(&sandbox, &principal, &mid).await?;
    if request.credential.as_deref() == Some("md5_key") {
        own_source_key(&sandbox, &principal, &own).await?;
    }
    let rotation = sandbox
        .merchant_service
        .rotate(&mid, request)
        .await?
        .map_err(refused)?;
    Ok(Json(RotationView::at(rotation, sandbox.now())))
}
