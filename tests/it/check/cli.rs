//! `ums-notify check` as a user runs it: exit codes (0 passed, 1 failed, 2 a usage
//! error before any check runs), the JSON and JUnit formats, a report written to a file,
//! and the payment family's arguments.

use serde_json::{json, Value};

use crate::common::check::{
    cli, cli_args, cli_async, junit_counts, order, payment_reference_handler, reference_handler,
    AMOUNT, APP_ID, APP_KEY, MD5_KEY, ORDER_NO,
};

/// The reference handler passes through the CLI too: exit 0, and the JSON report says so.
#[tokio::test]
async fn the_reference_handler_passes_every_check_through_the_cli() {
    let url = reference_handler(APP_ID, APP_KEY).await;
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

#[test]
fn an_unwritable_output_is_a_usage_error_before_any_check_runs() {
    let (code, _, stderr) = cli(&cli_args(
        "http://127.0.0.1:9/n",
        &["--output", "/nonexistent-dir/report.json"],
    ));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--output"), "{stderr}");
}

#[tokio::test]
async fn the_cli_checks_payment_handlers() {
    let url = payment_reference_handler(&[order()]).await;
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
    let (code, stdout, stderr) = cli_async(owned).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["summary"], json!({"pass": 11, "fail": 0, "warn": 0}));
}

#[tokio::test]
async fn the_cli_names_missing_payment_arguments() {
    let url = payment_reference_handler(&[order()]).await;

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
