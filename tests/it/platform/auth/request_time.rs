//! The body's `requestTimestamp` against the sandbox's clock, in the netpay APIs and the
//! contract APIs: a time eight hours behind (a host writing UTC as China Standard Time)
//! or years old is refused (`ABNORMAL_REQUEST_TIME`, `1006` in the contract API's codes)
//! with words that name the time received, the sandbox's time and its zone, writes
//! nothing and spends no nonce; a time inside the auth window goes through; a malformed
//! time keeps its format error. Each test runs against SQLite and PostgreSQL, on a frozen
//! clock.

use serde_json::{json, Value};

use crate::common::netpay::{body, extended, merchant, UNIFIED_ORDER};
use crate::common::platform::{at, cst, sign_body, Counter, MID, SIGN};
use crate::common::TestDb;
use ums_notify::clock::Clock;
use ums_notify::db::Sql;

both_backends!(
    netpay_refuses_request_times_off_the_clock,
    contract_sign_refuses_request_times_off_the_clock,
);

/// The sandbox's time: 2026-12-03 10:15:00 in China Standard Time.
const NOW: &str = "2026-12-03T02:15:00Z";
/// That instant written as UTC, as a host on UTC that forgets the zone writes it.
const UTC_WRITTEN: &str = "2026-12-03 02:15:00";
const YEARS_OLD: &str = "2019-09-05 10:48:40";

/// Rows of every table a create could write.
async fn rows(counter: &Counter) -> Vec<i64> {
    let mut n = Vec::new();
    for table in ["orders", "contracts", "notifications", "used_nonces"] {
        let sql = Sql::new(format!("SELECT COUNT(*) FROM {table}"));
        let (count,): (i64,) = counter.database().read_one(&sql).await.unwrap();
        n.push(count);
    }
    n
}

fn message(answer: &Value) -> String {
    let text = answer["errMsg"].as_str().or(answer["errInfo"].as_str());
    text.unwrap_or_default().to_owned()
}

/// What every refusal says: the time received, the sandbox's time, the zone.
fn assert_names_the_times(answer: &Value, received: &str) {
    let text = message(answer);
    for part in [
        format!("requestTimestamp {received} is "),
        "behind the sandbox clock 2026-12-03 10:15:00 (Asia/Shanghai)".to_owned(),
        "more than 10 min off".to_owned(),
    ] {
        assert!(text.contains(&part), "{part:?} not in {answer}");
    }
}

async fn netpay_refuses_request_times_off_the_clock(db: TestDb) {
    let app = db.spawn_with_clock(Clock::fixed(at(NOW)), |_| {}).await;
    let counter = Counter::new(&db).await;
    let shop = merchant(&app).await;
    let order = |no: &str, time: &str| {
        let fields = json!({"merOrderId": no, "totalAmount": 100, "tradeType": "MINI"});
        extended(
            body(&app, "MINIDEFAULT", fields),
            json!({"requestTimestamp": time}),
        )
    };
    let before = rows(&counter).await;
    let utc = shop
        .refused_twice(
            &app,
            UNIFIED_ORDER,
            &order("3194T0001", UTC_WRITTEN),
            "ABNORMAL_REQUEST_TIME",
        )
        .await;
    assert_names_the_times(&utc, UTC_WRITTEN);
    assert!(
        message(&utc).contains("is 8 h 0 min behind") && message(&utc).contains("writing UTC?"),
        "{utc}"
    );
    let old = shop
        .refused_twice(
            &app,
            UNIFIED_ORDER,
            &order("3194T0001", YEARS_OLD),
            "ABNORMAL_REQUEST_TIME",
        )
        .await;
    assert_names_the_times(&old, YEARS_OLD);
    let malformed = shop
        .refused_twice(
            &app,
            UNIFIED_ORDER,
            &order("3194T0001", "2026-12-03T10:15:00"),
            "BAD_REQUEST",
        )
        .await;
    for part in ["yyyy-MM-dd HH:mm:ss", "\"2026-12-03T10:15:00\""] {
        assert!(message(&malformed).contains(part), "{malformed}");
    }
    assert_eq!(rows(&counter).await, before, "nothing was written");

    // Nine minutes slow is inside the window.
    let slow = cst(at(NOW) - chrono::Duration::minutes(9));
    let created = shop
        .call(&app, UNIFIED_ORDER, &order("3194T0001", &slow))
        .await;
    assert_eq!(created["errCode"], "SUCCESS", "{created}");
    app.stop().await;
}

async fn contract_sign_refuses_request_times_off_the_clock(db: TestDb) {
    let app = db.spawn_with_clock(Clock::fixed(at(NOW)), |_| {}).await;
    let counter = Counter::new(&db).await;
    let shop = app
        .create_merchant(MID, json!({"notify_url": "http://127.0.0.1:9/n"}))
        .await;
    let sign = |time: &str| {
        let mut request = sign_body(MID, "CN00000001", None, app.clock.now());
        request["requestTimestamp"] = json!(time);
        request
    };
    let before = rows(&counter).await;
    let utc = shop
        .refused_twice(&app, SIGN, &sign(UTC_WRITTEN), "1006")
        .await;
    assert_names_the_times(&utc, UTC_WRITTEN);
    assert!(message(&utc).contains("is 8 h 0 min behind"), "{utc}");
    assert!(
        message(&utc).starts_with("ABNORMAL_REQUEST_TIME: "),
        "{utc}"
    );
    let old = shop
        .refused_twice(&app, SIGN, &sign(YEARS_OLD), "1006")
        .await;
    assert_names_the_times(&old, YEARS_OLD);
    let malformed = shop
        .refused_twice(&app, SIGN, &sign("20261203101500"), "1004")
        .await;
    assert!(
        message(&malformed).contains("yyyy-MM-dd HH:mm:ss"),
        "{malformed}"
    );
    assert_eq!(rows(&counter).await, before, "nothing was written");

    let fast = cst(at(NOW) + chrono::Duration::minutes(9));
    let signed = shop.call(&app, SIGN, &sign(&fast)).await;
    assert_eq!(signed["errCode"], "0000", "{signed}");
    app.stop().await;
}
