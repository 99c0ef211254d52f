//! Listing orders through the admin API: filters by merchant, product and status (a
//! status naming one product's state), pages newest first that follow their cursors, and
//! malformed queries refused. Each test runs against SQLite and PostgreSQL.

use serde_json::json;

use crate::common::payments::{
    create_merchant, create_order, list_all, list_pages, move_order, BILL, MID_A, MID_B, TRADE,
};
use crate::common::{TestApp, TestDb};

both_backends!(
    listing_filters_and_pages,
    listing_filters_and_pages_in_pages,
    listing_filters_and_pages_refuses_malformed_queries,
    a_status_filter_lists_only_orders_showing_that_status,
);

/// Seven orders: three trade and two bill orders of merchant A, two trade orders of
/// merchant B; the first paid, the fourth (a bill) paid, the sixth closed. Their ids.
async fn seven_orders(app: &TestApp) -> Vec<i64> {
    create_merchant(app, MID_A, json!({})).await;
    create_merchant(app, MID_B, json!({})).await;
    let mut ids = Vec::new();
    for (mid, product) in [
        (MID_A, TRADE),
        (MID_A, TRADE),
        (MID_A, TRADE),
        (MID_A, BILL),
        (MID_A, BILL),
        (MID_B, TRADE),
        (MID_B, TRADE),
    ] {
        let order = create_order(
            app,
            json!({"mid": mid, "total_amount": 100, "product": product.name}),
        )
        .await;
        ids.push(order["id"].as_i64().unwrap());
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow: {ids:?}");
    assert_eq!(move_order(app, ids[0], "TRADE_SUCCESS").await.0, 200);
    assert_eq!(move_order(app, ids[3], "PAID").await.0, 200);
    assert_eq!(move_order(app, ids[5], "TRADE_CLOSED").await.0, 200);
    ids
}

/// The ids of the orders `picked` (indexes into `ids`), newest first.
fn newest_first(ids: &[i64], picked: &[usize]) -> Vec<i64> {
    picked.iter().rev().map(|&i| ids[i]).collect()
}

/// Checks each listing query gives exactly the expected ids, newest first, and that every
/// order listed has the `mid`, `product` and `status` the query names.
async fn assert_listings(app: &TestApp, cases: Vec<(String, Vec<i64>)>) {
    for (query, expected) in cases {
        let query = query.as_str();
        let orders = list_all(app, query, 500).await;
        let got: Vec<i64> = orders.iter().map(|o| o["id"].as_i64().unwrap()).collect();
        for order in &orders {
            for name in ["mid", "product", "status"] {
                if let Some(wanted) = query_value(query, name) {
                    assert_eq!(
                        order[name], wanted,
                        "GET /admin/v1/orders{query} listed {order}"
                    );
                }
            }
            assert!(
                order.get("refunds").is_none(),
                "a listing leaves refunds out"
            );
        }
        assert_eq!(got, expected, "GET /admin/v1/orders{query}");
    }
}

/// The value of `name` in a query string such as `?mid=1&status=PAID`.
fn query_value<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .trim_start_matches('?')
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find_map(|(k, v)| (k == name).then_some(v))
}

async fn listing_filters_and_pages(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let ids = seven_orders(&app).await;
    let cases: Vec<(String, Vec<i64>)> = vec![
        (String::new(), newest_first(&ids, &[0, 1, 2, 3, 4, 5, 6])),
        (
            format!("?mid={MID_A}"),
            newest_first(&ids, &[0, 1, 2, 3, 4]),
        ),
        (format!("?mid={MID_B}"), newest_first(&ids, &[5, 6])),
        ("?mid=898310048160000".into(), vec![]),
        ("?product=bill".into(), newest_first(&ids, &[3, 4])),
        (
            format!("?mid={MID_A}&product=trade"),
            newest_first(&ids, &[0, 1, 2]),
        ),
        (
            "?product=trade&status=TRADE_SUCCESS".into(),
            newest_first(&ids, &[0]),
        ),
        ("?product=bill&status=PAID".into(), newest_first(&ids, &[3])),
        (
            "?product=bill&status=UNPAID".into(),
            newest_first(&ids, &[4]),
        ),
        (
            format!("?mid={MID_A}&product=trade&status=WAIT_BUYER_PAY"),
            newest_first(&ids, &[1, 2]),
        ),
        (
            format!("?mid={MID_B}&product=trade&status=TRADE_CLOSED"),
            newest_first(&ids, &[5]),
        ),
    ];
    assert_listings(&app, cases).await;
}

/// Pages: newest first, no order twice, no cursor after the last.
async fn listing_filters_and_pages_in_pages(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let ids = seven_orders(&app).await;
    for (query, size, sizes, expected) in [
        (
            String::new(),
            3,
            vec![3, 3, 1],
            newest_first(&ids, &[0, 1, 2, 3, 4, 5, 6]),
        ),
        (
            format!("?mid={MID_A}"),
            2,
            vec![2, 2, 1],
            newest_first(&ids, &[0, 1, 2, 3, 4]),
        ),
    ] {
        let pages = list_pages(&app, &query, size).await;
        let got_sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
        assert_eq!(got_sizes, sizes, "{query} in pages of {size}");
        let ids: Vec<i64> = pages
            .iter()
            .flatten()
            .map(|o| o["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, expected, "{query} in pages of {size}");
    }
}

async fn listing_filters_and_pages_refuses_malformed_queries(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    seven_orders(&app).await;
    for query in [
        "?status=BOGUS",
        "?product=bill&status=TRADE_SUCCESS",
        "?product=card",
        "?limit=0",
        "?limit=501",
        "?cursor=abc",
        "?colour=red",
    ] {
        let (status, answer) = app.get(&format!("/admin/v1/orders{query}")).await;
        assert_eq!(status, 400, "{query}: {answer}");
    }
}

/// A status names one product's state: a status filter alone lists the orders showing
/// that status, of that product only.
async fn a_status_filter_lists_only_orders_showing_that_status(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let ids = seven_orders(&app).await;
    let cases: Vec<(String, Vec<i64>)> = vec![
        ("?status=TRADE_SUCCESS".into(), newest_first(&ids, &[0])),
        ("?status=PAID".into(), newest_first(&ids, &[3])),
        ("?status=UNPAID".into(), newest_first(&ids, &[4])),
        (
            "?status=WAIT_BUYER_PAY".into(),
            newest_first(&ids, &[1, 2, 6]),
        ),
        ("?status=TRADE_CLOSED".into(), newest_first(&ids, &[5])),
        (
            format!("?mid={MID_A}&status=WAIT_BUYER_PAY"),
            newest_first(&ids, &[1, 2]),
        ),
    ];
    assert_listings(&app, cases).await;
}
