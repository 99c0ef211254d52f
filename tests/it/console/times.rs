//! Every time a console page shows is written as the platform writes it: China Standard
//! Time, `yyyy-MM-dd HH:mm:ss`, with the same instant in UTC beside it.

use std::time::Duration;

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use serde_json::json;
use ums_notify::clock::Clock;

use crate::common::{eventually, Receiver, Reply, TestApp, TestDb};

/// 18:15 UTC on 2 December is 02:15 the next day in Beijing.
fn frozen_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, 18, 15, 0).unwrap()
}
const CST_TEXT: &str = "2026-12-03 02:15:00";
const UTC_TEXT: &str = "2026-12-02 18:15:00 UTC";

both_backends!(every_console_time_is_china_standard_time_with_utc_beside_it);

/// Checks every `<time>` of a page: its `datetime` is at UTC+8, its text is that wall
/// clock in `yyyy-MM-dd HH:mm:ss`, and the UTC instant follows it; no time is written in
/// UTC alone. Returns how many times the page shows.
fn assert_times(path: &str, html: &str) -> usize {
    let beijing = FixedOffset::east_opt(8 * 3600).unwrap();
    let mut shown = 0;
    let mut rest = html;
    while let Some(at) = rest.find("<time ") {
        rest = &rest[at..];
        let element = &rest[..rest.find("</time>").expect("a closed <time>")];
        let datetime = element
            .split("datetime=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or_else(|| panic!("{path}: a <time> without datetime: {element}"));
        let instant = DateTime::parse_from_rfc3339(datetime)
            .unwrap_or_else(|e| panic!("{path}: datetime {datetime:?}: {e}"));
        assert_eq!(
            instant.offset(),
            &beijing,
            "{path}: {datetime} is not at UTC+8"
        );
        let text = &element[element.find('>').unwrap() + 1..];
        let wall = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
            .unwrap_or_else(|e| panic!("{path}: {text:?} is not yyyy-MM-dd HH:mm:ss: {e}"));
        assert_eq!(wall, instant.naive_local(), "{path}: {element}");
        assert!(
            element.contains("China Standard Time"),
            "{path}: says its zone: {element}"
        );
        rest = &rest[element.len() + "</time>".len()..];
        let utc = instant
            .with_timezone(&Utc)
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string();
        let beside = format!(" <small class=\"utc\">{utc}</small>");
        assert!(
            rest.starts_with(&beside),
            "{path}: {text} has its UTC time beside it: {:.120}",
            rest
        );
        shown += 1;
    }
    let utc_written = html.matches(" UTC<").count() + html.matches(" UTC)").count();
    assert_eq!(
        utc_written, shown,
        "{path}: a time in UTC alone, without its China Standard Time"
    );
    shown
}

async fn page(app: &TestApp, path: &str) -> String {
    let response = app.http.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

async fn every_console_time_is_china_standard_time_with_utc_beside_it(db: TestDb) {
    let failing = Receiver::start(Reply::Status(500)).await;
    let shop = Receiver::start(Reply::Body(200, "SUCCESS")).await;
    let app = db
        .spawn_with_clock(Clock::fixed(frozen_at()), |settings| {
            settings.admin_token = None
        })
        .await;
    let mid = "898310048160020";

    // A notification with a failed try, waiting an hour for its next.
    let id = app
        .enqueue(json!({"url": failing.url("/n"), "body": {"a": 1}, "retry_schedule": ["1h"]}))
        .await;
    app.wait_for_retry(id, 1, Duration::from_secs(10)).await;

    // A merchant with a check run, a signed contract, and a paid, part-refunded order.
    let (status, merchant) = app
        .post(
            "/admin/v1/merchants",
            json!({"mid": mid, "name": "Shop", "notify_url": shop.url("/notify"), "msg_src_id": "3194"}),
        )
        .await;
    assert_eq!(status, 201, "{merchant}");
    let (status, run) = app
        .post(&format!("/admin/v1/merchants/{mid}/checks"), json!({}))
        .await;
    assert!(status == 201 || status == 202, "{status} {run}");
    let run = run["id"].as_i64().unwrap();
    let finished = eventually(Duration::from_secs(30), || async {
        app.get(&format!("/admin/v1/checks/{run}")).await.1["status"] != "running"
    })
    .await;
    assert!(finished, "the check run finishes");
    let (status, contract) = app
        .post(
            "/admin/v1/contracts",
            json!({"mid": mid, "contract_no": "CN2026120300001", "plan_id": "PLAN01"}),
        )
        .await;
    assert_eq!(status, 201, "{contract}");
    let contract = contract["contract_id"]
        .as_str()
        .unwrap()
        .replace('+', "-")
        .replace('/', "_");
    let (status, signed) = app
        .post(
            &format!("/admin/v1/contracts/{contract}/transitions"),
            json!({"to": "SIGNED"}),
        )
        .await;
    assert_eq!(status, 200, "{signed}");
    let (status, order) = app
        .post(
            "/admin/v1/orders",
            json!({"mid": mid, "total_amount": 1990, "description": "咖啡"}),
        )
        .await;
    assert_eq!(status, 201, "{order}");
    let order = order["id"].as_i64().unwrap();
    let (status, paid) = app
        .post(
            &format!("/admin/v1/orders/{order}/transitions"),
            json!({"to": "TRADE_SUCCESS"}),
        )
        .await;
    assert_eq!(status, 200, "{paid}");
    let (status, refunded) = app
        .post(
            &format!("/admin/v1/orders/{order}/refunds"),
            json!({"amount": 990}),
        )
        .await;
    assert_eq!(status, 201, "{refunded}");

    for path in [
        "/console/notifications".to_owned(),
        format!("/console/notifications/{id}"),
        "/console/merchants".to_owned(),
        format!("/console/merchants/{mid}"),
        format!("/console/checks/{run}"),
        "/console/contracts".to_owned(),
        format!("/console/contracts/{contract}"),
        "/console/orders".to_owned(),
        format!("/console/orders/{order}"),
    ] {
        let html = page(&app, &path).await;
        let shown = assert_times(&path, &html);
        if path != "/console/merchants" {
            assert!(shown > 0, "{path} shows a time");
            assert!(
                html.contains(&format!(">{CST_TEXT}</time>")) && html.contains(UTC_TEXT),
                "{path}: now, {CST_TEXT} in Beijing, {UTC_TEXT}"
            );
        }
    }

    // What happens next names the next try's time the same way: an hour on.
    let html = page(&app, &format!("/console/notifications/{id}")).await;
    assert!(
        html.contains("sends it again in 1h (at <span class=\"when\">")
            && html.contains(">2026-12-03 03:15:00</time>")
            && html.contains("2026-12-02 19:15:00 UTC"),
        "{html}"
    );
    app.stop().await;
}
