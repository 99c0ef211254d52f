//! Every admin route's scope rule: whether a merchant access key may call it at all.
//!
//! The rule is declared here, once per route, and the gate refuses a route that has
//! none (500, and the scope walk in the tests fails), so a new route cannot slip out
//! unscoped. A route a merchant may call confines it to its own merchant in the handler
//! (through [`super::Principal`]); the table says only that it may call it.

use axum::http::Method;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The operator only: a merchant key gets 403 `forbidden`.
    Operator,
    /// The operator, and a merchant on its own resources (others' answer 404).
    OwnMerchant,
}

use Scope::{Operator, OwnMerchant};

/// Every admin route by method and template (as the router matches it).
pub const RULES: &[(&str, &str, Scope)] = &[
    // The outbox.
    ("POST", "/admin/v1/notifications", OwnMerchant),
    ("GET", "/admin/v1/notifications", OwnMerchant),
    ("POST", "/admin/v1/notifications/batch", OwnMerchant),
    ("GET", "/admin/v1/notifications/{id}", OwnMerchant),
    (
        "POST",
        "/admin/v1/notifications/{id}/redeliver",
        OwnMerchant,
    ),
    (
        "POST",
        "/admin/v1/notifications/{id}/deliver-now",
        OwnMerchant,
    ),
    ("POST", "/admin/v1/notifications/{id}/cancel", OwnMerchant),
    (
        "POST",
        "/admin/v1/notifications/{id}/duplicate",
        OwnMerchant,
    ),
    ("POST", "/admin/v1/notifications/redeliver", OwnMerchant),
    ("GET", "/admin/v1/stats", OwnMerchant),
    // Merchants: creating one is the operator's; a merchant reads and sets its own.
    ("POST", "/admin/v1/merchants", Operator),
    ("GET", "/admin/v1/merchants", OwnMerchant),
    ("GET", "/admin/v1/merchants/{mid}", OwnMerchant),
    ("PATCH", "/admin/v1/merchants/{mid}", OwnMerchant),
    ("POST", "/admin/v1/merchants/{mid}/rotate", OwnMerchant),
    ("POST", "/admin/v1/merchants/{mid}/access-keys", OwnMerchant),
    ("GET", "/admin/v1/merchants/{mid}/access-keys", OwnMerchant),
    (
        "DELETE",
        "/admin/v1/merchants/{mid}/access-keys/{id}",
        OwnMerchant,
    ),
    // Contracts, orders and fixed codes.
    ("POST", "/admin/v1/contracts", OwnMerchant),
    ("GET", "/admin/v1/contracts", OwnMerchant),
    ("GET", "/admin/v1/contracts/{contract_id}", OwnMerchant),
    (
        "POST",
        "/admin/v1/contracts/{contract_id}/transitions",
        OwnMerchant,
    ),
    ("POST", "/admin/v1/orders", OwnMerchant),
    ("GET", "/admin/v1/orders", OwnMerchant),
    ("GET", "/admin/v1/orders/{id}", OwnMerchant),
    ("POST", "/admin/v1/orders/{id}/transitions", OwnMerchant),
    ("POST", "/admin/v1/orders/{id}/refunds", OwnMerchant),
    ("GET", "/admin/v1/codes/{qr_code_id}", OwnMerchant),
    ("POST", "/admin/v1/codes/{qr_code_id}/scans", OwnMerchant),
    // Trigger fixtures: the catalogue is public knowledge; firing one is the merchant's.
    ("GET", "/admin/v1/triggers", OwnMerchant),
    ("POST", "/admin/v1/merchants/{mid}/triggers", OwnMerchant),
    // The relay: a session is a merchant's own (the operator is refused in the handler:
    // a session needs a merchant); its status is the merchant's and the operator's.
    ("GET", "/admin/v1/relay/session", OwnMerchant),
    ("GET", "/admin/v1/merchants/{mid}/relay", OwnMerchant),
    // Conformance check runs.
    ("POST", "/admin/v1/merchants/{mid}/checks", OwnMerchant),
    ("GET", "/admin/v1/merchants/{mid}/checks", OwnMerchant),
    ("GET", "/admin/v1/checks/{id}", OwnMerchant),
];

/// The rule of `method` on route template `route`, if it has one.
pub fn rule(method: &Method, route: &str) -> Option<Scope> {
    RULES
        .iter()
        .find(|(m, r, _)| *m == method.as_str() && *r == route)
        .map(|(_, _, scope)| *scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_route_is_declared_once() {
        for (i, (method, route, _)) in RULES.iter().enumerate() {
            assert!(
                !RULES[i + 1..]
                    .iter()
                    .any(|(m, r, _)| m == method && r == route),
                "{method} {route} is declared twice"
            );
        }
        assert_eq!(rule(&Method::POST, "/admin/v1/merchants"), Some(Operator));
        assert_eq!(rule(&Method::GET, "/admin/v1/nowhere"), None);
    }
}
