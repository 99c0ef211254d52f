//! The OpenAPI description: served without a token, and complete. The completeness test
//! walks the router the service really serves (through axum's `Debug` view of its route
//! table) and fails on any route or method the description lacks, or describes but the
//! router does not answer. Only HTML pages are left out, the console's (`/console/...`),
//! the sandbox cashier's (`/netpay/cashier/...`) and bill pages' (`/bills/...`), and the
//! platform's answer to unknown paths under `/v1/` (`/v1/`, `/v1/{*rest}`), which is no
//! API.

use std::collections::BTreeSet;

use serde_json::Value;
use ums_notify::clock::Clock;
use ums_notify::startup::Application;

use crate::common::{Backend, TestDb};

/// `(METHOD, path)` of every route in axum's `Debug` rendering of a router: the route
/// table maps route ids to paths (`paths: {RouteId(3): "/a/{id}", …}`) and route ids to
/// method routers (`RouteId(3): MethodRouter(MethodRouter { get: Route(…), head: None, …`).
fn routes_of(debug: &str) -> BTreeSet<(String, String)> {
    let mut paths = std::collections::HashMap::new();
    let paths_start = debug
        .find("paths: {")
        .expect("a route table in the router's Debug");
    // Entries until the table's closing brace; paths hold braces but no quotes.
    let mut rest = &debug[paths_start + "paths: {".len()..];
    while let Some(entry) = rest.trim_start_matches([',', ' ']).strip_prefix("RouteId(") {
        let (number, after) = entry.split_once(')').expect("RouteId(n)");
        let after = after.strip_prefix(": \"").expect("RouteId(n): \"path\"");
        let (path, after) = after.split_once('"').expect("a quoted path");
        paths.insert(format!("RouteId({number})"), path.to_owned());
        rest = after;
    }
    assert!(
        rest.trim_start().starts_with('}'),
        "the path table ends: {rest:.80}"
    );
    let mut routes = BTreeSet::new();
    for (id, path) in &paths {
        let marker = format!("{id}: MethodRouter(MethodRouter {{");
        let start = debug
            .find(&marker)
            .unwrap_or_else(|| panic!("no method router for {id} ({path})"));
        let body = &debug[start + marker.len()..];
        let body = &body[..body.find("allow_header").expect("the method router's end")];
        for method in [
            "get", "delete", "options", "patch", "post", "put", "trace", "connect",
        ] {
            let field = format!(" {method}: ");
            let at = body.find(&field).expect("every method field is shown");
            if !body[at + field.len()..].starts_with("None") {
                routes.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

fn described(description: &Value) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (path, item) in description["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            routes.insert((method.to_uppercase(), path.clone()));
        }
    }
    routes
}

#[tokio::test]
async fn every_route_is_described_and_every_description_is_a_route() {
    let db = TestDb::new(Backend::Sqlite)
        .await
        .expect("SQLite is always there");
    let app = Application::build(db.settings(), Clock::system())
        .await
        .expect("application builds");
    // HTML pages are not part of the API the description covers.
    let served: BTreeSet<_> = routes_of(&format!("{:?}", app.router()))
        .into_iter()
        .filter(|(_, path)| {
            !path.starts_with("/console")
                && !path.starts_with("/netpay/cashier")
                && !path.starts_with("/bills/")
                && !["/v1/", "/v1/{*rest}"].contains(&path.as_str())
        })
        .collect();
    assert!(
        served.len() >= 25,
        "the walk found too few routes to be right: {served:?}"
    );

    let test_app = db.spawn(|_| {}).await;
    let response = reqwest::get(test_app.url("/openapi.json")).await.unwrap();
    assert_eq!(response.status(), 200, "served without a token");
    assert_eq!(response.headers()["content-type"], "application/json");
    let description: Value = response.json().await.unwrap();
    assert_eq!(description["openapi"], "3.1.0");
    let documented = described(&description);

    let missing: Vec<_> = served.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes missing from /openapi.json: {missing:?}"
    );
    let phantom: Vec<_> = documented.difference(&served).collect();
    assert!(phantom.is_empty(), "described but not served: {phantom:?}");
    test_app.stop().await;
}

#[tokio::test]
async fn the_description_names_errors_and_the_admin_token() {
    let db = TestDb::new(Backend::Sqlite)
        .await
        .expect("SQLite is always there");
    let app = db
        .spawn(|settings| settings.admin_token = Some("s3cret".into()))
        .await;
    let description: Value = reqwest::get(app.url("/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let schemes = &description["components"]["securitySchemes"];
    assert_eq!(schemes["admin_token"]["scheme"], "bearer");
    let error = &description["components"]["schemas"]["ErrorDetail"]["properties"];
    assert!(
        error["code"].is_object() && error["message"].is_object(),
        "{error}"
    );
    for (path, item) in description["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            assert!(!responses.is_empty(), "{method} {path} has no responses");
            if path.starts_with("/admin/") {
                assert_eq!(
                    operation["security"][0]["admin_token"],
                    serde_json::json!([]),
                    "{method} {path} names the admin token"
                );
                for status in ["401", "500"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} lacks {status}"
                    );
                }
            }
        }
    }
    let create = &description["paths"]["/admin/v1/notifications"]["post"]["responses"];
    assert!(create["422"]["description"]
        .as_str()
        .unwrap()
        .contains("invalid_url"));
    app.stop().await;
}
