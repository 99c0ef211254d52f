//! The commands against a running sandbox: `ums-notify trigger` fires a fixture over the
//! admin API with the bearer key and says what it sent, `--list` shows the catalogue,
//! and refusals exit 1 with the sandbox's code. Each test runs against SQLite and
//! PostgreSQL.

use serde_json::json;

use crate::common::payments::{MID_A, WAIT};
use crate::common::triggers::{merchant_at_receiver, ums};
use crate::common::{TestDb, ADMIN_TOKEN};

both_backends!(the_trigger_command_fires_a_fixture_through_the_admin_api);

#[tokio::test]
async fn the_list_shows_every_fixture_with_what_it_sends() {
    let (code, out, err) = ums(&["trigger", "--list"]).await;
    assert_eq!(code, 0, "{err}");
    for name in [
        "payment.paid",
        "payment.refunded.partial",
        "payment.refunded",
        "payment.closed",
        "bill.paid",
        "bill.refunded",
        "contract.signed",
        "contract.rescinded",
        "contract.deleting",
    ] {
        assert!(out.lines().any(|l| l == name), "{name} listed:\n{out}");
    }
    assert!(
        out.contains("TRADE_CLOSED") && out.contains("refund_amount"),
        "{out}"
    );
    let (code, out, _) = ums(&["trigger", "--list", "--format", "json"]).await;
    assert_eq!(code, 0);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list["fixtures"].as_array().unwrap().len(), 9);
}

async fn the_trigger_command_fires_a_fixture_through_the_admin_api(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let (receiver, _) = merchant_at_receiver(&app, MID_A, json!({})).await;
    let (code, out, err) = ums(&[
        "trigger",
        "payment.paid",
        "--mid",
        MID_A,
        "--set",
        "amount=321",
        "--set",
        "description=早餐 套餐",
        "--sandbox",
        &app.base,
        "--key",
        ADMIN_TOKEN,
        "--format",
        "json",
    ])
    .await;
    assert_eq!(code, 0, "{out}{err}");
    let answer: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let id = answer["notification_ids"][0].as_i64().unwrap();
    let done = app.wait_for_status(id, "delivered", WAIT).await;
    assert_eq!(done["triggered_by"], "payment.paid");
    let body = done["body"].as_str().unwrap();
    assert!(body.contains("totalAmount=321"), "{body}");
    assert_eq!(receiver.count(), 1);

    let (code, out, err) = ums(&[
        "trigger",
        "contract.signed",
        "--mid",
        MID_A,
        "--sandbox",
        &app.base,
        "--key",
        ADMIN_TOKEN,
    ])
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("created contract") && out.contains("-> SIGNED: notification"),
        "{out}"
    );

    // Without the key the admin API refuses; the sandbox's code is on stderr.
    let (code, _, err) = ums(&[
        "trigger",
        "payment.paid",
        "--mid",
        MID_A,
        "--sandbox",
        &app.base,
    ])
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("401 unauthorized"), "{err}");
    let (code, _, err) = ums(&[
        "trigger",
        "payment.later",
        "--mid",
        MID_A,
        "--sandbox",
        &app.base,
        "--key",
        ADMIN_TOKEN,
    ])
    .await;
    assert_eq!(code, 1);
    assert!(
        err.contains("422 unknown_fixture") && err.contains("payment.later"),
        "{err}"
    );
    let (code, _, err) = ums(&["trigger", "payment.paid", "--mid", MID_A, "--set", "amount"]).await;
    assert_eq!(code, 2, "a --set without = is a usage error: {err}");
    app.stop().await;
}
