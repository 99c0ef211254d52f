//! Admin API of netpay orders, standing in for the buyer and the payment channel:
//! `POST|GET /admin/v1/orders`, `GET /admin/v1/orders/{id}`,
//! `POST /admin/v1/orders/{id}/transitions` (pay, close, refund the rest) and
//! `POST /admin/v1/orders/{id}/refunds` (refund part of it).
//!
//! States are named as the order's product names them (`PAID` for a QR bill,
//! `TRADE_SUCCESS` for a trade order); see [`crate::platform::payments::order`].
//!
//! The rules are the order service's ([`crate::platform::payments::OrderService`]): these
//! handlers read the request, call it, and answer its outcome or refusal ([`refused`]).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use crate::access::Principal;
use crate::admin::error::{AdminErrors, ErrorBody};
use crate::admin::extract::{ApiJson, ApiPath, ApiQuery};
use crate::admin::page::PageRequest;
use crate::admin::ApiError;
use crate::platform::payments::order::{Order, OrderRefusal, OrderState, Product};
use crate::platform::payments::requests::{CreateOrder, OrderTransition, RefundRequest};
use crate::platform::payments::requests::{OrderMoved, OrderRefused};
use crate::platform::payments::store::OrderFilter;
use crate::platform::sandbox::Sandbox;

pub use crate::platform::http::admin::order_views::{
    OrderChangeView, OrderList, OrderView, PaymentView, RefundView,
};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    mid: Option<String>,
    #[param(value_type = Option<Product>)]
    product: Option<String>,
    /// A state as a product names it, such as `PAID` (bills) or `TRADE_SUCCESS` (trade
    /// orders); it lists only orders of that product.
    status: Option<String>,
    /// Page size, 1 to 500 (50 by default).
    limit: Option<u32>,
    cursor: Option<String>,
}

/// A refusal of the order service as the admin API answers it (the console shows its
/// message too).
pub fn refused(refusal: OrderRefused) -> ApiError {
    let message = refusal.to_string();
    match refusal {
        OrderRefused::Invalid { .. } => ApiError::invalid("invalid_field", message),
        OrderRefused::InvalidState(_) => ApiError::invalid("invalid_state", message),
        OrderRefused::InvalidTargetSys => ApiError::invalid("invalid_target_sys", message),
        OrderRefused::InvalidNotifyUrl(_) => ApiError::invalid("invalid_notify_url", message),
        OrderRefused::DestinationNotAllowed(_) => {
            ApiError::invalid("destination_not_allowed", message)
        }
        OrderRefused::NoDefaultNotify(refused) => super::contracts::no_default_notify(refused),
        OrderRefused::UnknownMerchant(_) => ApiError::invalid("unknown_merchant", message),
        OrderRefused::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, "not_found", message),
        OrderRefused::DuplicateOrderNo { .. } => ApiError::conflict("duplicate_order_no", message),
        OrderRefused::Rule(rule) => match rule {
            OrderRefusal::Illegal { .. }
            | OrderRefusal::Expired(_)
            | OrderRefusal::Guarantee(_) => ApiError::conflict("illegal_transition", message),
            OrderRefusal::RefundIdReused(_) => {
                ApiError::conflict("duplicate_refund_order_id", message)
            }
            OrderRefusal::RefundTooLarge { .. } | OrderRefusal::RefundNotPositive => {
                ApiError::conflict("refund_exceeds_amount", message)
            }
            // Only a merchant's own request leaves the number to the platform; the admin
            // API never does, but a missing field it would be.
            OrderRefusal::RefundOrderIdRequired { .. } => {
                ApiError::invalid("invalid_field", message)
            }
            // The admin API names no share: it refunds a split bill in full only.
            OrderRefusal::Split(split) if split.is_malformed() => {
                ApiError::invalid("invalid_amount", message)
            }
            OrderRefusal::Split(_) => ApiError::conflict("refund_exceeds_amount", message),
        },
        OrderRefused::RefundRepeated(_) => ApiError::conflict("duplicate_refund_order_id", message),
    }
}

/// Create an order (QR bill or trade order) as if the merchant had created it through
/// the platform API.
#[utoipa::path(post, path = "/orders", tag = "orders",
    request_body = CreateOrder,
    responses(
        (status = 201, description = "Created, unpaid", body = OrderView),
        (status = 409, description = "`duplicate_order_no`", body = ErrorBody),
        (status = 422, description = "`invalid_field`, `unknown_merchant`, `missing_notify_url`, `invalid_notify_url`, `destination_not_allowed`, `unknown_field`, `invalid_request`", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn create(
    State(sandbox): State<Sandbox>,
    principal: Principal,
    ApiJson(mut request): ApiJson<CreateOrder>,
) -> Result<(StatusCode, Json<OrderView>), ApiError> {
    // A merchant's order is its own: `mid` defaults to it, and another merchant's is
    // as unknown as one that does not exist.
    if let Some(own) = principal.merchant() {
        match request.mid.as_deref() {
            None => request.mid = Some(own.to_owned()),
            Some(mid) if mid != own => {
                return Err(refused(OrderRefused::UnknownMerchant(mid.to_owned())))
            }
            Some(_) => {}
        }
    }
    let order = sandbox.orders.create(request).await?.map_err(refused)?;
    Ok((
        StatusCode::CREATED,
        Json(OrderView::new(order, Some(Vec::new()))),
    ))
}

/// Orders, newest first, in pages.
#[utoipa::path(get, path = "/orders", tag = "orders",
    params(ListQuery),
    responses((status = 200, description = "A page", body = OrderList), AdminErrors),
    security(("admin_token" = [])))]
pub async fn list(
    State(sandbox): State<Sandbox>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<OrderList>, ApiError> {
    let product = query
        .product
        .map(|p| p.parse::<Product>())
        .transpose()
        .map_err(ApiError::invalid_query)?;
    // Each product names its states its own way, so a status also names the product.
    let (product, state) = match &query.status {
        None => (product, None),
        Some(status) => {
            let products = product.map_or(Product::ALL.to_vec(), |p| vec![p]);
            let (product, state) = products
                .iter()
                .find_map(|p| OrderState::from_wire(*p, status).ok().map(|s| (*p, s)))
                .ok_or_else(|| {
                    ApiError::invalid_query(match product {
                        // The product's own list of states says what would do.
                        Some(p) => OrderState::from_wire(p, status).err().unwrap_or_default(),
                        None => format!("`status` {status:?} is not a state of an order"),
                    })
                })?;
            (Some(product), Some(state))
        }
    };
    let page_request = PageRequest::read(query.limit, query.cursor.as_deref())?;
    let Ok(mid) = principal.list_filter(query.mid) else {
        return Ok(Json(OrderList {
            orders: Vec::new(),
            next_cursor: None,
        }));
    };
    let filter = OrderFilter {
        mid,
        product,
        state,
        before_id: page_request.before,
        limit: page_request.limit,
    };
    let page = sandbox.orders.store.orders(&filter).await?;
    let next_cursor = page_request.next_cursor(&page, |o| o.id);
    Ok(Json(OrderList {
        orders: page.into_iter().map(|o| OrderView::new(o, None)).collect(),
        next_cursor,
    }))
}

/// One order with its payment and refunds.
#[utoipa::path(get, path = "/orders/{id}", tag = "orders",
    params(("id" = i64, Path, description = "The order's id", example = 1)),
    responses(
        (status = 200, description = "The order", body = OrderView),
        (status = 404, description = "`not_found`", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn show(
    State(sandbox): State<Sandbox>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<OrderView>, ApiError> {
    let order = visible(&sandbox, &principal, &id).await?;
    let refunds = sandbox.orders.store.refunds(order.id).await?;
    Ok(Json(OrderView::new(order, Some(refunds))))
}

/// Order `id`, if it exists and `principal` sees it; else its 404.
pub async fn visible(
    sandbox: &Sandbox,
    principal: &Principal,
    id: &str,
) -> Result<Order, ApiError> {
    let order = sandbox.orders.order_of(id).await?.map_err(refused)?;
    if principal.sees(Some(&order.mid)) {
        Ok(order)
    } else {
        Err(refused(OrderRefused::NotFound(id.to_owned())))
    }
}

/// The admin API's view of an order moved.
async fn changed(sandbox: &Sandbox, moved: OrderMoved) -> Result<Json<OrderChangeView>, ApiError> {
    let refunds = sandbox.orders.store.refunds(moved.order.id).await?;
    Ok(Json(OrderChangeView {
        order: OrderView::new(*moved.order, Some(refunds)),
        refund: moved.refund.map(Into::into),
        notification_ids: moved.notifications,
    }))
}

/// Move an order: pay it (`PAID` / `TRADE_SUCCESS`), close it (`CLOSED` /
/// `TRADE_CLOSED`) or refund what is left of it (`REFUND` / `TRADE_REFUND`). The change
/// and its payment-result notice are one transaction.
#[utoipa::path(post, path = "/orders/{id}/transitions", tag = "orders",
    params(("id" = i64, Path, description = "The order's id", example = 1)),
    request_body = OrderTransition,
    responses(
        (status = 200, description = "Moved; the notices enqueued", body = OrderChangeView),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`illegal_transition`", body = ErrorBody),
        (status = 422, description = "`invalid_state`, `invalid_target_sys`, `unknown_field`, `invalid_request`", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn transition(
    State(sandbox): State<Sandbox>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<OrderTransition>,
) -> Result<Json<OrderChangeView>, ApiError> {
    visible(&sandbox, &principal, &id).await?;
    let moved = sandbox.orders.transition(&id, request).await?;
    changed(&sandbox, moved.map_err(refused)?).await
}

/// Refund part (or all) of a paid order, as the merchant's refund API would; its
/// payment-result notice is enqueued in the same transaction.
#[utoipa::path(post, path = "/orders/{id}/refunds", tag = "orders",
    params(("id" = i64, Path, description = "The order's id", example = 1)),
    request_body = RefundRequest,
    responses(
        (status = 201, description = "Refunded; the notices enqueued", body = OrderChangeView),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`illegal_transition`, `refund_exceeds_amount`, `duplicate_refund_order_id`", body = ErrorBody),
        (status = 422, description = "`invalid_field`, `unknown_field`, `invalid_request`", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn refund(
    State(sandbox): State<Sandbox>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<RefundRequest>,
) -> Result<(StatusCode, Json<OrderChangeView>), ApiError> {
    visible(&sandbox, &principal, &id).await?;
    let moved = sandbox.orders.refund(&id, request).await?;
    let view = changed(&sandbox, moved.map_err(refused)?).await?;
    Ok((StatusCode::CREATED, view))
}
