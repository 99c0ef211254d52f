//! The admin API of the outbox: enqueue, inspect, and move notifications by hand.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::error::{AdminErrors, ErrorBody, ItemError};
use super::extract::{ApiJson, ApiPath};
pub use super::views::NotificationView;
use super::{ApiError, AppState};
use crate::duration::parse_duration;
use crate::outbox::{KeyConflict, NewNotification};
use crate::policy::success::MAX_SUCCESS_BODY;
use crate::policy::{
    BodyMatch, Destination, RetryPolicy, RetrySchedule, SuccessRule, MAX_ATTEMPTS_LIMIT,
};

/// A notification to send. Give the body as JSON (`body`) or as text (`body_text` with
/// its `content_type`); every try sends exactly these bytes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// The merchant's notify URL: absolute `http` or `https`. Required.
    #[schema(example = "https://shop.example/ums/notify")]
    url: Option<String>,
    /// The body as JSON, sent byte for byte as given.
    #[schema(value_type = Option<serde_json::Value>)]
    body: Option<Box<RawValue>>,
    /// The body as text; needs `content_type`.
    body_text: Option<String>,
    /// Defaults to `application/json` for `body`.
    content_type: Option<String>,
    /// Extra request headers sent with every try.
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// Tries, the first included (1 to 100; the service default otherwise).
    max_attempts: Option<u32>,
    /// Delays between tries, such as `["15s", "1m"]`; the last repeats.
    retry_schedule: Option<Vec<String>>,
    /// A repeated key answers the notification it already names (200) instead of
    /// creating another.
    idempotency_key: Option<String>,
    /// What counts as delivered: HTTP 200 always, and `body` when given (the answer,
    /// trimmed, equal to it, or containing it with `match: contains`). Without it, HTTP
    /// 200 alone.
    success: Option<SuccessRequest>,
}

/// The success rule of a new notification.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuccessRequest {
    /// Only 200 is accepted: the platform counts nothing else as delivered.
    #[schema(example = 200)]
    status: Option<u16>,
    /// The answer body that must come with the 200, such as `SUCCESS`.
    #[schema(example = "SUCCESS")]
    body: Option<String>,
    /// How `body` is compared: `exact` (the default; the answer, trimmed, is the body) or
    /// `contains` (the answer contains it, as the payment-result notices are judged).
    #[serde(rename = "match")]
    matching: Option<BodyMatch>,
}

/// Checks a success rule: status 200 only, a body of printable text.
fn success_rule(request: Option<SuccessRequest>) -> Result<SuccessRule, ApiError> {
    let Some(request) = request else {
        return Ok(SuccessRule::default());
    };
    let bad = |message: String| ApiError::invalid("invalid_success", message);
    if let Some(status) = request.status.filter(|s| *s != 200) {
        return Err(bad(format!(
            "`success.status` is {status}; only HTTP 200 counts as delivered, so it may only be 200"
        )));
    }
    match request.body {
        None if request.matching.is_some() => Err(bad(
            "`success.match` says how `success.body` is compared, but no `success.body` was given"
                .to_owned(),
        )),
        None => Ok(SuccessRule::default()),
        Some(body) => {
            let trimmed = body.trim();
            if trimmed.is_empty()
                || trimmed.len() > MAX_SUCCESS_BODY
                || trimmed.chars().any(char::is_control)
            {
                return Err(bad(format!(
                    "`success.body` must be 1 to {MAX_SUCCESS_BODY} bytes of text without control characters"
                )));
            }
            Ok(SuccessRule {
                matching: request.matching.unwrap_or_default(),
                ..SuccessRule::with_body(trimmed)
            })
        }
    }
}

/// Headers the service sets itself or that would corrupt the request.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "proxy-connection",
];

/// Checks a destination URL: absolute http(s) with a host.
pub fn validate_url(url: &str) -> Result<Destination, ApiError> {
    Destination::parse(url)
        .map_err(|error| ApiError::invalid("invalid_url", format!("`url` {error}")))
}

/// The `kind` of notifications sent through this API.
pub const GENERIC_KIND: &str = "generic";

fn build(request: CreateRequest, state: &AppState) -> Result<NewNotification, ApiError> {
    let defaults = &state.defaults;
    let url = request
        .url
        .ok_or_else(|| ApiError::invalid("missing_url", "`url` is required"))?;
    let destination = validate_url(&url)?;
    state
        .egress
        .admit_url(&destination.url)
        .map_err(|refused| ApiError::destination_not_allowed("url", &refused))?;
    let (body, content_type) = match (request.body, request.body_text) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "conflicting_body",
                "give either `body` (JSON) or `body_text`, not both",
            ))
        }
        (Some(json), None) => (
            json.get().as_bytes().to_vec(),
            request
                .content_type
                .unwrap_or_else(|| "application/json".to_owned()),
        ),
        (None, Some(text)) => (
            text.into_bytes(),
            request.content_type.ok_or_else(|| {
                ApiError::invalid("missing_content_type", "`body_text` needs a `content_type`")
            })?,
        ),
        (None, None) => {
            return Err(ApiError::invalid(
                "missing_body",
                "give the notification's `body` (JSON) or `body_text` with `content_type`",
            ))
        }
    };
    if body.len() > defaults.max_body_bytes {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!(
                "the notification body has {} bytes; the limit is {}",
                body.len(),
                defaults.max_body_bytes
            ),
        ));
    }
    if content_type
        .parse::<reqwest::header::HeaderValue>()
        .is_err()
        || !content_type.contains('/')
    {
        return Err(ApiError::invalid(
            "invalid_content_type",
            "`content_type` must be a media type such as application/json",
        ));
    }
    let mut headers = Vec::with_capacity(request.headers.len());
    for (name, value) in request.headers {
        let valid = reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_ok()
            && reqwest::header::HeaderValue::from_str(&value).is_ok();
        if !valid || RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(ApiError::invalid(
                "invalid_header",
                format!("header {name:?} is not a valid or allowed request header"),
            ));
        }
        headers.push((name, value));
    }
    let max_attempts = request.max_attempts.unwrap_or(defaults.policy.max_attempts);
    if !(1..=MAX_ATTEMPTS_LIMIT).contains(&max_attempts) {
        return Err(ApiError::invalid(
            "invalid_max_attempts",
            format!("`max_attempts` must be between 1 and {MAX_ATTEMPTS_LIMIT}"),
        ));
    }
    let retry_schedule = match request.retry_schedule {
        None => defaults.policy.schedule.clone(),
        Some(list) => list
            .iter()
            .map(|d| parse_duration(d).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()
            .and_then(|delays| RetrySchedule::new(delays).map_err(|e| e.to_string()))
            .map_err(|e| ApiError::invalid("invalid_retry_schedule", e))?,
    };
    if let Some(key) = &request.idempotency_key {
        if key.is_empty() || key.len() > 200 {
            return Err(ApiError::invalid(
                "invalid_idempotency_key",
                "`idempotency_key` must have 1 to 200 characters",
            ));
        }
    }
    let success = success_rule(request.success)?;
    Ok(NewNotification {
        destination,
        success,
        body,
        content_type,
        headers,
        policy: RetryPolicy {
            max_attempts,
            schedule: retry_schedule,
        },
        idempotency_key: request.idempotency_key,
        tenant: None,
        subject: None,
        kind: GENERIC_KIND.to_owned(),
    })
}

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
    ApiJson(request): ApiJson<CreateRequest>,
) -> Result<Response, ApiError> {
    let new = build(request, &state)?;
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
        match build(item, &state) {
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
    ApiPath(id): ApiPath<String>,
) -> Result<Json<NotificationView>, ApiError> {
    let id = parse_id(&id)?;
    let notification = state
        .store
        .get(id)
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("notification {id}")))?;
    let attempts = state.store.attempts(id).await?;
    Ok(Json(NotificationView::new(notification, Some(attempts))))
}

/// Counts by status and the oldest overdue notification's wait.
#[utoipa::path(get, path = "/stats", tag = "notifications",
    responses((status = 200, description = "The outbox's counts", body = crate::outbox::Stats), AdminErrors),
    security(("admin_token" = [])))]
pub async fn stats(State(state): State<AppState>) -> Result<Json<crate::outbox::Stats>, ApiError> {
    Ok(Json(state.store.stats(state.clock.now()).await?))
}
