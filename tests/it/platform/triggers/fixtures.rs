//! Every fixture, fired through the admin API at a merchant whose notify URL is a real
//! receiver: the notices it answers with are delivered, are of the fixture's kind, carry
//! the fields its name says (and the `--set` values), and are marked `triggered_by` it.
//! Each test runs against SQLite and PostgreSQL.

use serde_json::{json, Value};

use crate::common::payment_notices::Notice;
use crate::common::payments::{MID_A, WAIT};
use crate::common::receiver::Received;
use crate::common::triggers::{fire, ids, merchant_at_receiver};
use crate::common::{Receiver, TestApp, TestDb};

both_backends!(
    payment_fixtures_send_the_notices_their_names_say,
    bill_fixtures_send_the_notices_their_names_say,
    contract_fixtures_send_the_notices_their_names_say,
);

/// Waits until every notice of `answer` is delivered and checks each is marked and of
/// `kind`; returns what the receiver got for each, in the answer's order.
async fn delivered(
    app: &TestApp,
    receiver: &Receiver,
    answer: &Value,
    kind: &str,
) -> Vec<Received> {
    let mut bodies = Vec::new();
    for id in ids(answer) {
        let done = app.wait_for_status(id, "delivered", WAIT).await;
        assert_eq!(done["kind"], kind, "{done}");
        assert_eq!(done["tenant"], MID_A, "{done}");
        assert_eq!(done["triggered_by"], answer["fixture"], "{done}");
        let body = done["body"].as_str().unwrap().as_bytes().to_vec();
        let got = receiver.received().into_iter().find(|r| r.body == body);
        bodies.push(got.unwrap_or_else(|| panic!("the receiver never got notification {id}")));
    }
    bodies
}

fn form(got: &Received) -> Notice {
    Notice::parse(&got.path, &got.headers, &got.body)
}

fn states(answer: &Value) -> Vec<String> {
    answer["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap().to_owned())
        .collect()
}

async fn payment_fixtures_send_the_notices_their_names_say(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let (receiver, merchant) = merchant_at_receiver(&app, MID_A, json!({})).await;

    let (status, paid) = fire(
        &app,
        MID_A,
        "payment.paid",
        json!({"amount": "250", "description": "一杯咖啡", "target_sys": "Alipay"}),
    )
    .await;
    assert_eq!(status, 201, "{paid}");
    assert_eq!(paid["kind"], "payment_result");
    assert_eq!(states(&paid), ["TRADE_SUCCESS"]);
    let bodies = delivered(&app, &receiver, &paid, "payment_result").await;
    assert_eq!(bodies.len(), 1);
    let notice = form(&bodies[0]);
    notice.verify(&merchant);
    assert_eq!(notice.field("status"), "TRADE_SUCCESS");
    assert_eq!(notice.field("totalAmount"), "250");
    assert_eq!(notice.field("orderDesc"), "一杯咖啡");
    assert_eq!(notice.field("targetSys"), "Alipay");
    assert_eq!(
        notice.field("merOrderId"),
        paid["order_no"].as_str().unwrap()
    );
    // The order is the simulation's own, shown by the admin API.
    let (status, order) = app
        .get(&format!("/admin/v1/orders/{}", paid["order_id"]))
        .await;
    assert_eq!((status, &order["status"]), (200, &json!("TRADE_SUCCESS")));

    let (status, partial) = fire(
        &app,
        MID_A,
        "payment.refunded.partial",
        json!({"total_amount": 1000, "refund_amount": "300"}),
    )
    .await;
    assert_eq!(status, 201, "{partial}");
    let bodies = delivered(&app, &receiver, &partial, "payment_result").await;
    assert_eq!(bodies.len(), 2, "the payment's notice, then the refund's");
    let refund = form(&bodies[1]);
    assert_eq!(refund.field("refundAmount"), "300");
    assert_eq!(refund.field("totalAmount"), "1000");
    assert!(refund.get("refundOrderId").is_some());

    let (status, full) = fire(&app, MID_A, "payment.refunded", json!({"amount": 480})).await;
    assert_eq!(status, 201, "{full}");
    assert_eq!(states(&full), ["TRADE_SUCCESS", "TRADE_REFUND"]);
    let bodies = delivered(&app, &receiver, &full, "payment_result").await;
    let refund = form(&bodies[1]);
    assert_eq!(refund.field("status"), "TRADE_REFUND");
    assert_eq!(refund.field("refundAmount"), "480");

    let (status, closed) = fire(&app, MID_A, "payment.closed", json!({})).await;
    assert_eq!(status, 201, "{closed}");
    assert_eq!(states(&closed), ["TRADE_CLOSED"]);
    let bodies = delivered(&app, &receiver, &closed, "payment_result").await;
    let notice = form(&bodies[0]);
    assert_eq!(notice.field("status"), "TRADE_CLOSED");
    assert!(
        notice.get("payTime").is_none(),
        "a closed order was never paid"
    );
    app.stop().await;
}

async fn bill_fixtures_send_the_notices_their_names_say(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let (receiver, merchant) = merchant_at_receiver(&app, MID_A, json!({})).await;

    let (status, paid) = fire(&app, MID_A, "bill.paid", json!({"total_amount": "88"})).await;
    assert_eq!(status, 201, "{paid}");
    assert_eq!(states(&paid), ["PAID"]);
    let bodies = delivered(&app, &receiver, &paid, "payment_result").await;
    let notice = form(&bodies[0]);
    notice.verify(&merchant);
    assert_eq!(notice.field("billStatus"), "PAID");
    assert_eq!(notice.field("billNo"), paid["order_no"].as_str().unwrap());
    assert_eq!(notice.field("totalAmount"), "88");
    assert!(notice.get("billPayment").is_some());

    let (status, refunded) = fire(&app, MID_A, "bill.refunded", json!({})).await;
    assert_eq!(status, 201, "{refunded}");
    assert_eq!(states(&refunded), ["PAID", "REFUND"]);
    let bodies = delivered(&app, &receiver, &refunded, "payment_result").await;
    let refund = form(&bodies[1]);
    assert_eq!(refund.field("billStatus"), "REFUND");
    assert_eq!(
        refund.field("refundAmount"),
        "100",
        "the default amount, all of it"
    );
    app.stop().await;
}

async fn contract_fixtures_send_the_notices_their_names_say(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let (receiver, _) = merchant_at_receiver(&app, MID_A, json!({})).await;
    for (fixture, last) in [
        ("contract.signed", "SIGNED"),
        ("contract.rescinded", "RESCISSION"),
        ("contract.deleting", "DELETING_CONTRACT"),
    ] {
        let (status, answer) = fire(
            &app,
            MID_A,
            fixture,
            json!({"plan_id": "PLAN-77", "single_limit_amt": "50.00", "avl_num": "3"}),
        )
        .await;
        assert_eq!(status, 201, "{answer}");
        assert_eq!(answer["kind"], "contract_state");
        let contract_id = answer["contract_id"].as_str().unwrap().to_owned();
        let bodies = delivered(&app, &receiver, &answer, "contract_state").await;
        let notices: Vec<Value> = bodies
            .iter()
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect();
        let states: Vec<&str> = notices
            .iter()
            .map(|n| n["contractState"].as_str().unwrap())
            .collect();
        let expected: Vec<&str> = if last == "SIGNED" {
            vec!["SIGNED"]
        } else {
            vec!["SIGNED", last]
        };
        assert_eq!(states, expected, "{fixture}");
        for notice in &notices {
            assert_eq!(notice["contractId"], contract_id.as_str());
            assert_eq!(notice["mid"], MID_A);
            assert_eq!(notice["planId"], "PLAN-77");
            assert_eq!(notice["singleLimitAmt"], "50.00");
            if notice["contractState"] == "SIGNED" {
                assert!(notice["contractSignedTime"].is_string(), "{notice}");
            }
        }
        let (status, contract) = app
            .get(&format!(
                "/admin/v1/contracts/{}",
                contract_id.replace('+', "-").replace('/', "_")
            ))
            .await;
        assert_eq!((status, contract["state"].as_str()), (200, Some(last)));
    }
    app.stop().await;
}
