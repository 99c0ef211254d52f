//! Admin API of merchant access keys: `POST|GET /admin/v1/merchants/{mid}/access-keys`
//! and `DELETE /admin/v1/merchants/{mid}/access-keys/{id}`. A key is shown once, in the
//! answer that issues it; listings show ids, names and times only. The operator manages
//! every merchant's keys, a merchant its own ([`crate::access`]).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::access::keys::{IssueRefused, IssuedKey, KeyInfo};
use crate::access::Principal;
use crate::admin::error::{AdminErrors, ErrorBody};
use crate::admin::extract::ApiPath;
use crate::admin::ApiError;
use crate::platform::http::admin::merchants::visible;
use crate::platform::sandbox::Sandbox;

/// What to call a new key; the body may be left out.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueKey {
    /// A name to tell keys apart (`laptop`, `ci`), up to 64 characters.
    #[schema(example = "laptop")]
    pub name: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyList {
    access_keys: Vec<KeyInfo>,
}

/// Issue an access key for a merchant: its secret is in this answer only. The body is
/// optional.
#[utoipa::path(post, path = "/merchants/{mid}/access-keys", tag = "merchants",
    params(("mid" = String, Path, description = "The merchant number")),
    request_body(content = Option<IssueKey>, description = "Optional: a name for the key"),
    responses(
        (status = 201, description = "Issued: the key, shown only here", body = IssuedKey),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`too_many_keys`: the merchant holds 20 keys; revoke one first", body = ErrorBody),
        (status = 422, description = "`invalid_name`, `unknown_field`, `invalid_request`", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn issue(
    State(sandbox): State<Sandbox>,
    principal: Principal,
    ApiPath(mid): ApiPath<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<IssuedKey>), ApiError> {
    let request = if body.iter().all(u8::is_ascii_whitespace) {
        IssueKey::default()
    } else {
        Json::<IssueKey>::from_bytes(&body)?.0
    };
    visible(&sandbox, &principal, &mid).await?;
    match sandbox
        .access_keys
        .issue(&mid, request.name, sandbox.now())
        .await?
    {
        Ok(issued) => {
            tracing::info!(mid = %mid, key_id = %issued.info.id, "access key issued");
            Ok((StatusCode::CREATED, Json(issued)))
        }
        Err(IssueRefused::NoMerchant) => Err(ApiError::not_found(&format!("merchant {mid:?}"))),
        Err(refused @ IssueRefused::TooMany) => Err(ApiError::conflict(
            "too_many_keys",
            format!("merchant {mid}: {refused}"),
        )),
        Err(refused @ IssueRefused::InvalidName { .. }) => {
            Err(ApiError::invalid("invalid_name", refused.to_string()))
        }
    }
}

/// A merchant's access keys, oldest first: ids, names and times, never secrets.
#[utoipa::path(get, path = "/merchants/{mid}/access-keys", tag = "merchants",
    params(("mid" = String, Path, description = "The merchant number")),
    responses(
        (status = 200, description = "The merchant's keys", body = KeyList),
        (status = 404, description = "`not_found`", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn list(
    State(sandbox): State<Sandbox>,
    principal: Principal,
    ApiPath(mid): ApiPath<String>,
) -> Result<Json<KeyList>, ApiError> {
    visible(&sandbox, &principal, &mid).await?;
    Ok(Json(KeyList {
        access_keys: sandbox.access_keys.list(&mid).await?,
    }))
}

/// Revoke an access key: requests with it are refused from now on, and the console
/// sessions it opened end.
#[utoipa::path(delete, path = "/merchants/{mid}/access-keys/{id}", tag = "merchants",
    params(
        ("mid" = String, Path, description = "The merchant number"),
        ("id" = String, Path, description = "The key's id (`ak_…`)"),
    ),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "`not_found`", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn revoke(
    State(sandbox): State<Sandbox>,
    principal: Principal,
    ApiPath((mid, id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    visible(&sandbox, &principal, &mid).await?;
    if !sandbox.access_keys.revoke(&mid, &id).await? {
        return Err(ApiError::not_found(&format!(
            "access key {id:?} of merchant {mid}"
        )));
    }
    tracing::info!(mid = %mid, key_id = %id, "access key revoked");
    Ok(StatusCode::NO_CONTENT)
}
