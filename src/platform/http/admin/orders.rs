//! Admin API of netpay orders, standing in for the buyer and the payment channel:
//! `POST|GET /admin/v1/orders`, `GET /admin/v1/orders/{id}`,
//! `POST /admin/v1/orders/{id}/transitions` (pay, close, refund the rest) and
//! `POST /admin/v1/orders/{id}/refunds` (refund part of it).
//!
//! States are named as the order's product names them (`PAID` for a QR bill,
//! `TRADE_SUCCESS` for a trade order); see [`crate::platform::payments::order`].

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use crate::admin::error::{AdminErrors, ErrorBody};
use crate::admin::extract::{ApiJson, ApiPath, ApiQuery};
use crate::admin::page::PageRequest;
use crate::admin::ApiError;
use crate::duration::parse_duration;
use crate::platform::payments::events::{Cause, OrderEvent, Refused};
use crate::platform::payments::fields::{self as order_fields, generate_order_no, order_no_max};
use crate::platform::payments::order::{Order, OrderRefusal, OrderState, Product, CHANNELS};
use crate::platform::payments::service::OrderTerms;
use crate::platform::payments::store::{OrderChangeOutcome, OrderCreateOutcome, OrderFilter};
use crate::platform::sandbox::Sandbox;
use crate::platform::wire::fields;

pub use crate::platform::http::admin::order_views::{
    OrderChangeView, OrderList, OrderView, PaymentView, RefundView,
};

/// An order to create as if the merchant had created it through the platform API.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrder {
    mid: Option<String>,
    /// In fen.
    #[schema(value_type = i64)]
    total_amount: Option<serde_json::Value>,
    /// The merchant's default when left out.
    notify_url: Option<String>,
    /// `trade` (an H5 / mini-program order, the default) or `bill` (a QR bill).
    #[schema(value_type = Option<Product>)]
    product: Option<String>,
    /// The `merOrderId` or `billNo`; generated from the merchant's source number when
    /// left out.
    order_no: Option<String>,
    description: Option<String>,
    tid: Option<String>,
    inst_mid: Option<String>,
    /// How long it stays payable, such as `30m` (the default) or `2h`.
    expire_after: Option<String>,
}

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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderTransition {
    /// The state to move to, as the order's product names it.
    to: String,
    /// For a payment: the channel (`WXPay`, the default, `Alipay` or `UnionPay`).
    target_sys: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// In fen.
    #[schema(value_type = i64)]
    amount: Option<serde_json::Value>,
    /// Generated from the merchant's source number when left out.
    refund_order_id: Option<String>,
}

/// The merchant's source number, which the order's number starts with.
fn source_number(order: &Order) -> String {
    order.order_no.chars().take(4).collect()
}

fn invalid(message: String) -> ApiError {
    ApiError::invalid("invalid_field", message)
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(&format!("order {id:?}"))
}

/// Create an order (QR bill or trade order) as if the merchant had created it through
/// the platform API.
#[utoipa::path(post, path = "/orders", tag = "orders",
    request_body = CreateOrder,
    responses(
        (status = 201, description = "Created, unpaid", body = OrderView),
        (status = 409, description = "`duplicate_order_no`", body = ErrorBody),
        (status = 422, description = "`invalid_field`, `unknown_merchant`, `missing_notify_url`, `invalid_notify_url`, `unknown_field`, `invalid_request`", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn create(
    State(sandbox): State<Sandbox>,
    ApiJson(request): ApiJson<CreateOrder>,
) -> Result<(StatusCode, Json<OrderView>), ApiError> {
    let mid = fields::require("mid", request.mid.as_deref())
        .map_err(|_| invalid("`mid` is required".to_owned()))?
        .to_owned();
    fields::validate_mid(&mid).map_err(|e| invalid(e.message))?;
    let total_amount = order_fields::amount(
        "`total_amount`",
        request
            .total_amount
            .as_ref()
            .ok_or_else(|| invalid("`total_amount` is required".to_owned()))?,
    )
    .map_err(invalid)?;
    let product = match request.product.as_deref() {
        None => Product::Trade,
        Some(p) => p.parse().map_err(invalid)?,
    };
    let description = request.description.unwrap_or_default();
    order_fields::description("`description`", &description).map_err(invalid)?;
    let tid = request.tid.unwrap_or_else(|| "88880001".to_owned());
    order_fields::tid("`tid`", &tid).map_err(invalid)?;
    let inst_mid = request
        .inst_mid
        .unwrap_or_else(|| product.default_inst_mid().to_owned());
    order_fields::inst_mid("`inst_mid`", &inst_mid).map_err(invalid)?;
    let now = sandbox.now();
    let expires_at = match request.expire_after.as_deref() {
        None => None,
        Some(text) => {
            let after = parse_duration(text)
                .ok()
                .and_then(|d| chrono::Duration::from_std(d).ok())
                .ok_or_else(|| {
                    invalid(format!(
                        "`expire_after` is not a duration such as 30m: {text:?}"
                    ))
                })?;
            // Checked before it is added: a huge duration must not overflow the time.
            let at = now
                .checked_add_signed(after)
                .ok_or_else(|| invalid("`expire_after` must be at most 30d".to_owned()))?;
            order_fields::expiry("`expire_after`", at, now).map_err(invalid)?;
            Some(at)
        }
    };
    let notify = request
        .notify_url
        .as_deref()
        .filter(|url| !url.is_empty())
        .map(fields::notify_target)
        .transpose()
        .map_err(|e| {
            ApiError::invalid(
                "invalid_notify_url",
                e.message.replace("notifyUrl", "`notify_url`"),
            )
        })?;
    let merchant = sandbox.merchants.merchant(&mid).await?.ok_or_else(|| {
        ApiError::invalid("unknown_merchant", format!("merchant {mid} does not exist"))
    })?;
    let order_no = match request.order_no {
        Some(no) => {
            order_fields::order_no(
                "`order_no`",
                &no,
                order_no_max(product),
                &merchant.msg_src_id,
            )
            .map_err(invalid)?;
            no
        }
        None => generate_order_no(&merchant.msg_src_id, now),
    };
    let notify = match notify {
        Some(notify) => notify,
        None => crate::platform::http::admin::contracts::default_notify_target(&merchant)?,
    };
    let terms = OrderTerms {
        product,
        order_no,
        tid,
        inst_mid,
        bill_date: match product {
            Product::Bill => crate::platform::wire::time::format_wall_clock(now, "%Y-%m-%d"),
            Product::Trade => String::new(),
        },
        total_amount,
        description,
        expires_at,
        h5: None,
    };
    let new = sandbox.orders.draft(&merchant, terms, notify, now);
    match sandbox.orders.store.create_order(new, None, now).await? {
        OrderCreateOutcome::Created(order) => {
            tracing::info!(mid = %order.mid, order_no = %order.order_no, "order created by the admin API");
            Ok((
                StatusCode::CREATED,
                Json(OrderView::new(order, Some(Vec::new()))),
            ))
        }
        OrderCreateOutcome::DuplicateOrderNo(existing) => Err(ApiError::conflict(
            "duplicate_order_no",
            format!(
                "merchant {mid} already has order {} with order_no {}",
                existing.id, existing.order_no
            ),
        )),
        OrderCreateOutcome::NonceReplayed => Err(anyhow::anyhow!("no nonce was given").into()),
    }
}

/// Orders, newest first, in pages.
#[utoipa::path(get, path = "/orders", tag = "orders",
    params(ListQuery),
    responses((status = 200, description = "A page", body = OrderList), AdminErrors),
    security(("admin_token" = [])))]
pub async fn list(
    State(sandbox): State<Sandbox>,
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
    let filter = OrderFilter {
        mid: query.mid,
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

async fn order_of(sandbox: &Sandbox, id: &str) -> Result<Order, ApiError> {
    let number: i64 = id.parse().map_err(|_| not_found(id))?;
    sandbox
        .orders
        .store
        .order(number)
        .await?
        .ok_or_else(|| not_found(id))
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
    ApiPath(id): ApiPath<String>,
) -> Result<Json<OrderView>, ApiError> {
    let order = order_of(&sandbox, &id).await?;
    let refunds = sandbox.orders.store.refunds(order.id).await?;
    Ok(Json(OrderView::new(order, Some(refunds))))
}

/// The admin API's answer to an order event.
async fn changed(
    sandbox: &Sandbox,
    id: &str,
    outcome: OrderChangeOutcome,
) -> Result<Json<OrderChangeView>, ApiError> {
    match outcome {
        OrderChangeOutcome::Done {
            order,
            refund,
            notifications,
        } => {
            tracing::info!(mid = %order.mid, order_no = %order.order_no, status = order.status(), "order moved by the admin API");
            let refunds = sandbox.orders.store.refunds(order.id).await?;
            Ok(Json(OrderChangeView {
                order: OrderView::new(*order, Some(refunds)),
                refund: refund.map(Into::into),
                notification_ids: notifications,
            }))
        }
        OrderChangeOutcome::NotFound => Err(not_found(id)),
        OrderChangeOutcome::Refused(Refused::Rule(refusal)) => Err(refused(refusal)),
        OrderChangeOutcome::Refused(Refused::Repeated(refund)) => Err(ApiError::conflict(
            "duplicate_refund_order_id",
            format!(
                "refund {} of {} fen was already made; nothing was refunded again",
                refund.refund_order_id, refund.amount
            ),
        )),
        OrderChangeOutcome::Refused(Refused::NotDue) | OrderChangeOutcome::NonceReplayed => {
            Err(anyhow::anyhow!("an admin change was refused as a simulated one").into())
        }
    }
}

fn refused(refusal: OrderRefusal) -> ApiError {
    match refusal {
        OrderRefusal::Illegal { .. } | OrderRefusal::Expired(_) => {
            ApiError::conflict("illegal_transition", refusal.to_string())
        }
        OrderRefusal::RefundIdReused(_) => {
            ApiError::conflict("duplicate_refund_order_id", refusal.to_string())
        }
        OrderRefusal::RefundTooLarge { .. } | OrderRefusal::RefundNotPositive => {
            ApiError::conflict("refund_exceeds_amount", refusal.to_string())
        }
    }
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
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<OrderTransition>,
) -> Result<Json<OrderChangeView>, ApiError> {
    let order = order_of(&sandbox, &id).await?;
    let to = OrderState::from_wire(order.product, &request.to)
        .map_err(|e| ApiError::invalid("invalid_state", e))?;
    let target_sys = match request.target_sys {
        None => CHANNELS[0].to_owned(),
        Some(channel) if CHANNELS.contains(&channel.as_str()) => channel,
        Some(_) => {
            return Err(ApiError::invalid(
                "invalid_target_sys",
                format!("`target_sys` must be one of {}", CHANNELS.join(", ")),
            ))
        }
    };
    let event = match to {
        OrderState::Paid => OrderEvent::Pay { target_sys },
        OrderState::Closed => OrderEvent::Close,
        OrderState::Refunded => OrderEvent::Refund {
            refund_order_id: generate_order_no(&source_number(&order), sandbox.now()),
            amount: None,
        },
        OrderState::Unpaid => {
            return Err(refused(order.check_move(to).err().unwrap_or_else(|| {
                OrderRefusal::Illegal {
                    from: order.status(),
                    to: to.wire(order.product),
                    why: "an order never becomes unpaid again".to_owned(),
                }
            })))
        }
    };
    let outcome = sandbox
        .orders
        .apply(order.id, event, Cause::Admin, None)
        .await?;
    changed(&sandbox, &id, outcome).await
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
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<RefundRequest>,
) -> Result<(StatusCode, Json<OrderChangeView>), ApiError> {
    let order = order_of(&sandbox, &id).await?;
    let amount = order_fields::amount(
        "`amount`",
        request
            .amount
            .as_ref()
            .ok_or_else(|| invalid("`amount` is required".to_owned()))?,
    )
    .map_err(invalid)?;
    let prefix = source_number(&order);
    let refund_order_id = match request.refund_order_id {
        Some(no) => {
            order_fields::order_no("`refund_order_id`", &no, 32, &prefix).map_err(invalid)?;
            no
        }
        None => generate_order_no(&prefix, sandbox.now()),
    };
    let event = OrderEvent::Refund {
        refund_order_id,
        amount: Some(amount),
    };
    let outcome = sandbox
        .orders
        .apply(order.id, event, Cause::Admin, None)
        .await?;
    let view = changed(&sandbox, &id, outcome).await?;
    Ok((StatusCode::CREATED, view))
}
