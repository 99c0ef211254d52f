//! The console's trigger form on a merchant's page, the fixture's mark on the
//! notification's page, and the bulk redeliver button of a filtered list. Each test runs
//! against SQLite and PostgreSQL.

use serde_json::json;

use crate::common::console::{form_token, signed_in};
use crate::common::payments::{MID_A, WAIT};
use crate::common::triggers::merchant_at_receiver;
use crate::common::{eventually, TestDb};

both_backends!(the_console_triggers_a_fixture_and_redelivers_a_filtered_list);

async fn the_console_triggers_a_fixture_and_redelivers_a_filtered_list(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    merchant_at_receiver(&app, MID_A, json!({})).await;
    let (http, cookie) = signed_in(&app).await;
    let get = |path: String| {
        let request = http.get(app.url(&path)).header("cookie", &cookie);
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    let page = get(format!("/console/merchants/{MID_A}")).await;
    assert!(
        page.contains("Trigger a notice") && page.contains("payment.refunded.partial"),
        "{page}"
    );
    let token = form_token(&page);
    let post = |path: String, form: Vec<(&'static str, String)>| {
        let request = http
            .post(app.url(&path))
            .header("cookie", &cookie)
            .header("origin", app.base.as_str())
            .form(&form);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status().as_u16(), 303);
            response.headers()["location"].to_str().unwrap().to_owned()
        }
    };

    // A bad field comes back with the API's message; nothing is sent.
    let to = post(
        format!("/console/merchants/{MID_A}/triggers"),
        vec![
            ("form_token", token.clone()),
            ("fixture", "payment.paid".into()),
            ("set", "colour=red".into()),
        ],
    )
    .await;
    assert!(
        to.starts_with(&format!("/console/merchants/{MID_A}?error=")),
        "{to}"
    );
    assert_eq!(app.stored_total().await, 0);

    let to = post(
        format!("/console/merchants/{MID_A}/triggers"),
        vec![
            ("form_token", token.clone()),
            ("fixture", "payment.paid".into()),
            ("set", "total_amount=777\r\ndescription=午餐".into()),
        ],
    )
    .await;
    let id: i64 = to
        .strip_prefix("/console/notifications/")
        .and_then(|rest| rest.split('?').next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("to the notification: {to}"));
    let done = app.wait_for_status(id, "delivered", WAIT).await;
    assert_eq!(done["triggered_by"], "payment.paid");
    assert!(done["body"].as_str().unwrap().contains("totalAmount=777"));
    let page = get(format!("/console/notifications/{id}")).await;
    assert!(
        page.contains("Triggered") && page.contains("payment.paid"),
        "{page}"
    );

    // The filtered list offers the button; it redelivers the matches.
    let page = get(format!(
        "/console/notifications?mid={MID_A}&status=delivered"
    ))
    .await;
    assert!(page.contains("Redeliver every match"), "{page}");
    let page = get("/console/notifications".to_owned()).await;
    assert!(
        !page.contains("Redeliver every match"),
        "not on an unfiltered list"
    );
    let to = post(
        "/console/notifications/redeliver".to_owned(),
        vec![
            ("form_token", token.clone()),
            ("tenant", MID_A.into()),
            ("status", "delivered".into()),
        ],
    )
    .await;
    assert!(to.contains("notice=Redelivered+1+notification"), "{to}");
    let tried_again = eventually(WAIT, || async {
        let n = app.notification(id).await;
        n["status"] == "delivered" && n["attempts"] == 2
    })
    .await;
    assert!(tried_again, "{}", app.notification(id).await);
    app.stop().await;
}
