//! The admin API of the outbox: enqueue, inspect, and move notifications by hand. What
//! a create request is, and how it is checked, is [`super::create_request`].

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::create_request::build;
pub use super::create_request::{validate_url, CreateRequest, SuccessRequest};
use super::error::{AdminErrors, ErrorBody, ItemError};
use super::extract::{ApiJson, ApiPath};
pub use super::views::NotificationView;
use super::{ApiError, AppState};
use crate::access::Principal;
use crate::outbox::KeyConflict;

/// Enqueue one notification. The answer comes once it is durably stored.
#[utoipa::path(post, path = "/notifications", tag = "notifications",
    request_body = CreateRequest,
    responses(
        (status = 201, description = "Stored; it will be delivered", body = NotificationView),
        (status = 200, description = "The idempotency key already named this notification", body = NotificationView),
        (status = 409, description = "`idempotency_key_reused`: the key names a notification with another url or body", body = ErrorBody),
        (status = 422, description = "`missing_url`, `invalid_url`, `destination_not_allowed`, `conflicting_body`, `missing_body`, `missing_content_type`, `invalid_content_type`, `invalid_header`, `body_too_large`, `invalid_max_attempts`, `invalid_retry_schedule`, `invalid_idempotency_key`, `invalid_success`, `unknown_field`, `invalid_request`", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(request): ApiJson<CreateRequest>,
) -> Result<Response, ApiError> {
    let new = owned(build(request, &state)?, &principal)?;
    let enqueued = state
        .producer()
        .enqueue(new)
        .await
        .map_err(|error| key_conflict_or_internal(error, false))?;
    // A repeated idempotency key answers 200 with the notification it already names.
    let status = if enqueued.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(NotificationView::new(enqueued.notification, None)),
    )
        .into_response())
}

/// A notification a merchant access key creates belongs to its merchant: its tenant is
/// the merchant's `mid`. Its idempotency key is the merchant's own, stored as `<mid>`,
/// [`MERCHANT_KEY_SEPARATOR`] and the key: no key given through the API has that
/// separator (control characters are refused), so one merchant's key can find or block
/// neither another merchant's notification nor the operator's.
/// Between a merchant's `mid` and its own idempotency key, in storage (U+001F, the unit
/// separator).
pub const MERCHANT_KEY_SEPARATOR: char = '\u{1f}';

fn owned(
    mut new: crate::outbox::NewNotification,
    principal: &Principal,
) -> Result<crate::outbox::NewNotification, ApiError> {
    if let Some(mid) = principal.merchant() {
        new.tenant = Some(mid.to_owned());
        new.idempotency_key = new
            .idempotency_key
            .map(|key| format!("{mid}{MERCHANT_KEY_SEPARATOR}{key}"));
    }
    Ok(new)
}

/// A reused idempotency key is the client's conflict; anything else is ours. A batch's
/// conflict names its item.
fn key_conflict_or_internal(error: anyhow::Error, in_batch: bool) -> ApiError {
    let conflict = match error.downcast::<KeyConflict>() {
        Ok(conflict) => conflict,
        Err(error) => return ApiError::internal(error),
    };
    let message = format!(
        "idempotency key already used by notification {} with another url or body",
        conflict.existing_id
    );
    if !in_batch {
        return ApiError::conflict("idempotency_key_reused", message);
    }
    ApiError {
        items: vec![ItemError {
            index: conflict.index,
            code: "idempotency_key_reused",
            message: message.clone(),
        }],
        ..ApiError::conflict(
            "idempotency_key_reused",
            format!(
                "item {}: {message}; none of the batch was accepted",
                conflict.index
            ),
        )
    }
}

/// The most notifications one batch request may carry.
pub const MAX_BATCH: usize = 1_000;

/// Up to 1,000 notifications, accepted all or nothing.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    notifications: Vec<CreateRequest>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchView {
    /// In request order; an item whose idempotency key was already used shows the
    /// notification that key names.
    notifications: Vec<NotificationView>,
    /// How many of them this request created.
    created: usize,
}

/// `POST /admin/v1/notifications/batch`: up to [`MAX_BATCH`] notifications, each written
/// like the body of a single create, accepted all or nothing in one transaction.
#[utoipa::path(post, path = "/notifications/batch", tag = "notifications",
    request_body = BatchRequest,
    responses(
        (status = 201, description = "All stored, in request order", body = BatchView),
        (status = 409, description = "`idempotency_key_reused`; `error.items` names the item", body = ErrorBody),
        (status = 422, description = "`empty_batch`, `batch_too_large`, `invalid_items` (`error.items` names each bad item by index), `unknown_field`, `invalid_request`", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn create_batch(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(request): ApiJson<BatchRequest>,
) -> Result<(StatusCode, Json<BatchView>), ApiError> {
    let count = request.notifications.len();
    if count == 0 {
        return Err(ApiError::invalid(
            "empty_batch",
            "`notifications` must hold at least one notification",
        ));
    }
    if count > MAX_BATCH {
        return Err(ApiError::invalid(
            "batch_too_large",
            format!("`notifications` holds {count} notifications; the limit is {MAX_BATCH}"),
        ));
    }
    let mut batch = Vec::with_capacity(count);
    let mut bad = Vec::new();
    for (index, item) in request.notifications.into_iter().enumerate() {
        match build(item, &state).and_then(|new| owned(new, &principal)) {
            Ok(new) => batch.push(new),
            Err(error) => bad.push(ItemError {
                index,
                code: error.code,
                message: error.message,
            }),
        }
    }
    if !bad.is_empty() {
        return Err(ApiError::invalid_items(bad));
    }
    let enqueued = state
        .producer()
        .enqueue_many(batch)
        .await
        .map_err(|error| key_conflict_or_internal(error, true))?;
    let created = enqueued.iter().filter(|e| e.created).count();
    let notifications = enqueued
        .into_iter()
        .map(|e| NotificationView::new(e.notification, None))
        .collect();
    Ok((
        StatusCode::CREATED,
        Json(BatchView {
            notifications,
            created,
        }),
    ))
}

/// Ids are numbers; anything else names no notification.
pub(super) fn parse_id(id: &str) -> Result<i64, ApiError> {
    id.parse()
        .map_err(|_| ApiError::not_found(&format!("notification {id:?}")))
}

/// One notification with every try.
#[utoipa::path(get, path = "/notifications/{id}", tag = "notifications",
    params(("id" = i64, Path, description = "The notification's id")),
    responses(
        (status = 200, description = "The notification and its `attempt_log`", body = NotificationView),
        (status = 404, description = "`not_found`", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<NotificationView>, ApiError> {
    let id = parse_id(&id)?;
    let notification = super::scoped::notification(state.store.as_ref(), &principal, id)
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("notification {id}")))?;
    let attempts = state.store.attempts(id).await?;
    Ok(Json(NotificationView::new(notification, Some(attempts))))
}

/// Counts by status and the oldest overdue notification's wait: the whole outbox's, or,
/// for a merchant access key, its own merchant's.
#[utoipa::path(get, path = "/stats", tag = "notifications",
    responses((status = 200, description = "The outbox's counts", body = crate::outbox::Stats), AdminErrors),
    security(("admin_token" = [])))]
pub async fn stats(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<crate::outbox::Stats>, ApiError> {
    let now = state.clock.now();
    Ok(Json(
        super::scoped::stats(state.store.as_ref(), &principal, now).await?,
    ))
}
