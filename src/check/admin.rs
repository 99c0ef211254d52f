//! Admin routes of the conformance check: start a run against a merchant's notify URL
//! with its credentials, read a run, list a merchant's runs.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header::LOCATION, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::Principal;
use crate::admin::error::{AdminErrors, ErrorBody};
use crate::admin::extract::ApiPath;
use crate::admin::ApiError;
use crate::check::runs::{CheckRuns, Run, StartError};
use crate::check::{self, Family, KnownOrder, PaymentTarget, Target};
use crate::platform::http::admin::merchants::visible;
use crate::platform::payments::order::Product;
use crate::platform::payments::store::OrderFilter;
use crate::platform::sandbox::Sandbox;
use crate::platform::wire::fields;

/// What the check's routes reach: the platform (merchants, orders) and the runs.
#[derive(Clone)]
pub struct Checks {
    pub sandbox: Sandbox,
    pub runs: CheckRuns,
}

/// The check's routes, mounted under `/admin/v1` behind the admin token.
pub fn router<S>(checks: Checks) -> OpenApiRouter<S> {
    OpenApiRouter::new()
        .routes(routes!(start, list))
        .routes(routes!(show))
        .with_state(checks)
}

/// The optional body of `POST /admin/v1/merchants/{mid}/checks`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartCheck {
    /// Check this URL instead of the merchant's notify URL.
    pub notify_url: Option<String>,
    /// Run only these checks (of any family).
    #[serde(default)]
    pub only: Vec<String>,
    /// Run the checks of this family (`contract`, the default, or `payment`).
    #[serde(default)]
    pub family: Family,
    /// The payment checks report this order of the merchant paid (its admin id); the
    /// merchant's latest order by default.
    pub order_id: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunList {
    pub checks: Vec<Run>,
}

/// Run the conformance check against the merchant's notify URL, with its appId and
/// appKey (contract notices) or its md5Key and an order (payment notices), in the
/// background. The body is optional.
#[utoipa::path(post, path = "/merchants/{mid}/checks", tag = "checks",
    params(("mid" = String, Path, description = "The merchant number")),
    request_body(content = Option<StartCheck>, description = "Optional: another notify URL, a subset of checks"),
    responses(
        (status = 202, description = "Started; poll the `Location`", body = Run),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 422, description = "`no_notify_url`, `invalid_notify_url`, `destination_not_allowed`, `unknown_check`, `no_order`, `unknown_order`, `unknown_field`, `invalid_request`", body = ErrorBody),
        (status = 429, description = "`checks_busy`", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn start(
    State(state): State<Checks>,
    principal: Principal,
    ApiPath(mid): ApiPath<String>,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    visible(&state.sandbox, &principal, &mid).await?;
    let request = if body.iter().all(u8::is_ascii_whitespace) {
        StartCheck::default()
    } else {
        Json::<StartCheck>::from_bytes(&body)?.0
    };
    let run = start_run(&state, &mid, request).await?;
    let location = format!("/admin/v1/checks/{}", run.id);
    Ok((StatusCode::ACCEPTED, [(LOCATION, location)], Json(run)))
}

/// Starts a run of `request` against merchant `mid`: what `start` does behind its body
/// parsing, for the console too.
pub async fn start_run(state: &Checks, mid: &str, request: StartCheck) -> Result<Run, ApiError> {
    let sandbox = &state.sandbox;
    let merchant = sandbox
        .merchants
        .merchant(mid)
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("merchant {mid:?}")))?;
    let notify_url = match request.notify_url.or(merchant.notify_url) {
        Some(url) => url,
        None => {
            return Err(ApiError::invalid(
                "no_notify_url",
                format!(
                    "merchant {mid:?} has no notify URL; give one in `notify_url` or set the merchant's"
                ),
            ))
        }
    };
    fields::validate_notify_url(&notify_url)
        .map_err(|error| ApiError::invalid("invalid_notify_url", error.message))?;
    sandbox
        .producer
        .egress
        .admit_url(&notify_url)
        .map_err(|refused| ApiError::destination_not_allowed("notify_url", &refused))?;
    let checks = check::select(&request.only, request.family)
        .map_err(|error| ApiError::invalid("unknown_check", error.to_string()))?;
    let payment = if check::needs(&checks, Family::Payment) {
        let order = known_order(sandbox, mid, request.order_id).await?;
        Some(PaymentTarget {
            md5_key: merchant.md5_key,
            sign_type: merchant.sign_type,
            order,
        })
    } else {
        None
    };
    let target = Target {
        notify_url,
        app_id: merchant.app_id,
        app_key: merchant.app_key,
        mid: merchant.mid,
        payment,
    };
    // A run records the checks it was asked for; a family other than the default is
    // recorded as its checks.
    let only = if request.only.is_empty() && request.family != Family::Contract {
        checks.iter().map(|spec| spec.id.to_owned()).collect()
    } else {
        request.only
    };
    state
        .runs
        .start(target, &only, checks)
        .await
        .map_err(|error| match error {
            StartError::Busy => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "checks_busy",
                error.to_string(),
            ),
            StartError::Store(error) => ApiError::internal(error),
        })
}

/// The order the payment checks report paid: `order_id` of the merchant, or its latest.
async fn known_order(
    sandbox: &Sandbox,
    mid: &str,
    order_id: Option<i64>,
) -> Result<KnownOrder, ApiError> {
    let order = match order_id {
        Some(id) => sandbox
            .orders
            .store
            .order(id)
            .await?
            .filter(|order| order.mid == mid)
            .ok_or_else(|| {
                ApiError::invalid("unknown_order", format!("merchant {mid} has no order {id}"))
            })?,
        None => {
            let filter = OrderFilter {
                mid: Some(mid.to_owned()),
                limit: 1,
                ..OrderFilter::default()
            };
            let latest = sandbox
                .orders
                .store
                .orders(&filter)
                .await?
                .into_iter()
                .next();
            latest.ok_or_else(|| {
                ApiError::invalid(
                    "no_order",
                    format!(
                        "merchant {mid} has no order for the payment checks to report paid; create one (through the netpay API or POST /admin/v1/orders) first"
                    ),
                )
            })?
        }
    };
    Ok(KnownOrder {
        product: order.product,
        bill_date: (order.product == Product::Bill).then(|| order.bill_date.clone()),
        order_no: order.order_no,
        total_amount: order.total_amount,
    })
}

/// One check run, with its report once finished.
#[utoipa::path(get, path = "/checks/{id}", tag = "checks",
    params(("id" = i64, Path, description = "The run's id")),
    responses(
        (status = 200, description = "The run", body = Run),
        (status = 404, description = "`not_found`", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn show(
    State(state): State<Checks>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Run>, ApiError> {
    state
        .runs
        .get(id)
        .await?
        .filter(|run| principal.sees(Some(&run.mid)))
        .map(Json)
        .ok_or_else(|| ApiError::not_found(&format!("check run {id}")))
}

/// A merchant's 50 latest check runs, newest first, without their reports.
#[utoipa::path(get, path = "/merchants/{mid}/checks", tag = "checks",
    params(("mid" = String, Path, description = "The merchant number")),
    responses(
        (status = 200, description = "The runs", body = RunList),
        (status = 404, description = "`not_found`", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn list(
    State(state): State<Checks>,
    principal: Principal,
    ApiPath(mid): ApiPath<String>,
) -> Result<Json<RunList>, ApiError> {
    visible(&state.sandbox, &principal, &mid).await?;
    Ok(Json(RunList {
        checks: state.runs.of_merchant(&mid).await?,
    }))
}
