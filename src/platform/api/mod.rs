//! The HTTP surface of the platform simulation, with [`Sandbox`] as its state:
//!
//! - admin routes, mounted under `/admin/v1` behind the admin token, answering the admin
//!   API's errors (`{"error": {"code", "message"}}`): [`merchants`], [`contracts`],
//!   [`duplicates`], [`checks`] (conformance check runs);
//! - the platform's own routes (`/v1/...`), answering platform-style
//!   (`{"errCode", "errInfo"}`, see [`error`]): [`authn`] (access tokens) and
//!   [`entrust_pay`] (sign, sign-query).

pub mod authn;
pub mod checks;
pub mod contracts;
pub mod duplicates;
pub mod entrust_pay;
pub mod error;
pub mod merchants;

use axum::routing::{get, post};
use axum::Router;

use super::sandbox::Sandbox;

/// Routes mounted under `/admin/v1`, behind the admin token.
pub fn admin_router<S>(sandbox: Sandbox) -> Router<S> {
    Router::new()
        .route("/merchants", post(merchants::create).get(merchants::list))
        .route(
            "/merchants/{mid}",
            get(merchants::show).patch(merchants::update),
        )
        .route(
            "/merchants/{mid}/checks",
            post(checks::start).get(checks::list),
        )
        .route("/checks/{id}", get(checks::show))
        .route("/contracts", post(contracts::create).get(contracts::list))
        .route("/contracts/{contract_id}", get(contracts::show))
        .route(
            "/contracts/{contract_id}/transitions",
            post(contracts::transition),
        )
        .route("/notifications/{id}/duplicate", post(duplicates::duplicate))
        .with_state(sandbox)
}

/// The platform's own routes (`/v1/...`), authenticated by the platform's schemes.
pub fn public_router<S>(sandbox: Sandbox) -> Router<S> {
    Router::new()
        .route("/v1/token/access", post(authn::access_token))
        .route(
            "/v1/inip/sign/uac/entrust-pay/sign",
            post(entrust_pay::sign),
        )
        .route(
            "/v1/inip/sign/uac/entrust-pay/sign-query",
            post(entrust_pay::sign_query),
        )
        .with_state(sandbox)
}
