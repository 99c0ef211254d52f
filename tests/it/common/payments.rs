//! Helpers of the order and payment tests: the two products and the wire names of their
//! states (written out independently of the crate), merchants and orders through the
//! admin API, orders set up in a given state, checks of refusals and fields, and the rows
//! an order request could change.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::platform::{Counter, Counts};
use super::{eventually, TestApp};
use ums_notify::db::Sql;

pub const MID_A: &str = "898310048161234";
pub const MID_B: &str = "898310048165678";
/// A notify URL nothing listens on, for tests that do not look at the notices.
pub const NOWHERE: &str = "http://127.0.0.1:1/n";
pub const WAIT: Duration = Duration::from_secs(15);

/// The products, and the wire names of their four states (unpaid, paid, refunded,
/// closed), written out independently of the crate.
pub const TRADE: Product = Product {
    name: "trade",
    states: [
        "WAIT_BUYER_PAY",
        "TRADE_SUCCESS",
        "TRADE_REFUND",
        "TRADE_CLOSED",
    ],
};
pub const BILL: Product = Product {
    name: "bill",
    states: ["UNPAID", "PAID", "REFUND", "CLOSED"],
};

#[derive(Debug, Clone, Copy)]
pub struct Product {
    pub name: &'static str,
    pub states: [&'static str; 4],
}

impl Product {
    pub fn unpaid(self) -> &'static str {
        self.states[0]
    }
    pub fn paid(self) -> &'static str {
        self.states[1]
    }
    pub fn refunded(self) -> &'static str {
        self.states[2]
    }
    pub fn closed(self) -> &'static str {
        self.states[3]
    }
}

/// What an order is set up as before a transition is tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    Unpaid,
    Paid,
    PartlyRefunded,
    Refunded,
    Closed,
}

/// An order of merchant A of 1000 fen in the state `setup` names; checks it got there.
pub async fn order_in(app: &TestApp, product: Product, setup: Setup) -> Value {
    let order = create_order(
        app,
        json!({"mid": MID_A, "total_amount": 1000, "product": product.name}),
    )
    .await;
    let id = order["id"].as_i64().unwrap();
    let moves: &[&str] = match setup {
        Setup::Unpaid => &[],
        Setup::Paid | Setup::PartlyRefunded => &[product.paid()],
        Setup::Refunded => &[product.paid(), product.refunded()],
        Setup::Closed => &[product.closed()],
    };
    for to in moves {
        let (status, moved) = move_order(app, id, to).await;
        assert_eq!(status, 200, "setting up {setup:?}: {moved}");
    }
    if setup == Setup::PartlyRefunded {
        let (status, refunded) = app
            .post(
                &format!("/admin/v1/orders/{id}/refunds"),
                json!({"amount": 100}),
            )
            .await;
        assert_eq!(status, 201, "{refunded}");
    }
    let shown = show(app, id).await;
    let (status, allowed): (&str, &[&str]) = match setup {
        Setup::Unpaid => (product.unpaid(), &[product.paid(), product.closed()]),
        Setup::Paid => (product.paid(), &[product.refunded()]),
        Setup::PartlyRefunded => (product.refunded(), &[product.refunded()]),
        Setup::Refunded | Setup::Closed => (
            if setup == Setup::Refunded {
                product.refunded()
            } else {
                product.closed()
            },
            &[],
        ),
    };
    assert_eq!(shown["status"], status, "{setup:?}: {shown}");
    assert_same_set(&shown["allowed_transitions"], allowed);
    shown
}

/// Creates a merchant notified at nowhere (unless `extra` names a notify URL); returns
/// the admin API's view of it.
pub async fn create_merchant(app: &TestApp, mid: &str, extra: Value) -> Value {
    // Every change notifies, so the tests see every notice of both products; the
    // products' own defaults are tested on their own (`payment_notices` "product").
    let mut body =
        json!({"mid": mid, "name": "测试商户", "notify_url": NOWHERE, "payment_notices": "all"});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().expect("extra is an object").clone());
    let (status, created) = app.post("/admin/v1/merchants", body).await;
    assert_eq!(status, 201, "{created}");
    created
}

pub fn msg_src_id(merchant: &Value) -> String {
    merchant["msg_src_id"]
        .as_str()
        .expect("msg_src_id is a string")
        .to_owned()
}

pub async fn create_order(app: &TestApp, body: Value) -> Value {
    let (status, created) = app.post("/admin/v1/orders", body.clone()).await;
    assert_eq!(status, 201, "{body} was answered {created}");
    created
}

pub async fn move_order(app: &TestApp, id: i64, to: &str) -> (u16, Value) {
    app.post(
        &format!("/admin/v1/orders/{id}/transitions"),
        json!({"to": to}),
    )
    .await
}

pub async fn refund(app: &TestApp, order: &Value, body: Value) -> (u16, Value) {
    app.post(&format!("/admin/v1/orders/{}/refunds", order["id"]), body)
        .await
}

pub async fn show(app: &TestApp, id: i64) -> Value {
    let (status, order) = app.get(&format!("/admin/v1/orders/{id}")).await;
    assert_eq!(status, 200, "order {id}: {order}");
    order
}

/// Pays an order through the admin API, by the channel `target_sys`; returns the answer.
pub async fn pay(app: &TestApp, order: &Value, product: Product, target_sys: &str) -> Value {
    let (status, moved) = app
        .post(
            &format!("/admin/v1/orders/{}/transitions", order["id"]),
            json!({"to": product.paid(), "target_sys": target_sys}),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    moved
}

/// Waits until the order has the status; returns it.
pub async fn wait_for_order(app: &TestApp, id: i64, status: &str) -> Value {
    let reached = eventually(WAIT, || async { show(app, id).await["status"] == status }).await;
    assert!(
        reached,
        "order {id} did not become {status} within {WAIT:?}; last seen: {}",
        show(app, id).await
    );
    show(app, id).await
}

pub async fn order_count(app: &TestApp) -> usize {
    list_all(app, "", 500).await.len()
}

/// The pages a listing query gives with pages of `limit`, following its cursors.
pub async fn list_pages(app: &TestApp, query: &str, limit: u32) -> Vec<Vec<Value>> {
    let join = if query.is_empty() { '?' } else { '&' };
    let first = format!("/admin/v1/orders{query}{join}limit={limit}");
    let mut path = first.clone();
    let mut pages = Vec::new();
    for _ in 0..100 {
        let (status, page) = app.get(&path).await;
        assert_eq!(status, 200, "{path}: {page}");
        pages.push(page["orders"].as_array().expect("orders").clone());
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{first}&cursor={cursor}"),
            None => return pages,
        }
    }
    panic!("{query}: more than 100 pages");
}

/// Every order a listing query gives.
pub async fn list_all(app: &TestApp, query: &str, limit: u32) -> Vec<Value> {
    list_pages(app, query, limit).await.concat()
}

pub fn time(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(
        value
            .as_str()
            .unwrap_or_else(|| panic!("not a time: {value}")),
    )
    .expect("RFC 3339")
    .with_timezone(&Utc)
}

/// `base` with the fields of `change` set (null leaves a field out).
pub fn with(base: &Value, change: Value) -> Value {
    let mut body = base.clone();
    let fields = body.as_object_mut().expect("an object");
    for (name, value) in change.as_object().expect("an object") {
        if value.is_null() {
            fields.remove(name);
        } else {
            fields.insert(name.clone(), value.clone());
        }
    }
    body
}

/// Asserts `value` has the fields of `expected` (times compared to the millisecond).
#[track_caller]
pub fn assert_fields(value: &Value, expected: Value) {
    for (name, wanted) in expected.as_object().expect("an object") {
        assert_eq!(millis(&value[name]), millis(wanted), "`{name}` of {value}");
    }
}

/// Asserts an admin API answer is a refusal with this status and error code.
#[track_caller]
pub fn assert_refused(
    answer: &(u16, Value),
    status: u16,
    code: &str,
    what: &dyn std::fmt::Display,
) {
    assert_eq!(
        (answer.0, answer.1["error"]["code"].as_str()),
        (status, Some(code)),
        "{what} was answered {}",
        answer.1
    );
}

/// Asserts a JSON array holds exactly these strings, in any order.
pub fn assert_same_set(array: &Value, expected: &[&str]) {
    let mut got: Vec<&str> = array
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {array}"))
        .iter()
        .map(|v| v.as_str().expect("a string"))
        .collect();
    let mut expected = expected.to_vec();
    got.sort_unstable();
    expected.sort_unstable();
    assert_eq!(got, expected, "{array}");
}

/// Rows of the tables an order request could change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderCounts {
    pub orders: i64,
    pub refunds: i64,
    pub notifications: i64,
    pub merchants: i64,
}

pub async fn counts(counter: &Counter) -> OrderCounts {
    let count = |table: &'static str| async move {
        let sql = Sql::new(format!("SELECT COUNT(*) FROM {table}"));
        let (n,): (i64,) = counter.database().read_one(&sql).await.expect("count rows");
        n
    };
    let Counts {
        merchants,
        notifications,
        ..
    } = counter.counts().await;
    OrderCounts {
        orders: count("orders").await,
        refunds: count("order_refunds").await,
        notifications,
        merchants,
    }
}

/// The JSON with every time cut to the millisecond, the precision times are stored with.
pub fn millis(value: &Value) -> Value {
    match value {
        Value::String(text) => match DateTime::parse_from_rfc3339(text) {
            Ok(t) => {
                let t = t.with_timezone(&Utc);
                let cut = DateTime::<Utc>::from_timestamp_millis(t.timestamp_millis()).unwrap();
                Value::String(cut.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            }
            Err(_) => value.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(millis).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), millis(v))).collect())
        }
        other => other.clone(),
    }
}
