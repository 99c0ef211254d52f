//! The relay card of a merchant's console page: the delivery setting and, with no
//! `listen` session, that none is connected (and, in relay mode, that tries fail
//! `relay_offline` until one is). Over plain HTTP on SQLite and PostgreSQL.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::console::signed_in;
use crate::common::payments::{create_merchant, MID_A};
use crate::common::TestDb;

both_backends!(the_merchant_page_tells_the_delivery_and_the_session);

async fn the_merchant_page_tells_the_delivery_and_the_session(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    create_merchant(&app, MID_A, json!({})).await;
    let (http, cookie) = signed_in(&app).await;
    let page = || async {
        let response = http
            .get(app.url(&format!("/console/merchants/{MID_A}")))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.unwrap()
    };
    let html = page().await;
    assert!(html.contains("Delivery: <strong>http</strong>"), "{html}");
    assert!(html.contains("No session is connected."), "{html}");
    assert!(!html.contains("relay_offline"), "{html}");

    let (status, patched) = app
        .patch(
            &format!("/admin/v1/merchants/{MID_A}"),
            json!({"delivery": "relay"}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    let html = page().await;
    assert!(html.contains("Delivery: <strong>relay</strong>"), "{html}");
    assert!(
        html.contains("Tries fail relay_offline until one is"),
        "{html}"
    );
    assert!(
        html.contains(r#"<option value="relay" selected>"#),
        "the settings form shows relay mode: {html}"
    );
    app.stop().await;
}
