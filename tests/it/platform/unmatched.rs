//! Requests that reach no platform API: any unknown path under `/v1/` is HTTP 404 and an
//! API called with a method it does not take is HTTP 405 (with `Allow`), both in the
//! gateway's shape (`errCode`, `errInfo`), whatever the method and authentication;
//! paths outside `/v1/` keep the admin API's answers.

use serde_json::Value;

use crate::common::{Backend, TestApp, TestDb};

async fn send(app: &TestApp, method: reqwest::Method, path: &str) -> (u16, String, Value) {
    let response = app
        .http
        .request(method, app.url(path))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let allow = response
        .headers()
        .get("allow")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, allow, response.json().await.unwrap_or(Value::Null))
}

/// The gateway's shape: a non-empty `errCode` and `errInfo`, nothing else.
fn assert_gateway(answer: &Value, code: &str, says: &str) {
    assert_eq!(answer["errCode"], code, "{answer}");
    let info = answer["errInfo"].as_str().unwrap_or_default();
    assert!(info.contains(says), "{says:?} not in {answer}");
    assert_eq!(answer.as_object().map(|o| o.len()), Some(2), "{answer}");
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_answer_in_the_gateways_shape() {
    let db = TestDb::new(Backend::Sqlite)
        .await
        .expect("SQLite is always there");
    let app = db.spawn(|_| {}).await;
    use reqwest::Method;
    for (method, path) in [
        (Method::POST, "/v1/netpay/foo"),
        (Method::GET, "/v1/unknown"),
        (Method::POST, "/v1/netpay/bills/query/extra"),
        (Method::DELETE, "/v1/token"),
        (Method::GET, "/v1/"),
    ] {
        let (status, _, answer) = send(&app, method.clone(), path).await;
        assert_eq!(status, 404, "{method} {path}: {answer}");
        assert_gateway(
            &answer,
            "4004",
            &format!("no platform API at {method} {path}"),
        );
    }
    for (method, path, allowed) in [
        (Method::GET, "/v1/netpay/query", "POST"),
        (Method::PUT, "/v1/token/access", "POST"),
        (Method::POST, "/v1/netpay/trade/h5-pay", "GET"),
    ] {
        let (status, allow, answer) = send(&app, method.clone(), path).await;
        assert_eq!(status, 405, "{method} {path}: {answer}");
        assert!(allow.contains(allowed), "Allow: {allow:?} for {path}");
        assert_gateway(
            &answer,
            "4005",
            &format!("{path} takes {allowed}, not {method}"),
        );
    }
    // A known API with its method still reaches the API (here its authentication).
    let (status, _, answer) = send(&app, Method::POST, "/v1/netpay/query").await;
    assert_eq!(
        (status, &answer["errCode"]),
        (200, &Value::from("3001")),
        "{answer}"
    );
    // Outside /v1/, the admin API's shape stays.
    let (status, _, answer) = send(&app, Method::GET, "/admin/v1/nothing-here").await;
    assert_eq!(status, 404);
    assert!(answer["error"]["code"].is_string(), "{answer}");
    app.stop().await;
}
