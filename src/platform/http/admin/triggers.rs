//! Admin API of trigger fixtures: `GET /admin/v1/triggers` (the catalogue) and
//! `POST /admin/v1/merchants/{mid}/triggers` (fire one). The rules are
//! [`crate::platform::triggers`]'; these handlers read the request and answer the outcome
//! or the refusal ([`refused`]).
//!
//! The merchant is named by the path alone, so a caller bound to one merchant can be held
//! to its own `mid`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::admin::error::{AdminErrors, ErrorBody};
use crate::admin::extract::{ApiJson, ApiPath};
use crate::admin::ApiError;
use crate::platform::payments::requests::OrderRefused;
use crate::platform::sandbox::Sandbox;
use crate::platform::triggers::set::SetRefused;
use crate::platform::triggers::{self, TriggerRefused, Triggered, FIXTURES};

/// A fixture to fire and the fields of its order or contract.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerRequest {
    /// The fixture's name, such as `payment.paid` (`GET /admin/v1/triggers` lists them).
    #[schema(example = "payment.paid")]
    pub fixture: String,
    /// The order's or contract's own fields, such as `{"total_amount": "250",
    /// "description": "一杯咖啡"}`; each fixture names those it takes. Values are strings
    /// (numbers are read as their digits).
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, String>)]
    pub set: BTreeMap<String, serde_json::Value>,
}

/// One move a fixture made.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TriggerStepView {
    /// The state the order or contract moved to, by its wire name (`TRADE_SUCCESS`,
    /// `SIGNED`, …).
    state: String,
    /// The notices the move sent (one, plus the merchant's extra copies).
    notification_ids: Vec<i64>,
}

/// What a fixture created and sent.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TriggerView {
    fixture: String,
    mid: String,
    /// The outbox kind of its notices (`payment_result`, `contract_state`).
    kind: String,
    /// The order it created (order fixtures).
    order_id: Option<i64>,
    order_no: Option<String>,
    /// The contract it created (contract fixtures).
    contract_id: Option<String>,
    /// Its moves, in order.
    steps: Vec<TriggerStepView>,
    /// Every notice it sent, in order; each is marked `triggered_by` this fixture.
    notification_ids: Vec<i64>,
}

impl TriggerView {
    fn new(mid: String, triggered: Triggered) -> Self {
        Self {
            notification_ids: triggered.notification_ids(),
            fixture: triggered.fixture.name.to_owned(),
            kind: triggered.fixture.kind().to_owned(),
            mid,
            order_id: triggered.order_id,
            order_no: triggered.order_no,
            contract_id: triggered.contract_id,
            steps: triggered
                .steps
                .into_iter()
                .map(|s| TriggerStepView {
                    state: s.state,
                    notification_ids: s.notification_ids,
                })
                .collect(),
        }
    }
}

/// A fixture as the catalogue shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FixtureView {
    name: &'static str,
    /// What it does and the notices it sends.
    sends: &'static str,
    /// The outbox kind of its notices.
    kind: &'static str,
    /// The fields `set` may give it.
    fields: Vec<&'static str>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FixtureList {
    fixtures: Vec<FixtureView>,
}

/// A refusal of a trigger as the admin API answers it (the console shows its message).
pub fn refused(refusal: TriggerRefused) -> ApiError {
    let message = refusal.to_string();
    match refusal {
        TriggerRefused::UnknownFixture { .. } => ApiError::invalid("unknown_fixture", message),
        TriggerRefused::UnknownMerchant(_) => {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
        }
        TriggerRefused::Set(SetRefused::UnknownField { .. }) => {
            ApiError::invalid("unknown_set_field", message)
        }
        TriggerRefused::Set(SetRefused::Invalid { .. })
        | TriggerRefused::Order(OrderRefused::Invalid { .. }) => {
            ApiError::invalid("invalid_set_field", message)
        }
        TriggerRefused::NoticeNotSent(_) => ApiError::conflict("notice_not_sent", message),
        TriggerRefused::NoDefaultNotify(refused) => super::contracts::no_default_notify(refused),
        TriggerRefused::DestinationNotAllowed(_) => {
            ApiError::invalid("destination_not_allowed", message)
        }
        TriggerRefused::Order(refused) => super::orders::refused(refused),
        TriggerRefused::DuplicateContractNo { .. } => {
            ApiError::conflict("duplicate_contract_no", message)
        }
    }
}

/// Every trigger fixture, with what it sends and the fields it takes.
#[utoipa::path(get, path = "/triggers", tag = "triggers",
    responses((status = 200, description = "The catalogue", body = FixtureList), AdminErrors),
    security(("admin_token" = [])))]
pub async fn list() -> Json<FixtureList> {
    Json(FixtureList {
        fixtures: FIXTURES
            .iter()
            .map(|f| FixtureView {
                name: f.name,
                sends: f.sends,
                kind: f.kind(),
                fields: f.fields(),
            })
            .collect(),
    })
}

/// Fire a named notice for a merchant: the fixture creates an order or contract with the
/// fields given and moves it through the real simulation, so each notice is the one the
/// platform would send. Nothing is written when the request is refused.
#[utoipa::path(post, path = "/merchants/{mid}/triggers", tag = "triggers",
    params(("mid" = String, Path, description = "The merchant number")),
    request_body = TriggerRequest,
    responses(
        (status = 201, description = "Fired; what it created and the notices it sent", body = TriggerView),
        (status = 404, description = "`not_found`: no such merchant", body = ErrorBody),
        (status = 409, description = "`notice_not_sent` (the merchant's settings send no such notice), `duplicate_order_no`, `duplicate_contract_no`", body = ErrorBody),
        (status = 422, description = "`unknown_fixture`, `unknown_set_field`, `invalid_set_field`, `missing_notify_url`, `invalid_notify_url`, `destination_not_allowed`, `unknown_field`, `invalid_request`", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn trigger(
    State(sandbox): State<Sandbox>,
    principal: crate::access::Principal,
    ApiPath(mid): ApiPath<String>,
    ApiJson(request): ApiJson<TriggerRequest>,
) -> Result<(StatusCode, Json<TriggerView>), ApiError> {
    crate::platform::http::admin::merchants::visible(&sandbox, &principal, &mid).await?;
    let triggered = triggers::trigger(&sandbox, &mid, &request.fixture, &request.set)
        .await?
        .map_err(refused)?;
    Ok((StatusCode::CREATED, Json(TriggerView::new(mid, triggered))))
}
