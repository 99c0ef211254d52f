//! Listing notifications: newest first, in pages, filtered by status, tenant, subject and
//! kind.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::error::AdminErrors;
use super::extract::ApiQuery;
use super::page::PageRequest;
use super::views::NotificationView;
use super::{ApiError, AppState};
use crate::access::Principal;
use crate::outbox::{ListFilter, Status};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only notifications in this status.
    #[param(value_type = Option<Status>)]
    status: Option<String>,
    /// Page size, 1 to 500 (50 by default).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Only this tenant's (a merchant's `mid`). A merchant access key sees its own
    /// tenant's only, asked or not.
    tenant: Option<String>,
    /// Only about this subject (a contractId).
    subject: Option<String>,
    /// Only of this kind (`generic`, `contract_state`).
    kind: Option<String>,
    /// Only to this destination host, as `host:port` (`shop.example:443`).
    host: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ListView {
    notifications: Vec<NotificationView>,
    /// Pass as `cursor` to get the next (older) page; absent on the last page.
    next_cursor: Option<String>,
}

/// Notifications, newest first, in pages.
#[utoipa::path(get, path = "/notifications", tag = "notifications",
    params(ListQuery),
    responses(
        (status = 200, description = "A page", body = ListView),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<ListView>, ApiError> {
    let status = query
        .status
        .map(|s| s.parse::<Status>())
        .transpose()
        .map_err(ApiError::invalid_query)?;
    let page_request = PageRequest::read(query.limit, query.cursor.as_deref())?;
    let Ok(tenant) = principal.list_filter(query.tenant) else {
        return Ok(Json(ListView {
            notifications: Vec::new(),
            next_cursor: None,
        }));
    };
    let filter = ListFilter {
        status,
        tenant,
        subject: query.subject,
        kind: query.kind,
        host: query.host,
        before_id: page_request.before,
        limit: page_request.limit,
    };
    let page = state.store.list(&filter).await?;
    let next_cursor = page_request.next_cursor(&page, |n| n.id);
    Ok(Json(ListView {
        notifications: page
            .into_iter()
            .map(|n| NotificationView::new(n, None))
            .collect(),
        next_cursor,
    }))
}
