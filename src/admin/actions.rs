//! Moving a notification by hand: redeliver (a new round of tries), deliver now (the
//! next try at once) and cancel, through the producer, with the refusal of a move its
//! state does not allow.

use axum::extract::State;
use axum::Json;

use super::error::{AdminErrors, ErrorBody};
use super::extract::ApiPath;
use super::notifications::parse_id;
use super::views::NotificationView;
use super::{ApiError, AppState};
use crate::access::Principal;
use crate::outbox::{ActionOutcome, AdminAction, Status};

async fn act(
    state: AppState,
    principal: Principal,
    id: String,
    action: AdminAction,
) -> Result<Json<NotificationView>, ApiError> {
    let id = parse_id(&id)?;
    if super::scoped::notification(state.store.as_ref(), &principal, id)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found(&format!("notification {id}")));
    }
    match state.producer().act(id, action).await? {
        ActionOutcome::Done(notification) => Ok(Json(NotificationView::new(*notification, None))),
        ActionOutcome::NotFound => Err(ApiError::not_found(&format!("notification {id}"))),
        ActionOutcome::Conflict(status) => Err(refusal(id, action, status)),
    }
}

/// Why notification `id`, being `status`, cannot take `action`.
pub fn refusal(id: i64, action: AdminAction, status: Status) -> ApiError {
    ApiError::conflict(
        "invalid_state",
        match action {
            AdminAction::Redeliver => format!(
                "notification {id} is {}: a try is running; redeliver it once it finishes",
                status.as_str()
            ),
            AdminAction::DeliverNow => format!(
                "notification {id} is {}; only a pending notification can be delivered now",
                status.as_str()
            ),
            AdminAction::Cancel => match status {
                Status::Delivering => {
                    format!("notification {id} has a try running; cancel it once the try finishes")
                }
                _ => format!("notification {id} is already {}", status.as_str()),
            },
        },
    )
}

/// Send again from the start: a fresh round of tries (not while a try runs).
#[utoipa::path(post, path = "/notifications/{id}/redeliver", tag = "notifications",
    params(("id" = i64, Path, description = "The notification's id")),
    responses(
        (status = 200, description = "Pending again, due now", body = NotificationView),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`invalid_state`: a try is running", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn redeliver(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<NotificationView>, ApiError> {
    act(state, principal, id, AdminAction::Redeliver).await
}

/// Try a pending notification now instead of at its next due time.
#[utoipa::path(post, path = "/notifications/{id}/deliver-now", tag = "notifications",
    params(("id" = i64, Path, description = "The notification's id")),
    responses(
        (status = 200, description = "Due now", body = NotificationView),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`invalid_state`: not pending", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn deliver_now(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<NotificationView>, ApiError> {
    act(state, principal, id, AdminAction::DeliverNow).await
}

/// Stop trying a notification.
#[utoipa::path(post, path = "/notifications/{id}/cancel", tag = "notifications",
    params(("id" = i64, Path, description = "The notification's id")),
    responses(
        (status = 200, description = "Cancelled", body = NotificationView),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`invalid_state`: finished already, or a try is running", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<NotificationView>, ApiError> {
    act(state, principal, id, AdminAction::Cancel).await
}
