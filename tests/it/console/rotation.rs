//! Key rotation in the console over plain HTTP: the merchant page offers it, the answer
//! shows the new key once, the page then tells the grace and its end (never a key), and
//! a refused rotation (a bad grace, no form token) changes nothing. Each test runs on
//! SQLite and PostgreSQL.

use reqwest::StatusCode;
use serde_json::{json, Value};
use ums_notify::clock::Clock;

use crate::common::auth::t0;
use crate::common::console::{form_token, signed_in};
use crate::common::platform::MID;
use crate::common::{TestApp, TestDb};

both_backends!(the_merchant_page_rotates_a_key_and_shows_it_once);

async fn merchant(app: &TestApp) -> Value {
    let (status, merchant) = app.get(&format!("/admin/v1/merchants/{MID}")).await;
    assert_eq!(status, 200, "{merchant}");
    merchant
}

async fn the_merchant_page_rotates_a_key_and_shows_it_once(db: TestDb) {
    let app = db.spawn_with_clock(Clock::fixed(t0()), |_| {}).await;
    let created = app.create_merchant(MID, json!({})).await;
    let (http, cookie) = signed_in(&app).await;
    let page_path = format!("/console/merchants/{MID}");
    let page = |http: &reqwest::Client| {
        http.get(app.url(&page_path))
            .header("cookie", &cookie)
            .send()
    };
    let html = page(&http).await.unwrap().text().await.unwrap();
    let action = format!("action=\"/console/merchants/{MID}/rotate\"");
    assert!(html.contains(&action), "the page offers the rotation");
    assert!(html.contains("name=\"grace\" value=\"1h\""), "{html}");
    assert!(!html.contains("data-credential"), "no grace yet");
    let token = form_token(&html);
    let rotate = app.url(&format!("/console/merchants/{MID}/rotate"));

    // Refused: a grace over 7d, and a form without its token; nothing changed.
    let before = merchant(&app).await;
    let bad = http
        .post(&rotate)
        .header("cookie", &cookie)
        .form(&[
            ("form_token", token.as_str()),
            ("credential", "app_key"),
            ("grace", "8d"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::SEE_OTHER);
    let location = bad.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with(&format!("{page_path}?error=")) && location.contains("7d"),
        "{location}"
    );
    let forged = http
        .post(&rotate)
        .header("cookie", &cookie)
        .form(&[("credential", "app_key"), ("grace", "1h")])
        .send()
        .await
        .unwrap();
    assert!(forged.status().is_client_error(), "{}", forged.status());
    assert_eq!(merchant(&app).await, before);

    // Rotated: the new key is on the answer, and the admin API has it.
    let answer = http
        .post(&rotate)
        .header("cookie", &cookie)
        .form(&[
            ("form_token", token.as_str()),
            ("credential", "app_key"),
            ("grace", "2h"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let html = answer.text().await.unwrap();
    let after = merchant(&app).await;
    let key = after["app_key"].as_str().unwrap();
    assert_ne!(key, created.app_key);
    assert!(
        html.contains(&format!("<code id=\"new-key\">{key}</code>")),
        "{html}"
    );
    // The grace ends two hours later: 12:00 China Standard Time.
    assert!(html.contains("2024-07-01 12:00:00"), "{html}");

    // The merchant page tells the grace and its end, and shows neither key.
    let html = page(&http).await.unwrap().text().await.unwrap();
    assert!(html.contains("data-credential=\"app_key\""), "{html}");
    assert!(html.contains("2024-07-01 12:00:00"), "{html}");
    assert!(!html.contains(key) && !html.contains(&created.app_key));
    app.clock.advance(chrono::Duration::hours(2));
    let html = page(&http).await.unwrap().text().await.unwrap();
    assert!(!html.contains("data-credential"), "the grace is over");
    app.stop().await;
}
