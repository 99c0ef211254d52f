//! Bulk redelivery (`POST /admin/v1/notifications/redeliver`, `ums-notify replay`): a new
//! round for exactly the notifications the filter matches, the others untouched; bad
//! filters refused with a stable code and nothing changed; at most 10,000 per call,
//! saying that more matched. Each test runs against SQLite and PostgreSQL.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::common::outbox::new_notification;
use crate::common::payments::{create_merchant, MID_A, MID_B, WAIT};
use crate::common::triggers::{fire, ids, ums};
use crate::common::{Receiver, Reply, TestApp, TestDb, ADMIN_TOKEN};
use ums_notify::clock::Clock;

both_backends!(
    bulk_redelivery_honours_its_filter,
    bulk_redelivery_moves_at_most_ten_thousand,
);

const REDELIVER: &str = "/admin/v1/notifications/redeliver";

/// Every notification by id.
async fn snapshot(app: &TestApp, ids: &[i64]) -> BTreeMap<i64, Value> {
    let mut all = BTreeMap::new();
    for id in ids {
        all.insert(*id, app.notification(*id).await);
    }
    all
}

/// Waits until each of `ids` has been tried `attempts` times in all and is `status`.
async fn wait_tried(app: &TestApp, ids: &[i64], attempts: u64, status: &str) {
    for id in ids {
        let done = app.wait_for_status(*id, status, WAIT).await;
        let done = if done["attempts"] == attempts {
            done
        } else {
            app.wait_for_retry(*id, attempts, WAIT).await;
            app.wait_for_status(*id, status, WAIT).await
        };
        assert_eq!(done["attempts"], attempts, "{done}");
    }
}

/// Asserts that the notifications of `before` not in `moved` did not change.
async fn assert_untouched(app: &TestApp, before: &BTreeMap<i64, Value>, moved: &[i64]) {
    for (id, was) in before {
        if !moved.contains(id) {
            assert_eq!(
                &app.notification(*id).await,
                was,
                "notification {id} was left alone"
            );
        }
    }
}

async fn redeliver(app: &TestApp, filter: Value) -> Value {
    let (status, answer) = app.post(REDELIVER, filter.clone()).await;
    assert_eq!(status, 200, "{filter}: {answer}");
    answer
}

async fn bulk_redelivery_honours_its_filter(db: TestDb) {
    let app = db.spawn(|args| args.max_attempts = 1).await;
    let failing = Receiver::start(Reply::Status(500)).await;
    let accepting = Receiver::start(Reply::Status(200)).await;
    for mid in [MID_A, MID_B] {
        create_merchant(&app, mid, json!({"notify_url": failing.url("/notify")})).await;
    }
    let mut a = Vec::new();
    for _ in 0..2 {
        let (status, paid) = fire(&app, MID_A, "payment.paid", json!({})).await;
        assert_eq!(status, 201, "{paid}");
        a.extend(ids(&paid));
    }
    let (_, b_paid) = fire(&app, MID_B, "payment.paid", json!({})).await;
    let (_, b_signed) = fire(&app, MID_B, "contract.signed", json!({})).await;
    let (b_payment, b_contract) = (ids(&b_paid), ids(&b_signed));
    let generic = app
        .enqueue(json!({"url": accepting.url("/ok"), "body": {"x": 1}, "max_attempts": 1}))
        .await;
    let failed: Vec<i64> = [a.clone(), b_payment.clone(), b_contract.clone()].concat();
    wait_tried(&app, &failed, 1, "failed").await;
    wait_tried(&app, &[generic], 1, "delivered").await;
    let all: Vec<i64> = [failed.clone(), vec![generic]].concat();
    let before = snapshot(&app, &all).await;

    // Bad filters: refused, nothing changed.
    for (filter, code) in [
        (json!({}), "empty_filter"),
        (json!({"status": "delivering"}), "invalid_status"),
        (json!({"status": "lost"}), "invalid_status"),
        (json!({"created_from": "yesterday"}), "invalid_time"),
        (
            json!({"created_from": "2024-07-01T10:00:00Z", "created_to": "2024-07-01T09:00:00Z"}),
            "invalid_time_range",
        ),
        (json!({"tenant": ""}), "invalid_filter"),
        (json!({"tenant": MID_A, "merchant": MID_A}), "unknown_field"),
    ] {
        let (status, answer) = app.post(REDELIVER, filter.clone()).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (422, Some(code)),
            "{filter}: {answer}"
        );
        assert!(answer["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    assert_untouched(&app, &before, &[]).await;

    // One merchant's failed notices: a new round each, the same bytes; nothing else.
    let answer = redeliver(&app, json!({"tenant": MID_A, "status": "failed"})).await;
    assert_eq!(
        answer,
        json!({"redelivered": 2, "more": false, "skipped_running": 0, "limit": 10000})
    );
    wait_tried(&app, &a, 2, "failed").await;
    for id in &a {
        assert_eq!(
            app.notification(*id).await["body"],
            before[id]["body"],
            "same bytes"
        );
    }
    assert_untouched(&app, &before, &a).await;
    let before = snapshot(&app, &all).await;

    // By kind within a tenant.
    let answer = redeliver(&app, json!({"tenant": MID_B, "kind": "contract_state"})).await;
    assert_eq!(answer["redelivered"], 1, "{answer}");
    wait_tried(&app, &b_contract, 2, "failed").await;
    assert_untouched(&app, &before, &b_contract).await;
    let before = snapshot(&app, &all).await;

    // By status and host: the delivered one.
    let host = format!("127.0.0.1:{}", accepting.addr.port());
    let answer = redeliver(&app, json!({"status": "delivered", "host": host})).await;
    assert_eq!(answer["redelivered"], 1, "{answer}");
    wait_tried(&app, &[generic], 2, "delivered").await;
    assert_untouched(&app, &before, &[generic]).await;
    let before = snapshot(&app, &all).await;

    // By creation time (from inclusive, to exclusive) and subject.
    let created = |id: i64| before[&id]["created_at"].as_str().unwrap().to_owned();
    let first = created(all[0]);
    let answer = redeliver(&app, json!({"created_to": first})).await;
    assert_eq!(
        answer["redelivered"], 0,
        "nothing was created before the first"
    );
    let answer = redeliver(&app, json!({"created_from": "2999-01-01T00:00:00Z"})).await;
    assert_eq!(
        answer["redelivered"], 0,
        "nothing was created in the future"
    );
    let subject = before[&b_payment[0]]["subject"].as_str().unwrap();
    let answer = redeliver(
        &app,
        json!({"subject": subject, "created_from": created(b_payment[0]), "created_to": "2999-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(answer["redelivered"], 1, "{answer}");
    wait_tried(&app, &b_payment, 2, "failed").await;
    assert_untouched(&app, &before, &b_payment).await;

    // The command: the last hour's failed notices of merchant A.
    let (code, out, err) = ums(&[
        "replay",
        "--since",
        "1h",
        "--status",
        "failed",
        "--tenant",
        MID_A,
        "--sandbox",
        &app.base,
        "--key",
        ADMIN_TOKEN,
    ])
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("redelivered 2 notification(s)"), "{out}");
    wait_tried(&app, &a, 3, "failed").await;
    let (code, _, err) = ums(&["replay", "--sandbox", &app.base, "--key", ADMIN_TOKEN]).await;
    assert_eq!(code, 2, "no filter is a usage error: {err}");
    let (code, _, err) = ums(&[
        "replay",
        "--status",
        "delivering",
        "--sandbox",
        &app.base,
        "--key",
        ADMIN_TOKEN,
    ])
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("422 invalid_status"), "{err}");
    app.stop().await;
}

async fn bulk_redelivery_moves_at_most_ten_thousand(db: TestDb) {
    // No dispatcher: the rows stay where the redelivery puts them.
    let (app, _dispatcher) = db.spawn_stepped(Clock::system()).await;
    let batch: Vec<_> = (0..10_001)
        .map(|i| {
            let mut new = new_notification("http://127.0.0.1:1/n", i);
            new.tenant = Some("many".to_owned());
            new
        })
        .collect();
    let created = app
        .store
        .enqueue_batch(batch, app.clock.now())
        .await
        .unwrap();
    assert_eq!(created, 10_001);
    let (_, page) = app.get("/admin/v1/notifications?tenant=many&limit=1").await;
    let newest = page["notifications"][0].clone();
    let newest_id = newest["id"].as_i64().unwrap();

    let answer = redeliver(&app, json!({"tenant": "many"})).await;
    assert_eq!(
        answer,
        json!({"redelivered": 10000, "more": true, "skipped_running": 0, "limit": 10000})
    );
    // The oldest moved; the newest waits for the next call.
    assert_eq!(
        app.notification(newest_id).await["updated_at"],
        newest["updated_at"]
    );
    let oldest = app.notification(newest_id - 10_000).await;
    assert_ne!(oldest["updated_at"], newest["updated_at"], "{oldest}");
    // Created in one batch, at one instant: none before it (`created_to` is exclusive).
    let answer = redeliver(
        &app,
        json!({"tenant": "many", "created_to": newest["created_at"]}),
    )
    .await;
    assert_eq!(
        answer,
        json!({"redelivered": 0, "more": false, "skipped_running": 0, "limit": 10000})
    );
    app.stop().await;
}
