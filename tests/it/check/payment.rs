//! The payment-result notice checks against real handlers on loopback: the reference
//! handler passes them all; handlers with a known fault (no verification, a fixed field
//! list, no amount check, no `SUCCESS`) fail the checks that name the fault.

use axum::body::Bytes;
use ums_notify::check::{KnownOrder, Outcome};
use ums_notify::platform::payments::order::Product;
use ums_notify::platform::payments::sign::SignType;

use crate::common::check::{
    failed, not_passed, order, outcomes, payment_reference_handler,
    payment_reference_handler_keyed, run_payment, serve, AMOUNT, MD5_KEY, ORDER_NO,
};
use ums_notify::check::payment::{PLATFORM_SAMPLE_BILL, PLATFORM_SAMPLE_MID, SPEC_TEST_KEY};
use ums_notify::platform::payments::sign::{sign, verify};

/// Every field name the sandbox documents for its notices.
const DOCUMENTED: &str = "mid tid instMid billNo billQRCode qrCodeId billDate createTime \
    billStatus billDesc totalAmount merName notifyId seqId receiptAmount billPayment merOrderId \
    status buyerPayAmount invoiceAmount payTime settleDate targetSys targetOrderId buyerId \
    orderDesc refundOrderId refundAmount refundPayTime refundTargetOrderId signType";

fn get<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// What a careful handler checks after the sign: its own order, for its amount.
fn sound(params: &[(String, String)]) -> bool {
    get(params, "merOrderId") == Some(ORDER_NO)
        && get(params, "totalAmount") == Some(&AMOUNT.to_string())
}

/// A careful handler: a right sign, its order, its amount.
fn careful(params: &[(String, String)]) -> bool {
    verify(params, MD5_KEY) && sound(params)
}

#[tokio::test]
async fn the_reference_handler_passes_every_payment_check_with_either_sign_type() {
    let url = payment_reference_handler(&[order()]).await;
    for sign_type in [SignType::Sha256, SignType::Md5] {
        let report = run_payment(url.clone(), sign_type, order()).await;
        // Every payment check but the platform's sample, which needs the spec's key.
        assert_eq!(report.checks.len(), 11, "{:?}", outcomes(&report));
        let acceptance = report.acceptance.as_ref().expect("the acceptance answers");
        assert_eq!(acceptance.answers_success, Some(true));
        assert_eq!(acceptance.handles_repeats, Some(true));
        let text = report.to_text(false);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[2].contains("Answers SUCCESS") && lines[2].ends_with("yes"),
            "{text}"
        );
        assert!(
            lines[3].contains("received twice") && lines[3].ends_with("yes"),
            "{text}"
        );
        assert!(!lines[0].contains("appId"), "no empty appId: {}", lines[0]);
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
async fn a_handler_that_verifies_a_fixed_field_list_fails_signed_extra_fields_alone() {
    // Verifies a fixed list of fields: the random extra field breaks every genuine notice.
    let fixed_list = handler(|params| {
        let wanted = DOCUMENTED.split_whitespace().collect::<Vec<_>>();
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
        if given.is_some_and(|g| g.eq_ignore_ascii_case(&expected)) && sound(params) {
            "SUCCESS"
        } else {
            "FAILED"
        }
    })
    .await;
    let report = run_payment(fixed_list, SignType::Sha256, order()).await;
    assert_eq!(
        not_passed(&report),
        ["payment-signed-extra-fields"],
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

/// What a handler acknowledges.
type Accept = fn(&[(String, String)]) -> bool;

fn status_is(params: &[(String, String)], names: &[&str]) -> bool {
    get(params, "status").is_some_and(|s| names.contains(&s))
}

/// A careful handler that answers `yes` to what passes `accept` and FAILED otherwise.
async fn answering(accept: Accept, yes: &'static str) -> String {
    let app = axum::Router::new().fallback(move |body: Bytes| async move {
        let params: Vec<(String, String)> =
            url::form_urlencoded::parse(&body).into_owned().collect();
        if accept(&params) {
            yes
        } else {
            "FAILED"
        }
    });
    serve(app, "/pay/notify").await
}

#[tokio::test]
async fn each_handler_mistake_fails_exactly_its_check() {
    let cases: [(&str, Accept, &str, &[&str]); 6] = [
        // Answers the JSON string "SUCCESS": the platform takes it; a warning.
        (
            "json answer",
            careful,
            "\"SUCCESS\"",
            &["payment-answers-plain-success"],
        ),
        // FAILED to a refund notice.
        (
            "refuses refunds",
            |p| careful(p) && !status_is(p, &["TRADE_REFUND", "REFUND"]),
            "SUCCESS",
            &["payment-acknowledges-refund"],
        ),
        // FAILED to a close notice.
        (
            "refuses closes",
            |p| careful(p) && !status_is(p, &["TRADE_CLOSED", "CLOSED"]),
            "SUCCESS",
            &["payment-acknowledges-close"],
        ),
        // URL-decodes the values a second time.
        (
            "decodes twice",
            |p| {
                let twice: Vec<(String, String)> = p
                    .iter()
                    .map(|(n, v)| {
                        let again = url::form_urlencoded::parse(format!("x={v}").as_bytes())
                            .next()
                            .map(|(_, v)| v.into_owned())
                            .unwrap_or_default();
                        (n.clone(), again)
                    })
                    .collect();
                careful(&twice)
            },
            "SUCCESS",
            &["payment-decodes-once"],
        ),
        // Compares the hex case-sensitively with its own upper-case sign.
        (
            "case-sensitive sign",
            |p| {
                let expected = sign(p, MD5_KEY, SignType::Sha256);
                get(p, "sign") == Some(expected.as_str()) && sound(p)
            },
            "SUCCESS",
            &["payment-lowercase-sign"],
        ),
        // Makes none of these mistakes.
        ("careful", careful, "SUCCESS", &[]),
    ];
    for (what, accept, yes, expected) in cases {
        let url = answering(accept, yes).await;
        let report = run_payment(url, SignType::Sha256, order()).await;
        assert_eq!(
            not_passed(&report),
            expected,
            "{what}: {:?}",
            outcomes(&report)
        );
        assert!(
            report.passed
                == expected.iter().all(|id| {
                    ums_notify::check::catalogue::spec(id).unwrap().level
                        == ums_notify::check::Level::Should
                }),
            "{what}"
        );
    }
}

#[tokio::test]
async fn a_handler_that_decodes_the_whole_body_before_splitting_fails_decodes_once() {
    let app = axum::Router::new().fallback(|body: Bytes| async move {
        let whole = String::from_utf8_lossy(&body).replace('+', " ");
        let decoded = url::form_urlencoded::parse(
            format!("x={}", whole.replace('&', "%26").replace('=', "%3D")).as_bytes(),
        )
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
        let params: Vec<(String, String)> = decoded
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        if careful(&params) {
            "SUCCESS"
        } else {
            "FAILED"
        }
    });
    let report = run_payment(serve(app, "/pay/notify").await, SignType::Sha256, order()).await;
    assert_eq!(
        not_passed(&report),
        ["payment-decodes-once"],
        "{:?}",
        outcomes(&report)
    );
}

/// The payment checks of `known`, as the merchant `mid` with the key `key`.
async fn run_as(
    mid: &str,
    key: &str,
    sign_type: SignType,
    known: KnownOrder,
    only: &[String],
) -> anyhow::Result<ums_notify::check::Report> {
    use ums_notify::check::{self, Family, PaymentTarget, Settings, Target};
    let url = payment_reference_handler_keyed(key, std::slice::from_ref(&known)).await;
    let checks = check::select(only, Family::Payment).unwrap();
    let target = Target {
        notify_url: url,
        app_id: String::new(),
        app_key: ums_notify::platform::auth::AppKey::new(""),
        mid: mid.to_owned(),
        payment: Some(PaymentTarget {
            md5_key: ums_notify::platform::auth::AppKey::new(key),
            sign_type,
            order: known,
        }),
    };
    check::run(
        target,
        &checks,
        &Settings::default(),
        ums_notify::clock::Clock::system(),
    )
    .await
}

#[tokio::test]
async fn the_platform_s_own_notice_runs_as_the_spec_s_test_merchant_only() {
    let bill = KnownOrder {
        product: Product::Bill,
        order_no: PLATFORM_SAMPLE_BILL.0.to_owned(),
        total_amount: PLATFORM_SAMPLE_BILL.1,
        bill_date: None,
    };
    let report = run_as(
        PLATFORM_SAMPLE_MID,
        SPEC_TEST_KEY,
        SignType::Md5,
        bill.clone(),
        &[],
    )
    .await
    .unwrap();
    // A QR bill: no refund or close checks, since its product sends no such notice.
    assert_eq!(report.checks.len(), 10, "{:?}", outcomes(&report));
    assert!(not_passed(&report).is_empty(), "{:?}", outcomes(&report));
    let sample = report
        .checks
        .iter()
        .find(|c| c.id == "payment-platform-sample")
        .expect("the sample ran");
    assert_eq!(
        sample.exchanges[0].request.body.as_bytes(),
        ums_notify::check::payment::PLATFORM_SAMPLE
    );

    // Signed SHA-256, the merchant would never get the platform's MD5 notice: it does
    // not run, and asked for alone, the run says why instead of passing empty.
    let report = run_as(
        PLATFORM_SAMPLE_MID,
        SPEC_TEST_KEY,
        SignType::Sha256,
        bill.clone(),
        &[],
    )
    .await
    .unwrap();
    assert!(report
        .checks
        .iter()
        .all(|c| c.id != "payment-platform-sample"));
    let only = ["payment-platform-sample".to_owned()];
    let refused = run_as(
        PLATFORM_SAMPLE_MID,
        SPEC_TEST_KEY,
        SignType::Sha256,
        bill,
        &only,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        refused.contains("runs only as the spec's test merchant"),
        "{refused}"
    );
}
