//! Upgrading keeps every row working: a database made by the previous schema (migrations
//! up to 0003, with the outbox's `mid` and `contract_id` columns), holding a merchant, a
//! contract stored before hosts were kept, a pending contract notice and a delivered
//! generic notification, is migrated by a new start and keeps working on both backends;
//! the merchant then takes orders with the communication key migration 0008 gave it.

use std::time::Duration;

use serde_json::json;
use ums_notify::db::{Db, Sql, StoreOptions};

use crate::common::platform::{percent, url_safe, verify_notification, MID};
use crate::common::{Backend, Receiver, Reply, TestApp, TestDb};

both_backends!(
    a_database_of_the_previous_schema_keeps_working,
    a_database_of_the_previous_schema_keeps_working_for_contracts_and_orders,
);

const APP_ID: &str = "upgrade-app-id-0001";
const APP_KEY: &str = "upgrade-app-key-0001";

/// Applies the migrations of the previous release (0001 to 0003) and nothing newer.
async fn migrate_to_previous_schema(db: &Db, backend: Backend) {
    let folder = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(folder);
    let old = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(&source).expect("migrations folder") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if ["0001_", "0002_", "0003_"]
            .iter()
            .any(|v| name.starts_with(v))
        {
            std::fs::copy(&path, old.path().join(name)).expect("copy migration");
        }
    }
    let migrator = sqlx::migrate::Migrator::new(old.path())
        .await
        .expect("old migrations");
    assert_eq!(migrator.iter().count(), 3);
    match db {
        Db::Sqlite { writer, .. } => migrator.run(writer).await,
        Db::Postgres(pool, _) => migrator.run(pool).await,
    }
    .expect("previous schema applies");
}

/// A database of the previous schema, upgraded by a new start.
struct Upgraded {
    receiver: Receiver,
    notify_url: String,
    app: TestApp,
    contract_id: String,
    generic_id: i64,
}

/// Makes a database of the previous schema holding a merchant, a contract stored before
/// hosts were kept, a pending contract notice and a delivered generic notification, and
/// starts the application on it; checks the old notice is delivered, signed.
async fn upgraded(db: &TestDb) -> Upgraded {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let notify_url = receiver.url("/notify");
    let old = Db::connect(&db.url, &StoreOptions::default())
        .await
        .expect("open");
    migrate_to_previous_schema(&old, db.backend).await;
    let contract_id = ums_notify::platform::contracts::contract::contract_id();
    let now = chrono::Utc::now();
    let mut tx = old.begin().await.expect("begin");
    let statements = [
        Sql::new(
            "INSERT INTO merchants (mid, name, notify_url, app_id, app_key, extra_copies, \
             created_at, updated_at) VALUES ($1, 'Old shop', $2, $3, $4, 0, $5, $5)",
        )
        .bind(MID)
        .bind(&notify_url)
        .bind(APP_ID)
        .bind(APP_KEY)
        .bind(now),
        // Stored before 0003 kept hosts: `notify_host` is NULL.
        Sql::new(
            "INSERT INTO contracts (contract_id, mid, contract_no, plan_id, state, notify_url, \
             created_at, updated_at) VALUES ($1, $2, 'CN-UPGRADE-01', 'P1', 'UNSIGNED', $3, $4, $4)",
        )
        .bind(&contract_id)
        .bind(MID)
        .bind(&notify_url)
        .bind(now),
        Sql::new(
            "INSERT INTO notifications (status, url, host, body, content_type, headers, \
             max_attempts, retry_schedule, mid, contract_id, kind, due_at, created_at, updated_at) \
             VALUES ('pending', $1, $2, $3, 'application/json', '[]', 10, '[15000]', $4, $5, \
             'contract_state', $6, $6, $6)",
        )
        .bind(&notify_url)
        .bind(format!("{}", receiver.addr))
        .bind(br#"{"old":"notice"}"#.to_vec())
        .bind(MID)
        .bind(&contract_id)
        .bind(now),
        Sql::new(
            "INSERT INTO notifications (status, url, host, body, content_type, headers, \
             max_attempts, retry_schedule, kind, attempts, round_attempts, created_at, \
             updated_at, finished_at) VALUES ('delivered', $1, $2, $3, 'text/plain', \
             '[[\"X-Trace\",\"t1\"]]', 3, '[1000,2000]', 'generic', 1, 1, $4, $4, $4)",
        )
        .bind(&notify_url)
        .bind(format!("{}", receiver.addr))
        .bind(b"plain".to_vec())
        .bind(now),
    ];
    for sql in &statements {
        tx.execute(sql).await.expect("old rows insert");
    }
    let (generic_id,): (i64,) = tx
        .fetch_one(&Sql::new("SELECT MAX(id) FROM notifications"))
        .await
        .expect("id");
    tx.execute(
        &Sql::new(
            "INSERT INTO attempts (notification_id, number, started_at, duration_ms, status_code) \
             VALUES ($1, 1, $2, 7, 200)",
        )
        .bind(generic_id)
        .bind(now),
    )
    .await
    .expect("old attempt");
    tx.commit().await.expect("commit");

    // A new start migrates (0004) and delivers the old pending notice, signed with its
    // merchant's key: the signer finds the merchant through the notice's tenant.
    let app = db.spawn(|_| {}).await;
    let got = receiver.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(&got[0].body[..], br#"{"old":"notice"}"#);
    verify_notification(APP_ID, APP_KEY, &got[0].headers, &got[0].body);
    let old_notice = generic_id - 1;
    let notice = app
        .wait_for_status(old_notice, "delivered", Duration::from_secs(10))
        .await;
    assert_eq!(notice["tenant"], MID);
    assert_eq!(notice["subject"], contract_id.as_str());
    assert_eq!(notice["kind"], "contract_state");
    Upgraded {
        receiver,
        notify_url,
        app,
        contract_id,
        generic_id,
    }
}

/// The delivered generic notification keeps its policy, headers and history, and
/// listings filter by the renamed columns.
async fn a_database_of_the_previous_schema_keeps_working(db: TestDb) {
    let Upgraded {
        app,
        contract_id,
        generic_id,
        ..
    } = upgraded(&db).await;
    let old_notice = generic_id - 1;
    let generic = app.notification(generic_id).await;
    assert_eq!(generic["status"], "delivered");
    assert_eq!(generic["max_attempts"], 3);
    assert_eq!(generic["retry_schedule"], json!(["1s", "2s"]));
    assert_eq!(generic["headers"], json!({"X-Trace": "t1"}));
    assert_eq!(generic["tenant"], json!(null));
    assert_eq!(generic["attempt_log"][0]["status_code"], 200);

    // Listings filter by the renamed columns.
    let (_, by_tenant) = app
        .get(&format!("/admin/v1/notifications?tenant={MID}"))
        .await;
    let ids: Vec<i64> = by_tenant["notifications"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|n| n["id"].as_i64())
        .collect();
    assert_eq!(ids, [old_notice]);
    let (_, by_subject) = app
        .get(&format!(
            "/admin/v1/notifications?subject={}",
            percent(&contract_id)
        ))
        .await;
    assert_eq!(by_subject["notifications"][0]["id"], old_notice);
    app.stop().await;
}

async fn a_database_of_the_previous_schema_keeps_working_for_contracts_and_orders(db: TestDb) {
    let Upgraded {
        receiver,
        notify_url,
        app,
        contract_id,
        ..
    } = upgraded(&db).await;
    // The old contract still moves, and its host is derived from its URL.
    let path = format!("/admin/v1/contracts/{}/transitions", url_safe(&contract_id));
    let (status, moved) = app.post(&path, json!({"to": "SIGNED"})).await;
    assert_eq!(status, 200, "{moved}");
    let new_id = moved["notification_ids"][0].as_i64().expect("a new notice");
    let sent = app
        .wait_for_status(new_id, "delivered", Duration::from_secs(10))
        .await;
    assert_eq!(sent["url"], notify_url.as_str());
    let got = receiver.wait_for(2, Duration::from_secs(10)).await;
    verify_notification(APP_ID, APP_KEY, &got[1].headers, &got[1].body);

    // 0008 gave the old merchant a key and a source number of its own: it takes orders,
    // and their notices are signed with that key.
    let (_, merchant) = app.get(&format!("/admin/v1/merchants/{MID}")).await;
    let md5_key = merchant["md5_key"].as_str().expect("md5_key").to_owned();
    let source = merchant["msg_src_id"]
        .as_str()
        .expect("msg_src_id")
        .to_owned();
    assert_eq!(md5_key.len(), 32, "{merchant}");
    assert_eq!(source.len(), 4, "{merchant}");
    assert_eq!(merchant["sign_type"], "SHA256");
    let (status, order) = app
        .post(
            "/admin/v1/orders",
            json!({"mid": MID, "total_amount": 100, "order_no": format!("{source}UPGRADE1")}),
        )
        .await;
    assert_eq!(status, 201, "{order}");
    let path = format!("/admin/v1/orders/{}/transitions", order["id"]);
    let (status, paid) = app.post(&path, json!({"to": "TRADE_SUCCESS"})).await;
    assert_eq!(status, 200, "{paid}");
    let got = receiver.wait_for(3, Duration::from_secs(10)).await;
    let params: Vec<(String, String)> = url::form_urlencoded::parse(&got[2].body)
        .into_owned()
        .collect();
    assert!(
        ums_notify::platform::payments::sign::verify(&params, &md5_key),
        "the notice verifies with the key 0008 gave: {params:?}"
    );
    app.stop().await;
}
