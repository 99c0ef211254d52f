//! The web console over plain HTTP: who gets in, which forms count, and what the pages
//! show. The browser tests (`console::browser`) drive the same pages in Chromium.

use reqwest::redirect::Policy;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::console::form_token;
use crate::common::{Receiver, Reply, TestApp, TestDb, ADMIN_TOKEN};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// Signs in and returns the session cookie (`name=value`).
async fn sign_in(app: &TestApp, http: &reqwest::Client) -> String {
    let response = http
        .post(app.url("/console/sign-in"))
        .form(&[("token", ADMIN_TOKEN), ("next", "/console/merchants")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/console/merchants");
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(
        !cookie.contains(ADMIN_TOKEN),
        "the cookie does not carry the token itself"
    );
    cookie.split(';').next().unwrap().to_owned()
}

both_backends!(
    signing_in_is_required_when_a_token_is_set,
    forms_need_the_console_form_token_and_the_same_site
);

async fn signing_in_is_required_when_a_token_is_set(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let http = client();
    let page = http
        .get(app.url("/console/notifications?status=failed"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    let location = page.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("/console/sign-in?next="), "{location}");

    let wrong = http
        .post(app.url("/console/sign-in"))
        .form(&[("token", "not-it"), ("next", "/console/merchants")])
        .send()
        .await
        .unwrap();
    assert!(wrong.headers().get("set-cookie").is_none());
    assert!(wrong.headers()["location"]
        .to_str()
        .unwrap()
        .contains("error="));

    // An open redirect is not possible through `next`.
    let elsewhere = http
        .post(app.url("/console/sign-in"))
        .form(&[("token", ADMIN_TOKEN), ("next", "https://evil.example/")])
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.headers()["location"], "/console/notifications");

    let cookie = sign_in(&app, &http).await;
    let page = http
        .get(app.url("/console/notifications"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Sign out"), "{html:.300}");
    app.stop().await;
}

async fn forms_need_the_console_form_token_and_the_same_site(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(500)).await;
    let app = db.spawn(|_| {}).await;
    let id = app
        .enqueue(json!({"url": receiver.url("/n"), "body": {"a": 1}, "retry_schedule": ["1h"]}))
        .await;
    app.wait_for_retry(id, 1, std::time::Duration::from_secs(10))
        .await;
    let http = client();
    let cookie = sign_in(&app, &http).await;
    let page = http
        .get(app.url(&format!("/console/notifications/{id}")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = form_token(&page);
    let cancel = app.url(&format!("/console/notifications/{id}/cancel"));

    // No form token, a wrong one, a cross-site request, a foreign Origin: refused, and
    // the notification is untouched.
    let refusals = [
        http.post(&cancel)
            .header("cookie", &cookie)
            .form(&[("x", "y")]),
        http.post(&cancel)
            .header("cookie", &cookie)
            .form(&[("form_token", "0000")]),
        http.post(&cancel)
            .header("cookie", &cookie)
            .header("sec-fetch-site", "cross-site")
            .form(&[("form_token", token.as_str())]),
        http.post(&cancel)
            .header("cookie", &cookie)
            .header("origin", "https://evil.example")
            .form(&[("form_token", token.as_str())]),
        http.post(&cancel).form(&[("form_token", token.as_str())]),
    ];
    for request in refusals {
        let response = request.send().await.unwrap();
        assert!(
            matches!(response.status().as_u16(), 401 | 403),
            "{}",
            response.status()
        );
    }
    assert_eq!(app.notification(id).await["status"], "pending");

    // The real form from the page works.
    let response = http
        .post(&cancel)
        .header("cookie", &cookie)
        .header("origin", app.base.as_str())
        .form(&[("form_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(response.headers()["location"]
        .to_str()
        .unwrap()
        .contains("notice="));
    assert_eq!(app.notification(id).await["status"], "cancelled");
    app.stop().await;
}

#[tokio::test]
async fn with_no_admin_token_on_loopback_the_console_is_open_but_forms_still_need_the_token() {
    let db = TestDb::new(crate::common::Backend::Sqlite).await.unwrap();
    let app = db.spawn(|settings| settings.admin_token = None).await;
    let http = client();
    let page = http
        .get(app.url("/console/merchants"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(!html.contains("Sign out"));
    let token = form_token(&html);
    let refused = http
        .post(app.url("/console/merchants"))
        .form(&[("mid", "898310048160009"), ("name", "Shop")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let created = http
        .post(app.url("/console/merchants"))
        .form(&[
            ("form_token", token.as_str()),
            ("mid", "898310048160009"),
            ("name", "Shop"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::OK);
    let html = created.text().await.unwrap();
    assert!(
        html.contains("appKey") && html.contains("data-copy=\"app-key\""),
        "{html:.400}"
    );
    let (_, merchant) = app.get("/admin/v1/merchants/898310048160009").await;
    let key = merchant["app_key"].as_str().unwrap();
    assert!(
        html.contains(key),
        "the new key is shown once, on this page"
    );
    let again = http
        .get(app.url("/console/merchants/898310048160009"))
        .send()
        .await
        .unwrap();
    assert!(
        !again.text().await.unwrap().contains(key),
        "and not on the merchant's page"
    );
    app.stop().await;
}

#[tokio::test]
async fn pages_explain_what_happens_next_and_disable_what_the_state_forbids() {
    let db = TestDb::new(crate::common::Backend::Sqlite).await.unwrap();
    let receiver = Receiver::start(Reply::Status(503)).await;
    let app = db.spawn(|settings| settings.admin_token = None).await;
    let id = app
        .enqueue(json!({"url": receiver.url("/n"), "body": {"a": 1}, "retry_schedule": ["1h"]}))
        .await;
    app.wait_for_retry(id, 1, std::time::Duration::from_secs(10))
        .await;
    let html = client()
        .get(app.url(&format!("/console/notifications/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("HTTP 503"), "the try's answer");
    assert!(html.contains("The last try failed (HTTP 503)"), "{html}");
    assert!(html.contains("sends it again in 59m"), "{html}");
    assert!(html.contains("9 tries are left"), "{html}");
    // Pending: every button is enabled.
    assert!(!html.contains("disabled"), "{html}");
    assert!(
        html.contains("http-equiv=\"refresh\""),
        "pending pages refresh themselves"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_order_pages_play_the_buyer_and_the_channel() {
    let db = TestDb::new(crate::common::Backend::Sqlite).await.unwrap();
    let receiver = Receiver::start(Reply::Body(200, "SUCCESS")).await;
    let app = db.spawn(|settings| settings.admin_token = None).await;
    let (status, _) = app
        .post(
            "/admin/v1/merchants",
            json!({"mid": "898310048160010", "name": "Shop", "notify_url": receiver.url("/pay"),
                   "msg_src_id": "3194"}),
        )
        .await;
    assert_eq!(status, 201);
    let (_, order) = app
        .post(
            "/admin/v1/orders",
            json!({"mid": "898310048160010", "total_amount": 1990, "description": "咖啡"}),
        )
        .await;
    let id = order["id"].as_i64().unwrap();
    let http = client();
    let page = |path: String| {
        let http = http.clone();
        let url = app.url(&path);
        async move { http.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let list = page("/console/orders?mid=898310048160010".to_owned()).await;
    assert!(list.contains(order["order_no"].as_str().unwrap()), "{list}");
    assert!(list.contains("19.90"), "amounts are shown in yuan: {list}");
    let html = page(format!("/console/orders/{id}")).await;
    assert!(
        html.contains("WAIT_BUYER_PAY") && html.contains("→ TRADE_SUCCESS"),
        "{html}"
    );
    assert!(!html.contains("→ TRADE_REFUND"), "no refund before payment");
    let token = form_token(&html);
    let paid = http
        .post(app.url(&format!("/console/orders/{id}/transitions")))
        .form(&[("form_token", token.as_str()), ("to", "TRADE_SUCCESS")])
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), StatusCode::SEE_OTHER);
    let refunded = http
        .post(app.url(&format!("/console/orders/{id}/refunds")))
        .form(&[("form_token", token.as_str()), ("amount", "990")])
        .send()
        .await
        .unwrap();
    assert_eq!(refunded.status(), StatusCode::SEE_OTHER);
    let too_much = http
        .post(app.url(&format!("/console/orders/{id}/refunds")))
        .form(&[("form_token", token.as_str()), ("amount", "1001")])
        .send()
        .await
        .unwrap();
    let location = too_much.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("error="), "{location}");
    let (_, shown) = app.get(&format!("/admin/v1/orders/{id}")).await;
    assert_eq!(shown["status"], "TRADE_REFUND", "{shown}");
    assert_eq!(shown["refunded_amount"], 990);
    let html = page(format!("/console/orders/{id}")).await;
    assert!(html.contains("at most 1000"), "{html}");
    assert!(
        html.contains("Refunds") && html.contains("Notices sent"),
        "{html}"
    );
    app.stop().await;
}
