//! The OpenAPI 3.1 description of every endpoint, generated from the handlers'
//! `#[utoipa::path]` attributes and the request and answer types, and served at
//! `GET /openapi.json` without a token.

use std::sync::Arc;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi;
use utoipa::Modify;

/// The parts of the description that belong to no one handler: title, version, tags and
/// the admin token's security scheme. The paths are added as the routes are registered.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "ums-notify",
        description = "A sandbox of the ChinaUMS open platform's notification center. The admin API (`/admin/v1`, bearer admin token) drives the outbox, the simulated merchants, contracts, orders and conformance checks; the platform API (`/v1/...`) answers merchants' own client code as the platform does, always HTTP 200 with an `errCode`.",
        license(name = "MIT OR Apache-2.0")
    ),
    tags(
        (name = "notifications", description = "The outbox: enqueue, inspect, redeliver, cancel"),
        (name = "merchants", description = "Simulated merchants and their credentials"),
        (name = "contracts", description = "Password-free contracts and their state changes"),
        (name = "orders", description = "Netpay orders (QR bills, H5 / mini-program orders): payment, close, refunds"),
        (name = "triggers", description = "Named notices fired on demand through the real simulation"),
        (name = "checks", description = "Conformance checks of a merchant's notify handler"),
        (name = "relay", description = "`ums-notify listen` sessions: a merchant's notices relayed to its developer's machine"),
        (name = "platform", description = "The platform's own API, as merchants' client code calls it"),
        (name = "netpay", description = "The platform's netpay order API (QR bills, mini-program orders), answering `errCode` `SUCCESS` or an error name"),
        (name = "gateway", description = "The netpay bill gateway (网付, msgType and sign in the JSON body), as the official demo calls it"),
        (name = "health", description = "Liveness, readiness, metrics and this description"),
    ),
    modifiers(&AdminToken)
)]
pub struct ApiDoc;

/// The admin API's bearer token.
struct AdminToken;

impl Modify for AdminToken {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "`UMS_NOTIFY_ADMIN_TOKEN` (the operator: everything), or a merchant access key `umsk_…` (its own merchant only: another merchant's resources answer 404, the operator's actions 403, and the key has a request budget); the token is not needed when none is set on loopback",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "open_access_token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`OPEN-ACCESS-TOKEN AccessToken=<token>`, a token from `POST /v1/token/access`",
            ))),
        );
        components.add_security_scheme(
            "open_body_sig",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`OPEN-BODY-SIG AppId=\"…\", Timestamp=\"…\", Nonce=\"…\", Signature=\"…\"` over the exact body",
            ))),
        );
    }
}

/// The finished description as JSON, rendered once.
#[derive(Clone)]
pub struct Description(Arc<String>);

impl Description {
    pub fn new(openapi: OpenApi) -> Self {
        // A description is plain data; rendering it cannot fail.
        Self(Arc::new(openapi.to_pretty_json().unwrap_or_default()))
    }
}

/// This description.
#[utoipa::path(get, path = "/openapi.json", tag = "health",
    responses((status = 200, description = "The OpenAPI 3.1 description of this service", content_type = "application/json", body = Object)))]
pub async fn openapi_json(Extension(description): Extension<Description>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        description.0.as_str().to_owned(),
    )
        .into_response()
}
