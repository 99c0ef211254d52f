//! Contracts through the admin API: created unsigned, refused when malformed (with the
//! admin API's own field names, changing nothing), looked up and listed, moved only as the
//! state machine allows. Each test runs against SQLite and PostgreSQL.

use crate::common::platform::{percent, url_safe, Counter, MID};
use crate::common::{Receiver, Reply, TestApp, TestDb};
use serde_json::{json, Value};

both_backends!(
    contracts_admin_api_refuses_bad_contracts,
    contracts_admin_api_looks_contracts_up_and_lists_them,
    contracts_admin_api_refuses_bad_transitions,
    contracts_admin_api_an_empty_notify_url_is_the_merchant_s_default,
    every_state_pair_follows_the_state_machine,
);

const STATES: [&str; 5] = [
    "UNSIGNED",
    "SIGNED",
    "DELETING_CONTRACT",
    "RESCISSION",
    "UNKNOWN",
];

/// The documented state machine, written out independently of the crate's table.
const LEGAL: [(&str, &str); 13] = [
    ("UNSIGNED", "SIGNED"),
    ("UNSIGNED", "RESCISSION"),
    ("UNSIGNED", "UNKNOWN"),
    ("SIGNED", "DELETING_CONTRACT"),
    ("SIGNED", "RESCISSION"),
    ("SIGNED", "UNKNOWN"),
    ("DELETING_CONTRACT", "RESCISSION"),
    ("DELETING_CONTRACT", "SIGNED"),
    ("DELETING_CONTRACT", "UNKNOWN"),
    ("UNKNOWN", "UNSIGNED"),
    ("UNKNOWN", "SIGNED"),
    ("UNKNOWN", "DELETING_CONTRACT"),
    ("UNKNOWN", "RESCISSION"),
];

/// Merchant `MID` (notified at a URL nothing listens on) with three unsigned contracts,
/// each checked as created, and merchant 898310048160000 without a notify URL: the app, a
/// row counter and the contractIds, oldest first.
async fn three_contracts(db: &TestDb) -> (TestApp, Counter, Vec<String>) {
    let app = db.spawn(|_| {}).await;
    let counter = Counter::new(db).await;
    app.create_merchant(MID, json!({"notify_url": "http://127.0.0.1:1/n"}))
        .await;
    app.create_merchant("898310048160000", json!({})).await;
    let mut ids = Vec::new();
    for no in ["CN00000001", "CN00000002", "CN00000003"] {
        let (status, created) = app
            .post(
                "/admin/v1/contracts",
                json!({"mid": MID, "contract_no": no, "plan_id": "P1", "single_limit_amt": "9.5"}),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["state"], "UNSIGNED");
        assert_eq!(
            created["allowed_transitions"],
            json!(["SIGNED", "RESCISSION", "UNKNOWN"])
        );
        assert_eq!(created["notify_url"], "http://127.0.0.1:1/n");
        assert_eq!(created["signed_at"], Value::Null);
        ids.push(created["contract_id"].as_str().unwrap().to_owned());
    }
    assert!(ids.iter().all(|id| id.len() == 44));
    (app, counter, ids)
}

async fn contracts_admin_api_refuses_bad_contracts(db: TestDb) {
    let (app, counter, _) = three_contracts(&db).await;
    let before = counter.counts().await;
    // Each refusal, with the admin (snake_case) name of the field its message must use.
    let bad = [
        (
            json!({"contract_no": "CN00000009", "plan_id": "P"}),
            422,
            "invalid_field",
            "`mid`",
        ),
        (
            json!({"mid": "89831004816", "contract_no": "CN00000009", "plan_id": "P"}),
            422,
            "invalid_field",
            "`mid`",
        ),
        (
            json!({"mid": MID, "contract_no": "CN1", "plan_id": "P"}),
            422,
            "invalid_field",
            "`contract_no`",
        ),
        (
            json!({"mid": MID, "contract_no": "CN 00000009", "plan_id": "P"}),
            422,
            "invalid_field",
            "`contract_no`",
        ),
        (
            json!({"mid": MID, "contract_no": "CN00000009"}),
            422,
            "invalid_field",
            "`plan_id`",
        ),
        (
            json!({"mid": MID, "contract_no": "CN00000009", "plan_id": "P".repeat(33)}),
            422,
            "invalid_field",
            "`plan_id`",
        ),
        (
            json!({"mid": MID, "contract_no": "CN00000009", "plan_id": "P", "notify_url": "nope"}),
            422,
            "invalid_field",
            "`notify_url`",
        ),
        (
            json!({"mid": MID, "contract_no": "CN00000009", "plan_id": "P", "single_limit_amt": "1e3"}),
            422,
            "invalid_field",
            "`single_limit_amt`",
        ),
        (
            json!({"mid": MID, "contract_no": "CN00000009", "plan_id": "P", "avl_num": "-1"}),
            422,
            "invalid_field",
            "`avl_num`",
        ),
        (
            json!({"mid": MID, "contract_no": "CN00000009", "plan_id": "P", "state": "SIGNED"}),
            422,
            "unknown_field",
            "state",
        ),
        (
            json!({"mid": "898310048169999", "contract_no": "CN00000009", "plan_id": "P"}),
            422,
            "unknown_merchant",
            "898310048169999",
        ),
        (
            json!({"mid": "898310048160000", "contract_no": "CN00000009", "plan_id": "P"}),
            422,
            "missing_notify_url",
            "`notify_url`",
        ),
        (
            json!({"mid": "898310048160000", "contract_no": "CN00000009", "plan_id": "P", "notify_url": ""}),
            422,
            "missing_notify_url",
            "`notify_url`",
        ),
        (
            json!({"mid": MID, "contract_no": "CN00000001", "plan_id": "P"}),
            409,
            "duplicate_contract_no",
            "contract_no",
        ),
    ];
    let platform_names = [
        "contractNo",
        "planId",
        "notifyUrl",
        "singleLimitAmt",
        "avlNum",
    ];
    for (body, status, code, names) in bad {
        let (got, refused) = app.post("/admin/v1/contracts", body.clone()).await;
        assert_eq!(
            (got, refused["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}"
        );
        let message = refused["error"]["message"].as_str().unwrap();
        assert!(message.contains(names), "{body}: {message}");
        assert!(
            !platform_names.iter().any(|name| message.contains(name)),
            "{body}: the admin API names fields its own way: {message}"
        );
    }
    assert_eq!(counter.counts().await, before);
}

async fn contracts_admin_api_looks_contracts_up_and_lists_them(db: TestDb) {
    let (app, _, ids) = three_contracts(&db).await;
    // Looked up by the id in either Base64 alphabet, percent-encoded or not.
    let (status, shown) = app
        .get(&format!("/admin/v1/contracts/{}", url_safe(&ids[0])))
        .await;
    assert_eq!((status, &shown["contract_id"]), (200, &json!(ids[0])));
    let (status, same) = app
        .get(&format!("/admin/v1/contracts/{}", percent(&ids[0])))
        .await;
    assert_eq!((status, &same), (200, &shown));
    assert_eq!(app.get("/admin/v1/contracts/AAAA").await.0, 404);

    // Listing: by merchant and state, newest first, in pages.
    let (_, page) = app
        .get(&format!("/admin/v1/contracts?mid={MID}&limit=2"))
        .await;
    let first: Vec<&Value> = page["contracts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["contract_id"])
        .collect();
    assert_eq!(first, [&json!(ids[2]), &json!(ids[1])]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = app
        .get(&format!(
            "/admin/v1/contracts?mid={MID}&limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(rest["contracts"][0]["contract_id"], ids[0].as_str());
    assert_eq!(rest["next_cursor"], Value::Null);
    assert_eq!(app.transition(&ids[1], "UNKNOWN").await.0, 200);
    let (_, unknown) = app.get("/admin/v1/contracts?state=UNKNOWN").await;
    assert_eq!(unknown["contracts"].as_array().unwrap().len(), 1);
    let (_, other) = app.get("/admin/v1/contracts?mid=898310048160000").await;
    assert_eq!(other["contracts"], json!([]));
    assert_eq!(app.get("/admin/v1/contracts?state=signed").await.0, 400);
}

async fn contracts_admin_api_refuses_bad_transitions(db: TestDb) {
    let (app, counter, ids) = three_contracts(&db).await;
    let before = counter.counts().await;
    let (status, refused) = app.transition(&ids[0], "signed").await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (422, Some("invalid_state"))
    );
    let missing = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    assert_eq!(app.transition(missing, "SIGNED").await.0, 404);
    assert_eq!(counter.counts().await, before);
}

/// An empty notify_url is no notify_url: the merchant's default applies.
async fn contracts_admin_api_an_empty_notify_url_is_the_merchant_s_default(db: TestDb) {
    let (app, _, _) = three_contracts(&db).await;
    let (status, defaulted) = app
        .post(
            "/admin/v1/contracts",
            json!({"mid": MID, "contract_no": "CN00000004", "plan_id": "P1", "notify_url": ""}),
        )
        .await;
    assert_eq!(status, 201, "{defaulted}");
    assert_eq!(defaulted["notify_url"], "http://127.0.0.1:1/n");
}

async fn every_state_pair_follows_the_state_machine(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let app = db.spawn(|_| {}).await;
    let counter = Counter::new(&db).await;
    app.create_merchant(MID, json!({"notify_url": receiver.url("/n")}))
        .await;
    let path_to = |state: &str| -> &'static [&'static str] {
        match state {
            "UNSIGNED" => &[],
            "SIGNED" => &["SIGNED"],
            "DELETING_CONTRACT" => &["SIGNED", "DELETING_CONTRACT"],
            "RESCISSION" => &["RESCISSION"],
            _ => &["UNKNOWN"],
        }
    };
    let mut n = 0;
    for from in STATES {
        for to in STATES {
            n += 1;
            let id = app.create_contract(MID, &format!("CN{n:08}"), "P").await;
            for step in path_to(from) {
                assert_eq!(app.transition(&id, step).await.0, 200, "{from}: {step}");
            }
            let before = counter.counts().await;
            let (status, answer) = app.transition(&id, to).await;
            let (_, shown) = app
                .get(&format!("/admin/v1/contracts/{}", url_safe(&id)))
                .await;
            if LEGAL.contains(&(from, to)) {
                assert_eq!(status, 200, "{from} -> {to}: {answer}");
                assert_eq!(shown["state"], to);
                assert_eq!(
                    counter.counts().await.notifications,
                    before.notifications + 1
                );
            } else {
                assert_eq!(status, 409, "{from} -> {to}: {answer}");
                assert_eq!(answer["error"]["code"], "illegal_transition");
                assert_eq!(shown["state"], from, "an illegal move changes nothing");
                assert_eq!(counter.counts().await, before);
            }
        }
    }
}
