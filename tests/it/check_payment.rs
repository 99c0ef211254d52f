//! The payment-result notice checks against real handlers on loopback: the reference
//! handler passes them all; handlers with a known fault (no verification, a fixed field
//! list, no amount check, no `SUCCESS`) fail the checks that name the fault; the CLI's
//! arguments and exit codes; a run started from the sandbox against the merchant's
//! latest order, on both backends.

use std::process::Command;
use std::time::Duration;

use axum::body::Bytes;
use serde_json::{json, Value};
use ums_notify::check::reference::{self, Reference};
use ums_notify::check::reference_payment::PaymentVerifier;
use ums_notify::check::{
    self, Family, KnownOrder, Outcome, PaymentTarget, Report, Settings, Target,
};
use ums_notify::clock::Clock;
use ums_notify::platform::auth::AppKey;
use ums_notify::platform::payments::order::Product;
use ums_notify::platform::payments::sign::SignType;

use crate::common::{eventually, TestDb};

const MD5_KEY: &str = "CheckMd5Key00000000000000000001";
const ORDER_NO: &str = "3194CHECK0001";
const AMOUNT: i64 = 1990;

both_backends!(a_run_from_the_sandbox_reports_the_merchant_s_latest_order_paid);

fn order() -> KnownOrder {
    KnownOrder {
        product: Product::Trade,
        order_no: ORDER_NO.to_owned(),
        total_amount: AMOUNT,
        bill_date: None,
    }
}

async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/pay/notify")
}

async fn reference_handler(orders: &[KnownOrder]) -> String {
    let payment = PaymentVerifier::new(AppKey::new(MD5_KEY), orders);
    serve(reference::router(Reference {
        contract: None,
        payment: Some(payment),
    }))
    .await
}

async fn run_payment(url: String, sign_type: SignType, known: KnownOrder) -> Report {
    let checks = check::select(&[], Family::Payment).unwrap();
    let target = Target {
        notify_url: url,
        app_id: String::new(),
        app_key: AppKey::new(""),
        mid: check::DEFAULT_MID.to_owned(),
        payment: Some(PaymentTarget {
            md5_key: AppKey::new(MD5_KEY),
            sign_type,
            order: known,
        }),
    };
    check::run(target, &checks, &Settings::default(), Clock::system())
        .await
        .unwrap()
}

fn outcomes(report: &Report) -> Vec<(String, Outcome)> {
    report
        .checks
        .iter()
        .map(|c| (c.id.clone(), c.outcome))
        .collect()
}

fn failed(report: &Report) -> Vec<&str> {
    report
        .checks
        .iter()
        .filter(|c| c.outcome == Outcome::Fail)
        .map(|c| c.id.as_str())
        .collect()
}

#[tokio::test]
async fn the_reference_handler_passes_every_payment_check_with_either_sign_type() {
    let url = reference_handler(&[order()]).await;
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
    let bill_url = reference_handler(std::slice::from_ref(&bill)).await;
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
    serve(app).await
}

#[tokio::test]
async fn handlers_with_a_known_fault_fail_the_checks_that_name_it() {
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
    let report = run_payment(serve(app).await, SignType::Sha256, order()).await;
    assert!(report.passed, "{:?}", outcomes(&report));

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

fn cli(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_ums-notify"))
        .arg("check")
        .args(args)
        .env("UMS_NOTIFY_LOG", "warn")
        .env_remove("UMS_NOTIFY_CHECK_APP_KEY")
        .env_remove("UMS_NOTIFY_CHECK_MD5_KEY")
        .output()
        .expect("run ums-notify check");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_cli_checks_payment_handlers_and_names_missing_arguments() {
    let url = reference_handler(&[order()]).await;
    let order_arg = format!("{ORDER_NO}={AMOUNT}");
    let args = [
        "--notify-url",
        &url,
        "--family",
        "payment",
        "--md5-key",
        MD5_KEY,
        "--order",
        &order_arg,
        "--format",
        "json",
    ];
    let owned: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
        cli(&refs)
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{stdout}{stderr}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["summary"], json!({"pass": 5, "fail": 0, "warn": 0}));

    let (code, _, stderr) = cli(&[
        "--notify-url",
        &url,
        "--family",
        "payment",
        "--md5-key",
        MD5_KEY,
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--order or --bill"), "{stderr}");
    let (code, _, stderr) = cli(&["--notify-url", &url]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--app-id and --app-key"), "{stderr}");
    let (code, _, stderr) = cli(&[
        "--notify-url",
        &url,
        "--family",
        "payment",
        "--md5-key",
        MD5_KEY,
        "--order",
        "3194X=0",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("above zero"), "{stderr}");
}

async fn a_run_from_the_sandbox_reports_the_merchant_s_latest_order_paid(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let mid = "898310048161234";
    let (status, merchant) = app
        .post(
            "/admin/v1/merchants",
            json!({"mid": mid, "name": "Shop", "md5_key": MD5_KEY, "msg_src_id": "3194",
                   "notify_url": "http://127.0.0.1:9/unused"}),
        )
        .await;
    assert_eq!(status, 201, "{merchant}");
    let path = format!("/admin/v1/merchants/{mid}/checks");
    let (status, body) = app.post(&path, json!({"family": "payment"})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("no_order")),
        "{body}"
    );
    let (status, created) = app
        .post(
            "/admin/v1/orders",
            json!({"mid": mid, "total_amount": AMOUNT, "order_no": ORDER_NO}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let url = reference_handler(&[order()]).await;
    let (status, started) = app
        .post(&path, json!({"family": "payment", "notify_url": url}))
        .await;
    assert_eq!(status, 202, "{started}");
    let id = started["id"].as_i64().unwrap();
    let run_path = format!("/admin/v1/checks/{id}");
    let finished = eventually(Duration::from_secs(30), || async {
        app.get(&run_path).await.1["status"] == "finished"
    })
    .await;
    let (_, run) = app.get(&run_path).await;
    assert!(finished, "{run}");
    assert_eq!(run["passed"], true, "{run}");
    assert_eq!(run["summary"], json!({"pass": 5, "fail": 0, "warn": 0}));
    let (status, body) = app
        .post(&path, json!({"family": "payment", "order_id": 999_999}))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("unknown_order")),
        "{body}"
    );
    app.stop().await;
}
