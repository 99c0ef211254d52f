//! A bill made before bills kept their QR codes (a database of the migrations below
//! 0014) keeps the code it was handed out, its id (the bill number's first four
//! characters and its admin id in 22 digits) and its URL on the platform's host: queried,
//! looked up by its code, shown on the sandbox's bill page, and its code takes a new bill
//! with the same URL. Runs on SQLite and PostgreSQL.

use serde_json::Value;
use ums_notify::db::{Db, Sql, StoreOptions};

use crate::common::gateway::{s, Gateway, TEST_KEY, TEST_MID, TEST_SRC, TEST_SRC_ID};
use crate::common::payments::NOWHERE;
use crate::common::{Backend, TestDb};

both_backends!(a_bill_made_before_codes_were_kept_keeps_its_code);

/// Applies the migrations numbered below 0014, the schema before bill codes.
async fn migrate_before_codes(db: &Db, backend: Backend) {
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
            .unwrap_or_default()
            .to_owned();
        let version: u32 = name
            .get(..4)
            .and_then(|v| v.parse().ok())
            .unwrap_or(u32::MAX);
        if version < 14 {
            std::fs::copy(&path, old.path().join(&name)).expect("copy migration");
        }
    }
    let migrator = sqlx::migrate::Migrator::new(old.path())
        .await
        .expect("old migrations");
    match db {
        Db::Sqlite { writer, .. } => migrator.run(writer).await,
        Db::Postgres(pool, _) => migrator.run(pool).await,
    }
    .expect("the schema before bill codes applies");
}

/// The spec's test merchant and one unpaid bill of `date`, written as the schema before
/// bill codes had them; the bill's admin id.
async fn old_bill(db: &TestDb, bill_no: &str, date: &str) -> i64 {
    let old = Db::connect(&db.url, &StoreOptions::default())
        .await
        .expect("open");
    migrate_before_codes(&old, db.backend).await;
    let now = chrono::Utc::now();
    let mut tx = old.begin().await.expect("begin");
    let merchant = Sql::new(
        "INSERT INTO merchants (mid, name, notify_url, app_id, app_key, extra_copies, \
         created_at, updated_at, md5_key, sign_type, msg_src_id, msg_src) \
         VALUES ($1, '测试商户', $2, 'old-app-id', 'old-app-key', 0, $3, $3, $4, 'MD5', $5, $6)",
    )
    .bind(TEST_MID)
    .bind(NOWHERE)
    .bind(now)
    .bind(TEST_KEY)
    .bind(TEST_SRC_ID)
    .bind(TEST_SRC);
    tx.execute(&merchant).await.expect("the merchant");
    let bill = Sql::new(
        "INSERT INTO orders (mid, tid, inst_mid, product, order_no, bill_date, state, \
         total_amount, description, notify_url, notify_host, expires_at, created_at, \
         updated_at, own_notify) VALUES ($1, '88880001', 'QRPAYDEFAULT', 'bill', $2, $3, \
         'UNPAID', 600, '旧账单', $4, '127.0.0.1:1', $5, $6, $6, 0) RETURNING id",
    )
    .bind(TEST_MID)
    .bind(bill_no)
    .bind(date)
    .bind(NOWHERE)
    .bind(now + chrono::Duration::hours(1))
    .bind(now);
    let (id,): (i64,) = tx.fetch_one(&bill).await.expect("the bill");
    tx.commit().await.expect("commit");
    id
}

async fn a_bill_made_before_codes_were_kept_keeps_its_code(db: TestDb) {
    let date = chrono::Utc::now() + chrono::Duration::hours(8);
    let date = date.format("%Y-%m-%d").to_string();
    let no = "3194202612035001";
    let id = old_bill(&db, no, &date).await;
    let app = db.spawn(|_| {}).await;
    let gw = Gateway::new(TEST_SRC, TEST_KEY);
    let code = format!("3194{id:022}");
    let url = format!("https://qr.chinaums.com/bills/qrCode.do?id={code}");

    let queried = gw.query(&app, no, &date).await;
    assert_eq!(queried["errCode"], "SUCCESS", "{queried}");
    assert_eq!(
        queried["qrCodeId"],
        code.as_str(),
        "the id it was handed out"
    );
    assert_eq!(
        queried["billQRCode"],
        url.as_str(),
        "the URL it was handed out"
    );
    let info = gw.code_info(&app, &code).await;
    assert_eq!(info["billNo"], no, "{info}");
    let page = app
        .http
        .get(app.url(&format!("/bills/qrCode.do?id={code}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("旧账单"));

    let updated: Value = gw
        .call(
            &app,
            "bills.updateQRCode",
            TEST_MID,
            vec![
                ("qrCodeId", s(&code)),
                ("billNo", s("3194202612035002")),
                ("billDate", s(&date)),
                ("totalAmount", s("700")),
            ],
        )
        .await;
    assert_eq!(updated["errCode"], "SUCCESS", "{updated}");
    assert_eq!(
        updated["billQRCode"],
        url.as_str(),
        "the printed code's URL"
    );
    assert_eq!(gw.query(&app, no, &date).await["billStatus"], "CLOSED");
    let closed = gw
        .call(
            &app,
            "bills.closeQRCode",
            TEST_MID,
            vec![("qrCodeId", s(&code))],
        )
        .await;
    assert_eq!(closed["billNo"], "3194202612035002", "{closed}");
    app.stop().await;
}
