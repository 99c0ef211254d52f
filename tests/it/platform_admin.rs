//! The admin side of the platform simulation: merchants and their credentials, contracts
//! and the whole state machine. Every refused request is checked to change nothing. Each
//! test runs against SQLite and PostgreSQL.

use crate::common::platform::{percent, url_safe, Counter, MID};
use crate::common::{Receiver, Reply, TestDb};
use serde_json::{json, Value};

both_backends!(
    merchants_admin_api,
    contracts_admin_api,
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

async fn patch(app: &crate::common::TestApp, path: &str, body: Value) -> (u16, Value) {
    let response = app
        .admin(reqwest::Method::PATCH, path)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn merchants_admin_api(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let counter = Counter::new(&db).await;
    let (status, created) = app
        .post(
            "/admin/v1/merchants",
            json!({"mid": MID, "name": " Shop ", "notify_url": "https://shop.example/n",
                   "auto_consent_after": "30s", "extra_copies": 1}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["name"], "Shop");
    assert_eq!(created["auto_consent_after"], "30s");
    assert_eq!(created["extra_copies"], 1);
    let key = created["app_key"].as_str().unwrap().to_owned();
    assert_eq!(key.len(), 32);
    assert_ne!(created["app_id"], created["app_key"]);
    let (_, list) = app.get("/admin/v1/merchants").await;
    assert_eq!(list["merchants"][0]["app_key"], key.as_str());
    let (status, shown) = app.get(&format!("/admin/v1/merchants/{MID}")).await;
    assert_eq!((status, &shown["app_key"]), (200, &json!(key)));
    assert_eq!(app.get("/admin/v1/merchants/898310048160000").await.0, 404);
    let anonymous = app
        .http
        .get(app.url("/admin/v1/merchants"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    let before = counter.counts().await;
    let bad = [
        (json!({"name": "x"}), "invalid_mid"),
        (json!({"mid": "89831004816123", "name": "x"}), "invalid_mid"),
        (
            json!({"mid": "89831004816-234", "name": "x"}),
            "invalid_mid",
        ),
        (json!({"mid": "898310048160001"}), "invalid_name"),
        (
            json!({"mid": "898310048160001", "name": "  "}),
            "invalid_name",
        ),
        (
            json!({"mid": "898310048160001", "name": "n".repeat(101)}),
            "invalid_name",
        ),
        (
            json!({"mid": "898310048160001", "name": "x", "notify_url": "ftp://x/y"}),
            "invalid_notify_url",
        ),
        (
            json!({"mid": "898310048160001", "name": "x", "auto_consent_after": "soon"}),
            "invalid_auto_consent_after",
        ),
        (
            json!({"mid": "898310048160001", "name": "x", "auto_consent_after": "31d"}),
            "invalid_auto_consent_after",
        ),
        (
            json!({"mid": "898310048160001", "name": "x", "extra_copies": 11}),
            "invalid_extra_copies",
        ),
        (
            json!({"mid": "898310048160001", "name": "x", "app_key": "mine"}),
            "unknown_field",
        ),
    ];
    for (body, code) in bad {
        let (status, refused) = app.post("/admin/v1/merchants", body.clone()).await;
        assert_eq!(
            (status, refused["error"]["code"].as_str()),
            (422, Some(code)),
            "{body}"
        );
    }
    let (status, refused) = app
        .post("/admin/v1/merchants", json!({"mid": MID, "name": "again"}))
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (409, Some("merchant_exists"))
    );
    assert_eq!(counter.counts().await, before);
    assert_eq!(
        app.get(&format!("/admin/v1/merchants/{MID}")).await.1,
        shown
    );

    let path = format!("/admin/v1/merchants/{MID}");
    let (status, patched) = patch(
        &app,
        &path,
        json!({"name": "Renamed", "notify_url": null, "auto_consent_after": null, "extra_copies": 0}),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["name"], "Renamed");
    assert_eq!(patched["notify_url"], Value::Null);
    assert_eq!(patched["auto_consent_after"], Value::Null);
    assert_eq!(patched["extra_copies"], 0);
    assert_eq!(
        patched["app_key"],
        key.as_str(),
        "a patch keeps the credentials"
    );
    let (status, kept) = patch(&app, &path, json!({"notify_url": "http://127.0.0.1:1/n"})).await;
    assert_eq!(status, 200);
    assert_eq!(kept["name"], "Renamed", "absent fields are kept");
    for (body, status, code) in [
        (json!({}), 422, "empty_patch"),
        (json!({"extra_copies": 99}), 422, "invalid_extra_copies"),
        (json!({"mid": "898310048160001"}), 422, "unknown_field"),
        // A merchant always has a name: null does not clear it, it is refused.
        (json!({"name": null}), 422, "invalid_name"),
        (
            json!({"name": null, "extra_copies": 1}),
            422,
            "invalid_name",
        ),
    ] {
        let (got, refused) = patch(&app, &path, body.clone()).await;
        assert_eq!(
            (got, refused["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}: {refused}"
        );
        if body["name"].is_null() && body.get("name").is_some() {
            let message = refused["error"]["message"].as_str().unwrap();
            assert!(message.contains("`name` cannot be cleared"), "{message}");
        }
    }
    assert_eq!(
        patch(
            &app,
            "/admin/v1/merchants/898310048160000",
            json!({"name": "x"})
        )
        .await
        .0,
        404
    );
    assert_eq!(app.get(&path).await.1, kept);

    // `"extra_copies": null` is its default, none.
    let (status, three) = patch(&app, &path, json!({"extra_copies": 3})).await;
    assert_eq!((status, &three["extra_copies"]), (200, &json!(3)));
    let (status, reset) = patch(&app, &path, json!({"extra_copies": null})).await;
    assert_eq!(
        (status, &reset["extra_copies"]),
        (200, &json!(0)),
        "{reset}"
    );
    assert_eq!(reset["name"], "Renamed");

    // The key is for the admin API only.
    let metrics = app.metrics().await;
    assert!(!metrics.contains(&key));
    assert!(
        metrics.contains("/admin/v1/merchants/{mid}"),
        "routes are labelled by template"
    );
}

async fn contracts_admin_api(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let counter = Counter::new(&db).await;
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

    let before = counter.counts().await;
    let (status, refused) = app.transition(&ids[0], "signed").await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (422, Some("invalid_state"))
    );
    let missing = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    assert_eq!(app.transition(missing, "SIGNED").await.0, 404);
    assert_eq!(counter.counts().await, before);
    // An empty notify_url is no notify_url: the merchant's default applies.
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
            let (_, created) = app
                .post(
                    "/admin/v1/contracts",
                    json!({"mid": MID, "contract_no": format!("CN{n:08}"), "plan_id": "P"}),
                )
                .await;
            let id = created["contract_id"].as_str().unwrap().to_owned();
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
