//! The payment-result notice checks against real handlers on loopback: the reference
//! handler passes them all; handlers with a known fault (no verification, a fixed field
//! list, no amount check, no `SUCCESS`) fail the checks that name the fault.

use axum::body::Bytes;
use ums_notify::check::{KnownOrder, Outcome};
use ums_notify::platform::payments::order::Product;
use ums_notify::platform::payments::sign::SignType;

use crate::common::check::{
    failed, order, outcomes, payment_reference_handler, run_payment, serve, AMOUNT, MD5_KEY,
};

#[tokio::test]
async fn the_reference_handler_passes_every_payment_check_with_either_sign_type() {
    let url = payment_reference_handler(&[order()]).await;
    for sign_type in [SignType::Sha256, SignType::Md5] {
        let report = run_payment(url.clone(), sign_type, order()).await;
        assert_eq!(report.checks.len(), 5, "{:?}", outcomes(&report));
        for result in &report.checks {
            assert_eq!(
                result.outcome,
                Outcome::Pass,
                "{}: {}",
                result.id,
                result.reason
            );
        }
        assert!(report.passed);
    }
    // A QR bill is checked the same way.
    let bill = KnownOrder {
        product: Product::Bill,
        ..order()
    };
    let bill_url = payment_reference_handler(std::slice::from_ref(&bill)).await;
    let report = run_payment(bill_url, SignType::Sha256, bill).await;
    assert!(report.passed, "{:?}", outcomes(&report));
}

/// A handler that answers `answer(body)` with HTTP 200.
async fn handler(answer: fn(&[(String, String)]) -> &'static str) -> String {
    let app = axum::Router::new().fallback(move |body: Bytes| async move {
        let params: Vec<(String, String)> =
            url::form_urlencoded::parse(&body).into_owned().collect();
        answer(&params)
    });
    serve(app, "/pay/notify").await
}

#[tokio::test]
async fn a_handler_that_says_success_to_anything_fails_the_refusal_checks() {
    // Says SUCCESS to anything: forged, tampered and wrong-amount notices all pass it.
    let credulous = handler(|_| "SUCCESS").await;
    let report = run_payment(credulous, SignType::Sha256, order()).await;
    assert_eq!(
        failed(&report),
        [
            "payment-rejects-forged-sign",
            "payment-rejects-tampered",
            "payment-rejects-wrong-amount"
        ],
        "{:?}",
        outcomes(&report)
    );
    assert!(!report.passed);
}

#[tokio::test]
async fn a_handler_that_verifies_a_fixed_field_list_fails_accepts_signed() {
    // Verifies a fixed list of fields: the random extra field breaks every genuine notice.
    let fixed_list = handler(|params| {
        let wanted = [
            "merOrderId",
            "totalAmount",
            "notifyId",
            "status",
            "signType",
        ];
        let kept: Vec<&(String, String)> = params
            .iter()
            .filter(|(n, _)| wanted.contains(&n.as_str()))
            .collect();
        let expected = ums_notify::platform::payments::sign::sign(
            &kept.into_iter().cloned().collect::<Vec<_>>(),
            MD5_KEY,
            SignType::Sha256,
        );
        let given = params
            .iter()
            .find(|(n, _)| n == "sign")
            .map(|(_, v)| v.as_str());
        if given == Some(expected.as_str()) {
            "SUCCESS"
        } else {
            "FAILED"
        }
    })
    .await;
    let report = run_payment(fixed_list, SignType::Sha256, order()).await;
    assert!(
        failed(&report).contains(&"payment-accepts-signed"),
        "{:?}",
        outcomes(&report)
    );
}

#[tokio::test]
async fn a_handler_that_never_checks_the_amount_fails_rejects_wrong_amount() {
    // Verifies the sign but never compares the amount with its order.
    let no_amount_check = handler(|params| {
        if ums_notify::platform::payments::sign::verify(params, MD5_KEY) {
            "SUCCESS"
        } else {
            "FAILED"
        }
    })
    .await;
    let report = run_payment(no_amount_check, SignType::Sha256, order()).await;
    assert_eq!(failed(&report), ["payment-rejects-wrong-amount"]);
}

#[tokio::test]
async fn a_handler_holding_the_order_paid_without_checking_the_amount_again_passes() {
    // Acknowledges any genuine notice of an order it already holds as paid, without
    // looking at the amount again: fair, since the refusals come before the order is
    // reported paid.
    let paid = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let app = axum::Router::new().fallback(move |body: Bytes| {
        let paid = paid.clone();
        async move {
            let params: Vec<(String, String)> =
                url::form_urlencoded::parse(&body).into_owned().collect();
            if !ums_notify::platform::payments::sign::verify(&params, MD5_KEY) {
                return "FAILED";
            }
            if paid.load(std::sync::atomic::Ordering::SeqCst) {
                return "SUCCESS";
            }
            let amount = params.iter().find(|(n, _)| n == "totalAmount");
            if amount.map(|(_, v)| v.as_str()) != Some(&AMOUNT.to_string()) {
                return "FAILED";
            }
            paid.store(true, std::sync::atomic::Ordering::SeqCst);
            "SUCCESS"
        }
    });
    let report = run_payment(serve(app, "/pay/notify").await, SignType::Sha256, order()).await;
    assert!(report.passed, "{:?}", outcomes(&report));
}

#[tokio::test]
async fn a_handler_answering_ok_not_success_fails_accepts_signed() {
    // Answers 200 but not SUCCESS: the platform keeps sending.
    let says_ok = handler(|_| "OK").await;
    let report = run_payment(says_ok, SignType::Sha256, order()).await;
    let first = report
        .checks
        .iter()
        .find(|c| c.id == "payment-accepts-signed")
        .unwrap();
    assert_eq!(first.outcome, Outcome::Fail);
    assert!(first.reason.contains("\"OK\""), "{}", first.reason);
}
