//! The HTTP surface of the platform simulation, with [`Sandbox`] as its state: the admin
//! routes ([`admin`]) and the platform's own (`/v1/...`, [`open`]), each with its
//! audience, authentication and error shape.

pub mod admin;
pub mod open;

use axum::routing::{get, post};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::platform::sandbox::Sandbox;

/// Routes mounted under `/admin/v1`, behind the admin token.
pub fn admin_router<S>(sandbox: Sandbox) -> OpenApiRouter<S> {
    OpenApiRouter::new()
        .routes(routes!(admin::merchants::create, admin::merchants::list))
        .routes(routes!(admin::merchants::show, admin::merchants::update))
        .routes(routes!(admin::contracts::create, admin::contracts::list))
        .routes(routes!(admin::contracts::show))
        .routes(routes!(admin::contracts::transition))
        .routes(routes!(admin::orders::create, admin::orders::list))
        .routes(routes!(admin::orders::show))
        .routes(routes!(admin::orders::transition))
        .routes(routes!(admin::orders::refund))
        .with_state(sandbox)
}

/// The platform's own routes (`/v1/...`), authenticated by the platform's schemes.
pub fn open_router<S>(sandbox: Sandbox) -> OpenApiRouter<S> {
    OpenApiRouter::new()
        .routes(routes!(open::authn::access_token))
        .routes(routes!(open::entrust_pay::sign))
        .routes(routes!(open::entrust_pay::sign_query))
        .routes(routes!(open::netpay::bills::get_qrcode))
        .routes(routes!(open::netpay::bills::query))
        .routes(routes!(open::netpay::bills::refund))
        .routes(routes!(open::netpay::bills::close_qrcode))
        .routes(routes!(open::netpay::trade::unified_order))
        .routes(routes!(open::netpay::trade::mini_pre_order))
        .routes(routes!(open::netpay::trade::query))
        .routes(routes!(open::netpay::trade::close))
        .routes(routes!(open::netpay::trade::refund))
        .routes(routes!(open::netpay::trade::refund_query))
        .routes(routes!(open::netpay::h5::alipay))
        .routes(routes!(open::netpay::h5::wxpay))
        .routes(routes!(open::netpay::h5::unionpay))
        // The cashier's HTML pages, outside the API description.
        .route("/netpay/cashier/{token}", get(open::netpay::cashier::page))
        .route(
            "/netpay/cashier/{token}/pay",
            post(open::netpay::cashier::pay),
        )
        .route(
            "/netpay/cashier/{token}/cancel",
            post(open::netpay::cashier::cancel),
        )
        .with_state(sandbox)
}
