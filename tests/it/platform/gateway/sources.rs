//! Message sources: a merchant is its own source by default; merchants that share a
//! source share its one communication key (one brought that differs is refused), and a
//! new key of one is the key of all. Each test runs on SQLite and PostgreSQL.

use serde_json::json;

use crate::common::gateway::{assert_refused, Gateway};
use crate::common::payments::{create_merchant, MID_A, MID_B};
use crate::common::TestDb;

both_backends!(
    a_merchant_is_its_own_source_by_default,
    merchants_of_one_source_share_its_key,
);

async fn a_merchant_is_its_own_source_by_default(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let merchant = create_merchant(&app, MID_A, json!({})).await;
    assert_eq!(merchant["msg_src"], MID_A, "{merchant}");
    let gw = Gateway::new(MID_A, merchant["md5_key"].as_str().unwrap());
    let answer = gw.call(&app, "bills.queryLastQRCode", MID_A, vec![]).await;
    assert_refused(&answer, "NO_ORDER", "no bill");
    let (status, refused) = app
        .post(
            "/admin/v1/merchants",
            json!({"mid": MID_B, "name": "B", "msg_src": "A SOURCE WITH SPACES"}),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "invalid_msg_src", "{refused}");
    app.stop().await;
}

async fn merchants_of_one_source_share_its_key(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let first = create_merchant(&app, MID_A, json!({"msg_src": "SHARED.SRC"})).await;
    let key = first["md5_key"].as_str().unwrap().to_owned();
    let (status, refused) = app
        .post(
            "/admin/v1/merchants",
            json!({"mid": MID_B, "name": "B", "msg_src": "SHARED.SRC", "md5_key": "another-key-1"}),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "invalid_md5_key", "{refused}");
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .contains("SHARED.SRC"));
    let (status, _) = app.get(&format!("/admin/v1/merchants/{MID_B}")).await;
    assert_eq!(status, 404, "nothing was created");

    let second = create_merchant(&app, MID_B, json!({"msg_src": "SHARED.SRC"})).await;
    assert_eq!(
        second["md5_key"],
        key.as_str(),
        "the source's key is shared"
    );
    let gw = Gateway::new("SHARED.SRC", &key);
    for mid in [MID_A, MID_B] {
        let answer = gw.call(&app, "bills.queryLastQRCode", mid, vec![]).await;
        assert_refused(&answer, "NO_ORDER", mid);
    }

    let (status, patched) = app
        .patch(
            &format!("/admin/v1/merchants/{MID_A}"),
            json!({"md5_key": "the-new-shared-key"}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    let (_, b) = app.get(&format!("/admin/v1/merchants/{MID_B}")).await;
    assert_eq!(b["md5_key"], "the-new-shared-key", "{b}");
    let old = gw
        .call_unsigned_for(&app, "bills.queryLastQRCode", MID_B)
        .await;
    assert_refused(&old, "BAD_SIGN", "SHARED.SRC");
    let renewed = Gateway::new("SHARED.SRC", "the-new-shared-key");
    let answer = renewed
        .call(&app, "bills.queryLastQRCode", MID_B, vec![])
        .await;
    assert_refused(&answer, "NO_ORDER", MID_B);
    app.stop().await;
}
