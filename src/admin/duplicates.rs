//! Duplicate testing: `POST /admin/v1/notifications/{id}/duplicate` sends one more copy of
//! a notification, as the platform's re-sends do ([`crate::producer::Producer::duplicate`]).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use crate::access::Principal;
use crate::admin::extract::ApiPath;
use crate::admin::notifications::NotificationView;
use crate::admin::ApiError;
use crate::admin::AppState;

/// Send one more copy of a notification: the same URL and bytes, tries of its own.
#[utoipa::path(post, path = "/notifications/{id}/duplicate", tag = "notifications",
    params(("id" = i64, Path, description = "The notification to copy")),
    responses(
        (status = 201, description = "The copy", body = NotificationView),
        (status = 404, description = "`not_found`", body = crate::admin::error::ErrorBody),
        crate::admin::error::AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn duplicate(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<(StatusCode, Json<NotificationView>), ApiError> {
    let not_found = || ApiError::not_found(&format!("notification {id:?}"));
    let id_number: i64 = id.parse().map_err(|_| not_found())?;
    crate::admin::scoped::notification(state.store.as_ref(), &principal, id_number)
        .await?
        .ok_or_else(not_found)?;
    let enqueued = state
        .producer()
        .duplicate(id_number)
        .await?
        .ok_or_else(not_found)?;
    Ok((
        StatusCode::CREATED,
        Json(NotificationView::new(enqueued.notification, None)),
    ))
}
