//! Order, bill and contract states are told on the console as notification statuses
//! are: by their own name (the platform's wire name) and by a colour, through one badge.

use serde_json::json;

use crate::common::{Receiver, Reply, TestApp, TestDb};

both_backends!(order_and_contract_states_are_told_by_colour_and_name_like_notifications);

/// The badge that follows `marker` in `html`: its classes and its text.
fn badge_after(html: &str, marker: &str) -> (Vec<String>, String) {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker:?} is on the page"));
    let rest = &html[at..];
    let start = rest
        .find("<span class=\"badge ")
        .unwrap_or_else(|| panic!("a badge after {marker:?}"));
    let rest = &rest[start + "<span class=\"".len()..];
    let classes = rest[..rest.find('"').unwrap()]
        .split(' ')
        .map(str::to_owned)
        .collect();
    let text = &rest[rest.find('>').unwrap() + 1..];
    (classes, text[..text.find('<').unwrap()].to_owned())
}

/// The colour class of a badge (`t-…`), which the stylesheet must colour.
fn tone(classes: &[String], stylesheet: &str) -> String {
    let tone = classes
        .iter()
        .find(|c| c.starts_with("t-"))
        .unwrap_or_else(|| panic!("a colour among {classes:?}"))
        .clone();
    let rule = stylesheet
        .lines()
        .find(|line| line.starts_with(&format!(".{tone} {{")))
        .unwrap_or_else(|| panic!("the stylesheet colours .{tone}"));
    assert!(
        rule.contains("background") && rule.contains("color"),
        "{rule}"
    );
    tone
}

async fn page(app: &TestApp, path: &str) -> String {
    let response = app.http.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

/// Creates an order of `product` and moves it through `moves`; returns its id and number.
async fn order(app: &TestApp, mid: &str, product: &str, moves: &[&str]) -> (i64, String) {
    let (status, order) = app
        .post(
            "/admin/v1/orders",
            json!({"mid": mid, "total_amount": 500, "product": product}),
        )
        .await;
    assert_eq!(status, 201, "{order}");
    let id = order["id"].as_i64().unwrap();
    for to in moves {
        let (status, moved) = app
            .post(
                &format!("/admin/v1/orders/{id}/transitions"),
                json!({"to": to}),
            )
            .await;
        assert_eq!(status, 200, "{to}: {moved}");
    }
    (id, order["order_no"].as_str().unwrap().to_owned())
}

async fn order_and_contract_states_are_told_by_colour_and_name_like_notifications(db: TestDb) {
    let shop = Receiver::start(Reply::Body(200, "SUCCESS")).await;
    let app = db.spawn(|settings| settings.admin_token = None).await;
    let mid = "898310048160030";
    let (status, merchant) = app
        .post(
            "/admin/v1/merchants",
            json!({"mid": mid, "name": "Shop", "notify_url": shop.url("/pay"), "msg_src_id": "3194"}),
        )
        .await;
    assert_eq!(status, 201, "{merchant}");
    let stylesheet = page(&app, "/console/assets/console.css").await;

    // The notification statuses, as the counts show them on every list.
    let notifications = page(&app, "/console/notifications").await;
    let status_tone = |status: &str| {
        let (classes, text) = badge_after(&notifications, &format!("?status={status}\""));
        assert_eq!(text, status);
        tone(&classes, &stylesheet)
    };
    let (delivered, cancelled) = (status_tone("delivered"), status_tone("cancelled"));

    // Each state of each product: its wire name, and one colour per meaning.
    let mut tones = Vec::new();
    for (product, states) in [
        ("bill", ["UNPAID", "PAID", "REFUND", "CLOSED"]),
        (
            "trade",
            [
                "WAIT_BUYER_PAY",
                "TRADE_SUCCESS",
                "TRADE_REFUND",
                "TRADE_CLOSED",
            ],
        ),
    ] {
        let [unpaid, paid, refunded, closed] = states;
        let orders = [
            (unpaid, order(&app, mid, product, &[]).await),
            (paid, order(&app, mid, product, &[paid]).await),
            (refunded, order(&app, mid, product, &[paid, refunded]).await),
            (closed, order(&app, mid, product, &[closed]).await),
        ];
        let list = page(
            &app,
            &format!("/console/orders?mid={mid}&product={product}"),
        )
        .await;
        let mut of_product = Vec::new();
        for (state, (_, order_no)) in &orders {
            let (classes, text) = badge_after(&list, &format!(">{order_no}</a>"));
            assert_eq!(&text, state, "{product} {order_no}: {classes:?}");
            assert!(classes.contains(&format!("s-{state}")), "{classes:?}");
            of_product.push(tone(&classes, &stylesheet));
        }
        assert_eq!(
            of_product[1], delivered,
            "{product}: paid is told as delivered is"
        );
        assert_eq!(
            of_product[3], cancelled,
            "{product}: closed is told as cancelled is"
        );
        let mut distinct = of_product.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            4,
            "{product}: four states, four colours: {of_product:?}"
        );
        tones.push(of_product);

        // One order's own page tells its state the same way.
        let (_, (id, _)) = &orders[1];
        let shown = page(&app, &format!("/console/orders/{id}")).await;
        let (classes, text) = badge_after(&shown, "<dt>Status</dt>");
        assert_eq!(text, paid);
        assert_eq!(tone(&classes, &stylesheet), delivered);
    }
    assert_eq!(
        tones[0], tones[1],
        "a bill and a trade order in the same state look alike"
    );

    // Contracts: their state names, by the same badge.
    let (status, contract) = app
        .post(
            "/admin/v1/contracts",
            json!({"mid": mid, "contract_no": "CN2026120300002", "plan_id": "PLAN01"}),
        )
        .await;
    assert_eq!(status, 201, "{contract}");
    let contracts = page(&app, &format!("/console/contracts?mid={mid}")).await;
    let (classes, text) = badge_after(&contracts, ">CN2026120300002</a>");
    assert_eq!(text, "UNSIGNED");
    tone(&classes, &stylesheet);
    app.stop().await;
}
