//! A rotated communication key on the bill gateway: the key belongs to the message
//! source, so rotating it through one merchant rotates it for every merchant of the
//! source; during the grace a call signed with either key is accepted for any of them
//! (and answered signed with the key it came with), a merchant joining the source in the
//! grace shares it, and when the grace ends, or a new key is set by hand, only the new
//! key works. Each refusal changes nothing. The clock is fixed and stepped. Each test runs
//! on SQLite and PostgreSQL.

use serde_json::json;
use ums_notify::clock::Clock;

use crate::common::auth::{secs, t0};
use crate::common::gateway::{assert_refused, Gateway};
use crate::common::payments::{counts, create_merchant, MID_A, MID_B};
use crate::common::platform::Counter;
use crate::common::rotation::{graces, new_key, rotated, snapshot};
use crate::common::{TestApp, TestDb};

both_backends!(
    a_source_key_rotated_through_one_merchant_signs_for_all_during_the_grace,
    a_key_set_by_hand_ends_the_grace,
);

const SOURCE: &str = "SHARED.SRC";
const MID_C: &str = "898310048160003";
const QUERY: &str = "bills.queryLastQRCode";

/// The source's merchants are served: the call passes the sign and reaches the bills.
async fn served(app: &TestApp, gateway: &Gateway, mid: &str) {
    let answer = gateway.call(app, QUERY, mid, vec![]).await;
    assert_refused(&answer, "NO_ORDER", mid);
}

/// The call is refused for its sign, and nothing changed.
async fn bad_sign(app: &TestApp, counter: &Counter, gateway: &Gateway, mid: &str) {
    let before = (counts(counter).await, snapshot(app, counter).await);
    let answer = gateway.call_unsigned_for(app, QUERY, mid).await;
    assert_refused(&answer, "BAD_SIGN", SOURCE);
    assert_eq!(
        (counts(counter).await, snapshot(app, counter).await),
        before
    );
}

async fn a_source_key_rotated_through_one_merchant_signs_for_all_during_the_grace(db: TestDb) {
    let app = db.spawn_with_clock(Clock::fixed(t0()), |_| {}).await;
    let counter = Counter::new(&db).await;
    let a = create_merchant(&app, MID_A, json!({"msg_src": SOURCE})).await;
    create_merchant(&app, MID_B, json!({"msg_src": SOURCE})).await;
    let old = Gateway::new(SOURCE, a["md5_key"].as_str().unwrap());

    let answer = rotated(&app, MID_A, "md5_key", "15m").await;
    assert_eq!(answer["merchants"], json!([MID_A, MID_B]), "{answer}");
    let key = new_key(&answer);
    let new = Gateway::new(SOURCE, &key);
    let grace_end = t0() + chrono::Duration::minutes(15);
    let (_, b) = app.get(&format!("/admin/v1/merchants/{MID_B}")).await;
    assert_eq!(b["md5_key"], key.as_str(), "B took the source's new key");
    assert_eq!(graces(&b), graces(&answer["merchant"]), "{b}");
    assert_eq!(graces(&b)[0].0, "md5_key");

    // A merchant joining the source in the grace takes the new key and the grace.
    let c = create_merchant(&app, MID_C, json!({"msg_src": SOURCE})).await;
    assert_eq!(c["md5_key"], key.as_str());
    assert_eq!(graces(&c), graces(&b), "{c}");

    // In the grace, at its start and a second before its end: both keys, every merchant;
    // each answer is signed with the key of its call (`call` checks it).
    for at in [t0(), grace_end - secs(1)] {
        let now = app.clock.now();
        app.clock.advance(at - now);
        for mid in [MID_A, MID_B, MID_C] {
            served(&app, &old, mid).await;
            served(&app, &new, mid).await;
        }
        let stranger = Gateway::new(SOURCE, "neither-key-of-the-source");
        let answer = stranger.call_unsigned_for(&app, QUERY, MID_B).await;
        assert_refused(&answer, "BAD_SIGN", "was rotated");
        new.assert_signed(&answer);
    }

    // The grace ends: only the new key works, for every merchant of the source.
    app.clock.advance(secs(1));
    for mid in [MID_A, MID_B, MID_C] {
        bad_sign(&app, &counter, &old, mid).await;
        served(&app, &new, mid).await;
    }
    let (_, b) = app.get(&format!("/admin/v1/merchants/{MID_B}")).await;
    assert_eq!(graces(&b), vec![], "{b}");
    app.stop().await;
}

/// A communication key set with `PATCH` replaces the key at once: the grace of an
/// earlier rotation ends with it, for the whole source.
async fn a_key_set_by_hand_ends_the_grace(db: TestDb) {
    let app = db.spawn_with_clock(Clock::fixed(t0()), |_| {}).await;
    let counter = Counter::new(&db).await;
    let a = create_merchant(&app, MID_A, json!({"msg_src": SOURCE})).await;
    create_merchant(&app, MID_B, json!({"msg_src": SOURCE})).await;
    let old = Gateway::new(SOURCE, a["md5_key"].as_str().unwrap());
    let rotated_key = new_key(&rotated(&app, MID_B, "md5_key", "1h").await);
    served(&app, &old, MID_A).await;
    let (status, patched) = app
        .patch(
            &format!("/admin/v1/merchants/{MID_A}"),
            json!({"md5_key": "the-key-set-by-hand"}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(graces(&patched), vec![], "{patched}");
    let (_, b) = app.get(&format!("/admin/v1/merchants/{MID_B}")).await;
    assert_eq!(graces(&b), vec![], "{b}");
    for key in [a["md5_key"].as_str().unwrap(), rotated_key.as_str()] {
        for mid in [MID_A, MID_B] {
            bad_sign(&app, &counter, &Gateway::new(SOURCE, key), mid).await;
        }
    }
    served(&app, &Gateway::new(SOURCE, "the-key-set-by-hand"), MID_B).await;
    app.stop().await;
}
