//! The contract-notice checks against real merchant handlers on loopback: the reference
//! handler passes everything; handlers with a known fault fail the check that names it;
//! what the check sends is signed as the platform signs.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header::AUTHORIZATION, HeaderMap, StatusCode};
use serde_json::Value;
use ums_notify::check::reference::{Handled, Verifier};
use ums_notify::check::{self, Family, Outcome};
use ums_notify::clock::Clock;
use ums_notify::platform::auth::AppKey;

use crate::common::check::{
    cli_args, cli_async, junit_counts, outcome, reference_handler, run_all, serve, APP_ID, APP_KEY,
};
use crate::common::platform::{body_signature, verify_notification};
use crate::common::{Receiver, Reply};

#[tokio::test]
async fn the_reference_handler_passes_every_check() {
    let url = reference_handler(APP_ID, APP_KEY).await;
    let report = run_all(url, &[]).await;
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
        "/notify",
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
