//! Refused when given, on the platform's own doors too: a notify URL with a refused
//! address in an admin order or contract, a netpay bill (open platform and bill
//! gateway) or a contract sign request is refused, with each door's own error, and
//! nothing is written. Each test runs on SQLite and PostgreSQL.

use serde_json::json;

use crate::common::egress::{public, REFUSED_URLS};
use crate::common::gateway::{s, Gateway};
use crate::common::netpay::{body, GET_QRCODE};
use crate::common::payments::order_count;
use crate::common::platform::{sign_body, MID, SIGN};
use crate::common::TestDb;

both_backends!(a_refused_notify_url_is_refused_at_every_door);

async fn a_refused_notify_url_is_refused_at_every_door(db: TestDb) {
    let app = db.spawn(|s| public(s, &[])).await;
    let shop = app
        .create_merchant(
            MID,
            json!({"notify_url": "https://merchant.example/notify", "msg_src_id": "3194",
                   "md5_key": "gateway-key-1"}),
        )
        .await;
    let gw = Gateway::new(MID, "gateway-key-1");
    let date = (app.clock.now() + chrono::Duration::hours(8))
        .format("%Y-%m-%d")
        .to_string();
    for (n, url) in REFUSED_URLS.iter().enumerate() {
        let (status, answer) = app
            .post(
                "/admin/v1/orders",
                json!({"mid": MID, "total_amount": 1, "notify_url": url}),
            )
            .await;
        assert_eq!(
            (status, &answer["error"]["code"]),
            (422, &json!("destination_not_allowed")),
            "{url}: {answer}"
        );
        let (status, answer) = app
            .post(
                "/admin/v1/contracts",
                json!({"mid": MID, "contract_no": format!("C2026120300{n}"), "plan_id": "P1", "notify_url": url}),
            )
            .await;
        assert_eq!(
            (status, &answer["error"]["code"]),
            (422, &json!("destination_not_allowed")),
            "{url}: {answer}"
        );

        let bill = json!({"billNo": format!("3194E{n}"), "billDate": date, "totalAmount": 1, "notifyUrl": url});
        let answer = shop
            .call(&app, GET_QRCODE, &body(&app, "QRPAYDEFAULT", bill))
            .await;
        assert_eq!(answer["errCode"], "BAD_REQUEST", "{url}: {answer}");
        assert!(
            answer["errMsg"]
                .as_str()
                .unwrap()
                .contains("--destinations public"),
            "{answer}"
        );

        let answer = gw
            .call(
                &app,
                "bills.getQRCode",
                MID,
                vec![
                    ("billNo", s(format!("3194G{n}"))),
                    ("billDate", s(&date)),
                    ("totalAmount", s("1")),
                    ("notifyUrl", s(*url)),
                ],
            )
            .await;
        assert_eq!(answer["errCode"], "BAD_REQUEST", "{url}: {answer}");
        assert!(
            answer["errMsg"]
                .as_str()
                .unwrap()
                .contains("--destinations public"),
            "{answer}"
        );

        let answer = gw
            .call(
                &app,
                "bills.getQRCode",
                MID,
                vec![("payInfoQueryAddr", s(*url))],
            )
            .await;
        assert_eq!(answer["errCode"], "BAD_REQUEST", "{url}: {answer}");
        assert!(
            answer["errMsg"]
                .as_str()
                .unwrap()
                .starts_with("payInfoQueryAddr: "),
            "{answer}"
        );

        let contract = sign_body(MID, &format!("C2026120310{n}"), Some(url), app.clock.now());
        let answer = shop.call(&app, SIGN, &contract).await;
        assert_eq!(answer["errCode"], "1005", "{url}: {answer}");
        let info = answer["errInfo"].as_str().unwrap_or_default();
        assert!(info.contains("--destinations public"), "{answer}");
    }
    assert_eq!(order_count(&app).await, 0);
    let (_, codes) = app.get(&format!("/admin/v1/merchants/{MID}")).await;
    assert_eq!(codes["mid"], MID);
    let (_, contracts) = app.get("/admin/v1/contracts").await;
    assert_eq!(contracts["contracts"], json!([]), "{contracts}");
    assert_eq!(app.stored_total().await, 0);
    app.stop().await;
}
