//! Duplicate testing: `POST /admin/v1/notifications/{id}/duplicate` sends one more copy of
//! a notification, as the platform's re-sends do: the same bytes to the same URL, a new
//! outbox entry with tries of its own (signed afresh on each try).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use crate::api::extract::ApiPath;
use crate::api::notifications::NotificationView;
use crate::api::ApiError;
use crate::platform::sandbox::Sandbox;
use crate::store::NewNotification;

/// Send one more copy of a notification: the same URL and bytes, tries of its own.
#[utoipa::path(post, path = "/notifications/{id}/duplicate", tag = "notifications",
    params(("id" = i64, Path, description = "The notification to copy")),
    responses(
        (status = 201, description = "The copy", body = NotificationView),
        (status = 404, description = "`not_found`", body = crate::api::error::ErrorBody),
        crate::api::error::AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn duplicate(
    State(sandbox): State<Sandbox>,
    ApiPath(id): ApiPath<String>,
) -> Result<(StatusCode, Json<NotificationView>), ApiError> {
    let not_found = || ApiError::not_found(&format!("notification {id:?}"));
    let id_number: i64 = id.parse().map_err(|_| not_found())?;
    let producer = &sandbox.producer;
    let original = producer.store.get(id_number).await?.ok_or_else(not_found)?;
    let copy = NewNotification {
        destination: original.destination,
        success: original.success,
        body: original.body,
        content_type: original.content_type,
        headers: original.headers,
        policy: original.policy,
        idempotency_key: None,
        tenant: original.tenant,
        subject: original.subject,
        kind: original.kind,
    };
    let enqueued = producer.enqueue(copy).await?;
    Ok((
        StatusCode::CREATED,
        Json(NotificationView::new(enqueued.notification, None)),
    ))
}
