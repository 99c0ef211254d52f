//! The conformance check against real merchant handlers on loopback: the reference
//! handler passes everything; handlers with a known fault fail the check that names it;
//! the CLI's exit codes and formats; runs started from the sandbox, stored on both
//! backends.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header::AUTHORIZATION, HeaderMap, StatusCode};
use serde_json::{json, Value};
use ums_notify::check::reference::{self, Handled, Verifier};
use ums_notify::check::{self, Family, Outcome, Report, Settings, Target};
use ums_notify::clock::Clock;
use ums_notify::platform::auth::AppKey;

use crate::common::platform::{body_signature, verify_notification};
use crate::common::{eventually, Receiver, Reply, TestDb};

const APP_ID: &str = "CheckAppId0000000000000000000001";
const APP_KEY: &str = "CheckAppKey000000000000000000001";

fn target(notify_url: String) -> Target {
    Target {
        notify_url,
        app_id: APP_ID.to_owned(),
        app_key: AppKey::new(APP_KEY),
        mid: check::DEFAULT_MID.to_owned(),
        payment: None,
    }
}

/// Serves `app` on a loopback port; returns its notify URL.
async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/notify")
}

/// The reference handler with the test credentials.
async fn reference_handler(app_id: &str, app_key: &str) -> String {
    let verifier = Verifier::new(app_id, AppKey::new(app_key), Clock::system());
    serve(reference::router(verifier)).await
}

async fn run_all(url: String, only: &[&str]) -> Report {
    let only: Vec<String> = only.iter().map(|s| (*s).to_owned()).collect();
    let checks = check::select(&only, Family::Contract).unwrap();
    check::run(target(url), &checks, &Settings::default(), Clock::system())
        .await
        .unwrap()
}

fn outcome(report: &Report, id: &str) -> Outcome {
    report
        .checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id} in the report"))
        .outcome
}

/// `ums-notify check` with these arguments: exit code, stdout, stderr.
fn cli<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_ums-notify"))
        .arg("check")
        .args(args)
        .env("UMS_NOTIFY_LOG", "warn")
        .env_remove("UMS_NOTIFY_CHECK_APP_KEY")
        .output()
        .expect("run ums-notify check");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

async fn cli_async(args: Vec<String>) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || cli(&args))
        .await
        .unwrap()
}

fn cli_args(url: &str, extra: &[&str]) -> Vec<String> {
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

#[tokio::test]
async fn the_reference_handler_passes_every_check() {
    let url = reference_handler(APP_ID, APP_KEY).await;
    let report = run_all(url.clone(), &[]).await;
    let contract_checks = check::CATALOGUE
        .iter()
        .filter(|spec| spec.family == Family::Contract)
        .count();
    assert_eq!(report.checks.len(), contract_checks);
    for result in &report.checks {
        assert_eq!(
            result.outcome,
            Outcome::Pass,
            "{}: {}",
            result.id,
            result.reason
        );
        assert!(result.hint.is_none(), "{}", result.id);
    }
    assert!(report.passed);
    let timings = report.checks[1]
        .timings
        .as_ref()
        .expect("answers-in-time timings");
    assert!(timings.p50_ms <= timings.p95_ms && timings.p95_ms <= timings.max_ms);

    // The same through the CLI: exit 0, and the JSON report says the same.
    let (code, stdout, stderr) = cli_async(cli_args(&url, &["--format", "json"])).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["passed"], true);
    assert_eq!(json["summary"], json!({"pass": 12, "fail": 0, "warn": 0}));
    assert_eq!(json["checks"][0]["id"], "accepts-signed-notice");
    assert_eq!(json["checks"][0]["level"], "must");
    assert_eq!(json["checks"][0]["outcome"], "pass");
    let exchange = &json["checks"][0]["exchanges"][0];
    assert_eq!(exchange["answer"]["status"], 200);
    assert_eq!(exchange["request"]["url"], url.as_str());
}

#[tokio::test]
async fn a_handler_that_answers_200_to_everything_fails_the_signature_checks() {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let url = receiver.url("/notify");
    let report = run_all(url.clone(), &[]).await;
    assert_eq!(outcome(&report, "rejects-forged-signature"), Outcome::Fail);
    assert_eq!(outcome(&report, "rejects-tampered-body"), Outcome::Fail);
    assert_eq!(outcome(&report, "rejects-unsigned"), Outcome::Warn);
    assert_eq!(outcome(&report, "rejects-replay"), Outcome::Warn);
    assert_eq!(outcome(&report, "accepts-signed-notice"), Outcome::Pass);
    assert!(!report.passed);
    let forged = report
        .checks
        .iter()
        .find(|c| c.id == "rejects-forged-signature")
        .unwrap();
    assert!(forged.reason.contains("forge"), "{}", forged.reason);
    assert!(forged.hint.is_some());

    // CLI: exit 1, and the JUnit report is XML with the two failures as <failure>.
    let (code, stdout, stderr) = cli_async(cli_args(&url, &["--format", "junit"])).await;
    assert_eq!(code, 1, "{stdout}{stderr}");
    let (cases, failures) = junit_counts(&stdout);
    assert_eq!((cases, failures), (12, 2), "{stdout}");
}

/// Test cases and `<failure>` elements of a JUnit document, read with an XML parser
/// (which fails the test if the document is not well-formed).
fn junit_counts(xml: &str) -> (usize, usize) {
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

/// A handler that verifies like the reference but answers 500 to a repeat.
async fn refusing_repeats() -> String {
    async fn handle(
        State(verifier): State<Arc<Verifier>>,
        headers: HeaderMap,
        body: Bytes,
    ) -> StatusCode {
        let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        match verifier.judge(authorization, &body) {
            Ok(Handled::Repeat) => StatusCode::INTERNAL_SERVER_ERROR,
            Ok(_) => StatusCode::OK,
            Err(rejection) => rejection.status(),
        }
    }
    let verifier = Verifier::new(APP_ID, AppKey::new(APP_KEY), Clock::system());
    serve(
        axum::Router::new()
            .fallback(handle)
            .with_state(Arc::new(verifier)),
    )
    .await
}

#[tokio::test]
async fn a_handler_that_refuses_a_repeat_fails_accepts_repeat() {
    let url = refusing_repeats().await;
    let report = run_all(url, &["accepts-repeat", "accepts-signed-notice"]).await;
    assert_eq!(outcome(&report, "accepts-signed-notice"), Outcome::Pass);
    assert_eq!(outcome(&report, "accepts-repeat"), Outcome::Fail);
    let repeat = &report.checks[1];
    assert_eq!(repeat.exchanges.len(), 2);
    assert_eq!(
        repeat.exchanges[0].request.body,
        repeat.exchanges[1].request.body
    );
    assert_eq!(repeat.exchanges[1].answer.status, Some(500));
    assert!(
        repeat.platform.contains("up to 9 more times"),
        "{}",
        repeat.platform
    );
}

#[tokio::test]
async fn a_redirecting_handler_fails_no_redirect() {
    let receiver = Receiver::start(Reply::Status(200)).await;
    // The redirect points at the same receiver: followed, it would show a second request.
    let target = receiver.url("/notify/");
    receiver.then([Reply::Redirect(target.clone())]);
    let report = run_all(receiver.url("/notify"), &["no-redirect"]).await;
    let result = &report.checks[0];
    assert_eq!(result.outcome, Outcome::Fail);
    assert!(
        result.reason.contains("does not follow redirects"),
        "{}",
        result.reason
    );
    assert!(result.reason.contains(&target), "{}", result.reason);
    assert!(
        result.platform.contains("does not follow redirects"),
        "{}",
        result.platform
    );
    assert_eq!(receiver.count(), 1, "the redirect was not followed");
}

#[tokio::test]
async fn a_slow_handler_warns_on_answers_in_time() {
    let receiver = Receiver::start(Reply::Status(200)).await;
    // One answer in ten over 3 s puts the p95 over it.
    receiver.then([Reply::Slow(200, Duration::from_millis(3_100))]);
    let report = run_all(receiver.url("/notify"), &["answers-in-time"]).await;
    let result = &report.checks[0];
    assert_eq!(result.outcome, Outcome::Warn, "{}", result.reason);
    assert!(report.passed, "a warning does not fail the run");
    let timings = result.timings.as_ref().unwrap();
    assert!(timings.p95_ms >= 3_000.0, "{timings:?}");
}

#[tokio::test]
async fn an_unreachable_handler_fails_cleanly() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    drop(listener);
    let report = run_all(url.clone(), &[]).await;
    for result in &report.checks {
        // No answer judges nothing, not even a check that expects a refusal.
        let expected = match result.level {
            check::Level::Must => Outcome::Fail,
            check::Level::Should => Outcome::Warn,
        };
        assert_eq!(result.outcome, expected, "{}: {}", result.id, result.reason);
        for exchange in &result.exchanges {
            assert_eq!(exchange.answer.status, None);
            let error = exchange.answer.error.as_deref().unwrap();
            assert!(error.contains("could not connect"), "{error}");
        }
    }
    let (code, stdout, _) = cli_async(cli_args(&url, &[])).await;
    assert_eq!(code, 1);
    assert!(stdout.contains("could not connect"), "{stdout}");
    assert!(!stdout.contains('\x1b'), "no colour when not on a terminal");
}

#[test]
fn bad_arguments_exit_2_with_a_message() {
    let (code, _, stderr) = cli(&cli_args("ftp://shop.example/notify", &[]));
    assert_eq!(code, 2);
    assert!(stderr.contains("--notify-url"), "{stderr}");
    let (code, _, stderr) = cli(&cli_args(
        "http://127.0.0.1:9/n",
        &["--only", "accepts-repeat,no-such-check"],
    ));
    assert_eq!(code, 2);
    assert!(stderr.contains("unknown check `no-such-check`"), "{stderr}");
    assert!(
        stderr.contains("accepts-signed-notice"),
        "the message lists the checks: {stderr}"
    );
    let (code, _, stderr) = cli(&["--notify-url", "http://127.0.0.1:9/n", "--app-id", "x"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--app-key"), "{stderr}");
    let (code, _, _) = cli(&cli_args("http://127.0.0.1:9/n", &["--format", "yaml"]));
    assert_eq!(code, 2);
}

#[tokio::test]
async fn the_report_can_go_to_a_file() {
    let url = reference_handler(APP_ID, APP_KEY).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("check.xml");
    let path_text = path.to_str().unwrap().to_owned();
    let (code, stdout, stderr) = cli_async(cli_args(
        &url,
        &[
            "--format",
            "junit",
            "--output",
            &path_text,
            "--only",
            "accepts-signed-notice",
        ],
    ))
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.is_empty());
    let xml = std::fs::read_to_string(&path).unwrap();
    assert_eq!(junit_counts(&xml), (1, 0));
}

#[tokio::test]
async fn the_check_signs_like_the_platform() {
    // The published test vector, with the test suite's own implementation.
    assert_eq!(
        body_signature(
            "12345678901234567890123456789012",
            "67890123456789012345678901234567",
            "20170101120000",
            "09876543210987654321098765432109",
            b"A"
        ),
        "GINsCTyNKTpEI9KXO16KqZJ64fOyAytEKl8aaR/Dy08="
    );
    // The same algorithm verifies what the check sends.
    let receiver = Receiver::start(Reply::Status(200)).await;
    run_all(
        receiver.url("/notify"),
        &["accepts-signed-notice", "accepts-repeat"],
    )
    .await;
    let received = receiver.received();
    assert_eq!(received.len(), 3);
    let mut nonces = Vec::new();
    for request in &received {
        let (_, nonce) = verify_notification(APP_ID, APP_KEY, &request.headers, &request.body);
        nonces.push(nonce);
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body["mid"], check::DEFAULT_MID);
        assert_eq!(
            body.as_object().unwrap().len(),
            10,
            "the ten documented fields"
        );
    }
    assert_eq!(
        received[1].body, received[2].body,
        "a repeat is byte-identical"
    );
    assert_ne!(nonces[1], nonces[2], "each send is signed afresh");
}

both_backends!(runs_started_from_the_sandbox_are_stored);

async fn runs_started_from_the_sandbox_are_stored(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let merchant = app
        .create_merchant(
            "898310048160001",
            json!({"notify_url": "http://127.0.0.1:9/unused"}),
        )
        .await;
    let url = reference_handler(&merchant.app_id, &merchant.app_key).await;

    // Refusals write nothing.
    let path = format!("/admin/v1/merchants/{}/checks", merchant.mid);
    let (status, body) = app.post(&path, json!({"only": ["no-such-check"]})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("unknown_check")),
        "{body}"
    );
    let (status, body) = app.post(&path, json!({"notify_url": "not a url"})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("invalid_notify_url")),
        "{body}"
    );
    let (status, body) = app
        .post(&path, json!({"notify_url": url, "extra": 1}))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("unknown_field")),
        "{body}"
    );
    let (status, _) = app
        .post("/admin/v1/merchants/898310048169999/checks", json!({}))
        .await;
    assert_eq!(status, 404);
    let bare = app.create_merchant("898310048160002", json!({})).await;
    let (status, body) = app
        .post(
            &format!("/admin/v1/merchants/{}/checks", bare.mid),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("no_notify_url")),
        "{body}"
    );
    let (_, list) = app.get(&path).await;
    assert_eq!(list["checks"], json!([]));

    // A run against the reference handler with the merchant's own credentials.
    let (status, started) = app.post(&path, json!({"notify_url": url})).await;
    assert_eq!(status, 202, "{started}");
    assert_eq!(started["status"], "running");
    let id = started["id"].as_i64().unwrap();
    let finished = eventually(Duration::from_secs(30), || async {
        app.get(&format!("/admin/v1/checks/{id}")).await.1["status"] == "finished"
    })
    .await;
    let (_, run) = app.get(&format!("/admin/v1/checks/{id}")).await;
    assert!(finished, "{run}");
    assert_eq!(run["passed"], true, "{run}");
    assert_eq!(run["summary"], json!({"pass": 12, "fail": 0, "warn": 0}));
    assert_eq!(run["report"]["checks"].as_array().unwrap().len(), 12);
    assert_eq!(run["report"]["mid"], merchant.mid.as_str());
    assert_eq!(run["notify_url"], url.as_str());

    // A second run of two checks against a handler that answers 200 to anything.
    let receiver = Receiver::start(Reply::Status(200)).await;
    let only = json!(["rejects-tampered-body", "accepts-repeat"]);
    let (status, second) = app
        .post(
            &path,
            json!({"notify_url": receiver.url("/n"), "only": only}),
        )
        .await;
    assert_eq!(status, 202, "{second}");
    let id2 = second["id"].as_i64().unwrap();
    assert!(
        eventually(Duration::from_secs(30), || async {
            app.get(&format!("/admin/v1/checks/{id2}")).await.1["status"] == "finished"
        })
        .await
    );
    let (_, run2) = app.get(&format!("/admin/v1/checks/{id2}")).await;
    assert_eq!(run2["passed"], false, "{run2}");
    assert_eq!(run2["only"], only);
    assert_eq!(run2["summary"], json!({"pass": 1, "fail": 1, "warn": 0}));

    // Newest first, without the reports.
    let (status, list) = app.get(&path).await;
    assert_eq!(status, 200);
    let ids: Vec<i64> = list["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![id2, id]);
    assert!(list["checks"][0].get("report").is_none());
    let (status, _) = app.get("/admin/v1/checks/999999").await;
    assert_eq!(status, 404);
    app.stop().await;
}

#[tokio::test]
async fn a_handler_that_refuses_everything_cannot_pass_the_replay_check() {
    let receiver = Receiver::start(Reply::Status(401)).await;
    let report = run_all(
        receiver.url("/notify"),
        &["rejects-replay", "rejects-forged-signature"],
    )
    .await;
    assert_eq!(outcome(&report, "rejects-forged-signature"), Outcome::Pass);
    let replay = report
        .checks
        .iter()
        .find(|c| c.id == "rejects-replay")
        .unwrap();
    assert_eq!(replay.outcome, Outcome::Warn, "{}", replay.reason);
    assert!(
        replay.reason.contains("could not be judged"),
        "{}",
        replay.reason
    );
}

#[test]
fn an_unwritable_output_is_a_usage_error_before_any_check_runs() {
    let (code, _, stderr) = cli(&cli_args(
        "http://127.0.0.1:9/n",
        &["--output", "/nonexistent-dir/report.json"],
    ));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--output"), "{stderr}");
}
