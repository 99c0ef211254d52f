//! Bulk redelivery, `POST /admin/v1/notifications/redeliver`: a new round of tries for
//! every notification a filter matches (at most [`REPLAY_LIMIT`] per call), as the single
//! redeliver gives one; the filter's rules, which the console's button shares.
//!
//! The tenant is an explicit condition of the filter, so a caller bound to one merchant
//! can have it forced to its own `mid`.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::{AdminErrors, ErrorBody};
use super::extract::ApiJson;
use super::{ApiError, AppState};
use crate::outbox::{ReplayFilter, Status, REPLAY_LIMIT};

/// Which notifications to redeliver: every condition given must hold, and at least one
/// must be given.
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// Only this tenant's (a merchant's `mid`). A merchant access key replays its own
    /// tenant's only, asked or not.
    pub tenant: Option<String>,
    /// Only of this kind (`generic`, `contract_state`, `payment_result`).
    pub kind: Option<String>,
    /// Only in this status: `pending`, `delivered`, `failed` or `cancelled` (a
    /// `delivering` notification has a try running and cannot be redelivered).
    pub status: Option<String>,
    /// Only about this subject (a contractId, an order number).
    pub subject: Option<String>,
    /// Only to this destination host, as `host:port`.
    pub host: Option<String>,
    /// Only created at or after this instant (RFC 3339, such as `2024-07-01T08:00:00Z`).
    #[schema(format = DateTime)]
    pub created_from: Option<String>,
    /// Only created before this instant (RFC 3339).
    #[schema(format = DateTime)]
    pub created_to: Option<String>,
}

/// What a bulk redelivery did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReplayView {
    /// Notifications given a new round of tries, due now (the oldest first).
    pub redelivered: u64,
    /// Whether more matched than one call moves: call again for the next ones.
    pub more: bool,
    /// Matching notifications left alone because a try of theirs was running.
    pub skipped_running: u64,
    /// The most one call moves.
    pub limit: u32,
}

/// A condition's text: absent stays absent; an empty one is refused.
fn condition(name: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    match value {
        Some(value) if value.trim().is_empty() => Err(ApiError::invalid(
            "invalid_filter",
            format!("`{name}` must not be empty; leave it out to match any {name}"),
        )),
        other => Ok(other),
    }
}

fn instant(name: &str, value: Option<String>) -> Result<Option<DateTime<Utc>>, ApiError> {
    value
        .map(|text| {
            DateTime::parse_from_rfc3339(text.trim())
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    ApiError::invalid(
                        "invalid_time",
                        format!(
                            "`{name}` must be an RFC 3339 instant such as 2024-07-01T08:00:00Z; got {text:?}"
                        ),
                    )
                })
        })
        .transpose()
}

impl ReplayRequest {
    /// The filter the request asks for, or why it cannot be one (nothing is changed).
    pub fn filter(self) -> Result<ReplayFilter, ApiError> {
        let status = match self.status {
            None => None,
            Some(text) => match text.parse::<Status>() {
                Ok(Status::Delivering) | Err(_) => {
                    return Err(ApiError::invalid(
                        "invalid_status",
                        format!(
                            "`status` must be one of pending, delivered, failed, cancelled \
                             (a delivering notification has a try running); got {text:?}"
                        ),
                    ))
                }
                Ok(status) => Some(status),
            },
        };
        let filter = ReplayFilter {
            tenant: condition("tenant", self.tenant)?,
            kind: condition("kind", self.kind)?,
            status,
            subject: condition("subject", self.subject)?,
            host: condition("host", self.host)?,
            created_from: instant("created_from", self.created_from)?,
            created_to: instant("created_to", self.created_to)?,
        };
        if let (Some(from), Some(to)) = (filter.created_from, filter.created_to) {
            if from >= to {
                return Err(ApiError::invalid(
                    "invalid_time_range",
                    format!("`created_from` ({from}) must be before `created_to` ({to})"),
                ));
            }
        }
        if filter.is_empty() {
            return Err(ApiError::invalid(
                "empty_filter",
                "give at least one of tenant, kind, status, subject, host, created_from, \
                 created_to: an empty filter would redeliver everything",
            ));
        }
        Ok(filter)
    }
}

/// Redeliver every notification a filter matches: each gets a new round of tries, due
/// now, with the same bytes (as `POST /notifications/{id}/redeliver`), the oldest first
/// and at most 10,000 per call; `more` says whether others matched.
#[utoipa::path(post, path = "/notifications/redeliver", tag = "notifications",
    request_body = ReplayRequest,
    responses(
        (status = 200, description = "Redelivered; how many, and whether more matched", body = ReplayView),
        (status = 422, description = "`empty_filter`, `invalid_status`, `invalid_time`, `invalid_time_range`, `invalid_filter`, `unknown_field`, `invalid_request`", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn redeliver_matching(
    State(state): State<AppState>,
    principal: crate::access::Principal,
    ApiJson(mut request): ApiJson<ReplayRequest>,
) -> Result<Json<ReplayView>, ApiError> {
    let asked = request.tenant.take();
    let Ok(tenant) = principal.list_filter(asked.clone()) else {
        // Another merchant's notifications match nothing of this caller's (the rest of
        // the filter is still checked).
        request.tenant = asked;
        request.filter()?;
        return Ok(Json(ReplayView {
            redelivered: 0,
            more: false,
            skipped_running: 0,
            limit: REPLAY_LIMIT,
        }));
    };
    request.tenant = tenant;
    let filter = request.filter()?;
    let replayed = state.producer().redeliver_matching(&filter).await?;
    tracing::info!(
        redelivered = replayed.redelivered,
        more = replayed.more,
        "notifications redelivered in bulk"
    );
    Ok(Json(ReplayView {
        redelivered: replayed.redelivered,
        more: replayed.more,
        skipped_running: replayed.running,
        limit: REPLAY_LIMIT,
    }))
}
