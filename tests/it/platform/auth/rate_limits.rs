//! Request budgets of the platform API, per appId: a merchant over its budget is answered
//! 429 `4029` with `Retry-After`, and the refused request wrote nothing and spent no
//! nonce; another merchant is unaffected; the operator sets and clears a budget, which
//! applies to the next request. No test waits for a budget to refill. Each test runs
//! against SQLite and PostgreSQL.

use crate::common::platform::{sign_body, Counter, Merchant, MID, SIGN, TOKEN};
use crate::common::{Receiver, Reply, TestApp, TestDb};
use serde_json::{json, Value};

both_backends!(
    calls_over_the_budget_are_refused_and_write_nothing,
    budgets_are_validated_shown_and_cleared,
);

const OTHER_MID: &str = "898310048165678";

/// POSTs `body` signed by `m` to `path`: the status, the `Retry-After` header, the answer.
async fn send(
    app: &TestApp,
    m: &Merchant,
    path: &str,
    body: &[u8],
) -> (u16, Option<String>, Value) {
    send_with(app, path, &m.sig(app, body), body).await
}

fn sign(mid: &str, contract_no: &str, app: &TestApp) -> Vec<u8> {
    serde_json::to_vec(&sign_body(mid, contract_no, None, app.clock.now())).unwrap()
}

async fn calls_over_the_budget_are_refused_and_write_nothing(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    // The budgets refill on the sandbox's clock: held still, nothing refills however long
    // the calls take.
    let app = db
        .spawn_with_clock(ums_notify::clock::Clock::fixed(chrono::Utc::now()), |_| {})
        .await;
    let counter = Counter::new(&db).await;
    let notify = json!(receiver.url("/n"));
    let a = app
        .create_merchant(
            MID,
            json!({"notify_url": notify, "rate_limit_per_second": 1, "rate_limit_burst": 2}),
        )
        .await;
    let b = app
        .create_merchant(OTHER_MID, json!({"notify_url": notify}))
        .await;

    for no in ["CN00000001", "CN00000002"] {
        let (status, _, answer) = send(&app, &a, SIGN, &sign(MID, no, &app)).await;
        assert_eq!(
            (status, &answer["errCode"]),
            (200, &json!("0000")),
            "{answer}"
        );
    }
    let before = counter.counts().await;
    let third = sign(MID, "CN00000003", &app);
    let header = a.sig(&app, &third);
    let (status, retry_after, answer) = send_with(&app, SIGN, &header, &third).await;
    assert_eq!(status, 429, "{answer}");
    assert_eq!(answer["errCode"], "4029", "{answer}");
    let info = answer["errInfo"].as_str().expect("errInfo");
    assert!(
        info.contains("1 requests per second, bursts of up to 2"),
        "{info}"
    );
    let secs: u64 = retry_after
        .expect("Retry-After")
        .parse()
        .expect("whole seconds");
    assert!(secs >= 1);
    assert_eq!(
        counter.counts().await,
        before,
        "a refused call wrote nothing"
    );
    // The same header again is refused for the budget, not as a replay: no nonce was spent.
    let (status, _, again) = send_with(&app, SIGN, &header, &third).await;
    assert_eq!(
        (status, &again["errCode"]),
        (429, &json!("4029")),
        "{again}"
    );
    // The access-token request of the appId spends the same budget.
    let token = serde_json::to_vec(&a.token_request(&app)).unwrap();
    let (status, answer) = app.platform(TOKEN, None, &token).await;
    assert_eq!(
        (status, &answer["errCode"]),
        (429, &json!("4029")),
        "{answer}"
    );
    assert_eq!(
        counter.counts().await,
        before,
        "a refused token request wrote nothing"
    );

    // Another merchant is unaffected.
    let (status, _, answer) = send(&app, &b, SIGN, &sign(OTHER_MID, "CN00000001", &app)).await;
    assert_eq!(
        (status, &answer["errCode"]),
        (200, &json!("0000")),
        "{answer}"
    );

    // The operator clears the budget: the next request passes.
    let (status, view) = app
        .patch(
            &format!("/admin/v1/merchants/{MID}"),
            json!({"rate_limit_per_second": null, "rate_limit_burst": null}),
        )
        .await;
    assert_eq!(status, 200, "{view}");
    let (status, _, answer) = send_with(&app, SIGN, &header, &third).await;
    assert_eq!(
        (status, &answer["errCode"]),
        (200, &json!("0000")),
        "{answer}"
    );

    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"ums_notify_rate_limited_total{api="platform"} 3"#),
        "{metrics}"
    );
    drop(receiver);
}

/// POSTs `body` to `path` with the `Authorization` `header`.
async fn send_with(
    app: &TestApp,
    path: &str,
    header: &str,
    body: &[u8],
) -> (u16, Option<String>, Value) {
    let response = app
        .http
        .post(app.url(path))
        .header("content-type", "application/json")
        .header("authorization", header)
        .body(body.to_vec())
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().expect("ASCII").to_owned());
    (
        status,
        retry_after,
        response.json().await.unwrap_or(Value::Null),
    )
}

async fn budgets_are_validated_shown_and_cleared(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    for (field, value) in [
        ("rate_limit_per_second", json!(0)),
        ("rate_limit_per_second", json!(10001)),
        ("rate_limit_burst", json!(0)),
    ] {
        let (status, answer) = app
            .post(
                "/admin/v1/merchants",
                json!({"mid": MID, "name": "Shop", field: value}),
            )
            .await;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(
            answer["error"]["code"],
            format!("invalid_{field}"),
            "{answer}"
        );
    }
    let (status, created) = app
        .post("/admin/v1/merchants", json!({"mid": MID, "name": "Shop"}))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["rate_limit_per_second"], Value::Null);
    assert_eq!(created["rate_limit_burst"], Value::Null);
    let path = format!("/admin/v1/merchants/{MID}");
    let (status, answer) = app.patch(&path, json!({"rate_limit_burst": 10001})).await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(
        answer["error"]["code"], "invalid_rate_limit_burst",
        "{answer}"
    );
    let (status, view) = app
        .patch(
            &path,
            json!({"rate_limit_per_second": 10000, "rate_limit_burst": 1}),
        )
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        (&view["rate_limit_per_second"], &view["rate_limit_burst"]),
        (&json!(10000), &json!(1))
    );
    let (_, shown) = app.get(&path).await;
    assert_eq!(shown["rate_limit_per_second"], 10000, "{shown}");
    let (status, view) = app.patch(&path, json!({"rate_limit_burst": null})).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        (&view["rate_limit_per_second"], &view["rate_limit_burst"]),
        (&json!(10000), &Value::Null)
    );
}
