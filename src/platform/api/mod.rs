//! The HTTP surface of the platform simulation, with [`Sandbox`] as its state:
//!
//! - admin routes, mounted under `/admin/v1` behind the admin token, answering the admin
//!   API's errors (`{"error": {"code", "message"}}`): [`merchants`], [`contracts`],
//!   [`orders`], [`duplicates`], [`checks`] (conformance check runs);
//! - the platform's own routes (`/v1/...`), answering platform-style
//!   (`{"errCode", "errInfo"}`, see [`error`]): [`authn`] (access tokens) and
//!   [`entrust_pay`] (sign, sign-query); the netpay order APIs ([`netpay`]) answer in
//!   netpay's own style (`{"errCode": "SUCCESS", "errMsg", …}`).

pub mod authn;
pub mod checks;
pub mod contracts;
pub mod entrust_pay;
pub mod error;
pub mod merchants;
pub mod netpay;
pub mod order_views;
pub mod orders;

use axum::routing::{get, post};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::sandbox::Sandbox;

/// Routes mounted under `/admin/v1`, behind the admin token.
pub fn admin_router<S>(sandbox: Sandbox) -> OpenApiRouter<S> {
    OpenApiRouter::new()
        .routes(routes!(merchants::create, merchants::list))
        .routes(routes!(merchants::show, merchants::update))
        .routes(routes!(checks::start, checks::list))
        .routes(routes!(checks::show))
        .routes(routes!(contracts::create, contracts::list))
        .routes(routes!(contracts::show))
        .routes(routes!(contracts::transition))
        .routes(routes!(orders::create, orders::list))
        .routes(routes!(orders::show))
        .routes(routes!(orders::transition))
        .routes(routes!(orders::refund))
        .with_state(sandbox)
}

/// The platform's own routes (`/v1/...`), authenticated by the platform's schemes.
pub fn public_router<S>(sandbox: Sandbox) -> OpenApiRouter<S> {
    OpenApiRouter::new()
        .routes(routes!(authn::access_token))
        .routes(routes!(entrust_pay::sign))
        .routes(routes!(entrust_pay::sign_query))
        .routes(routes!(netpay::bills::get_qrcode))
        .routes(routes!(netpay::bills::query))
        .routes(routes!(netpay::bills::refund))
        .routes(routes!(netpay::bills::close_qrcode))
        .routes(routes!(netpay::trade::unified_order))
        .routes(routes!(netpay::trade::query))
        .routes(routes!(netpay::trade::close))
        .routes(routes!(netpay::trade::refund))
        .routes(routes!(netpay::trade::refund_query))
        .routes(routes!(netpay::h5::alipay))
        .routes(routes!(netpay::h5::wxpay))
        .routes(routes!(netpay::h5::unionpay))
        // The cashier's HTML pages, outside the API description.
        .route("/netpay/cashier/{token}", get(netpay::cashier::page))
        .route("/netpay/cashier/{token}/pay", post(netpay::cashier::pay))
        .route(
            "/netpay/cashier/{token}/cancel",
            post(netpay::cashier::cancel),
        )
        .with_state(sandbox)
}
