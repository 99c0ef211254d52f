//! Merchants' payment signing settings through the admin API: a generated communication
//! key, signType and source number by default, chosen ones kept, malformed ones refused
//! without storing anything. Each test runs against SQLite and PostgreSQL.

use serde_json::{json, Value};

use crate::common::payments::{
    assert_refused, create_merchant, msg_src_id, with, MID_A, MID_B, NOWHERE,
};
use crate::common::platform::Counter;
use crate::common::TestDb;

both_backends!(
    merchants_carry_payment_signing_settings_generated_by_default,
    merchants_carry_payment_signing_settings_chosen_at_creation,
    merchants_carry_payment_signing_settings_refused_when_malformed,
);

async fn merchants_carry_payment_signing_settings_generated_by_default(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let generated = create_merchant(&app, MID_A, json!({})).await;
    let key = generated["md5_key"].as_str().expect("md5_key is a string");
    assert_eq!(
        key.len(),
        32,
        "a generated md5_key has 32 characters: {key}"
    );
    assert!(key.bytes().all(|b| b.is_ascii_graphic()), "{key}");
    assert_ne!(generated["md5_key"], generated["app_key"], "two keys");
    assert_eq!(generated["sign_type"], "SHA256", "the default signType");
    let src = msg_src_id(&generated);
    assert!(
        src.len() == 4 && src.bytes().all(|b| b.is_ascii_alphanumeric()),
        "a generated msg_src_id is 4 letters or digits: {src:?}"
    );
    assert_eq!(generated["auto_pay_after"], Value::Null);
    let (status, shown) = app.get(&format!("/admin/v1/merchants/{MID_A}")).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(
        (&shown["md5_key"], &shown["sign_type"], &shown["msg_src_id"]),
        (
            &generated["md5_key"],
            &generated["sign_type"],
            &generated["msg_src_id"]
        ),
        "the merchant shows what it was created with"
    );
}

async fn merchants_carry_payment_signing_settings_chosen_at_creation(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let generated = create_merchant(&app, MID_A, json!({})).await;
    let chosen_key = "my-own-Key_0123456789";
    let chosen = create_merchant(
        &app,
        MID_B,
        json!({"sign_type": "MD5", "md5_key": chosen_key, "msg_src_id": "31A4",
               "auto_pay_after": "90s"}),
    )
    .await;
    assert_eq!(chosen["sign_type"], "MD5");
    assert_eq!(chosen["md5_key"], chosen_key);
    assert_eq!(chosen["msg_src_id"], "31A4");
    assert_eq!(chosen["auto_pay_after"], "90s");
    assert_ne!(
        generated["md5_key"],
        create_merchant(&app, "898310048160003", json!({})).await["md5_key"],
        "generated keys are random"
    );
}

async fn merchants_carry_payment_signing_settings_refused_when_malformed(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let counter = Counter::new(&db).await;
    let before = counter.counts().await;
    let fresh = "898310048160009";
    let bad = [
        (json!({"md5_key": "short12"}), "invalid_md5_key"),
        (json!({"md5_key": ""}), "invalid_md5_key"),
        (json!({"md5_key": "has a space inside"}), "invalid_md5_key"),
        (json!({"md5_key": "k".repeat(65)}), "invalid_md5_key"),
        (json!({"md5_key": "密钥密钥密钥密钥"}), "invalid_md5_key"),
        (json!({"sign_type": "RSA"}), "invalid_sign_type"),
        (json!({"sign_type": "SHA1"}), "invalid_sign_type"),
        (json!({"sign_type": ""}), "invalid_sign_type"),
        (json!({"msg_src_id": "123"}), "invalid_msg_src_id"),
        (json!({"msg_src_id": "12345"}), "invalid_msg_src_id"),
        (json!({"msg_src_id": "12-4"}), "invalid_msg_src_id"),
        (json!({"msg_src_id": ""}), "invalid_msg_src_id"),
        (json!({"msg_src_id": "一二三四"}), "invalid_msg_src_id"),
        (json!({"auto_pay_after": "soon"}), "invalid_auto_pay_after"),
    ];
    let base = json!({"mid": fresh, "name": "Refused", "notify_url": NOWHERE});
    for (extra, code) in bad {
        let body = with(&base, extra);
        let answer = app.post("/admin/v1/merchants", body.clone()).await;
        assert_refused(&answer, 422, code, &body);
    }
    assert_eq!(
        counter.counts().await,
        before,
        "no refused merchant was stored"
    );
    assert_eq!(
        app.get(&format!("/admin/v1/merchants/{fresh}")).await.0,
        404
    );
}
