//! The HTTP surface of the platform simulation, with [`Sandbox`] as its state: the admin
//! routes ([`admin`]), the platform's own (`/v1/...`, [`open`]) and the netpay bill
//! gateway (`/netpay-route-server/api/`, [`gateway`]), each with its audience,
//! authentication and error shape.

pub mod admin;
pub mod gateway;
pub mod open;

use axum::routing::{any, get, post};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::platform::http::open::unmatched::gateway_answers;
use crate::platform::sandbox::Sandbox;

/// Routes mounted under `/admin/v1`, behind the admin token.
pub fn admin_router<S>(sandbox: Sandbox) -> OpenApiRouter<S> {
    OpenApiRouter::new()
        .routes(routes!(admin::merchants::create, admin::merchants::list))
        .routes(routes!(admin::merchants::show, admin::merchants::update))
        .routes(routes!(admin::rotation::rotate))
        .routes(routes!(admin::access_keys::issue, admin::access_keys::list))
        .routes(routes!(admin::access_keys::revoke))
        .routes(routes!(admin::contracts::create, admin::contracts::list))
        .routes(routes!(admin::contracts::show))
        .routes(routes!(admin::contracts::transition))
        .routes(routes!(admin::orders::create, admin::orders::list))
        .routes(routes!(admin::orders::show))
        .routes(routes!(admin::orders::transition))
        .routes(routes!(admin::orders::refund))
        .routes(routes!(admin::codes::show))
        .routes(routes!(admin::codes::scan))
        .routes(routes!(admin::triggers::list))
        .routes(routes!(admin::triggers::trigger))
        .routes(routes!(crate::relay::session::open_session))
        .routes(routes!(crate::relay::session::show))
        .with_state(sandbox)
}

/// The platform's own routes (`/v1/...`), authenticated by the platform's schemes. What
/// reaches none of them (an unknown path under `/v1/`, a wrong method) is answered in
/// the gateway's shape too.
pub fn open_router<S>(sandbox: Sandbox) -> OpenApiRouter<S> {
    OpenApiRouter::new()
        .routes(gateway_answers(routes!(open::authn::access_token)))
        .routes(gateway_answers(routes!(open::entrust_pay::sign)))
        .routes(gateway_answers(routes!(open::entrust_pay::sign_query)))
        .routes(gateway_answers(routes!(open::netpay::bills::get_qrcode)))
        .routes(gateway_answers(routes!(open::netpay::bills::query)))
        .routes(gateway_answers(routes!(open::netpay::bills::refund)))
        .routes(gateway_answers(routes!(open::netpay::bills::close_qrcode)))
        .routes(gateway_answers(routes!(open::netpay::trade::unified_order)))
        .routes(gateway_answers(routes!(
            open::netpay::trade::mini_pre_order
        )))
        .routes(gateway_answers(routes!(open::netpay::trade::query)))
        .routes(gateway_answers(routes!(open::netpay::trade::close)))
        .routes(gateway_answers(routes!(open::netpay::trade::refund)))
        .routes(gateway_answers(routes!(open::netpay::trade::refund_query)))
        .routes(gateway_answers(routes!(open::netpay::h5::alipay)))
        .routes(gateway_answers(routes!(open::netpay::h5::wxpay)))
        .routes(gateway_answers(routes!(open::netpay::h5::unionpay)))
        // The bill gateway, with its trailing slash (as the spec writes it) and without.
        .routes(routes!(gateway::api))
        .routes(routes!(gateway::api_without_slash))
        // Any other path under /v1/: the gateway's 404, outside the API description.
        .route("/v1/", any(open::unmatched::no_such_api))
        .route("/v1/{*rest}", any(open::unmatched::no_such_api))
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
        // A QR bill's page, at the path of its billQRCode, outside the API description.
        .route(
            "/bills/qrCode.do",
            get(open::netpay::bill_page::page).post(open::netpay::bill_page::pay),
        )
        .route(
            "/bills/qrCode.do/return",
            get(open::netpay::bill_page::back),
        )
        .with_state(sandbox)
}
