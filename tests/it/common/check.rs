//! Helpers of the conformance-check tests: handlers served on loopback (the reference
//! handler among them), runs of the contract and the payment checks, their outcomes,
//! `ums-notify check` as a child process, and JUnit reports read with an XML parser.

use std::process::Command;

use ums_notify::check::reference::{self, Reference, Verifier};
use ums_notify::check::reference_payment::PaymentVerifier;
use ums_notify::check::{
    self, Family, KnownOrder, Outcome, PaymentTarget, Report, Settings, Target,
};
use ums_notify::clock::Clock;
use ums_notify::platform::auth::AppKey;
use ums_notify::platform::payments::order::Product;
use ums_notify::platform::payments::sign::SignType;

pub const APP_ID: &str = "CheckAppId0000000000000000000001";
pub const APP_KEY: &str = "CheckAppKey000000000000000000001";
pub const MD5_KEY: &str = "CheckMd5Key00000000000000000001";
pub const ORDER_NO: &str = "3194CHECK0001";
pub const AMOUNT: i64 = 1990;

/// Serves `app` on a loopback port; returns its URL for `path`.
pub async fn serve(app: axum::Router, path: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}{path}")
}

// The contract-notice checks.

pub fn target(notify_url: String) -> Target {
    Target {
        notify_url,
        app_id: APP_ID.to_owned(),
        app_key: AppKey::new(APP_KEY),
        mid: check::DEFAULT_MID.to_owned(),
        payment: None,
    }
}

/// The reference handler with these credentials; returns its notify URL.
pub async fn reference_handler(app_id: &str, app_key: &str) -> String {
    let verifier = Verifier::new(app_id, AppKey::new(app_key), Clock::system());
    serve(reference::router(verifier), "/notify").await
}

pub async fn run_all(url: String, only: &[&str]) -> Report {
    let only: Vec<String> = only.iter().map(|s| (*s).to_owned()).collect();
    let checks = check::select(&only, Family::Contract).unwrap();
    check::run(target(url), &checks, &Settings::default(), Clock::system())
        .await
        .unwrap()
}

pub fn outcome(report: &Report, id: &str) -> Outcome {
    report
        .checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id} in the report"))
        .outcome
}

// The payment-notice checks.

/// The order the payment checks report paid.
pub fn order() -> KnownOrder {
    KnownOrder {
        product: Product::Trade,
        order_no: ORDER_NO.to_owned(),
        total_amount: AMOUNT,
        bill_date: None,
    }
}

/// The reference handler of payment notices, holding `orders`; returns its notify URL.
pub async fn payment_reference_handler(orders: &[KnownOrder]) -> String {
    payment_reference_handler_keyed(MD5_KEY, orders).await
}

/// The reference handler of payment notices with the communication key `key`.
pub async fn payment_reference_handler_keyed(key: &str, orders: &[KnownOrder]) -> String {
    let payment = PaymentVerifier::new(AppKey::new(key), orders);
    serve(
        reference::router(Reference {
            contract: None,
            payment: Some(payment),
        }),
        "/pay/notify",
    )
    .await
}

pub async fn run_payment(url: String, sign_type: SignType, known: KnownOrder) -> Report {
    run_payment_keyed(url, MD5_KEY, sign_type, known).await
}

/// The payment checks with the communication key `key`.
pub async fn run_payment_keyed(
    url: String,
    key: &str,
    sign_type: SignType,
    known: KnownOrder,
) -> Report {
    let checks = check::select(&[], Family::Payment).unwrap();
    let target = Target {
        notify_url: url,
        app_id: String::new(),
        app_key: AppKey::new(""),
        mid: check::DEFAULT_MID.to_owned(),
        payment: Some(PaymentTarget {
            md5_key: AppKey::new(key),
            sign_type,
            order: known,
        }),
    };
    check::run(target, &checks, &Settings::default(), Clock::system())
        .await
        .unwrap()
}

pub fn outcomes(report: &Report) -> Vec<(String, Outcome)> {
    report
        .checks
        .iter()
        .map(|c| (c.id.clone(), c.outcome))
        .collect()
}

/// The checks that did not pass, failed or warned.
pub fn not_passed(report: &Report) -> Vec<&str> {
    report
        .checks
        .iter()
        .filter(|c| c.outcome != Outcome::Pass)
        .map(|c| c.id.as_str())
        .collect()
}

pub fn failed(report: &Report) -> Vec<&str> {
    report
        .checks
        .iter()
        .filter(|c| c.outcome == Outcome::Fail)
        .map(|c| c.id.as_str())
        .collect()
}

// The CLI.

/// `ums-notify check` with these arguments, and neither key from the environment: exit
/// code, stdout, stderr.
pub fn cli<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> (i32, String, String) {
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

pub async fn cli_async(args: Vec<String>) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || cli(&args))
        .await
        .unwrap()
}

pub fn cli_args(url: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "--notify-url".to_owned(),
        url.to_owned(),
        "--app-id".to_owned(),
        APP_ID.to_owned(),
        "--app-key".to_owned(),
        APP_KEY.to_owned(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

/// Test cases and `<failure>` elements of a JUnit document, read with an XML parser
/// (which fails the test if the document is not well-formed).
pub fn junit_counts(xml: &str) -> (usize, usize) {
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut cases, mut failures) = (0, 0);
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                match e.name().as_ref() {
                    "testcase" => cases += 1,
                    "failure" => failures += 1,
                    _ => {}
                }
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    (cases, failures)
}
