//! The console in a real browser (`common::browser`): signing in, the notification list
//! and a failing notification's page, redelivery, a new merchant, a contract moved to
//! SIGNED, and every page at phone width. Every step saves a screenshot.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;

use crate::common::browser::Browser;
use crate::common::{Backend, Receiver, Reply, TestDb, ADMIN_TOKEN};

#[tokio::test]
async fn the_console_in_a_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let db = TestDb::new(Backend::Sqlite).await.expect("SQLite");
    let app = db.spawn(|_| {}).await;
    let ok = Receiver::start(Reply::Status(200)).await;
    let failing = Receiver::start(Reply::Status(500)).await;

    // Sign in.
    browser.open(&app, "/console").await;
    assert!(browser.page().await.contains("Admin token"));
    browser.shot("01-sign-in").await;
    browser.fill("input[name=token]", ADMIN_TOKEN).await;
    browser
        .click("form[action='/console/sign-in'] button")
        .await;
    assert!(
        browser.shows("Counts by status").await,
        "signed in: {}",
        browser.page().await
    );
    let url = browser.client.current_url().await.unwrap();
    assert_eq!(url.path(), "/console/notifications");

    // A delivered and a failing notification.
    let delivered = app
        .enqueue(json!({"url": ok.url("/n"), "body": {"order": 1}}))
        .await;
    let failed = app
        .enqueue(json!({"url": failing.url("/n"), "body": {"order": 2}, "retry_schedule": ["1h"]}))
        .await;
    app.wait_for_status(delivered, "delivered", Duration::from_secs(10))
        .await;
    app.wait_for_retry(failed, 1, Duration::from_secs(10)).await;
    assert!(
        browser
            .wait_for_text(&app, "/console/notifications", "s-delivered\">delivered")
            .await
    );
    let list = browser.page().await;
    assert!(
        list.contains("s-pending\">pending"),
        "the failing one waits for its retry"
    );
    browser.shot("02-notifications").await;

    // Its timeline, and redeliver: a new try appears.
    let page = format!("/console/notifications/{failed}");
    browser.open(&app, &page).await;
    let html = browser.page().await;
    assert!(
        html.contains("HTTP 500") && html.contains("Try 1"),
        "{html}"
    );
    assert!(
        html.contains("sends it again in"),
        "what happens next, in words"
    );
    browser.shot("03-failing-notification").await;
    browser.click("form[action$='/redeliver'] button").await;
    assert!(
        browser.shows("Sent again").await,
        "the form's outcome is shown: {}",
        browser.page().await
    );
    assert!(
        browser.wait_for_text(&app, &page, "Try 2").await,
        "the new try appears"
    );
    browser.shot("04-redelivered").await;
    assert_eq!(failing.count(), 2);

    // A delivered notification's buttons: deliver now and cancel are disabled.
    browser
        .open(&app, &format!("/console/notifications/{delivered}"))
        .await;
    let deliver_now = browser
        .client
        .find(Locator::Css("form[action$='/deliver-now'] button"))
        .await
        .unwrap();
    assert!(!deliver_now.is_enabled().await.unwrap());

    // Create a merchant: its key is shown once, with a copy button.
    browser.open(&app, "/console/merchants").await;
    browser.fill("input[name=mid]", "898310048161234").await;
    browser.fill("input[name=name]", "Browser Shop").await;
    browser
        .fill("input[name=notify_url]", &ok.url("/notify"))
        .await;
    browser
        .click("form[action='/console/merchants'] button")
        .await;
    assert!(
        browser.shows("Merchant 898310048161234 created").await,
        "{}",
        browser.page().await
    );
    let created = browser.page().await;
    assert!(created.contains("data-copy=\"app-key\""));
    browser.shot("05-merchant-created").await;

    // Move a contract to SIGNED and watch its notice go out.
    let (status, contract) = app
        .post(
            "/admin/v1/contracts",
            json!({"mid": "898310048161234", "contract_no": "CN2026112800001", "plan_id": "PLAN01"}),
        )
        .await;
    assert_eq!(status, 201, "{contract}");
    let id = contract["contract_id"]
        .as_str()
        .unwrap()
        .replace('+', "-")
        .replace('/', "_");
    let contract_page = format!("/console/contracts/{id}");
    browser.open(&app, &contract_page).await;
    let html = browser.page().await;
    assert!(
        html.contains("→ SIGNED") && !html.contains("→ DELETING_CONTRACT"),
        "legal moves only"
    );
    browser.click("input[value=SIGNED] + button").await;
    assert!(
        browser.shows("Moved to SIGNED").await,
        "{}",
        browser.page().await
    );
    assert!(
        browser
            .wait_for_text(&app, &contract_page, "s-delivered\">delivered")
            .await,
        "the SIGNED notice was delivered"
    );
    assert!(!browser.page().await.contains("→ UNSIGNED"));
    browser.shot("06-contract-signed").await;
    assert!(ok.count() >= 2);

    // At phone width every page fits: nothing scrolls sideways but the tables' own frames.
    browser.client.set_window_size(390, 844).await.unwrap();
    for path in [
        "/console/notifications",
        "/console/merchants",
        &page,
        &contract_page,
    ] {
        browser.open(&app, path).await;
        let fits = browser
            .client
            .execute(
                "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(fits, json!(true), "{path} is wider than a phone");
    }
    browser.shot("07-phone-width").await;

    browser.stop().await;
    app.stop().await;
}
