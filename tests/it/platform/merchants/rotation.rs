//! Rotating a merchant's keys through the admin API: the answer shows the new key and
//! when the grace ends, the merchant view shows a rotation in its grace (never the
//! replaced key) until it ends, and every refused rotation changes nothing. The clock is
//! fixed and stepped. Each test runs on SQLite and PostgreSQL.

use serde_json::{json, Value};
use ums_notify::clock::Clock;

use crate::common::auth::t0;
use crate::common::payments::{assert_refused, create_merchant, MID_A, MID_B};
use crate::common::platform::Counter;
use crate::common::rotation::{graces, new_key, rotate, rotated, snapshot};
use crate::common::TestDb;

both_backends!(
    a_rotation_answers_the_new_key_and_the_end_of_its_grace,
    every_refused_rotation_changes_nothing,
);

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

async fn a_rotation_answers_the_new_key_and_the_end_of_its_grace(db: TestDb) {
    let app = db.spawn_with_clock(Clock::fixed(t0()), |_| {}).await;
    let before = create_merchant(&app, MID_A, json!({})).await;
    assert_eq!(graces(&before), vec![], "{before}");
    let old_app_key = before["app_key"].as_str().unwrap().to_owned();

    let answer = rotated(&app, MID_A, "app_key", "30m").await;
    let key = new_key(&answer);
    assert_eq!(key.len(), 32, "{answer}");
    assert!(key.bytes().all(|b| b.is_ascii_alphanumeric()), "{answer}");
    assert_ne!(key, old_app_key);
    let until = t0() + chrono::Duration::minutes(30);
    assert_eq!(answer["rotated_at"], rfc3339(t0()), "{answer}");
    assert_eq!(answer["grace"], "30m");
    assert_eq!(answer["grace_until"], rfc3339(until));
    assert_eq!(answer["merchants"], json!([MID_A]));
    assert_eq!(answer["merchant"]["app_key"], key.as_str());
    assert_eq!(
        answer["merchant"]["md5_key"], before["md5_key"],
        "the other key stays"
    );
    let in_grace = vec![("app_key".to_owned(), rfc3339(until))];
    assert_eq!(graces(&answer["merchant"]), in_grace);
    assert!(
        !answer.to_string().contains(&old_app_key),
        "the replaced key is never shown: {answer}"
    );

    // The merchant view and the list show the grace, never the replaced key.
    let (_, shown) = app.get(&format!("/admin/v1/merchants/{MID_A}")).await;
    assert_eq!(shown["app_key"], key.as_str());
    assert_eq!(graces(&shown), in_grace);
    let (_, list) = app.get("/admin/v1/merchants").await;
    assert_eq!(graces(&list["merchants"][0]), in_grace);
    for view in [&shown, &list] {
        assert!(!view.to_string().contains(&old_app_key), "{view}");
    }

    // A second before the end it is still in its grace; at the end it is over.
    app.clock
        .advance(chrono::Duration::minutes(30) - chrono::Duration::seconds(1));
    let (_, shown) = app.get(&format!("/admin/v1/merchants/{MID_A}")).await;
    assert_eq!(graces(&shown), in_grace);
    app.clock.advance(chrono::Duration::seconds(1));
    let (_, shown) = app.get(&format!("/admin/v1/merchants/{MID_A}")).await;
    assert_eq!(graces(&shown), vec![], "{shown}");

    // The default grace is an hour; a grace of 0s is none at all.
    let now = app.clock.now();
    let (status, answer) = rotate(&app, MID_A, json!({"credential": "md5_key"})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["grace"], "1h");
    assert_eq!(
        answer["grace_until"],
        rfc3339(now + chrono::Duration::hours(1))
    );
    assert_ne!(answer["key"], before["md5_key"]);
    assert_eq!(answer["merchant"]["md5_key"], answer["key"]);
    assert_eq!(answer["merchant"]["app_key"], key.as_str());
    let answer = rotated(&app, MID_A, "app_key", "0s").await;
    assert_eq!(answer["grace_until"], rfc3339(now));
    let only_md5: Vec<String> = graces(&answer["merchant"])
        .into_iter()
        .map(|(credential, _)| credential)
        .collect();
    assert_eq!(only_md5, vec!["md5_key"], "{answer}");
    app.stop().await;
}

async fn every_refused_rotation_changes_nothing(db: TestDb) {
    let app = db.spawn_with_clock(Clock::fixed(t0()), |_| {}).await;
    let counter = Counter::new(&db).await;
    create_merchant(&app, MID_A, json!({"msg_src": "SHARED.SRC"})).await;
    create_merchant(&app, MID_B, json!({"msg_src": "SHARED.SRC"})).await;
    rotated(&app, MID_B, "md5_key", "1h").await;
    let before = snapshot(&app, &counter).await;
    let path = format!("/admin/v1/merchants/{MID_A}/rotate");
    let cases: Vec<(Value, u16, &str, &[&str])> = vec![
        (
            json!({}),
            422,
            "invalid_credential",
            &["`credential` is required", "app_key"],
        ),
        (
            json!({"credential": null}),
            422,
            "invalid_credential",
            &["required"],
        ),
        (
            json!({"credential": "appKey"}),
            422,
            "invalid_credential",
            &["\"app_key\" or \"md5_key\"", "received \"appKey\""],
        ),
        (
            json!({"credential": "app_key", "grace": "8d"}),
            422,
            "invalid_grace",
            &["at most 7d", "received \"8d\""],
        ),
        (
            json!({"credential": "md5_key", "grace": "soon"}),
            422,
            "invalid_grace",
            &["\"soon\"", "such as 15s or 2m"],
        ),
        (
            json!({"credential": "app_key", "grace": "-1h"}),
            422,
            "invalid_grace",
            &["\"-1h\""],
        ),
        (
            json!({"credential": "app_key", "grace": 60}),
            422,
            "invalid_request",
            &["grace"],
        ),
        (
            json!({"credential": "app_key", "keep": true}),
            422,
            "unknown_field",
            &["keep"],
        ),
    ];
    for (body, status, code, says) in cases {
        let answer = app.post(&path, body.clone()).await;
        assert_refused(&answer, status, code, &body);
        let message = answer.1["error"]["message"].as_str().unwrap_or_default();
        for words in says {
            assert!(message.contains(words), "{words:?} not in {}", answer.1);
        }
        assert_eq!(snapshot(&app, &counter).await, before, "{body}");
    }
    let unknown = rotate(&app, "898310048169999", json!({"credential": "app_key"})).await;
    assert_refused(&unknown, 404, "not_found", &"an unknown merchant");
    let not_json = app
        .admin(reqwest::Method::POST, &path)
        .header("content-type", "application/json")
        .body("credential=app_key")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    assert_eq!(snapshot(&app, &counter).await, before);
    app.stop().await;
}
