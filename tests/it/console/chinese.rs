//! Chinese merchant names and bill descriptions on the console, in a real browser: in
//! the page, and drawn with a Simplified Chinese font of the stylesheet's stack (not
//! boxes, and not another script's fallback). Saves a screenshot of each page.

use serde_json::json;

use crate::common::browser::Browser;
use crate::common::{Backend, Receiver, Reply, TestDb};

const NAME: &str = "仲晶晶二维码测试";
const DESCRIPTION: &str = "政府非税收入缴费";
/// The Simplified Chinese faces the console's font stack names.
const SC_FONTS: [&str; 4] = [
    "Noto Sans CJK SC",
    "PingFang SC",
    "Microsoft YaHei",
    "Source Han Sans SC",
];

async fn assert_drawn_in_chinese(browser: &Browser, text: &str) {
    let fonts = browser.fonts_drawing(text).await;
    let glyphs: u64 = fonts.iter().map(|(_, n)| n).sum();
    assert_eq!(
        glyphs,
        text.chars().count() as u64,
        "{text}: every character drawn once: {fonts:?}"
    );
    assert!(
        fonts
            .iter()
            .all(|(family, _)| SC_FONTS.contains(&family.as_str())),
        "{text} is drawn with {fonts:?}, not a Simplified Chinese font of the stack \
         (is fonts-noto-cjk installed?)"
    );
}

#[tokio::test]
async fn chinese_names_and_descriptions_render_in_a_chinese_font() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let db = TestDb::new(Backend::Sqlite).await.expect("SQLite");
    let app = db.spawn(|settings| settings.admin_token = None).await;
    let shop = Receiver::start(Reply::Body(200, "SUCCESS")).await;
    let mid = "898310048160040";

    // The merchant, created through the console's form with its Chinese name.
    browser.open(&app, "/console/merchants").await;
    browser.fill("input[name=mid]", mid).await;
    browser.fill("input[name=name]", NAME).await;
    browser
        .fill("input[name=notify_url]", &shop.url("/notify"))
        .await;
    browser
        .click("form[action='/console/merchants'] button")
        .await;
    assert!(
        browser.shows(&format!("Merchant {mid} created")).await,
        "{}",
        browser.page().await
    );
    let (status, merchant) = app.get(&format!("/admin/v1/merchants/{mid}")).await;
    assert_eq!((status, merchant["name"].as_str()), (200, Some(NAME)));

    // A QR bill with a Chinese description.
    let (status, bill) = app
        .post(
            "/admin/v1/orders",
            json!({"mid": mid, "total_amount": 12000, "product": "bill", "description": DESCRIPTION}),
        )
        .await;
    assert_eq!(status, 201, "{bill}");

    browser
        .open(&app, &format!("/console/merchants/{mid}"))
        .await;
    assert!(browser.page().await.contains(NAME));
    assert_drawn_in_chinese(&browser, NAME).await;
    browser.shot("08-chinese-merchant").await;

    browser
        .open(&app, &format!("/console/orders/{}", bill["id"]))
        .await;
    assert!(browser.page().await.contains(DESCRIPTION));
    assert_drawn_in_chinese(&browser, DESCRIPTION).await;
    browser.shot("09-chinese-bill").await;

    browser.open(&app, "/console/merchants").await;
    assert_drawn_in_chinese(&browser, NAME).await;

    browser.stop().await;
    app.stop().await;
}
