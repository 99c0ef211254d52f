//! Two merchants on one sandbox: for every admin route the service describes, merchant
//! B's key is turned to merchant A's resource (its merchant record, notification,
//! contract, order, fixed code, check run and access key). B never reads A's data or
//! changes it: by-id routes answer 404 (as for nothing at all), lists and stats leave A
//! out, creating for A is refused, the operator's routes answer 403, and A's state is
//! the same afterwards. A's own key gets each read, so the walk's requests do name real
//! resources. A route the walk has no case for fails it, as does one without a scope
//! rule (the gate answers 500). Runs on SQLite and PostgreSQL.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use super::{issue_key, with_key};
use crate::common::gateway::{s, test_merchant, Gateway, TEST_KEY, TEST_MID, TEST_SRC};
use crate::common::payments::{create_merchant, create_order, NOWHERE};
use crate::common::{eventually, TestApp, TestDb};

both_backends!(merchant_b_can_neither_read_nor_change_merchant_a_through_any_route);

const B_MID: &str = "898310048165678";

/// A's resources, by the path parameter that names each.
struct Resources {
    notification: i64,
    contract: String,
    order: i64,
    code: String,
    check: i64,
    key_id: String,
}

async fn a_resources(app: &TestApp) -> Resources {
    test_merchant(app, NOWHERE).await;
    let (key_id, a_key) = issue_key(app, TEST_MID).await;
    let (status, _, n) = with_key(
        app,
        &a_key,
        Method::POST,
        "/admin/v1/notifications",
        Some(
            json!({"url": NOWHERE, "body": "a's", "content_type": "text/plain",
            "idempotency_key": "a-1"}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{n}");
    let (status, contract) = app
        .post(
            "/admin/v1/contracts",
            json!({"mid": TEST_MID, "contract_no": "A0000001", "plan_id": "PLAN0001"}),
        )
        .await;
    assert_eq!(status, 201, "{contract}");
    let order = create_order(app, json!({"mid": TEST_MID, "total_amount": 100})).await;
    let made = Gateway::new(TEST_SRC, TEST_KEY)
        .call(
            app,
            "bills.getQRCode",
            TEST_MID,
            vec![("totalAmount", s("500"))],
        )
        .await;
    assert_eq!(made["errCode"], "SUCCESS", "{made}");
    let (status, run) = app
        .post(&format!("/admin/v1/merchants/{TEST_MID}/checks"), json!({}))
        .await;
    assert_eq!(status, 202, "{run}");
    let check = run["id"].as_i64().unwrap();
    // The run probes A's notify URL; wait until it is over so A's state holds still.
    assert!(
        eventually(Duration::from_secs(30), || async {
            app.get(&format!("/admin/v1/checks/{check}")).await.1["status"] != "running"
        })
        .await,
        "the check run finishes"
    );
    Resources {
        notification: n["id"].as_i64().unwrap(),
        contract: contract["contract_id"].as_str().unwrap().to_owned(),
        order: order["id"].as_i64().unwrap(),
        code: made["qrCodeId"].as_str().unwrap().to_owned(),
        check,
        key_id,
    }
}

/// What B's request must get.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// 200, with nothing of A in it.
    Filtered,
    /// Refused: 403, 404 or 422, and nothing written.
    Refused,
    /// 201: B's own new notification (A's idempotency key finds nothing of A's).
    OwnCreated,
    /// The relay's WebSocket: it names no merchant (a session is bound to the key's
    /// own), so a plain request gets 400 `websocket_required` from either key.
    WebSocket,
}

/// Every admin route's case: the path and query aimed at A's resources, the body, and
/// what B must get.
fn cases(a: &Resources) -> BTreeMap<(String, String), (String, Option<Value>, Expect)> {
    use Expect::{Filtered, OwnCreated, Refused, WebSocket};
    let n = a.notification;
    let notify = json!({"url": NOWHERE, "body": "b's", "content_type": "text/plain",
        "idempotency_key": "a-1"});
    let rows: Vec<(&str, &str, String, Option<Value>, Expect)> = vec![
        (
            "POST",
            "/admin/v1/notifications",
            "/admin/v1/notifications".into(),
            Some(notify.clone()),
            OwnCreated,
        ),
        (
            "GET",
            "/admin/v1/notifications",
            format!("/admin/v1/notifications?tenant={TEST_MID}"),
            None,
            Filtered,
        ),
        (
            "POST",
            "/admin/v1/notifications/batch",
            "/admin/v1/notifications/batch".into(),
            Some(json!({"notifications": [notify]})),
            OwnCreated,
        ),
        (
            "GET",
            "/admin/v1/notifications/{id}",
            format!("/admin/v1/notifications/{n}"),
            None,
            Refused,
        ),
        (
            "POST",
            "/admin/v1/notifications/{id}/redeliver",
            format!("/admin/v1/notifications/{n}/redeliver"),
            None,
            Refused,
        ),
        (
            "POST",
            "/admin/v1/notifications/{id}/deliver-now",
            format!("/admin/v1/notifications/{n}/deliver-now"),
            None,
            Refused,
        ),
        (
            "POST",
            "/admin/v1/notifications/{id}/cancel",
            format!("/admin/v1/notifications/{n}/cancel"),
            None,
            Refused,
        ),
        (
            "POST",
            "/admin/v1/notifications/{id}/duplicate",
            format!("/admin/v1/notifications/{n}/duplicate"),
            None,
            Refused,
        ),
        (
            "GET",
            "/admin/v1/stats",
            "/admin/v1/stats".into(),
            None,
            Filtered,
        ),
        (
            "POST",
            "/admin/v1/notifications/redeliver",
            "/admin/v1/notifications/redeliver".into(),
            Some(json!({"tenant": TEST_MID})),
            Filtered,
        ),
        (
            "GET",
            "/admin/v1/triggers",
            "/admin/v1/triggers".into(),
            None,
            Filtered,
        ),
        (
            "POST",
            "/admin/v1/merchants/{mid}/triggers",
            format!("/admin/v1/merchants/{TEST_MID}/triggers"),
            Some(json!({"fixture": "payment.paid"})),
            Refused,
        ),
        (
            "GET",
            "/admin/v1/relay/session",
            "/admin/v1/relay/session".into(),
            None,
            WebSocket,
        ),
        (
            "GET",
            "/admin/v1/merchants/{mid}/relay",
            format!("/admin/v1/merchants/{TEST_MID}/relay"),
            None,
            Refused,
        ),
        (
            "POST",
            "/admin/v1/merchants",
            "/admin/v1/merchants".into(),
            Some(json!({"mid": "898310048169999", "name": "x"})),
            Refused,
        ),
        (
            "GET",
            "/admin/v1/merchants",
            "/admin/v1/merchants".into(),
            None,
            Filtered,
        ),
        (
            "GET",
            "/admin/v1/merchants/{mid}",
            format!("/admin/v1/merchants/{TEST_MID}"),
            None,
            Refused,
        ),
        (
            "PATCH",
            "/admin/v1/merchants/{mid}",
            format!("/admin/v1/merchants/{TEST_MID}"),
            Some(json!({"name": "taken over"})),
            Refused,
        ),
        (
            "POST",
            "/admin/v1/merchants/{mid}/rotate",
            format!("/admin/v1/merchants/{TEST_MID}/rotate"),
            Some(json!({"credential": "app_key"})),
            Refused,
        ),
        (
            "POST",
            "/admin/v1/merchants/{mid}/access-keys",
            format!("/admin/v1/merchants/{TEST_MID}/access-keys"),
            Some(json!({})),
            Refused,
        ),
        (
            "GET",
            "/admin/v1/merchants/{mid}/access-keys",
            format!("/admin/v1/merchants/{TEST_MID}/access-keys"),
            None,
            Refused,
        ),
        (
            "DELETE",
            "/admin/v1/merchants/{mid}/access-keys/{id}",
            format!("/admin/v1/merchants/{TEST_MID}/access-keys/{}", a.key_id),
            None,
            Refused,
        ),
        (
            "POST",
            "/admin/v1/merchants/{mid}/checks",
            format!("/admin/v1/merchants/{TEST_MID}/checks"),
            Some(json!({})),
            Refused,
        ),
        (
            "GET",
            "/admin/v1/merchants/{mid}/checks",
            format!("/admin/v1/merchants/{TEST_MID}/checks"),
            None,
            Refused,
        ),
        (
            "GET",
            "/admin/v1/checks/{id}",
            format!("/admin/v1/checks/{}", a.check),
            None,
            Refused,
        ),
        (
            "POST",
            "/admin/v1/contracts",
            "/admin/v1/contracts".into(),
            Some(json!({"mid": TEST_MID, "contract_no": "B0000001", "plan_id": "PLAN0001"})),
            Refused,
        ),
        (
            "GET",
            "/admin/v1/contracts",
            format!("/admin/v1/contracts?mid={TEST_MID}"),
            None,
            Filtered,
        ),
        (
            "GET",
            "/admin/v1/contracts/{contract_id}",
            format!("/admin/v1/contracts/{}", urlencoding(&a.contract)),
            None,
            Refused,
        ),
        (
            "POST",
            "/admin/v1/contracts/{contract_id}/transitions",
            format!(
                "/admin/v1/contracts/{}/transitions",
                urlencoding(&a.contract)
            ),
            Some(json!({"to": "RESCINDED"})),
            Refused,
        ),
        (
            "POST",
            "/admin/v1/orders",
            "/admin/v1/orders".into(),
            Some(json!({"mid": TEST_MID, "total_amount": 1})),
            Refused,
        ),
        (
            "GET",
            "/admin/v1/orders",
            format!("/admin/v1/orders?mid={TEST_MID}"),
            None,
            Filtered,
        ),
        (
            "GET",
            "/admin/v1/orders/{id}",
            format!("/admin/v1/orders/{}", a.order),
            None,
            Refused,
        ),
        (
            "POST",
            "/admin/v1/orders/{id}/transitions",
            format!("/admin/v1/orders/{}/transitions", a.order),
            Some(json!({"to": "TRADE_CLOSED"})),
            Refused,
        ),
        (
            "POST",
            "/admin/v1/orders/{id}/refunds",
            format!("/admin/v1/orders/{}/refunds", a.order),
            Some(json!({"amount": 1})),
            Refused,
        ),
        (
            "GET",
            "/admin/v1/codes/{qr_code_id}",
            format!("/admin/v1/codes/{}", a.code),
            None,
            Refused,
        ),
        (
            "POST",
            "/admin/v1/codes/{qr_code_id}/scans",
            format!("/admin/v1/codes/{}/scans", a.code),
            Some(json!({})),
            Refused,
        ),
    ];
    rows.into_iter()
        .map(|(method, route, path, body, expect)| {
            ((method.to_owned(), route.to_owned()), (path, body, expect))
        })
        .collect()
}

fn urlencoding(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Everything of A the operator sees, and the outbox's size.
async fn a_state(app: &TestApp, a: &Resources) -> Value {
    let mut state = serde_json::Map::new();
    for path in [
        format!("/admin/v1/merchants/{TEST_MID}"),
        format!("/admin/v1/merchants/{TEST_MID}/access-keys"),
        format!("/admin/v1/merchants/{TEST_MID}/checks"),
        format!("/admin/v1/notifications?tenant={TEST_MID}"),
        format!("/admin/v1/notifications/{}", a.notification),
        format!("/admin/v1/contracts?mid={TEST_MID}"),
        format!("/admin/v1/orders?mid={TEST_MID}"),
        format!("/admin/v1/codes/{}", a.code),
        "/admin/v1/merchants".to_owned(),
    ] {
        let (status, body) = app.get(&path).await;
        assert_eq!(status, 200, "{path}: {body}");
        state.insert(path, body);
    }
    Value::Object(state)
}

/// The admin routes the service describes.
async fn described_routes(app: &TestApp) -> Vec<(String, String)> {
    let description: Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut routes = Vec::new();
    for (path, item) in description["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if path.starts_with("/admin/") {
                routes.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

async fn merchant_b_can_neither_read_nor_change_merchant_a_through_any_route(db: TestDb) {
    let (app, _dispatcher) = db.spawn_stepped(ums_notify::clock::Clock::system()).await;
    let a = a_resources(&app).await;
    create_merchant(&app, B_MID, json!({})).await;
    let (_, b_key) = issue_key(&app, B_MID).await;
    let (_, a_key) = issue_key(&app, TEST_MID).await;
    let before = a_state(&app, &a).await;
    let cases = cases(&a);

    let routes = described_routes(&app).await;
    assert!(routes.len() >= cases.len(), "{routes:?}");
    for route in &routes {
        let Some((path, body, expect)) = cases.get(route) else {
            panic!(
                "the scope walk has no case for {} {}: add one",
                route.0, route.1
            );
        };
        let method = Method::from_bytes(route.0.as_bytes()).unwrap();
        let (status, _, answer) = with_key(&app, &b_key, method.clone(), path, body.clone()).await;
        let what = format!("B's {} {path}", route.0);
        assert_ne!(status, 500, "{what}: no scope rule? {answer}");
        let text = answer.to_string();
        match expect {
            Expect::Filtered => {
                assert_eq!(status, 200, "{what}: {answer}");
                for secret in [TEST_MID, TEST_KEY] {
                    assert!(!text.contains(secret), "{what} shows A: {answer}");
                }
            }
            Expect::OwnCreated => {
                assert_eq!(status, 201, "{what}: {answer}");
                let made = answer.get("notifications").map_or(&answer, |list| &list[0]);
                assert_eq!(made["tenant"], B_MID, "{what}: {answer}");
                assert_ne!(
                    made["id"].as_i64(),
                    Some(a.notification),
                    "{what}: {answer}"
                );
            }
            Expect::Refused => {
                assert!(
                    [403, 404, 422].contains(&status),
                    "{what} was not refused: {status} {answer}"
                );
                assert!(!text.contains(TEST_KEY), "{what} shows A's key: {answer}");
            }
            Expect::WebSocket => {
                assert_eq!(status, 400, "{what}: {answer}");
                assert_eq!(answer["error"]["code"], "websocket_required", "{what}");
            }
        }
        // The control: A's own key reads the same resource.
        if method == Method::GET && *expect != Expect::WebSocket {
            let (status, _, answer) = with_key(&app, &a_key, method, path, None).await;
            assert_eq!(status, 200, "A's own {} {path}: {answer}", route.0);
            if *expect == Expect::Filtered && path.contains(TEST_MID) {
                assert!(
                    answer.to_string().contains(TEST_MID),
                    "A sees its own: {answer}"
                );
            }
        }
    }
    // Stats count the merchant's own: B's one (both of the walk's creates name B's own
    // idempotency key `a-1`), A's one.
    let (_, _, stats) = with_key(&app, &b_key, Method::GET, "/admin/v1/stats", None).await;
    assert_eq!(stats["pending"], 1, "{stats}");
    let (_, _, stats) = with_key(&app, &a_key, Method::GET, "/admin/v1/stats", None).await;
    assert_eq!(stats["pending"], 1, "{stats}");

    let after = a_state(&app, &a).await;
    assert_eq!(before, after, "B's requests changed A");
    app.stop().await;
}
